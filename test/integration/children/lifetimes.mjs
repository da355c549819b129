// Child process of test/lifetimes.ts: one scenario that used to crash the process, run `n` times.
// Usage: node --expose-gc test/children/lifetimes.mjs <scenario> <n>
// Prints one JSON line { outcomes: { [outcome]: count } } and exits 0 unless something is wrong.
// A crash (a signal, an abort) is what the parent looks for; wrong results throw.
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import * as lowbit from 'lowbit';
import rng from '../../../scripts/rng.js';

const { mulberry32 } = rng;

const { quantize, quantizeAsync, prepare, prepareAsync, matmul, matmulAsync, gptq, gptqAsync, awq, awqAsync, CalibrationStats } =
  lowbit;

const gc = globalThis.gc ?? (() => {});

function rand(n, seed) {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = u() * 2 - 1;
  return out;
}

// Detaches `buf` the way postMessage and structuredClone with a transfer list do; the new owner is
// dropped, so the memory is freed at the next collection.
function detach(buf) {
  structuredClone(buf, { transfer: [buf] });
  gc();
}

// A copy of typed array `a` in a plain ArrayBuffer the test owns (so it can be detached: lowbit's own
// buffers cannot be).
function foreign(a) {
  return new a.constructor(a);
}

// A copy of `a` in a resizable ArrayBuffer, and a function that shrinks it to nothing.
function resizable(a) {
  const buf = new ArrayBuffer(a.byteLength, { maxByteLength: a.byteLength });
  const v = new a.constructor(buf);
  v.set(a);
  return [v, () => buf.resize(0)];
}

function foreignMatrix(q) {
  return { ...q, data: foreign(q.data), scales: foreign(q.scales), zeros: q.zeros && foreign(q.zeros) };
}

function same(a, b, what) {
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

// Buffers of megabytes: freed ones are unmapped at once (glibc returns large blocks to the system), so a
// read after the free faults instead of quietly reading stale bytes.
const R = 2048, C = 512;
const W = rand(R * C, 1);
const X = rand(512 * C, 2);
const H = (() => {
  // H = 2 X^T X / n for 64 random rows, positive definite.
  const n = 64, x = rand(n * C, 3), h = new Float32Array(C * C);
  for (let r = 0; r < n; r++) for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) h[i * C + j] += (2 * x[r * C + i] * x[r * C + j]) / n;
  return h;
})();

