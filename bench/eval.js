// @ts-check
// `npm run eval [-- 4096x4096 ...]`: calibration methods on synthetic but realistic layers.
// Weights: heavy-tailed (a Gaussian scale mixture). Activations: correlated features (a random
// rank-32 factor plus a diagonal) and a few outlier channels scaled x20-x100, as in the seed.
// 512 calibration rows, 512 held-out rows; the table reports the held-out relative output error
// ||X Wᵀ - X Ŵᵀ|| / ||X Wᵀ|| and the time each method took.
'use strict';
const lowbit = require('lowbit');
const { printTable } = require('./common');
const { gaussian, mulberry32 } = require('../scripts/rng');

const CAL = 512, EVAL = 512;

/** @param {number} seed */
function prng(seed) {
  const u = mulberry32(seed);
  return { u, g: () => gaussian(u) };
}

/** @param {number} rows @param {number} cols */
function weights(rows, cols) {
  const { g } = prng(rows * 31 + cols);
  return Float32Array.from({ length: rows * cols }, () => 0.02 * g() * Math.exp(0.8 * g()));
}

/** @param {number} n @param {number} k */
function activations(n, k) {
  const { g, u } = prng(k * 17 + 3);
  const rank = 32;
  const mix = Float32Array.from({ length: rank * k }, () => g() / Math.sqrt(rank));
  const diag = Float32Array.from({ length: k }, () => 0.3 + 0.4 * u());
  const gain = Float32Array.from({ length: k }, () => (u() < 0.005 ? 20 + 80 * u() : 1));
  const x = new Float32Array(n * k);
  const z = new Float32Array(rank);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < rank; j++) z[j] = g();
    for (let c = 0; c < k; c++) {
      let v = diag[c] * g();
      for (let j = 0; j < rank; j++) v += z[j] * mix[j * k + c];
      x[i * k + c] = v * gain[c];
    }
  }
  return x;
}

