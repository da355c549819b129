// The textbook example's table (per-tensor and per-channel INT8 / INT4 on its 512x512 outlier matrix),
// reproduced exactly.
import * as fs from 'node:fs';
import t from 'tap';
import { quantizationError, quantize, type QuantizeOptions } from 'lowbit';
import { fixturePath } from './helpers';

const buf = fs.readFileSync(fixturePath('outlier-512x512.f32'));
const W = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);

// name, options, rel_err, KiB, shrink_vs_fp16, exactly as the textbook prints them (axis=0 is per column).
const expected: [string, QuantizeOptions, string, string, string][] = [
  ['INT8 per-tensor', { bits: 8, granularity: 'tensor' }, '0.0702', '256.0', '2.0'],
  ['INT8 per-channel', { bits: 8, granularity: 'column' }, '0.0079', '258.0', '2.0'],
  ['INT4 per-tensor', { bits: 4, granularity: 'tensor' }, '0.4021', '128.0', '4.0'],
  ['INT4 per-channel', { bits: 4, granularity: 'column' }, '0.1450', '130.0', '3.9'],
];

t.test('the fixture is the textbook\'s matrix', async (t) => {
  t.equal(W.length, 512 * 512);
  const copy = W.slice();
  for (const [, opts] of expected) quantize(W, 512, 512, opts);
  t.same(Buffer.from(copy.buffer), Buffer.from(W.buffer.slice(W.byteOffset, W.byteOffset + W.byteLength)),
    'quantize never modifies its input');
});

for (const [name, opts, relErr, kib, shrink] of expected) {
  t.test(name, async (t) => {
    const q = quantize(W, 512, 512, opts);
    const e = quantizationError(W, q);
    t.equal(e.relativeError.toFixed(4), relErr, 'rel_err');
    t.equal((e.bytes / 1024).toFixed(1), kib, 'mem KiB');
    t.equal(e.shrinkVsFp16.toFixed(1), shrink, 'shrink vs fp16');
    t.equal(e.fp16Bytes, 512 * 512 * 2);
    t.equal(e.bytes, q.byteLength);
  });
}
