// Calibration-based quantization: activation statistics, SmoothQuant, AWQ, GPTQ, Hadamard rotation
// and fake quantization. The numerical work is C++ (threaded, on the dispatched kernels).
import { type AsyncOptions, runAsync, splitAsyncOptions } from '../core/async';
import { native } from '../core/native';
import type { QuantizedMatrix, QuantizeOptions } from '../core/types';

/**
 * Per-input-channel statistics of a layer's activations, accumulated batch by batch so calibration
 * sets larger than memory stream through: `absMax`, `meanAbs`, and the Hessian proxy `H = 2 XᵀX / n`
 * (accumulated in float64; omit it with `{ hessian: false }` when only SmoothQuant / AWQ statistics are
 * needed, since it takes `8 · inFeatures²` bytes).
 */
export class CalibrationStats {
  readonly inFeatures: number;
  private rows = 0;
  private readonly max: Float32Array;
  private readonly sumAbs: Float64Array;
  private readonly xtx: Float64Array | null;
  private busy = false;

  constructor(inFeatures: number, options: { hessian?: boolean } = {}) {
    if (!Number.isSafeInteger(inFeatures) || inFeatures < 1) {
      throw new RangeError(`CalibrationStats: inFeatures must be a positive integer (got ${String(inFeatures)})`);
    }
    if (options.hessian !== undefined && typeof options.hessian !== 'boolean') {
      throw new TypeError('CalibrationStats: options.hessian must be a boolean');
    }
    if (options.hessian !== false && inFeatures > 32768) {
      throw new RangeError('CalibrationStats: a Hessian of more than 32768 inputs (8 GiB) is not supported; pass { hessian: false }');
    }
    this.inFeatures = inFeatures;
    // lowbit's own memory, so that addAsync updates it in place (docs/lifetimes.md).
    this.max = native.allocate('float32', inFeatures) as Float32Array;
    this.sumAbs = native.allocate('float64', inFeatures) as Float64Array;
    this.xtx = options.hessian === false ? null : (native.allocate('float64', inFeatures * inFeatures) as Float64Array);
  }

  /** Adds a batch `[n, inFeatures]` (finite values). Returns `this`. */
  add(batch: Float32Array): this {
    this.guard();
    this.rows += native.accumulateStats(batch, this.inFeatures, this.max, this.sumAbs, this.xtx) as number;
    return this;
  }

  /**
   * Like {@link add}, off the JS thread; `batch` is read as it was when the call started. One at a time.
   * It takes no signal: a batch is added whole or not at all, and it is as quick as `add`.
   */
  async addAsync(batch: Float32Array): Promise<this> {
    this.guard();
    this.busy = true;
    try {
      this.rows += await runAsync(() => native.accumulateStatsAsync(batch, this.inFeatures, this.max, this.sumAbs, this.xtx));
    } finally {
      this.busy = false;
    }
    return this;
  }

  /** Rows seen so far. */
  get count(): number {
    return this.rows;
  }

  /** `max |X_j|` per input channel. */
  absMax(): Float32Array {
    return this.max.slice();
  }

  /** `mean |X_j|` per input channel. */
  meanAbs(): Float32Array {
    const n = Math.max(1, this.rows);
    const m = new Float32Array(this.inFeatures);
    for (let i = 0; i < m.length; i++) m[i] = this.sumAbs[i] / n;
    return m;
  }

  /** `H = 2 XᵀX / n`, row-major `[inFeatures, inFeatures]`, float32. */
  hessian(): Float32Array {
    if (!this.xtx) throw new RangeError('CalibrationStats: created with { hessian: false }');
    if (this.rows === 0) throw new RangeError('CalibrationStats: no batch added yet');
    const f = 2 / this.rows;
    const h = new Float32Array(this.xtx.length);
    for (let i = 0; i < h.length; i++) h[i] = this.xtx[i] * f;
    return h;
  }

  private guard(): void {
    if (this.busy) throw new Error('CalibrationStats: an addAsync is still running; await it first');
  }
}

