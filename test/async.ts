// The async calls as users drive them: the event loop keeps turning, AbortSignal stops the native work
// promptly, onProgress keeps a steady cadence, `using` frees handles. Crash-safety (detached buffers,
// terminated workers) is test/lifetimes.ts.
import t from 'tap';
import {
  awqAsync,
  CalibrationStats,
  cpuInfo,
  gptqAsync,
  matmul,
  matmulAsync,
  measureMachineAsync,
  openGGUF,
  openSafetensors,
  prepare,
  prepareAsync,
  quantize,
  quantizeAsync,
  setThreads,
  writeGGUF,
  writeSafetensors,
  type PreparedMatrix,
  type QuantizedMatrix,
} from 'lowbit';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { randn, sameBytes, sameMatrix, tmpDir } from './helpers';

t.test('many concurrent calls, inputs dropped by the caller, all settle', async (t) => {
  const jobs: Promise<QuantizedMatrix>[] = [];
  for (let i = 0; i < 64; i++) {
    // The caller keeps no reference to the input: the call must.
    jobs.push(quantizeAsync(randn(64 * 128, i), 64, 128, { bits: 8, scheme: 'asymmetric', granularity: 'row' }));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const results = await Promise.all(jobs);
  const bad = results.filter((q, i) => !sameMatrix(q, quantize(randn(64 * 128, i), 64, 128, { bits: 8, scheme: 'asymmetric', granularity: 'row' })));
  t.equal(bad.length, 0, 'all 64 results equal the sync calls');
});

// Work that takes about a second or more on one core, so an abort lands mid-way.
const big = {
  rows: 2048,
  cols: 2048,
  w: randn(2048 * 2048, 5),
  x: randn(256 * 2048, 6),
  h: (() => {
    // A positive definite Hessian proxy without an O(n^3) product: a scaled identity plus noise on the diagonal band.
    const n = 2048, h = new Float32Array(n * n), r = randn(n, 7);
    for (let i = 0; i < n; i++) {
      h[i * n + i] = 4 + Math.abs(r[i]);
      if (i + 1 < n) h[i * n + i + 1] = h[(i + 1) * n + i] = 0.5;
    }
    return h;
  })(),
};

// 4096 x 4096 weights (K-quants take about a second on one core) and a 32768 x 4096 int4 matrix made of
// copies of a quantized 2048-row one (quantizing it whole would take longer than the test).
const w16 = randn(4096 * 4096, 8);
const tall = (() => {
  const q = quantize(big.w, big.rows, big.cols, { bits: 4 });
  const data = new Uint8Array(q.data.length * 16), scales = new Float32Array(q.scales.length * 16);
  for (let i = 0; i < 16; i++) {
    data.set(q.data, i * q.data.length);
    scales.set(q.scales as Float32Array, i * q.scales.length);
  }
  return { ...q, rows: q.rows * 16, data, scales, byteLength: data.byteLength + scales.byteLength };
})();

// Packing the tall matrix is the quickest of these calls (tens of milliseconds on two cores, less on more),
// so its abort comes after an eighth of a synchronous prepare's time rather than after 60 ms: either way
// the call is still running when the signal fires.
const prepareAbortMs = (() => {
  const t0 = performance.now();
  prepare(tall).dispose();
  return Math.min(60, Math.max(1, (performance.now() - t0) / 8));
})();

// The calls with a signal, each started on its own and aborted after 60 ms (prepareAsync: prepareAbortMs).
const abortable: Array<[string, (signal: AbortSignal) => Promise<unknown>, number?]> = [
  ['quantizeAsync', (signal) => quantizeAsync(w16, 4096, 4096, { format: 'q4_k', signal })],
  ['gptqAsync', (signal) => gptqAsync(big.w, big.rows, big.cols, big.h, { bits: 4, groupSize: 128, signal })],
  ['awqAsync', (signal) => awqAsync(big.w, big.rows, big.cols, big.x, { bits: 4, grid: 20, signal })],
  ['prepareAsync', (signal) => prepareAsync(tall, { signal }), prepareAbortMs],
  ['matmulAsync', (signal) => matmulAsync(randn(2048 * 2048, 10), quantize(big.w, big.rows, big.cols, { format: 'q8_0' }), { signal, activations: 'float' })],
];

// The promise must reject within this long of the abort. The native work checks between chunks of
// tens of milliseconds; the margin covers a loaded 2-vCPU CI machine.
const PROMPT_MS = 500;

for (const [name, start, delayMs = 60] of abortable) {
  t.test(`${name}: abort rejects with the signal's reason, promptly, and the next call runs`, async (t) => {
    const ac = new AbortController();
    const p = start(ac.signal);
    await new Promise((r) => setTimeout(r, delayMs));
    const t0 = performance.now();
    ac.abort();
    let err: unknown;
    try {
      await p;
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    // A call that finished before the abort resolves; none of these is that quick.
    t.ok(err instanceof DOMException && err.name === 'AbortError', `rejected with an AbortError (got ${String(err)})`);
    t.equal(err, ac.signal.reason, "it is the signal's reason");
    t.ok(ms < PROMPT_MS, `settled ${ms.toFixed(0)} ms after the abort (bound ${PROMPT_MS} ms)`);
    // The thread pool is free again: a small call completes.
    const q = await quantizeAsync(randn(64 * 64, 1), 64, 64, { bits: 4 });
    t.equal(q.rows, 64, 'a later call runs');
  });
}

t.test('an already aborted signal rejects at once with its reason; a custom reason passes through', async (t) => {
  const reason = new Error('stop');
  const signal = AbortSignal.abort(reason);
  await t.rejects(quantizeAsync(big.w, big.rows, big.cols, { bits: 4, signal }), reason);
  await t.rejects(gptqAsync(big.w, big.rows, big.cols, big.h, { bits: 4, signal }), reason);
  const ac = new AbortController();
  const p = awqAsync(big.w, big.rows, big.cols, big.x, { bits: 4, signal: ac.signal });
  ac.abort('because');
  await p.then(() => t.fail('resolved'), (e) => t.equal(e, 'because', 'a string reason is the rejection'));
  await t.rejects(quantizeAsync(big.w, big.rows, big.cols, { bits: 4, signal: {} as AbortSignal }), { name: 'TypeError', message: /options\.signal must be an AbortSignal/ });
  await t.rejects(quantizeAsync(big.w, big.rows, big.cols, { bits: 4, onProgress: 5 as never }), { name: 'TypeError', message: /options\.onProgress must be a function/ });
});

t.test('aborted calls free what they held', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const settle = () => new Promise((r) => setTimeout(r, 20));
  gc();
  await settle();
  const before = process.memoryUsage();
  for (let i = 0; i < 10; i++) {
    const ac = new AbortController();
    const p = quantizeAsync(big.w, big.rows, big.cols, { bits: 4, signal: ac.signal });
    ac.abort();
    await p.catch(() => {});
  }
  gc();
  await settle();
  const after = process.memoryUsage();
  // Each call held a 16 MiB copy of the weights and 2 MiB of outputs: ten leaked would be 180 MiB. The
  // copies' scratch blocks are reused (one is kept for the next call), so the growth stays under one.
  t.ok(after.rss - before.rss < 64 * 2 ** 20, `RSS grew ${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB over 10 aborted calls`);
});

// Longest wait between two onProgress calls while the work runs: the cadence asked for is ~100 ms.
async function cadence(run: (onProgress: (f: number) => void) => Promise<unknown>) {
  const calls: Array<[number, number]> = [];
  const t0 = performance.now();
  await run((f) => calls.push([performance.now() - t0, f]));
  let gap = 0;
  for (let i = 1; i < calls.length; i++) gap = Math.max(gap, calls[i][0] - calls[i - 1][0]);
  return { calls, gap, total: performance.now() - t0 };
}

const GAP_MS = 250;

for (const [name, run] of [
  ['gptqAsync', (onProgress: (f: number) => void) => gptqAsync(big.w, big.rows, big.cols, big.h, { bits: 4, groupSize: 128, onProgress })],
  ['awqAsync', (onProgress: (f: number) => void) => awqAsync(big.w, big.rows, big.cols, big.x, { bits: 4, grid: 8, onProgress })],
  ['quantizeAsync', (onProgress: (f: number) => void) => quantizeAsync(w16, 4096, 4096, { format: 'q4_k', onProgress })],
  ['prepareAsync', (onProgress: (f: number) => void) => prepareAsync(tall, { onProgress })],
] as const) {
  t.test(`${name}: onProgress from 0 to 1, non-decreasing, never silent for long`, async (t) => {
    const { calls, gap, total } = await cadence(run);
    const values = calls.map((c) => c[1]);
    t.equal(values[0], 0, 'starts at 0');
    t.equal(values[values.length - 1], 1, 'ends at 1');
    t.ok(values.every((v, i) => v >= 0 && v <= 1 && (i === 0 || v >= values[i - 1])), 'in [0, 1], non-decreasing');
    // Calls come every 50 ms while the fraction moves, so the longest gap is how long it stood still. The
    // bound allows for a loaded machine (test files run in parallel on two cores): 250 ms, or a sixth of
    // the whole when everything runs slower. Before progress was reported inside the factorization, GPTQ
    // stood at 0 for most of its first second.
    const bound = Math.max(GAP_MS, total / 6);
    t.ok(gap <= bound, `${calls.length} calls over ${total.toFixed(0)} ms, longest gap ${gap.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`);
  });
}

t.test('using: handles are disposed at the end of the block', async (t) => {
  const q = quantize(randn(64 * 256, 1), 64, 256, { format: 'q4_0' });
  let held: PreparedMatrix;
  {
    using p = prepare(q);
    held = p;
    t.equal(p.disposed, false);
    t.equal(matmul(randn(256, 2), p).length, 64);
  }
  t.equal(held.disposed, true, 'the PreparedMatrix was disposed');
  t.throws(() => matmul(randn(256, 2), held), { name: 'RangeError', message: /disposed/ });
  held[Symbol.dispose]();
  t.equal(held.disposed, true, 'disposing twice is fine');

  const dir = tmpDir('lowbit-using-');
  const g = path.join(dir, 'm.gguf');
  writeGGUF(g, { tensors: { w: q, v: { shape: [4], data: new Float32Array(4) } } });
  const s = path.join(dir, 'm.safetensors');
  writeSafetensors(s, { w: { shape: [4], data: new Float32Array(4) } });
  let gf, sf;
  {
    using f = openGGUF(g);
    using st = openSafetensors(s);
    gf = f;
    sf = st;
    t.equal(f.matrix('w').format, 'q4_0');
  }
  t.same([gf.closed, sf.closed], [true, true], 'both files were closed');
  t.equal(gf.bytes('w').length, q.data.length, 'a view handed out before close stays valid');
  t.throws(() => gf.bytes('v'), { name: 'LowbitFileError', code: 'CLOSED' }, 'a new view after close is an error');
});

t.test('CalibrationStats.addAsync: the same statistics as add, the state updated in place', async (t) => {
  const k = 1024;
  const a = new CalibrationStats(k), b = new CalibrationStats(k);
  const x = randn(2048 * k, 3);
  await a.addAsync(x);
  b.add(x);
  t.ok(sameBytes(a.hessian(), b.hessian()), 'the same Hessian as add');
  t.ok(a.count === b.count && sameBytes(a.absMax(), b.absMax()) && sameBytes(a.meanAbs(), b.meanAbs()), 'the same count, absMax and meanAbs');
});
