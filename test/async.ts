// quantizeAsync runs off the JS thread: the event loop keeps turning while a
// 4096 x 14336 matrix (an LLM MLP projection) is quantized.
import t from 'tap';
import { quantize, quantizeAsync } from 'lowbit';
import { randn } from './helpers';

t.test('the event loop is not blocked by a 4096x14336 quantize', async (t) => {
  const rows = 4096, cols = 14336;
  const w = randn(rows * cols, 11);
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

t.test('many concurrent calls, inputs dropped by the caller, all settle', async (t) => {
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < 64; i++) {
    // The caller keeps no reference to the input: the worker must.
    jobs.push(quantizeAsync(randn(64 * 128, i), 64, 128, { bits: 8, scheme: 'asymmetric', granularity: 'row' }));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const results = await Promise.all(jobs);
  results.forEach((q, i) => {
    const s = quantize(randn(64 * 128, i), 64, 128, { bits: 8, scheme: 'asymmetric', granularity: 'row' });
    t.same(q, s, `job ${i}`);
  });
});
