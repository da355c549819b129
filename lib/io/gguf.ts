/**
 * GGUF model files (ggml / llama.cpp, versions 2 and 3): {@link openGGUF} memory-maps a file and gives its
 * metadata, its tensor table and zero-copy views of its tensors; {@link writeGGUF} writes GGUF v3.
 */
import { LowbitFileError } from '../core/errors';
import { mxfp4FromGgml } from './ggml-mxfp4';
import { GGML_BLOCK_FORMATS } from './ggml-types';
import { halfMatrix } from './half-matrix';
import { bfloat16ToFloat32, halfToFloat32 } from '../core/half';
import { native } from '../core/native';
import { type Mapping, openMapping, type OpenOptions } from './mapping';
import { TensorFile } from './tensor-file';
import type { QuantizedMatrix } from '../core/types';

/** A metadata value's GGUF type: a scalar type or `array<scalar type>`. */
export type GGUFValueType =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64'
  | 'float32' | 'float64' | 'bool' | 'string'
  | `array<${'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64' | 'float32' | 'float64' | 'bool' | 'string'}>`;

/**
 * A metadata value in JS: 8-32-bit integers and floats are numbers, 64-bit integers bigints, bools
 * booleans, strings strings; numeric arrays are typed arrays of their type (`array<uint64>` a
 * `BigUint64Array`, ...), string and bool arrays plain arrays.
 */
export type GGUFValue =
  | number | bigint | boolean | string | string[] | boolean[]
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array;

/** One tensor of a GGUF file, as its header describes it. */
export interface GGUFTensorInfo {
  name: string;
  /** ggml's type name (`'Q4_0'`, `'Q6_K'`, `'F32'`, ...), or `'unknown(N)'` for an id this build does not know. */
  type: string;
  typeId: number;
  /** Dimensions in ggml order: `shape[0]` is the contiguous one (a weight's input features). */
  shape: number[];
  /** `shape[0]`: the length of a row. */
  cols: number;
  /** The product of the other dimensions (1 for a vector). */
  rows: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Bytes of data; `null` for an unknown type. */
  byteLength: number | null;
  /** Whether {@link GGUFFile.tensor} can return it (the types of {@link GGUF_TENSOR_TYPES}). */
  supported: boolean;
}

export type OpenGGUFOptions = OpenOptions;

/** Tensor types {@link GGUFFile.tensor} returns. */
export const GGUF_TENSOR_TYPES = [
  'F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'IQ4_NL', 'IQ4_XS', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'TQ1_0',
  'TQ2_0', 'MXFP4',
] as const;

interface NativeTensor {
  name: string;
  type: string;
  typeId: number;
  known: boolean;
  shape: number[];
  offset: number;
  byteLength: number | null;
}

interface NativeFile {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: Array<[string, GGUFValueType, GGUFValue]>;
  tensors: NativeTensor[];
}

/** An open GGUF file. Views it hands out stay valid after {@link close}; the mapping goes with the last one. */
export class GGUFFile extends TensorFile<GGUFTensorInfo> {
  readonly version: number;
  /** Alignment of tensor data (`general.alignment`, default 32). */
  readonly alignment: number;
  /** Where the tensor data section starts. */
  readonly dataOffset: number;
  /** Every key, in file order, with its value (an object without a prototype: any key is safe). */
  readonly metadata: Readonly<Record<string, GGUFValue>>;
  /** Each key's GGUF type, so that {@link writeGGUF} can write the values back unchanged. */
  readonly metadataTypes: Readonly<Record<string, GGUFValueType>>;
  readonly tensors: readonly GGUFTensorInfo[];

  /** @internal Use {@link openGGUF}. */
  constructor(file: Mapping, f: NativeFile) {
    super(file, 'GGUFFile', 'gguf');
    this.version = f.version;
    this.alignment = f.alignment;
    this.dataOffset = f.dataOffset;
    const metadata: Record<string, GGUFValue> = Object.create(null);
    const types: Record<string, GGUFValueType> = Object.create(null);
    for (const [key, type, value] of f.metadata) {
      metadata[key] = value;
      types[key] = type;
    }
    this.metadata = Object.freeze(metadata);
    this.metadataTypes = Object.freeze(types);
    this.tensors = Object.freeze(
      f.tensors.map((t) => {
        const info: GGUFTensorInfo = {
          name: t.name,
          type: t.type,
          typeId: t.typeId,
          shape: t.shape,
          cols: t.shape[0],
          rows: t.shape.slice(1).reduce((a, b) => a * b, 1),
          offset: t.offset,
          byteLength: t.byteLength,
          supported: (GGUF_TENSOR_TYPES as readonly string[]).includes(t.type),
        };
        return Object.freeze(info);
      }),
    );
    this.index(this.tensors);
  }

