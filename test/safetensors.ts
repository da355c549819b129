// safetensors files: lowbit's reader and writer against an independent Python implementation
// (test/reference/safetensors_ref.py), every class of malformed header, random corruption, view lifetimes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsTensorInput } from 'lowbit';
import { checkBadFiles, findPython, randn, rng, tmpDir } from './helpers';

const dir = tmpDir('lowbit-st-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => path.join(dir, name);
const refScript = path.join(__dirname, 'reference', 'safetensors_ref.py');

interface RefFile {
  headerLength: number;
  metadata: Record<string, string>;
  tensors: Array<{ name: string; dtype: string; shape: number[]; offset: number; byteLength: number; sha256: string }>;
}
const ref = (cmd: 'read' | 'write', p: string): RefFile =>
  JSON.parse(execFileSync(findPython(), [refScript, cmd, p], { encoding: 'utf8' })) as RefFile;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function sameAsReference(tt: Test, f: SafetensorsFile, r: RefFile): void {
  tt.equal(f.headerLength, r.headerLength, 'header length');
  tt.same({ ...f.metadata }, r.metadata, 'metadata');
  tt.same(
    f.tensors.map((x) => [x.name, x.dtype, x.shape, x.offset, x.byteLength]),
    r.tensors.map((x) => [x.name, x.dtype, x.shape, x.offset, x.byteLength]),
    'tensor table in data order',
  );
  for (const x of r.tensors) tt.equal(sha256(f.bytes(x.name)), x.sha256, `${x.name} bytes`);
}

t.test('a file written by the reference reads back: every dtype as its typed array', (tt) => {
  const p = file('ref.safetensors');
  const r = ref('write', p);
  for (const mmap of [true, false]) {
    const f = openSafetensors(p, { mmap });
    tt.equal(f.mapped, mmap);
    sameAsReference(tt, f, r);
    const kinds: Record<string, string> = {
      F64: 'Float64Array', F32: 'Float32Array', F16: 'Uint16Array', BF16: 'Uint16Array', I64: 'BigInt64Array', I32: 'Int32Array',
      I16: 'Int16Array', I8: 'Int8Array', U64: 'BigUint64Array', U32: 'Uint32Array', U16: 'Uint16Array', U8: 'Uint8Array',
      BOOL: 'Uint8Array', F8_E4M3: 'Uint8Array', F8_E5M2: 'Uint8Array',
    };
    for (const info of f.tensors) {
      const a = f.tensor(info.name);
      tt.equal(a.constructor.name, kinds[info.dtype], `${info.name}: ${kinds[info.dtype]}`);
      tt.equal(a.length, info.shape.reduce((x, y) => x * y, 1), `${info.name}: element count`);
      tt.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(f.bytes(info.name))), `${info.name}: same bytes`);
      if (info.offset % a.BYTES_PER_ELEMENT === 0 && info.byteLength > 0) tt.equal(a.buffer, f.bytes(info.name).buffer, `${info.name}: zero-copy`);
    }
    const f64 = f.tensor('t00.f64') as Float64Array;
    const raw = f.bytes('t00.f64');
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    tt.ok(f64.every((v, i) => v === dv.getFloat64(i * 8, true)), 'F64 values (little-endian)');
    f.close();
  }
  tt.end();
});

