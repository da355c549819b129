// Batched decode: one step for several sessions at once gives each the logits its own step gives, bit for
// bit (the int8 kernels give a row the same bits whatever the batch; float products and attention run per
// row and per session alike), on every architecture and both caches; then bad batches and async use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadModel, type KvType, type Model } from 'lowbit/llm';
import { rng, tmpDir } from './helpers';
import { writeRandomModel } from '../scripts/random-model';

const dir = tmpDir('lowbit-llm-batch-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const files: Record<string, string> = {};
const specs = {
  'llama q4_0 GQA': { arch: 'llama', layers: 2, embd: 128, ff: 256, heads: 4, headsKv: 2, vocab: 300, types: { default: 'Q4_0' } },
  'qwen2 q8_0 biases': { arch: 'qwen2', layers: 2, embd: 128, ff: 320, heads: 4, headsKv: 2, vocab: 280, types: { default: 'Q8_0' } },
  'qwen3 q4_k head 64': { arch: 'qwen3', layers: 2, embd: 256, ff: 512, heads: 4, headsKv: 2, headDim: 64, vocab: 256, types: { default: 'Q4_K', output: 'Q6_K' } },
} as const;
Object.entries(specs).forEach(([name, o], i) => {
  files[name] = path.join(dir, `m${i}.gguf`);
  writeRandomModel(files[name], { ...o, seed: 40 + i, tokenizer: false, logitScale: 4 });
});
const models: Model[] = [];
t.teardown(() => models.forEach((m) => m.dispose()));

for (const [name, file] of Object.entries(files)) {
  for (const activations of ['int8', 'float'] as const) {
    for (const kvType of ['f16', 'q8_0'] as KvType[]) {
      t.test(`${name}, ${activations} products, ${kvType} cache: a batched step gives each session its own step's logits`, (tt) => {
        const m = loadModel(file, { activations });
        models.push(m);
        const vocab = m.info.vocabularySize;
        const r = rng(7);
        const tok = () => Math.floor(r() * vocab);
        // Sessions at different positions (prompts of 1 to 40 tokens), four decode steps.
        const lengths = [1, 7, 40, 12, 3];
        const batch = lengths.map(() => m.createSession({ contextLength: 64, kvType }));
        const alone = lengths.map(() => m.createSession({ contextLength: 64, kvType }));
        lengths.forEach((n, i) => {
          const p = Array.from({ length: n }, tok);
          batch[i].prefill(p);
          alone[i].prefill(p);
        });
        for (let step = 0; step < 4; step++) {
          const tokens = lengths.map(tok);
          const got = m.decodeBatch(batch, tokens);
          tt.equal(got.length, lengths.length * vocab);
          let same = true;
          tokens.forEach((x, i) => {
            const want = alone[i].step(x);
            for (let j = 0; j < vocab; j++) if (got[i * vocab + j] !== want[j]) same = false;
          });
          tt.ok(same, `step ${step}: bit for bit`);
        }
        tt.same(batch.map((s) => s.position), alone.map((s) => s.position));
        tt.same(batch.map((s) => s.tokens), alone.map((s) => s.tokens));
        [...batch, ...alone].forEach((s) => s.dispose());
        tt.end();
      });
    }
  }
}

t.test('a batch larger than a prefill chunk (256 tokens) runs on scratch of its own', (tt) => {
  const m = loadModel(files['llama q4_0 GQA']);
  models.push(m);
  const n = 260;
  const sessions = Array.from({ length: n }, () => m.createSession({ contextLength: 4 }));
  const tokens = sessions.map((_, i) => (i * 37) % 300);
  const got = m.decodeBatch(sessions, tokens);
  const vocab = m.info.vocabularySize;
  for (const i of [0, 255, 256, 259]) {
    const alone = m.createSession({ contextLength: 4 });
    const want = alone.step(tokens[i]);
    tt.same(Array.from(got.subarray(i * vocab, (i + 1) * vocab)), Array.from(want), `session ${i}`);
    alone.dispose();
  }
  sessions.forEach((s) => s.dispose());
  tt.end();
});

t.test('bad batches: nothing runs, a RangeError or TypeError names the problem', (tt) => {
  const m = loadModel(files['llama q4_0 GQA']);
  const other = loadModel(files['qwen2 q8_0 biases']);
  models.push(m, other);
  const a = m.createSession({ contextLength: 4 }), b = m.createSession(), c = other.createSession();
  a.prefill([1, 2, 3]);
  tt.throws(() => m.decodeBatch([a, a], [1, 2]), { name: 'RangeError', message: /given twice/ });
  tt.throws(() => m.decodeBatch([a, b], [1]), { name: 'RangeError', message: /1 tokens for 2 sessions/ });
  tt.throws(() => m.decodeBatch([b, c], [1, 2]), { name: 'RangeError', message: /another model/ });
  tt.throws(() => m.decodeBatch([b], [300]), { name: 'RangeError', message: /outside the vocabulary/ });
  tt.throws(() => m.decodeBatch([], []), { name: 'RangeError', message: /empty/ });
  tt.throws(() => m.decodeBatch([b, {} as never], [1, 2]), { name: 'TypeError', message: /sessions\[1\] must be a Session/ });
  a.step(4);
  tt.throws(() => m.decodeBatch([b, a], [1, 2]), { name: 'RangeError', message: /sessions\[1\] is full/ });
  tt.equal(b.position, 0, 'nothing ran');
  tt.end();
});

t.test('decodeBatchAsync: the sessions are held until it settles; an abort moves no position', async (tt) => {
  const m = loadModel(files['llama q4_0 GQA']);
  models.push(m);
  const s = [m.createSession(), m.createSession()];
  s[0].prefill([1, 2]);
  const p = m.decodeBatchAsync(s, [5, 6]);
  tt.throws(() => s[1].step(1), /async call is running/);
  const logits = await p;
  tt.equal(logits.length, 2 * m.info.vocabularySize);
  tt.same(s.map((x) => x.position), [3, 1]);
  const ac = new AbortController();
  ac.abort();
  await tt.rejects(m.decodeBatchAsync(s, [1, 2], { signal: ac.signal }), { name: 'AbortError' });
  tt.same(s.map((x) => x.position), [3, 1], 'positions unchanged');
});
