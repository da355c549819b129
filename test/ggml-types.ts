// The other ggml types GGUF files use (q2_k, q3_k, iq4_xs, q4_1, q5_0, q5_1, iq4_nl, and the ternary tq1_0 and
// tq2_0) against an independent NumPy port of ggml's quantizers (test/reference/ggml_types_ref.py, itself
// checked byte for byte against ggml's C): block bytes identical, dequantized values exact, matmul with int8 and float
// activations on every kernel set within derived bounds, packed (prepared) equal to the scalar kernel,
// GGUF round trips read by the Python reference.
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
  setIsa,
  writeGGUF,
  type Format,
  type QuantizedMatrix,
} from 'lowbit';
import { checkBlocks, checkProducts, ggmlCases } from './ggml-reference';
import { findPython, randn, tmpDir, testedIsas } from './helpers';

// [bits, columns and bytes of a block, GGUF type id]
const TYPES = {
  q2_k: [2, 256, 84, 10],
  q3_k: [3, 256, 110, 11],
  iq4_xs: [4, 256, 136, 23],
  q4_1: [4, 32, 20, 3],
  q5_0: [5, 32, 22, 6],
  q5_1: [5, 32, 24, 7],
  iq4_nl: [4, 32, 18, 20],
  tq1_0: [2, 256, 54, 34],
  tq2_0: [2, 256, 66, 35],
} as const;
type NewFormat = keyof typeof TYPES;
const FORMATS = Object.keys(TYPES) as NewFormat[];
const dir = tmpDir('lowbit-gt-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cases = ggmlCases(dir, FORMATS, 'ggml_types_ref.py', 4200);

t.test('block bytes and dequantized values equal the NumPy port of ggml', async (t) => {
  checkBlocks(t, dir, cases, (f) => [TYPES[f as NewFormat][1], TYPES[f as NewFormat][2]]);
});

t.test('quantization error at a given width: the ggml types order as their bits and scales say', async (t) => {
  const w = randn(64 * 1024, 77);
  const err = (format: Format) => quantizationError(w, quantize(w, 64, 1024, { format })).relativeError;
  const e = Object.fromEntries((['q2_k', 'q3_k', 'q4_0', 'q4_1', 'iq4_nl', 'iq4_xs', 'q4_k', 'q5_0', 'q5_1', 'q5_k'] as Format[]).map((f) => [f, err(f)]));
  t.ok(e.q2_k > e.q3_k && e.q3_k > e.q4_k, `q2_k ${e.q2_k.toFixed(4)} > q3_k ${e.q3_k.toFixed(4)} > q4_k ${e.q4_k.toFixed(4)}`);
  t.ok(e.q4_1 < e.q4_0 && e.iq4_nl < e.q4_0, `q4_1 ${e.q4_1.toFixed(4)} and iq4_nl ${e.iq4_nl.toFixed(4)} below q4_0 ${e.q4_0.toFixed(4)}`);
  t.ok(e.q5_0 < e.q4_1 && e.q5_1 < e.q4_1, `q5_0 ${e.q5_0.toFixed(4)}, q5_1 ${e.q5_1.toFixed(4)} below q4_1`);
});

t.test('ternary: tq1_0 and tq2_0 hold the same values -d, 0, d in different bytes', async (t) => {
  const w = randn(16 * 512, 78);
  const a = quantize(w, 16, 512, { format: 'tq1_0' });
  const b = quantize(w, 16, 512, { format: 'tq2_0' });
  t.same([a.data.byteLength, b.data.byteLength], [16 * 2 * 54, 16 * 2 * 66]);
  const va = dequantize(a);
  t.same(va, dequantize(b), 'the same dequantized values');
  let off = 0;
  for (let blk = 0; blk < 32; ++blk) {
    const d = Math.max(...va.subarray(blk * 256, blk * 256 + 256).map(Math.abs));
    for (const v of va.subarray(blk * 256, blk * 256 + 256)) if (v !== 0 && Math.abs(v) !== d) ++off;
  }
  t.equal(off, 0, 'every value is -d, 0 or d of its block');
});

// No kernels on these types' own blocks: an unprepared matrix is packed for the call, so on every set the
// prepared and unprepared products give the scalar kernel's bits. iq4_nl's blocks are q4_0's with a table:
// its plain and packed kernels are the table formats' own, which sum a block's lanes in their own order.
for (const isa of testedIsas()) {
  t.test(`${isa}: matmul, int8 and float activations, against the references`, (t) =>
    checkProducts(t, isa, dir, cases, (c) => c.format !== 'iq4_nl'));
}
t.teardown(() => setIsa(cpuInfo().isas[0]));

t.test('formats(), options and malformed matrices', async (t) => {
  for (const format of FORMATS) {
    const [bits, bc, bb] = TYPES[format];
    const f = formats().find((e) => e.format === format)!;
    t.same([f.bits, f.groupSize, f.fixedGroupSize, f.scaleType, f.activations], [bits, bc, true, 'float16', ['int8', 'float']], format);
    t.equal(f.bitsPerWeight, (bb * 8) / bc, `${format}: bits per weight`);
    t.throws(() => quantize(randn(4 * (bc + 16), 1), 4, bc + 16, { format }), {
      constructor: RangeError,
      message: new RegExp(`cols \\(${bc + 16}\\) must be a multiple of the group size \\(${bc}\\), the block length of format '${format}'`),
    });
    t.throws(() => quantize(randn(256, 1), 1, 256, { format, bits: 8 }), { constructor: RangeError, message: new RegExp(`options.bits must be ${bits} for format '${format}'`) });
    const q = quantize(randn(2 * 256, 2), 2, 256, { format });
    const x = randn(256, 3);
    const rowBytes = (256 / bc) * bb;
    t.throws(() => matmul(x, { ...q, data: q.data.subarray(1) }), { constructor: RangeError, message: new RegExp(`needs ${2 * rowBytes}`) });
    t.throws(() => matmul(x, { ...q, scales: new Uint16Array(1) }), { constructor: RangeError, message: /keeps its scales in data, so it must be empty/ });
    // A non-finite fp16 d is refused where values are checked (dequantize).
    const dAt = { q2_k: 80, q3_k: 108, tq1_0: 52, tq2_0: 64 }[format as string] ?? 0;
    const bad = { ...q, data: q.data.slice() };
    bad.data[rowBytes + dAt] = 0x00;
    bad.data[rowBytes + dAt + 1] = 0x7c; // +Inf
    t.throws(() => dequantize(bad), { constructor: RangeError, message: /fp16 d is Infinity|scale/ }, `${format}: an infinite d`);
  }
  for (const [format, scale] of [['q4_1', 1e5], ['q5_1', 1e5], ['q5_0', 1e7], ['q2_k', 1e7], ['q3_k', 1e8], ['iq4_nl', 1e8], ['iq4_xs', 1e10],
    ['tq1_0', 1e5], ['tq2_0', 1e5]] as const) {
    t.throws(() => quantize(randn(256, 4).map((v) => v * scale), 1, 256, { format }), {
      constructor: RangeError,
      message: /a block's fp16 scale overflows/,
    }, `${format}: weights of ${scale} overflow its scales`);
  }
});

t.test('GGUF: written as ggml types, read by the Python reference and back by lowbit', async (t) => {
  const w = randn(8 * 512, 31);
  const qs = Object.fromEntries(FORMATS.map((f) => [`blk.0.${f}.weight`, quantize(w, 8, 512, { format: f })]));
  const p = path.join(dir, 'g.gguf');
  writeGGUF(p, { tensors: qs });
  const r = JSON.parse(execFileSync(findPython(), [path.join(__dirname, 'reference', 'gguf_ref.py'), 'read', p], { encoding: 'utf8' }));
  const f = openGGUF(p);
  const x = randn(2 * 512, 32);
  for (const format of FORMATS) {
    const name = `blk.0.${format}.weight`;
    const rt = r.tensors.find((e: { name: string }) => e.name === name);
    t.same([rt.typeId, rt.shape], [TYPES[format][3], [512, 8]], `${format}: type and shape in the reference`);
    t.equal(rt.sha256, createHash('sha256').update(qs[name].data).digest('hex'), `${format}: bytes are the matrix bytes`);
    t.ok(f.info(name).supported, `${format}: supported`);
    const back = f.tensor(name) as QuantizedMatrix;
    t.same([back.format, back.rows, back.cols, back.bits], [format, 8, 512, qs[name].bits], `${format}: tensor()`);
    t.equal(back.data.buffer, f.bytes(name).buffer, `${format}: zero-copy view of the file`);
    t.same(matmul(x, back), matmul(x, qs[name]), `${format}: the same products`);
  }
  f.close();
});
