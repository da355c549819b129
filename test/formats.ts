// The weight formats against the independent NumPy reference (test/reference/formats_ref.py):
// data, scales and tensor scale byte for byte, dequantized values exactly, matmul on every kernel
// set within derived bounds; fp8 exhaustively through the public API.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  cpuInfo,
  dequantize,
  formats,
  GGUF_TENSOR_TYPES,
  inspectModelFile,
  matmul,
  matmulAsync,
  openGGUF,
  prepare,
  quantizationError,
  quantize,
  quantizeAsync,
  setIsa,
  writeGGUF,
  type QuantizedMatrix,
  type QuantizeOptions,
} from 'lowbit';
import { findPython, gaussian, randn, readF32, rng, tmpDir, writeF32, testedIsas } from './helpers';

const readF64 = (f: string) => {
  const b = fs.readFileSync(f);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
};
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const inputs: Record<string, (n: number, seed: number) => Float32Array> = {
  normal: (n, seed) => randn(n, seed),
  heavyTailed: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, () => gaussian(g) * Math.exp(1.5 * gaussian(g)));
  },
  zeroBlocks: (n, seed) => randn(n, seed).map((v, i) => (i % 96 < 32 ? 0 : v)),
  tiny: (n, seed) => randn(n, seed).map((v) => v * 1e-30),
  // Values on every format's grid and their midpoints: exercises ties everywhere.
  ties: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => (i % 16 === 0 ? 6 : Math.round(g() * 48 - 24) / 4));
  },
};

interface Case {
  id: string;
  opts: QuantizeOptions;
  rows: number;
  cols: number;
  w: Float32Array;
  q: QuantizedMatrix;
  m: number;
  x?: Float32Array;
}

const dir = tmpDir('lowbit-fmt-');
const cases: Case[] = [];
const manifest: object[] = [];
let seed = 500;

function addCase(opts: QuantizeOptions, input: string, rows: number, cols: number, m = 0) {
  const w = inputs[input](rows * cols, seed++);
  const q = quantize(w, rows, cols, opts);
  const id = `f${cases.length}`;
  const base = path.join(dir, id);
  writeF32(`${base}.w`, w);
  const c: Case = { id, opts, rows, cols, w, q, m };
  if (m) {
    c.x = randn(m * cols, seed++).map((v, i) => (i % 17 === 0 ? v * 30 : v));
    writeF32(`${base}.x`, c.x);
  }
  cases.push(c);
  manifest.push({
    id, dir, rows, cols, m, format: q.format, bits: q.bits, scheme: q.scheme,
    granularity: q.granularity, groupSize: q.groupSize, scaleType: q.scaleType,
  });
}

const layouts: QuantizeOptions[] = [
  { format: 'q4_0' },
  { format: 'q8_0' },
  { format: 'nf4' },
  { format: 'nf4', groupSize: 16, scaleType: 'float16' },
  { format: 'nf4', granularity: 'row' },
  { format: 'nf4', granularity: 'column' },
  { format: 'nf4', granularity: 'tensor', scaleType: 'float16' },
  { format: 'fp8_e4m3' },
  { format: 'fp8_e4m3', groupSize: 32, granularity: 'group', scaleType: 'float16' },
  { format: 'fp8_e4m3', granularity: 'column' },
  { format: 'fp8_e5m2' },
  { format: 'fp8_e5m2', granularity: 'tensor', scaleType: 'float16' },
  { format: 'mxfp4' },
  { format: 'nvfp4' },
  { format: 'bnb_fp4' },
  { format: 'bnb_fp4', groupSize: 16, scaleType: 'float16' },
  { format: 'bnb_fp4', granularity: 'row' },
  { bits: 4, scaleType: 'float16' },
  { bits: 8, granularity: 'row', scaleType: 'float16' },
  { bits: 4, scheme: 'asymmetric', groupSize: 64, scaleType: 'float16' },
  { bits: 8, scheme: 'asymmetric', granularity: 'column', scaleType: 'float16' },
];
for (const opts of layouts) {
  for (const input of Object.keys(inputs)) addCase(opts, input, 6, 128);
  for (const m of [1, 3, 8, 33]) addCase(opts, m % 2 ? 'heavyTailed' : 'normal', 37, 256, m);
}

fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
execFileSync(findPython(), [path.join(__dirname, 'reference', 'formats_ref.py'), path.join(dir, 'manifest.json')]);

