/**
 * lowbit: low-bit (INT8 / packed INT4) quantization and quantized matrix kernels for Node.js on CPUs.
 * Every function validates its arguments and throws a TypeError or RangeError that says what is wrong.
 */
import { type AsyncOptions, runAsync, splitAsyncOptions } from './core/async';
import { native } from './core/native';
import type {
  CpuInfo,
  FormatDescription,
  Isa,
  MatmulOptions,
  PreparedMatrix,
  PrepareOptions,
  ProbeKind,
  QuantizationErrorReport,
  QuantizedMatrix,
  QuantizeOptions,
} from './core/types';

export type { AsyncOptions } from './core/async';
export type {
  Bits,
  CpuInfo,
  Format,
  FormatDescription,
  Granularity,
  Isa,
  MatmulOptions,
  PreparedMatrix,
  PrepareOptions,
  ProbeKind,
  QuantizationErrorReport,
  QuantizedMatrix,
  QuantizeOptions,
  ScaleType,
  Scheme,
} from './core/types';

export {
  awq,
  awqAsync,
  CalibrationStats,
  fakeQuantize,
  fakeQuantizeBackward,
  gptq,
  gptqAsync,
  maxToRms,
  rotate,
  smoothQuant,
} from './calibrate/calibrate';
export { plan, MODEL_PRESETS } from './plan/plan';
export type { ModelSpec, NodeSpec, Plan, PlanRow, PlanSpec } from './plan/plan';
export { measureMachine, measureMachineAsync, readMachineMeasurement } from './plan/measure';
export type { MachineMeasurement, MeasureOptions } from './plan/measure';
export { LowbitFileError } from './core/errors';
export type { LowbitFileErrorCode, LowbitFileErrorDetails } from './core/errors';
export { GGUFFile, GGUF_TENSOR_TYPES, openGGUF, writeGGUF } from './io/gguf';
export type { GGUFTensorInfo, GGUFTensorInput, GGUFValue, GGUFValueType, GGUFWriteContents, OpenGGUFOptions } from './io/gguf';
export { openSafetensors, SafetensorsFile, writeSafetensors } from './io/safetensors';
export type { OpenSafetensorsOptions, SafetensorsArray, SafetensorsDtype, SafetensorsTensorInfo, SafetensorsTensorInput } from './io/safetensors';
export { exportLinear, importLinear } from './io/checkpoints';
export type { ExportedLinear, ExportLinearOptions, FloatLinear, ImportedLinear, LinearSource, QuantizationConfig, QuantizedLinear } from './io/checkpoints';
export { fromMatMulNBits, toMatMulNBits } from './io/matmul-nbits';
export { upgradeQuantizedMatrix } from './io/nibble-order';
export type { MatMulNBitsWeights } from './io/matmul-nbits';
export { detectModelFile, inspectModelFile } from './io/inspect';
export type { ModelFileGroup, ModelFileSummary } from './io/inspect';
export { resolvePrecision } from './plan/precision';
export type { Precision } from './plan/precision';
export type {
  AwqOptions,
  AwqResult,
  GptqOptions,
  GptqResult,
  RotationResult,
  SmoothQuantResult,
} from './calibrate/calibrate';

/** Quantizes a row-major `[rows, cols]` float32 matrix. `weights` is never modified. */
export function quantize(weights: Float32Array, rows: number, cols: number, options: QuantizeOptions): QuantizedMatrix {
  return native.quantize(weights, rows, cols, options) as QuantizedMatrix;
}

/**
 * Like {@link quantize}, off the JS thread, with `signal` and `onProgress` ({@link AsyncOptions}).
 * `weights` is read as it was when the call started (docs/lifetimes.md). Invalid arguments reject the
 * promise.
 */
export async function quantizeAsync(
  weights: Float32Array,
  rows: number,
  cols: number,
  options: QuantizeOptions & AsyncOptions,
): Promise<QuantizedMatrix> {
  const { rest, signal, onProgress } = splitAsyncOptions('quantizeAsync', options);
  return runAsync(() => native.quantizeAsync(weights, rows, cols, rest), signal, onProgress) as Promise<QuantizedMatrix>;
}

/**
 * Every weight format with its default options and storage cost: `bitsPerWeight` counts scales for a square
 * `size` x `size` matrix (default 4096), so formats can be compared by footprint.
 */
export function formats(size?: number): FormatDescription[] {
  return native.formats(size) as FormatDescription[];
}

/**
 * The float32 matrix `q` stands for, row-major `[q.rows, q.cols]`: `scale * (q - zero)` for integer codes,
 * `scale * value(code)` for the float formats (nvfp4: `(blockScale * tensorScale) * value`), one float32
 * rounding per product. Written into `out` when given (`q.rows * q.cols` floats, not sharing memory with
 * `q`; returned): reusing one array skips the page faults that dominate writing fresh memory.
 */
export function dequantize(q: QuantizedMatrix, out?: Float32Array): Float32Array {
  return native.dequantize(q, out);
}

/** How far `q` is from `weights`, and how much smaller it is than fp16. */
export function quantizationError(weights: Float32Array, q: QuantizedMatrix): QuantizationErrorReport {
  return native.quantizationError(weights, q) as QuantizationErrorReport;
}

