// @ts-check
// `npm start`: the textbook example's table for its 512x512 outlier matrix, computed by lowbit,
// plus the same rows for the asymmetric scheme and for groups of 32; then every weight format at
// comparable bits on that matrix and on a heavy-tailed one.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { quantize, quantizationError } = require('lowbit');
const { gaussian, mulberry32 } = require('./rng');

const file = path.join(__dirname, '..', 'test', 'fixtures', 'outlier-512x512.f32');
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

console.log(`The textbook's outlier matrix: ${rows}x${cols}, eight columns x20 (per-channel = one scale per input column)`);
console.log(`fp16 baseline mem=${((W.length * 2) / 1024).toFixed(1).padStart(7)} KiB`);
for (const [name, opts] of table) {
  const e = quantizationError(W, quantize(W, rows, cols, opts));
  console.log(
    `${name.padEnd(26)} rel_err=${e.relativeError.toFixed(4)} ` +
      `mem=${(e.bytes / 1024).toFixed(1).padStart(7)} KiB ` +
      `shrink_vs_fp16=${e.shrinkVsFp16.toFixed(1).padStart(4)}x`,
  );
}

// A 512x512 Gaussian scale mixture (kurtosis far above normal: occasional weights 20-50x the
// median), from a fixed seed, so the table is reproducible.
function heavyTailed() {
  const u = mulberry32(20261129);
  const g = () => gaussian(u);
  return Float32Array.from({ length: rows * cols }, () => g() * Math.exp(1.5 * g()));
}

/** @type {[string, import('lowbit').QuantizeOptions][]} */
const formatRows = [
  ['int8 g32, fp16 scales', { bits: 8, scaleType: 'float16' }],
  ['q8_0 (ggml)', { format: 'q8_0' }],
  ['fp8_e4m3 per-row', { format: 'fp8_e4m3' }],
  ['fp8_e5m2 per-row', { format: 'fp8_e5m2' }],
  ['fp8_e4m3 g32, fp16 scales', { format: 'fp8_e4m3', granularity: 'group', groupSize: 32, scaleType: 'float16' }],
  ['int4 g32, fp16 scales', { bits: 4, scaleType: 'float16' }],
  ['int4 g32 asym, fp16', { bits: 4, scheme: 'asymmetric', scaleType: 'float16' }],
  ['q4_0 (ggml)', { format: 'q4_0' }],
  ['nf4 g64', { format: 'nf4' }],
  ['nf4 g32, fp16 scales', { format: 'nf4', groupSize: 32, scaleType: 'float16' }],
  ['mxfp4', { format: 'mxfp4' }],
  ['nvfp4', { format: 'nvfp4' }],
  ['int4 g128, fp16 scales', { bits: 4, groupSize: 128, scaleType: 'float16' }],
];
const H = heavyTailed();
console.log('\nEvery format at comparable bits: relative error ||W - W^|| / ||W||, bits per weight (scales included)');
console.log(`${'format'.padEnd(26)} ${'bits/w'.padStart(6)} ${'outlier W'.padStart(10)} ${'heavy-tailed'.padStart(12)} ${'mem KiB'.padStart(8)}`);
for (const [name, opts] of formatRows) {
  const e1 = quantizationError(W, quantize(W, rows, cols, opts));
  const e2 = quantizationError(H, quantize(H, rows, cols, opts));
  console.log(
    `${name.padEnd(26)} ${((8 * e1.bytes) / (rows * cols)).toFixed(3).padStart(6)} ` +
      `${e1.relativeError.toFixed(4).padStart(10)} ${e2.relativeError.toFixed(4).padStart(12)} ` +
      `${(e1.bytes / 1024).toFixed(1).padStart(8)}`,
  );
}
