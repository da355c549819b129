// The K-quants (q4_k, q5_k, q6_k) against an independent NumPy port of ggml's reference quantizers
// (test/reference/kquants_ref.py): block bytes identical, dequantized values exact, matmul with int8
// and float activations on every kernel set within derived bounds, prepared and async variants, GGUF
// round trips.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  cpuInfo,
  dequantize,
  formats,
  matmul,
  openGGUF,
  quantizationError,
  quantize,
  quantizeAsync,
  setIsa,
  setThreads,
  writeGGUF,
  type Format,
  type QuantizedMatrix,
} from 'lowbit';
import { caseLabel, checkBlocks, checkProducts, ggmlCases } from './ggml-reference';
import { findPython, randn, readF32, tmpDir, testedIsas } from './helpers';

const FORMATS = ['q4_k', 'q5_k', 'q6_k'] as const;
const BLOCK_BYTES = { q4_k: 144, q5_k: 176, q6_k: 210 };
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const dir = tmpDir('lowbit-kq-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cases = ggmlCases(dir, FORMATS, 'kquants_ref.py', 900);
const label = caseLabel;

t.test('block bytes and dequantized values equal the NumPy port of ggml', async (t) => {
  checkBlocks(t, dir, cases, (f) => [256, BLOCK_BYTES[f as keyof typeof BLOCK_BYTES]]);
  for (const c of cases) {
    const ref = readF32(path.join(dir, `${c.id}.deq`));
    const e = quantizationError(c.w, c.q);
    let d2 = 0, w2 = 0, dmax = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = c.w[i] - ref[i];
      d2 += d * d;
      w2 += c.w[i] * c.w[i];
      dmax = Math.max(dmax, Math.abs(d));
    }
    const rel = w2 > 0 ? Math.sqrt(d2 / w2) : d2 > 0 ? Infinity : 0;
    t.ok(Math.abs(e.relativeError - rel) <= 1e-12 * Math.max(1, rel) && e.maxAbsError === dmax, `${label(c)}: quantizationError`);
  }
});

t.test('quantizeAsync gives the same bytes; threads never change them', async (t) => {
  const before = cpuInfo().threads;
  for (const c of cases.filter((c) => c.m)) {
    const qa = await quantizeAsync(c.w, c.rows, c.cols, { format: c.format });
    t.ok(bytesOf(qa.data).equals(bytesOf(c.q.data)), `${label(c)}: async`);
    setThreads(1);
    t.ok(bytesOf(quantize(c.w, c.rows, c.cols, { format: c.format }).data).equals(bytesOf(c.q.data)), `${label(c)}: 1 thread`);
    setThreads(before);
  }
});

t.test('quantization error: q6_k < q5_k < q4_k < q4_0 on Gaussian weights', async (t) => {
  const w = randn(64 * 1024, 77);
  const err = (format: Format) => quantizationError(w, quantize(w, 64, 1024, { format })).relativeError;
  const [e4, e5, e6, e40] = [err('q4_k'), err('q5_k'), err('q6_k'), err('q4_0')];
  t.ok(e6 < e5 && e5 < e4 && e4 < e40, `q6_k ${e6.toFixed(4)} < q5_k ${e5.toFixed(4)} < q4_k ${e4.toFixed(4)} < q4_0 ${e40.toFixed(4)}`);
});

// The packed tiles' kernels take the scalar kernel's float operations in its order (the SIMD kernels on
// ggml's blocks do not), so on every set the prepared product gives the scalar kernel's bits.
for (const isa of testedIsas()) {
  t.test(`${isa}: matmul, int8 and float activations, against the references`, (t) => checkProducts(t, isa, dir, cases, () => true));
}
t.teardown(() => setIsa(cpuInfo().isas[0]));

