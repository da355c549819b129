/** writeGGUF: GGUF v3 files that llama.cpp loads, from lowbit's ggml-format matrices (q4_0 ... q6_k, iq4_nl, iq4_xs, mxfp4) and raw tensors. */
import { GGML_BLOCK_FORMATS, ggmlTypeOfFormat } from './ggml-types';
import { describe } from '../core/describe';
import { mxfp4ToGgml } from './ggml-mxfp4';
import { native } from '../core/native';
import type { GGUFValue, GGUFValueType } from './gguf';
import type { QuantizedMatrix } from '../core/types';
import { writeFileAtomically } from './write-file';

/**
 * A tensor to write: a QuantizedMatrix of a ggml format (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl, iq4_xs, q2_k, q3_k,
 * q4_k, q5_k, q6_k, tq1_0, tq2_0, mxfp4: written as ggml's type of the same name, shape `[cols, rows]`), or raw data of any ggml type with its shape in ggml order (`shape[0]` contiguous):
 * `{ type: 'F32', shape: [4096, 11008], data: float32Array }`. `data`'s byte length must match the shape.
 */
export type GGUFTensorInput = QuantizedMatrix | { type?: string; shape: number[]; data: ArrayBufferView };

export interface GGUFWriteContents {
  /** Key-value metadata, written in this order. Types are inferred unless `types` names them (see below). */
  metadata?: Record<string, GGUFValue>;
  /**
   * The GGUF type of a metadata key (`'uint32'`, `'float32'`, `'array<string>'`, ...), e.g. a file's
   * `metadataTypes`, so that values read with openGGUF are written back unchanged. Without one, a value's
   * type is inferred as gguf-py does: strings, booleans; numbers `int32` when they are integers in its range,
   * `int64` for other integers, else `float32`; bigints `int64` (`uint64` above its range); typed arrays
   * their element type; arrays of strings, booleans, numbers (as above, over all elements) or bigints.
   */
  types?: Record<string, GGUFValueType>;
  /** Tensors in file order: an object (name -> tensor) or `[name, tensor]` pairs. */
  tensors?: Record<string, GGUFTensorInput> | Array<[string, GGUFTensorInput]>;
  /** Alignment of tensor data, a power of two (default `general.alignment` if given, else 32). */
  alignment?: number;
}

const SCALARS: Record<string, { id: number; bytes: number }> = {
  uint8: { id: 0, bytes: 1 }, int8: { id: 1, bytes: 1 }, uint16: { id: 2, bytes: 2 }, int16: { id: 3, bytes: 2 },
  uint32: { id: 4, bytes: 4 }, int32: { id: 5, bytes: 4 }, float32: { id: 6, bytes: 4 }, bool: { id: 7, bytes: 1 },
  string: { id: 8, bytes: 0 }, uint64: { id: 10, bytes: 8 }, int64: { id: 11, bytes: 8 }, float64: { id: 12, bytes: 8 },
};
const ARRAY_ID = 9;
const INT_RANGES: Record<string, [bigint, bigint]> = {
  uint8: [0n, 255n], int8: [-128n, 127n], uint16: [0n, 65535n], int16: [-32768n, 32767n],
  uint32: [0n, 4294967295n], int32: [-2147483648n, 2147483647n],
  uint64: [0n, 2n ** 64n - 1n], int64: [-(2n ** 63n), 2n ** 63n - 1n],
};
// ggml's limit on tensor names (GGML_MAX_NAME, terminator included).
const MAX_NAME_BYTES = 63;

/** Growing little-endian byte buffer for the header. */
class Bytes {
  buf = Buffer.alloc(1 << 16);
  n = 0;
  reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  u32(v: number): void {
    this.reserve(4);
    this.n = this.buf.writeUInt32LE(v, this.n);
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.n = this.buf.writeBigUInt64LE(BigInt(v), this.n);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.raw(b);
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
}

function scalar(out: Bytes, type: string, v: unknown, what: string): void {
  const bad = (want: string): never => {
    throw new TypeError(`writeGGUF: ${what} must be ${want} for GGUF type ${type} (got ${describe(v)})`);
  };
  if (type === 'string') {
    if (typeof v !== 'string') bad('a string');
    out.str(v as string);
    return;
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') bad('a boolean');
    out.raw(Uint8Array.of(v ? 1 : 0));
    return;
  }
  const size = SCALARS[type].bytes;
  out.reserve(size);
  if (type === 'float32' || type === 'float64') {
    if (typeof v !== 'number') bad('a number');
    out.n = type === 'float32' ? out.buf.writeFloatLE(v as number, out.n) : out.buf.writeDoubleLE(v as number, out.n);
    return;
  }
  if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v))) bad('an integer (a safe-integer number or a bigint)');
  const x = BigInt(v as number | bigint);
  const [lo, hi] = INT_RANGES[type];
  if (x < lo || x > hi) throw new RangeError(`writeGGUF: ${what} = ${x} is outside ${type}'s range [${lo}, ${hi}]`);
  const u = x < 0n ? x + (1n << BigInt(size * 8)) : x;
  for (let i = 0; i < size; i++) out.buf[out.n + i] = Number((u >> BigInt(8 * i)) & 0xffn);
  out.n += size;
}

