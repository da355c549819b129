// @ts-check
// `node bench/ab.js A.node B.node [gemv] [gemm] [--only text] [--activations int8|float]`: the GEMV and
// GEMM cases of `npm run bench` (bench/cases.js) on two builds of the addon loaded into one process, their
// calls alternated A B B A, so both builds see the same machine state: on a VM whose speed drifts by 20%
// between runs, separate runs cannot show a 5% change, adjacent calls can. Per case it prints each build's
// median time and the median of the per-pair ratios B / A (below 1: B is faster), and per suite their
// geometric mean. Each build quantizes (and prepares) its own copy of the weights, so builds with
// different byte layouts compare fairly. LOWBIT_ISA applies to both.
'use strict';
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { shapes, formats, signal } = require('./cases');
const { median, printTable } = require('./common');

/** @param {string} file */
function load(file) {
  const m = { exports: /** @type {any} */ ({}) };
  process.dlopen(m, path.resolve(file));
  return m.exports;
}

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.node'));
if (files.length !== 2) {
  console.error('usage: node bench/ab.js A.node B.node [gemv] [gemm] [--only text] [--activations int8|float]');
  process.exit(2);
}
const option = (/** @type {string} */ name) => (args.includes(name) ? args[args.indexOf(name) + 1] : '');
// --only: formats whose name contains the text; --activations: one mode (prepared matrices count as int8).
const only = option('--only');
const onlyActivations = option('--activations');
const suites = ['gemv', 'gemm'].filter((s) => args.includes(s));
const wanted = (/** @type {string} */ s) => suites.length === 0 || suites.includes(s);
const builds = files.map(load);
const [A, B] = builds;
const maxThreads = A.cpuInfo().threads;
const threadCounts = [...new Set([1, maxThreads])];
const setThreads = (/** @type {number} */ t) => builds.forEach((b) => b.setThreads(t));

/** @param {() => void} f  milliseconds of one call */
function time(f) {
  const s = performance.now();
  f();
  return performance.now() - s;
}

/**
 * Alternates fa and fb (A B, then B A) for at least `seconds` and 8 pairs; the medians and the median of
 * the per-pair ratios b / a.
 * @param {() => void} fa @param {() => void} fb @param {number} seconds
 */
function alternate(fa, fb, seconds) {
  fa();
  fb();
  const ta = [], tb = [], ratio = [];
  const t0 = performance.now();
  for (let i = 0; ta.length < 8 || (performance.now() - t0 < seconds * 1e3 && ta.length < 400); i++) {
    let a, b;
    if (i % 2 === 0) {
      a = time(fa);
      b = time(fb);
    } else {
      b = time(fb);
      a = time(fa);
    }
    ta.push(a);
    tb.push(b);
    ratio.push(b / a);
  }
  return { a: median(ta), b: median(tb), ratio: median(ratio), pairs: ta.length };
}

/**
 * Enough copies of q to stream 128 MiB per call round, so GEMV reads DRAM.
 * @param {import('lowbit').QuantizedMatrix} q
 */
function copies(q) {
  const n = Math.max(1, Math.ceil((128 * 2 ** 20) / q.byteLength));
  return Array.from({ length: n }, (_, i) =>
    i === 0 ? q : { ...q, data: q.data.slice(), scales: q.scales.slice(), zeros: q.zeros && q.zeros.slice() },
  );
}

/** @type {Record<string, (string | number)[][]>} */
const tables = { gemv: [], gemm: [] };
/** @param {string} suite @param {(string | number)[]} id @param {ReturnType<typeof alternate>} r */
function record(suite, id, r) {
  tables[suite].push([...id, r.a.toFixed(3), r.b.toFixed(3), r.ratio.toFixed(3), r.pairs]);
}
/** @param {string} text */
const included = (text) => !only || text.includes(only);
/** @param {any} build @param {any} q */
const activationModes = (build, q) =>
  (build.formats().find((/** @type {any} */ f) => f.format === q.format)?.activations ?? ['int8', 'float']).filter(
    (/** @type {string} */ a) => !onlyActivations || a === onlyActivations,
  );

