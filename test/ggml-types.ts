// The other ggml types GGUF files use (q2_k, q3_k, iq4_xs, q4_1, q5_0, q5_1, iq4_nl) against an
// independent NumPy port of ggml's quantizers (test/reference/ggml_types_ref.py, itself checked byte for
// byte against ggml's C): block bytes identical, dequantized values exact, matmul with int8 and float
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
  matmulAsync,
  openGGUF,
  prepare,
  quantizationError,
  quantize,
  setIsa,
  setThreads,
  writeGGUF,
  type Format,
  type QuantizedMatrix,
} from 'lowbit';
import { findPython, gaussian, randn, readF32, rng, tmpDir, writeF32, testedIsas } from './helpers';

// [bits, columns and bytes of a block, GGUF type id]
const TYPES = {
  q2_k: [2, 256, 84, 10],
  q3_k: [3, 256, 110, 11],
  iq4_xs: [4, 256, 136, 23],
  q4_1: [4, 32, 20, 3],
  q5_0: [5, 32, 22, 6],
  q5_1: [5, 32, 24, 7],
  iq4_nl: [4, 32, 18, 20],
} as const;
type NewFormat = keyof typeof TYPES;
const FORMATS = Object.keys(TYPES) as NewFormat[];
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// Inputs that reach every branch of ggml's searches: zero and constant blocks, one-signed blocks, single
// spikes, values on a grid and at the midpoints of IQ4's levels (ties), tiny and large magnitudes.
const IQ4 = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
const inputs: Record<string, (n: number, seed: number) => Float32Array> = {
  normal: (n, seed) => randn(n, seed),
  heavyTailed: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, () => gaussian(g) * Math.exp(1.5 * gaussian(g)));
  },
  zeroBlocks: (n, seed) => randn(n, seed).map((v, i) => (i % 96 < 40 ? 0 : v)),
  allZero: (n) => new Float32Array(n),
  constant: (n) => new Float32Array(n).fill(0.75),
  negative: (n, seed) => randn(n, seed).map((v) => -Math.abs(v) - 1),
  positive: (n, seed) => randn(n, seed).map(Math.abs),
  spikes: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => (i % 37 === 0 ? 50 * (g() - 0.5) : 0));
  },
  grid: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, () => Math.round(g() * 64 - 32) / 8);
  },
  levelMidpoints: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => {
      if (i % 32 === 0) return -127; // the block's extreme, so its scale is 1
      const j = Math.floor(g() * 15);
      return (IQ4[j] + IQ4[j + 1]) / 2;
    });
  },
  tiny: (n, seed) => randn(n, seed).map((v) => v * 1e-30),
  large: (n, seed) => randn(n, seed).map((v) => v * 1e3),
};

interface Case {
  id: string;
  format: NewFormat;
  input: string;
  rows: number;
  cols: number;
  w: Float32Array;
  q: QuantizedMatrix;
  m: number;
  x?: Float32Array;
}

