// Every option combination against the independent NumPy reference (test/reference/quant_ref.py),
// bit for bit: packed codes, scales, zero-points and dequantized values.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { dequantize, quantizationError, quantize, quantizeAsync, type Bits, type QuantizeOptions, type Scheme } from 'lowbit';
import { findPython, gaussian, randn, readF32, rng, tmpDir, writeF32 } from './helpers';

type Gen = (rows: number, cols: number, bits: Bits, scheme: Scheme, seed: number) => Float32Array;

const generators: Record<string, Gen> = {
  normal: (r, c, _b, _s, seed) => randn(r * c, seed),
  heavyTailed: (r, c, _b, _s, seed) => {
    // Gaussian scale mixture: kurtosis far above normal, occasional values 20-50x the median.
    const g = rng(seed);
    return Float32Array.from({ length: r * c }, () => gaussian(g) * Math.exp(1.5 * gaussian(g)));
  },
  nonNegative: (r, c, _b, _s, seed) => randn(r * c, seed).map(Math.abs),
  zeroGroups: (r, c, _b, _s, seed) => {
    const w = randn(r * c, seed);
    w.fill(0, 0, c); // row 0: a zero row, zero groups
    for (let i = 0; i < r; i++) w[i * c + 3] = 0; // column 3: a zero column
    w.fill(0, 2 * c, 2 * c + 16); // the first 16 values of row 2
    return w;
  },
  tiny: (r, c, _b, _s, seed) => randn(r * c, seed).map((x) => x * 1e-30),
  huge: (r, c, _b, _s, seed) => randn(r * c, seed).map((x) => x * 1e30),
  // Exact .5 ties: anchors make every scale exactly 1, other values are k + 0.5.
  ties: (r, c, bits, scheme, seed) => {
    const g = rng(seed);
    const qmax = 2 ** (bits - 1) - 1;
    const hi = qmax;
    const lo = scheme === 'symmetric' ? -qmax : -qmax - 1;
    const w = new Float32Array(r * c);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const d = (((j - i) % 8) + 8) % 8;
        w[i * c + j] = d === 0 ? hi : d === 4 ? lo : Math.floor(g() * 2 * qmax) - qmax + 0.5;
      }
    }
    return w;
  },
};

interface Case {
  id: string;
  rows: number;
  cols: number;
  bits: Bits;
  scheme: Scheme;
  granularity: string;
  groupSize?: number;
  input: string;
  opts: QuantizeOptions;
  w: Float32Array;
}

const dir = tmpDir('lowbit-ref-');
const cases: Case[] = [];
let seed = 1;
for (const [genName, gen] of Object.entries(generators)) {
  for (const bits of [2, 3, 4, 8] as Bits[]) {
    for (const scheme of ['symmetric', 'asymmetric'] as Scheme[]) {
      const layouts: [number, number, QuantizeOptions][] = [
        [9, 64, { bits, scheme, granularity: 'tensor' }],
        [9, 64, { bits, scheme, granularity: 'row' }],
        [9, 64, { bits, scheme, granularity: 'column' }],
        [9, 64, { bits, scheme, granularity: 'group', groupSize: 8 }],
        [9, 64, { bits, scheme }], // defaults: group of 32
        [9, 33, { bits, scheme, granularity: 'tensor' }], // odd cols: 4-bit rows end on a half byte
        [9, 33, { bits, scheme, granularity: 'row' }],
        [9, 33, { bits, scheme, granularity: 'column' }],
        // 4-bit: a last block of 13 columns (7 bytes: columns 32-38 low, 39-44 high) and one of 18 (9 bytes).
        [9, 45, { bits, scheme, granularity: 'group', groupSize: 15 }],
        [5, 50, { bits, scheme, granularity: 'row' }],
      ];
      for (const [rows, cols, opts] of layouts) {
        const id = `${genName}-${bits}-${scheme}-${opts.granularity ?? 'default'}${opts.groupSize ?? ''}-${cols}`;
        const w = gen(rows, cols, bits, scheme, seed++);
        const input = path.join(dir, `${id}.in`);
        writeF32(input, w);
        const granularity = opts.granularity ?? 'group';
        const groupSize = granularity === 'group' ? (opts.groupSize ?? 32) : undefined;
        cases.push({ id, rows, cols, bits, scheme, granularity, groupSize, input, opts, w });
      }
    }
  }
}

