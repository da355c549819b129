/**
 * safetensors files (Hugging Face): {@link openSafetensors} memory-maps one and gives zero-copy typed-array
 * views of its tensors; {@link writeSafetensors} writes one. The header is untrusted JSON: it is checked
 * as strictly as the reference Rust implementation does (known dtypes, sizes that match the shapes, data
 * ranges that tile the data section exactly) before any view is made, and the native side re-checks
 * every range against the file.
 */
import { halfMatrix } from './half-matrix';
import type { QuantizedMatrix } from '../core/types';
import { describe } from '../core/describe';
import { LowbitFileError, type LowbitFileErrorCode } from '../core/errors';
import { type Mapping, openMapping, type OpenOptions } from './mapping';
import { TensorFile } from './tensor-file';
import { writeFileAtomically } from './write-file';

export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL'
  | 'F8_E4M3' | 'F8_E5M2';

/** The typed array each dtype is viewed as: F16 and BF16 as their bit patterns, BOOL and FP8 as bytes. */
export type SafetensorsArray =
  | Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array
  | BigUint64Array | Uint32Array | Uint8Array;

type ArrayCtor = { new (b: ArrayBufferLike, offset: number, length: number): SafetensorsArray; BYTES_PER_ELEMENT: number };

const DTYPES: Record<SafetensorsDtype, ArrayCtor> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array,
  BOOL: Uint8Array, F8_E4M3: Uint8Array, F8_E5M2: Uint8Array,
};
const isDtype = (d: unknown): d is SafetensorsDtype => typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, d);
// The reference implementation's limit on the JSON header.
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

export type OpenSafetensorsOptions = OpenOptions;

function parseHeader(file: Mapping): { headerLength: number; metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] } {
  const bad = (field: string, problem: string, code: LowbitFileErrorCode = 'BAD_HEADER'): never => {
    throw new LowbitFileError(`openSafetensors: ${file.path}: ${field}: ${problem}`, code, file.path, { format: 'safetensors', field });
  };
  if (file.size < 8) bad('header length', `the file has ${file.size} bytes; a safetensors file starts with an 8-byte header length`, 'TRUNCATED');
  const n = Number(new DataView(file.buffer(0, 8)).getBigUint64(0, true));
  // A header that starts with anything but '{' is not safetensors at all (a GGUF file, say).
  if (file.size > 8 && new Uint8Array(file.buffer(8, 1))[0] !== 0x7b) {
    bad('header', `does not start with '{' (byte 8 is ${new Uint8Array(file.buffer(8, 1))[0]}): not a safetensors file`, 'BAD_MAGIC');
  }
  if (n > file.size - 8) bad('header length', `${n} bytes of header run past the end of the file (${file.size - 8} bytes follow)`, 'TRUNCATED');
  if (n > MAX_HEADER_BYTES) bad('header length', `${n} bytes is more than the format's limit of ${MAX_HEADER_BYTES}`);
  if (n < 2) bad('header', `${n} bytes cannot hold a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(file.buffer(8, n)));
  } catch {
    return bad('header', 'is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return bad('header', `is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) bad('header', `must be a JSON object (got ${describe(header)})`);
  const dataStart = 8 + n;
  const dataBytes = file.size - dataStart;
  const metadata: Record<string, string> = Object.create(null);
  const tensors: SafetensorsTensorInfo[] = [];
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) bad('__metadata__', `must be an object of strings (got ${describe(entry)})`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(`__metadata__["${k}"]`, `must be a string (got ${describe(v)})`);
        metadata[k] = v as string;
      }
      continue;
    }
    const field = `tensor "${name}"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) bad(field, `must be an object with dtype, shape and data_offsets (got ${describe(entry)})`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) bad(`${field} dtype`, `${describe(dtype)} is not one of ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`${field} shape`, `must be an array of non-negative integers (got ${JSON.stringify(shape)})`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
      bad(`${field} data_offsets`, `must be [begin, end] with 0 <= begin <= end (got ${JSON.stringify(offsets)})`);
    }
    const [begin, end] = offsets as number[];
    const elements = (shape as number[]).reduce((a, b) => a * BigInt(b), 1n);
    const bytes = elements * BigInt(DTYPES[dtype as SafetensorsDtype].BYTES_PER_ELEMENT);
    if (bytes !== BigInt(end - begin)) {
      bad(`${field} data_offsets`, `[${begin}, ${end}] holds ${end - begin} bytes; ${dtype} of shape ${JSON.stringify(shape)} takes ${bytes}`);
    }
    if (end > dataBytes) bad(`${field} data_offsets`, `[${begin}, ${end}] runs past the data section (${dataBytes} bytes; truncated?)`, 'TRUNCATED');
    const info: SafetensorsTensorInfo = Object.freeze({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], offset: dataStart + begin, byteLength: end - begin });
    tensors.push(info);
    ranges.push([begin, end, name]);
  }
  // The ranges must tile the data section: no overlap, no hole, nothing after the last tensor.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of ranges) {
    if (begin < at) bad(`tensor "${name}" data_offsets`, `[${begin}, ${end}] overlaps the previous tensor's data (which ends at ${at})`);
    if (begin > at) bad(`tensor "${name}" data_offsets`, `[${begin}, ${end}] leaves a hole after byte ${at} of the data section`);
    at = end;
  }
  if (at !== dataBytes) bad('data', `the tensors cover ${at} of the ${dataBytes} bytes after the header`);
  tensors.sort((a, b) => a.offset - b.offset);
  return { headerLength: n, metadata, tensors };
}

