// Bad input gets a TypeError or RangeError naming the argument and what is allowed, sync and async,
// never a crash; inputs are never modified. One block each: quantize and dequantize, the formats'
// options and malformed matrices, matmul and the CPU controls.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { cpuInfo, dequantize, matmul, matmulAsync, matmulF32, probe, quantizationError, quantize, quantizeAsync, type QuantizedMatrix, setIsa, setThreads } from 'lowbit';
import { randn } from './helpers';

{
  // quantize, quantizeAsync, dequantize, quantizationError.
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
    ['bits missing', [w, 4, 64, {}], TypeError, /options.bits must be 2, 3, 4 or 8 \(got undefined\)/],
    ['bits 5', [w, 4, 64, { bits: 5 }], RangeError, /options.bits must be 2, 3, 4 or 8 for format 'int' \(got 5\)/],
    ['bits 7', [w, 4, 64, { bits: 7 as 8 }], RangeError, /options.bits must be 2, 3, 4 or 8 \(got 7\)/],
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
    ['bits 6', (q) => ({ ...q, bits: 6 }), RangeError, /q.bits must be 2, 3, 4 or 8 for format 'int' \(got 6\)/],
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
}

{
  // Bad options and malformed matrices of the non-integer formats: a TypeError or RangeError that
  // names the field and what is allowed; never a crash.
  const w = randn(4 * 64, 11);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = quantize as (...a: any[]) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const callAsync = quantizeAsync as (...a: any[]) => Promise<unknown>;

  const optionCases: [string, object, ErrorConstructor, RegExp][] = [
    ['unknown format', { format: 'iq2_xxs' }, RangeError, /options.format must be 'int', 'q4_0', 'q8_0', 'nf4', 'fp8_e4m3', 'fp8_e5m2', 'mxfp4', 'nvfp4', 'bnb_fp4', 'q4_k', 'q5_k', 'q6_k', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl', 'iq4_xs', 'q2_k', 'q3_k', 'f16', 'bf16', 'tq1_0' or 'tq2_0' \(got the string 'iq2_xxs'\)/],
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
      RangeError, /q.tensorScale is only used by formats with a tensor scale \('nvfp4'; got format 'nf4'\)/],
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
}

{
  // matmul's and the CPU controls' bad input: clear TypeError / RangeError, sync and async, never a crash.
  const w = quantize(randn(8 * 64, 3), 8, 64, { bits: 4 });
  const x = randn(2 * 64, 4);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const mm = matmul as (...a: any[]) => Float32Array;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const mmAsync = matmulAsync as (...a: any[]) => Promise<Float32Array>;

  const cases: [string, unknown[], ErrorConstructor, RegExp][] = [
    ['x not a Float32Array', [Array.from(x), w], TypeError, /x must be a Float32Array \(got an Array\)/],
    ['x a Float64Array', [new Float64Array(128), w], TypeError, /x must be a Float32Array \(got a Float64Array\)/],
    ['x length not a multiple of cols', [x.subarray(1), w], RangeError, /x.length \(127\) must be a positive multiple of w.cols \(64\)/],
    ['x empty', [new Float32Array(0), w], RangeError, /x.length \(0\) must be a positive multiple/],
    ['w not an object', [x, 'weights'], TypeError, /w must be a QuantizedMatrix object/],
    ['w foreign object', [x, { rows: 8, cols: 64 }], TypeError, /w.bits must be 2, 3, 4 or 8 \(got undefined\)/],
    ['w short data', [x, { ...w, data: w.data.subarray(4) }], RangeError, /w.data has 252 bytes; a 8x64 matrix in 4-bit codes needs 256/],
    ['w wrong scales', [x, { ...w, scales: new Float32Array(3) }], RangeError, /w.scales has 3 values; granularity 'group' needs 16/],
    ['out wrong length', [x, w, { out: new Float32Array(15) }], RangeError, /options.out.length \(15\) must be m \* w.rows \(2 \* 8\)/],
    ['out not Float32Array', [x, w, { out: new Float64Array(16) }], TypeError, /options.out must be a Float32Array/],
    ['out aliasing x', [x, w, { out: x.subarray(0, 16) }], RangeError, /options.out must not share memory with x or w/],
    ['unknown activations', [x, w, { activations: 'fp16' }], RangeError, /options.activations must be 'float' or 'int8' \(got the string 'fp16'\)/],
    ['unknown option', [x, w, { threads: 2 }], RangeError, /unknown option 'threads'; allowed: out, activations/],
    ['options not an object', [x, w, 5], TypeError, /options must be an object/],
    ['NaN in x with int8 activations', [Float32Array.from(x, (v, i) => (i === 5 ? NaN : v)), w], RangeError, /x \(with activations 'int8'.*\)\[5\] is NaN/],
  ];

  for (const [name, args, ctor, msg] of cases) {
    t.test(`matmul: ${name}`, async (t) => {
      t.throws(() => mm(...args), { constructor: ctor, message: msg });
      await t.rejects(mmAsync(...args), { constructor: ctor, message: msg });
    });
  }

  t.test('NaN in x propagates with float activations', async (t) => {
    const y = matmul(Float32Array.from(x, (v, i) => (i === 5 ? NaN : v)), w, { activations: 'float' });
    t.ok(Number.isNaN(y[0]) && Number.isFinite(y[8]), 'row 0 is NaN, row 1 is not');
  });

  t.test('matmulF32 checks its arguments', async (t) => {
    const wf = randn(8 * 64, 5);
    const y = matmulF32(x, wf, 8, 64);
    let exact = 0;
    for (let c = 0; c < 64; c++) exact += x[c] * wf[c];
    t.ok(Math.abs(y[0] - exact) < 1e-4, 'computes x * w^T');
    t.throws(() => matmulF32(x, wf, 8, 63), { constructor: RangeError, message: /w.length \(512\) must equal rows \* cols \(504\)/ });
    t.throws(() => matmulF32(x, wf, 8, 64, new Float32Array(3)), { constructor: RangeError, message: /out.length \(3\)/ });
    t.throws(() => matmulF32(x, wf, 8, 64, x.subarray(0, 16)), { constructor: RangeError, message: /must not share memory/ });
  });

  t.test('dequantize writes into out when given, and checks it', async (t) => {
    const out = new Float32Array(8 * 64).fill(7);
    t.equal(dequantize(w, out), out, 'returns out itself');
    t.same(out, dequantize(w), 'the same values as a fresh array');
    t.throws(() => dequantize(w, new Float32Array(3)), { constructor: RangeError, message: /dequantize: out.length \(3\) must be q.rows \* q.cols \(512\)/ });
    t.throws(() => dequantize(w, new Float64Array(512) as unknown as Float32Array), { constructor: TypeError, message: /dequantize: out/ });
    // q's codes in the same ArrayBuffer as out: refused before anything is written.
    const buf = new ArrayBuffer(8 * 64 * 4);
    const data = new Uint8Array(buf, 0, w.data.length);
    data.set(w.data);
    const shared = new Float32Array(buf);
    t.throws(() => dequantize({ ...w, data }, shared), { constructor: RangeError, message: /dequantize: out must not share memory with q/ });
    t.same(new Uint8Array(buf, 0, w.data.length), w.data, 'q unchanged');
  });

  t.test('cpuInfo, setIsa, setThreads', async (t) => {
    const info = cpuInfo();
    t.match(info, { arch: String, isa: String, threads: Number });
    t.ok(info.isas.includes('scalar'), 'scalar is always available');
    t.equal(info.isa, info.isas[0], 'the best kernel set is chosen by default');
    t.throws(() => setIsa('sse9' as never), { constructor: RangeError, message: /setIsa: unknown ISA 'sse9'; this machine can use/ });
    const missing = ['avx512vnni', 'neon-i8mm'].find((n) => !info.isas.includes(n as never))!;
    t.throws(() => setIsa(missing as never), { constructor: RangeError, message: new RegExp(`setIsa: ISA '${missing}' is not`) });
    t.throws(() => setIsa(4 as never), { constructor: TypeError, message: /setIsa: name must be a string \(got the number 4\)/ });
    t.throws(() => setThreads(0), { constructor: RangeError, message: /setThreads: n must be a positive integer \(got 0\)/ });
    t.throws(() => setThreads(1.5), { constructor: RangeError, message: /positive integer/ });
    t.throws(() => setThreads('2' as never), { constructor: TypeError, message: /positive integer/ });
    t.throws(() => setThreads(5000), { constructor: RangeError, message: /at most 1024/ });
    t.equal(cpuInfo().isa, info.isa, 'failed calls change nothing');
    t.equal(cpuInfo().threads, info.threads);
    t.throws(() => probe('flops' as never), { constructor: RangeError, message: /probe: kind must be 'bandwidth', 'fma' or 'dot'/ });
  });

  t.test('LOWBIT_ISA and LOWBIT_NUM_THREADS at load', async (t) => {
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['-e', "const l=require('lowbit');process.stdout.write(JSON.stringify(l.cpuInfo()))"], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const scalar = JSON.parse(run({ LOWBIT_ISA: 'scalar', LOWBIT_NUM_THREADS: '3' }));
    t.equal(scalar.isa, 'scalar');
    t.equal(scalar.threads, 3);
    try {
      run({ LOWBIT_ISA: 'avx512vnni-typo' });
      t.fail('loading with a bad LOWBIT_ISA must throw');
    } catch (e) {
      t.match(String((e as { stderr: string }).stderr), /RangeError: lowbit: LOWBIT_ISA: unknown ISA 'avx512vnni-typo'/);
    }
  });

  t.test('a QuantizedMatrix whose fields change after matmulAsync starts still computes', async (t) => {
    const q: QuantizedMatrix = { ...w, data: w.data.slice() };
    const p = matmulAsync(x, q);
    q.data = new Uint8Array(0); // the worker holds the original buffer
    t.same(await p, matmul(x, w));
  });
}
