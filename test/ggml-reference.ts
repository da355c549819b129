// The harness the ggml-type tests share (test/kquants.ts, test/ggml-types.ts): inputs that reach every
// branch of ggml's quantizers, cases written for a NumPy reference script (the kquants_ref.py manifest
// protocol), and the checks of bytes, dequantized values and matmul products against its outputs.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Test } from 'tap';
import { cpuInfo, dequantize, matmul, matmulAsync, prepare, quantize, setIsa, setThreads, type Format, type QuantizedMatrix } from 'lowbit';
import { findPython, gaussian, randn, readF32, rng, writeF32 } from './helpers';

// IQ4_NL / IQ4_XS's 16 levels: inputs at their midpoints reach best_index_int8's ties.
const IQ4 = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** All-zero and constant blocks, one-signed blocks, single spikes, values on a grid and at IQ4's midpoints (ties), tiny and large magnitudes. */
export const ggmlInputs: Record<string, (n: number, seed: number) => Float32Array> = {
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
  levelMidpoints: (n, seed) => {
    const g = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => {
      if (i % 32 === 0) return -127; // the block's extreme, so its scale is 1
      const j = Math.floor(g() * 15);
      return (IQ4[j] + IQ4[j + 1]) / 2;
    });
  },
  tiny: (n, seed) => randn(n, seed).map((v) => v * 1e-30),
  large: (n, seed) => randn(n, seed).map((v) => v * 1e4),
};

