/** Bits per stored weight. */
export type Bits = 4 | 8;

/**
 * `symmetric`: `s = max|w| / (2^(b-1) - 1)`, `q = clip(round(w / s), -2^(b-1), 2^(b-1) - 1)`.
 * `asymmetric`: `s = (max(w, 0) - min(w, 0)) / (2^b - 1)`, `z = round(-min / s)`,
 * `q = clip(round(w / s) + z, 0, 2^b - 1)`. Dequantized value: `s * (q - z)`.
 */
export type Scheme = 'symmetric' | 'asymmetric';

/**
 * Which weights share one scale, for a row-major `[rows, cols]` = `[out_features, in_features]` matrix:
 * `tensor`: all; `row`: each output channel; `column`: each input channel;
 * `group`: each run of `groupSize` consecutive elements of a row.
 */
export type Granularity = 'tensor' | 'row' | 'column' | 'group';

export interface QuantizeOptions {
  bits: Bits;
  /** Default `'symmetric'`. */
  scheme?: Scheme;
  /** Default `'group'`. */
  granularity?: Granularity;
  /** Group length for `granularity: 'group'` (default 32); must divide `cols`. Not allowed otherwise. */
  groupSize?: number;
}

/**
 * A quantized matrix: plain data that can be stored and reloaded as is.
 *
 * `data` is row-major. 8-bit: one byte per value, two's complement for symmetric, unsigned for asymmetric.
 * 4-bit: two values per byte, the even column in the low nibble, every row starting on a byte boundary
 * (odd `cols` leave the last high nibble 0); symmetric codes stored as `q + 8`, asymmetric as `q`.
 * `scales` (and `zeros`) are ordered: tensor: 1; row: one per row; column: one per column;
 * group: row-major `[rows, cols / groupSize]`.
 */
export interface QuantizedMatrix {
  rows: number;
  cols: number;
  bits: Bits;
  scheme: Scheme;
  granularity: Granularity;
  /** The group length for `granularity: 'group'`, else 0. */
  groupSize: number;
  data: Uint8Array;
  scales: Float32Array;
  /** Zero-points, one per scale, for the asymmetric scheme; `null` for symmetric. */
  zeros: Uint8Array | null;
  /** data + 4 bytes per scale + 1 byte per zero-point. */
  byteLength: number;
}

export interface QuantizationErrorReport {
  /** Frobenius norm of `w - dequantize(q)` over that of `w` (0 when `w` is all zeros). */
  relativeError: number;
  maxAbsError: number;
  /** Bytes of the quantized matrix (`q.byteLength`). */
  bytes: number;
  /** Bytes the same matrix takes in fp16. */
  fp16Bytes: number;
  /** `fp16Bytes / bytes`. */
  shrinkVsFp16: number;
}

export interface MatmulOptions {
  /** Written in place of allocating the result; length `m * w.rows`, not overlapping `x` or `w`. */
  out?: Float32Array;
  /**
   * `'int8'` (the default): each row of `x` is quantized to int8 in blocks of 32 (symmetric,
   * round-half-even, one fp32 scale per block) and multiplied with integer dot products, like ggml's
   * Q8_0 activations. `'float'`: weights are dequantized in registers and multiplied with fp32 FMA.
   */
  activations?: 'float' | 'int8';
}

/** Kernel sets lowbit can be built with. */
export type Isa = 'scalar' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vnni' | 'neon' | 'neon-dotprod' | 'neon-i8mm';

export interface CpuInfo {
  /** `'x64'`, `'arm64'`, ... */
  arch: string;
  /** The SIMD features the CPU (and OS) offers, e.g. `['avx2', 'fma', 'f16c']`. */
  features: string[];
  /** The kernel set in use. */
  isa: Isa;
  /** The kernel sets this binary has and this CPU can run, best first. */
  isas: Isa[];
  /** Threads used by the kernels, the calling thread included. */
  threads: number;
}

/** What {@link probe} measures: read bandwidth (GB/s), fp32 FMA peak (GFLOP/s), int8 dot peak (GOP/s). */
export type ProbeKind = 'bandwidth' | 'fma' | 'dot';
