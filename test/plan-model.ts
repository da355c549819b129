// Plans from a model file: counts and bytes equal the hand computation from the shapes the files were
// written with; a measured model's rate (a measurement injected here) sets the replicas as computed; the
// KV cache's crossover; measureModelAsync and the CLI on a small random model.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { openGGUF, plan, type MachineMeasurement } from 'lowbit';
import { measureModelAsync, type ModelMeasurement } from 'lowbit/llm';
import { tmpDir } from './helpers';
import { writeRandomModel } from '../scripts/random-model';

const dir = tmpDir('lowbit-plan-model-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const shape = { layers: 3, embd: 256, ff: 512, heads: 8, headsKv: 2, vocab: 512 };
const hd = shape.embd / shape.heads;
const untied = path.join(dir, 'untied.gguf');
const tied = path.join(dir, 'tied.gguf');
writeRandomModel(untied, { arch: 'llama', ...shape, types: { default: 'Q4_0', output: 'Q8_0' }, tokenizer: false, seed: 1, context: 8192 });
writeRandomModel(tied, { arch: 'llama', ...shape, types: { default: 'Q8_0' }, tiedOutput: true, tokenizer: false, seed: 2 });

// By hand from the shapes: q and o are embd x embd, k and v embd x (headsKv * hd); gate, up, down; norms.
const perLayer = 2 * shape.embd * shape.embd + 2 * shape.embd * shape.headsKv * hd + 3 * shape.embd * shape.ff;
const table = shape.vocab * shape.embd;
const norms = (2 * shape.layers + 1) * shape.embd;
const q4 = (n: number) => (n / 32) * 18;
const q8 = (n: number) => (n / 32) * 34;
const base = { node: { deviceMemory: 1e9 }, precisions: ['file', 'fp16', 'q8_0', 'q4_0'] };

t.test('a model file: parameters by kind and bytes as stored, by hand', (tt) => {
  const p = plan({ ...base, model: untied });
  tt.equal(p.model.linearParams, shape.layers * perLayer + table, 'linear: every matrix and the output head');
  tt.equal(p.model.embeddingParams, table);
  tt.equal(p.model.otherParams, norms);
  tt.same([p.model.layers, p.model.kvHeads, p.model.headDim, p.model.hiddenSize], [shape.layers, shape.headsKv, hd, shape.embd]);
  const f = p.model.file!;
  tt.equal(f.linearBytes, q4(shape.layers * perLayer) + q8(table), 'Q4_0 layers, Q8_0 output');
  tt.equal(f.embeddingBytes, q4(table));
  tt.equal(f.otherBytes, 4 * norms, 'F32 norms');
  tt.equal(f.storedBytes, f.linearBytes + f.embeddingBytes + f.otherBytes);
  const g = openGGUF(untied);
  tt.equal(f.storedBytes, g.tensors.reduce((s, x) => s + (x.byteLength ?? 0), 0), 'the tensors\' bytes');
  g.close();
  tt.equal(f.contextLength, 8192);
  const [file, fp16, q8_0, q4_0] = p.rows;
  tt.equal(file.weightBytes, f.storedBytes);
  tt.equal(file.bitsPerWeight, (8 * f.linearBytes) / p.model.linearParams);
  tt.equal(fp16.weightBytes, 2 * (p.model.linearParams + table + norms));
  tt.equal(q8_0.weightBytes, q8(p.model.linearParams) + q8(table) + 2 * norms, 'q8_0 linear and embeddings, fp16 norms');
  tt.equal(q4_0.weightBytes, q4(p.model.linearParams) + q4(table) + 2 * norms);
  tt.end();
});

t.test('tied output: the embeddings are the output head, read whole every token (linear)', (tt) => {
  const p = plan({ ...base, model: tied });
  tt.equal(p.model.file!.tiedOutput, true);
  tt.equal(p.model.linearParams, shape.layers * perLayer + table);
  tt.equal(p.model.embeddingParams, 0);
  tt.equal(p.model.file!.linearBytes, q8(shape.layers * perLayer + table));
  tt.end();
});

t.test('the KV cache per sequence from the file\'s shapes, and where it outgrows the weights', (tt) => {
  const perToken = 2 * shape.layers * shape.headsKv * hd * 2;
  const p = plan({ ...base, model: untied, kvCache: { batch: 4, context: 1000 } });
  tt.equal(p.kvBytesPerToken, perToken);
  tt.equal(p.rows[0].kvBytes, 4 * 1000 * perToken);
  for (const r of p.rows) {
    tt.equal(r.kvExceedsWeightsAtContext, Math.ceil(r.weightBytes / (perToken * 4)), `${r.precision}: context at batch 4`);
    tt.equal(r.kvExceedsWeightsAtBatch, Math.ceil(r.weightBytes / (perToken * 1000)), `${r.precision}: batch at context 1000`);
  }
  const q8kv = plan({ ...base, model: untied, kvCache: { batch: 4, context: 1000, precision: 'q8_0' } });
  tt.equal(q8kv.kvBytesPerToken, (perToken / 2) * (34 / 32), 'q8_0: 8.5 bits');
  tt.end();
});

const machine = (m: Partial<ModelMeasurement>): MachineMeasurement => ({
  version: 1, date: '2026-12-05T00:00:00.000Z', cpu: 'test', arch: 'x64', isa: 'avx2', threads: 2, memoryBytes: 16e9, readBandwidth: 40e9, formats: {},
  models: [{
    file: 'untied.gguf', fileSize: fs.statSync(untied).size, name: 'random llama', architecture: 'llama', isa: 'avx2', threads: 2,
    bytesPerToken: 1, kvType: 'f16', kvBytesPerPosition: 2 * shape.layers * shape.headsKv * hd * 2, context: 100,
    decode: [{ batch: 1, tokensPerSecond: 200, stepSeconds: 1 / 200, steps: 16 }, { batch: 4, tokensPerSecond: 400, stepSeconds: 0.01, steps: 16 }],
    prefill: { tokens: 64, tokensPerSecond: 1000 }, ...m,
  }],
});

t.test('a measured model: the file row decodes at the measured rate, and the replicas follow it', (tt) => {
  const spec = { model: untied, precisions: ['file', 'q4_0'], kvCache: { batch: 4, context: 1000 }, target: { tokensPerSecond: 5000 } };
  const p = plan({ ...spec, machine: machine({}) });
  const [file, q4_0] = p.rows;
  const kvPos = 2 * shape.layers * shape.headsKv * hd * 2;
  // The measured step's KV reads (4 sequences at 100 positions) swapped for the plan's (4 at 1000).
  const step = 0.01 - (4 * 100 * kvPos) / 40e9 + (4 * 1000 * kvPos) / 40e9;
  tt.equal(file.bandwidthSource, 'measured model');
  tt.equal(file.measuredTokensPerSecond, 400);
  tt.ok(Math.abs(file.tokensPerSecondPerReplica! - 4 / step) < 1e-9, `${file.tokensPerSecondPerReplica} tokens/s`);
  tt.equal(file.replicasForTarget, Math.ceil(5000 / (4 / step)));
  tt.ok(file.estimatedTokensPerSecond! > 0, 'the memory-bound estimate beside it');
  tt.equal(q4_0.bandwidthSource, 'measured read', 'other rows: the arithmetic');
  // Twice as slow a measurement: twice the replicas (as computed).
  const slow = plan({ ...spec, machine: machine({ decode: [{ batch: 4, tokensPerSecond: 200, stepSeconds: 0.02, steps: 16 }] }) });
  const step2 = 0.02 - (4 * 100 * kvPos) / 40e9 + (4 * 1000 * kvPos) / 40e9;
  tt.equal(slow.rows[0].replicasForTarget, Math.ceil(5000 / (4 / step2)));
  tt.ok(slow.rows[0].replicasForTarget! > file.replicasForTarget!);
  // Another file of the same name but another size: not this model's measurement.
  const other = plan({ ...spec, machine: machine({ fileSize: 1 }) });
  tt.equal(other.rows[0].bandwidthSource, 'measured read');
  tt.throws(() => plan({ ...spec, kvCache: { batch: 8, context: 1000 }, machine: machine({}) }), { name: 'RangeError', message: /measured at batch 1, 4, the plan decodes 8/ });
  tt.throws(() => plan({ model: { params: 1e9 }, precisions: ['file'], node: { deviceMemory: 1e9 } }), { name: 'RangeError', message: /'file' needs a model file/ });
  tt.end();
});

t.test('measureModelAsync: prefill and batched decode rates on this machine; an abort stops it', async (tt) => {
  const steps: string[] = [];
  const m = await measureModelAsync(untied, { batches: [1, 3], promptTokens: 8, steps: 3, onProgress: (_f, s) => steps.push(s) });
  tt.same(m.decode.map((d) => d.batch), [1, 3]);
  tt.ok(m.decode.every((d) => d.tokensPerSecond > 0 && Math.abs(d.tokensPerSecond - d.batch / d.stepSeconds) < 1e-6));
  tt.ok(m.prefill.tokensPerSecond > 0);
  tt.equal(m.file, 'untied.gguf');
  tt.equal(m.fileSize, fs.statSync(untied).size);
  tt.equal(m.kvBytesPerPosition, 2 * shape.layers * shape.headsKv * hd * 2);
  tt.ok(steps.includes('decode, batch 3'));
  const ac = new AbortController();
  ac.abort();
  await tt.rejects(measureModelAsync(untied, { signal: ac.signal }), { name: 'AbortError' });
  await tt.rejects(measureModelAsync(untied, { batches: [0] }), { name: 'RangeError', message: /batches/ });
});

t.test('lowbit measure --model, then lowbit plan --model FILE --machine', (tt) => {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');
  const out = path.join(dir, 'machine.json');
  const r = spawnSync(process.execPath, [cli, 'measure', '--model', untied, '--batch', '1,2', '--out', out], { encoding: 'utf8' });
  tt.equal(r.status, 0, r.stderr);
  tt.match(r.stdout, /\| batch \| decode tokens\/s/);
  const saved = JSON.parse(fs.readFileSync(out, 'utf8')) as MachineMeasurement;
  tt.same(saved.models![0].decode.map((d) => d.batch), [1, 2]);
  tt.same(saved.formats, {}, 'no format GEMVs unless asked');
  const p = spawnSync(process.execPath, [cli, 'plan', '--model', untied, '--machine', out, '--batch', '2', '--context', '512', '--target-tokens-per-second', '100', '--json'], { encoding: 'utf8' });
  tt.equal(p.status, 0, p.stderr);
  const j = JSON.parse(p.stdout);
  tt.equal(j.rows[0].precision, 'file');
  tt.equal(j.rows[0].bandwidthSource, 'measured model');
  // --cpu with a model file measures it now, at batch 1 and the plan's.
  const now = spawnSync(process.execPath, [cli, 'plan', '--model', untied, '--cpu', '--batch', '3', '--context', '128', '--json'], { encoding: 'utf8' });
  tt.equal(now.status, 0, now.stderr);
  const jn = JSON.parse(now.stdout);
  tt.equal(jn.rows[0].bandwidthSource, 'measured model');
  tt.equal(jn.node.kind, 'cpu');
  const bad = spawnSync(process.execPath, [cli, 'plan', '--model', path.join(dir, 'missing.gguf'), '--device-memory', '8GB'], { encoding: 'utf8' });
  tt.equal(bad.status, 2);
  tt.match(bad.stderr, /^lowbit: plan: .*missing\.gguf/);
  tt.end();
});
