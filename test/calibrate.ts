// Calibration methods against an independent float64 NumPy reference (test/reference/calib_ref.py)
// and exact identities: statistics, SmoothQuant, GPTQ, AWQ, rotation, fake quantization.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  awq,
  awqAsync,
  CalibrationStats,
  dequantize,
  fakeQuantize,
  fakeQuantizeBackward,
  gptq,
  gptqAsync,
  matmul,
  matmulF32,
  maxToRms,
  quantize,
  rotate,
  smoothQuant,
  type GptqOptions,
  type QuantizedMatrix,
} from 'lowbit';
import { findPython, gaussian, nibbleAt, randn, rng, tmpDir, writeF32 } from './helpers';

const readF64 = (f: string) => {
  const b = fs.readFileSync(f);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
};
const readI64 = (f: string) => {
  const b = fs.readFileSync(f);
  return Array.from(new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8), Number);
};

/** Activations with correlated features (a rank-8 factor plus noise) and a few outlier channels (x20-x100). */
function activations(n: number, k: number, seed: number): Float32Array {
  const r = rng(seed);
  const mix = Float32Array.from({ length: 8 * k }, () => gaussian(r));
  const gain = Float32Array.from({ length: k }, (_, c) => (c % 61 === 7 ? 20 + 80 * r() : 1));
  const x = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: 8 }, () => gaussian(r));
    for (let c = 0; c < k; c++) {
      let v = 0.3 * gaussian(r);
      for (let j = 0; j < 8; j++) v += z[j] * mix[j * k + c] * 0.35;
      x[i * k + c] = v * gain[c];
    }
  }
  return x;
}

/** Signed integer codes (q before the +8 / zero-point storage offset) of an int matrix. */
function codes(q: QuantizedMatrix): number[] {
  const out: number[] = [];
  for (let r = 0; r < q.rows; r++) {
    for (let c = 0; c < q.cols; c++) {
      if (q.bits === 8) {
        const b = q.data[r * q.cols + c];
        out.push(q.scheme === 'symmetric' ? (b << 24) >> 24 : b);
      } else if (q.bits < 4) {
        // Each row a little-endian bit stream of 2- or 3-bit codes.
        const row = q.data.subarray(r * Math.ceil((q.cols * q.bits) / 8));
        let u = 0;
        for (let j = 0; j < q.bits; j++) u |= ((row[(c * q.bits + j) >> 3] >> ((c * q.bits + j) & 7)) & 1) << j;
        out.push(q.scheme === 'symmetric' ? u - (1 << (q.bits - 1)) : u);
      } else {
        const nib = nibbleAt(q.data, r * Math.ceil(q.cols / 2), q.cols, c);
        out.push(q.scheme === 'symmetric' ? nib - 8 : nib);
      }
    }
  }
  return out;
}

