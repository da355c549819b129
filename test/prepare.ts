// prepare / prepareAsync: layouts, lifetimes (dispose, in-flight async, GC accounting), ISA changes
// after preparing, and bad input. Numerics against NumPy are in matmul.ts and formats.ts.
import t from 'tap';
import {
  cpuInfo,
  matmul,
  matmulAsync,
  prepare,
  prepareAsync,
  quantize,
  setIsa,
  type QuantizedMatrix,
} from 'lowbit';
import { randn, sameBytes, testedIsas } from './helpers';

const rows = 70, cols = 256; // 70 rows: a partial last tile of 16
const w = randn(rows * cols, 1);
const x = randn(5 * cols, 2);
const initial = cpuInfo().isa;
t.teardown(() => setIsa(initial));

t.test('layout: packed for int8-activation formats, plain otherwise', async (t) => {
  const packed: [string, QuantizedMatrix][] = [
    ['int4 g32', quantize(w, rows, cols, { bits: 4 })],
    ['int4 asym row', quantize(w, rows, cols, { bits: 4, scheme: 'asymmetric', granularity: 'row' })],
    ['int8 tensor fp16', quantize(w, rows, cols, { bits: 8, granularity: 'tensor', scaleType: 'float16' })],
    ['q4_0', quantize(w, rows, cols, { format: 'q4_0' })],
    ['q8_0', quantize(w, rows, cols, { format: 'q8_0' })],
    ['nf4', quantize(w, rows, cols, { format: 'nf4' })],
    ['mxfp4', quantize(w, rows, cols, { format: 'mxfp4' })],
    ['nvfp4', quantize(w, rows, cols, { format: 'nvfp4' })],
    ['bnb_fp4', quantize(w, rows, cols, { format: 'bnb_fp4' })],
  ];
  // The K-quants' tiles need 256 columns (a super-block).
  const kw = randn(rows * 512, 5);
  for (const format of ['q4_k', 'q5_k', 'q6_k'] as const) packed.push([format, quantize(kw, rows, 512, { format })]);
  for (const [name, q] of packed) {
    const p = prepare(q);
    t.equal(p.layout, 'packed', name);
    t.equal(p.activations, 'int8', `${name}: activations`);
    t.same([p.rows, p.cols, p.format, p.bits], [q.rows, q.cols, q.format, q.bits], `${name}: shape and format`);
    // 16-row tiles: 5 tiles for 70 rows, the last padded.
    t.ok(p.byteLength >= q.byteLength * 0.9 && p.byteLength <= q.byteLength * 1.3, `${name}: ${p.byteLength} bytes vs ${q.byteLength}`);
  }
  const plain: [string, QuantizedMatrix, object?][] = [
    ['fp8', quantize(w, rows, cols, { format: 'fp8_e4m3' })],
    ['column scales', quantize(w, rows, cols, { bits: 4, granularity: 'column' })],
    ['int4 group 16', quantize(w, rows, cols, { bits: 4, groupSize: 16 })],
    ['float activations', quantize(w, rows, cols, { bits: 4 }), { activations: 'float' }],
    ['odd cols', quantize(randn(rows * 45, 3), rows, 45, { bits: 8, granularity: 'row' })],
  ];
  for (const [name, q, opts] of plain) {
    const p = prepare(q, opts);
    t.equal(p.layout, 'plain', name);
    const xs = randn(3 * q.cols, 4);
    t.same(matmul(xs, p), matmul(xs, q, opts), `${name}: the same bits as the QuantizedMatrix`);
  }
});

t.test('the source matrix can be dropped and overwritten after preparing', async (t) => {
  const q = quantize(w, rows, cols, { bits: 4, scheme: 'asymmetric' });
  const expect = matmul(x, q);
  const p = prepare(q);
  const before = matmul(x, p);
  q.data.fill(0);
  (q.scales as Float32Array).fill(0);
  t.same(matmul(x, p), before, 'the prepared copy does not read q');
  let worst = 0;
  for (let i = 0; i < expect.length; i++) worst = Math.max(worst, Math.abs(expect[i] - before[i]) / (Math.abs(expect[i]) + 1));
  t.ok(worst < 1e-4, `prepared == plain up to float summation order (worst ${worst})`);
});

t.test('every kernel set multiplies by the same prepared bytes', async (t) => {
  const q = quantize(w, rows, cols, { format: 'q4_0' });
  const p = prepare(q);
  const ref = (() => {
    setIsa('scalar');
    return matmul(x, q);
  })();
  for (const isa of testedIsas()) {
    setIsa(isa);
    const y = matmul(x, p);
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref[i]) / (Math.abs(ref[i]) + 1));
    t.ok(worst < 1e-4, `${isa}: worst relative difference ${worst}`);
  }
  setIsa(initial);
});

