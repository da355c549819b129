// What needs this machine's full attention or seconds of it: the probes, a measurement, a 235 MB
// quantize with the event loop watched, and the CLI's info command. `npm run test:integration`.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { cpuInfo, measureMachine, measureMachineAsync, quantize, quantizeAsync, setThreads } from 'lowbit';
import { randn } from '../helpers';

t.test('the event loop is not blocked by a 4096x14336 quantize', async (t) => {
  const rows = 4096, cols = 14336;
  const w = randn(rows * cols, 11);
  // One kernel thread, so a core is left for this thread (and the test runner's module loader, which it
  // waits on synchronously at times): on a 2-vCPU machine two busy kernel threads starve both.
  const threads = cpuInfo().threads;
  setThreads(1);
  t.teardown(() => setThreads(threads));
  await quantizeAsync(randn(64 * 64, 1), 64, 64, { bits: 4 });
  let ticks = 0;
  let done = false;
  const tick = () => { ticks++; if (!done) setImmediate(tick); };
  setImmediate(tick);
  const q = await quantizeAsync(w, rows, cols, { bits: 4, groupSize: 128 });
  done = true;
  t.ok(ticks > 10, `event loop turned ${ticks} times while quantizing`);
  const s = quantize(w, rows, cols, { bits: 4, groupSize: 128 });
  t.ok(Buffer.from(q.data).equals(Buffer.from(s.data)), 'same codes as the sync call');
  t.ok(Buffer.from(q.scales.buffer).equals(Buffer.from(s.scales.buffer)), 'same scales as the sync call');
});

t.test('measureMachine: a measurement of the format asked for', async (t) => {
  const m = measureMachine({ precisions: ['int4 g128'], matrixBytes: 4 << 20, repeats: 3 });
  t.equal(m.version, 1);
  t.ok(m.readBandwidth > 0 && m.memoryBytes > 0);
  const f = m.formats['int4 g128'];
  t.ok(f.bytesPerSecond > 0 && f.rows % 16 === 0 && f.cols === 8192);
  t.equal(f.matrixBytes, f.rows * f.cols * (4.25 / 8), "the format's own bytes");
});

t.test('measureMachineAsync: progress with the step under way, and the event loop turns', async (t) => {
  const steps = new Set<string>();
  let ticks = 0;
  let done = false;
  const tick = () => { ticks++; if (!done) setTimeout(tick, 5); };
  tick();
  const m = await measureMachineAsync({ precisions: ['q4_0'], matrixBytes: 64 * 2 ** 20, repeats: 3, onProgress: (_f, step) => steps.add(step) });
  done = true;
  t.ok(m.readBandwidth > 0 && m.formats.q4_0.bytesPerSecond > 0, 'a measurement');
  t.ok([...steps].some((s) => /read bandwidth/.test(s)) && [...steps].some((s) => /^q4_0: \d+ x 8192 GEMV/.test(s)), [...steps].join('; '));
  t.ok(ticks > 20, `the event loop turned ${ticks} times`);
  await t.rejects(measureMachineAsync({ precisions: ['int5'] }), { name: 'RangeError', message: /'int5' is not one of/ });
});

t.test('measureMachineAsync: an abort stops it promptly', async (t) => {
  const ac = new AbortController();
  const p = measureMachineAsync({ precisions: ['q4_0'], matrixBytes: 256 * 2 ** 20, signal: ac.signal });
  await new Promise((r) => setTimeout(r, 60));
  const t0 = performance.now();
  ac.abort();
  await t.rejects(p, { name: 'AbortError' });
  t.ok(performance.now() - t0 < 500, `settled ${(performance.now() - t0).toFixed(0)} ms after the abort`);
});

t.test('lowbit info: the limits of this machine, progress on stderr', async (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'dist', 'cli.js'), 'info', '--json'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const i = JSON.parse(r.stdout) as { isas: string[]; limits: { readGBps: number } };
  t.ok(i.isas.length > 0 && i.limits.readGBps > 0);
  t.match(r.stderr, /probing/, 'progress on stderr');
});
