/** Bits per stored weight: 2, 3, 4 or 8 for `'int'`; each other format has its own (2, 3, 5, 6: q2_k and the ternary tq1_0 / tq2_0, q3_k, q5_*, q6_k; 16: f16, bf16). */
export type Bits = 2 | 3 | 4 | 5 | 6 | 8 | 16;

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

/**
 * How weights are stored (see {@link formats} for bits per weight):
 * - `'int'`: the integer codes above, `bits` 2, 3, 4 or 8, any scheme and granularity. At 2 and 3 bits matmul
 *   multiplies them packed (`prepare`, or packed for each call; shapes the packed layout does not take, and
 *   column scales, run the scalar kernels).
 * - `'q4_0'`, `'q8_0'`: ggml's blocks, byte-identical to GGUF tensors. Blocks of 32 columns, each an fp16
 *   scale `d` then the codes. Q8_0: `d = amax / 127`, `q = roundf(x * (1/d))` (halves away from zero, fp32), value
 *   `q * d`. Q4_0: `d = max / -8` where `max` is the block's largest-magnitude element with its sign,
 *   `q = min(15, trunc(x * (1/d) + 8.5))`, byte `j` holds element `j` (low nibble) and `j + 16` (high),
 *   value `(q - 8) * d`. `cols` must be a multiple of 32.
 * - `'nf4'`: bitsandbytes NormalFloat4, the nearest of 16 fixed levels in [-1, 1] to `x / absmax` (ties to the
 *   lower level), scale `absmax` per group (default 64), packed like 4-bit `'int'`.
 * - `'fp8_e4m3'` (OCP E4M3FN, max 448) and `'fp8_e5m2'` (max 57344): one byte per value, scale
 *   `amax / max` per tensor, row (the default), column or group; rounded to nearest-even, saturating.
 * - `'mxfp4'`: OCP MX FP4, E2M1 elements (±{0, 0.5, 1, 1.5, 2, 3, 4, 6}) in blocks of 32 with a shared E8M0
 *   power-of-two scale `2^(floor(log2 amax) - 2)`; elements rounded to nearest-even, saturating at ±6.
 * - `'nvfp4'`: NVIDIA NVFP4, E2M1 elements in blocks of 16 with an E4M3 block scale
 *   `amax / 6 / tensorScale`, `tensorScale = amax(tensor) / (448 * 6)` in fp32.
 * - `'bnb_fp4'`: bitsandbytes FP4: a sign bit (bit 3) and a magnitude code 0-7 for
 *   {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12 (float32; code 8 is +0 as in bitsandbytes' table), times `absmax` per
 *   group (default 64); codes chosen as bitsandbytes does: `x * (1 / absmax)` in float32, then its comparisons
 *   with the midpoints (`dQuantizeFP4`). Packed like nf4.
 * - `'q4_k'`, `'q5_k'`, `'q6_k'`: ggml's K-quant super-blocks of 256 columns, byte-identical to GGUF's Q4_K, Q5_K
 *   and Q6_K and to what llama-quantize writes without an importance matrix (ggml's reference quantizers,
 *   `quantize_row_q*_K_ref`, scale searches included). Q4_K / Q5_K: an fp16 `d` and `dmin`, 6-bit scale and
 *   min per 32 columns, value `d * scale * q - dmin * min` (q 4 or 5 bits). Q6_K: an fp16 `d`, an int8 scale
 *   per 16 columns, value `d * scale * (q - 32)` (q 6 bits). `bits` is 4, 5 or 6, `groupSize` 256, the scales
 *   live in `data` (`scales` is empty). `cols` must be a multiple of 256. matmul defaults to int8
 *   activations (per 32 columns, exact integer sums scaled by `d` / `dmin` per block) or takes float ones.
 * - `'q2_k'`, `'q3_k'`, `'iq4_xs'` (256 columns a block) and `'q4_1'`, `'q5_0'`, `'q5_1'`, `'iq4_nl'` (32): the rest
 *   of ggml's types that GGUF files on model hubs use, byte-identical to GGUF's Q2_K, Q3_K, IQ4_XS, Q4_1, Q5_0,
 *   Q5_1 and IQ4_NL and to what llama-quantize writes without an importance matrix. Q2_K: 2-bit codes, a 4-bit
 *   scale and min per 16 columns times an fp16 `d` and `dmin`. Q3_K: 3-bit codes `q - 4`, a 6-bit scale per 16
 *   columns times an fp16 `d`. IQ4_XS / IQ4_NL: 4-bit indices into 16 non-uniform int8 levels
 *   (-127 ... 113), times a 6-bit scale per 32 columns and an fp16 `d` (IQ4_XS) or an fp16 scale per 32
 *   (IQ4_NL). Q4_1 / Q5_1: `d * q + m` with an fp16 `d` and `m` per 32; Q5_0: `d * (q - 16)`. See
 *   [docs/formats.md](../docs/formats.md#ggml-types).
 * - `'f16'`, `'bf16'`: 16-bit float weights (IEEE binary16 / bfloat16, rounded to nearest-even), two little-endian
 *   bytes each, no scales (`granularity` `'tensor'`, `scales` empty): a GGUF or safetensors F16 / BF16 matrix
 *   where it lies, at half of float32's bytes. matmul takes float activations.
 * - `'tq1_0'`, `'tq2_0'`: ggml's ternary super-blocks of 256 columns (BitNet b1.58-style weights -1, 0, 1 times an
 *   fp16 absmax `d`), byte-identical to GGUF's TQ1_0 (five codes a byte, 1.6875 bits a weight) and TQ2_0 (2-bit
 *   codes, 2.0625 bits) and to ggml's reference quantizers. `bits` is 2, `groupSize` 256. matmul defaults to int8
 *   activations (exact integer sums times `d` per block); `prepare` holds both as 2-bit codes.
 */