const label = (c: Case) => `${c.id} ${JSON.stringify(c.opts)} ${c.rows}x${c.cols}`;

t.test('data, scales, tensor scale and dequantized values match the NumPy reference', async (t) => {
  for (const c of cases) {
    const base = path.join(dir, c.id);
    t.ok(bytesOf(c.q.data).equals(fs.readFileSync(`${base}.data`)), `${label(c)}: data bytes`);
    t.ok(bytesOf(c.q.scales).equals(fs.readFileSync(`${base}.scales`)), `${label(c)}: scale bytes`);
    if (c.q.zeros) t.ok(bytesOf(c.q.zeros).equals(fs.readFileSync(`${base}.zeros`)), `${label(c)}: zero-points`);
    const meta = JSON.parse(fs.readFileSync(`${base}.meta.json`, 'utf8'));
    if (c.q.format === 'nvfp4') t.equal(c.q.tensorScale, meta.tensorScale, `${label(c)}: tensor scale`);
    else t.equal(c.q.tensorScale, undefined, `${label(c)}: no tensor scale`);
    const deq = dequantize(c.q), want = readF32(`${base}.deq`);
    // === equates -0 and +0 (NumPy keeps -0.0 from sign * 0.0; a code's value is the same number).
    const bad = deq.findIndex((v, i) => v !== want[i]);
    t.equal(bad, -1, `${label(c)}: dequantized values (first difference at ${bad}: ${deq[bad]} vs ${want[bad]})`);
    const scaleBytes = { float32: 4, float16: 2, e8m0: 1, e4m3: 1 }[c.q.scaleType];
    const expectBytes = c.q.data.length + c.q.scales.length * scaleBytes + (c.q.zeros?.length ?? 0) +
      (c.q.format === 'nvfp4' ? 4 : 0);
    t.equal(c.q.byteLength, expectBytes, `${label(c)}: byteLength`);
    // quantizationError against the reference's dequantized values, in float64.
    const e = quantizationError(c.w, c.q);
    let d2 = 0, w2 = 0, dmax = 0;
    for (let i = 0; i < want.length; i++) {
      const d = c.w[i] - want[i];
      d2 += d * d;
      w2 += c.w[i] * c.w[i];
      dmax = Math.max(dmax, Math.abs(d));
    }
    t.ok(Math.abs(e.relativeError - Math.sqrt(d2 / w2)) <= 1e-12 * Math.max(1, e.relativeError) && e.maxAbsError === dmax &&
      e.bytes === c.q.byteLength, `${label(c)}: quantizationError`);
  }
});

for (const isa of testedIsas()) {
  t.test(`${isa}: matmul of every format against NumPy`, async (t) => {
    setIsa(isa);
    let worstF = 0, worstI = 0;
    for (const c of cases.filter((c) => c.m)) {
      const base = path.join(dir, c.id);
      const n = c.rows, nb = c.cols / 32;
      // Float path: the kernels use the same dequantized weights; each product rounds at most once and
      // any order of k fp32 additions adds at most (k - 1) * 2^-24 * sum |terms|, so (k + 1) * 2^-24 *
      // sum |x * w^| bounds the error.
      const tolF = (c.cols + 1) * 2 ** -24;
      const yf = matmul(c.x!, c.q, { activations: 'float' });
      const ref = readF64(`${base}.float`), magF = readF64(`${base}.floatmag`);
      let badF = -1;
      for (let i = 0; i < c.m * n; i++) {
        const e = Math.abs(yf[i] - ref[i]) / (tolF * magF[i] + 1e-30);
        worstF = Math.max(worstF, e);
        if (e > 1 && badF < 0) badF = i;
      }
      t.equal(badF, -1, `${label(c)} m=${c.m}: float path (first miss ${badF}: ${yf[badF]} vs ${ref[badF]})`);
      const int8 = formats().find((f) => f.format === c.q.format)!.activations.includes('int8');
      if (!int8 || !fs.existsSync(`${base}.int8`)) continue;
      // int8 path: the same exact integer sums per segment (a block, or half of one for groups of 16);
      // only the fp32 accumulation of at most 2 nb terms plus lane partials differs.
      const yi = matmul(c.x!, c.q, { activations: 'int8' });
      const refI = readF64(`${base}.int8`), magI = readF64(`${base}.int8mag`);
      let badI = -1;
      for (let i = 0; i < c.m * n; i++) {
        const e = Math.abs(yi[i] - refI[i]) / (2 * (2 * nb + 8) * 2 ** -24 * magI[i] * 1.01 + 1e-30);
        worstI = Math.max(worstI, e);
        if (e > 1 && badI < 0) badI = i;
      }
      t.equal(badI, -1, `${label(c)} m=${c.m}: int8 path (first miss ${badI}: ${yi[badI]} vs ${refI[badI]})`);
      t.same(matmul(c.x!, c.q), yi, `${label(c)}: int8 is the default`);
      // Prepared (packed) weights: the same exact integer sums, the same bound.
      const p = prepare(c.q);
      const yp = matmul(c.x!, p);
      let badP = -1;
      for (let i = 0; i < c.m * n; i++) {
        if (Math.abs(yp[i] - refI[i]) > 2 * (2 * nb + 8) * 2 ** -24 * magI[i] * 1.01 + 1e-30 && badP < 0) badP = i;
      }
      t.equal(badP, -1, `${label(c)} m=${c.m}: prepared (${p.layout}) int8 path (first miss ${badP}: ${yp[badP]} vs ${refI[badP]})`);
      p.dispose();
    }
    t.comment(`${isa}: worst error as a fraction of its bound: float ${worstF.toFixed(3)}, int8 ${worstI.toFixed(3)}`);
  });
}
t.teardown(() => setIsa(cpuInfo().isas[0]));