const manifest = path.join(dir, 'manifest.json');
fs.writeFileSync(manifest, JSON.stringify(cases.map(({ opts: _o, w: _w, ...c }) => c)));
const refOut = execFileSync(findPython(), [path.join(__dirname, 'reference', 'quant_ref.py'), manifest], {
  maxBuffer: 64 << 20,
});
const ref = new Map<string, { relativeError: number; maxAbsError: number }>(
  (JSON.parse(refOut.toString()) as { id: string; relativeError: number; maxAbsError: number }[]).map((r) => [r.id, r]),
);

const bits32 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

t.test('every option combination matches NumPy bit for bit', async (t) => {
  for (const c of cases) {
    const before = c.w.slice();
    const q = quantize(c.w, c.rows, c.cols, c.opts);
    const base = path.join(dir, c.id);
    t.same(bits32(c.w), bits32(before), `${c.id}: input unchanged`);
    t.equal(q.granularity, c.granularity, `${c.id}: granularity`);
    t.equal(q.groupSize, c.groupSize ?? 0, `${c.id}: groupSize`);
    t.ok(Buffer.from(q.data).equals(fs.readFileSync(`${base}.data`)), `${c.id}: packed codes`);
    t.ok(bits32(q.scales as Float32Array).equals(fs.readFileSync(`${base}.scales`)), `${c.id}: scales`);
    if (c.scheme === 'asymmetric') {
      t.ok(q.zeros && Buffer.from(q.zeros).equals(fs.readFileSync(`${base}.zeros`)), `${c.id}: zero-points`);
    } else {
      t.equal(q.zeros, null, `${c.id}: no zero-points`);
    }
    const deq = dequantize(q);
    // Numerically equal, element by element: NumPy's float codes keep round(-0.3) = -0.0 and
    // so yield -0.0 where a stored integer code yields +0.0; every other value must be identical.
    const refDeq = readF32(`${base}.deq`);
    const firstDiff = deq.findIndex((x, i) => x !== refDeq[i]);
    t.equal(firstDiff, -1, `${c.id}: dequantized values (first difference at ${firstDiff})`);
    t.notOk(deq.some((x) => !Number.isFinite(x)), `${c.id}: no NaN or Infinity`);
    const e = quantizationError(c.w, q);
    const r = ref.get(c.id)!;
    // Both sum the same float64 squares; only the summation order differs (n <= 600 terms).
    t.ok(Math.abs(e.relativeError - r.relativeError) <= 1e-12 * Math.max(1, r.relativeError), `${c.id}: relative error`);
    t.equal(e.maxAbsError, r.maxAbsError, `${c.id}: max abs error`);
    const expectBytes = q.data.length + 4 * q.scales.length + (q.zeros ? q.zeros.length : 0);
    t.equal(q.byteLength, expectBytes, `${c.id}: byteLength`);
  }
});

t.test('all-zero sets dequantize to exactly 0', async (t) => {
  for (const c of cases.filter((c) => c.id.startsWith('zeroGroups'))) {
    const deq = dequantize(quantize(c.w, c.rows, c.cols, c.opts));
    for (let i = 0; i < c.w.length; i++) if (c.w[i] === 0 && c.granularity !== 'tensor' && c.granularity !== 'row') {
      // a zero element in a zero set: row 0 (all granularities but column) or column 3 (column)
      const row = Math.floor(i / c.cols), col = i % c.cols;
      if ((c.granularity === 'column' && col === 3) || (c.granularity === 'group' && row === 0)) {
        t.equal(Object.is(deq[i], 0) || Object.is(deq[i], -0), true);
      }
    }
  }
});

t.test('quantizeAsync gives the same bytes as quantize', async (t) => {
  const picks = cases.filter((_, i) => i % 7 === 0);
  const results = await Promise.all(picks.map((c) => quantizeAsync(c.w, c.rows, c.cols, c.opts)));
  picks.forEach((c, i) => {
    const s = quantize(c.w, c.rows, c.cols, c.opts);
    t.same(results[i], s, c.id);
  });
});

t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