const scenarios = {
  // The second crash: the input transferred while quantizeAsync reads it.
  async 'quantizeAsync: weights detached'() {
    const w = foreign(W);
    const p = quantizeAsync(w, R, C, { bits: 4 });
    detach(w.buffer);
    same((await p).data, quantize(W, R, C, { bits: 4 }).data, 'codes');
    return 'correct';
  },
  async 'quantizeAsync: weights resized to 0'() {
    const [w, shrink] = resizable(W);
    const p = quantizeAsync(w, R, C, { bits: 4 });
    shrink();
    same((await p).data, quantize(W, R, C, { bits: 4 }).data, 'codes');
    return 'correct';
  },
  // The third: prepareAsync(q), then q's buffer transferred.
  async 'prepareAsync: q.data detached'() {
    const q = foreignMatrix(quantize(W, R, C, { bits: 4 }));
    const p = prepareAsync(q);
    detach(q.data.buffer);
    same(matmul(X, await p), matmul(X, prepare(quantize(W, R, C, { bits: 4 }))), 'product');
    return 'correct';
  },
  async 'prepareAsync: q.data of lowbit memory, structuredClone with transfer'() {
    const q = quantize(W, R, C, { bits: 4 });
    const p = prepareAsync(q);
    // lowbit's buffers cannot be detached: the transfer copies them and q stays whole.
    structuredClone(q.data.buffer, { transfer: [q.data.buffer] });
    gc();
    if (q.data.length === 0) throw new Error('lowbit memory was detached');
    same(matmul(X, await p), matmul(X, prepare(q)), 'product');
    return 'correct';
  },
  async 'matmulAsync: x detached'() {
    const q = quantize(W, R, C, { bits: 4 });
    const x = foreign(X);
    const p = matmulAsync(x, q);
    detach(x.buffer);
    same(await p, matmul(X, q), 'product');
    return 'correct';
  },
  // The third: a resizable input shrunk to 0 mid-call.
  async 'matmulAsync: x resized to 0'() {
    const q = quantize(W, R, C, { bits: 4 });
    const [x, shrink] = resizable(X);
    const p = matmulAsync(x, q);
    shrink();
    same(await p, matmul(X, q), 'product');
    return 'correct';
  },
  async 'matmulAsync: w.data detached (plain matrix in user memory)'() {
    const q0 = quantize(W, R, C, { format: 'q8_0' });
    const q = foreignMatrix(q0);
    const p = matmulAsync(X, q);
    detach(q.data.buffer);
    same(await p, matmul(X, q0), 'product');
    return 'correct';
  },
  async 'matmulAsync: options.out detached'() {
    const q = quantize(W, R, C, { bits: 4 });
    const out = new Float32Array(512 * R);
    const p = matmulAsync(X, q, { out });
    detach(out.buffer);
    try {
      await p;
    } catch (e) {
      if (e instanceof TypeError && /options\.out was detached or shrunk/.test(e.message)) return 'TypeError';
      throw e;
    }
    throw new Error('a detached out resolved');
  },
  async 'matmulAsync: options.out resized to 0'() {
    const q = quantize(W, R, C, { bits: 4 });
    const [out, shrink] = resizable(new Float32Array(512 * R));
    const p = matmulAsync(X, q, { out });
    shrink();
    try {
      await p;
    } catch (e) {
      if (e instanceof TypeError && /options\.out was detached or shrunk/.test(e.message)) return 'TypeError';
      throw e;
    }
    throw new Error('a shrunk out resolved');
  },
  async 'matmulAsync: options.out in a SharedArrayBuffer'() {
    const q = quantize(W, R, C, { bits: 4 });
    const out = new Float32Array(new SharedArrayBuffer(512 * R * 4));
    same(await matmulAsync(X, q, { out }), matmul(X, q), 'product');
    return 'correct';
  },
  async 'gptqAsync: weights and hessian detached'() {
    const w = foreign(W), h = foreign(H);
    const p = gptqAsync(w, R, C, h, { bits: 4, groupSize: 128 });
    detach(w.buffer);
    detach(h.buffer);
    same((await p).matrix.data, gptq(W, R, C, H, { bits: 4, groupSize: 128 }).matrix.data, 'codes');
    return 'correct';
  },
  async 'awqAsync: weights and activations detached'() {
    const w = foreign(W), x = foreign(X);
    const p = awqAsync(w, R, C, x, { bits: 4, grid: 4 });
    detach(w.buffer);
    detach(x.buffer);
    same((await p).matrix.data, awq(W, R, C, X, { bits: 4, grid: 4 }).matrix.data, 'codes');
    return 'correct';
  },
  async 'CalibrationStats.addAsync: batch detached'() {
    const a = new CalibrationStats(C), b = new CalibrationStats(C);
    const x = foreign(X);
    const p = a.addAsync(x);
    detach(x.buffer);
    await p;
    b.add(X);
    same(a.hessian(), b.hessian(), 'Hessian');
    return 'correct';
  },
  // A getter that detaches a buffer already checked, during the synchronous argument checks.
  async 'matmul: a getter detaches x while the arguments are read'() {
    const q = quantize(W, R, C, { bits: 4 });
    for (const mm of [matmul, matmulAsync]) {
      const x = foreign(X);
      const opts = {
        get activations() {
          detach(x.buffer);
          return undefined;
        },
      };
      try {
        await mm(x, q, opts);
        throw new Error(`${mm.name} read a buffer detached by a getter`);
      } catch (e) {
        // matmul: the native checks see the getter run after x was checked; matmulAsync's wrapper
        // reads the options first, so the native call sees an empty x.
        const ok = mm === matmul
          ? e instanceof TypeError && /x was detached or resized while the arguments were read/.test(e.message)
          : e instanceof RangeError && /x\.length \(0\)/.test(e.message);
        if (!ok) throw e;
      }
    }
    return 'TypeError';
  },
};

// The first crash: a worker terminated while it awaits async calls (each entry point in turn).
const workerLoops = {
  quantizeAsync: () => quantizeAsync(W, R, C, { bits: 4 }),
  prepareAsync: (q) => prepareAsync(q),
  matmulAsync: (q) => matmulAsync(X, q),
  gptqAsync: () => gptqAsync(W, R, C, H, { bits: 4 }),
  awqAsync: () => awqAsync(W, R, C, X, { bits: 4, grid: 4 }),
  addAsync: (_q, stats) => stats.addAsync(X),
};
for (const name of Object.keys(workerLoops)) {
  scenarios[`worker terminated during ${name}`] = async (i) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { loop: name } });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    // Let it get into its calls, then pull the environment from under them at a varying moment.
    await new Promise((r) => setTimeout(r, 5 + (i % 7) * 3));
    await w.terminate();
    return 'terminated';
  };
}

// process.exit() with calls in flight: the process must exit with the code asked for.
scenarios['process.exit during matmulAsync'] = async () => 'see parent';

if (!isMainThread) {
  const q = quantize(W, R, C, { bits: 4 });
  const stats = new CalibrationStats(C);
  const run = workerLoops[workerData.loop];
  parentPort.postMessage('started');
  // Two calls in flight, one for addAsync (one at a time by contract: a second call would reject).
  const inFlight = workerData.loop === 'addAsync' ? 1 : 2;
  for (;;) await Promise.all(Array.from({ length: inFlight }, () => run(q, stats)));
} else {
  const [scenario, count] = [process.argv[2], Number(process.argv[3] ?? 1)];
  if (scenario === 'process.exit during matmulAsync') {
    const q = quantize(W, R, C, { bits: 4 });
    for (let i = 0; i < 8; i++) matmulAsync(X, q).catch(() => {});
    setImmediate(() => process.exit(7));
  } else {
    const fn = scenarios[scenario];
    if (!fn) throw new Error(`unknown scenario ${scenario}`);
    const outcomes = {};
    for (let i = 0; i < count; i++) {
      const o = await fn(i);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    console.log(JSON.stringify({ outcomes }));
  }
}