// Spec values of every fp8 code, computed here from the format definitions.
function fp8Value(c: number, e4m3: boolean): number {
  const mbits = e4m3 ? 3 : 2, bias = e4m3 ? 7 : 15, emax = e4m3 ? 15 : 31;
  const sign = c & 0x80 ? -1 : 1, e = (c & 0x7f) >> mbits, m = c & ((1 << mbits) - 1);
  if (e4m3 && (c & 0x7f) === 0x7f) return NaN;
  if (!e4m3 && e === emax) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * (m / 2 ** mbits) * 2 ** (1 - bias);
  return sign * (1 + m / 2 ** mbits) * 2 ** (e - bias);
}

for (const format of ['fp8_e4m3', 'fp8_e5m2'] as const) {
  t.test(`${format}: all 256 codes decode to the spec's values and re-encode to themselves`, async (t) => {
    const e4m3 = format === 'fp8_e4m3';
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const q: QuantizedMatrix = {
      format, rows: 1, cols: 256, bits: 8, scheme: 'symmetric', granularity: 'tensor', groupSize: 0,
      scaleType: 'float32', data: codes, scales: new Float32Array([1]), zeros: null, byteLength: 260,
    };
    const v = dequantize(q);
    let wrong = 0;
    for (let c = 0; c < 256; c++) {
      const want = fp8Value(c, e4m3);
      if (!(Object.is(v[c], want) || (Number.isNaN(want) && Number.isNaN(v[c])))) wrong++;
    }
    t.equal(wrong, 0, 'decoded values (signed zeros, subnormals, max, Inf/NaN)');
    // With the format's max present the tensor scale is exactly 1, so quantize encodes each value itself.
    const finite = [...codes].filter((c) => Number.isFinite(fp8Value(c, e4m3)));
    const w = Float32Array.from(finite, (c) => fp8Value(c, e4m3));
    const back = quantize(w, 1, w.length, { format, granularity: 'tensor' });
    t.equal((back.scales as Float32Array)[0], 1);
    t.same([...back.data], finite, 'encode(decode(c)) === c for every non-NaN code');
    // Past the max saturates; never NaN or Inf from finite input.
    const big = quantize(new Float32Array([1, -1, 1e3, -1e30]), 1, 4, { format, granularity: 'tensor', scaleType: 'float32' });
    t.ok([...dequantize(big)].every(Number.isFinite), 'finite input gives finite values');
  });
}

