/**
 * lowbit: low-bit (INT8 / packed INT4) quantization and quantized matrix kernels for Node.js on CPUs.
 * Every function validates its arguments and throws a TypeError or RangeError that says what is wrong.
 */
import { native } from './native';
import type { QuantizationErrorReport, QuantizedMatrix, QuantizeOptions } from './types';

export type { Bits, Granularity, QuantizationErrorReport, QuantizedMatrix, QuantizeOptions, Scheme } from './types';

/** Quantizes a row-major `[rows, cols]` float32 matrix. `weights` is never modified. */
export function quantize(weights: Float32Array, rows: number, cols: number, options: QuantizeOptions): QuantizedMatrix {
  return native.quantize(weights, rows, cols, options) as QuantizedMatrix;
}

/**
 * Like {@link quantize}, off the JS thread. `weights` is kept alive until the promise settles; do not
 * modify it meanwhile. Invalid arguments reject the promise.
 */
export async function quantizeAsync(
  weights: Float32Array,
  rows: number,
  cols: number,
  options: QuantizeOptions,
): Promise<QuantizedMatrix> {
  return (await native.quantizeAsync(weights, rows, cols, options)) as QuantizedMatrix;
}

/** The float32 matrix `scale * (q - zero)` that `q` stands for, row-major `[q.rows, q.cols]`. */
export function dequantize(q: QuantizedMatrix): Float32Array {
  return native.dequantize(q);
}

/** How far `q` is from `weights`, and how much smaller it is than fp16. */
export function quantizationError(weights: Float32Array, q: QuantizedMatrix): QuantizationErrorReport {
  return native.quantizationError(weights, q) as QuantizationErrorReport;
}