export type Format =
  | 'int'
  | 'q4_0'
  | 'q8_0'
  | 'nf4'
  | 'fp8_e4m3'
  | 'fp8_e5m2'
  | 'mxfp4'
  | 'nvfp4'
  | 'bnb_fp4'
  | 'q4_k'
  | 'q5_k'
  | 'q6_k'
  | 'q2_k'
  | 'q3_k'
  | 'iq4_xs'
  | 'q4_1'
  | 'q5_0'
  | 'q5_1'
  | 'iq4_nl'
  | 'f16'
  | 'bf16'
  | 'tq1_0'
  | 'tq2_0';

/**
 * How scales are stored: `'float32'` (`Float32Array`), `'float16'` (IEEE binary16 bit patterns in a
 * `Uint16Array`, the float32 scale rounded to nearest-even, and codes computed with the rounded scale),
 * `'e8m0'` (mxfp4: a byte `e`, scale `2^(e - 127)`), `'e4m3'` (nvfp4: an FP8 E4M3 byte).
 */
export type ScaleType = 'float32' | 'float16' | 'e8m0' | 'e4m3';

export interface QuantizeOptions {
  /** Default `'int'`. */
  format?: Format;
  /** Required for `'int'` (2, 3, 4 or 8); other formats imply it and only accept that value. */
  bits?: Bits;
  /** Default `'symmetric'`; `'asymmetric'` only for `'int'`. */
  scheme?: Scheme;
  /** Default `'group'` (`'row'` for fp8); q4_0, q8_0, mxfp4 and nvfp4 only allow `'group'`. */
  granularity?: Granularity;
  /**
   * Group length for `granularity: 'group'` (default 32, nf4 64); must divide `cols`. Fixed for q4_0, q8_0,
   * mxfp4 (32) and nvfp4 (16). Not allowed with other granularities.
   */
  groupSize?: number;
  /** `'float32'` (default) or `'float16'` for int, nf4 and fp8; q4_0/q8_0 are always float16. */
  scaleType?: ScaleType;
}

/**
 * A quantized matrix: plain data that can be stored and reloaded as is (objects without `format` and
 * `scaleType`, from before they existed, are read as `'int'` with `'float32'` scales; 4-bit objects without
 * `layout` are refused, see {@link upgradeQuantizedMatrix}).
 *
 * `data` is row-major. 8-bit: one byte per value (int: two's complement for symmetric, unsigned for
 * asymmetric; fp8: the float's bits). 4-bit (int, nf4, bnb_fp4, mxfp4, nvfp4): each 32 columns of a row are 16
 * bytes, byte `j` holding column `j` in its low nibble and column `j + 16` in its high one (ggml's q4_0 order);
 * when `cols` is not a multiple of 32 the last `w` columns take `ceil(w / 2)` bytes split the same way (column
 * `j` low, `j + ceil(w / 2)` high, an odd `w` leaving the last high nibble 0); every row starts on a byte
 * boundary; symmetric int codes stored as `q + 8`, asymmetric as `q`; 2- and 3-bit int codes: each row a little-endian bit stream
 * (column c in bits `bits * c` to `bits * c + bits - 1`; 2-bit: bits `2 (c % 4)` of byte `c / 4`, as onnxruntime's
 * MatMulNBits packs them), rows padded to whole bytes, symmetric codes stored as `q + 2^(bits - 1)`; nf4 codes are level indices, E2M1 codes sign-magnitude
 * (bit 3 the sign). q4_0 / q8_0: ggml blocks (18 / 34 bytes per 32 columns) back to back, row by row, with
 * their fp16 scales inside; `scales` is then an empty `Uint16Array`.
 * `scales` (and `zeros`) are ordered: tensor: 1; row: one per row; column: one per column;
 * group: row-major `[rows, cols / groupSize]`.
 */
