// Generation on a small random model with a real (trained) SentencePiece vocabulary: greedy decoding is the
// argmax of each step's logits, seeded sampling repeats and draws from the filtered distribution (a
// chi-square test), stop strings, abort, limits, end-of-generation tokens, and chats that reuse the cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadModel, Sampler, type Generation, type GeneratedToken } from 'lowbit/llm';
import { generateOptions, generateTokens, Generation as GenerationClass, type GenerationTarget } from '../dist/llm/generate';
import { tmpDir, writeTextModel } from './helpers';

const dir = tmpDir('lowbit-generate-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'model.gguf');
writeTextModel(file, { template: 'chatml', type: 'Q8_0', seed: 11 });
const model = loadModel(file);
t.teardown(() => model.dispose());
const tok = model.tokenizer!;
const PROMPT = 'The quick brown fox jumps over';

async function collect(g: Generation): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const x of g) out.push(x);
  return out;
}
const tokensOf = (xs: GeneratedToken[]) => xs.filter((x) => x.token !== null).map((x) => x.token as number);
const argmax = (v: Float32Array) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);

t.test('greedy (temperature 0) takes the argmax of every step\'s logits; the text is the tokens\' text', async (tt) => {
  const g = model.generate(PROMPT, { temperature: 0, maxTokens: 24, ignoreEndOfGeneration: true });
  const items = await collect(g);
  const got = tokensOf(items);
  const prompt = tok.encode(PROMPT);
  const s = model.createSession();
  let logits = s.prefill(prompt);
  const want: number[] = [];
  for (let i = 0; i < 24; i++) {
    want.push(argmax(logits));
    if (i < 23) logits = s.step(want[i]);
  }
  s.dispose();
  tt.same(got, want);
  tt.equal(g.stats.tokens, 24);
  tt.equal(g.stats.promptTokens, prompt.length);
  tt.equal(g.stats.finishReason, 'length');
  const text = items.map((x) => x.text).join('');
  tt.equal(g.stats.text, text);
  tt.equal(text, tok.decode([...prompt, ...want]).slice(tok.decode(prompt).length), 'the continuation of the prompt\'s text');
});

t.test('a seed makes sampling reproducible; another seed draws otherwise', async (tt) => {
  const o = { temperature: 1.2, topK: 0, topP: 1, minP: 0, maxTokens: 32, ignoreEndOfGeneration: true };
  const a = tokensOf(await collect(model.generate(PROMPT, { ...o, seed: 42 })));
  const b = tokensOf(await collect(model.generate(PROMPT, { ...o, seed: 42 })));
  const c = tokensOf(await collect(model.generate(PROMPT, { ...o, seed: 43 })));
  tt.same(a, b);
  // 32 draws at temperature 1.2 from 900 tokens: the chance that two seeds agree on all is far below 1e-9.
  tt.notSame(a, c);
});