const TYPED_ARRAY_TYPES: Array<[new (n: number) => ArrayBufferView, string]> = [
  [Uint8Array, 'uint8'], [Int8Array, 'int8'], [Uint16Array, 'uint16'], [Int16Array, 'int16'],
  [Uint32Array, 'uint32'], [Int32Array, 'int32'], [Float32Array, 'float32'], [Float64Array, 'float64'],
  [BigUint64Array, 'uint64'], [BigInt64Array, 'int64'],
];

function inferNumber(values: number[]): string {
  return values.every((x) => Number.isInteger(x) && !Object.is(x, -0) && x >= -(2 ** 31) && x < 2 ** 31)
    ? 'int32'
    : values.every((x) => Number.isSafeInteger(x) && !Object.is(x, -0))
      ? 'int64'
      : 'float32';
}

function inferType(v: unknown, key: string): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return inferNumber([v]);
  if (typeof v === 'bigint') return v >= 2n ** 63n ? 'uint64' : 'int64';
  if (ArrayBuffer.isView(v)) {
    for (const [ctor, t] of TYPED_ARRAY_TYPES) if (v instanceof ctor) return `array<${t}>`;
  } else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return 'array<string>';
    if (v.every((x) => typeof x === 'boolean')) return 'array<bool>';
    if (v.every((x) => typeof x === 'number')) return `array<${inferNumber(v)}>`;
    if (v.every((x) => typeof x === 'bigint')) return v.some((x) => x >= 2n ** 63n) ? 'array<uint64>' : 'array<int64>';
    throw new TypeError(`writeGGUF: metadata '${key}' mixes element kinds; a GGUF array holds one type (name it in types)`);
  }
  throw new TypeError(`writeGGUF: metadata '${key}' cannot be written to GGUF (got ${describe(v)})`);
}

function value(out: Bytes, type: string, v: unknown, key: string): void {
  const m = /^array<(\w+)>$/.exec(type);
  if (m) {
    const elem = m[1];
    if (!(elem in SCALARS)) throw new RangeError(`writeGGUF: types['${key}'] = '${type}' is not a GGUF type`);
    if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      throw new TypeError(`writeGGUF: metadata '${key}' must be an array or typed array for type ${type} (got ${describe(v)})`);
    }
    const items = v as ArrayLike<unknown>;
    out.u32(ARRAY_ID);
    out.u32(SCALARS[elem].id);
    out.u64(items.length);
    for (let i = 0; i < items.length; i++) scalar(out, elem, items[i], `metadata '${key}'[${i}]`);
    return;
  }
  if (!(type in SCALARS)) {
    throw new RangeError(`writeGGUF: types['${key}'] = '${type}' is not a GGUF type (${Object.keys(SCALARS).join(', ')}, or array<...> of one)`);
  }
  out.u32(SCALARS[type].id);
  scalar(out, type, v, `metadata '${key}'`);
}

let typeTable: Map<string, { id: number; block: number; bytes: number }> | undefined;
function ggmlType(name: string): { id: number; block: number; bytes: number } | undefined {
  typeTable ??= new Map(native.ggmlTypes().map((t) => [t.name, t]));
  return typeTable.get(name);
}

interface PlannedTensor {
  name: string;
  shape: number[];
  typeId: number;
  data: Uint8Array;
  offset: number;
}


function planTensor(name: string, t: GGUFTensorInput): Omit<PlannedTensor, 'offset'> {
  const what = `tensors['${name}']`;
  if (t === null || typeof t !== 'object') throw new TypeError(`writeGGUF: ${what} must be a QuantizedMatrix or { type, shape, data } (got ${describe(t)})`);
  if ('format' in t) {
    native.checkQuantized(t, `writeGGUF: ${what}`);
    if (t.format === 'mxfp4') return planRaw(name, 'MXFP4', [t.cols, t.rows], mxfp4ToGgml(t), what);
    if (t.format === 'f16' || t.format === 'bf16') return planRaw(name, t.format === 'f16' ? 'F16' : 'BF16', [t.cols, t.rows], t.data, what);
    const type = ggmlTypeOfFormat(t.format);
    if (type === undefined) {
      const names = Object.values(GGML_BLOCK_FORMATS).map((f) => f.format);
      throw new RangeError(
        `writeGGUF: ${what} has format '${t.format}', which GGUF has no type for (${names.join(', ')}, mxfp4, f16 and bf16 are ggml's types of the same names; quantize with one of them)`,
      );
    }
    return planRaw(name, type, [t.cols, t.rows], t.data, what);
  }
  const type = t.type ?? (t.data instanceof Float32Array ? 'F32' : undefined);
  if (type === undefined) throw new TypeError(`writeGGUF: ${what}.type is needed unless data is a Float32Array (then it is 'F32')`);
  return planRaw(name, type, t.shape, t.data, what);
}