  /** The tensor's bytes exactly as stored, any type: a zero-copy view of the file. */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    if (t.byteLength === null) {
      throw new RangeError(`GGUFFile: tensor '${name}' has type id ${t.typeId}, which this build of lowbit does not know the size of`);
    }
    return new Uint8Array(this.buffer(t, t.byteLength as number), 0, t.byteLength);
  }

  /**
   * The tensor as lowbit uses it, a `[rows, cols]` matrix (`cols = shape[0]`, rows the other dimensions):
   * Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, TQ1_0 and TQ2_0 as a QuantizedMatrix whose
   * `data` is a zero-copy view of the file (ggml's blocks are the lowbit formats of the same names byte for byte); F32 as a zero-copy
   * Float32Array (copied only when the file's alignment leaves it unaligned); F16 and BF16 converted to a new Float32Array (exact); MXFP4 as an mxfp4
   * matrix (a new buffer: the same code bytes, the E8M0 scale bytes kept apart). Other types are a
   * RangeError ({@link bytes} still gives their bytes).
   */
  tensor(name: string): QuantizedMatrix | Float32Array {
    const t = this.info(name);
    const n = t.rows * t.cols;
    const block = GGML_BLOCK_FORMATS[t.type];
    if (block) {
      const data = this.bytes(name);
      const { format, bits, groupSize } = block;
      return {
        format,
        rows: t.rows,
        cols: t.cols,
        bits,
        scheme: 'symmetric',
        granularity: 'group',
        groupSize,
        scaleType: 'float16',
        data,
        scales: new Uint16Array(0),
        zeros: null,
        byteLength: data.byteLength,
        layout: 2,
      };
    }
    switch (t.type) {
      case 'MXFP4':
        return mxfp4FromGgml(this.bytes(name), t.rows, t.cols, `GGUFFile: tensor '${name}'`);
      case 'F32': {
        if (n === 0) return new Float32Array(0);
        const buf = this.buffer(t, t.byteLength as number);
        if (this.#aligned(t, 4)) return new Float32Array(buf, 0, n);
        const copy = native.allocate('float32', n);
        new Uint8Array(copy.buffer, copy.byteOffset, n * 4).set(new Uint8Array(buf, 0, n * 4));
        return copy;
      }
      case 'F16':
      case 'BF16': {
        if (n === 0) return new Float32Array(0);
        const bytes = this.bytes(name);
        const half = this.#aligned(t, 2)
          ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
          : new Uint16Array(bytes.slice().buffer, 0, n);
        return t.type === 'F16' ? halfToFloat32(half) : bfloat16ToFloat32(half);
      }
      default:
        throw new RangeError(
          `GGUFFile: tensor '${name}' has type ${t.type}, which lowbit cannot multiply yet ` +
            `(it reads ${GGUF_TENSOR_TYPES.join(', ')}); bytes('${name}') gives its raw bytes`,
        );
    }
  }

  /**
   * The tensor as a QuantizedMatrix, typed for `prepare` and `matmul`: ggml's quantized types as {@link tensor}
   * gives them, F16 and BF16 as `'f16'` / `'bf16'` matrices that are zero-copy views of the file (not widened);
   * an F32 tensor is a TypeError naming its type (use {@link tensor}).
   */
  matrix(name: string): QuantizedMatrix {
    const t = this.info(name);
    if (t.type === 'F16' || t.type === 'BF16') return halfMatrix(t.type === 'F16' ? 'f16' : 'bf16', t.rows, t.cols, this.bytes(name));
    const m = this.tensor(name);
    if (m instanceof Float32Array) {
      throw new TypeError(`GGUFFile: tensor '${name}' is ${t.type}, a float32 tensor, not a quantized matrix; tensor('${name}') gives its values`);
    }
    return m;
  }

  #aligned(t: GGUFTensorInfo, bytes: number): boolean {
    // The mapping (or heap copy) starts page- / malloc-aligned, so file offsets give the alignment.
    return t.offset % bytes === 0;
  }

}

/**
 * Opens a GGUF file: maps it, then parses and validates its header. Untrusted input: a bad file is a
 * {@link LowbitFileError} (`code` `'BAD_MAGIC'`, `'TRUNCATED'`, `'BAD_HEADER'` or `'UNSUPPORTED'`, with the
 * `field` and its byte `offset`), never a crash; a file that cannot be opened is one with the system's code
 * (`'ENOENT'`, `'EACCES'`, ...). Only the header is read; tensor pages are read when first touched.
 */
export function openGGUF(path: string, options?: OpenGGUFOptions): GGUFFile {
  const file = openMapping('openGGUF', path, options);
  try {
    return new GGUFFile(file, native.ggufParse(file.handle) as NativeFile);
  } catch (e) {
    file.close();
    const err = e as { code?: unknown; field?: string; offset?: number; message: string };
    if (typeof err.code === 'string' && err.field !== undefined) {
      throw new LowbitFileError(err.message, err.code, path, { format: 'gguf', field: err.field, offset: err.offset });
    }
    throw e;
  }
}

export { writeGGUF } from './gguf-write';
export type { GGUFTensorInput, GGUFWriteContents } from './gguf-write';
