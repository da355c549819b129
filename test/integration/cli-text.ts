// `lowbit run` and `lowbit chat` as a user runs them: run's stdout is the generation (the API's, token for
// token, when greedy) and stderr ends with the tokens/s line; bad files and flags exit 2 with one line;
// chat is driven through a pseudo-terminal (tmux) for two turns and ends on Ctrl-D. An integration test:
// it needs tmux and starts a few processes that each load the model.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadModel } from 'lowbit/llm';
import { tmpDir, writeTextModel } from '../helpers';

const dir = tmpDir('lowbit-cli-text-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'model.gguf');
writeTextModel(file, { template: 'zephyr', type: 'Q4_0', seed: 5 });
const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const lowbit = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const REPORT = /^lowbit: prompt (\d+) tokens in [\d.]+ ms \([\d.]+ tokens\/s\); generation (\d+) tokens in [\d.]+ ms \([\d.-]+ tokens\/s\); ended: (\w+)$/m;

t.test('run: N tokens on stdout, the API\'s greedy text; the tokens/s line on stderr', async (tt) => {
  const prompt = 'The quick brown fox';
  const r = lowbit('run', file, '-p', prompt, '-n', '12', '--temp', '0', '--ignore-eos', '--threads', '1');
  tt.equal(r.status, 0, r.stderr);
  const m = REPORT.exec(r.stderr);
  tt.ok(m, `a report line: ${r.stderr}`);
  tt.equal(m?.[2], '12', 'twelve tokens');
  tt.equal(m?.[3], 'length');
  const model = loadModel(file);
  const want = await model.generate(prompt, { temperature: 0, maxTokens: 12, ignoreEndOfGeneration: true }).text();
  tt.equal(r.stdout, `${want}\n`);
  // --chat wraps the prompt in the template; -f reads it from a file.
  const pf = path.join(dir, 'prompt.txt');
  fs.writeFileSync(pf, prompt);
  const rf = lowbit('run', file, '-f', pf, '-n', '12', '--temp', '0', '--ignore-eos');
  tt.equal(rf.stdout, r.stdout, '-f FILE');
  const rc = lowbit('run', file, '-p', prompt, '--chat', '-n', '4', '--seed', '3');
  tt.equal(rc.status, 0);
  const chatIds = model.tokenizer!.encodeChat([{ role: 'user', content: prompt }]);
  tt.equal(REPORT.exec(rc.stderr)?.[1], String(chatIds.length), '--chat: the template\'s tokens');
  model.dispose();
});

t.test('run: a bad file, flag or prompt exits 2 with one line', (tt) => {
  const cases: Array<[string[], RegExp]> = [
    [['run', path.join(dir, 'missing.gguf'), '-p', 'x'], /^lowbit: run: .*missing\.gguf.*(No such file|ENOENT)/],
    [['run', cli, '-p', 'x'], /^lowbit: run: .*(magic|GGUF)/i],
    [['run', file, '-p', 'x', '--top-p', '2'], /^lowbit: --top-p: '2' is not in \(0, 1\]$/],
    [['run', file, '-p', 'x', '--kv-type', 'q4'], /^lowbit: --kv-type: 'q4' is not f16 or q8_0$/],
    [['run', file, '-p', 'x', '--bogus'], /^lowbit: Unknown option '--bogus'$/],
    [['run', file], /^lowbit: run: give a prompt/],
    [['run', file, '-p', 'x', '--ctx', '1'], /^lowbit: run: the prompt's 2 tokens do not fit the context/],
    [['chat'], /^lowbit: chat: give one model file/],
  ];
  for (const [args, re] of cases) {
    const r = lowbit(...args);
    tt.equal(r.status, 2, args.join(' '));
    tt.equal(r.stderr.trim().split('\n').filter((l) => !/loading model/.test(l)).length, 1, `one line: ${r.stderr}`);
    tt.match(r.stderr.split('\n').filter((l) => !/loading model/.test(l))[0], re);
  }
  tt.end();
});

const tmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
t.test('chat through a pseudo-terminal: two turns, then Ctrl-D', { skip: tmux ? false : 'tmux is not installed' }, async (tt) => {
  const sock = `lowbit-test-${process.pid}`;
  const tm = (...a: string[]) => execFileSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
  const exit = path.join(dir, 'chat-exit');
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} chat ${JSON.stringify(file)} --temp 0 -n 6 --threads 1; echo $? > ${JSON.stringify(exit)}; sleep 30`;
  tm('new-session', '-d', '-s', 'chat', '-x', '200', '-y', '60', cmd);
  t.teardown(() => spawnSync('tmux', ['-L', sock, 'kill-server']));
  const pane = () => tm('capture-pane', '-p', '-t', 'chat', '-S', '-200');
  const until = async (what: string, ok: (s: string) => boolean) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = pane();
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const reports = (s: string) => s.split('\n').filter((l) => /generation \d+ tokens/.test(l)).length;
  const prompts = (s: string) => s.split('\n').filter((l) => l.startsWith('> ')).length + (s.trimEnd().endsWith('>') ? 1 : 0);
  await until('the prompt', (s) => /^> ?$/m.test(s));
  tm('send-keys', '-t', 'chat', 'Hello there', 'Enter');
  await until('the first reply', (s) => reports(s) === 1);
  tm('send-keys', '-t', 'chat', 'And then?', 'Enter');
  const after = await until('the second reply', (s) => reports(s) === 2);
  tt.ok(prompts(after) >= 2, 'a prompt per turn');
  tt.match(after, /> Hello there/);
  tt.match(after, /> And then\?/);
  tm('send-keys', '-t', 'chat', 'C-d');
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(exit) || fs.readFileSync(exit, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error(`chat did not exit on Ctrl-D:\n${pane()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  tt.equal(fs.readFileSync(exit, 'utf8').trim(), '0', 'exit code 0');
  // The second turn's prompt ran only the new tokens: the cache kept the first.
  const lines = after.split('\n').filter((l) => REPORT.test(l));
  const p1 = Number(REPORT.exec(lines[0])![1]);
  const p2 = Number(REPORT.exec(lines[1])![1]);
  tt.ok(p2 < p1 + 12, `second turn's prompt ${p2} tokens (first ${p1})`);
});
