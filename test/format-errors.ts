// Bad options and malformed matrices of the non-integer formats: a TypeError or RangeError that
// names the field and what is allowed; never a crash.
import t from 'tap';
import { dequantize, matmul, matmulAsync, quantize, quantizeAsync, type QuantizedMatrix } from 'lowbit';
import { randn } from './helpers';

const w = randn(4 * 64, 11);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = quantize as (...a: any[]) => unknown;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const callAsync = quantizeAsync as (...a: any[]) => Promise<unknown>;

const optionCases: [string, object, ErrorConstructor, RegExp][] = [
  ['unknown format', { format: 'q3_k' }, RangeError, /options.format must be 'int', 'q4_0', 'q8_0', 'nf4', 'fp8_e4m3', 'fp8_e5m2', 'mxfp4', 'nvfp4', 'bnb_fp4', 'q4_k', 'q5_k' or 'q6_k' \(got the string 'q3_k'\)/],
  ['format not a string', { format: 4 }, TypeError, /options.format must be/],
  ['bits not matching the format', { format: 'q4_0', bits: 8 }, RangeError, /options.bits must be 4 for format 'q4_0' \(got 8\)/],
  ['asymmetric nf4', { format: 'nf4', scheme: 'asymmetric' }, RangeError, /options.scheme must be 'symmetric' for format 'nf4'/],
  ['q8_0 per row', { format: 'q8_0', granularity: 'row' }, RangeError, /options.granularity must be 'group' for format 'q8_0'/],
  ['q4_0 with groups of 64', { format: 'q4_0', groupSize: 64 }, RangeError, /options.groupSize must be 32 for format 'q4_0'/],
  ['nvfp4 with groups of 32', { format: 'nvfp4', groupSize: 32 }, RangeError, /options.groupSize must be 16 for format 'nvfp4'/],
  ['mxfp4 with float16 scales', { format: 'mxfp4', scaleType: 'float16' }, RangeError, /options.scaleType must be 'e8m0' for format 'mxfp4' \(got 'float16'\)/],
  ['q8_0 with float32 scales', { format: 'q8_0', scaleType: 'float32' }, RangeError, /options.scaleType must be 'float16' for format 'q8_0'/],
  ['int with e4m3 scales', { bits: 4, scaleType: 'e4m3' }, RangeError, /options.scaleType must be 'float32' or 'float16' for format 'int'/],
  ['unknown scale type', { bits: 4, scaleType: 'bf16' }, RangeError, /options.scaleType must be 'float32', 'float16', 'e8m0' or 'e4m3'/],
];

for (const [name, opts, ctor, msg] of optionCases) {
  t.test(`quantize: ${name}`, async (t) => {
    t.throws(() => call(w, 4, 64, opts), { constructor: ctor, message: msg });
    await t.rejects(callAsync(w, 4, 64, opts), { constructor: ctor, message: msg });
  });
}

t.test('quantize: shapes and values the formats cannot take', async (t) => {
  t.throws(() => quantize(randn(4 * 48, 1), 4, 48, { format: 'q4_0' }), {
    constructor: RangeError,
    message: /cols \(48\) must be a multiple of the group size \(32\), the block length of format 'q4_0'/,
  });
  for (const format of ['q4_0', 'q8_0', 'nf4', 'fp8_e4m3', 'fp8_e5m2', 'mxfp4', 'nvfp4', 'bnb_fp4'] as const) {
    const bad = Float32Array.from(w, (v, i) => (i === 9 ? Infinity : v));
    t.throws(() => quantize(bad, 4, 64, { format }), { constructor: RangeError, message: /weights\[9\] is not finite/ }, format);
  }
  // Scales past float16's 65504.
  t.throws(() => quantize(new Float32Array(32).fill(1e7), 1, 32, { bits: 8, scaleType: 'float16' }), {
    constructor: RangeError,
    message: /a scale exceeds float16's range \(65504\); use scaleType 'float32'/,
  });
});

