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
  matmulAsync,
  openGGUF,
  prepare,
  quantizationError,
  quantize,
  quantizeAsync,
  setIsa,
  setThreads,
  writeGGUF,
  type Format,
  type QuantizedMatrix,
} from 'lowbit';
import { findPython, gaussian, randn, readF32, rng, tmpDir, writeF32, testedIsas } from './helpers';

const FORMATS = ['q4_k', 'q5_k', 'q6_k'] as const;
const BLOCK_BYTES = { q4_k: 144, q5_k: 176, q6_k: 210 };
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// Inputs that reach every branch of ggml's searches: all-zero and constant sub-blocks (max == min,
// amax below GROUP_MAX_EPS), one-signed blocks (min clamped to 0), single spikes, values on a grid
// (ties in nearest_int), and magnitudes from 1e-30 to 1e4 (larger ones overflow fp16 scales: refused).
const inputs: Record<string, (n: number, seed: number) => Float32Array> = {
  normal: (n, seed) => randn(n, seed),
  heavyTailed: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, () => gaussian(g) * Math.exp(1.5 * gaussian(g)));
  },
  zeroSubBlocks: (n, seed) => randn(n, seed).map((v, i) => (i % 96 < 40 ? 0 : v)),
  allZero: (n) => new Float32Array(n),
  constant: (n) => new Float32Array(n).fill(0.75),
  negativeConstant: (n) => new Float32Array(n).fill(-3),
  positive: (n, seed) => randn(n, seed).map(Math.abs),
  negative: (n, seed) => randn(n, seed).map((v) => -Math.abs(v) - 1),
  spikes: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => (i % 37 === 0 ? 50 * (g() - 0.5) : 0));
  },
  grid: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, () => Math.round(g() * 64 - 32) / 8);
  },
  tiny: (n, seed) => randn(n, seed).map((v) => v * 1e-30),
  large: (n, seed) => randn(n, seed).map((v) => v * 1e4),
};

interface Case {
  id: string;
  format: Format;
  input: string;
  rows: number;
  cols: number;
  w: Float32Array;
  q: QuantizedMatrix;
  m: number;
  x?: Float32Array;
}

