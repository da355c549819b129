// GGUF files: lowbit's reader and writer against an independent Python implementation of the format
// (test/reference/gguf_ref.py), round trips, every class of malformed file, mapping lifetimes and cost.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import t, { type Test } from 'tap';
import { dequantize, LowbitFileError, matmul, openGGUF, prepare, quantize, writeGGUF, type GGUFFile, type GGUFTensorInput, type GGUFValue, type QuantizedMatrix } from 'lowbit';
import { checkBadFiles, findPython, randn, rng, tmpDir } from './helpers';

const dir = tmpDir('lowbit-gguf-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => path.join(dir, name);
const refScript = path.join(__dirname, 'reference', 'gguf_ref.py');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface RefFile {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: Record<string, [string, unknown]>;
  tensors: Array<{ name: string; typeId: number; shape: number[]; offset: number; byteLength: number; sha256: string; dequantized?: string }>;
}

function ref(cmd: 'read' | 'write', p: string): RefFile {
  return JSON.parse(execFileSync(findPython(), [refScript, cmd, p], { encoding: 'utf8' })) as RefFile;
}

// A JS value in the reference's JSON form: 64-bit integers as decimal strings, floats as float64 bit patterns.
function refForm(type: string, v: unknown): unknown {
  const elem = /^array<(\w+)>$/.exec(type)?.[1];
  if (elem !== undefined) return Array.from(v as ArrayLike<unknown>, (x) => refForm(elem, x));
  if (type === 'uint64' || type === 'int64') return String(v);
  if (type === 'float32' || type === 'float64') {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v as number);
    return b.toString('hex');
  }
  return v;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function expectSameAsReference(tt: Test, f: GGUFFile, r: RefFile): void {
  tt.equal(f.version, r.version, 'version');
  tt.equal(f.alignment, r.alignment, 'alignment');
  tt.equal(f.dataOffset, r.dataOffset, 'data offset');
  tt.same(Object.keys(f.metadata), Object.keys(r.metadata), 'keys in file order');
  for (const [k, [type, value]] of Object.entries(r.metadata)) {
    tt.equal(f.metadataTypes[k], type, `type of ${k}`);
    tt.same(refForm(type, f.metadata[k]), value, `value of ${k}`);
  }
  tt.equal(f.tensors.length, r.tensors.length, 'tensor count');
  for (const rt of r.tensors) {
    const info = f.info(rt.name);
    tt.same([info.typeId, info.shape, info.offset, info.byteLength], [rt.typeId, rt.shape, rt.offset, rt.byteLength], `${rt.name}: table entry`);
    tt.equal(sha256(f.bytes(rt.name)), rt.sha256, `${rt.name}: data bytes`);
  }
}

t.test('a file written by the independent reference reads back exactly', (tt) => {
  const p = file('ref.gguf');
  const r = ref('write', p);
  for (const mmap of [true, false]) {
    const f = openGGUF(p, { mmap });
    tt.equal(f.mapped, mmap, `mapped: ${mmap}`);
    expectSameAsReference(tt, f, r);
    // Values beyond the JSON comparison: typed arrays and bigints of the right kind.
    tt.ok(f.metadata.scores instanceof Float32Array, 'array<float32> is a Float32Array');
    tt.ok(f.metadata.types instanceof Int32Array, 'array<int32> is an Int32Array');
    tt.ok(f.metadata.ids instanceof BigUint64Array, 'array<uint64> is a BigUint64Array');
    tt.equal(f.metadata.u64, 2n ** 64n - 1n, 'uint64 is a bigint');
    tt.equal(f.metadata.unicode, '\u00e9\u4e2d\u{1F600}', 'UTF-8 strings');
    tt.same(f.metadata.tokens, ['<s>', '</s>', '', '\u2581the']);
    tt.equal(Object.getPrototypeOf(f.metadata), null, 'metadata has no prototype');
    f.close();
  }
  tt.end();
});

t.test('tensor(): F32 / F16 / BF16 as float32, Q4_0 / Q8_0 / Q6_K / MXFP4 as lowbit matrices, others refused', (tt) => {
  const p = file('ref.gguf');
  ref('write', p);
  const f = openGGUF(p);
  const raw = (name: string): DataView => {
    const b = f.bytes(name);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  const emb = f.tensor('token_embd.weight') as Float32Array;
  tt.ok(emb instanceof Float32Array && emb.length === 64 * 3);
  tt.equal(emb.buffer, f.bytes('token_embd.weight').buffer, 'F32 is a zero-copy view');
  tt.ok(emb.every((x, i) => x === raw('token_embd.weight').getFloat32(i * 4, true)), 'F32 values');
  const norm = f.tensor('norm.weight') as Float32Array;
  // binary16 decoded by hand: sign, 5-bit exponent (bias 15), 10-bit mantissa, subnormals below exponent 1.
  const half = (h: number): number => {
    const e = (h >> 10) & 31;
    const m = h & 1023;
    return (h & 0x8000 ? -1 : 1) * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
  };
  tt.ok(norm.every((x, i) => x === half(raw('norm.weight').getUint16(i * 2, true))), 'F16 values');
  const bf = f.tensor('bf.weight') as Float32Array;
  tt.ok(bf.every((x, i) => x === new DataView(new Uint32Array([raw('bf.weight').getUint16(i * 2, true) << 16]).buffer).getFloat32(0, true)), 'BF16 values');
  const up = f.tensor('blk.0.ffn_up.weight') as QuantizedMatrix;
  tt.same([up.format, up.rows, up.cols, up.groupSize, up.byteLength], ['q4_0', 4, 96, 32, 4 * 3 * 18], 'Q4_0: rows are the product of the outer dimensions');
  tt.equal(up.data.buffer, f.bytes('blk.0.ffn_up.weight').buffer, 'Q4_0 data is a zero-copy view');
  const q8 = f.tensor('blk.0.attn_q.weight') as QuantizedMatrix;
  tt.same([q8.format, q8.rows, q8.cols, q8.bits], ['q8_0', 4, 64, 8]);
  // ggml's Q8_0: value = d * q, d the block's fp16 scale.
  const w = dequantize(q8);
  const v = raw('blk.0.attn_q.weight');
  let exact = true;
  for (let r = 0; r < 4; r++) {
    for (let b = 0; b < 2; b++) {
      const at = (r * 2 + b) * 34;
      const d = half(v.getUint16(at, true));
      for (let j = 0; j < 32; j++) exact &&= w[r * 64 + b * 32 + j] === Math.fround(d * v.getInt8(at + 2 + j));
    }
  }
  tt.ok(exact, 'Q8_0 dequantizes to d * q');
  const q6 = f.tensor('blk.0.ffn_down.weight') as QuantizedMatrix;
  tt.same([q6.format, q6.rows, q6.cols, q6.bits, q6.groupSize, q6.byteLength], ['q6_k', 2, 256, 6, 256, 2 * 210], 'Q6_K as q6_k');
  tt.equal(q6.data.buffer, f.bytes('blk.0.ffn_down.weight').buffer, 'Q6_K data is a zero-copy view');
  tt.throws(() => f.tensor('blk.0.attn_v.weight'), { name: 'RangeError', message: /type IQ2_XXS.*bytes\('blk\.0\.attn_v\.weight'\)/ });
  tt.throws(() => f.tensor('nope'), { name: 'RangeError', message: /has no tensor 'nope' \(it has 8: 'token_embd\.weight'/ });
  // MXFP4 (a 3-D expert tensor): lowbit's mxfp4 with the same values as ggml's definition computes.
  const r = ref('read', p);
  const mx = f.tensor('blk.0.ffn_gate_exps.weight') as QuantizedMatrix;
  tt.same([mx.format, mx.rows, mx.cols, mx.scaleType], ['mxfp4', 6, 64, 'e8m0'], 'MXFP4: rows are outputs x experts');
  const mxRef = r.tensors.find((x) => x.name === 'blk.0.ffn_gate_exps.weight')!;
  const want = new Float64Array(new Uint8Array(Buffer.from(mxRef.dequantized as string, 'hex')).buffer);
  const got = dequantize(mx);
  tt.ok(got.every((v, i) => v === want[i]), 'MXFP4 dequantizes to ggml\'s values exactly');
  // And back: writeGGUF of the lowbit matrix gives ggml's bytes.
  writeGGUF(file('mx.gguf'), { tensors: { m: mx } });
  tt.ok(Buffer.from(openGGUF(file('mx.gguf')).bytes('m')).equals(Buffer.from(f.bytes('blk.0.ffn_gate_exps.weight'))), 'MXFP4 written back byte for byte');
  const q = quantize(randn(4 * 96, 3), 4, 96, { format: 'mxfp4' });
  writeGGUF(file('mx2.gguf'), { tensors: { m: q } });
  const back = openGGUF(file('mx2.gguf')).tensor('m') as QuantizedMatrix;
  tt.ok(Buffer.from(back.data).equals(Buffer.from(q.data)) && Buffer.from(back.scales as Uint8Array).equals(Buffer.from(q.scales as Uint8Array)), 'a lowbit mxfp4 matrix round-trips');
  tt.end();
});

t.test('writeGGUF output reads back in the reference and in lowbit, and rewrites byte for byte', (tt) => {
  const rows = 8;
  const cols = 128;
  const w = randn(rows * cols, 11);
  const q4 = quantize(w, rows, cols, { format: 'q4_0' });
  const q8 = quantize(w, rows, cols, { format: 'q8_0' });
  const p = file('lowbit.gguf');
  const metadata: Record<string, GGUFValue> = {
    'general.architecture': 'llama',
    'llama.block_count': 2,
    'llama.attention.layer_norm_rms_epsilon': 1e-5,
    'llama.rope.freq_base': 500000,
    big: 2n ** 63n,
    neg: -(2n ** 40n),
    'tokenizer.ggml.tokens': ['a', 'b', '\u00e9'],
    'tokenizer.ggml.scores': new Float32Array([0.5, -1]),
    'tokenizer.ggml.token_type': new Int32Array([1, 2, 3]),
    flags: [true, false],
    small: new Uint8Array([1, 2, 255]),
    ['__proto__']: 'a key like any other',
  };
  writeGGUF(p, {
    metadata,
    types: { 'llama.attention.layer_norm_rms_epsilon': 'float32', 'llama.rope.freq_base': 'float32' },
    tensors: { 'blk.0.attn_q.weight': q4, 'blk.0.attn_k.weight': q8, 'output_norm.weight': { shape: [cols], data: w.subarray(0, cols) } },
  });
  const r = ref('read', p);
  tt.same(
    Object.fromEntries(Object.entries(r.metadata).map(([k, [type]]) => [k, type])),
    {
      'general.architecture': 'string', 'llama.block_count': 'int32', 'llama.attention.layer_norm_rms_epsilon': 'float32',
      'llama.rope.freq_base': 'float32', big: 'uint64', neg: 'int64', 'tokenizer.ggml.tokens': 'array<string>',
      'tokenizer.ggml.scores': 'array<float32>', 'tokenizer.ggml.token_type': 'array<int32>', flags: 'array<bool>',
      small: 'array<uint8>', ['__proto__']: 'string',
    },
    'types as named or inferred',
  );
  tt.equal(r.tensors[0].sha256, sha256(q4.data), 'Q4_0 bytes are the matrix bytes');
  tt.equal(r.tensors[1].sha256, sha256(q8.data), 'Q8_0 bytes');
  tt.same(r.tensors.map((x) => x.shape), [[cols, rows], [cols, rows], [cols]], 'shapes in ggml order');
  const f = openGGUF(p);
  expectSameAsReference(tt, f, r);
  tt.equal(f.metadata.__proto__, 'a key like any other', 'a __proto__ key is plain data');
  const x = randn(3 * cols, 12);
  for (const [name, q] of [['blk.0.attn_q.weight', q4], ['blk.0.attn_k.weight', q8]] as const) {
    const m = f.tensor(name) as QuantizedMatrix;
    tt.same(matmul(x, m), matmul(x, q), `${name}: matmul equals the source matrix's`);
    tt.same(matmul(x, prepare(m)), matmul(x, prepare(q)), `${name}: prepared too`);
  }
  // Rewriting what was read (metadata with its types, every tensor's bytes) reproduces the file.
  const again = file('again.gguf');
  writeGGUF(again, {
    metadata: f.metadata,
    types: f.metadataTypes,
    tensors: f.tensors.map((x): [string, GGUFTensorInput] => [x.name, { type: x.type, shape: x.shape, data: f.bytes(x.name) }]),
  });
  tt.ok(fs.readFileSync(again).equals(fs.readFileSync(p)), 'lowbit file rewritten byte for byte');
  const refFile = file('ref2.gguf');
  ref('write', refFile);
  const g = openGGUF(refFile);
  writeGGUF(again, {
    metadata: g.metadata,
    types: g.metadataTypes,
    tensors: g.tensors.map((x): [string, GGUFTensorInput] => [x.name, { type: x.type, shape: x.shape, data: g.bytes(x.name) }]),
  });
  tt.ok(fs.readFileSync(again).equals(fs.readFileSync(refFile)), 'reference file (alignment 64) rewritten byte for byte');
  // general.alignment given as a plain number (or a bigint) is written as the uint32 readers require.
  for (const a of [64, 64n]) {
    writeGGUF(again, { metadata: { 'general.alignment': a }, tensors: { w: q8 } });
    const h = openGGUF(again);
    tt.same([h.alignment, h.metadataTypes['general.alignment'], h.info('w').offset % 64], [64, 'uint32', 0], `general.alignment ${typeof a}`);
  }
  writeGGUF(again, { metadata: { z: -0, one: 1 } });
  tt.same({ ...openGGUF(again).metadataTypes }, { z: 'float32', one: 'int32' }, '-0 is a float (an integer type would lose the sign)');
  tt.end();
});

t.test('writeGGUF refuses what GGUF cannot hold, naming it', (tt) => {
  const q = quantize(randn(64, 1), 2, 32, { format: 'q8_0' });
  const p = file('bad-write.gguf');
  const cases: Array<[string, () => void, RegExp, string]> = [
    ['int format', () => writeGGUF(p, { tensors: { w: quantize(randn(64, 1), 2, 32, { format: 'int', bits: 4 }) } }), /tensors\['w'\] has format 'int'/, 'RangeError'],
    ['data length', () => writeGGUF(p, { tensors: { w: { type: 'F32', shape: [4, 2], data: new Float32Array(7) } } }), /has 28 bytes; F32 of shape \[4,2\] takes 32/, 'RangeError'],
    ['block multiple', () => writeGGUF(p, { tensors: { w: { type: 'Q8_0', shape: [16], data: new Uint8Array(17) } } }), /shape\[0\] = 16 must be a multiple of Q8_0's block of 32/, 'RangeError'],
    ['shape', () => writeGGUF(p, { tensors: { w: { shape: [1, 1, 1, 1, 1], data: new Float32Array(1) } } }), /1 to 4 positive integers/, 'RangeError'],
    ['type', () => writeGGUF(p, { tensors: { w: { type: 'Q9_9', shape: [1], data: new Uint8Array(1) } } }), /'Q9_9' is not a ggml type/, 'RangeError'],
    ['missing type', () => writeGGUF(p, { tensors: { w: { shape: [1], data: new Uint8Array(4) } } }), /type is needed unless data is a Float32Array/, 'TypeError'],
    ['long name', () => writeGGUF(p, { tensors: { ['x'.repeat(64)]: q } }), /longer than ggml's 63 bytes/, 'RangeError'],
    ['duplicate', () => writeGGUF(p, { tensors: [['w', q], ['w', q]] }), /tensor 'w' is given twice/, 'RangeError'],
    ['mixed array', () => writeGGUF(p, { metadata: { a: ['x', 1] as unknown as string[] } }), /'a' mixes element kinds/, 'TypeError'],
    ['object value', () => writeGGUF(p, { metadata: { a: {} as unknown as string } }), /'a' cannot be written to GGUF \(got an object\)/, 'TypeError'],
    ['range', () => writeGGUF(p, { metadata: { a: 300 }, types: { a: 'uint8' } }), /'a' = 300 is outside uint8's range/, 'RangeError'],
    ['not integer', () => writeGGUF(p, { metadata: { a: 1.5 }, types: { a: 'int32' } }), /'a' must be an integer/, 'TypeError'],
    ['bad type name', () => writeGGUF(p, { metadata: { a: 1 }, types: { a: 'int128' as 'int32' } }), /'int128' is not a GGUF type/, 'RangeError'],
    ['type without value', () => writeGGUF(p, { metadata: {}, types: { a: 'int32' } }), /types names 'a', which metadata does not have/, 'RangeError'],
    ['alignment', () => writeGGUF(p, { alignment: 48 }), /power of two \(got 48\)/, 'RangeError'],
    ['alignment conflict', () => writeGGUF(p, { alignment: 64, metadata: { 'general.alignment': 32 } }), /differs from metadata general.alignment 32/, 'RangeError'],
    ['unknown field', () => writeGGUF(p, { tensor: {} } as never), /unknown field 'tensor'/, 'RangeError'],
  ];
  for (const [what, fn, message, name] of cases) tt.throws(fn, { name, message }, what);
  tt.notOk(fs.existsSync(p), 'nothing written');
  tt.notOk(fs.readdirSync(dir).some((n) => n.includes('.tmp')), 'no temporary file left');
  tt.end();
});

// A small file whose header layout is known byte by byte, to break one field at a time:
//  0 magic, 4 version, 8 tensor count, 16 kv count, 24 key length, 32 'a', 33 value type, 37 value (uint32),
//  41 name length, 49 'w', 50 n_dims, 54 ne0, 62 ne1, 70 type, 74 offset,
//  82 name length, 90 'v', 91 n_dims, 95 ne0, 103 type, 107 offset, 115 header end; data at 128:
//  w (Q8_0 [32, 2], 68 bytes) at 128, v (F32 [8], 32 bytes) at 224, end 256.
function base(): Buffer {
  const p = file('base.gguf');
  writeGGUF(p, {
    metadata: { a: 7 },
    types: { a: 'uint32' },
    tensors: { w: quantize(randn(64, 2), 2, 32, { format: 'q8_0' }), v: { shape: [8], data: randn(8, 3) } },
  });
  return fs.readFileSync(p);
}

function openBytes(b: Uint8Array, name = 'case.gguf'): GGUFFile {
  const p = file(name);
  fs.writeFileSync(p, b);
  return openGGUF(p);
}

t.test('malformed files: a clear error naming the field and the byte, never a crash', (tt) => {
  const b0 = base();
  const f0 = openBytes(b0);
  tt.same([b0.length, f0.dataOffset, f0.info('w').offset, f0.info('v').offset], [256, 128, 128, 224], 'the layout the cases assume');
  const patch = (edits: Array<[number, 'u32' | 'u64' | 'bytes', number | bigint | string]>): Buffer => {
    const b = Buffer.from(b0);
    for (const [at, kind, v] of edits) {
      if (kind === 'u32') b.writeUInt32LE(Number(v), at);
      else if (kind === 'u64') b.writeBigUInt64LE(BigInt(v), at);
      else b.write(v as string, at, 'latin1');
    }
    return b;
  };
  const cases: Array<[string, Buffer, string, RegExp]> = [
    ['bad magic', patch([[0, 'bytes', 'GGML']]), 'magic', /not a GGUF file/],
    ['version 1', patch([[4, 'u32', 1]]), 'version', /version 1 is not supported/],
    ['version 4', patch([[4, 'u32', 4]]), 'version', /version 4 is not supported/],
    ['big-endian', patch([[4, 'u32', 0x03000000]]), 'version', /big-endian/],
    ['tensor count', patch([[8, 'u64', 2n ** 40n]]), 'tensor_count', /cannot be described/],
    ['kv count', patch([[16, 'u64', 2n ** 60n]]), 'metadata_kv_count', /cannot fit/],
    ['key length', patch([[24, 'u64', 2n ** 63n]]), 'metadata[0] key length', /runs past the end/],
    ['value type', patch([[33, 'u32', 13]]), 'metadata "a" type', /unknown value type 13/],
    ['name length', patch([[41, 'u64', 1000]]), 'tensor[0] name length', /runs past the end/],
    ['duplicate tensor', patch([[90, 'bytes', 'w']]), 'tensor "w"', /duplicate tensor name/],
    ['no dimensions', patch([[50, 'u32', 0]]), 'tensor "w" n_dimensions', /0 dimensions/],
    ['5 dimensions', patch([[50, 'u32', 5]]), 'tensor "w" n_dimensions', /5 dimensions/],
    ['huge dimension', patch([[62, 'u64', 2n ** 53n]]), 'tensor "w" dimension 1', /larger than 2\^53/],
    ['element count overflow', patch([[54, 'u64', 2n ** 52n], [62, 'u64', 2n ** 30n]]), 'tensor "w" dimensions', /overflows/],
    ['block multiple', patch([[54, 'u64', 33]]), 'tensor "w" dimension 0', /not a multiple of Q8_0's block of 32/],
    ['misaligned', patch([[74, 'u64', 16]]), 'tensor "w" offset', /not a multiple of the alignment 32/],
    ['overlap', patch([[107, 'u64', 64]]), 'tensor "v" offset', /overlaps tensor "w"/],
    ['past the end', patch([[107, 'u64', 128]]), 'tensor "v" offset', /past the end of the file/],
    ['size past the end', patch([[62, 'u64', 4]]), 'tensor "w" offset', /past the end of the file/],
    ['empty tensor past the end', patch([[62, 'u64', 0], [74, 'u64', 2n ** 40n]]), 'tensor "w" offset', /past the end of the file/],
    ['truncated', b0.subarray(0, 255), 'tensor "v" offset', /past the end of the file/],
    ['empty', Buffer.alloc(0), 'magic', /needs 4 bytes/],
  ];
  // Key-value cases on files written for them.
  const withMeta = (metadata: Record<string, GGUFValue>, types?: Record<string, string>): Buffer => {
    writeGGUF(file('meta.gguf'), { metadata, types: types as never });
    return fs.readFileSync(file('meta.gguf'));
  };
  // 24 key length, 32 'arr', 35 type, 39 element type, 43 count, 51 elements
  const arr = withMeta({ arr: new Int32Array([1, 2, 3]) });
  const nested = Buffer.from(arr);
  nested.writeUInt32LE(9, 39);
  const badElem = Buffer.from(arr);
  badElem.writeUInt32LE(77, 39);
  const longArr = Buffer.from(arr);
  longArr.writeBigUInt64LE(2n ** 61n, 43);
  cases.push(['nested array', nested, 'metadata "arr" element type', /arrays of arrays/]);
  cases.push(['element type', badElem, 'metadata "arr" element type', /unknown value type 77/]);
  cases.push(['array count', longArr, 'metadata "arr" count', /do not fit/]);
  const strs = withMeta({ s: ['ab', 'cd'] }); // 24 len, 32 's', 33 type, 37 elem type, 41 count, 49 len0, 57 'ab', 59 len1
  const longStr = Buffer.from(strs);
  longStr.writeBigUInt64LE(2n ** 40n, 59);
  cases.push(['string in array', longStr, 'metadata "s"[1] length', /runs past the end/]);
  const dup = withMeta({ a: 1, b: 2 }); // 24 len, 32 'a', ..., 41 len, 49 'b'
  dup.write('a', 49, 'latin1');
  cases.push(['duplicate key', dup, 'metadata[1] key', /duplicate key "a"/]);
  const al = withMeta({ 'general.alignment': 64 }, { 'general.alignment': 'uint32' }); // key 17 bytes: type at 49, value at 53
  const al48 = Buffer.from(al);
  al48.writeUInt32LE(48, 53);
  const alType = Buffer.from(al);
  alType.writeUInt32LE(5, 49);
  cases.push(['alignment not a power of two', al48, 'metadata "general.alignment"', /48 is not a power of two/]);
  // A bool array longer than lowbit turns into JS values (the bytes are there: zeros appended).
  const flags = withMeta({ f: [true, false] }); // 24 len, 32 'f', 33 type, 37 elem type, 41 count, 49 values
  const many = Buffer.concat([flags, Buffer.alloc(2 ** 24 + 16)]);
  many.writeBigUInt64LE(2n ** 24n + 1n, 41);
  cases.push(['bool array too long', many, 'metadata "f" count', /16777217 elements; arrays of strings or bools are read into JS values, at most 16777216/]);
  cases.push(['alignment type', alType, 'metadata "general.alignment"', /must be a uint32 \(is int32\)/]);

  // Not GGUF at all, cut short, or valid but unsupported; everything else is a bad header.
  const codes: Record<string, string> = {
    'bad magic': 'BAD_MAGIC', 'version 1': 'UNSUPPORTED', 'version 4': 'UNSUPPORTED', 'big-endian': 'UNSUPPORTED',
    'tensor count': 'TRUNCATED', 'kv count': 'TRUNCATED', 'key length': 'TRUNCATED', 'name length': 'TRUNCATED',
    'string in array': 'TRUNCATED', 'past the end': 'TRUNCATED', 'size past the end': 'TRUNCATED',
    'empty tensor past the end': 'TRUNCATED', truncated: 'TRUNCATED', empty: 'TRUNCATED',
  };
  const p = file('case.gguf');
  checkBadFiles(
    tt,
    cases.map(([what, bytes, field, message]) => ({ what, bytes, field, message, code: codes[what] ?? 'BAD_HEADER' })),
    p,
    openGGUF,
    'gguf',
    (err) => `openGGUF: ${p}: ${err.field} at byte ${err.offset}: `,
  );
  for (const [what, bytes] of cases) {
    fs.writeFileSync(p, bytes);
    try {
      openGGUF(p);
    } catch (e) {
      const at = (e as LowbitFileError).offset;
      tt.ok(at !== undefined && at <= bytes.length, `${what}: offset ${at} inside the file`);
    }
  }
  // Every truncation of the valid file fails cleanly, and says so.
  let clean = 0;
  for (let n = 0; n < b0.length; n++) {
    try {
      openBytes(b0.subarray(0, n));
    } catch (e) {
      if (e instanceof LowbitFileError && e.code === 'TRUNCATED') clean++;
    }
  }
  tt.equal(clean, b0.length, 'all 256 truncations are TRUNCATED errors');
  const missing = file('missing.gguf');
  tt.throws(() => openGGUF(missing), { name: 'LowbitFileError', code: 'ENOENT', path: missing, message: /openGGUF: .*missing\.gguf: No such file or directory/ });
  tt.throws(() => openGGUF(dir), { name: 'LowbitFileError', code: 'EISDIR', message: /is a directory/ });
  if (process.getuid?.() !== 0) {
    const locked = file('locked.gguf');
    fs.writeFileSync(locked, b0);
    fs.chmodSync(locked, 0);
    tt.throws(() => openGGUF(locked), { name: 'LowbitFileError', code: 'EACCES' });
  }
  tt.throws(() => openGGUF(''), { name: 'TypeError', message: /path must be a non-empty string/ });
  tt.throws(() => openGGUF(file('base.gguf'), { mmap: 1 as never }), { name: 'TypeError', message: /options\.mmap must be a boolean/ });
  tt.throws(() => openGGUF(file('base.gguf'), { map: true } as never), { name: 'RangeError', message: /unknown option 'map'/ });
  tt.end();
});

t.test('an unknown tensor type is listed, and an error only when that tensor is asked for', (tt) => {
  for (const id of [4, 200]) {
    const b = base();
    b.writeUInt32LE(id, 70);
    const f = openBytes(b, `unknown-${id}.gguf`);
    const w = f.info('w');
    tt.same([w.type, w.typeId, w.byteLength, w.supported], [`unknown(${id})`, id, null, false], `type id ${id}`);
    tt.throws(() => f.bytes('w'), { name: 'RangeError', message: new RegExp(`type id ${id}, which this build`) });
    tt.throws(() => f.tensor('w'), { name: 'RangeError', message: new RegExp(`type unknown\\(${id}\\)`) });
    tt.equal((f.tensor('v') as Float32Array).length, 8, 'the other tensors read');
  }
  tt.end();
});

t.test('random corruption: every file opens or is refused cleanly', (tt) => {
  const b0 = base();
  const g = rng(99);
  let opened = 0;
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    const b = Buffer.from(b0.subarray(0, g() < 0.2 ? Math.floor(g() * b0.length) : b0.length));
    const edits = 1 + Math.floor(g() * 6);
    for (let e = 0; e < edits && b.length > 0; e++) {
      // Mostly the header (where the parser's decisions are), small and extreme values.
      const at = Math.floor(g() * Math.min(b.length, 128));
      b[at] = g() < 0.5 ? Math.floor(g() * 256) : [0, 1, 0xff, 0x7f, 0x80][Math.floor(g() * 5)];
    }
    let f: GGUFFile;
    try {
      f = openBytes(b, 'fuzz.gguf');
    } catch (e) {
      if (!(e instanceof LowbitFileError) || !['BAD_MAGIC', 'TRUNCATED', 'BAD_HEADER', 'UNSUPPORTED'].includes(e.code)) throw e;
      refused++;
      continue;
    }
    opened++;
    for (const info of f.tensors) {
      if (info.byteLength !== null && info.byteLength > 0) {
        const bytes = f.bytes(info.name);
        if (info.offset + bytes.length > b.length) tt.fail(`tensor ${info.name} past the end`);
      }
    }
  }
  tt.ok(refused > 0 && opened > 0, `${opened} opened, ${refused} refused`);
  tt.end();
});

t.test('views keep the mapping alive past close() and collection, and writes stay private', (tt) => {
  const p = file('life.gguf');
  const w = randn(4 * 64, 5);
  const q = quantize(w, 4, 64, { format: 'q8_0' });
  writeGGUF(p, { tensors: { w: q, v: { shape: [16], data: w.subarray(0, 16) } } });
  let f: GGUFFile | null = openGGUF(p);
  const m = f.tensor('w') as QuantizedMatrix;
  f.close();
  f.close(); // twice is fine
  tt.ok(f.closed);
  tt.throws(() => f!.tensor('v'), { message: /is closed/ }, 'a tensor not yet viewed is gone after close');
  tt.equal((f.tensor('w') as QuantizedMatrix).data.buffer, m.data.buffer, 'a tensor already viewed is still there');
  f = null;
  for (let i = 0; i < 3; i++) gc();
  tt.ok(Buffer.from(m.data).equals(Buffer.from(q.data)), 'the view reads the file after close and GC');
  tt.same(matmul(randn(64, 6), m), matmul(randn(64, 6), q), 'and multiplies');
  m.data[2] ^= 0xff; // copy-on-write: this process's page only
  const again = openGGUF(p);
  tt.ok(Buffer.from(again.bytes('w')).equals(Buffer.from(q.data)), 'the file is unchanged by writing to a view');
  again.close();
  tt.end();
});

