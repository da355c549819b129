/**
 * ggml's MXFP4 blocks <-> lowbit's mxfp4 matrix. ggml stores each block of 32 as its E8M0 byte and 16
 * bytes (element j in the low nibble of byte j, element j + 16 in the high one) with doubled E2M1 values
 * at half the scale; lowbit keeps the E8M0 bytes apart and the 16 code bytes as they are (its 4-bit order
 * is ggml's). The codes and scale bytes mean the same values, so the conversion only separates the two.
 */
import type { QuantizedMatrix } from '../core/types';

const BLOCK = 17;

/** A ggml MXFP4 tensor of `rows` x `cols` as a lowbit mxfp4 matrix (a new buffer). */
export function mxfp4FromGgml(bytes: Uint8Array, rows: number, cols: number, what: string): QuantizedMatrix {
  const nb = cols / 32;
  const rb = cols / 2;
  const data = new Uint8Array(rows * rb);
  const scales = new Uint8Array(rows * nb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const at = (r * nb + b) * BLOCK;
      const e = bytes[at];
      // ggml reads 255 as 2^127; E8M0 (and lowbit) as NaN.
      if (e === 255) throw new RangeError(`${what}: block ${b} of row ${r} has scale byte 255, which lowbit reads as NaN (ggml as 2^127)`);
      scales[r * nb + b] = e;
      const out = r * rb + b * 16;
      for (let i = 0; i < 16; i++) data[out + i] = bytes[at + 1 + i];
    }
  }
  return {
    format: 'mxfp4', rows, cols, bits: 4, scheme: 'symmetric', granularity: 'group', groupSize: 32, scaleType: 'e8m0',
    data, scales, zeros: null, byteLength: data.byteLength + scales.byteLength, layout: 2,
  };
}

/** A lowbit mxfp4 matrix (validated by the caller) as ggml MXFP4 blocks. */
export function mxfp4ToGgml(q: QuantizedMatrix): Uint8Array {
  const nb = q.cols / 32;
  const rb = q.cols / 2;
  const out = new Uint8Array(q.rows * nb * BLOCK);
  for (let r = 0; r < q.rows; r++) {
    for (let b = 0; b < nb; b++) {
      const at = (r * nb + b) * BLOCK;
      out[at] = (q.scales as Uint8Array)[r * nb + b];
      const src = r * rb + b * 16;
      for (let j = 0; j < 16; j++) out[at + 1 + j] = q.data[src + j];
    }
  }
  return out;
}