export interface QuantizedMatrix {
  format: Format;
  rows: number;
  cols: number;
  bits: Bits;
  scheme: Scheme;
  granularity: Granularity;
  /** The group length for `granularity: 'group'`, else 0. */
  groupSize: number;
  scaleType: ScaleType;
  data: Uint8Array;
  /** `Float32Array` (float32), `Uint16Array` (float16 bits) or `Uint8Array` (e8m0, e4m3). */
  scales: Float32Array | Uint16Array | Uint8Array;
  /** Zero-points, one per scale, for the asymmetric scheme; `null` for symmetric. */
  zeros: Uint8Array | null;
  /** nvfp4 only: the fp32 scale every block scale is multiplied by. */
  tensorScale?: number;
  /** Every byte: data, scales, zero-points and nvfp4's 4-byte tensor scale. */
  byteLength: number;
  /**
   * The version of the byte layout above: 2 on every matrix lowbit makes. Without it a matrix is read as
   * layout 1 (made before 2026-12-06), which is the same except for 4-bit codes (interleaved then: column `c`
   * in byte `c / 2`, the low nibble when `c` is even); 4-bit ones are refused with a RangeError, and
   * {@link upgradeQuantizedMatrix} converts them.
   */
  layout?: 2;
}

/** One entry of {@link formats}: a format at its default options. */
export interface FormatDescription {
  format: Format;
  bits: Bits;
  granularity: Granularity;
  /** Default (or fixed) group length; 0 when the default granularity is not `'group'`. */
  groupSize: number;
  fixedGroupSize: boolean;
  scaleType: ScaleType;
  /** Storage bits per weight, scales and tensor scale included, for a square matrix of the asked size. */
  bitsPerWeight: number;
  /** Activation modes matmul offers; the first is its default. */
  activations: Array<'int8' | 'float'>;
  /** The GGUF tensor type whose blocks are this format byte for byte (`'Q4_K'`, `'F16'`), or null. */
  ggmlType: string | null;
  /**
   * How the bytes are laid out: `'codes'` (lowbit's codes row by row, the scales and zero-points in arrays of
   * their own; 4-bit codes in the order {@link QuantizedMatrix.data} states), `'ggml blocks'` (ggml's blocks of an
   * fp16 scale and 32 codes, each code readable alone: q4_0, q8_0, iq4_nl), `'ggml blocks, decoded whole'` (two-level
   * scales, mins or split high bits: the K-quants, q4_1, q5_0, q5_1, iq4_xs, tq1_0, tq2_0), `'16-bit floats'` (f16,
   * bf16).
   */
  storage: 'codes' | 'ggml blocks' | 'ggml blocks, decoded whole' | '16-bit floats';
  /**
   * How a prepared matrix of it is multiplied: `'packed int8'` (16-row tiles, int8 activations), `'packed int8,
   * 16-level table'`, `'packed int8, block scales'` (the tiles keep ggml's two-level scales), `'fp32, dequantized
   * in registers'` (no integer form), `'sgemm on 16-bit rows'`.
   */
  kernel: string;
  description: string;
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
   * `'int8'` (the default where the format allows it): each row of `x` is quantized to int8 in blocks of
   * 32 (symmetric, round-half-even, one fp32 scale per block) and multiplied with integer dot products,
   * like ggml's Q8_0 activations. Weights enter as integers: int and ggml codes as they are, E2M1 as twice
   * its value, NF4 and bitsandbytes FP4 as their levels rounded to multiples of 1/127 (as ggml's IQ4_NL; at
   * most 0.4% of the block's absmax per weight). fp8 formats have no integer form and default to `'float'`.
   * `'float'`: weights are dequantized in registers (exactly as {@link dequantize} does) and multiplied
   * with fp32 FMA.
   */
  activations?: 'float' | 'int8';
}

/** Kernel sets lowbit can be built with. */
export interface PrepareOptions {
  /**
   * The activation mode every `matmul` with the prepared matrix uses: `'int8'` (the default where the
   * format allows it) packs the weights for the int8 kernels; `'float'` keeps a copy in the plain layout
   * for the float kernels.
   */
  activations?: 'int8' | 'float';
}

/**
 * A QuantizedMatrix copied once into memory the addon owns, in the layout the kernels read fastest
 * ({@link prepare}). Its memory is reported to V8 and freed by garbage collection or {@link dispose}.
 */
export interface PreparedMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly format: Format;
  readonly bits: Bits;
  /**
   * `'packed'`: 16-row tiles for the int8 kernels (every x86 and NEON kernel set, and the scalar one);
   * `'plain'`: a copy of the QuantizedMatrix layout (float activations, fp8, column scales, `cols` not a
   * multiple of 32, int groups of 16).
   */
  readonly layout: 'packed' | 'plain';
  readonly activations: 'int8' | 'float';
  /** Bytes the addon holds for it (0 once disposed). */
  readonly byteLength: number;
  readonly disposed: boolean;
  /**
   * Frees the memory now instead of at garbage collection. `matmulAsync` calls already started keep it
   * until they settle; using the matrix afterwards is a RangeError. Calling it again does nothing.
   */
  dispose(): void;
  /** {@link dispose}, for `using w = prepare(q)` (TypeScript 5.2+, Node 20.4+). */
  [Symbol.dispose](): void;
}

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