const fresh = (opts: object) => quantize(w, 4, 64, opts as never);
const qCases: [string, () => unknown, ErrorConstructor, RegExp][] = [
  ['a q4_0 block buffer one byte short', () => { const q = fresh({ format: 'q4_0' }); return { ...q, data: q.data.subarray(1) }; },
    RangeError, /q.data has 143 bytes; a 4x64 matrix in format 'q4_0' needs 144/],
  ['q8_0 with separate scales', () => ({ ...fresh({ format: 'q8_0' }), scales: new Uint16Array(8) }),
    RangeError, /q.scales has 8 values; format 'q8_0' keeps its scales in data, so it must be empty/],
  ['a NaN fp16 scale inside a q8_0 block', () => { const q = fresh({ format: 'q8_0' }); const d = q.data.slice(); d[34 * 3 + 1] = 0x7e; return { ...q, data: d }; },
    RangeError, /q.data: block 3's fp16 scale is NaN; block scales must be finite/],
  ['float16 scales in a Float32Array', () => ({ ...fresh({ bits: 4, scaleType: 'float16' }), scales: new Float32Array(8) }),
    TypeError, /q.scales must be a Uint16Array \(float16 bit patterns\) \(got a Float32Array\)/],
  ['an infinite float16 scale', () => { const q = fresh({ bits: 4, scaleType: 'float16' }); const s = (q.scales as Uint16Array).slice(); s[2] = 0x7c00; return { ...q, scales: s }; },
    RangeError, /q.scales\[2\] is Infinity \(as float16\)/],
  ['an E8M0 NaN scale', () => { const q = fresh({ format: 'mxfp4' }); const s = (q.scales as Uint8Array).slice(); s[1] = 0xff; return { ...q, scales: s }; },
    RangeError, /q.scales\[1\] is NaN \(as e8m0\)/],
  ['a negative E4M3 block scale', () => { const q = fresh({ format: 'nvfp4' }); const s = (q.scales as Uint8Array).slice(); s[0] |= 0x80; return { ...q, scales: s }; },
    RangeError, /q.scales\[0\] is -[0-9.e-]+ \(as e4m3\); scales must be finite and non-negative/],
  ['nvfp4 without its tensor scale', () => { const q = fresh({ format: 'nvfp4' }); delete q.tensorScale; return q; },
    TypeError, /q.tensorScale must be a number for format 'nvfp4' \(got undefined\)/],
  ['an infinite tensor scale', () => ({ ...fresh({ format: 'nvfp4' }), tensorScale: Infinity }),
    RangeError, /q.tensorScale is Infinity; it must be finite and non-negative/],
  ['a tensor scale on nf4', () => ({ ...fresh({ format: 'nf4' }), tensorScale: 1 }),
    RangeError, /q.tensorScale is only used by format 'nvfp4'/],
  ['fp8 claiming 4 bits', () => ({ ...fresh({ format: 'fp8_e4m3' }), bits: 4 }),
    RangeError, /q.bits must be 8 for format 'fp8_e4m3' \(got 4\)/],
  ['unknown format', () => ({ ...fresh({ format: 'nf4' }), format: 'nf3' }), RangeError, /q.format must be/],
];

for (const [name, make, ctor, msg] of qCases) {
  t.test(`dequantize / matmul: ${name}`, async (t) => {
    const bad = make() as QuantizedMatrix;
    t.throws(() => dequantize(bad), { constructor: ctor, message: new RegExp('dequantize: ' + msg.source) });
    // matmul checks structure (not values) before any kernel runs.
    if (!/NaN|infinite|negative/.test(name) || /tensor scale/.test(name)) {
      t.throws(() => matmul(randn(64, 2), bad), { constructor: ctor, message: new RegExp('matmul: w' + msg.source.slice(1)) });
    }
  });
}

t.test('matmul: fp8 has no int8 activation path', async (t) => {
  const q = fresh({ format: 'fp8_e5m2' });
  const x = randn(2 * 64, 3);
  const msg = /matmul(Async)?: options.activations 'int8' is not available for format 'fp8_e5m2' \(its values have no integer form\); use 'float' or omit it/;
  t.throws(() => matmul(x, q, { activations: 'int8' }), { constructor: RangeError, message: msg });
  await t.rejects(matmulAsync(x, q, { activations: 'int8' }), { constructor: RangeError, message: msg });
  t.same(matmul(x, q), matmul(x, q, { activations: 'float' }), 'float is its default');
  // The float path propagates non-finite x, as for every format.
  t.ok(Number.isNaN(matmul(Float32Array.from(x, (v, i) => (i ? v : NaN)), q)[0]));
});

t.test('matrices stored before formats existed still load', async (t) => {
  const q = quantize(w, 4, 64, { bits: 4 });
  const { format: _f, scaleType: _s, ...old } = q;
  t.same(dequantize(old as QuantizedMatrix), dequantize(q));
});