t.test('Sampler: the filtered distribution as llama.cpp\'s chain defines it, and draws that follow it', (tt) => {
  const n = 60;
  const logits = new Float32Array(n);
  for (let i = 0; i < n; i++) logits[i] = 3 * Math.sin(1.7 * i + 0.3) + 0.05 * i;
  const history = [5, 7, 5, 40];
  const o = { temperature: 0.7, topK: 30, topP: 0.9, minP: 0.03, repeatPenalty: 1.3, repeatLastN: 3, seed: 7 };
  // The chain written out independently in float64: penalty on the distinct last 3 tokens; top-k; top-p over
  // the top-k's softmax; min-p against the most likely; temperature; normalize.
  const l = Array.from(logits, Number);
  for (const x of new Set(history.slice(-3))) l[x] = l[x] > 0 ? l[x] / 1.3 : l[x] * 1.3;
  let ids = l.map((_, i) => i).sort((x, y) => l[y] - l[x] || x - y).slice(0, 30);
  const m = l[ids[0]];
  const z = ids.reduce((s, i) => s + Math.exp(l[i] - m), 0);
  let cum = 0;
  let k = 0;
  while (k < ids.length && cum < 0.9) cum += Math.exp(l[ids[k++]] - m) / z;
  ids = ids.slice(0, k).filter((i) => Math.exp(l[i] - m) >= 0.03);
  const w = ids.map((i) => Math.exp((l[i] - m) / 0.7));
  const sw = w.reduce((a, b) => a + b, 0);
  const want = w.map((x) => x / sw);

  const sampler = new Sampler(o);
  const d = sampler.distribution(logits, history);
  tt.same(Array.from(d.tokens), ids, 'the tokens kept, most likely first');
  for (let i = 0; i < ids.length; i++) tt.ok(Math.abs(d.probabilities[i] - want[i]) < 1e-12, `p(${ids[i]})`);
  tt.ok(ids.length > 3 && ids.length < 30, `the filters cut (${ids.length} tokens kept)`);
  tt.notOk(ids.includes(5) && d.probabilities[ids.indexOf(5)] > want[0], 'the penalized token is not the favourite');

  // Pearson's chi-square over N draws with a fixed seed. Under the null hypothesis the statistic follows
  // chi-square with (kept - 1) degrees of freedom; the bound is its 1 - 1e-6 quantile (Wilson-Hilferty), so
  // a correct sampler fails this with probability 1e-6 over seeds. A draw from the unfiltered or
  // untempered distribution moves it by thousands at this N.
  const N = 200_000;
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const x = sampler.sample(logits, history);
    counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  tt.ok([...counts.keys()].every((x) => ids.includes(x)), 'only kept tokens are drawn');
  const chi2 = ids.reduce((s, id, i) => s + ((counts.get(id) ?? 0) - N * want[i]) ** 2 / (N * want[i]), 0);
  const df = ids.length - 1;
  const zq = 4.753424; // the standard normal's 1 - 1e-6 quantile
  const bound = df * (1 - 2 / (9 * df) + zq * Math.sqrt(2 / (9 * df))) ** 3;
  tt.ok(chi2 < bound, `chi-square ${chi2.toFixed(1)} < ${bound.toFixed(1)} (${df} degrees of freedom)`);

  tt.same(Array.from(new Sampler({ temperature: 0 }).distribution(logits).tokens), [argmax(logits)], 'temperature 0: the argmax');
  const reps = [new Sampler({ seed: 3 }), new Sampler({ seed: 3 })].map((s) => Array.from({ length: 50 }, () => s.sample(logits)));
  tt.same(reps[0], reps[1], 'a seed repeats its draws');
  tt.throws(() => new Sampler({ topP: 0 }), { name: 'RangeError', message: /topP/ });
  tt.throws(() => new Sampler({ temperature: '1' } as never), { name: 'TypeError', message: /temperature/ });
  tt.throws(() => new Sampler({ top_k: 1 } as never), { name: 'RangeError', message: /unknown option 'top_k'/ });
  tt.throws(() => sampler.sample(new Float64Array(3) as never), TypeError);
  tt.end();
});

t.test('stop strings: the text ends before the first one, no part of it is returned', async (tt) => {
  const full = await model.generate(PROMPT, { temperature: 0, maxTokens: 40, ignoreEndOfGeneration: true }).text();
  const at = Math.floor(full.length / 2);
  const stop = full.slice(at, at + 3);
  const g = model.generate(PROMPT, { temperature: 0, maxTokens: 40, ignoreEndOfGeneration: true, stop: ['\u0000never', stop] });
  const items = await collect(g);
  const text = items.map((x) => x.text).join('');
  tt.equal(text, full.slice(0, full.indexOf(stop)));
  tt.equal(g.stats.finishReason, 'stop');
  tt.ok(g.stats.tokens < 40);
  // Held back while it could be a stop string, then released: a stop string that never completes.
  const never = full.slice(at, at + 2) + '\u0001';
  const g2 = model.generate(PROMPT, { temperature: 0, maxTokens: 40, ignoreEndOfGeneration: true, stop: never });
  tt.equal(await g2.text(), full, 'all the text, the held part released');
  tt.equal(g2.stats.finishReason, 'length');
});

t.test('abort: the iterator throws the signal\'s reason within one step, and the session stays usable', async (tt) => {
  const ac = new AbortController();
  const s = model.createSession();
  const g = s.generate(PROMPT, { temperature: 0, maxTokens: 50, ignoreEndOfGeneration: true, signal: ac.signal });
  const seen: number[] = [];
  await tt.rejects(
    (async () => {
      for await (const x of g) {
        seen.push(x.token!);
        if (seen.length === 3) setImmediate(() => ac.abort()); // while the next step runs
      }
    })(),
    { name: 'AbortError' },
  );
  tt.ok(seen.length >= 3 && seen.length <= 4, `stopped within a step (${seen.length} tokens)`);
  tt.equal(g.stats.finishReason, 'aborted');
  tt.equal(s.position, tok.encode(PROMPT).length + seen.length - 1, 'the cache holds the prompt and the tokens stepped');
  tt.same(s.tokens.slice(-(seen.length - 1)), seen.slice(0, -1));
  const again = await s.generate([seen[seen.length - 1]], { temperature: 0, maxTokens: 2, ignoreEndOfGeneration: true }).text();
  tt.type(again, 'string', 'the session continues');
  const pre = new AbortController();
  pre.abort();
  await tt.rejects(model.generate(PROMPT, { signal: pre.signal }).next(), { name: 'AbortError' }, 'an aborted signal: nothing runs');
  s.dispose();
});

