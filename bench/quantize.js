// @ts-check
// Quantize and dequantize throughput for a 4096x4096 matrix, in GB/s of float32 input (or output).
'use strict';
const { quantize, dequantize } = require('lowbit');
const { timeIt, printTable } = require('./common');

/** @returns {import('lowbit').QuantizeOptions[]} */
function allOptions() {
  /** @type {import('lowbit').QuantizeOptions[]} */
  const out = [];
  for (const bits of /** @type {const} */ ([4, 8])) {
    for (const scheme of /** @type {const} */ (['symmetric', 'asymmetric'])) {
      for (const granularity of /** @type {const} */ (['tensor', 'row', 'column'])) out.push({ bits, scheme, granularity });
      for (const groupSize of [32, 128]) out.push({ bits, scheme, granularity: 'group', groupSize });
    }
  }
  return out;
}

function run() {
  const rows = 4096, cols = 4096;
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.618) * (1 + (i % 97 === 0 ? 20 : 0));
  const gb = (w.byteLength / 1e9);
  const rowsOut = [];
  for (const opts of allOptions()) {
    const label = `int${opts.bits} ${opts.scheme} ${opts.granularity}${opts.groupSize ? ' ' + opts.groupSize : ''}`;
    const q = quantize(w, rows, cols, opts);
    const tq = timeIt(`quantize ${label}`, () => quantize(w, rows, cols, opts));
    const td = timeIt(`dequantize ${label}`, () => dequantize(q));
    rowsOut.push([label, (tq * 1e3).toFixed(1), (gb / tq).toFixed(2), (td * 1e3).toFixed(1), (gb / td).toFixed(2)]);
  }
  console.log(`\n## quantize / dequantize, ${rows}x${cols} float32 (${(w.byteLength / 2 ** 20).toFixed(0)} MiB), median of samples\n`);
  printTable(['options', 'quantize ms', 'quantize GB/s', 'dequantize ms', 'dequantize GB/s'], rowsOut);
}

module.exports = { run };