t.test('q4_0 and q8_0: a hand-computed ggml block', async (t) => {
  // One block: x_i = i - 12 for i < 32 except x_5 = -20 (the largest magnitude, negative).
  const x = Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? -20 : i - 12));
  const q8 = quantize(x, 1, 32, { format: 'q8_0' });
  // d = 20 / 127 = 0.15748 -> fp16 0x310A (0.125 * (1 + 266 / 1024)); codes round(x / d) half away from
  // zero, with the fp32 d (ggml rounds d to fp16 only for storage).
  t.same([...q8.data.subarray(0, 2)], [0x0a, 0x31], 'q8_0 d as little-endian fp16');
  const id = 1 / Math.fround(20 / 127);
  t.same([...new Int8Array(q8.data.buffer, 2, 32)], [...x].map((v) => {
    const p = Math.fround(v * Math.fround(id));
    return Math.sign(p) * Math.floor(Math.abs(p) + 0.5);
  }), 'q8_0 codes');
  t.equal(q8.scales.length, 0, 'scales live in data');
  const q4 = quantize(x, 1, 32, { format: 'q4_0' });
  // d = max / -8 = 2.5 -> fp16 0x4100; q = min(15, trunc(x / 2.5 + 8.5)); byte j = q_j | q_{j+16} << 4.
  t.same([...q4.data.subarray(0, 2)], [0x00, 0x41], 'q4_0 d = -20 / -8 = 2.5');
  const qv = [...x].map((v) => Math.min(15, Math.trunc(Math.fround(v * 0.4) + 8.5)));
  t.same([...q4.data.subarray(2)], qv.slice(0, 16).map((lo, j) => lo | (qv[j + 16] << 4)), 'q4_0 nibbles');
  t.same([...dequantize(q4)], qv.map((q) => (q - 8) * 2.5), 'q4_0 values (q - 8) * d');
});

t.test('formats() lists every format with its footprint', async (t) => {
  const f = formats();
  t.same(f.map((e) => `${e.format}${e.format === 'int' ? e.bits : ''}`),
    ['int2', 'int3', 'int4', 'int8', 'q4_0', 'q8_0', 'nf4', 'fp8_e4m3', 'fp8_e5m2', 'mxfp4', 'nvfp4', 'bnb_fp4', 'q4_k', 'q5_k', 'q6_k',
     'q4_1', 'q5_0', 'q5_1', 'iq4_nl', 'iq4_xs', 'q2_k', 'q3_k', 'f16', 'bf16', 'tq1_0', 'tq2_0']);
  const bpw = Object.fromEntries(f.map((e) => [`${e.format}${e.format === 'int' ? e.bits : ''}`, e.bitsPerWeight]));
  t.equal(bpw.int2, 2 + 32 / 32);
  t.equal(bpw.int3, 3 + 32 / 32);
  t.equal(bpw.int4, 4 + 32 / 32);
  t.equal(bpw.q4_0, 4.5);
  t.equal(bpw.q8_0, 8.5);
  t.equal(bpw.nf4, 4 + 32 / 64);
  t.equal(bpw.bnb_fp4, 4 + 32 / 64);
  t.equal(bpw.mxfp4, 4.25);
  t.equal(bpw.nvfp4, 4.5 + 32 / 4096 / 4096);
  t.equal(bpw.fp8_e4m3, 8 + 32 / 4096);
  t.equal(bpw.q4_k, 144 * 8 / 256);
  t.equal(bpw.q5_k, 176 * 8 / 256);
  t.equal(bpw.q6_k, 210 * 8 / 256);
  t.equal(bpw.q2_k, 84 * 8 / 256);
  t.equal(bpw.q3_k, 110 * 8 / 256);
  t.equal(bpw.iq4_xs, 136 * 8 / 256);
  t.equal(bpw.q4_1, 5);
  t.equal(bpw.q5_0, 5.5);
  t.equal(bpw.q5_1, 6);
  t.equal(bpw.iq4_nl, 4.5);
  t.equal(bpw.f16, 16);
  t.equal(bpw.bf16, 16);
  t.equal(bpw.tq1_0, 54 * 8 / 256);
  t.equal(bpw.tq2_0, 66 * 8 / 256);
  t.equal(formats(1024).find((e) => e.format === 'fp8_e5m2')!.bitsPerWeight, 8 + 32 / 1024);
  for (const e of f) {
    const w = randn(64 * 256, 9);
    const q = quantize(w, 64, 256, e.format === 'int' ? { bits: e.bits } : { format: e.format });
    t.equal(q.format, e.format);
    t.equal(q.scaleType, e.scaleType);
    t.equal(q.groupSize, e.groupSize);
  }
  t.same(f.find((e) => e.format === 'fp8_e4m3')!.activations, ['float']);
  t.throws(() => formats(0), RangeError);
});