/** @template T @param {() => T} fn @returns {[T, number]} */
function timed(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

/** @param {Float32Array} y @param {Float32Array} yh */
function relErr(y, yh) {
  let num = 0, den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (y[i] - yh[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** @param {Float32Array} x @param {Float32Array} s @param {number} k */
const divideColumns = (x, s, k) => x.map((v, i) => v / s[i % k]);

/** @param {number} rows @param {number} cols */
function evaluate(rows, cols) {
  console.log(`\n## ${rows}x${cols} (out x in), ${CAL} calibration rows, ${EVAL} held-out rows\n`);
  const W = weights(rows, cols);
  const X = activations(CAL + EVAL, cols);
  const Xc = X.subarray(0, CAL * cols), Xe = X.subarray(CAL * cols);
  const Y = lowbit.matmulF32(Xe, W, rows, cols);
  const [stats, tStats] = timed(() => new lowbit.CalibrationStats(cols).add(Xc));
  const [H, tH] = timed(() => stats.hessian());
  const seed = 1;
  const [rot, tRot] = timed(() => ({ w: lowbit.rotate(W, rows, cols, seed), xc: lowbit.rotate(Xc, CAL, cols, seed), xe: lowbit.rotate(Xe, EVAL, cols, seed) }));
  const [Hr, tHr] = timed(() => new lowbit.CalibrationStats(cols).add(rot.xc.data).hessian());
  console.log(`statistics + H: ${(tStats + tH).toFixed(1)} s; rotation (${rot.w.kind}) of W and X: ${tRot.toFixed(1)} s, ` +
    `its H ${tHr.toFixed(1)} s; max/RMS of X ${lowbit.maxToRms(Xe).toFixed(1)} -> ${lowbit.maxToRms(rot.xe.data).toFixed(1)}, ` +
    `of W ${lowbit.maxToRms(W).toFixed(1)} -> ${lowbit.maxToRms(rot.w.data).toFixed(1)}\n`);

  /** @type {(string|number)[][]} */
  const table = [];
  /** @type {import('lowbit').QuantizeOptions[]} */
  const configs = [
    { bits: 4, groupSize: 128 },
    { bits: 4, groupSize: 128, scheme: 'asymmetric' },
    { bits: 4, groupSize: 32 },
    { bits: 4, groupSize: 32, scheme: 'asymmetric' },
    // Below 4 bits: about 3.6 and 2.6 bits a weight with their fp32 scales and zero-points.
    { bits: 3, groupSize: 64, scheme: 'asymmetric' },
    { bits: 2, groupSize: 64, scheme: 'asymmetric' },
    { bits: 2, groupSize: 32, scheme: 'asymmetric' },
  ];
  for (const o of configs) {
    const name = `INT${o.bits} g${o.groupSize} ${o.scheme === 'asymmetric' ? 'asym' : 'sym'}`;
    /** @param {string} method @param {number} err @param {number} secs */
    const row = (method, err, secs) => table.push([name, method, err.toFixed(4), secs.toFixed(1)]);
    const fl = /** @type {const} */ ({ activations: 'float' });

    const [rtn, tR] = timed(() => lowbit.quantize(W, rows, cols, o));
    row('RTN', relErr(Y, lowbit.matmul(Xe, rtn, fl)), tR);
    row('RTN, int8 activations', relErr(Y, lowbit.matmul(Xe, rtn)), tR);
    const [sq, tS] = timed(() => {
      const s = lowbit.smoothQuant(W, rows, cols, stats.absMax(), 0.5);
      return { s, q: lowbit.quantize(s.weights, rows, cols, o) };
    });
    row('SmoothQuant a=0.5, int8 activations', relErr(Y, lowbit.matmul(divideColumns(Xe, sq.s.factors, cols), sq.q)), tS);
    const [aw, tA] = timed(() => lowbit.awq(W, rows, cols, Xc, o));
    row(`AWQ (alpha ${aw.alpha.toFixed(2)})`, relErr(Y, lowbit.matmul(divideColumns(Xe, aw.inputScales, cols), aw.matrix, fl)), tA);
    const [awc, tAc] = timed(() => lowbit.awq(W, rows, cols, Xc, { ...o, clipSearch: true }));
    row(`AWQ + clip search (alpha ${awc.alpha.toFixed(2)})`, relErr(Y, lowbit.matmul(divideColumns(Xe, awc.inputScales, cols), awc.matrix, fl)), tAc);
    const [g, tG] = timed(() => lowbit.gptq(W, rows, cols, H, o));
    row('GPTQ', relErr(Y, lowbit.matmul(Xe, g.matrix, fl)), tG);
    const [ga, tGa] = timed(() => lowbit.gptq(W, rows, cols, H, { ...o, actOrder: true }));
    row('GPTQ + act-order', relErr(Y, lowbit.matmul(Xe, ga.matrix, fl)), tGa);
    const [rr, tRr] = timed(() => lowbit.quantize(rot.w.data, rows, cols, o));
    row('rotation + RTN', relErr(Y, lowbit.matmul(rot.xe.data, rr, fl)), tRot + tRr);
    const [rg, tRg] = timed(() => lowbit.gptq(rot.w.data, rows, cols, Hr, o));
    row('rotation + GPTQ', relErr(Y, lowbit.matmul(rot.xe.data, rg.matrix, fl)), tRot + tHr + tRg);
  }
  printTable(['weights', 'method', 'held-out rel. output error', 'seconds'], table);

  // W8A8: per-row int8 weights, int8 activations, with and without smoothing.
  const w8 = lowbit.quantize(W, rows, cols, { bits: 8, granularity: 'row' });
  const s = lowbit.smoothQuant(W, rows, cols, stats.absMax(), 0.5);
  const w8s = lowbit.quantize(s.weights, rows, cols, { bits: 8, granularity: 'row' });
  console.log(`\nW8A8 (per-row int8 weights, int8 activations): RTN ${relErr(Y, lowbit.matmul(Xe, w8)).toFixed(4)}, ` +
    `SmoothQuant ${relErr(Y, lowbit.matmul(divideColumns(Xe, s.factors, cols), w8s)).toFixed(4)}`);
}

const wanted = process.argv.slice(2);
const shapes = [[4096, 4096], [4096, 11008]].filter(([r, c]) => wanted.length === 0 || wanted.includes(`${r}x${c}`));
const info = lowbit.cpuInfo();
console.log(`# lowbit calibration evaluation: kernels ${info.isa}, ${info.threads} threads, node ${process.version}`);
for (const [r, c] of shapes) evaluate(r, c);