/** An open safetensors file. Views it hands out stay valid after {@link close}. */
export class SafetensorsFile extends TensorFile<SafetensorsTensorInfo> {
  /** Bytes of the JSON header (the data section starts at `8 + headerLength`). */
  readonly headerLength: number;
  /** The header's `__metadata__` (string values), an object without a prototype; empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data order. */
  readonly tensors: readonly SafetensorsTensorInfo[];

  /** @internal Use {@link openSafetensors}. */
  constructor(file: Mapping) {
    super(file, 'SafetensorsFile', 'safetensors');
    const h = parseHeader(file);
    this.headerLength = h.headerLength;
    this.index(h.tensors);
    this.metadata = Object.freeze(h.metadata);
    this.tensors = Object.freeze(h.tensors);
  }

  /** The tensor's bytes as stored: a zero-copy view of the file. */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    return new Uint8Array(this.buffer(t, t.byteLength), 0, t.byteLength);
  }

  /**
   * The tensor as a typed array of its dtype (see {@link SafetensorsArray}), a zero-copy view of the file;
   * copied only when its offset is not a multiple of the element size.
   */
  tensor(name: string): SafetensorsArray {
    const t = this.info(name);
    const Ctor = DTYPES[t.dtype];
    const n = t.byteLength / Ctor.BYTES_PER_ELEMENT;
    const buf = this.buffer(t, t.byteLength);
    return t.offset % Ctor.BYTES_PER_ELEMENT === 0 ? new Ctor(buf, 0, n) : new Ctor(buf.slice(0, t.byteLength), 0, n);
  }

  /**
   * A 2-D F16 or BF16 tensor `[rows, cols]` as an `'f16'` / `'bf16'` QuantizedMatrix for `prepare` and `matmul`,
   * a zero-copy view of the file (not widened). Other dtypes and shapes are a TypeError naming them.
   */
  matrix(name: string): QuantizedMatrix {
    const t = this.info(name);
    if ((t.dtype !== 'F16' && t.dtype !== 'BF16') || t.shape.length !== 2) {
      throw new TypeError(
        `SafetensorsFile: tensor '${name}' is ${t.dtype} [${t.shape.join(', ')}]; matrix() takes 2-D F16 or BF16 tensors ` +
          `(importLinear reads quantized layers, tensor() any dtype)`,
      );
    }
    return halfMatrix(t.dtype === 'F16' ? 'f16' : 'bf16', t.shape[0], t.shape[1], this.bytes(name));
  }
}

