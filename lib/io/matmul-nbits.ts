/**
 * lowbit's integer group matrices as onnxruntime's `MatMulNBits` weights (com.microsoft domain, 2-, 4- and
 * 8-bit) and back. `MatMulNBits` packs codes little-endian in each byte, low bits first, with symmetric codes
 * stored `q + 2^(bits - 1)` (the op's default zero-point): lowbit's 2-bit rows byte for byte; its 4-bit rows
 * hold the same nibbles in ggml's order (./nibble-order.ts), so they are reordered; 8-bit symmetric codes
 * change from two's complement to `q + 128`; zero-points are packed `bits` at a time.
 */
import { describe } from '../core/describe';
import { native } from '../core/native';
import type { QuantizedMatrix } from '../core/types';
import { nibblesFromInterleaved, nibblesToInterleaved } from './nibble-order';

/** The inputs and attributes of one `MatMulNBits` node's weight (`Y = A · dequantize(B)ᵀ`, B `[N, K]`). */
export interface MatMulNBitsWeights {
  /** Attributes `K` (input features), `N` (output features), `bits`, `block_size`. */
  K: number;
  N: number;
  bits: 2 | 4 | 8;
  blockSize: number;
  /** Input `B`, uint8 `[N, K / blockSize, blockSize * bits / 8]`. */
  B: Uint8Array;
  /** Input `scales`, `[N * K / blockSize]`: float32, or float16 bit patterns (the model's float type). */
  scales: Float32Array | Uint16Array;
  /**
   * Input `zero_points`, uint8 `[N * ceil(K / blockSize * bits / 8)]`, each row's zero-points packed `bits` at
   * a time (low bits first); `null` for symmetric matrices (the op's default, `2^(bits - 1)`).
   */
  zeroPoints: Uint8Array | null;
}

function fail(fn: string, msg: string): never {
  throw new RangeError(`${fn}: ${msg}`);
}

/**
 * A lowbit `'int'` matrix with 2-, 4- or 8-bit codes and group scales (a power-of-two `groupSize` of at
 * least 16, as the op requires) as `MatMulNBits` weights. The arrays are new; `fromMatMulNBits` gives the
 * matrix back byte for byte.
 */
export function toMatMulNBits(q: QuantizedMatrix): MatMulNBitsWeights {
  const fn = 'toMatMulNBits';
  native.checkQuantized(q, `${fn}: q`);
  if (q.format !== 'int') fail(fn, `q has format '${q.format}'; MatMulNBits holds integer codes (format 'int')`);
  if (q.bits !== 2 && q.bits !== 4 && q.bits !== 8) fail(fn, `q has ${q.bits}-bit codes; MatMulNBits takes 2, 4 or 8 bits`);
  if (q.granularity !== 'group') fail(fn, `q has ${q.granularity} scales; MatMulNBits has a scale per block of columns (granularity 'group')`);
  const bs = q.groupSize;
  if (bs < 16 || (bs & (bs - 1)) !== 0) fail(fn, `q.groupSize ${bs} is not a power of two of at least 16, as MatMulNBits' block_size must be`);
  const bits = q.bits;
  const sym = q.scheme === 'symmetric';
  const B = sym && bits === 8 ? q.data.map((v) => v ^ 0x80) : bits === 4 ? nibblesToInterleaved(q.data, q.rows, q.cols) : q.data.slice();
  const blocks = q.cols / bs;
  let zeroPoints: Uint8Array | null = null;
  if (!sym) {
    const per = Math.ceil((blocks * bits) / 8);
    zeroPoints = new Uint8Array(q.rows * per);
    const z = q.zeros as Uint8Array;
    for (let r = 0; r < q.rows; r++) {
      for (let g = 0; g < blocks; g++) zeroPoints[r * per + ((g * bits) >> 3)] |= z[r * blocks + g] << ((g * bits) & 7);
    }
  }
  return { K: q.cols, N: q.rows, bits, blockSize: bs, B, scales: q.scales.slice() as Float32Array | Uint16Array, zeroPoints };
}