/** ||Y - Ŷ|| / ||Y|| with Y = x wᵀ (fp32 kernel) and Ŷ = matmul(x', q) on the float path. */
function outputError(x: Float32Array, w: Float32Array, rows: number, cols: number, q: QuantizedMatrix, xq = x): number {
  const y = matmulF32(x, w, rows, cols);
  const yh = matmul(xq, q, { activations: 'float' });
  let num = 0, den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (y[i] - yh[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const dir = tmpDir('lowbit-cal-');
const manifest: object[] = [];
const K = 256, ROWS = 24, N = 512;
const X = activations(N, K, 1);
const W = randn(ROWS * K, 2).map((v, i) => (i % 97 === 0 ? v * 8 : v));
writeF32(path.join(dir, 'st.x'), X);
manifest.push({ id: 'st', dir, kind: 'stats', n: N, k: K });

const stats = new CalibrationStats(K);
for (let i = 0; i < N; i += 100) stats.add(X.subarray(i * K, Math.min(N, i + 100) * K)); // batches of 100 (last 12)
const H = stats.hessian();

writeF32(path.join(dir, 'sm.w'), W);
writeF32(path.join(dir, 'sm.absmax'), stats.absMax());
manifest.push({ id: 'sm', dir, kind: 'smooth', rows: ROWS, cols: K, alpha: 0.5 });

const gptqCases: GptqOptions[] = [
  { bits: 4, groupSize: 32 },
  { bits: 4, scheme: 'asymmetric', groupSize: 64 },
  { bits: 8, granularity: 'row' },
  { bits: 4, granularity: 'tensor' },
  { bits: 4, groupSize: 32, actOrder: true },
  { bits: 4, scheme: 'asymmetric', groupSize: 128, actOrder: true, scaleType: 'float16' },
  { bits: 4, groupSize: 64, blockSize: 48 },
  { bits: 3, groupSize: 64 },
  { bits: 3, scheme: 'asymmetric', groupSize: 128, actOrder: true },
  { bits: 2, scheme: 'asymmetric', groupSize: 32 },
  { bits: 2, groupSize: 64, actOrder: true },
];
writeF32(path.join(dir, 'g.w'), W);
writeF32(path.join(dir, 'g.h'), H);
for (const [i, o] of gptqCases.entries()) {
  for (const ext of ['w', 'h']) fs.copyFileSync(path.join(dir, `g.${ext}`), path.join(dir, `g${i}.${ext}`));
  manifest.push({
    id: `g${i}`, dir, kind: 'gptq', rows: ROWS, cols: K, bits: o.bits, scheme: o.scheme ?? 'symmetric',
    granularity: o.granularity ?? 'group', groupSize: o.groupSize ?? 0, damp: 0.01, blockSize: o.blockSize ?? 128,
    actOrder: o.actOrder ?? false, scaleType: o.scaleType ?? 'float32',
  });
}
// Two inputs no calibration row touches (H's rows and columns 5 and 200 zero): dead columns.
const Hdead = H.map((v, i) => ([5, 200].includes(i % K) || [5, 200].includes(Math.floor(i / K)) ? 0 : v));
const deadCases: GptqOptions[] = [{ bits: 4, granularity: 'tensor' }, { bits: 4, groupSize: 32, actOrder: true }];
for (const [i, o] of deadCases.entries()) {
  writeF32(path.join(dir, `d${i}.w`), W);
  writeF32(path.join(dir, `d${i}.h`), Hdead);
  manifest.push({
    id: `d${i}`, dir, kind: 'gptq', rows: ROWS, cols: K, bits: o.bits, scheme: 'symmetric', granularity: o.granularity ?? 'group',
    groupSize: o.groupSize ?? 0, damp: 0.01, blockSize: 128, actOrder: o.actOrder ?? false, scaleType: 'float32',
  });
}
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
execFileSync(findPython(), [path.join(__dirname, 'reference', 'calib_ref.py'), path.join(dir, 'manifest.json')]);

t.test('CalibrationStats: absMax, meanAbs and H = 2 XᵀX / n over batches', async (t) => {
  t.equal(stats.count, N);
  t.same([...stats.absMax()], [...readF64(path.join(dir, 'st.absmax'))].map(Math.fround), 'absMax exactly');
  const mean = stats.meanAbs(), meanRef = readF64(path.join(dir, 'st.meanabs'));
  t.ok(mean.every((v, i) => Math.abs(v - meanRef[i]) <= 1e-6 * meanRef[i]), 'meanAbs (float64 sums)');
  // Each batch's XᵀX is a float32 sum of at most 100 products: within 100 * 2^-24 of sum |x_i x_j| each.
  const ref = readF64(path.join(dir, 'st.hessian')), mag = readF64(path.join(dir, 'st.hessianmag'));
  let worst = 0;
  for (let i = 0; i < H.length; i++) worst = Math.max(worst, Math.abs(H[i] - ref[i]) / (101 * 2 ** -24 * mag[i] + 1e-30));
  t.ok(worst <= 1, `hessian within its float32 bound (worst ${worst.toFixed(3)} of it)`);
  const again = new CalibrationStats(K);
  await again.addAsync(X.subarray(0, 300 * K));
  await again.addAsync(X.subarray(300 * K));
  t.equal(again.count, N);
  t.same([...again.absMax()], [...stats.absMax()], 'addAsync accumulates the same');
  t.throws(() => new CalibrationStats(K, { hessian: false }).hessian(), RangeError);
  t.throws(() => stats.add(X.subarray(0, 10)), { constructor: RangeError, message: /batch.length \(10\) must be a positive multiple of inFeatures \(256\)/ });
  t.throws(() => stats.add(Float32Array.from(X.subarray(0, K), (v, i) => (i === 3 ? NaN : v))), { constructor: RangeError, message: /batch\[3\] is NaN/ });
  t.throws(() => new CalibrationStats(0), RangeError);
});

t.test('smoothQuant: factors as defined, and X Wᵀ preserved in float', async (t) => {
  const { weights, factors } = smoothQuant(W, ROWS, K, stats.absMax(), 0.5);
  const ref = readF64(path.join(dir, 'sm.factors'));
  t.ok(factors.every((v, i) => Math.abs(v - ref[i]) <= 2 ** -23 * ref[i]), 'factors within one float32 rounding');
  t.ok(weights.every((v, i) => v === Math.fround(W[i] * factors[i % K])), 'weights = W diag(s)');
  const xs = X.map((v, i) => v / factors[i % K]);
  const y = matmulF32(X, W, ROWS, K), ys = matmulF32(xs, weights, ROWS, K);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < ROWS; j++) {
      let mag = 0;
      for (let c = 0; c < K; c++) mag += Math.abs(X[i * K + c] * W[j * K + c]);
      // Two roundings per product (x / s, w * s) and two fp32 sums of K terms.
      worst = Math.max(worst, Math.abs(y[i * ROWS + j] - ys[i * ROWS + j]) / ((2 * K + 4) * 2 ** -24 * mag));
    }
  }
  t.ok(worst <= 1, `X Wᵀ preserved (worst ${worst.toFixed(3)} of the bound)`);
  // W8A8: smoothing moves the outliers, so int8 activations lose less.
  const errPlain = outputError(X, W, ROWS, K, quantize(W, ROWS, K, { bits: 8, granularity: 'row' }), X);
  const q = quantize(weights, ROWS, K, { bits: 8, granularity: 'row' });
  const y8 = matmul(xs, q, { activations: 'int8' }), y8p = matmul(X, quantize(W, ROWS, K, { bits: 8, granularity: 'row' }), { activations: 'int8' });
  const rel = (a: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / y.reduce((s, v) => s + v * v, 0));
  t.ok(rel(y8) < rel(y8p), `W8A8 error ${rel(y8).toFixed(4)} with smoothing < ${rel(y8p).toFixed(4)} without`);
  t.ok(errPlain < 0.05);
  t.throws(() => smoothQuant(W, ROWS, K, stats.absMax(), 1.5), { constructor: RangeError, message: /alpha must be in \[0, 1\]/ });
  t.throws(() => smoothQuant(W, ROWS, K, stats.absMax().subarray(1)), { constructor: RangeError, message: /activationAbsMax.length \(255\)/ });
});

t.test('gptq: against the float64 NumPy GPTQ', async (t) => {
  for (const [i, o] of gptqCases.entries()) {
    const res = gptq(W, ROWS, K, H, o);
    t.equal(res.retries, 0);
    const ref = readI64(path.join(dir, `g${i}.codes`));
    const got = codes(res.matrix);
    const agree = got.filter((c, j) => c === ref[j]).length / got.length;
    // float32 vs float64 arithmetic flips a few codes sitting on a rounding boundary, and the error
    // feedback then nudges later columns; the output error must match closely.
    const deqRef = readF64(path.join(dir, `g${i}.deq`));
    const errLow = outputError(X, W, ROWS, K, res.matrix);
    let num = 0, den = 0;
    const y = matmulF32(X, W, ROWS, K), yr = matmulF32(X, Float32Array.from(deqRef), ROWS, K);
    for (let j = 0; j < y.length; j++) {
      num += (y[j] - yr[j]) ** 2;
      den += y[j] ** 2;
    }
    const errRef = Math.sqrt(num / den);
    t.ok(agree >= 0.98, `${JSON.stringify(o)}: ${(100 * agree).toFixed(2)}% of codes equal`);
    t.ok(Math.abs(errLow - errRef) <= 0.03 * errRef, `${JSON.stringify(o)}: output error ${errLow.toFixed(5)} vs reference ${errRef.toFixed(5)}`);
    const { actOrder: _a, blockSize: _b, ...qo } = o;
    const rtn = outputError(X, W, ROWS, K, quantize(W, ROWS, K, qo));
    t.ok(errLow < rtn, `${JSON.stringify(o)}: GPTQ ${errLow.toFixed(4)} below RTN ${rtn.toFixed(4)}`);
  }
});

t.test('gptq: inputs the calibration never touched quantize to zero, as in the reference', async (t) => {
  for (const [i, o] of deadCases.entries()) {
    const res = gptq(W, ROWS, K, Hdead, o);
    const got = codes(res.matrix), ref = readI64(path.join(dir, `d${i}.codes`));
    t.same(got, ref, `${JSON.stringify(o)}: every code equal`);
    const deq = dequantize(res.matrix);
    t.ok([5, 200].every((c) => Array.from({ length: ROWS }, (_, r) => deq[r * K + c]).every((v) => v === 0)), 'dead columns are zero');
  }
});

t.test('gptq: huge dampening degenerates to round-to-nearest', async (t) => {
  for (const o of [{ bits: 4, groupSize: 32 }, { bits: 4, scheme: 'asymmetric', granularity: 'row' }, { bits: 8, granularity: 'tensor' }] as GptqOptions[]) {
    const g = gptq(W, ROWS, K, H, { ...o, damp: 1e9 }).matrix, r = quantize(W, ROWS, K, o);
    t.same([...g.data], [...r.data], `${JSON.stringify(o)}: codes`);
    t.same([...g.scales], [...r.scales], `${JSON.stringify(o)}: scales`);
  }
});

t.test('gptq: a Hessian that is not positive definite is retried with more dampening', async (t) => {
  // H minus 3 mean(diag H) v vᵀ (|v| = 1): indefinite until λ exceeds about 2 mean(diag H).
  const Hbad = H.slice();
  const v = randn(K, 9);
  const nv = Math.hypot(...v);
  let mean = 0;
  for (let i = 0; i < K; i++) mean += H[i * K + i] / K;
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) Hbad[i * K + j] -= (3 * mean * v[i] * v[j]) / (nv * nv);
  for (let i = 0; i < K; i++) Hbad[i * K + i] = Math.max(Hbad[i * K + i], 1e-3);
  let meanBad = 0;
  for (let i = 0; i < K; i++) meanBad += Hbad[i * K + i] / K;
  const res = gptq(W, ROWS, K, Hbad, { bits: 4 });
  t.ok(res.retries >= 2 && res.retries <= 4, `retried ${res.retries} times, λ = ${res.lambda.toExponential(2)}`);
  t.ok(Math.abs(res.lambda - 0.01 * meanBad * 10 ** res.retries) <= 1e-6 * res.lambda, 'λ = damp mean(diag H) 10^retries');
  t.ok(outputError(X, W, ROWS, K, res.matrix) < 1, 'and still quantizes');
  t.throws(() => gptq(W, ROWS, K, H.map((x, i) => (i === 0 ? -1 : x)), { bits: 4 }), { constructor: RangeError, message: /hessian\[0, 0\] is negative/ });
  t.throws(() => gptq(W, ROWS, K, H.subarray(1), { bits: 4 }), { constructor: RangeError, message: /hessian.length \(65535\) must be 256 \* 256/ });
  t.throws(() => gptq(W, ROWS, K, H, { bits: 4, granularity: 'column' }), { constructor: RangeError, message: /granularity 'column'/ });
  t.throws(() => gptq(W, ROWS, K, H, { format: 'nf4' }), { constructor: RangeError, message: /options.format must be 'int'/ });
  t.throws(() => gptq(W, ROWS, K, H, { bits: 4, damp: -1 }), { constructor: RangeError, message: /options.damp must be in/ });
  t.throws(() => gptq(W.map((x, i) => (i === 5 ? Infinity : x)), ROWS, K, H, { bits: 4 }), { constructor: RangeError, message: /weights\[5\] is Infinity/ });
});

