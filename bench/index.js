// @ts-check
// `npm run bench [-- suite...]`: quantize, limits, gemv, gemm (default: all), printed as Markdown tables;
// `npm run bench -- peers` compares with onnxruntime-node (bench/peers), `npm run bench -- llm` runs models
// beside llama.cpp (bench/llm).
'use strict';
const os = require('node:os');
const lowbit = require('lowbit');
const { wanted } = require('./common');

const info = lowbit.cpuInfo();
console.log(`# lowbit benchmarks: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${info.threads} threads, kernels ${info.isa}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
if (wanted('quantize')) require('./quantize').run();
if (process.argv.length <= 2 || ['limits', 'gemv', 'gemm'].some((s) => process.argv.includes(s))) require('./matmul').run(wanted);
// Not part of the default run: it installs onnxruntime-node on first use and takes minutes.
// `npm run bench -- peers [filter...]`: only cases whose id contains a filter (e.g. gemv, 'g128').
if (process.argv[2] === 'peers') require('./peers').run(process.argv.slice(3));
// `npm run bench -- llm [file.gguf...]`: whole models beside llama.cpp (bench/llm); installs node-llama-cpp on first use.
if (process.argv[2] === 'llm') require('./llm').run(process.argv.slice(3));
// `npm run bench -- batch [file.gguf...]`: batched decode beside llama.cpp's (bench/llm/batch.js).
else if (process.argv[2] === 'batch') require('./llm/batch').run(process.argv.slice(3));