const dir = tmpDir('lowbit-gt-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cases: Case[] = [];
let seed = 4200;

function addCase(format: NewFormat, input: string, rows: number, cols: number, m = 0): void {
  const w = inputs[input](rows * cols, seed++);
  const id = `g${cases.length}`;
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
execFileSync(findPython(), [path.join(__dirname, 'reference', 'ggml_types_ref.py'), path.join(dir, 'manifest.json')]);
const label = (c: Case) => `${c.format} ${c.input} ${c.rows}x${c.cols}`;

t.test('block bytes and dequantized values equal the NumPy port of ggml', async (t) => {
  for (const c of cases) {
    const base = path.join(dir, c.id);
    const [, bc, bb] = TYPES[c.format];
    t.equal(c.q.byteLength, (c.rows * c.cols / bc) * bb, `${label(c)}: byteLength`);
    t.equal(c.q.scales.length, 0, `${label(c)}: scales live in data`);
    const want = fs.readFileSync(`${base}.data`);
    const got = bytesOf(c.q.data);
    let bad = -1;
    for (let i = 0; i < want.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
    t.ok(got.length === want.length && bad < 0, `${label(c)}: data bytes (first difference at byte ${bad})`);
    const deq = dequantize(c.q), ref = readF32(`${base}.deq`);
    const badV = deq.findIndex((v, i) => !Object.is(v, ref[i]));
    t.equal(badV, -1, `${label(c)}: dequantized values (first difference at ${badV}: ${deq[badV]} vs ${ref[badV]})`);
    const e = quantizationError(c.w, c.q);
    t.ok(Number.isFinite(e.relativeError), `${label(c)}: quantizationError`);
  }
});

t.test('quantization error at a given width: the ggml types order as their bits and scales say', async (t) => {
  const w = randn(64 * 1024, 77);
  const err = (format: Format) => quantizationError(w, quantize(w, 64, 1024, { format })).relativeError;
  const e = Object.fromEntries((['q2_k', 'q3_k', 'q4_0', 'q4_1', 'iq4_nl', 'iq4_xs', 'q4_k', 'q5_0', 'q5_1', 'q5_k'] as Format[]).map((f) => [f, err(f)]));
  t.ok(e.q2_k > e.q3_k && e.q3_k > e.q4_k, `q2_k ${e.q2_k.toFixed(4)} > q3_k ${e.q3_k.toFixed(4)} > q4_k ${e.q4_k.toFixed(4)}`);
  t.ok(e.q4_1 < e.q4_0 && e.iq4_nl < e.q4_0, `q4_1 ${e.q4_1.toFixed(4)} and iq4_nl ${e.iq4_nl.toFixed(4)} below q4_0 ${e.q4_0.toFixed(4)}`);
  t.ok(e.q5_0 < e.q4_1 && e.q5_1 < e.q4_1, `q5_0 ${e.q5_0.toFixed(4)}, q5_1 ${e.q5_1.toFixed(4)} below q4_1`);
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
      // term rounds at most four times and at most nb terms per lane plus the lane reduction are added in
      // fp32, so (2 nb + 16) * 2^-24 of the partials' magnitude bounds the difference.
      const yi = matmul(c.x!, c.q);
      const refI = readF64(`${base}.int8`), magI = readF64(`${base}.int8mag`);
      const int8Miss = (y: Float32Array) => {
        let bad = -1;
        for (let i = 0; i < c.m * n; i++) {
          const e = Math.abs(y[i] - refI[i]) / ((2 * nb + 16) * 2 ** -24 * magI[i] + 1e-30);
          worstI = Math.max(worstI, e);
          if (e > 1 && bad < 0) bad = i;
        }
        return bad;
      };
      const badI = int8Miss(yi);
      t.equal(badI, -1, `${label(c)} m=${c.m}: int8 path (first miss ${badI}: ${yi[badI]} vs ${refI[badI]})`);
      const p = prepare(c.q);
      t.equal(p.activations, 'int8');
      t.equal(p.layout, 'packed');
      const yp = matmul(c.x!, p);
      setIsa('scalar');
      const yScalar = matmul(c.x!, p);
      setIsa(isa);
      if (c.format === 'iq4_nl') {
        // iq4_nl's blocks are q4_0's with a table: its plain and packed kernels are the table formats' own,
        // which sum a block's lanes in their own order, so the packed product is held to the same bound.
        t.equal(int8Miss(yp), -1, `${label(c)}: packed within the int8 bound`);
      } else {
        // No kernels on these blocks: an unprepared matrix is packed for the call, so prepared, unprepared
        // and the scalar kernel agree bit for bit.
        t.same(yp, yi, `${label(c)}: prepared equals unprepared`);
        t.same(yp, yScalar, `${label(c)}: the set gives the scalar kernel's bits`);
      }
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
    const dAt = { q2_k: 80, q3_k: 108 }[format as string] ?? 0;
    const bad = { ...q, data: q.data.slice() };
    bad.data[rowBytes + dAt] = 0x00;
    bad.data[rowBytes + dAt + 1] = 0x7c; // +Inf
    t.throws(() => dequantize(bad), { constructor: RangeError, message: /fp16 d is Infinity|scale/ }, `${format}: an infinite d`);
  }
  for (const [format, scale] of [['q4_1', 1e5], ['q5_1', 1e5], ['q5_0', 1e7], ['q2_k', 1e7], ['q3_k', 1e8], ['iq4_nl', 1e8], ['iq4_xs', 1e10]] as const) {
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