t.test('gptqAsync: same result, progress reported', async (t) => {
  const fractions: number[] = [];
  const big = 64;
  const Wb = randn(big * 1024, 4), Xb = activations(600, 1024, 5);
  const Hb = new CalibrationStats(1024).add(Xb).hessian();
  const a = await gptqAsync(Wb, big, 1024, Hb, { bits: 4, groupSize: 128, onProgress: (f) => fractions.push(f) });
  const s = gptq(Wb, big, 1024, Hb, { bits: 4, groupSize: 128 });
  t.same([...a.matrix.data], [...s.matrix.data], 'async equals sync');
  t.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), `progress ${fractions.map((f) => f.toFixed(2)).join(' ')}`);
  await t.rejects(gptqAsync(W, ROWS, K, H, { bits: 4, onProgress: 5 as never }), { constructor: TypeError, message: /onProgress must be a function/ });
});

t.test('awq: alpha = 0 is RTN, the chosen alpha minimises the grid error, clipping helps', async (t) => {
  for (const o of [{ bits: 4, groupSize: 32 }, { bits: 4, scheme: 'asymmetric', groupSize: 128 }, { bits: 3, groupSize: 64 },
    { bits: 2, scheme: 'asymmetric', groupSize: 64 }] as const) {
    const rtn = quantize(W, ROWS, K, o);
    const a0 = awq(W, ROWS, K, X, { ...o, grid: 1 });
    t.equal(a0.alpha, 0);
    t.ok(a0.inputScales.every((s) => s === 1), 'alpha 0: unit scales');
    t.same([...a0.matrix.data], [...rtn.data], 'alpha 0: the RTN codes');
    const a = awq(W, ROWS, K, X, o);
    t.equal(a.gridErrors.length, 20);
    const best = Math.min(...a.gridErrors);
    t.equal(a.gridErrors[Math.round(a.alpha * 20)], best, `alpha ${a.alpha} has the smallest grid error`);
    const xs = X.map((v, i) => v / a.inputScales[i % K]);
    const eA = outputError(X, W, ROWS, K, a.matrix, xs), eR = outputError(X, W, ROWS, K, rtn);
    t.ok(eA <= eR, `${JSON.stringify(o)}: AWQ ${eA.toFixed(4)} <= RTN ${eR.toFixed(4)}`);
    // gridErrors[0] is RTN's squared error on the calibration batch.
    const y = matmulF32(X, W, ROWS, K), yr = matmul(X, rtn, { activations: 'float' });
    const e0 = y.reduce((s, v, i) => s + (v - yr[i]) ** 2, 0);
    t.ok(Math.abs(a.gridErrors[0] - e0) <= 1e-9 * e0 + 1e-3, 'gridErrors[0] is RTN\'s squared output error');
    const c = awq(W, ROWS, K, X, { ...o, clipSearch: true });
    const xc = X.map((v, i) => v / c.inputScales[i % K]);
    const eC = outputError(X, W, ROWS, K, c.matrix, xc);
    t.ok(eC <= eA * 1.02, `clip search ${eC.toFixed(4)} vs ${eA.toFixed(4)}`);
  }
  const fr: number[] = [];
  const as = await awqAsync(W, ROWS, K, X, { bits: 4, onProgress: (f) => fr.push(f) });
  t.equal(as.alpha, awq(W, ROWS, K, X, { bits: 4 }).alpha, 'awqAsync matches');
  t.throws(() => awq(W, ROWS, K, X.subarray(5), { bits: 4 }), { constructor: RangeError, message: /activations.length/ });
  t.throws(() => awq(W, ROWS, K, X, { format: 'nf4', clipSearch: true }), { constructor: RangeError, message: /clipSearch needs format 'int'/ });
});

