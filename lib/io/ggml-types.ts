/**
 * The ggml tensor types whose blocks are a lowbit format byte for byte: one table read by the GGUF reader
 * (zero-copy matrices), the writer and `inspect`, made from the native table of format traits
 * (csrc/core/formats.h, `formats()[i].ggmlType`). MXFP4 is the one ggml quantized type lowbit holds in
 * another byte order (lib/io/ggml-mxfp4.ts).
 */
import { native } from '../core/native';
import type { Bits, Format, FormatDescription } from '../core/types';

export interface GgmlBlockFormat {
  format: Format;
  bits: Bits;
  /** Columns of one block: 32, or 256 for the K-quants, IQ4_XS and the ternary TQ1_0 / TQ2_0. */
  groupSize: 32 | 256;
}

function blockFormats(): Readonly<Record<string, GgmlBlockFormat>> {
  // No prototype: a type name never finds an inherited property.
  const out: Record<string, GgmlBlockFormat> = Object.create(null);
  for (const f of native.formats() as FormatDescription[]) {
    if (f.ggmlType && f.granularity === 'group') out[f.ggmlType] = { format: f.format, bits: f.bits, groupSize: f.groupSize as 32 | 256 };
  }
  return Object.freeze(out);
}

/** Keyed by ggml type name (`'Q4_K'`), from the table of format traits that formats() reads (`ggmlType`). */
export const GGML_BLOCK_FORMATS: Readonly<Record<string, GgmlBlockFormat>> = blockFormats();

/** The ggml type name of a lowbit format stored as ggml's blocks, or undefined. */
export function ggmlTypeOfFormat(format: string): string | undefined {
  for (const [type, f] of Object.entries(GGML_BLOCK_FORMATS)) if (f.format === format) return type;
  return undefined;
}