t.test('limits: maxTokens 0, a full context', async (tt) => {
  const g0 = model.generate(PROMPT, { maxTokens: 0 });
  tt.same(await collect(g0), []);
  tt.equal(g0.stats.finishReason, 'length');
  const p = tok.encode(PROMPT).length;
  const g = model.generate(PROMPT, { temperature: 0, ignoreEndOfGeneration: true, contextLength: p + 5 });
  const items = await collect(g);
  tt.equal(g.stats.finishReason, 'context');
  tt.equal(tokensOf(items).length, 6, 'the last token is drawn from the logits of the last position');
  tt.throws(() => model.generate('x', { contextLength: 1 }), RangeError, 'a prompt longer than the context');
});

t.test('end-of-generation tokens end it and are not returned; ignoreEndOfGeneration goes on', async (tt) => {
  // A scripted session: its logits favour EOS at the third draw.
  const eos = tok.eos!;
  const pos = { n: 0 };
  const target: GenerationTarget = {
    get position() { return pos.n; },
    contextLength: 100,
    get tokens() { return []; },
    prefillAsync: async (ids) => { pos.n += ids.length; return logitsFor(pos.n); },
    stepAsync: async () => { pos.n += 1; return logitsFor(pos.n); },
  };
  const start = 4;
  function logitsFor(n: number): Float32Array {
    const l = new Float32Array(tok.vocabularySize);
    l[n === start + 2 ? eos : 300 + n] = 10;
    return l;
  }
  const run = (ignore: boolean) => {
    pos.n = 0;
    const o = generateOptions('t', { temperature: 0, maxTokens: 5, ignoreEndOfGeneration: ignore });
    return new GenerationClass((stats) => generateTokens(target, tok, [1, 10, 20, 30], o, stats));
  };
  const g = run(false);
  tt.same(tokensOf(await collect(g)), [304, 305]);
  tt.equal(g.stats.finishReason, 'endOfGeneration');
  const g2 = run(true);
  tt.same(tokensOf(await collect(g2)), [304, 305, eos, 307, 308]);
});

t.test('chat: turns rendered with the template, the earlier ones kept in the cache', async (tt) => {
  const chat = model.createChat({ system: 'You are terse.' });
  const r1 = chat.send('Hello there', { temperature: 0, maxTokens: 6 });
  const a1 = await r1.text();
  const ids1 = tok.encodeChat([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hello there' }]);
  tt.equal(r1.stats.promptTokens, ids1.length, 'the first turn runs the whole conversation');
  tt.same(chat.session.tokens.slice(0, ids1.length), ids1);
  const r2 = chat.send('And then?', { temperature: 0, maxTokens: 6 });
  await r2.text();
  const all = tok.encodeChat(chat.messages.slice(0, 4));
  tt.ok(r2.stats.promptTokens < all.length - ids1.length + 2, `the second turn runs only what is new (${r2.stats.promptTokens} of ${all.length} tokens)`);
  tt.same(chat.session.tokens.slice(0, all.length), all, 'the cache holds the conversation as the template renders it');
  tt.same(chat.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'assistant']);
  tt.equal(chat.messages[2].content, a1);
  tt.throws(() => chat.send('x', { addSpecial: true }), RangeError);
  chat.dispose();
});

t.test('bad options and prompts: TypeError or RangeError naming them', (tt) => {
  tt.throws(() => model.generate(PROMPT, { maxTokens: -1 }), { name: 'RangeError', message: /maxTokens/ });
  tt.throws(() => model.generate(PROMPT, { stop: [''] }), { name: 'RangeError', message: /stop/ });
  tt.throws(() => model.generate(PROMPT, { stop: 5 } as never), { name: 'TypeError', message: /stop/ });
  tt.throws(() => model.generate(PROMPT, { signal: {} } as never), { name: 'TypeError', message: /signal/ });
  tt.throws(() => model.generate(PROMPT, { temprature: 1 } as never), { name: 'RangeError', message: /unknown option 'temprature'/ });
  tt.throws(() => model.generate('', { addSpecial: false }), { name: 'RangeError', message: /empty/ });
  tt.throws(() => model.generate('x', { contextLength: 1 }), { name: 'RangeError', message: /do not fit the context/ });
  tt.throws(() => model.generate([1e9]), RangeError);
  tt.end();
});