export interface SmoothQuantResult {
  /** `W · diag(s)`, row-major like the input. */
  weights: Float32Array;
  /** `s`; divide activations by it (`X · diag(s)⁻¹`), or fold `1/s` into the previous operation. */
  factors: Float32Array;
}

/**
 * SmoothQuant: migrates activation outliers into the weights with per-input-channel factors
 * `s_j = max|X_j|^α / max|W_j|^(1-α)` (clamped to [1e-5, 1e5]; a channel with no weight or activation
 * keeps 1), so that `(X diag(s)⁻¹)(W diag(s))ᵀ = X Wᵀ` in exact arithmetic. Quantize the smoothed
 * weights and run `matmul(x / s, q)` with int8 activations (W8A8).
 */
export function smoothQuant(
  weights: Float32Array,
  rows: number,
  cols: number,
  activationAbsMax: Float32Array,
  alpha = 0.5,
): SmoothQuantResult {
  return native.smoothQuant(weights, rows, cols, activationAbsMax, alpha) as SmoothQuantResult;
}

export interface GptqOptions extends QuantizeOptions {
  /** Dampening: `λ = damp · mean(diag H)` added to H's diagonal (default 0.01). */
  damp?: number;
  /** Columns per lazy batch update (default 128). */
  blockSize?: number;
  /**
   * Quantize columns by decreasing `H_jj` (act-order); the permutation is undone in the output. Group
   * scales are then computed from the original weights before the sweep (static groups), so groups stay
   * contiguous and the result is a normal QuantizedMatrix. Default false.
   */
  actOrder?: boolean;
}

export interface GptqResult {
  matrix: QuantizedMatrix;
  /** The dampening used; larger than requested when H was not positive definite (see `retries`). */
  lambda: number;
  /** How many times λ was multiplied by 10 because the Cholesky factorisation failed. */
  retries: number;
}

/**
 * GPTQ: quantizes `weights` `[rows, cols]` column by column, spreading each column's rounding error over
 * the columns not yet quantized through the inverse Hessian (Cholesky of `H + λI`), with lazy batch
 * updates. `hessian` is `H = 2 XᵀX / n` `[cols, cols]` ({@link CalibrationStats.hessian}). Integer format,
 * any bits / scheme / scale type; granularity `'tensor'`, `'row'` or `'group'` (group scales computed as
 * the sweep reaches each group). The result is a normal QuantizedMatrix: matmul runs it unchanged.
 */
export function gptq(weights: Float32Array, rows: number, cols: number, hessian: Float32Array, options: GptqOptions): GptqResult {
  return native.gptq(weights, rows, cols, hessian, options) as GptqResult;
}

/**
 * Like {@link gptq}, off the JS thread, with `signal` and `onProgress` ({@link AsyncOptions}). The inputs
 * are read as they were when the call started (docs/lifetimes.md).
 */
export async function gptqAsync(
  weights: Float32Array,
  rows: number,
  cols: number,
  hessian: Float32Array,
  options: GptqOptions & AsyncOptions,
): Promise<GptqResult> {
  const { rest, signal, onProgress } = splitAsyncOptions('gptqAsync', options);
  return runAsync(() => native.gptqAsync(weights, rows, cols, hessian, rest), signal, onProgress) as Promise<GptqResult>;
}

export interface AwqOptions extends QuantizeOptions {
  /** Grid points for α in [0, 1): α = i / grid, i = 0 .. grid - 1 (default 20, as AWQ). */
  grid?: number;
  /**
   * Also search each group's clipping ratio (1, 0.95, ..., 0.55 of its range) minimising the group's
   * output error on the calibration batch. Int format, group or row granularity. Default false.
   */
  clipSearch?: boolean;
}

