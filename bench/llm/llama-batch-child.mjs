// One model file, one thread count, llama.cpp through node-llama-cpp: batched decode as lowbit's
// measureModelAsync times it (every sequence prefilled with the same number of tokens, then decode
// steps of one token per sequence, all sequences' tokens in one llama_decode: node-llama-cpp batches
// the evaluations queued in one event-loop cycle; the median step after two warm-up steps), as JSON.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(here, '..', 'peers', '.deps', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
const { getLlama } = await import(pathToFileURL(entry).href);
const [file, threadsArg, batchesArg, promptArg, stepsArg, vocabArg] = process.argv.slice(2);
const threads = Number(threadsArg), prompt = Number(promptArg), steps = Number(stepsArg), vocab = Number(vocabArg);
const batches = batchesArg.split(',').map(Number);

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
// The same token ids as measureModelAsync.
const tokens = (n, salt) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % vocab);
const next = { generateNext: { token: true } };
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

const results = [];
for (const batch of batches) {
  const context = await model.createContext({
    contextSize: batch * (prompt + steps + 8), batchSize: Math.max(prompt, batch), threads, sequences: batch,
  });
  const seqs = Array.from({ length: batch }, () => context.getSequence());
  for (const [i, s] of seqs.entries()) await s.controlledEvaluate([...tokens(prompt - 1, i + 1), [tokens(prompt, i + 1).at(-1), next]]);
  const times = [];
  for (let k = 0; k < steps + 2; k++) {
    const t0 = process.hrtime.bigint();
    await Promise.all(seqs.map((s, i) => s.controlledEvaluate([[(k * 31 + i * 7 + 5) % vocab, next]])));
    if (k >= 2) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const step = median(times);
  results.push({ batch, tokensPerSecond: batch / step, stepSeconds: step });
  await context.dispose();
}
process.stdout.write(`${JSON.stringify({ library: 'node-llama-cpp', threads, results })}\n`);
await llama.dispose();