const dir = tmpDir('lowbit-kq-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cases: Case[] = [];
let seed = 900;

function addCase(format: Format, input: string, rows: number, cols: number, m = 0): void {
  const w = inputs[input](rows * cols, seed++);
  const id = `k${cases.length}`;
  writeF32(path.join(dir, `${id}.w`), w);
  const c: Case = { id, format, input, rows, cols, w, q: quantize(w, rows, cols, { format }), m };
  if (m) {
    c.x = randn(m * cols, seed++).map((v, i) => (i % 17 === 0 ? v * 30 : v));
    writeF32(path.join(dir, `${id}.x`), c.x);
  }
  cases.push(c);
}
for (const format of FORMATS) {
  for (const input of Object.keys(inputs)) addCase(format, input, 5, 512);
  for (const m of [1, 3, 13, 33]) addCase(format, m % 2 ? 'heavyTailed' : 'normal', 37, 768, m);
}
const manifest = cases.map(({ id, format, rows, cols, m }) => ({ id, dir, format, rows, cols, m }));
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
execFileSync(findPython(), [path.join(__dirname, 'reference', 'kquants_ref.py'), path.join(dir, 'manifest.json')]);
const label = (c: Case) => `${c.format} ${c.input} ${c.rows}x${c.cols}`;

t.test('block bytes and dequantized values equal the NumPy port of ggml', async (t) => {
  for (const c of cases) {
    const base = path.join(dir, c.id);
    t.equal(c.q.byteLength, (c.rows * c.cols / 256) * BLOCK_BYTES[c.format as keyof typeof BLOCK_BYTES], `${label(c)}: byteLength`);
    t.equal(c.q.scales.length, 0, `${label(c)}: scales live in data`);
    const want = fs.readFileSync(`${base}.data`);
    const got = bytesOf(c.q.data);
    let bad = -1;
    for (let i = 0; i < want.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
    t.ok(got.length === want.length && bad < 0, `${label(c)}: data bytes (first difference at byte ${bad})`);
    const deq = dequantize(c.q), ref = readF32(`${base}.deq`);
    const badV = deq.findIndex((v, i) => !Object.is(v, ref[i]) && !(v === ref[i]));
    t.equal(badV, -1, `${label(c)}: dequantized values (first difference at ${badV}: ${deq[badV]} vs ${ref[badV]})`);
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

const readF64 = (f: string) => {
  const b = fs.readFileSync(f);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
};

for (const isa of testedIsas()) {
  t.test(`${isa}: matmul, int8 and float activations, against the references`, async (t) => {
    setIsa(isa);
    let worstF = 0, worstI = 0;
    for (const c of cases.filter((c) => c.m)) {
      const base = path.join(dir, c.id);
      const deq = readF32(`${base}.deq`);
      const n = c.rows, k = c.cols, nb = k / 32;
      // Float path: the kernels multiply the same float32 weights; each product rounds once and any order
      // of k fp32 additions adds at most (k - 1) * 2^-24 * sum |terms|: (k + 1) * 2^-24 * sum |x * w| bounds it.
      const tolF = (k + 1) * 2 ** -24;
      const yf = matmul(c.x!, c.q, { activations: 'float' });
      let badF = -1;
      for (let i = 0; i < c.m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0, mag = 0;
          for (let l = 0; l < k; l++) {
            const p = c.x![i * k + l] * deq[j * k + l];
            s += p;
            mag += Math.abs(p);
          }
          const e = Math.abs(yf[i * n + j] - s) / (tolF * mag + 1e-30);
          worstF = Math.max(worstF, e);
          if (e > 1 && badF < 0) badF = i * n + j;
        }
      }
      t.equal(badF, -1, `${label(c)} m=${c.m}: float path (first miss at ${badF})`);
      // int8 path (the default): the same exact integer sums per block as the reference; each block's
      // scale product rounds a few times and at most nb terms per lane plus the lane reduction are added
      // in fp32, so (2 nb + 16) * 2^-24 of the partials' magnitude bounds the difference.
      const yi = matmul(c.x!, c.q);
      const refI = readF64(`${base}.int8`), magI = readF64(`${base}.int8mag`);
      let badI = -1;
      for (let i = 0; i < c.m * n; i++) {
        const e = Math.abs(yi[i] - refI[i]) / ((2 * nb + 16) * 2 ** -24 * magI[i] + 1e-30);
        worstI = Math.max(worstI, e);
        if (e > 1 && badI < 0) badI = i;
      }
      t.equal(badI, -1, `${label(c)} m=${c.m}: int8 path (first miss ${badI}: ${yi[badI]} vs ${refI[badI]})`);
      t.same(matmul(c.x!, c.q, { activations: 'int8' }), yi, `${label(c)}: int8 is the default`);
      const p = prepare(c.q);
      t.equal(p.activations, 'int8');
      t.equal(p.layout, 'packed');
      // The packed tiles' kernels take the scalar kernel's float operations in its order (the SIMD
      // kernels on ggml's blocks do not), so on every set they give the scalar kernel's bits.
      const yp = matmul(c.x!, p);
      setIsa('scalar');
      const yScalar = matmul(c.x!, c.q);
      setIsa(isa);
      t.same(yp, yScalar, `${label(c)}: prepared (packed) gives the scalar kernel's bits`);
      p.dispose();
      const pf = prepare(c.q, { activations: 'float' });
      t.same(matmul(c.x!, pf), yf, `${label(c)}: prepared for float activations`);
      pf.dispose();
      t.same(await matmulAsync(c.x!, c.q), yi, `${label(c)}: matmulAsync`);
      const before = cpuInfo().threads;
      setThreads(1);
      t.same(matmul(c.x!, c.q), yi, `${label(c)}: 1 thread gives the same bits (int8)`);
      t.same(matmul(c.x!, c.q, { activations: 'float' }), yf, `${label(c)}: 1 thread gives the same bits (float)`);
      setThreads(before);
    }
    t.comment(`${isa}: worst error as a fraction of its bound: float ${worstF.toFixed(3)}, int8 ${worstI.toFixed(3)}`);
  });
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
  t.throws(() => quantize(randn(256, 1), 1, 256, { bits: 6 as 8 }), { constructor: RangeError, message: /options.bits must be 4 or 8 for format 'int' \(got 6\)/ });
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
