/**
 * The ggml tensor types whose blocks are a lowbit format byte for byte: one table read by the GGUF reader
 * (zero-copy matrices), the writer and `inspect`. MXFP4 is the one ggml quantized type lowbit holds in
 * another byte order (lib/ggml-mxfp4.ts).
 */
import type { Bits, Format } from './types';

export interface GgmlBlockFormat {
  format: Format;
  bits: Bits;
  /** Columns of one block: 32, or 256 for the K-quants, IQ4_XS and the ternary TQ1_0 / TQ2_0. */
  groupSize: 32 | 256;
}

export const GGML_BLOCK_FORMATS: Readonly<Record<string, GgmlBlockFormat>> = Object.freeze({
  Q4_0: { format: 'q4_0', bits: 4, groupSize: 32 },
  Q4_1: { format: 'q4_1', bits: 4, groupSize: 32 },
  Q5_0: { format: 'q5_0', bits: 5, groupSize: 32 },
  Q5_1: { format: 'q5_1', bits: 5, groupSize: 32 },
  Q8_0: { format: 'q8_0', bits: 8, groupSize: 32 },
  IQ4_NL: { format: 'iq4_nl', bits: 4, groupSize: 32 },
  IQ4_XS: { format: 'iq4_xs', bits: 4, groupSize: 256 },
  Q2_K: { format: 'q2_k', bits: 2, groupSize: 256 },
  Q3_K: { format: 'q3_k', bits: 3, groupSize: 256 },
  Q4_K: { format: 'q4_k', bits: 4, groupSize: 256 },
  Q5_K: { format: 'q5_k', bits: 5, groupSize: 256 },
  Q6_K: { format: 'q6_k', bits: 6, groupSize: 256 },
  TQ1_0: { format: 'tq1_0', bits: 2, groupSize: 256 },
  TQ2_0: { format: 'tq2_0', bits: 2, groupSize: 256 },
});

/** The ggml type name of a lowbit format stored as ggml's blocks, or undefined. */
export function ggmlTypeOfFormat(format: string): string | undefined {
  for (const [type, f] of Object.entries(GGML_BLOCK_FORMATS)) if (f.format === format) return type;
  return undefined;
}
