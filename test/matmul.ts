// matmul against the independent NumPy reference (test/reference/matmul_ref.py), on every kernel
// set this machine can run, for every layout, both activation modes and m in {1, 2, 3, 7, 8, 33, 128}.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  cpuInfo,
  matmul,
  matmulAsync,
  prepare,
  quantize,
  setIsa,
  setThreads,
  type PreparedMatrix,
  type QuantizedMatrix,
  type QuantizeOptions,
} from 'lowbit';
import { findPython, randn, readF32, rng, tmpDir, writeF32, testedIsas } from './helpers';

const readF64 = (f: string) => {
  const b = fs.readFileSync(f);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
};

interface Case {
  id: string;
  q: QuantizedMatrix;
  x: Float32Array;
  m: number;
}

const dir = tmpDir('lowbit-mm-');
const cases: Case[] = [];
const manifest: object[] = [];
let seed = 100;
function addCase(rows: number, cols: number, m: number, opts: QuantizeOptions, heavy: boolean) {
  const r = rng(seed);
  const w = randn(rows * cols, seed++).map((v) => (heavy ? v * Math.exp(1.5 * (r() - 0.5)) : v));
  const x = randn(m * cols, seed++).map((v, i) => (i % 17 === 0 ? v * 30 : v)); // a few outlier channels
  const q = quantize(w, rows, cols, opts);
  const id = `mm${cases.length}`;
  const base = path.join(dir, id);
  writeF32(`${base}.x`, x);
  fs.writeFileSync(`${base}.data`, q.data);
  writeF32(`${base}.scales`, q.scales as Float32Array);
  if (q.zeros) fs.writeFileSync(`${base}.zeros`, q.zeros);
  cases.push({ id, q, x, m });
  manifest.push({ id, dir, rows, cols, m, bits: q.bits, scheme: q.scheme, granularity: q.granularity, groupSize: q.groupSize });
}

for (const bits of [2, 3, 4, 8] as const) {
  for (const scheme of ['symmetric', 'asymmetric'] as const) {
    const layouts: QuantizeOptions[] = [
      { bits, scheme, granularity: 'tensor' },
      { bits, scheme, granularity: 'row' },
      { bits, scheme, granularity: 'column' },
      { bits, scheme, groupSize: 32 },
      { bits, scheme, groupSize: 64 },
      { bits, scheme, groupSize: 128 },
    ];
    // 2- and 3-bit codes have no plain SIMD kernels (packed per call, or scalar), so fewer rows of x.
    const ms = bits < 4 ? [1, 3, 33] : [1, 2, 3, 7, 8, 33, 128];
    for (const opts of layouts) {
      for (const m of ms) addCase(37, 256, m, opts, m % 2 === 1);
    }
    // Shapes the SIMD kernels leave to the scalar path: odd cols, groups of 8.
    addCase(5, 45, 3, { bits, scheme, granularity: 'row' }, false);
    addCase(5, 40, 2, { bits, scheme, groupSize: 8 }, true);
  }
}

fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
execFileSync(findPython(), [path.join(__dirname, 'reference', 'matmul_ref.py'), path.join(dir, 'manifest.json')]);

const isas = testedIsas();
const initial = cpuInfo().isa;
// Prepared once on the best kernel set; every set below multiplies by the same packed bytes.
const prepared = new Map<string, PreparedMatrix>(cases.map((c) => [c.id, prepare(c.q)]));

for (const isa of isas) {
  t.test(`${isa}: every layout and m against NumPy`, async (t) => {
    setIsa(isa);
    t.equal(cpuInfo().isa, isa);
    let worstF = 0, worstI = 0;
    for (const c of cases) {
      const base = path.join(dir, c.id);
      const rows = c.q.rows;
      const nb = Math.ceil(c.q.cols / 32);
      // Float path: fp32 accumulation of k products errs by at most ~k * 2^-24 * sum |x * w^|;
      // the kernels add 8- or 4-lane partials, so 1e-5 * sum |x * w^| holds for k <= 256.
      const yf = matmul(c.x, c.q, { activations: 'float' });
      const ref = readF64(`${base}.float`), magF = readF64(`${base}.floatmag`);
      // int8 path: the same exact integer block sums as the reference; only the fp32 accumulation of
      // nb block terms (and lane partials) differs: within 2 * (nb + 8) * 2^-24 * sum |terms|.
      const yi = matmul(c.x, c.q, { activations: 'int8' });
      const refI = readF64(`${base}.int8`), magI = readF64(`${base}.int8mag`);
      // Prepared weights: the same integer sums, nb float terms added in order: the same bound.
      const yp = matmul(c.x, prepared.get(c.id)!);
      let badF = -1, badI = -1, badP = -1;
      for (let i = 0; i < c.m * rows; i++) {
        const ef = Math.abs(yf[i] - ref[i]) / (1e-5 * magF[i] + 1e-30);
        const ei = Math.abs(yi[i] - refI[i]) / (2 * (nb + 8) * 2 ** -24 * magI[i] * 1.01 + 1e-30);
        const ep = Math.abs(yp[i] - refI[i]) / (2 * (nb + 8) * 2 ** -24 * magI[i] * 1.01 + 1e-30);
        worstI = Math.max(worstI, ep);
        if (ep > 1 && badP < 0) badP = i;
        worstF = Math.max(worstF, ef);
        worstI = Math.max(worstI, ei);
        if (ef > 1 && badF < 0) badF = i;
        if (ei > 1 && badI < 0) badI = i;
      }
      const tag = `${c.id} int${c.q.bits} ${c.q.scheme} ${c.q.granularity}${c.q.groupSize || ''} ${c.m}x${c.q.cols}x${rows}`;
      t.equal(badF, -1, `${tag} float path within 1e-5 of sum|x*w^| (first miss at ${badF}: ${yf[badF]} vs ${ref[badF]})`);
      t.equal(badI, -1, `${tag} int8 path within its derived bound (first miss at ${badI}: ${yi[badI]} vs ${refI[badI]})`);
      t.equal(badP, -1, `${tag} prepared (${prepared.get(c.id)!.layout}) within the int8 bound (first miss at ${badP})`);
    }
    t.comment(`${isa}: worst error as a fraction of its bound: float ${worstF.toFixed(3)}, int8 ${worstI.toFixed(3)}`);
  });
}

