/** 16-bit float matrices (`'f16'`, `'bf16'`): the QuantizedMatrix form of a file's F16 / BF16 tensor, zero-copy. */
import type { QuantizedMatrix } from '../core/types';

/** A `[rows, cols]` matrix of 16-bit floats whose little-endian bytes are `data` (2 * rows * cols of them). */
export function halfMatrix(format: 'f16' | 'bf16', rows: number, cols: number, data: Uint8Array): QuantizedMatrix {
  return {
    format,
    rows,
    cols,
    bits: 16,
    scheme: 'symmetric',
    granularity: 'tensor',
    groupSize: 0,
    scaleType: 'float32',
    data,
    scales: new Float32Array(0),
    zeros: null,
    byteLength: data.byteLength,
    layout: 2,
  };
}