/**
 * `MatMulNBits` weights as a lowbit `'int'` group matrix (asymmetric when `zeroPoints` is given, else
 * symmetric): `matmul`, `prepare` and `dequantize` then give the op's products. `K` must be a multiple of
 * `blockSize` (the op pads a last partial block; lowbit's groups divide the row).
 */
export function fromMatMulNBits(w: MatMulNBitsWeights): QuantizedMatrix {
  const fn = 'fromMatMulNBits';
  if (w === null || typeof w !== 'object') throw new TypeError(`${fn}: w must be an object like toMatMulNBits returns (got ${describe(w)})`);
  const { K, N, bits, blockSize: bs, B, scales, zeroPoints } = w;
  if (bits !== 2 && bits !== 4 && bits !== 8) fail(fn, `w.bits must be 2, 4 or 8 (got ${describe(bits)})`);
  for (const [name, v] of [['K', K], ['N', N], ['blockSize', bs]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) fail(fn, `w.${name} must be a positive integer (got ${describe(v)})`);
  }
  if (bs < 16 || (bs & (bs - 1)) !== 0) fail(fn, `w.blockSize ${bs} is not a power of two of at least 16`);
  if (K % bs !== 0) fail(fn, `w.K (${K}) is not a multiple of w.blockSize (${bs}); lowbit's groups divide the row`);
  if (!(B instanceof Uint8Array)) throw new TypeError(`${fn}: w.B must be a Uint8Array (got ${describe(B)})`);
  const blocks = K / bs;
  if (B.length !== (N * K * bits) / 8) fail(fn, `w.B has ${B.length} bytes; [${N}, ${blocks}, ${(bs * bits) / 8}] is ${(N * K * bits) / 8}`);
  if (!(scales instanceof Float32Array) && !(scales instanceof Uint16Array)) {
    throw new TypeError(`${fn}: w.scales must be a Float32Array or a Uint16Array of float16 bits (got ${describe(scales)})`);
  }
  if (scales.length !== N * blocks) fail(fn, `w.scales has ${scales.length} entries; N * K / blockSize is ${N * blocks}`);
  const sym = zeroPoints === null || zeroPoints === undefined;
  let zeros: Uint8Array | null = null;
  if (!sym) {
    if (!(zeroPoints instanceof Uint8Array)) throw new TypeError(`${fn}: w.zeroPoints must be a Uint8Array or null (got ${describe(zeroPoints)})`);
    const per = Math.ceil((blocks * bits) / 8);
    if (zeroPoints.length !== N * per) fail(fn, `w.zeroPoints has ${zeroPoints.length} bytes; ${N} rows of ${per} are needed`);
    zeros = native.allocate('uint8', N * blocks);
    const mask = (1 << bits) - 1;
    for (let r = 0; r < N; r++) {
      for (let g = 0; g < blocks; g++) zeros[r * blocks + g] = (zeroPoints[r * per + ((g * bits) >> 3)] >> ((g * bits) & 7)) & mask;
    }
  }
  let data: Uint8Array;
  if (bits === 4) {
    data = nibblesFromInterleaved(B, N, K);
  } else {
    data = native.allocate('uint8', B.length);
    if (sym && bits === 8) for (let i = 0; i < B.length; i++) data[i] = B[i] ^ 0x80;
    else data.set(B);
  }
  const s = scales instanceof Float32Array ? native.allocate('float32', scales.length) : native.allocate('uint16', scales.length);
  s.set(scales);
  const q: QuantizedMatrix = {
    format: 'int', rows: N, cols: K, bits, scheme: sym ? 'symmetric' : 'asymmetric', granularity: 'group', groupSize: bs,
    scaleType: scales instanceof Float32Array ? 'float32' : 'float16', data, scales: s, zeros,
    byteLength: data.byteLength + s.byteLength + (zeros ? zeros.byteLength : 0),
    layout: 2,
  };
  native.checkQuantized(q, `${fn}: the matrix`);
  return q;
}
