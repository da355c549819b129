// @ts-check
// `npm run bench -- batch [file.gguf...]`: batched decode (several sequences decoded together, the weights
// read once a step, as a served replica runs), lowbit's decodeBatch beside llama.cpp's (node-llama-cpp,
// several sequences in one context) on the same files and threads: tokens/s of the whole batch at 1, 4, 8
// and 16 sequences, each holding 64 tokens, median of 16 steps. Without files: the TinyLlama-1.1B-shaped
// random q4_0 file of `npm run bench -- llm`.
'use strict';
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { printTable } = require('../common');
const { defaultFiles, ensureNodeLlamaCpp, NODE_LLAMA_CPP } = require('./index');

/** @param {string[]} args */
function child(args) {
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

/** @param {string[]} args files (none: the TinyLlama-shaped q4_0 one) */
function run(args) {
  const files = args.length ? args : defaultFiles().filter((f) => f.includes('q4_0'));
  ensureNodeLlamaCpp();
  const lowbit = require('lowbit');
  const batches = '1,4,8,16', prompt = '64', steps = '16';
  const threads = os.availableParallelism();
  const read = lowbit.probe('bandwidth');
  console.log(`\n## Batched decode: lowbit beside llama.cpp (node-llama-cpp ${NODE_LLAMA_CPP}), ${threads} threads, tokens/s of the whole batch\n`);
  /** @type {string[][]} */
  const rows = [];
  for (const file of files) {
    const f = lowbit.openGGUF(file);
    const vocab = f.info('token_embd.weight').rows;
    f.close();
    const ours = child([path.join(__dirname, 'lowbit-batch-child.js'), file, String(threads), batches, prompt, steps]);
    const theirs = child([path.join(__dirname, 'llama-batch-child.mjs'), file, String(threads), batches, prompt, steps, String(vocab)]);
    for (const d of ours.decode) {
      const peer = theirs.results.find((/** @type {{ batch: number }} */ x) => x.batch === d.batch);
      rows.push([
        path.basename(file), String(d.batch), d.tokensPerSecond.toFixed(1), peer ? peer.tokensPerSecond.toFixed(1) : '',
        peer ? `${(d.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x` : '', (d.stepSeconds * 1e3).toFixed(1),
        `${(ours.bytesPerToken / d.stepSeconds / 1e9).toFixed(1)} of ${read.toFixed(1)}`,
      ]);
    }
  }
  printTable(['file', 'batch', 'lowbit tok/s', 'llama.cpp tok/s', 'lowbit / llama.cpp', 'lowbit step ms', 'weights read GB/s (of the probe)'], rows);
}

module.exports = { run };
