// @ts-check
// One peers case, one library, one thread count, in its own process: prints { ms, err } as JSON.
'use strict';
const path = require('node:path');
const { model, FLOAT, UINT8 } = require('./onnx');

/** @type {{ c: import('./index').Case, lib: 'lowbit' | 'ort', threads: number }} */
const { c, lib, threads } = JSON.parse(process.argv[2]);
const lowbit = require('lowbit');

const { mulberry32: rng } = require('../../scripts/rng');
/**
 * Roughly normal values (sum of uniforms), scaled so chained layers keep their magnitude.
 * @param {number} n @param {number} seed @param {number} scale
 */
function gaussian(n, seed, scale) {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() + r() + r() + r() - 2) * 1.7320508 * scale;
  return out;
}

const { n, k, m, layers } = c;
const x = gaussian(m * k, 7, 1);
/** @type {{ w: Float32Array, q: import('lowbit').QuantizedMatrix | null, wd: Float32Array }[]} */
const mats = [];
for (let l = 0; l < layers; l++) {
  const w = gaussian(n * k, 100 + l, 1 / Math.sqrt(k));
  if (c.weights === 'fp32') {
    mats.push({ w, q: null, wd: w });
  } else {
    const q = lowbit.quantize(w, n, k, {
      bits: c.weights === 'int4' ? 4 : 8, groupSize: c.group, scheme: c.asym ? 'asymmetric' : 'symmetric',
    });
    mats.push({ w, q, wd: lowbit.dequantize(q) });
  }
}

/** float64 reference of the chain on a sample of outputs of the last layer (all of layer 1's inputs). */
function reference() {
  let cur = Float64Array.from(x), width = k;
  for (let l = 0; l < layers; l++) {
    const wd = mats[l].wd, last = l === layers - 1;
    const cols = last ? Math.min(n, 256) : n;
    const next = new Float64Array(m * cols);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let q = 0; q < width; q++) s += cur[i * width + q] * wd[j * width + q];
        next[i * cols + j] = s;
      }
    cur = next;
    width = cols;
  }
  return { y: cur, cols: Math.min(n, 256) };
}

/** Relative RMS error of y (m x n) on the reference's sample columns. @param {Float32Array} y */
function relError(y) {
  const ref = reference();
  let e = 0, r = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < ref.cols; j++) {
      const d = y[i * n + j] - ref.y[i * ref.cols + j];
      e += d * d;
      r += ref.y[i * ref.cols + j] ** 2;
    }
  return Math.sqrt(e / r);
}

/** Median ms of `fn` over about 2 s (at least 5 runs, after 3 warm-ups). @param {() => unknown} fn */
async function timeMedian(fn) {
  for (let i = 0; i < 3; i++) await fn();
  const t = [];
  const start = performance.now();
  while (t.length < 5 || (performance.now() - start < 2000 && t.length < 1000)) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

async function runLowbit() {
  lowbit.setThreads(threads);
  const ws = mats.map((mt) => (mt.q ? lowbit.prepare(mt.q) : null));
  const bufs = Array.from({ length: layers }, () => new Float32Array(m * n));
  const forward = () => {
    let cur = x;
    for (let l = 0; l < layers; l++) {
      const w = ws[l];
      if (w) lowbit.matmul(cur, w, { out: bufs[l] });
      else lowbit.matmulF32(cur, mats[l].w, n, k, bufs[l]);
      cur = bufs[l];
    }
    return cur;
  };
  const ms = await timeMedian(forward);
  return { ms, err: relError(forward()) };
}

async function runOrt() {
  const ort = require(path.join(__dirname, '.deps', 'node_modules', 'onnxruntime-node'));
  /** @type {Parameters<typeof model>[0]['nodes']} */
  const nodes = [];
  /** @type {Parameters<typeof model>[0]['initializers']} */
  const inits = [];
  for (let l = 0; l < layers; l++) {
    const inp = l === 0 ? 'x' : `y${l - 1}`, out = l === layers - 1 ? 'y' : `y${l}`;
    const q = mats[l].q;
    if (!q) {
      // MatMul wants B as [k, n].
      const w = mats[l].w, bt = new Float32Array(k * n);
      for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) bt[i * n + j] = w[j * k + i];
      inits.push([`w${l}`, FLOAT, [k, n], bt]);
      nodes.push({ op: 'MatMul', inputs: [inp, `w${l}`], outputs: [out] });
      continue;
    }
    // MatMulNBits' inputs from lowbit's matrix (lowbit.toMatMulNBits: the int4 nibbles interleaved, int8 as q ^ 0x80).
    const mb = lowbit.toMatMulNBits(q), bits = mb.bits;
    inits.push([`b${l}`, UINT8, [n, k / c.group, (c.group * bits) / 8], mb.B]);
    inits.push([`s${l}`, FLOAT, [n * (k / c.group)], /** @type {Float32Array} */ (mb.scales)]);
    const ins = [inp, `b${l}`, `s${l}`];
    if (mb.zeroPoints) {
      inits.push([`z${l}`, UINT8, [mb.zeroPoints.length], mb.zeroPoints]);
      ins.push(`z${l}`);
    }
    nodes.push({ op: 'MatMulNBits', domain: 'com.microsoft', inputs: ins, outputs: [out],
      attrs: { K: k, N: n, bits, block_size: c.group, accuracy_level: 4 } });
  }
  const bytes = model({ nodes, initializers: inits, input: ['x', [m, k]], output: ['y', [m, n]] });
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = { x: new ort.Tensor('float32', x, [m, k]) };
  const forward = async () => (await session.run(feeds)).y.data;
  const ms = await timeMedian(forward);
  return { ms, err: relError(/** @type {Float32Array} */ (await forward())) };
}

(lib === 'ort' ? runOrt() : runLowbit()).then((r) => console.log(JSON.stringify(r)));