/**
 * Copies `q` once into memory the addon owns, repacked for the kernels of this CPU (16-row tiles whose
 * 4-byte column groups feed the int8 dot-product instructions directly): the fast way to multiply by the
 * same weights many times. `q` may be dropped afterwards, so a model is not held twice. `matmul` gives
 * the same results as with `q` (int8 activations: the same exact integer block sums, float sums in a
 * different order). The layout does not depend on the kernel set, so `setIsa` after preparing is safe.
 */
export function prepare(q: QuantizedMatrix, options?: PrepareOptions): PreparedMatrix {
  return native.prepare(q, options) as PreparedMatrix;
}

/**
 * Like {@link prepare}, off the JS thread, with `signal` and `onProgress` ({@link AsyncOptions}); `q` is
 * read as it was when the call started (docs/lifetimes.md).
 */
export async function prepareAsync(q: QuantizedMatrix, options?: PrepareOptions & AsyncOptions): Promise<PreparedMatrix> {
  const { rest, signal, onProgress } = splitAsyncOptions('prepareAsync', options);
  return runAsync(() => native.prepareAsync(q, rest), signal, onProgress) as Promise<PreparedMatrix>;
}

/**
 * `y = x · dequantize(w)ᵀ` without materialising the float weights, like PyTorch's `F.linear`:
 * `x` is row-major `[m, w.cols]` (`m = x.length / w.cols`), the result row-major `[m, w.rows]`.
 * Runs on the kernel set chosen for this CPU ({@link cpuInfo}) and the thread pool ({@link setThreads}).
 * With `activations: 'int8'` (the default) `x` must be finite.
 */
export function matmul(x: Float32Array, w: QuantizedMatrix | PreparedMatrix, options?: MatmulOptions): Float32Array {
  return native.matmul(x, w, options);
}

/**
 * Like {@link matmul}, off the JS thread; `signal` aborts it ({@link AsyncOptions}). `x` and `w` are
 * read as they were when the call started, and `out`, if given, is written when it settles
 * (docs/lifetimes.md). Concurrent calls are safe (they share the thread pool).
 */
export async function matmulAsync(
  x: Float32Array,
  w: QuantizedMatrix | PreparedMatrix,
  options?: MatmulOptions & Pick<AsyncOptions, 'signal'>,
): Promise<Float32Array> {
  const { rest, signal } = splitAsyncOptions<MatmulOptions>('matmulAsync', options);
  return runAsync(() => native.matmulAsync(x, w, rest), signal);
}

/**
 * A zero-filled typed array in memory lowbit owns. Async calls read and write such memory in place,
 * where an ordinary `ArrayBuffer` is copied when the call starts (it could be detached or shrunk while the
 * call runs; docs/lifetimes.md): allocate large inputs of async calls (the weights for `quantizeAsync`)
 * here to skip that copy. The memory is freed when the array is garbage-collected; it cannot be detached,
 * and `postMessage` / `structuredClone` copy it.
 */
export function allocate(type: 'float32', length: number): Float32Array;
export function allocate(type: 'float64', length: number): Float64Array;
export function allocate(type: 'uint8', length: number): Uint8Array;
export function allocate(type: 'uint16', length: number): Uint16Array;
export function allocate(type: 'float32' | 'float64' | 'uint8' | 'uint16', length: number): Float32Array | Float64Array | Uint8Array | Uint16Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`allocate: length must be a non-negative integer (got ${String(length)})`);
  return native.allocate(type, length);
}

/** Plain fp32 `y = x · wᵀ` with `w` row-major `[rows, cols]`: lowbit's own fp32 kernel, the baseline. */
export function matmulF32(x: Float32Array, w: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  return native.matmulF32(x, w, rows, cols, out);
}

/** What the CPU has, which kernel set is in use, which could be, and the thread count. */
export function cpuInfo(): CpuInfo {
  return native.cpuInfo() as CpuInfo;
}

/** Forces a kernel set (as `LOWBIT_ISA` does at load). One this CPU or build lacks is a RangeError. */
export function setIsa(name: Isa): void {
  native.setIsa(name);
}

/**
 * Sets the kernels' thread count, the calling thread included (`LOWBIT_NUM_THREADS` at load).
 * `spinMicroseconds` (default 100, `LOWBIT_SPIN_US` at load): how long idle workers poll for the next
 * call before sleeping, so back-to-back calls skip a thread wake-up; 0 sleeps at once (no busy CPU).
 */
export function setThreads(n: number, options?: { spinMicroseconds?: number }): void {
  native.setThreads(n, options);
}

/**
 * Measures a limit of this machine with the active kernel set and thread count: `'bandwidth'`, the
 * median GB/s of streaming reads of `bytes` (default 1 GiB); `'fma'`, fp32 FMA GFLOP/s; `'dot'`, GOP/s of
 * the int8 dot-product instruction sequence the kernels use. Takes about a second.
 */
export function probe(kind: ProbeKind, bytes?: number): number {
  return native.probe(kind, bytes);
}
