// benchModel and `lowbit bench MODEL.gguf`: the report's arithmetic (tokens/s from runs, the roofline from
// the probe and the bytes a token reads, a token's time split), the options' checks and the CLI's output.
// Speed itself is measured by benchmarks, never asserted here. An integration test: every thread count
// of every call starts with the read probe (about 1.7 s each).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { cpuInfo } from 'lowbit';
import { benchModel, loadModel } from 'lowbit/llm';
import { tmpDir } from '../helpers';
import { writeRandomModel } from '../../scripts/random-model';

const dir = tmpDir('lowbit-llm-bench-');
const file = path.join(dir, 'bench.gguf');
writeRandomModel(file, { arch: 'llama', layers: 2, embd: 128, ff: 256, heads: 4, headsKv: 2, vocab: 300, types: { default: 'Q4_0' }, tokenizer: false, seed: 7 });
const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

t.test('benchModel: one result per test and thread count, the roofline and the time split consistent', (tt) => {
  const threadsBefore = cpuInfo().threads;
  const steps: string[] = [];
  const r = benchModel(file, { threads: [1, 2], pp: 24, tg: 6, repetitions: 3, onProgress: (s) => steps.push(s) });
  tt.equal(cpuInfo().threads, threadsBefore, 'the thread count is restored');
  tt.same(r.results.map((x) => `${x.test}${x.tokens}@${x.threads}`), ['pp24@1', 'tg6@1', 'pp24@2', 'tg6@2']);
  tt.equal(r.architecture, 'llama');
  const bytesPerToken = loadModel(file).info.bytesPerToken;
  for (const x of r.results) {
    tt.equal(x.runs.length, 3, `${x.test}@${x.threads}: three runs`);
    tt.ok(x.runs.every((v) => v > 0 && Number.isFinite(v)), 'every run a positive rate');
    const sorted = [...x.runs].sort((a, b) => a - b);
    tt.equal(x.tokensPerSecond, sorted[1], 'the median of the runs');
    tt.equal(x.bytesPerToken, bytesPerToken);
    tt.ok(x.readBandwidth > 1e8, 'the probe in bytes/s');
    const m = x.msPerToken;
    // The parts are timed inside the native pass and the call around it; together the run's wall time.
    tt.ok(Math.abs(m.matmul + m.attention + m.other + m.call - m.total) <= 1e-6 * m.total + 1e-9, 'parts add up to the total');
    tt.ok(m.matmul > 0 && m.attention >= 0 && m.other >= 0, 'time in products is measured');
    tt.ok(Math.abs(1000 / m.total - x.tokensPerSecond) / x.tokensPerSecond < 1e-9, 'the split is of the median run');
    if (x.test === 'tg') {
      tt.equal(x.rooflineTokensPerSecond, x.readBandwidth / bytesPerToken);
      tt.equal(x.rooflineFraction, x.tokensPerSecond / x.rooflineTokensPerSecond!);
    } else {
      tt.equal(x.rooflineFraction, undefined, 'no roofline for a prompt pass (not bound by reading weights)');
    }
  }
  tt.ok(steps.some((s) => s.startsWith('pp24, 2 threads')), 'progress names the test and threads');
  tt.end();
});

t.test('benchModel: options are checked', (tt) => {
  tt.throws(() => benchModel(file, { threads: [] }), TypeError);
  tt.throws(() => benchModel(file, { threads: [0] }), { name: 'RangeError', message: /options\.threads\[0\] must be an integer >= 1/ });
  tt.throws(() => benchModel(file, { pp: 1.5 }), { name: 'RangeError', message: /options\.pp/ });
  tt.throws(() => benchModel(file, { repetitions: 0 }), { name: 'RangeError', message: /options\.repetitions/ });
  tt.throws(() => benchModel(path.join(dir, 'none.gguf')), { name: 'LowbitFileError' });
  tt.end();
});

t.test('lowbit bench MODEL.gguf: a table, --json, and usage errors', (tt) => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'bench', ...args], { encoding: 'utf8' });
  const text = run(file, '--threads', '1', '--pp', '16', '--tg', '4', '--repetitions', '1');
  tt.equal(text.status, 0, text.stderr);
  tt.match(text.stdout, /llama, 0\.\d+B parameters/);
  tt.match(text.stdout, /\| pp16 +\| 1 +\|/);
  tt.match(text.stdout, /\| tg4 +\| 1 +\| [\d.]+ +\| [\d.]+ +\| [\d.]+ +\| \d+% /);
  const json = run(file, '--threads', '1,2', '--pp', '0', '--tg', '2', '--repetitions', '1', '--json');
  tt.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as ReturnType<typeof benchModel>;
  tt.same(report.results.map((x) => [x.test, x.threads]), [['tg', 1], ['tg', 2]], '--pp 0 skips the prompt test');
  const bad = run(file, '--threads', '0');
  tt.equal(bad.status, 2);
  tt.match(bad.stderr, /--threads: '0' is not an integer >= 1/);
  const missing = run(path.join(dir, 'none.gguf'));
  tt.equal(missing.status, 2);
  tt.match(missing.stderr, /^lowbit: bench: openGGUF: .*none\.gguf: /m);
  tt.end();
});
