// 16-bit float matrices (f16, bf16): bytes against NumPy's float16 cast and an exact-comparison bfloat16
// reference (test/reference/half_ref.py), matmul on every kernel set within the float bound, prepared and
// async variants, and GGUF / safetensors F16 and BF16 tensors as zero-copy matrices.
import { execFileSync } from 'node:child_process';
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
  openSafetensors,
  prepare,
  quantize,
  setIsa,
  writeGGUF,
  writeSafetensors,
} from 'lowbit';
import { findPython, randn, readF32, tmpDir, writeF32, testedIsas } from './helpers';

const dir = tmpDir('lowbit-half-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// Values across float16's range: normals, subnormals (below 6.1e-5), ties of both formats' rounding,
// and the largest ones that still round to a finite value.
const rows = 24, cols = 320;
const w = randn(rows * cols, 5).map((v, i) => {
  switch (i % 7) {
    case 0: return v * 1e-6;                 // float16 subnormals
    case 1: return Math.max(-6e4, Math.min(6e4, v * 2e4));  // up to float16's top
    case 2: return 1 + (2 * (i % 13) + 1) * 2 ** -11;  // float16 ties between 1 and 2
    case 3: return 1 + (2 * (i % 11) + 1) * 2 ** -8;   // bfloat16 ties
    default: return v;
  }
});
w[5] = 65519; // rounds down to 65504
w[6] = -65519;
const wFile = path.join(dir, 'w.f32');
writeF32(wFile, w);
execFileSync(findPython(), [path.join(__dirname, 'reference', 'half_ref.py'), wFile, path.join(dir, 'ref')]);

for (const format of ['f16', 'bf16'] as const) {
  t.test(`${format}: bytes, values and options`, async (t) => {
    const q = quantize(w, rows, cols, { format });
    t.same([q.bits, q.granularity, q.groupSize, q.scaleType, q.scales.length, q.byteLength], [16, 'tensor', 0, 'float32', 0, 2 * rows * cols]);
    t.ok(bytesOf(q.data).equals(fs.readFileSync(path.join(dir, `ref.${format}`))), 'bytes equal the reference');
    const want = readF32(path.join(dir, `ref.${format}.f32`));
    const got = dequantize(q);
    t.equal(got.findIndex((v, i) => !Object.is(v, want[i])), -1, 'dequantized values exact');
    const f = formats().find((e) => e.format === format)!;
    t.same([f.bits, f.bitsPerWeight, f.activations], [16, 16, ['float']]);
    t.throws(() => quantize(w, rows, cols, { format, granularity: 'group' }), { constructor: RangeError, message: new RegExp(`granularity must be 'tensor' for format '${format}'`) });
    t.throws(() => matmul(randn(cols, 1), q, { activations: 'int8' }), { constructor: RangeError, message: /'int8' is not available for format/ });
    t.throws(() => matmul(randn(cols, 1), { ...q, data: q.data.subarray(2) }), { constructor: RangeError, message: new RegExp(`needs ${2 * rows * cols}`) });
    t.throws(() => matmul(randn(cols, 1), { ...q, scales: new Float32Array(1) }), { constructor: RangeError, message: /has no scales, so it must be empty/ });
  });
}

t.test('range: f16 refuses what rounds past 65504, bf16 what rounds past float32', async (t) => {
  t.throws(() => quantize(Float32Array.of(65520, 1), 1, 2, { format: 'f16' }), { constructor: RangeError, message: /float16's largest value, 65504/ });
  t.doesNotThrow(() => quantize(Float32Array.of(65519, -65519), 1, 2, { format: 'f16' }));
  t.throws(() => quantize(Float32Array.of(3.4e38, 1), 1, 2, { format: 'bf16' }), { constructor: RangeError, message: /bfloat16's largest value/ });
});

for (const isa of testedIsas()) {
  t.test(`${isa}: matmul within the float bound, prepared and async equal`, async (t) => {
    setIsa(isa);
    for (const format of ['f16', 'bf16'] as const) {
      const q = quantize(w, rows, cols, { format });
      const deq = dequantize(q);
      for (const m of [1, 5, 17]) {
        const x = randn(m * cols, 40 + m);
        const y = matmul(x, q);
        // Each product rounds once and any order of cols fp32 additions adds at most (cols - 1) * 2^-24 of
        // sum |x * w|: (cols + 1) * 2^-24 * sum |x * w| bounds the difference from the exact sum.
        let bad = -1;
        for (let i = 0; i < m && bad < 0; i++) {
          for (let j = 0; j < rows; j++) {
            let s = 0, mag = 0;
            for (let c = 0; c < cols; c++) {
              const p = x[i * cols + c] * deq[j * cols + c];
              s += p;
              mag += Math.abs(p);
            }
            if (Math.abs(y[i * rows + j] - s) > (cols + 1) * 2 ** -24 * mag + 1e-30) bad = i * rows + j;
          }
        }
        t.equal(bad, -1, `${format} m=${m}: within the bound`);
        const p = prepare(q);
        t.same([p.layout, p.activations], ['plain', 'float']);
        t.same(matmul(x, p), y, `${format} m=${m}: prepared`);
        p.dispose();
        t.same(await matmulAsync(x, q), y, `${format} m=${m}: async`);
      }
    }
  });
}
t.teardown(() => setIsa(cpuInfo().isas[0]));

t.test('GGUF and safetensors F16 / BF16 tensors are 16-bit matrices where they lie', async (t) => {
  const q16 = quantize(w, rows, cols, { format: 'f16' }), qb = quantize(w, rows, cols, { format: 'bf16' });
  const g = path.join(dir, 'h.gguf');
  writeGGUF(g, { tensors: { 'a.weight': q16, 'b.weight': qb } });
  const x = randn(3 * cols, 9);
  const f = openGGUF(g);
  t.same([f.info('a.weight').type, f.info('b.weight').type], ['F16', 'BF16']);
  for (const [name, q] of [['a.weight', q16], ['b.weight', qb]] as const) {
    const m = f.matrix(name);
    t.same([m.format, m.rows, m.cols], [q.format, rows, cols]);
    t.equal(m.data.buffer, f.bytes(name).buffer, `${name}: a view of the file`);
    t.same(matmul(x, m), matmul(x, q), `${name}: the same products`);
    t.ok(f.tensor(name) instanceof Float32Array, `${name}: tensor() still gives float32 values`);
  }
  f.close();
  const s = path.join(dir, 'h.safetensors');
  writeSafetensors(s, {
    'a.weight': { dtype: 'F16', shape: [rows, cols], data: new Uint16Array(q16.data.buffer, q16.data.byteOffset, rows * cols) },
    'b.weight': { dtype: 'BF16', shape: [rows, cols], data: new Uint16Array(qb.data.buffer, qb.data.byteOffset, rows * cols) },
    'c.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) },
  });
  const sf = openSafetensors(s);
  for (const [name, q] of [['a.weight', q16], ['b.weight', qb]] as const) {
    const m = sf.matrix(name);
    t.same([m.format, m.rows, m.cols], [q.format, rows, cols]);
    t.equal(m.data.buffer, sf.bytes(name).buffer, `${name}: a view of the file`);
    t.same(matmul(x, m), matmul(x, q), `${name}: the same products`);
  }
  t.throws(() => sf.matrix('c.weight'), { constructor: TypeError, message: /is F32 \[2, 2\]; matrix\(\) takes 2-D F16 or BF16/ });
  sf.close();
});
