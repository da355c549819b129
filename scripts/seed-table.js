// @ts-check
// `npm start`: the seed's Output 22.2.1 for its own 512x512 outlier matrix, computed by lowbit,
// plus the same rows for the asymmetric scheme and for groups of 32.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { quantize, quantizationError } = require('lowbit');

const file = path.join(__dirname, '..', 'test', 'fixtures', 'seed-outlier-512x512.f32');
const buf = fs.readFileSync(file);
const W = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const rows = 512, cols = 512;

/** @type {[string, import('lowbit').QuantizeOptions][]} */
const table = [
  ['INT8 per-tensor', { bits: 8, granularity: 'tensor' }],
  ['INT8 per-channel', { bits: 8, granularity: 'column' }],
  ['INT4 per-tensor', { bits: 4, granularity: 'tensor' }],
  ['INT4 per-channel', { bits: 4, granularity: 'column' }],
  ['INT8 per-tensor asym', { bits: 8, scheme: 'asymmetric', granularity: 'tensor' }],
  ['INT8 per-channel asym', { bits: 8, scheme: 'asymmetric', granularity: 'column' }],
  ['INT4 per-tensor asym', { bits: 4, scheme: 'asymmetric', granularity: 'tensor' }],
  ['INT4 per-channel asym', { bits: 4, scheme: 'asymmetric', granularity: 'column' }],
  ['INT8 group-32', { bits: 8, granularity: 'group', groupSize: 32 }],
  ['INT4 group-32', { bits: 4, granularity: 'group', groupSize: 32 }],
  ['INT8 group-32 asym', { bits: 8, scheme: 'asymmetric', granularity: 'group', groupSize: 32 }],
  ['INT4 group-32 asym', { bits: 4, scheme: 'asymmetric', granularity: 'group', groupSize: 32 }],
];

console.log(`The seed's outlier matrix: ${rows}x${cols}, eight columns x20 (per-channel = one scale per input column)`);
console.log(`fp16 baseline mem=${((W.length * 2) / 1024).toFixed(1).padStart(7)} KiB`);
for (const [name, opts] of table) {
  const e = quantizationError(W, quantize(W, rows, cols, opts));
  console.log(
    `${name.padEnd(26)} rel_err=${e.relativeError.toFixed(4)} ` +
      `mem=${(e.bytes / 1024).toFixed(1).padStart(7)} KiB ` +
      `shrink_vs_fp16=${e.shrinkVsFp16.toFixed(1).padStart(4)}x`,
  );
}