function gemv() {
  for (const [n, k] of shapes) {
    const w = signal(n * k);
    const x = signal(k);
    for (const [name, opts] of formats) {
      if (!included(name)) continue;
      const qs = builds.map((b) => copies(b.quantize(w, n, k, opts)));
      const out = new Float32Array(n);
      // One call per build, each stepping through its own copies.
      const calls = (/** @type {(s: number, i: number) => void} */ f) => builds.map((_, s) => {
        let i = 0;
        return () => f(s, i++);
      });
      for (const act of activationModes(A, qs[0][0])) {
        for (const t of threadCounts) {
          setThreads(t);
          const [fa, fb] = calls((s, i) => builds[s].matmul(x, qs[s][i % qs[s].length], { out, activations: act }));
          record('gemv', [`${n}x${k}`, name, act, t], alternate(fa, fb, 0.5));
        }
      }
      if (activationModes(A, qs[0][0]).includes('int8')) {
        const ps = builds.map((b, s) => qs[s].map((q) => b.prepare(q)));
        if (ps[0][0].layout !== 'plain') {
          for (const t of threadCounts) {
            setThreads(t);
            const [fa, fb] = calls((s, i) => builds[s].matmul(x, ps[s][i % ps[s].length], { out }));
            record('gemv', [`${n}x${k}`, `${name} prepared`, 'int8', t], alternate(fa, fb, 0.5));
          }
        }
        for (const p of ps.flat()) p.dispose();
      }
    }
  }
}

function gemm() {
  for (const [n, k] of shapes) {
    const w = signal(n * k);
    for (const m of [8, 32, 128]) {
      const x = signal(m * k);
      const out = new Float32Array(m * n);
      for (const [name, opts, big] of formats) {
        if ((n * k > 4096 * 4096 && !big) || !included(name)) continue;
        const qs = builds.map((b) => b.quantize(w, n, k, opts));
        for (const act of activationModes(A, qs[0])) {
          for (const t of threadCounts) {
            setThreads(t);
            const r = alternate(() => A.matmul(x, qs[0], { out, activations: act }), () => B.matmul(x, qs[1], { out, activations: act }), 1);
            record('gemm', [`${n}x${k}`, m, name, act, t], r);
          }
        }
        if (activationModes(A, qs[0]).includes('int8')) {
          const ps = builds.map((b, s) => b.prepare(qs[s]));
          if (ps[0].layout !== 'plain') {
            for (const t of threadCounts) {
              setThreads(t);
              record('gemm', [`${n}x${k}`, m, `${name} prepared`, 'int8', t], alternate(() => A.matmul(x, ps[0], { out }), () => B.matmul(x, ps[1], { out }), 1));
            }
          }
          for (const p of ps) p.dispose();
        }
      }
    }
  }
}

/** @param {(string | number)[][]} rows */
const geomean = (rows) => Math.exp(rows.reduce((s, r) => s + Math.log(Number(r[r.length - 2])), 0) / rows.length);

console.log(`# A/B: A = ${files[0]}, B = ${files[1]}; kernels ${A.cpuInfo().isa}, node ${process.version}, ${new Date().toISOString()}`);
if (wanted('gemv')) {
  gemv();
  console.log(`\n## GEMV (m = 1, weights from DRAM): ms per call, B / A (median of alternated pairs); geometric mean ${geomean(tables.gemv).toFixed(3)}\n`);
  printTable(['shape', 'weights', 'activations', 'threads', 'A ms', 'B ms', 'B / A', 'pairs'], tables.gemv);
}
if (wanted('gemm')) {
  gemm();
  console.log(`\n## GEMM: ms per call, B / A (median of alternated pairs); geometric mean ${geomean(tables.gemm).toFixed(3)}\n`);
  printTable(['shape', 'm', 'weights', 'activations', 'threads', 'A ms', 'B ms', 'B / A', 'pairs'], tables.gemm);
}
