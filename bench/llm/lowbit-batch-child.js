// @ts-check
// One model file, one thread count, lowbit: measureModelAsync's batched decode (and prefill) as JSON.
'use strict';
const { setThreads } = require('lowbit');
const { measureModelAsync } = require('lowbit/llm');

const [file, threads, batches, prompt, steps] = process.argv.slice(2);
setThreads(Number(threads));
measureModelAsync(file, { batches: batches.split(',').map(Number), promptTokens: Number(prompt), steps: Number(steps) }).then((m) => {
  process.stdout.write(`${JSON.stringify(m)}\n`);
});