t.test('formats(), options and malformed matrices', async (t) => {
  for (const format of FORMATS) {
    const f = formats().find((e) => e.format === format)!;
    t.same([f.bits, f.groupSize, f.fixedGroupSize, f.scaleType, f.activations], [{ q4_k: 4, q5_k: 5, q6_k: 6 }[format], 256, true, 'float16', ['int8', 'float']]);
    t.equal(f.bitsPerWeight, (BLOCK_BYTES[format] * 8) / 256);
    t.throws(() => quantize(randn(4 * 128, 1), 4, 128, { format }), {
      constructor: RangeError,
      message: new RegExp(`cols \\(128\\) must be a multiple of the group size \\(256\\), the block length of format '${format}'`),
    });
    t.throws(() => quantize(randn(256, 1), 1, 256, { format, bits: 8 }), { constructor: RangeError, message: new RegExp(`options.bits must be ${f.bits} for format '${format}'`) });
    t.throws(() => quantize(randn(256, 1), 1, 256, { format, groupSize: 32 }), { constructor: RangeError, message: /options.groupSize must be 256/ });
    const q = quantize(randn(2 * 256, 2), 2, 256, { format });
    const x = randn(256, 3);
    t.throws(() => matmul(x, { ...q, data: q.data.subarray(1) }), { constructor: RangeError, message: new RegExp(`needs ${2 * BLOCK_BYTES[format]}`) });
    t.throws(() => matmul(x, { ...q, scales: new Uint16Array(1) }), { constructor: RangeError, message: /keeps its scales in data, so it must be empty/ });
    // A non-finite fp16 d or dmin is refused where values are checked (dequantize).
    const bad = { ...q, data: q.data.slice() };
    const dAt = format === 'q6_k' ? 208 : 0;
    bad.data[BLOCK_BYTES[format] + dAt] = 0x00;
    bad.data[BLOCK_BYTES[format] + dAt + 1] = 0x7c; // +Inf
    t.throws(() => dequantize(bad), { constructor: RangeError, message: /block 1's fp16 d is Infinity; block scales must be finite/ });
  }
  for (const [format, scale] of [['q4_k', 1e7], ['q5_k', 1e7], ['q6_k', 1e9], ['q6_k', 1e14]] as const) {
    t.throws(() => quantize(randn(256, 4).map((v) => v * scale), 1, 256, { format }), {
      constructor: RangeError,
      message: /a block's fp16 scale overflows/,
    }, `${format}: weights of ${scale} overflow its scales`);
  }
  t.throws(() => quantize(randn(256, 1), 1, 256, { bits: 6 as 8 }), { constructor: RangeError, message: /options.bits must be 2, 3, 4 or 8 for format 'int' \(got 6\)/ });
});

t.test('GGUF: written as Q4_K / Q5_K / Q6_K, read by the Python reference and back by lowbit', async (t) => {
  const w = randn(8 * 512, 31);
  const qs = Object.fromEntries(FORMATS.map((f) => [`blk.0.${f}.weight`, quantize(w, 8, 512, { format: f })]));
  const p = path.join(dir, 'k.gguf');
  writeGGUF(p, { tensors: qs });
  const r = JSON.parse(execFileSync(findPython(), [path.join(__dirname, 'reference', 'gguf_ref.py'), 'read', p], { encoding: 'utf8' }));
  const ids = { q4_k: 12, q5_k: 13, q6_k: 14 };
  for (const format of FORMATS) {
    const name = `blk.0.${format}.weight`;
    const rt = r.tensors.find((x: { name: string }) => x.name === name);
    t.same([rt.typeId, rt.shape], [ids[format], [512, 8]], `${format}: type and shape in the reference`);
    t.equal(rt.sha256, createHash('sha256').update(qs[name].data).digest('hex'), `${format}: bytes are the matrix bytes`);
  }
  const f = openGGUF(p);
  const x = randn(2 * 512, 32);
  for (const format of FORMATS) {
    const name = `blk.0.${format}.weight`;
    const back = f.tensor(name) as QuantizedMatrix;
    t.same([back.format, back.rows, back.cols, back.bits], [format, 8, 512, qs[name].bits], `${format}: tensor()`);
    t.equal(back.data.buffer, f.bytes(name).buffer, `${format}: zero-copy view of the file`);
    t.same(matmul(x, back), matmul(x, qs[name]), `${format}: the same products`);
  }
  f.close();
});