function planRaw(name: string, type: string, shape: number[], data: ArrayBufferView, what: string): Omit<PlannedTensor, 'offset'> {
  const info = ggmlType(type);
  if (info === undefined) throw new RangeError(`writeGGUF: ${what}.type '${type}' is not a ggml type (${[...typeTable!.keys()].join(', ')})`);
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4 || !shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new RangeError(`writeGGUF: ${what}.shape must be 1 to 4 positive integers in ggml order (got ${JSON.stringify(shape)})`);
  }
  if (shape[0] % info.block !== 0) {
    throw new RangeError(`writeGGUF: ${what}.shape[0] = ${shape[0]} must be a multiple of ${type}'s block of ${info.block}`);
  }
  const bytes = (shape[0] / info.block) * info.bytes * shape.slice(1).reduce((a, b) => a * b, 1);
  if (!ArrayBuffer.isView(data)) throw new TypeError(`writeGGUF: ${what}.data must be a typed array (got ${describe(data)})`);
  if (data.byteLength !== bytes) {
    throw new RangeError(`writeGGUF: ${what}.data has ${data.byteLength} bytes; ${type} of shape ${JSON.stringify(shape)} takes ${bytes}`);
  }
  return { name, shape, typeId: info.id, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}


/**
 * Writes a GGUF v3 file (little-endian) that ggml / llama.cpp reads: the metadata, the tensor table, then
 * each tensor's data at a multiple of the alignment. The file appears complete or not at all (it is
 * written beside `path` and renamed).
 */
export function writeGGUF(path: string, contents: GGUFWriteContents): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`writeGGUF: path must be a non-empty string (got ${describe(path)})`);
  if (contents === null || typeof contents !== 'object') throw new TypeError(`writeGGUF: contents must be an object (got ${describe(contents)})`);
  for (const k of Object.keys(contents)) {
    if (!['metadata', 'types', 'tensors', 'alignment'].includes(k)) {
      throw new RangeError(`writeGGUF: unknown field '${k}' in contents (allowed: metadata, types, tensors, alignment)`);
    }
  }
  const metadata = contents.metadata ?? {};
  const types = contents.types ?? {};
  let alignment = contents.alignment;
  const given = metadata['general.alignment'];
  if (given !== undefined) {
    if (types['general.alignment'] !== undefined && types['general.alignment'] !== 'uint32') {
      throw new RangeError(`writeGGUF: general.alignment must be a uint32 (types says ${types['general.alignment']})`);
    }
    if (alignment !== undefined && alignment !== given) {
      throw new RangeError(`writeGGUF: alignment ${alignment} differs from metadata general.alignment ${String(given)}`);
    }
    alignment = Number(given);
  }
  alignment ??= 32;
  if (!Number.isSafeInteger(alignment) || alignment < 1 || alignment > 2 ** 31 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`writeGGUF: alignment must be a power of two (got ${String(alignment)})`);
  }
  // Own keys only: '__proto__' or 'constructor' are keys like any other.
  const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  // general.alignment is a uint32 whatever a number would infer to (readers insist on the type).
  const typeOf = (k: string): string => (own(types, k) ? types[k] : k === 'general.alignment' ? 'uint32' : inferType(metadata[k], k));
  const entries: Array<[string, unknown, string]> = Object.keys(metadata).map((k) => [k, metadata[k], typeOf(k)]);
  for (const k of Object.keys(types)) {
    if (!own(metadata, k)) throw new RangeError(`writeGGUF: types names '${k}', which metadata does not have`);
  }
  if (given === undefined && alignment !== 32) entries.push(['general.alignment', alignment, 'uint32']);

  const list: Array<[string, GGUFTensorInput]> = Array.isArray(contents.tensors)
    ? contents.tensors
    : Object.entries(contents.tensors ?? {});
  const seen = new Set<string>();
  const tensors: PlannedTensor[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(`writeGGUF: tensor names must be non-empty strings (got ${describe(name)})`);
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw new RangeError(`writeGGUF: tensor name '${name}' is longer than ggml's ${MAX_NAME_BYTES} bytes`);
    if (seen.has(name)) throw new RangeError(`writeGGUF: tensor '${name}' is given twice`);
    seen.add(name);
    const p = planTensor(name, t);
    tensors.push({ ...p, offset });
    offset += Math.ceil(p.data.byteLength / alignment) * alignment;
  }

  const h = new Bytes();
  h.raw(Buffer.from('GGUF', 'latin1'));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(entries.length);
  for (const [k, v, type] of entries) {
    h.str(k);
    value(h, type, v, k);
  }
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of t.shape) h.u64(d);
    h.u32(t.typeId);
    h.u64(t.offset);
  }
  const pad = (n: number): Uint8Array => new Uint8Array((alignment - (n % alignment)) % alignment);
  h.raw(pad(h.n));

  writeFileAtomically('writeGGUF', path, (function* () {
    yield h.buf.subarray(0, h.n);
    for (const t of tensors) {
      yield t.data;
      yield pad(t.data.byteLength);
    }
  })());
}