export interface AwqResult {
  /** The quantized `W · diag(s)`. */
  matrix: QuantizedMatrix;
  /** `s`: run `matmul(x / s, matrix)`, or fold `1/s` into the previous operation. */
  inputScales: Float32Array;
  /** The chosen α. */
  alpha: number;
  /** `||X Wᵀ - X Ŵᵀ||²` on the calibration batch for each α of the grid. */
  gridErrors: Float64Array;
}

/**
 * AWQ: activation-aware per-input-channel scaling. For each α, `s = meanAbs(X)^α` (normalised by
 * `sqrt(max s · min s)`), `W · diag(s)` is quantized and the layer output `matmul(X / s, Q)` compared with
 * `X Wᵀ`; the best α wins. `activations` is the calibration batch `[n, cols]`. With α = 0, `s = 1` and the
 * result equals plain round-to-nearest {@link quantize}.
 */
export function awq(weights: Float32Array, rows: number, cols: number, activations: Float32Array, options: AwqOptions): AwqResult {
  return native.awq(weights, rows, cols, activations, options) as AwqResult;
}

/**
 * Like {@link awq}, off the JS thread, with `signal` and `onProgress` ({@link AsyncOptions}). The inputs
 * are read as they were when the call started (docs/lifetimes.md).
 */
export async function awqAsync(
  weights: Float32Array,
  rows: number,
  cols: number,
  activations: Float32Array,
  options: AwqOptions & AsyncOptions,
): Promise<AwqResult> {
  const { rest, signal, onProgress } = splitAsyncOptions('awqAsync', options);
  return runAsync(() => native.awqAsync(weights, rows, cols, activations, rest), signal, onProgress) as Promise<AwqResult>;
}

export interface RotationResult {
  /** `M · R`, row-major `[rows, cols]`. */
  data: Float32Array;
  /** How `R` was built, e.g. `'hadamard 4096'`, `'hadamard paley 12 (x) 256'`, `'block-diagonal hadamard 43 x 256'`. */
  kind: string;
}

/**
 * Randomised Hadamard rotation (QuaRot-style): `M · R` with `R = D H / √n` orthogonal, `D` random signs from
 * `seed`, `H` a Hadamard matrix of order `cols` (Sylvester via a SIMD fast Walsh-Hadamard transform for the
 * power-of-two part, times a Paley factor of order q + 1 when cols = 2^k (q + 1) for a prime q = 3 mod 4;
 * otherwise block-diagonal Hadamard blocks of the largest power of two dividing cols). Rotate the weights and
 * the activations with the same seed: `rotate(X) · rotate(W)ᵀ = X Wᵀ`.
 */
export function rotate(matrix: Float32Array, rows: number, cols: number, seed = 0): RotationResult {
  return native.rotate(matrix, rows, cols, seed) as RotationResult;
}

/** `max |v| / rms(v)` over a matrix: how far its largest entry stands out (√n for one spike, ~4 for Gaussians). */
export function maxToRms(matrix: Float32Array): number {
  let max = 0;
  let sum = 0;
  for (const v of matrix) {
    const a = Math.abs(v);
    if (a > max) max = a;
    sum += v * v;
  }
  return sum > 0 ? max / Math.sqrt(sum / matrix.length) : 0;
}

/**
 * Fake quantization for quantization-aware training, forward: `dequantize(quantize(w))`, plus the
 * QuantizedMatrix for {@link fakeQuantizeBackward}.
 */
export function fakeQuantize(
  weights: Float32Array,
  rows: number,
  cols: number,
  options: QuantizeOptions,
): { values: Float32Array; q: QuantizedMatrix } {
  const q = native.quantize(weights, rows, cols, options) as QuantizedMatrix;
  return { values: native.dequantize(q), q };
}

/**
 * Straight-through estimator, backward: `grad` where `w` lies inside its group's clipping range
 * `[s (qmin - z), s (qmax - z)]`, 0 where quantization clipped it. Int format.
 */
export function fakeQuantizeBackward(weights: Float32Array, q: QuantizedMatrix, grad: Float32Array): Float32Array {
  return native.fakeQuantizeBackward(weights, q, grad);
}