export interface GgmlCase {
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

export const caseLabel = (c: GgmlCase) => `${c.format} ${c.input} ${c.rows}x${c.cols}`;

/**
 * Every input at 5 x 512 and four products (m = 1, 3, 13, 33) at 37 x 768 per format, quantized by lowbit and
 * by `script` (a test/reference/ script of the manifest protocol), whose outputs land in `dir`.
 */
export function ggmlCases(dir: string, formats: readonly Format[], script: string, seed: number): GgmlCase[] {
  const cases: GgmlCase[] = [];
  const add = (format: Format, input: string, rows: number, cols: number, m = 0) => {
    const w = ggmlInputs[input](rows * cols, seed++);
    const id = `c${cases.length}`;
    writeF32(path.join(dir, `${id}.w`), w);
    const c: GgmlCase = { id, format, input, rows, cols, w, q: quantize(w, rows, cols, { format }), m };
    if (m) {
      c.x = randn(m * cols, seed++).map((v, i) => (i % 17 === 0 ? v * 30 : v));
      writeF32(path.join(dir, `${id}.x`), c.x);
    }
    cases.push(c);
  };
  for (const format of formats) {
    for (const input of Object.keys(ggmlInputs)) add(format, input, 5, 512);
    for (const m of [1, 3, 13, 33]) add(format, m % 2 ? 'heavyTailed' : 'normal', 37, 768, m);
  }
  const manifest = cases.map(({ id, format, rows, cols, m }) => ({ id, dir, format, rows, cols, m }));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  execFileSync(findPython(), [path.join(__dirname, 'reference', script), path.join(dir, 'manifest.json')]);
  return cases;
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const readF64 = (f: string) => {
  const b = fs.readFileSync(f);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
};

/** Bytes equal the reference's, dequantized values bit for bit; `blockBytes` maps a format to [columns, bytes] of a block. */
export function checkBlocks(t: Test, dir: string, cases: GgmlCase[], blockBytes: (f: Format) => [number, number]): void {
  for (const c of cases) {
    const base = path.join(dir, c.id);
    const [bc, bb] = blockBytes(c.format);
    t.equal(c.q.byteLength, ((c.rows * c.cols) / bc) * bb, `${caseLabel(c)}: byteLength`);
    t.equal(c.q.scales.length, 0, `${caseLabel(c)}: scales live in data`);
    const want = fs.readFileSync(`${base}.data`);
    const got = bytesOf(c.q.data);
    let bad = -1;
    for (let i = 0; i < want.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
    t.ok(got.length === want.length && bad < 0, `${caseLabel(c)}: data bytes (first difference at byte ${bad})`);
    const deq = dequantize(c.q), ref = readF32(`${base}.deq`);
    const badV = deq.findIndex((v, i) => !Object.is(v, ref[i]));
    t.equal(badV, -1, `${caseLabel(c)}: dequantized values (first difference at ${badV}: ${deq[badV]} vs ${ref[badV]})`);
  }
}

/**
 * On kernel set `isa`, every product case: the float path within its bound of the float64 product of the
 * reference's dequantized weights; the int8 path (the default) within its bound of the reference's exact
 * integer product; then `samePacked(c)` says whether the prepared (packed) product must equal the scalar
 * kernel's bits on the unprepared matrix (else it is held to the int8 bound); prepared for float activations,
 * async and one thread give the same bits.
 */
export async function checkProducts(t: Test, isa: string, dir: string, cases: GgmlCase[], samePacked: (c: GgmlCase) => boolean): Promise<void> {
  setIsa(isa as Parameters<typeof setIsa>[0]);
  let worstF = 0, worstI = 0;
  for (const c of cases.filter((c) => c.m)) {
    const base = path.join(dir, c.id);
    const deq = readF32(`${base}.deq`);
    const n = c.rows, k = c.cols, nb = k / 32, x = c.x!;
    // Float path: the kernels multiply the same float32 weights; each product rounds once and any order
    // of k fp32 additions adds at most (k - 1) * 2^-24 * sum |terms|: (k + 1) * 2^-24 * sum |x * w| bounds it.
    const tolF = (k + 1) * 2 ** -24;
    const yf = matmul(x, c.q, { activations: 'float' });
    let badF = -1;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, mag = 0;
        for (let l = 0; l < k; l++) {
          const p = x[i * k + l] * deq[j * k + l];
          s += p;
          mag += Math.abs(p);
        }
        const e = Math.abs(yf[i * n + j] - s) / (tolF * mag + 1e-30);
        worstF = Math.max(worstF, e);
        if (e > 1 && badF < 0) badF = i * n + j;
      }
    }
    t.equal(badF, -1, `${caseLabel(c)} m=${c.m}: float path (first miss at ${badF})`);
    // int8 path: the same exact integer sums per block as the reference; each block's term rounds a few
    // times and at most nb terms per lane plus the lane reduction are added in fp32, so (2 nb + 16) * 2^-24
    // of the partials' magnitude bounds the difference.
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
    const yi = matmul(x, c.q);
    const badI = int8Miss(yi);
    t.equal(badI, -1, `${caseLabel(c)} m=${c.m}: int8 path (first miss ${badI}: ${yi[badI]} vs ${refI[badI]})`);
    t.same(matmul(x, c.q, { activations: 'int8' }), yi, `${caseLabel(c)}: int8 is the default`);
    const p = prepare(c.q);
    t.same([p.activations, p.layout], ['int8', 'packed']);
    const yp = matmul(x, p);
    p.dispose();
    if (samePacked(c)) {
      setIsa('scalar');
      const yScalar = matmul(x, c.q);
      setIsa(isa as Parameters<typeof setIsa>[0]);
      t.same(yp, yScalar, `${caseLabel(c)}: prepared (packed) gives the scalar kernel's bits`);
    } else {
      t.equal(int8Miss(yp), -1, `${caseLabel(c)}: prepared (packed) within the int8 bound`);
    }
    const pf = prepare(c.q, { activations: 'float' });
    t.same(matmul(x, pf), yf, `${caseLabel(c)}: prepared for float activations`);
    pf.dispose();
    t.same(await matmulAsync(x, c.q), yi, `${caseLabel(c)}: matmulAsync`);
    const before = cpuInfo().threads;
    setThreads(1);
    t.same(matmul(x, c.q), yi, `${caseLabel(c)}: 1 thread gives the same bits (int8)`);
    t.same(matmul(x, c.q, { activations: 'float' }), yf, `${caseLabel(c)}: 1 thread gives the same bits (float)`);
    setThreads(before);
  }
  t.comment(`${isa}: worst error as a fraction of its bound: float ${worstF.toFixed(3)}, int8 ${worstI.toFixed(3)}`);
}
