/**
 * lowbit's 4-bit order and the interleaved one other tools use. lowbit (byte layout 2) keeps ggml's order:
 * each 32 columns of a row are 16 bytes, byte j holding column j in its low nibble and column j + 16 in its
 * high one (a last, shorter block of w columns: ceil(w / 2) bytes split the same way). onnxruntime's
 * MatMulNBits, GPTQ's bit streams and lowbit's byte layout 1 interleave instead: column c in byte c / 2, the
 * low nibble when c is even.
 */
import { describe } from '../core/describe';
import { native } from '../core/native';
import type { FormatDescription, QuantizedMatrix } from '../core/types';

/** `rows` rows of `cols` interleaved 4-bit codes in lowbit's order (a new array). */
export function nibblesFromInterleaved(data: Uint8Array, rows: number, cols: number): Uint8Array {
  return native.reorderNibbles(data, rows, cols, false);
}

/** `rows` rows of `cols` 4-bit codes in lowbit's order, interleaved (a new array). */
export function nibblesToInterleaved(data: Uint8Array, rows: number, cols: number): Uint8Array {
  return native.reorderNibbles(data, rows, cols, true);
}

/** Whether a format keeps lowbit's own codes (4-bit ones changed order in layout 2), not ggml's blocks. */
function ownCodes(format: string): boolean {
  const f = (native.formats() as FormatDescription[]).find((e) => e.format === format);
  return f !== undefined && f.storage === 'codes';
}

/**
 * A QuantizedMatrix stored by an older lowbit in the current byte layout (`layout: 2`). Byte layout 1
 * (objects without `layout`, made before 2026-12-06) held 4-bit codes interleaved (column c in byte c / 2,
 * the low nibble when c is even); those get a new `data` in today's order, the other arrays are shared. A
 * matrix of another width only gains the field (same arrays); one already at layout 2 is returned as is.
 */
export function upgradeQuantizedMatrix(q: QuantizedMatrix): QuantizedMatrix {
  const fn = 'upgradeQuantizedMatrix';
  if (q === null || typeof q !== 'object') throw new TypeError(`${fn}: q must be a QuantizedMatrix object (got ${describe(q)})`);
  const version = (q as { layout?: unknown }).layout;
  if (version === 2) {
    native.checkQuantized(q, `${fn}: q`);
    return q;
  }
  if (version !== undefined && version !== 1) throw new RangeError(`${fn}: q.layout must be 1, 2 or absent (got ${describe(version)})`);
  const format = q.format ?? 'int';
  let data = q.data;
  if (q.bits === 4 && ownCodes(format)) {
    if (!(data instanceof Uint8Array)) throw new TypeError(`${fn}: q.data must be a Uint8Array (got ${describe(data)})`);
    data = nibblesFromInterleaved(data, q.rows, q.cols);
  }
  const upgraded: QuantizedMatrix = { ...q, data, layout: 2 };
  native.checkQuantized(upgraded, `${fn}: q`);
  return upgraded;
}