t.test('writeSafetensors output reads back in the reference and in lowbit', (tt) => {
  const p = file('lowbit.safetensors');
  const w = randn(6, 1);
  writeSafetensors(
    p,
    {
      'model.layers.0.weight': { shape: [2, 3], data: w },
      'a.half': { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0xc000]) },
      ids: { shape: [2], data: new BigInt64Array([-1n, 5n]) },
      odd: { shape: [3], data: new Uint8Array([1, 2, 3]) },
      f: { shape: [1], data: new Float32Array([1.5]) },
      ['__proto__']: { shape: [1], data: new Int32Array([7]) },
    },
    { format: 'pt', quantization: 'none' },
  );
  const r = ref('read', p);
  tt.equal((8 + r.headerLength) % 8, 0, 'the data starts 8-byte aligned');
  tt.same(r.tensors.map((x) => x.dtype), ['F32', 'F16', 'I64', 'U8', 'F32', 'I32'], 'dtypes given or inferred');
  const f = openSafetensors(p);
  sameAsReference(tt, f, r);
  tt.same(f.tensor('model.layers.0.weight'), w);
  tt.same(f.tensor('__proto__'), new Int32Array([7]), 'a __proto__ name is a name');
  tt.same(f.tensor('f'), new Float32Array([1.5]), 'F32 after 3 bytes: unaligned, copied');
  // Rewriting what was read reproduces the reference's tensors.
  const q = file('ref.safetensors');
  ref('write', q);
  const g = openSafetensors(q);
  writeSafetensors(file('again.safetensors'), g.tensors.map((x): [string, SafetensorsTensorInput] => [x.name, { dtype: x.dtype, shape: x.shape, data: g.bytes(x.name) }]), { ...g.metadata });
  const h = openSafetensors(file('again.safetensors'));
  for (const x of g.tensors) tt.ok(Buffer.from(h.bytes(x.name)).equals(Buffer.from(g.bytes(x.name))), `${x.name} rewritten`);
  tt.throws(() => writeSafetensors(p, { x: { shape: [2], data: new Uint16Array(2) } }), { name: 'TypeError', message: /dtype is needed for a Uint16Array/ });
  tt.throws(() => writeSafetensors(p, { x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), { name: 'RangeError', message: /has 8 bytes; F32 of shape \[3\] takes 12/ });
  tt.throws(() => writeSafetensors(p, { x: { dtype: 'Q4' as 'F32', shape: [1], data: new Float32Array(1) } }), { name: 'RangeError', message: /'Q4' is not one of/ });
  tt.throws(() => writeSafetensors(p, { __metadata__: { shape: [1], data: new Float32Array(1) } }), { name: 'RangeError', message: /other than __metadata__/ });
  tt.throws(() => writeSafetensors(p, [['x', { shape: [1], data: new Float32Array(1) }], ['x', { shape: [1], data: new Float32Array(1) }]]), { message: /'x' is given twice/ });
  tt.throws(() => writeSafetensors(p, {}, { a: 1 as unknown as string }), { name: 'TypeError', message: /metadata\['a'\] must be a string/ });
  tt.end();
});

// A valid file assembled from a header object, so each case breaks one thing.
function build(header: unknown, data: Uint8Array, opts: { headerText?: string; lengthDelta?: number } = {}): Buffer {
  const text = Buffer.from(opts.headerText ?? JSON.stringify(header));
  const b = Buffer.alloc(8 + text.length + data.length);
  b.writeBigUInt64LE(BigInt(text.length + (opts.lengthDelta ?? 0)), 0);
  text.copy(b, 8);
  b.set(data, 8 + text.length);
  return b;
}

