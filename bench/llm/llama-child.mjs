// One model file, one thread count, llama.cpp through node-llama-cpp (bench/peers/.deps): pp and tg
// as llama-bench runs them and as lowbit's benchModel does (from an empty context, the logits of the
// last position computed, medians of the runs after a warm-up), printed as JSON.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(here, '..', 'peers', '.deps', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
const { getLlama } = await import(pathToFileURL(entry).href);
const [file, threadsArg, ppArg, tgArg, repsArg, vocabArg] = process.argv.slice(2);
const threads = Number(threadsArg), pp = Number(ppArg), tg = Number(tgArg), reps = Number(repsArg), vocab = Number(vocabArg);

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const n = Math.max(pp, tg) + 16;
const context = await model.createContext({ contextSize: n, batchSize: Math.max(pp, 16), threads, sequences: 1 });
const seq = context.getSequence();
// The same token ids as lowbit's benchModel.
const tokens = (count) => Array.from({ length: count }, (_, i) => (i * 7919 + 13) % vocab);
const next = { generateNext: { token: true } };

async function run(test, count) {
  await seq.clearHistory();
  const ids = tokens(count);
  const t0 = process.hrtime.bigint();
  if (test === 'pp') {
    await seq.controlledEvaluate([...ids.slice(0, -1), [ids.at(-1), next]]);
  } else {
    for (const id of ids) await seq.controlledEvaluate([[id, next]]);
  }
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const results = [];
for (const [test, count] of [['pp', pp], ['tg', tg]]) {
  if (count === 0) continue;
  await run(test, Math.min(count, 16));
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await run(test, count));
  results.push({ test, tokens: count, threads, tokensPerSecond: median(runs), runs });
}
process.stdout.write(`${JSON.stringify({ library: 'node-llama-cpp', results })}\n`);
await llama.dispose();
