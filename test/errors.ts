// Bad input gets a TypeError or RangeError naming the argument and what is allowed; never a crash,
// and inputs are never modified.
import t from 'tap';
import { dequantize, quantizationError, quantize, quantizeAsync, type QuantizedMatrix } from 'lowbit';
import { randn } from './helpers';

const w = randn(4 * 64, 7);
const snapshot = w.slice();
const good = () => quantize(w, 4, 64, { bits: 4, scheme: 'asymmetric' });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = quantize as (...a: any[]) => unknown;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const callAsync = quantizeAsync as (...a: any[]) => Promise<unknown>;

const quantizeCases: [string, unknown[], ErrorConstructor, RegExp][] = [
  ['weights not a Float32Array', [Array.from(w), 4, 64, { bits: 4 }], TypeError, /weights must be a Float32Array \(got an Array\)/],
  ['weights a Float64Array', [new Float64Array(256), 4, 64, { bits: 4 }], TypeError, /weights must be a Float32Array \(got a Float64Array\)/],
  ['length not rows * cols', [w, 4, 32, { bits: 4 }], RangeError, /weights.length \(256\) must equal rows \* cols \(4 \* 32 = 128\)/],
  ['rows not an integer', [w, 4.5, 64, { bits: 4 }], RangeError, /rows must be a positive integer \(got 4.5\)/],
  ['rows zero', [w, 0, 64, { bits: 4 }], RangeError, /rows must be a positive integer \(got 0\)/],
  ['cols negative', [w, 4, -64, { bits: 4 }], RangeError, /cols must be a positive integer \(got -64\)/],
  ['cols a string', [w, 4, '64', { bits: 4 }], TypeError, /cols must be a positive integer \(got the string '64'\)/],
  ['rows NaN', [w, NaN, 64, { bits: 4 }], RangeError, /rows must be a positive integer \(got NaN\)/],
  ['options missing', [w, 4, 64], TypeError, /options must be an object/],
  ['bits missing', [w, 4, 64, {}], TypeError, /options.bits must be 4 or 8 \(got undefined\)/],
  ['bits 2', [w, 4, 64, { bits: 2 }], RangeError, /options.bits must be 4 or 8 \(got 2\)/],
  ['unknown scheme', [w, 4, 64, { bits: 8, scheme: 'affine' }], RangeError, /options.scheme must be 'symmetric' or 'asymmetric' \(got the string 'affine'\)/],
  ['unknown granularity', [w, 4, 64, { bits: 8, granularity: 'channel' }], RangeError, /options.granularity must be 'tensor', 'row', 'column' or 'group'/],
  ['unknown option', [w, 4, 64, { bits: 8, groupsize: 32 }], RangeError, /unknown option 'groupsize'; allowed: format, bits, scheme, granularity, groupSize, scaleType/],
  ['groupSize not dividing cols', [w, 4, 64, { bits: 8, groupSize: 48 }], RangeError, /groupSize \(48\) must divide cols \(64\)/],
  ['default group of 32 not dividing cols', [randn(60, 1), 2, 30, { bits: 8 }], RangeError, /cols \(30\) must be a multiple of the group size \(32\)/],
  ['groupSize zero', [w, 4, 64, { bits: 8, groupSize: 0 }], RangeError, /groupSize must be a positive integer \(got 0\)/],
  ['groupSize with row granularity', [w, 4, 64, { bits: 8, granularity: 'row', groupSize: 32 }], RangeError, /groupSize is only allowed with granularity 'group'/],
  ['NaN in weights', [Float32Array.from(w, (x, i) => (i === 77 ? NaN : x)), 4, 64, { bits: 4 }], RangeError, /weights\[77\] is not finite \(NaN\)/],
  ['Infinity in weights', [Float32Array.from(w, (x, i) => (i === 3 ? -Infinity : x)), 4, 64, { bits: 4 }], RangeError, /weights\[3\] is not finite \(Infinity\)/],
  ['asymmetric range overflowing float32', [new Float32Array([3e38, -3e38]), 1, 2, { bits: 8, scheme: 'asymmetric', granularity: 'row' }], RangeError, /overflows float32/],
];

for (const [name, args, ctor, msg] of quantizeCases) {
  t.test(`quantize: ${name}`, async (t) => {
    t.throws(() => call(...args), { constructor: ctor, message: msg });
    await t.rejects(callAsync(...args), { constructor: ctor, message: msg });
    t.same(w, snapshot, 'input unchanged');
  });
}

