// Every TypeScript block of the README and docs/ type-checks under `strict` and runs, as a user would
// paste it into an ES module of their own; and docs/api.md is what the TSDoc of lib/ says. The blocks run
// in a folder holding the files they open (model.gguf, tiny-llama.gguf, tinyllama-1.1b-chat-v1.0.Q4_0.gguf,
// a GPTQ checkpoint, machine.json).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { exportLinear, quantize, writeGGUF, writeSafetensors, type MachineMeasurement } from 'lowbit';
import { tmpDir, writeTextModel } from './helpers';
import { writeRandomModel } from '../scripts/random-model';

const root = path.join(__dirname, '..');
const pages = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block { page: string; line: number; code: string }
const blocks: Block[] = [];
for (const page of pages) {
  const lines = fs.readFileSync(path.join(root, page), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !lines[i + 1].startsWith('```')) i++;
    blocks.push({ page, line: start + 1, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
}

const work = tmpDir('lowbit-docs-');
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
const src = path.join(work, 'src'), out = path.join(work, 'out'), run = path.join(work, 'run');
for (const d of [src, out, run, path.join(work, 'node_modules')]) fs.mkdirSync(d, { recursive: true });
// `lowbit` resolves to this checkout (its package.json exports dist/), as an installed package would.
fs.symlinkSync(root, path.join(work, 'node_modules', 'lowbit'), 'dir');
fs.symlinkSync(path.join(root, 'node_modules', '@types'), path.join(work, 'node_modules', '@types'), 'dir');
const names = blocks.map((b, i) => `${b.page.replace(/[/.]/g, '_')}_${b.line}_${i}`);
blocks.forEach((b, i) => fs.writeFileSync(path.join(src, `${names[i]}.mts`), `${b.code}\nexport {};\n`));
fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
  compilerOptions: { strict: true, target: 'ES2022', module: 'node16', moduleResolution: 'node16', rootDir: 'src', outDir: 'out', types: ['node'], skipLibCheck: true },
  include: ['src'],
}));

// The files the blocks open.
const w = (rows: number, cols: number) => new Float32Array(rows * cols).map((_, i) => Math.sin(i * 0.37) * 0.1);
writeGGUF(path.join(run, 'model.gguf'), {
  metadata: { 'general.architecture': 'llama', 'general.name': 'docs example', 'llama.block_count': 1 },
  types: { 'llama.block_count': 'uint32' },
  tensors: {
    'blk.0.attn_q.weight': quantize(w(256, 256), 256, 256, { format: 'q4_0' }),
    'blk.0.ffn_down.weight': quantize(w(256, 512), 256, 512, { format: 'q4_k' }),
    'output_norm.weight': { type: 'F32', shape: [256], data: new Float32Array(256).fill(1) },
  },
});
// A chat model's name for the text examples: a small llama with the SentencePiece vocabulary trained for
// the tokenizer tests and TinyLlama's chat template (Zephyr's).
writeTextModel(path.join(run, 'tinyllama-1.1b-chat-v1.0.Q4_0.gguf'), { template: 'zephyr', type: 'Q4_0', seed: 1 });
writeRandomModel(path.join(run, 'tiny-llama.gguf'), { arch: 'llama', layers: 2, embd: 128, ff: 256, heads: 4, headsKv: 2, vocab: 32000, name: 'docs example' });
const gptq = exportLinear(quantize(w(128, 256), 128, 256, { bits: 4, groupSize: 128, scaleType: 'float16' }), { layout: 'gptq', prefix: 'model.layers.0.mlp.down_proj' });
fs.mkdirSync(path.join(run, 'gptq-model'));
writeSafetensors(path.join(run, 'gptq-model', 'model.safetensors'), gptq.tensors);
fs.writeFileSync(path.join(run, 'gptq-model', 'quantize_config.json'), JSON.stringify(gptq.quantization_config));
const machine: MachineMeasurement = {
  version: 1, date: '2026-12-04T00:00:00.000Z', cpu: 'example CPU', arch: 'x64', isa: 'avx2', threads: 2, memoryBytes: 64e9,
  readBandwidth: 40e9, formats: { 'int4 g128': { bytesPerSecond: 36e9, matrixBytes: 534773760, rows: 122880, cols: 8192, medianSeconds: 0.01485 } },
};
fs.writeFileSync(path.join(run, 'machine.json'), JSON.stringify(machine));

t.test('every TypeScript block of the README and docs/ type-checks under strict', async (t) => {
  t.ok(blocks.length >= 10, `${blocks.length} blocks in ${pages.length} pages`);
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', work], { encoding: 'utf8' });
  // Errors name the block's page and line through the file name.
  t.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

t.test('every TypeScript block of the README and docs/ runs', async (t) => {
  // One process imports the blocks one after another (a Node start and a load of lowbit each would make
  // this the slowest test file); each block's outcome is reported on its own.
  const runner = path.join(work, 'run-all.mjs');
  fs.writeFileSync(runner, `
    const results = [];
    for (const name of ${JSON.stringify(names)}) {
      try {
        await import(${JSON.stringify(out)} + '/' + name + '.mjs');
        results.push(null);
      } catch (e) {
        results.push(String(e && e.stack || e));
      }
    }
    process.stderr.write('\\n' + JSON.stringify(results) + '\\n');
  `);
  const r = spawnSync(process.execPath, [runner], { cwd: run, encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stderr.slice(-600));
  const results = JSON.parse(r.stderr.trim().split('\n').pop() ?? '[]') as Array<string | null>;
  blocks.forEach((b, i) => t.equal(results[i], null, `${b.page}:${b.line} runs`));
});

t.test('docs/api.md is what the TSDoc of lib/ says', async (t) => {
  const check = spawnSync(process.execPath, [path.join(root, 'scripts', 'api-docs.js'), '--check'], { encoding: 'utf8' });
  t.equal(check.status, 0, check.stderr);
});

t.test('the README is a front door: short, with install, test and start', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  t.ok(readme.split('\n').length <= 250, `${readme.split('\n').length} lines`);
  for (const c of ['npm install', 'npm test', 'npm start']) t.ok(readme.includes(c), c);
  // Every relative link points at a file of the repository.
  for (const page of pages) {
    const text = fs.readFileSync(path.join(root, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#:\s]+)(#[^)]*)?\)/g)) {
      t.ok(fs.existsSync(path.join(root, path.dirname(page), target)), `${page}: link to ${target}`);
    }
  }
  execFileSync('git', ['ls-files', '--error-unmatch', 'LICENSE', 'CHANGELOG.md'], { cwd: root, stdio: 'ignore' });
});
