// @ts-check
// One model file, one thread count, lowbit: prints benchModel's report as JSON (bench/llm/index.js).
'use strict';
const { benchModel } = require('lowbit/llm');

const [file, threads, pp, tg, reps] = process.argv.slice(2);
const report = benchModel(file, { threads: [Number(threads)], pp: Number(pp), tg: Number(tg), repetitions: Number(reps) });
process.stdout.write(`${JSON.stringify(report)}\n`);
