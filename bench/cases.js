// @ts-check
// The matmul cases `npm run bench` times (bench/matmul.js) and bench/ab.js alternates: shapes, formats and
// the weight signal. No addon here, so either script chooses which build it loads.
'use strict';

const shapes = [
  [4096, 4096],
  [16384, 8192],
];
// [name, options, in the large GEMM shape too]. Formats whose values have no integer form
// (fp8) run only with float activations (formats()[i].activations).
/** @type {[string, import('lowbit').QuantizeOptions, boolean][]} */
const formats = [
  ['int4 g32', { bits: 4, groupSize: 32 }, true],
  ['int4 g32 fp16', { bits: 4, groupSize: 32, scaleType: 'float16' }, false],
  ['q4_0', { format: 'q4_0' }, true],
  ['int4 g128', { bits: 4, groupSize: 128 }, false],
  ['q4_k', { format: 'q4_k' }, true],
  ['q5_k', { format: 'q5_k' }, false],
  ['q6_k', { format: 'q6_k' }, false],
  ['nf4 g64', { format: 'nf4' }, false],
  ['mxfp4', { format: 'mxfp4' }, false],
  ['nvfp4', { format: 'nvfp4' }, false],
  ['int8 g32', { bits: 8, groupSize: 32 }, true],
  ['q8_0', { format: 'q8_0' }, true],
  ['fp8_e4m3 row', { format: 'fp8_e4m3' }, false],
];

/** @param {number} n */
function signal(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 0.618) * (1 + ((i * 7919) % 13 === 0 ? 4 : 0));
  return out;
}

module.exports = { shapes, formats, signal };
