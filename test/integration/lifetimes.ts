// No JavaScript call may crash the process: async calls whose buffers are detached, resized or freed
// while they run, workers terminated with calls in flight, process.exit() mid-call. Each scenario runs
// in a child process (test/children/lifetimes.mjs) many times over; the child checks every result and
// the parent checks that it exited cleanly (code 0, no signal).
//
// The same scenarios against the code before this test existed (5690aaf, Node 20.20.2, 2-vCPU Zen 5), one
// iteration per process, 10 processes each: every worker termination aborted the process (10/10, all six
// entry points); SIGSEGV for a resizable input or output shrunk to 0 (quantizeAsync 10/10, matmulAsync x
// 8/10, out 10/10), a detached options.out or plain w.data (10/10), detached gptqAsync / awqAsync inputs
// (10/10), quantizeAsync weights (8/10), addAsync batch (5/10), prepareAsync q.data (2/10); a detached
// matmulAsync x read freed memory without faulting. The loops below repeat each 8-20 times per process.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';

const child = path.join(__dirname, 'children', 'lifetimes.mjs');

function run(scenario: string, n: number) {
  const r = spawnSync(process.execPath, ['--expose-gc', child, scenario, String(n)], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const cases: [string, number, string][] = [
  ['quantizeAsync: weights detached', 20, 'correct'],
  ['quantizeAsync: weights resized to 0', 20, 'correct'],
  ['prepareAsync: q.data detached', 20, 'correct'],
  ['prepareAsync: q.data of lowbit memory, structuredClone with transfer', 10, 'correct'],
  ['matmulAsync: x detached', 20, 'correct'],
  ['matmulAsync: x resized to 0', 20, 'correct'],
  ['matmulAsync: w.data detached (plain matrix in user memory)', 20, 'correct'],
  ['matmulAsync: options.out detached', 20, 'TypeError'],
  ['matmulAsync: options.out resized to 0', 20, 'TypeError'],
  ['matmulAsync: options.out in a SharedArrayBuffer', 5, 'correct'],
  ['gptqAsync: weights and hessian detached', 10, 'correct'],
  ['awqAsync: weights and activations detached', 10, 'correct'],
  ['CalibrationStats.addAsync: batch detached', 20, 'correct'],
  ['matmul: a getter detaches x while the arguments are read', 5, 'TypeError'],
  ['worker terminated during quantizeAsync', 8, 'terminated'],
  ['worker terminated during prepareAsync', 8, 'terminated'],
  ['worker terminated during matmulAsync', 8, 'terminated'],
  ['worker terminated during gptqAsync', 8, 'terminated'],
  ['worker terminated during awqAsync', 8, 'terminated'],
  ['worker terminated during addAsync', 8, 'terminated'],
];

for (const [scenario, n, outcome] of cases) {
  t.test(scenario, async (t) => {
    const r = run(scenario, n);
    t.equal(r.signal, null, `no signal (stderr: ${r.stderr.slice(-400)})`);
    t.equal(r.status, 0, `exit code 0 (stderr: ${r.stderr.slice(-400)})`);
    t.same(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}'), { outcomes: { [outcome]: n } }, `${n} x ${outcome}`);
  });
}

t.test('process.exit() with matmulAsync calls in flight exits with the code asked for', async (t) => {
  for (let i = 0; i < 5; i++) {
    const r = run('process.exit during matmulAsync', 1);
    t.equal(r.signal, null, 'no signal');
    t.equal(r.status, 7, 'exit code 7');
  }
});