t.test('rotate: orthogonal, preserves products, flattens outliers', async (t) => {
  for (const [n, kind] of [[256, 'hadamard 256'], [192, 'hadamard paley 12 (x) 16'], [344, 'block-diagonal hadamard 43 x 8']] as const) {
    const I = new Float32Array(n * n);
    for (let i = 0; i < n; i++) I[i * n + i] = 1;
    const R = rotate(I, n, n, 7);
    t.equal(R.kind, kind);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let q = 0; q < n; q++) d += R.data[i * n + q] * R.data[j * n + q];
        worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
      }
    }
    t.ok(worst < 1e-5, `n=${n}: R Rᵀ = I within ${worst.toExponential(2)}`);
  }
  const rw = rotate(W, ROWS, K, 3), rx = rotate(X, N, K, 3);
  const y = matmulF32(X, W, ROWS, K), yr = matmulF32(rx.data, rw.data, ROWS, K);
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    let mag = 0;
    const r = Math.floor(i / ROWS), c = i % ROWS;
    for (let q = 0; q < K; q++) mag += Math.abs(X[r * K + q]) * Math.abs(W[c * K + q]);
    worst = Math.max(worst, Math.abs(y[i] - yr[i]) / mag);
  }
  t.ok(worst < 1e-5, `X Wᵀ preserved to ${worst.toExponential(2)} of sum |x w|`);
  t.ok(maxToRms(rx.data) < maxToRms(X) / 2, `max/RMS of X ${maxToRms(X).toFixed(1)} -> ${maxToRms(rx.data).toFixed(1)}`);
  t.not(rotate(W, ROWS, K, 4).data[0], rw.data[0], 'the seed changes the signs');
  t.throws(() => rotate(W, ROWS, K, -1), { constructor: RangeError, message: /seed must be a non-negative safe integer/ });
});