// Each mutation breaks one field of a valid QuantizedMatrix.
const qCases: [string, (q: QuantizedMatrix) => unknown, ErrorConstructor, RegExp][] = [
  ['not an object', () => 42, TypeError, /q must be a QuantizedMatrix object .* \(got the number 42\)/],
  ['a typed array', () => new Uint8Array(4), TypeError, /q must be a QuantizedMatrix object/],
  ['short data', (q) => ({ ...q, data: q.data.subarray(1) }), RangeError, /q.data has 127 bytes; a 4x64 matrix in 4-bit codes needs 128/],
  ['data not bytes', (q) => ({ ...q, data: new Int8Array(q.data.buffer) }), TypeError, /q.data must be a Uint8Array \(got an Int8Array\)/],
  ['wrong scales length', (q) => ({ ...q, scales: q.scales.subarray(2) }), RangeError, /q.scales has 6 values; granularity 'group' needs 8/],
  ['scales not float32', (q) => ({ ...q, scales: Array.from(q.scales) }), TypeError, /q.scales must be a Float32Array \(got an Array\)/],
  ['NaN scale', (q) => ({ ...q, scales: q.scales.map((s, i) => (i === 1 ? NaN : s)) }), RangeError, /q.scales\[1\] is NaN \(as float32\); scales must be finite and non-negative/],
  ['negative scale', (q) => ({ ...q, scales: q.scales.map((s, i) => (i === 2 ? -s : s)) }), RangeError, /q.scales\[2\] is -/],
  ['missing zeros', (q) => ({ ...q, zeros: null }), TypeError, /q.zeros must be a Uint8Array \(got null\)/],
  ['zeros out of range', (q) => ({ ...q, zeros: q.zeros!.map((z, i) => (i === 5 ? 16 : z)) }), RangeError, /q.zeros\[5\] is 16; a 4-bit zero-point must be at most 15/],
  ['zeros on a symmetric matrix', (q) => ({ ...q, scheme: 'symmetric' }), TypeError, /q.zeros must be null for the symmetric scheme/],
  ['bits 3', (q) => ({ ...q, bits: 3 }), RangeError, /q.bits must be 4 or 8 \(got 3\)/],
  ['rows not an integer', (q) => ({ ...q, rows: 2.5 }), RangeError, /q.rows must be a positive integer/],
  ['groupSize not dividing cols', (q) => ({ ...q, groupSize: 24 }), RangeError, /q.groupSize \(24\) must divide cols \(64\)/],
  ['unknown granularity', (q) => ({ ...q, granularity: 'block' }), RangeError, /q.granularity must be/],
  ['groupSize on a row matrix', (q) => ({ ...q, granularity: 'row', scales: new Float32Array(4), zeros: new Uint8Array(4) }), RangeError, /q.groupSize must be 0 when granularity is 'row'/],
];

for (const [name, mutate, ctor, msg] of qCases) {
  t.test(`dequantize / quantizationError: ${name}`, async (t) => {
    const q = good();
    const bad = mutate(q);
    t.throws(() => dequantize(bad as QuantizedMatrix), { constructor: ctor, message: new RegExp('dequantize: ' + msg.source) });
    t.throws(() => quantizationError(w, bad as QuantizedMatrix), {
      constructor: ctor,
      message: new RegExp('quantizationError: ' + msg.source),
    });
  });
}

t.test('quantizationError: weights that do not match q', async (t) => {
  const q = good();
  t.throws(() => quantizationError(w.subarray(1), q), { constructor: RangeError, message: /weights.length \(255\) must equal q.rows \* q.cols \(256\)/ });
  t.throws(() => quantizationError(Float32Array.from(w, (x, i) => (i ? x : NaN)), q), {
    constructor: RangeError,
    message: /weights\[0\] is NaN; values must be finite/,
  });
  t.throws(() => quantizationError(new Float64Array(256) as unknown as Float32Array, q), {
    constructor: TypeError,
    message: /weights must be a Float32Array \(got a Float64Array\)/,
  });
});

t.test('a QuantizedMatrix survives a JSON-like round trip', async (t) => {
  const q = good();
  const reloaded: QuantizedMatrix = {
    ...q,
    data: Uint8Array.from(q.data),
    scales: new Float32Array(Array.from(q.scales)),
    zeros: q.zeros && Uint8Array.from(q.zeros),
  };
  t.same(dequantize(reloaded), dequantize(q));
});
