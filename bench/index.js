// @ts-check
// `npm run bench [-- suite...]`: quantize, limits, gemv, gemm (default: all), printed as Markdown tables.
'use strict';
const os = require('node:os');
const lowbit = require('lowbit');
const { wanted } = require('./common');

const info = lowbit.cpuInfo();
console.log(`# lowbit benchmarks: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${info.threads} threads, kernels ${info.isa}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
if (wanted('quantize')) require('./quantize').run();
if (wanted('limits') || wanted('gemv') || wanted('gemm')) require('./matmul').run(wanted);