/**
 * Opens a safetensors file: maps it and validates its header. A bad file is a {@link LowbitFileError}
 * (`code` `'BAD_MAGIC'`, `'TRUNCATED'` or `'BAD_HEADER'`, with the `field`), never a crash; a file that cannot
 * be opened is one with the system's code (`'ENOENT'`, ...). Tensor pages are read when first touched.
 */
export function openSafetensors(path: string, options?: OpenSafetensorsOptions): SafetensorsFile {
  const file = openMapping('openSafetensors', path, options);
  try {
    return new SafetensorsFile(file);
  } catch (e) {
    file.close();
    throw e;
  }
}

/** A tensor to write; `dtype` may be left out for typed arrays that name one (Float32Array: F32, ...). */
export interface SafetensorsTensorInput {
  dtype?: SafetensorsDtype;
  shape: number[];
  data: ArrayBufferView;
}

const INFERRED: Array<[new (n: number) => ArrayBufferView, SafetensorsDtype]> = [
  [Float64Array, 'F64'], [Float32Array, 'F32'], [BigInt64Array, 'I64'], [Int32Array, 'I32'], [Int16Array, 'I16'],
  [Int8Array, 'I8'], [BigUint64Array, 'U64'], [Uint32Array, 'U32'], [Uint8Array, 'U8'],
];

/**
 * Writes a safetensors file: the JSON header (padded with spaces so the data starts 8-byte aligned), then
 * each tensor's bytes back to back in the given order. `metadata` becomes `__metadata__` (strings only).
 * The file appears complete or not at all.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensorInput> | Array<[string, SafetensorsTensorInput]>,
  metadata?: Record<string, string>,
): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`writeSafetensors: path must be a non-empty string (got ${describe(path)})`);
  if (tensors === null || typeof tensors !== 'object') throw new TypeError(`writeSafetensors: tensors must be an object or [name, tensor] pairs (got ${describe(tensors)})`);
  const list = Array.isArray(tensors) ? tensors : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object') throw new TypeError(`writeSafetensors: metadata must be an object of strings (got ${describe(metadata)})`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`writeSafetensors: metadata['${k}'] must be a string (got ${describe(v)})`);
    }
    header.__metadata__ = { ...metadata };
  }
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    const what = `tensors['${name}']`;
    if (typeof name !== 'string' || name.length === 0 || name === '__metadata__') {
      throw new RangeError(`writeSafetensors: tensor names must be non-empty strings other than __metadata__ (got ${describe(name)})`);
    }
    if (Object.prototype.hasOwnProperty.call(header, name)) throw new RangeError(`writeSafetensors: tensor '${name}' is given twice`);
    if (t === null || typeof t !== 'object' || !ArrayBuffer.isView(t.data)) throw new TypeError(`writeSafetensors: ${what} must be { dtype, shape, data: typed array } (got ${describe(t)})`);
    const dtype = t.dtype ?? INFERRED.find(([c]) => t.data instanceof c)?.[1];
    if (dtype === undefined) throw new TypeError(`writeSafetensors: ${what}.dtype is needed for ${describe(t.data)} (F16, BF16 or U16 for a Uint16Array)`);
    if (!isDtype(dtype)) throw new RangeError(`writeSafetensors: ${what}.dtype '${String(dtype)}' is not one of ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(`writeSafetensors: ${what}.shape must be non-negative integers (got ${JSON.stringify(t.shape)})`);
    }
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (t.data.byteLength !== bytes) {
      throw new RangeError(`writeSafetensors: ${what}.data has ${t.data.byteLength} bytes; ${dtype} of shape ${JSON.stringify(t.shape)} takes ${bytes}`);
    }
    Object.defineProperty(header, name, { value: { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] }, enumerable: true });
    datas.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(json, 8, 'utf8');
  writeFileAtomically('writeSafetensors', path, [head, ...datas]);
}