t.test('dispose frees the memory; later use is a RangeError', async (t) => {
  const p = prepare(quantize(w, rows, cols, { bits: 4 }));
  t.ok(p.byteLength > 0);
  t.equal(p.disposed, false);
  p.dispose();
  t.equal(p.disposed, true);
  t.equal(p.byteLength, 0);
  p.dispose(); // twice is harmless
  t.throws(() => matmul(x, p), { name: 'RangeError', message: /matmul: w is a disposed PreparedMatrix/ });
  await t.rejects(matmulAsync(x, p), { name: 'RangeError', message: /disposed/ });
  t.throws(() => p.rows, { name: 'RangeError', message: /disposed/ });
});

t.test('in-flight matmulAsync calls survive dispose()', async (t) => {
  const big = randn(2048 * 1024, 5);
  const q = quantize(big, 2048, 1024, { bits: 4 });
  const xs = randn(64 * 1024, 6);
  const p = prepare(q);
  const expect = matmul(xs, p);
  const jobs = Array.from({ length: 8 }, () => matmulAsync(xs, p));
  p.dispose();
  (globalThis as { gc?: () => void }).gc?.();
  for (const y of await Promise.all(jobs)) t.ok(sameBytes(y, expect), 'the same product as before dispose()');
});

t.test('prepareAsync gives the same matrix as prepare', async (t) => {
  const q = quantize(w, rows, cols, { format: 'nvfp4' });
  const a = await prepareAsync({ ...q, data: q.data.slice(), scales: q.scales.slice() });
  const b = prepare(q);
  t.equal(a.layout, b.layout);
  t.equal(a.byteLength, b.byteLength);
  t.same(matmul(x, a), matmul(x, b));
  await t.rejects(prepareAsync({ ...q, data: q.data.subarray(1) }), { name: 'RangeError' });
});

t.test('bad input to prepare throws clearly', async (t) => {
  const q = quantize(w, rows, cols, { bits: 4 });
  t.throws(() => prepare(42 as unknown as QuantizedMatrix), { name: 'TypeError', message: /prepare: q/ });
  t.throws(() => prepare({ ...q, data: q.data.subarray(3) }), { name: 'RangeError', message: /prepare: q/ });
  t.throws(() => prepare({ ...q, scales: new Float32Array(q.scales.length).fill(NaN) }), { message: /prepare: q/ });
  t.throws(() => prepare(q, { activations: 'int4' as 'int8' }), { name: 'RangeError', message: /activations/ });
  t.throws(() => prepare(q, { speed: 1 } as object), { name: 'RangeError', message: /unknown option/ });
  t.throws(() => prepare(q, 'fast' as unknown as object), { name: 'TypeError', message: /options must be an object/ });
  const f8 = quantize(w, rows, cols, { format: 'fp8_e5m2' });
  t.throws(() => prepare(f8, { activations: 'int8' }), { name: 'RangeError', message: /no integer form/ });
  const p = prepare(q);
  t.throws(() => matmul(x, p, { activations: 'float' }), { name: 'RangeError', message: /differs from the prepared/ });
  t.throws(() => matmul(randn(cols + 1, 7), p), { name: 'RangeError', message: /x/ });
  const nan = x.slice();
  nan[3] = NaN;
  t.throws(() => matmul(nan, p), { name: 'RangeError', message: /NaN/ });
});

t.test('garbage collection frees prepared matrices that were never disposed', async (t) => {
  // A child with --expose-gc prepares 240 matrices of 2.1 MB each (500 MB if none were freed),
  // dropping each one; RSS must stay far below that. Node runs native finalizers after the
  // collection, once the event loop turns, hence the setImmediate.
  const { execFileSync } = await import('node:child_process');
  const script = `
    const l = require(${JSON.stringify(require.resolve('lowbit'))});
    const q = l.quantize(new Float32Array(2048 * 2048).map((_, i) => Math.sin(i)), 2048, 2048, { bits: 4 });
    (async () => {
      let peak = 0;
      for (let i = 0; i < 240; i++) {
        const p = l.prepare(q);
        if (p.byteLength < 2e6) throw new Error('unexpected size ' + p.byteLength);
        if (i % 20 === 19) {
          global.gc();
          await new Promise(setImmediate);
          peak = Math.max(peak, process.memoryUsage().rss);
        }
      }
      console.log(peak);
    })();`;
  const peak = Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }).trim());
  t.ok(peak < 300e6, `peak RSS ${(peak / 1e6).toFixed(0)} MB with 500 MB prepared in total`);
});