t.test("formats()' GGUF types and kernels drive the GGUF reader, writer and inspect", async (t) => {
  const f = formats();
  const ggml = f.filter((e) => e.ggmlType !== null);
  // Every ggml type lowbit reads is a format's ggmlType, F32, or MXFP4 (held as mxfp4, its scale bytes kept apart).
  t.same([...GGUF_TENSOR_TYPES].sort(), ['F32', 'MXFP4', ...ggml.map((e) => e.ggmlType!)].sort());
  t.same(
    Object.fromEntries(ggml.map((e) => [e.format, e.ggmlType])),
    { q4_0: 'Q4_0', q8_0: 'Q8_0', q4_k: 'Q4_K', q5_k: 'Q5_K', q6_k: 'Q6_K', q4_1: 'Q4_1', q5_0: 'Q5_0', q5_1: 'Q5_1',
      iq4_nl: 'IQ4_NL', iq4_xs: 'IQ4_XS', q2_k: 'Q2_K', q3_k: 'Q3_K', f16: 'F16', bf16: 'BF16', tq1_0: 'TQ1_0', tq2_0: 'TQ2_0' },
  );
  // How each format is stored; lowbit's own codes are exactly the formats without a GGUF type.
  const storage = Object.fromEntries(f.map((e) => [e.format, e.storage]));
  t.same(storage, {
    int: 'codes', q4_0: 'ggml blocks', q8_0: 'ggml blocks', nf4: 'codes', fp8_e4m3: 'codes', fp8_e5m2: 'codes',
    bnb_fp4: 'codes', mxfp4: 'codes', nvfp4: 'codes', q4_k: 'ggml blocks, decoded whole', q5_k: 'ggml blocks, decoded whole',
    q6_k: 'ggml blocks, decoded whole', q4_1: 'ggml blocks, decoded whole', q5_0: 'ggml blocks, decoded whole',
    q5_1: 'ggml blocks, decoded whole', iq4_nl: 'ggml blocks', iq4_xs: 'ggml blocks, decoded whole',
    q2_k: 'ggml blocks, decoded whole', q3_k: 'ggml blocks, decoded whole', f16: '16-bit floats', bf16: '16-bit floats',
    tq1_0: 'ggml blocks, decoded whole', tq2_0: 'ggml blocks, decoded whole',
  });
  for (const e of f) t.equal(e.storage === 'codes', e.ggmlType === null, `${e.format}: own codes iff no GGUF type`);
  const kernels = new Set(f.map((e) => e.kernel));
  t.same([...kernels].sort(), ['fp32, dequantized in registers', 'packed int8', 'packed int8, 16-level table', 'packed int8, block scales',
    'sgemm on 16-bit rows']);
  // Each block type written to a GGUF of its own type, read back as the same bytes, and reported with its kernel.
  const dir = tmpDir('lowbit-format-traits-');
  const file = path.join(dir, 'traits.gguf');
  const blocks = ggml.filter((e) => e.granularity === 'group');
  const tensors = Object.fromEntries(blocks.map((e, i) => [`w.${e.format}`, quantize(randn(4 * 256, 50 + i), 4, 256, { format: e.format })]));
  writeGGUF(file, { tensors });
  const g = openGGUF(file);
  try {
    for (const e of blocks) {
      t.equal(g.info(`w.${e.format}`).type, e.ggmlType, `${e.format}: written as ${e.ggmlType}`);
      const back = g.tensor(`w.${e.format}`) as QuantizedMatrix;
      t.equal(back.format, e.format);
      t.ok(bytesOf(back.data).equals(bytesOf(tensors[`w.${e.format}`].data)), `${e.format}: the same bytes`);
    }
  } finally {
    g.close();
  }
  const summary = inspectModelFile(file);
  for (const e of blocks) t.equal(summary.groups.find((x) => x.type === e.ggmlType)?.kernel, e.kernel, `inspect: ${e.ggmlType}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('async variants give the same results for every format', async (t) => {
  for (const c of cases.filter((c) => c.m === 3)) {
    const qa = await quantizeAsync(c.w, c.rows, c.cols, c.opts);
    t.ok(bytesOf(qa.data).equals(bytesOf(c.q.data)) && bytesOf(qa.scales).equals(bytesOf(c.q.scales)), label(c));
    t.same(await matmulAsync(c.x!, c.q), matmul(c.x!, c.q), `${label(c)}: matmulAsync`);
  }
});
