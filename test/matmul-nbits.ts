// onnxruntime's MatMulNBits weights (2-, 4- and 8-bit) from lowbit int matrices and back: byte for byte,
// and the op's own definition of its weights (written here from the contrib op's schema: B [N, K / bs,
// bs * bits / 8] with codes low bits first, scales [N * K / bs], zero_points packed `bits` at a time per
// row, default 2^(bits - 1)) equal to lowbit's dequantized values. (The same bytes run in onnxruntime-node
// 1.30's MatMulNBits: see docs/formats.md#below-four-bits.)
import t from 'tap';
import { dequantize, fromMatMulNBits, matmul, quantize, toMatMulNBits, type MatMulNBitsWeights } from 'lowbit';
import { nibbleAt, randn } from './helpers';

function halfToFloat(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The op's weight matrix [N, K] from its inputs. */
function opWeights(w: MatMulNBitsWeights): Float32Array {
  const { K, N, bits, blockSize: bs } = w;
  const blocks = K / bs, blob = (bs * bits) / 8, per = Math.ceil((blocks * bits) / 8);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const zp = w.zeroPoints ? (w.zeroPoints[n * per + ((b * bits) >> 3)] >> ((b * bits) & 7)) & ((1 << bits) - 1) : 1 << (bits - 1);
      const raw = w.scales[n * blocks + b];
      const s = w.scales instanceof Float32Array ? raw : halfToFloat(raw);
      for (let i = 0; i < bs; i++) {
        const bit = i * bits;
        const code = (w.B[(n * blocks + b) * blob + (bit >> 3)] >> (bit & 7)) & ((1 << bits) - 1);
        out[n * K + b * bs + i] = Math.fround(s * (code - zp));
      }
    }
  }
  return out;
}

t.test('lowbit int matrices as MatMulNBits weights and back', async (t) => {
  const rows = 24, cols = 256;
  const w = randn(rows * cols, 5);
  for (const bits of [2, 4, 8] as const) {
    for (const scheme of ['symmetric', 'asymmetric'] as const) {
      for (const [groupSize, scaleType] of [[16, 'float32'], [64, 'float16'], [128, 'float32']] as const) {
        const tag = `int${bits} ${scheme} g${groupSize} ${scaleType}`;
        const q = quantize(w, rows, cols, { bits, scheme, groupSize, scaleType });
        const m = toMatMulNBits(q);
        t.same([m.K, m.N, m.bits, m.blockSize, m.B.length], [cols, rows, bits, groupSize, (rows * cols * bits) / 8], `${tag}: attributes`);
        t.equal(m.zeroPoints === null, scheme === 'symmetric', `${tag}: zero_points only when asymmetric`);
        if (bits === 2) t.same(m.B, q.data, `${tag}: B is lowbit's bytes`);
        if (bits === 4) {
          // MatMulNBits interleaves: column c in byte c / 2, the low nibble when c is even.
          const rb = cols / 2;
          const B = new Uint8Array(rows * rb);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) B[r * rb + (c >> 1)] |= nibbleAt(q.data, r * rb, cols, c) << ((c & 1) * 4);
          t.same(m.B, B, `${tag}: B holds lowbit's codes, interleaved`);
        }
        t.same(opWeights(m), dequantize(q), `${tag}: the op's weights are lowbit's values`);
        const back = fromMatMulNBits(m);
        t.same([back.data, back.scales, back.zeros, back.scheme, back.byteLength], [q.data, q.scales, q.zeros, q.scheme, q.byteLength], `${tag}: back byte for byte`);
        const x = randn(2 * cols, 6);
        t.same(matmul(x, back), matmul(x, q), `${tag}: the same products`);
      }
    }
  }
});

t.test('what MatMulNBits cannot hold, and malformed weights', async (t) => {
  const w = randn(8 * 96, 7);
  t.throws(() => toMatMulNBits(quantize(w, 8, 96, { bits: 3, groupSize: 32 })), { constructor: RangeError, message: /3-bit codes; MatMulNBits takes 2, 4 or 8 bits/ });
  t.throws(() => toMatMulNBits(quantize(w, 8, 96, { bits: 4, granularity: 'row' })), { constructor: RangeError, message: /row scales/ });
  t.throws(() => toMatMulNBits(quantize(w, 8, 96, { bits: 4, groupSize: 48 })), { constructor: RangeError, message: /groupSize 48 is not a power of two/ });
  t.throws(() => toMatMulNBits(quantize(w, 8, 96, { format: 'nf4', groupSize: 32 })), { constructor: RangeError, message: /format 'nf4'/ });
  const m = toMatMulNBits(quantize(w, 8, 96, { bits: 2, scheme: 'asymmetric', groupSize: 32 }));
  t.throws(() => fromMatMulNBits({ ...m, bits: 3 as 2 }), { constructor: RangeError, message: /w.bits must be 2, 4 or 8/ });
  t.throws(() => fromMatMulNBits({ ...m, K: 100 }), { constructor: RangeError, message: /not a multiple of w.blockSize/ });
  t.throws(() => fromMatMulNBits({ ...m, B: m.B.subarray(1) }), { constructor: RangeError, message: /w.B has 191 bytes/ });
  t.throws(() => fromMatMulNBits({ ...m, scales: m.scales.subarray(1) }), { constructor: RangeError, message: /w.scales has 23 entries/ });
  t.throws(() => fromMatMulNBits({ ...m, zeroPoints: m.zeroPoints!.subarray(1) }), { constructor: RangeError, message: /w.zeroPoints has 7 bytes; 8 rows of 1/ });
  t.throws(() => fromMatMulNBits(null as never), { constructor: TypeError, message: /w must be an object/ });
});
