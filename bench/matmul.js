// @ts-check
// GEMV (m = 1) and GEMM (m = 8, 32, 128) next to the limits of the machine they run on.
// GEMV cycles through copies of the weights totalling >= 256 MiB so they stream from DRAM,
// and counts the bytes actually read (data + scales + zero-points).
'use strict';
const lowbit = require('lowbit');
const { timeIt, printTable } = require('./common');
const { shapes, formats, signal } = require('./cases');

/** @param {import('lowbit').QuantizedMatrix} q */
const activationModes = (q) => lowbit.formats().find((f) => f.format === q.format)?.activations ?? ['int8', 'float'];
const maxThreads = lowbit.cpuInfo().threads;
const threadCounts = [...new Set([1, maxThreads])];

function limits() {
  /** @type {Record<number, {bw: number, fma: number, dot: number}>} */
  const out = {};
  for (const t of threadCounts) {
    lowbit.setThreads(t);
    out[t] = { bw: lowbit.probe('bandwidth', 1 << 30), fma: lowbit.probe('fma'), dot: lowbit.probe('dot') };
  }
  lowbit.setThreads(maxThreads);
  return out;
}

/** @param {ReturnType<typeof limits>} lim */
function printLimits(lim) {
  console.log(`\n## Machine limits (kernel set ${lowbit.cpuInfo().isa}), median of 5\n`);
  printTable(
    ['threads', 'read GB/s (1 GiB)', 'fp32 FMA GFLOP/s', 'int8 dot GOP/s'],
    threadCounts.map((t) => [t, lim[t].bw.toFixed(1), lim[t].fma.toFixed(0), lim[t].dot.toFixed(0)]),
  );
}

/** @param {import('lowbit').QuantizedMatrix} q */
function copies(q) {
  const n = Math.max(1, Math.ceil((256 * 2 ** 20) / q.byteLength));
  return Array.from({ length: n }, (_, i) =>
    i === 0 ? q : { ...q, data: q.data.slice(), scales: q.scales.slice(), zeros: q.zeros && q.zeros.slice() },
  );
}

/** @param {ReturnType<typeof limits>} lim */
function gemv(lim) {
  const rows = [];
  for (const [n, k] of shapes) {
    const w = signal(n * k);
    const x = signal(k);
    for (const [name, opts] of formats) {
      const qs = copies(lowbit.quantize(w, n, k, opts));
      const bytes = qs[0].byteLength;
      for (const act of activationModes(qs[0])) {
        for (const t of threadCounts) {
          lowbit.setThreads(t);
          const out = new Float32Array(n);
          let i = 0;
          const s = timeIt(`gemv ${name}`, () => lowbit.matmul(x, qs[i++ % qs.length], { out, activations: act }));
          const gbs = bytes / s / 1e9;
          rows.push([`${n}x${k}`, name, act, t, (s * 1e3).toFixed(3), gbs.toFixed(1), `${((100 * gbs) / lim[t].bw).toFixed(0)}%`]);
        }
      }
      // Prepared (packed) copies of the same weights; GB/s counts the QuantizedMatrix's bytes, so rows compare.
      if (activationModes(qs[0]).includes('int8')) {
        const ps = qs.map((q) => lowbit.prepare(q));
        for (const t of ps[0].layout === 'plain' ? [] : threadCounts) {
          lowbit.setThreads(t);
          const out = new Float32Array(n);
          let i = 0;
          const s = timeIt(`gemv prepared ${name}`, () => lowbit.matmul(x, ps[i++ % ps.length], { out }));
          const gbs = bytes / s / 1e9;
          rows.push([`${n}x${k}`, `${name} prepared`, 'int8', t, (s * 1e3).toFixed(3), gbs.toFixed(1), `${((100 * gbs) / lim[t].bw).toFixed(0)}%`]);
        }
        for (const p of ps) p.dispose();
      }
    }
    // fp32 baseline: 4 bytes per weight, already far beyond the L3 cache.
    for (const t of threadCounts) {
      lowbit.setThreads(t);
      const out = new Float32Array(n);
      const s = timeIt('gemv fp32', () => lowbit.matmulF32(x, w, n, k, out));
      const gbs = (w.byteLength / s) / 1e9;
      rows.push([`${n}x${k}`, 'fp32', 'float', t, (s * 1e3).toFixed(3), gbs.toFixed(1), `${((100 * gbs) / lim[t].bw).toFixed(0)}%`]);
    }
  }
  lowbit.setThreads(maxThreads);
  console.log('\n## GEMV (m = 1): weight bytes read per second, weights streamed from DRAM\n');
  printTable(['shape (rows x cols)', 'weights', 'activations', 'threads', 'ms', 'GB/s', 'of read bandwidth'], rows);
}

/** @param {ReturnType<typeof limits>} lim */
function gemm(lim) {
  const rows = [];
  for (const [n, k] of shapes) {
    const w = signal(n * k);
    for (const m of [8, 32, 128]) {
      const x = signal(m * k);
      const ops = 2 * m * n * k;
      const out = new Float32Array(m * n);
      for (const [name, opts, big] of formats) {
        if (n * k > 4096 * 4096 && !big) continue;
        const q = lowbit.quantize(w, n, k, opts);
        for (const act of activationModes(q)) {
          for (const t of threadCounts) {
            lowbit.setThreads(t);
            const s = timeIt(`gemm ${name}`, () => lowbit.matmul(x, q, { out, activations: act }), { maxTime: 0.5, minSamples: 3 });
            const g = ops / s / 1e9;
            const peak = act === 'int8' ? lim[t].dot : lim[t].fma;
            rows.push([`${n}x${k}`, m, name, act, t, (s * 1e3).toFixed(2), g.toFixed(0), `${((100 * g) / peak).toFixed(0)}% of ${act === 'int8' ? 'dot' : 'FMA'}`]);
          }
        }
        if (activationModes(q).includes('int8')) {
          const p = lowbit.prepare(q);
          for (const t of p.layout === 'plain' ? [] : threadCounts) {
            lowbit.setThreads(t);
            const s = timeIt(`gemm prepared ${name}`, () => lowbit.matmul(x, p, { out }), { maxTime: 0.5, minSamples: 3 });
            const g = ops / s / 1e9;
            rows.push([`${n}x${k}`, m, `${name} prepared`, 'int8', t, (s * 1e3).toFixed(2), g.toFixed(0), `${((100 * g) / lim[t].dot).toFixed(0)}% of dot`]);
          }
          p.dispose();
        }
      }
      for (const t of threadCounts) {
        lowbit.setThreads(t);
        const s = timeIt('gemm fp32', () => lowbit.matmulF32(x, w, n, k, out), { maxTime: 0.5, minSamples: 3 });
        const g = ops / s / 1e9;
        rows.push([`${n}x${k}`, m, 'fp32', 'float', t, (s * 1e3).toFixed(2), g.toFixed(0), `${((100 * g) / lim[t].fma).toFixed(0)}% of FMA`]);
      }
    }
  }
  lowbit.setThreads(maxThreads);
  console.log('\n## GEMM: GOP/s (2 ops per multiply-add) and the fraction of the matching peak');
  console.log('(the larger shape only for the int4 g32 / q4_0 / q4_k / int8 / q8_0 anchors)\n');
  printTable(['shape (rows x cols)', 'm', 'weights', 'activations', 'threads', 'ms', 'GOP/s', 'of peak'], rows);
}

/** @param {(s: string) => boolean} wanted */
function run(wanted) {
  const lim = limits();
  printLimits(lim);
  if (wanted('gemv')) gemv(lim);
  if (wanted('gemm')) gemm(lim);
}

module.exports = { run };
