// QuantizedMatrix's byte layout version (docs/formats.md): every matrix lowbit makes says `layout: 2`. A
// 4-bit matrix of layout 1 (no `layout` field; nibbles interleaved, column c in byte c / 2) is refused with a
// message naming the version, and upgradeQuantizedMatrix converts it; the other widths were the same bytes
// in both layouts and load as they are.
import t from 'tap';
import { dequantize, formats, matmul, prepare, quantize, upgradeQuantizedMatrix, type QuantizedMatrix, type QuantizeOptions } from 'lowbit';
import { nibblesFromInterleaved, nibblesToInterleaved } from '../dist/io/nibble-order';
import { nibbleAt, randn, rng, sameBytes } from './helpers';

/** q's 4-bit rows as layout 1 held them: column c in byte c / 2, the low nibble when c is even. */
function interleaved(q: QuantizedMatrix): Uint8Array {
  const rb = Math.ceil(q.cols / 2);
  const out = new Uint8Array(q.rows * rb);
  for (let r = 0; r < q.rows; r++) {
    for (let c = 0; c < q.cols; c++) out[r * rb + (c >> 1)] |= nibbleAt(q.data, r * rb, q.cols, c) << ((c & 1) * 4);
  }
  return out;
}

function withoutLayout(q: QuantizedMatrix): QuantizedMatrix {
  const { layout: _, ...old } = q;
  return old;
}

// The formats whose 4-bit codes are lowbit's own nibbles; q4_0, iq4_nl and the K-quants are ggml's blocks.
const NIBBLES = new Set(['int', 'nf4', 'bnb_fp4', 'mxfp4', 'nvfp4']);

const cases: [string, number, number, QuantizeOptions][] = [];
for (const f of formats()) {
  if (f.format === 'int') {
    for (const bits of [2, 3, 4, 8] as const) cases.push([`int${bits}`, 4, 256, { bits }]);
  } else {
    cases.push([f.format, 4, 256, { format: f.format }]);
  }
}
// Rows that end in a shorter block: 13 columns (7 bytes), 1 column, 18 columns.
cases.push(['int4 45 cols', 3, 45, { bits: 4, groupSize: 15 }], ['int4 33 cols', 3, 33, { bits: 4, granularity: 'row' }]);
cases.push(['int4 50 cols asymmetric', 3, 50, { bits: 4, scheme: 'asymmetric', granularity: 'row' }]);

t.test('layout 2 on every matrix; layout 1 refused for 4-bit codes and upgraded, read as is otherwise', async (t) => {
  for (const [tag, rows, cols, opts] of cases) {
    const q = quantize(randn(rows * cols, cols), rows, cols, opts);
    t.equal(q.layout, 2, `${tag}: layout 2`);
    const x = randn(2 * cols, 7);
    const old = withoutLayout(q);
    if (q.bits === 4 && NIBBLES.has(q.format)) {
      const v1 = { ...old, data: interleaved(q) };
      const refused = /is a 4-bit matrix in byte layout 1 \(it has no layout field\), made by lowbit before 2026-12-06.*upgradeQuantizedMatrix\(q\) converts it to layout 2/;
      t.throws(() => dequantize(v1), { name: 'RangeError', message: refused }, `${tag}: dequantize refuses layout 1`);
      t.throws(() => matmul(x, v1), { name: 'RangeError', message: refused }, `${tag}: matmul refuses layout 1`);
      t.throws(() => prepare(v1), { name: 'RangeError', message: refused }, `${tag}: prepare refuses layout 1`);
      t.throws(() => dequantize({ ...v1, layout: 1 } as unknown as QuantizedMatrix), { name: 'RangeError', message: /in byte layout 1 \(layout: 1\)/ });
      const up = upgradeQuantizedMatrix(v1);
      t.equal(up.layout, 2, `${tag}: upgraded to layout 2`);
      t.ok(sameBytes(up.data, q.data), `${tag}: the upgraded codes are today's bytes`);
      t.equal(up.scales, q.scales, `${tag}: scales shared`);
      t.same(dequantize(up), dequantize(q), `${tag}: the same values`);
    } else {
      t.same(dequantize(old), dequantize(q), `${tag}: read as is without layout`);
      t.same(matmul(x, old), matmul(x, q), `${tag}: matmul as is without layout`);
      const up = upgradeQuantizedMatrix(old);
      t.equal(up.layout, 2);
      t.equal(up.data, q.data, `${tag}: upgrade keeps the same data`);
    }
    t.equal(upgradeQuantizedMatrix(q), q, `${tag}: a layout-2 matrix is returned as is`);
  }
});

t.test('bad layout values', async (t) => {
  const q = quantize(randn(4 * 64, 3), 4, 64, { bits: 8 });
  for (const bad of [3, 0, '2', null, 2.5]) {
    const m = { ...q, layout: bad } as unknown as QuantizedMatrix;
    t.throws(() => dequantize(m), { name: 'RangeError', message: /q.layout must be 2 \(this version's byte layout\) or absent/ }, `layout ${String(bad)}`);
    t.throws(() => upgradeQuantizedMatrix(m), { name: 'RangeError', message: /upgradeQuantizedMatrix: q.layout must be 1, 2 or absent/ });
  }
  t.throws(() => upgradeQuantizedMatrix(null as unknown as QuantizedMatrix), { name: 'TypeError', message: /q must be a QuantizedMatrix object \(got null\)/ });
  // A layout-1 4-bit matrix with a short data array: the upgrade's own check names the length.
  const q4 = withoutLayout(quantize(randn(4 * 64, 3), 4, 64, { bits: 4 }));
  t.throws(() => upgradeQuantizedMatrix({ ...q4, data: q4.data.subarray(1) }), RangeError);
});

t.test('the native reorder between the interleaved order and lowbit\'s, at every block width', async (t) => {
  const g = rng(11);
  for (const cols of [1, 2, 13, 16, 31, 32, 33, 45, 50, 64, 77, 96]) {
    const rows = 3, rb = Math.ceil(cols / 2);
    const codes = Array.from({ length: rows * cols }, () => Math.floor(g() * 16));
    const inter = new Uint8Array(rows * rb);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) inter[r * rb + (c >> 1)] |= codes[r * cols + c] << ((c & 1) * 4);
    const ours = nibblesFromInterleaved(inter, rows, cols);
    let same = true;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) same &&= nibbleAt(ours, r * rb, cols, c) === codes[r * cols + c];
    t.ok(same, `${cols} cols: every code where the docs put it`);
    if (cols % 2) {
      let pad = 0;
      for (let r = 0; r < rows; r++) pad |= ours[r * rb + Math.floor((cols % 32) / 2) + Math.floor(cols / 32) * 16] >> 4;
      t.equal(pad, 0, `${cols} cols: the last high nibble is 0`);
    }
    t.ok(sameBytes(nibblesToInterleaved(ours, rows, cols), inter), `${cols} cols: and back`);
  }
  t.throws(() => nibblesFromInterleaved(new Uint8Array(5), 2, 5), { name: 'RangeError', message: /data has 5 bytes; 2 rows of 5 4-bit codes need rows \* ceil\(cols \/ 2\)/ });
});