t.test('results are bit-identical for every thread count', async (t) => {
  setIsa(initial);
  const c = cases.find((c) => c.m === 128 && c.q.bits === 4 && c.q.groupSize === 32)!;
  const before = cpuInfo().threads;
  const runs: Float32Array[][] = [];
  for (const n of [1, 2, 3, 5]) {
    setThreads(n);
    t.equal(cpuInfo().threads, n);
    runs.push([matmul(c.x, c.q, { activations: 'int8' }), matmul(c.x, c.q, { activations: 'float' })]);
  }
  setThreads(before);
  for (const r of runs.slice(1)) {
    t.ok(Buffer.from(r[0].buffer).equals(Buffer.from(runs[0][0].buffer)), 'int8 path');
    t.ok(Buffer.from(r[1].buffer).equals(Buffer.from(runs[0][1].buffer)), 'float path');
  }
});

t.test('prepared results are bit-identical for every thread count', async (t) => {
  setIsa(initial);
  const before = cpuInfo().threads;
  for (const c of cases.filter((c) => c.m >= 33)) {
    const p = prepared.get(c.id)!;
    const runs: Float32Array[] = [];
    for (const n of [1, 2, 3]) {
      setThreads(n);
      runs.push(matmul(c.x, p));
    }
    t.ok(runs.every((r) => Buffer.from(r.buffer).equals(Buffer.from(runs[0].buffer))), `${c.id} m=${c.m}`);
  }
  setThreads(before);
});

t.test('out is filled in place; inputs are not modified', async (t) => {
  const c = cases[10];
  const out = new Float32Array(c.m * c.q.rows);
  const x0 = c.x.slice(), d0 = c.q.data.slice(), s0 = c.q.scales.slice();
  const y = matmul(c.x, c.q, { out });
  t.equal(y, out, 'returns the out array');
  t.same(y, matmul(c.x, c.q));
  t.same(c.x, x0);
  t.same(c.q.data, d0);
  t.same(c.q.scales, s0);
});

t.test('the default activation mode is int8', async (t) => {
  const c = cases[20];
  t.same(matmul(c.x, c.q), matmul(c.x, c.q, { activations: 'int8' }));
});

t.test('many concurrent matmulAsync calls match the sync results', async (t) => {
  const picks = cases.filter((_, i) => i % 5 === 0);
  const modes = ['int8', 'float'] as const;
  const jobs = picks.flatMap((c) => modes.map((activations) => matmulAsync(c.x, c.q, { activations })));
  const got = await Promise.all(jobs);
  picks.forEach((c, i) => {
    modes.forEach((activations, k) => {
      t.ok(Buffer.from(got[2 * i + k].buffer).equals(Buffer.from(matmul(c.x, c.q, { activations }).buffer)), `${c.id} ${activations}`);
    });
  });
});

t.test('matmulAsync keeps its inputs alive when the caller drops them', async (t) => {
  const jobs: Promise<Float32Array>[] = [];
  const expect: Float32Array[] = [];
  for (let i = 0; i < 16; i++) {
    const w = randn(64 * 256, 900 + i);
    const x = randn(4 * 256, 950 + i);
    const q = quantize(w, 64, 256, { bits: 4, scheme: 'asymmetric' });
    expect.push(matmul(x, q));
    jobs.push(matmulAsync(x.slice(), { ...q, data: q.data.slice(), scales: q.scales.slice(), zeros: q.zeros!.slice() }));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const got = await Promise.all(jobs);
  got.forEach((y, i) => t.same(y, expect[i]));
});

t.teardown(() => {
  setIsa(initial);
  fs.rmSync(dir, { recursive: true, force: true });
});