t.test('fakeQuantize / fakeQuantizeBackward: the STE', async (t) => {
  const { values, q } = fakeQuantize(W, ROWS, K, { bits: 4, groupSize: 32 });
  t.same([...values], [...dequantize(quantize(W, ROWS, K, { bits: 4, groupSize: 32 }))]);
  // Move some weights past their group's range: their gradient must vanish.
  const w2 = W.map((v, i) => (i % 11 === 0 ? v * 3 : v));
  const grad = randn(W.length, 8);
  const g = fakeQuantizeBackward(w2, q, grad);
  const s = q.scales as Float32Array;
  let wrong = 0;
  for (let i = 0; i < W.length; i++) {
    const sc = s[Math.floor(i / K) * (K / 32) + Math.floor((i % K) / 32)];
    const inside = w2[i] >= Math.fround(sc * -8) && w2[i] <= Math.fround(sc * 7);
    if (g[i] !== (inside ? grad[i] : 0)) wrong++;
  }
  t.equal(wrong, 0, 'gradient passed inside [s qmin, s qmax], zero outside');
  t.ok(g.some((v) => v === 0) && g.some((v) => v !== 0));
  t.throws(() => fakeQuantizeBackward(W, quantize(W, ROWS, K, { format: 'q4_0' }), grad), { constructor: RangeError, message: /q.format must be 'int'/ });
  // 2 bits, asymmetric rows: the range is [s (0 - z), s (3 - z)].
  const q2 = fakeQuantize(W, ROWS, K, { bits: 2, scheme: 'asymmetric', granularity: 'row' }).q;
  const g2 = fakeQuantizeBackward(w2, q2, grad);
  let wrong2 = 0;
  for (let i = 0; i < W.length; i++) {
    const r = Math.floor(i / K), sc = (q2.scales as Float32Array)[r], z = q2.zeros![r];
    const inside = w2[i] >= Math.fround(sc * (0 - z)) && w2[i] <= Math.fround(sc * (3 - z));
    if (g2[i] !== (inside ? grad[i] : 0)) wrong2++;
  }
  t.equal(wrong2, 0, '2-bit asymmetric rows: gradient inside [s (0 - z), s (3 - z)] only');
});