t.test('malformed files: a clear error naming the field, never a crash', (tt) => {
  const data = new Uint8Array(24);
  const good = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'I8', shape: [8], data_offsets: [16, 24] } };
  const with_ = (name: string, entry: unknown): unknown => ({ ...good, [name]: entry });
  const cases: Array<[string, Buffer, string, RegExp]> = [
    ['short file', Buffer.alloc(5), 'header length', /a safetensors file starts with an 8-byte header length/],
    ['length past the end', build(good, data, { lengthDelta: 1000 }), 'header length', /run past the end/],
    ['huge length', (() => { const b = build(good, data); b.writeBigUInt64LE(2n ** 63n, 0); return b; })(), 'header length', /run past the end/],
    ['not JSON', build(null, data, { headerText: '{"a": ' + ' '.repeat(40) }), 'header', /not valid JSON/],
    ['not UTF-8', build(null, data, { headerText: '{"\u00ff": 1}' }).fill(0xff, 10, 11), 'header', /not valid UTF-8/],
    ['array header', build([1, 2], data), 'header', /does not start with '\{'/],
    ['metadata not strings', build({ ...good, __metadata__: { a: 1 } }, data), '__metadata__["a"]', /must be a string/],
    ['metadata not object', build({ ...good, __metadata__: 'x' }, data), '__metadata__', /must be an object of strings/],
    ['entry not object', build(with_('a', 5), data), 'tensor "a"', /must be an object with dtype/],
    ['unknown dtype', build(with_('a', { dtype: 'Q4', shape: [4], data_offsets: [0, 16] }), data), 'tensor "a" dtype', /the string 'Q4' is not one of F64/],
    ['bad shape', build(with_('a', { dtype: 'F32', shape: [-1, 4], data_offsets: [0, 16] }), data), 'tensor "a" shape', /non-negative integers/],
    ['fractional shape', build(with_('a', { dtype: 'F32', shape: [1.5], data_offsets: [0, 16] }), data), 'tensor "a" shape', /non-negative integers/],
    ['bad offsets', build(with_('a', { dtype: 'F32', shape: [4], data_offsets: [16, 0] }), data), 'tensor "a" data_offsets', /0 <= begin <= end/],
    ['size mismatch', build(with_('a', { dtype: 'F32', shape: [5], data_offsets: [0, 16] }), data), 'tensor "a" data_offsets', /holds 16 bytes; F32 of shape \[5\] takes 20/],
    ['shape overflow', build(with_('a', { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] }), data), 'tensor "a" data_offsets', /takes 4835703278458516698824704/],
    ['past the end', build(with_('b', { dtype: 'I8', shape: [16], data_offsets: [16, 32] }), data), 'tensor "b" data_offsets', /runs past the data section/],
    ['overlap', build(with_('b', { dtype: 'I8', shape: [8], data_offsets: [8, 16] }), data), 'tensor "b" data_offsets', /overlaps the previous tensor/],
    ['hole', build(with_('b', { dtype: 'I8', shape: [4], data_offsets: [20, 24] }), data), 'tensor "b" data_offsets', /leaves a hole after byte 16/],
    ['trailing bytes', build(good, new Uint8Array(30)), 'data', /cover 24 of the 30 bytes/],
    ['truncated', build(good, data).subarray(0, 8 + JSON.stringify(good).length + 20), 'tensor "b" data_offsets', /runs past the data section/],
  ];
  // Not safetensors at all, or cut short; everything else is a bad header.
  const codes: Record<string, string> = {
    'array header': 'BAD_MAGIC', 'short file': 'TRUNCATED', 'length past the end': 'TRUNCATED', 'huge length': 'TRUNCATED',
    'past the end': 'TRUNCATED', truncated: 'TRUNCATED',
  };
  const p = file('case.safetensors');
  checkBadFiles(
    tt,
    cases.map(([what, bytes, field, message]) => ({ what, bytes, field, message, code: codes[what] ?? 'BAD_HEADER' })),
    p,
    openSafetensors,
    'safetensors',
    (err) => `openSafetensors: ${p}: ${err.field}: `,
  );
  fs.writeFileSync(file('good.safetensors'), build(good, data));
  tt.same(openSafetensors(file('good.safetensors')).tensors.map((x) => x.name), ['a', 'b'], 'the unbroken file opens');
  tt.throws(() => openSafetensors(file('none.safetensors')), { name: 'LowbitFileError', code: 'ENOENT', message: /openSafetensors: .*none\.safetensors: No such file or directory/ });
  tt.throws(() => openSafetensors(file('good.safetensors')).tensor('c'), { name: 'RangeError', message: /has no tensor 'c' \(it has 2: 'a', 'b'\)/ });
  tt.end();
});

t.test('random corruption: every file opens or is refused cleanly, and views stay inside the file', (tt) => {
  const p0 = file('fuzz-src.safetensors');
  ref('write', p0);
  const b0 = fs.readFileSync(p0);
  const g = rng(17);
  let opened = 0;
  let refused = 0;
  for (let i = 0; i < 1000; i++) {
    const b = Buffer.from(b0.subarray(0, g() < 0.2 ? Math.floor(g() * b0.length) : b0.length));
    const edits = 1 + Math.floor(g() * 4);
    for (let e = 0; e < edits && b.length > 0; e++) {
      // The length field and the JSON, where digits and quotes decide the most.
      const at = Math.floor(g() * Math.min(b.length, 8 + 1184));
      b[at] = g() < 0.5 ? '0123456789[]{}",: '.charCodeAt(Math.floor(g() * 18)) : Math.floor(g() * 256);
    }
    const p = file('fuzz.safetensors');
    fs.writeFileSync(p, b);
    let f: SafetensorsFile;
    try {
      f = openSafetensors(p);
    } catch (e) {
      if ((e as { name?: string }).name !== 'LowbitFileError' || !['BAD_MAGIC', 'TRUNCATED', 'BAD_HEADER'].includes((e as { code: string }).code)) throw e;
      refused++;
      continue;
    }
    opened++;
    for (const x of f.tensors) {
      const a = f.tensor(x.name);
      if (x.offset + a.byteLength > b.length) tt.fail(`${x.name} past the end`);
    }
  }
  tt.ok(opened > 0 && refused > 0, `${opened} opened, ${refused} refused`);
  tt.end();
});

t.test('views outlive close()', (tt) => {
  const p = file('life.safetensors');
  const w = randn(64, 2);
  writeSafetensors(p, { w: { shape: [64], data: w }, u: { shape: [2], data: new Float32Array(2) } });
  const f = openSafetensors(p);
  const v = f.tensor('w');
  f.close();
  tt.ok(f.closed);
  tt.same(v, w, 'a view taken before close still reads the file');
  tt.throws(() => f.tensor('u'), { message: /is closed/ }, 'a tensor not viewed before close() is gone');
  tt.end();
});
