/**
 * Quantized linear layers of Hugging Face checkpoints (GPTQ, AWQ, bitsandbytes NF4) imported from a
 * safetensors file as lowbit matrices without requantizing, and lowbit int group matrices exported in
 * the GPTQ and AWQ layouts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe } from '../core/describe';
import { bfloat16ToFloat32, halfToFloat32 } from '../core/half';
import { fileSystemError, LowbitFileError } from '../core/errors';
import { native } from '../core/native';
import { nibblesFromInterleaved, nibblesToInterleaved } from './nibble-order';
import type { SafetensorsFile, SafetensorsTensorInput } from './safetensors';
import type { QuantizedMatrix } from '../core/types';

/** The parts of a `quantization_config` (or `quantize_config.json`) the importers read. */
export interface QuantizationConfig {
  quant_method?: string;
  bits?: number;
  /** AutoAWQ's older name for bits. */
  w_bit?: number;
  /** -1: one group per row (GPTQ). */
  group_size?: number;
  /** AutoAWQ's older name for group_size. */
  q_group_size?: number;
  sym?: boolean;
  desc_act?: boolean;
  /** GPTQ: `'gptq'` (v1, stored zero-points are zero - 1; the default) or `'gptq_v2'`. */
  checkpoint_format?: string;
  zero_point?: boolean;
  version?: string;
  [key: string]: unknown;
}

export type LinearSource = 'gptq' | 'awq' | 'bnb-nf4' | 'bnb-fp4';

/** What {@link importLinear} gives: a quantized layer, or a float one (`source: 'float'`). */
export type ImportedLinear = QuantizedLinear | FloatLinear;

export interface QuantizedLinear {
  source: LinearSource;
  /** `[out_features, in_features]`, exactly the checkpoint's values (see each layout in the README). */
  matrix: QuantizedMatrix;
  /**
   * Act-order GPTQ only: `matmul(xp, matrix)` with `xp[j] = x[inputPermutation[j]]` is the layer (the
   * weight columns were reordered at import so that each group is contiguous; permute `x` once per call).
   */
  inputPermutation?: Int32Array;
  /** `prefix + '.bias'` as float32, when the file has it. */
  bias?: Float32Array;
  /** The configuration used: the one passed, else the one found beside the file, else `{}`. */
  config: QuantizationConfig;
}

/** An unquantized layer (`prefix + '.weight'` F32, F16 or BF16): quantize it, or multiply with matmulF32. */
export interface FloatLinear {
  source: 'float';
  /** Row-major `[rows, cols]` = `[out_features, in_features]` (F32: a view of the file when aligned). */
  weights: Float32Array;
  rows: number;
  cols: number;
  bias?: Float32Array;
  config: QuantizationConfig;
}

const bad = (prefix: string, msg: string): never => {
  throw new RangeError(`importLinear: ${prefix}: ${msg}`);
};

/** A float tensor as float32: F32 as is, F16 and BF16 converted exactly. */
function floats(f: SafetensorsFile, name: string, prefix: string): Float32Array {
  const info = f.info(name);
  const a = f.tensor(name);
  if (info.dtype === 'F32') return a as Float32Array;
  if (info.dtype === 'F16') return halfToFloat32(a as Uint16Array);
  if (info.dtype === 'BF16') return bfloat16ToFloat32(a as Uint16Array);
  return bad(prefix, `${name} has dtype ${info.dtype}; a float tensor (F32, F16, BF16) is needed`);
}

function int32s(f: SafetensorsFile, name: string, prefix: string, shape2D: boolean): { a: Int32Array; shape: number[] } {
  if (!f.has(name)) bad(prefix, `the file has no ${name}`);
  const info = f.info(name);
  if (info.dtype !== 'I32') bad(prefix, `${name} has dtype ${info.dtype}; I32 is needed`);
  if (shape2D && info.shape.length !== 2) bad(prefix, `${name} has shape ${JSON.stringify(info.shape)}; two dimensions are needed`);
  return { a: f.tensor(name) as Int32Array, shape: info.shape };
}

/** The configuration beside the file: quantize_config.json, else config.json's quantization_config. */
function configBeside(file: SafetensorsFile): QuantizationConfig {
  const dir = path.dirname(file.path);
  for (const [name, pick] of [
    ['quantize_config.json', (j: Record<string, unknown>) => j],
    ['config.json', (j: Record<string, unknown>) => j.quantization_config],
  ] as const) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) continue;
    let j: unknown;
    try {
      j = JSON.parse(fs.readFileSync(p, 'utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) throw new LowbitFileError(`importLinear: ${p} is not valid JSON (${e.message})`, 'BAD_HEADER', p, { cause: e });
      throw fileSystemError('importLinear', p, e);
    }
    const c = j !== null && typeof j === 'object' ? pick(j as Record<string, unknown>) : undefined;
    if (c !== null && typeof c === 'object') return c as QuantizationConfig;
  }
  return {};
}

/** GPTQ's widths (AWQ's GEMM layout is 4-bit). */
type IntBits = 2 | 3 | 4 | 8;

function groupMatrix(
  rows: number, cols: number, bits: IntBits, groupSize: number, row: boolean, sym: boolean,
  data: Uint8Array, scales: Uint16Array | Float32Array, zeros: Uint8Array | null,
): QuantizedMatrix {
  return {
    format: 'int', rows, cols, bits, scheme: sym ? 'symmetric' : 'asymmetric',
    granularity: row ? 'row' : 'group', groupSize: row ? 0 : groupSize,
    scaleType: scales instanceof Uint16Array ? 'float16' : 'float32',
    data, scales, zeros: sym ? null : zeros,
    byteLength: data.byteLength + scales.byteLength + (sym || zeros === null ? 0 : zeros.byteLength),
    layout: 2,
  };
}

/** Scales [groups, out] (F16 kept as float16 bits, others as float32) transposed to lowbit's [out, groups]. */
function transposeScales(f: SafetensorsFile, name: string, prefix: string, groups: number, out: number): Uint16Array | Float32Array {
  const info = f.info(name);
  if (info.shape.length !== 2 || info.shape[0] !== groups || info.shape[1] !== out) {
    bad(prefix, `${name} has shape ${JSON.stringify(info.shape)}; [${groups}, ${out}] is needed`);
  }
  const src = info.dtype === 'F16' ? (f.tensor(name) as Uint16Array) : floats(f, name, prefix);
  const dst = src instanceof Uint16Array ? native.allocate('uint16', src.length) : native.allocate('float32', src.length);
  for (let g = 0; g < groups; g++) for (let o = 0; o < out; o++) dst[o * groups + g] = src[g * out + o];
  return dst;
}

/** Codes packed `bits` at a time into int32 words along a dimension, read as unsigned integers. */
const code = (word: number, bits: number, slot: number): number => (word >>> (bits * slot)) & ((1 << bits) - 1);

/**
 * Code `index` of a run of `bits`-bit codes packed low bits first into int32 words `word(0)`, `word(1)`, ...:
 * GPTQ's packing at every width (3-bit codes cross word boundaries: 32 codes in 3 words).
 */
function streamCode(word: (w: number) => number, bits: number, index: number): number {
  const bit = index * bits, w = bit >>> 5, shift = bit & 31;
  let v = word(w) >>> shift;
  if (shift + bits > 32) v |= word(w + 1) << (32 - shift);
  return v & ((1 << bits) - 1);
}

/** Stores `v` as code `index` of a run of `bits`-bit codes in words[base + ...] (streamCode's inverse). */
function putStreamCode(words: Uint32Array, base: number, stride: number, bits: number, index: number, v: number): void {
  const bit = index * bits, w = bit >>> 5, shift = bit & 31;
  words[base + w * stride] |= v << shift;
  if (shift + bits > 32) words[base + (w + 1) * stride] |= v >>> (32 - shift);
}

const AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7];
// The nibble slot holding output column 8c + k: the inverse of AWQ_ORDER.
const AWQ_SLOT = AWQ_ORDER.map((_, k) => AWQ_ORDER.indexOf(k));

/**
 * dst[c * rows + r] = src[r * cols + c] ^ flip for a [rows, cols] grid of 32-bit words, in tiles so that
 * both sides stay in cache.
 */
function transposeWords(src: Uint32Array, rows: number, cols: number, dst: Uint32Array, flip: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[c * rows + r] = (src[r * cols + c] ^ flip) >>> 0;
    }
  }
}

/** Packs lowbit's code grid [rows, cols] (value for (r, c) from `at`) into its row-major data layout. */
function packCodes(rows: number, cols: number, bits: IntBits, at: (r: number, c: number) => number): Uint8Array {
  if (bits === 8) {
    const d = native.allocate('uint8', rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) d[r * cols + c] = at(r, c);
    return d;
  }
  if (bits < 4) {
    // Each row a little-endian bit stream of `bits`-bit codes, padded to whole bytes.
    const rb = Math.ceil((cols * bits) / 8);
    const d = native.allocate('uint8', rows * rb);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = at(r, c), bit = c * bits, at8 = r * rb + (bit >> 3);
        d[at8] |= (v << (bit & 7)) & 0xff;
        if ((bit & 7) + bits > 8) d[at8 + 1] |= v >> (8 - (bit & 7));
      }
    }
    return d;
  }
  // Interleaved first (column c in byte c / 2), then lowbit's order.
  const rb = (cols + 1) >> 1;
  const d = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) d[r * rb + (c >> 1)] |= at(r, c) << ((c & 1) * 4);
  return nibblesFromInterleaved(d, rows, cols);
}

function importQuantInt(file: SafetensorsFile, prefix: string, config: QuantizationConfig, layout: 'gptq' | 'awq'): QuantizedLinear {
  const { a: qweight, shape: qws } = int32s(file, `${prefix}.qweight`, prefix, true);
  const { a: qzeros, shape: qzs } = int32s(file, `${prefix}.qzeros`, prefix, true);
  if (!file.has(`${prefix}.scales`)) bad(prefix, `the file has no ${prefix}.scales`);
  const sInfo = file.info(`${prefix}.scales`);
  if (sInfo.shape.length !== 2) bad(prefix, `${prefix}.scales has shape ${JSON.stringify(sInfo.shape)}; [groups, out_features] is needed`);
  const [groups, out] = sInfo.shape;
  const bits = 32 * qzs[1] / out;
  if (bits !== 2 && bits !== 3 && bits !== 4 && bits !== 8) {
    bad(prefix, `qzeros [${qzs}] for ${out} outputs means ${bits}-bit codes; lowbit's integer formats are 2-, 3-, 4- and 8-bit`);
  }
  const b = bits as IntBits;
  if (layout === 'awq' && b !== 4) bad(prefix, `AWQ's GEMM layout is 4-bit; qzeros [${qzs}] means ${b}-bit codes`);
  const per = 32 / b;  // codes a word (3-bit: 32 codes in 3 words, so not whole)
  const given = config.bits ?? config.w_bit;
  if (given !== undefined && given !== b) bad(prefix, `the config says ${given} bits but the tensors hold ${b}-bit codes`);
  if (qzs[0] !== groups) bad(prefix, `qzeros has ${qzs[0]} groups but scales ${groups}`);
  if (layout === 'gptq' && (qws[0] * 32) % b !== 0) bad(prefix, `qweight has ${qws[0]} rows of words, which do not hold whole ${b}-bit codes`);
  const inF = layout === 'gptq' ? (qws[0] * 32) / b : qws[0];
  if (layout === 'gptq' ? qws[1] !== out : qws[1] * per !== out) {
    bad(prefix, `qweight has shape [${qws}], which does not match ${out} outputs in the ${layout} layout`);
  }
  if (inF % groups !== 0) bad(prefix, `${inF} inputs do not split into ${groups} groups`);
  const gs = inF / groups;
  const v1 = layout === 'gptq' && config.checkpoint_format !== 'gptq_v2';
  const mid = 1 << (b - 1);
  // Zero-points [out, groups] (lowbit order), from the packed [groups, out * bits / 32].
  const zeros = native.allocate('uint8', out * groups);
  let allMid = true;
  for (let g = 0; g < groups; g++) {
    for (let o = 0; o < out; o++) {
      let z = layout === 'awq' ? code(qzeros[g * qzs[1] + Math.floor(o / 8)], 4, AWQ_SLOT[o % 8]) : streamCode((w) => qzeros[g * qzs[1] + w], b, o);
      if (v1) z += 1;
      if (z > (1 << b) - 1) {
        bad(prefix, `zero-point ${z} (group ${g}, output ${o}) is past the largest ${b}-bit code: a v1 checkpoint stored zero - 1 = -1 there (give checkpoint_format: 'gptq_v2' if the file is v2)`);
      }
      zeros[o * groups + g] = z;
      allMid &&= z === mid;
    }
  }
  // GPTQ act order: g_idx assigns each input to a group; reorder inputs so that groups are contiguous.
  let perm: Int32Array | undefined;
  if (layout === 'gptq' && file.has(`${prefix}.g_idx`)) {
    const gIdx = int32s(file, `${prefix}.g_idx`, prefix, false).a;
    if (gIdx.length !== inF) bad(prefix, `g_idx has ${gIdx.length} entries for ${inF} inputs`);
    const count = new Int32Array(groups);
    let identity = true;
    for (let i = 0; i < inF; i++) {
      const g = gIdx[i];
      if (g < 0 || g >= groups) bad(prefix, `g_idx[${i}] = ${g} is not a group (0 to ${groups - 1})`);
      count[g]++;
      identity &&= g === Math.floor(i / gs);
    }
    if (!identity) {
      const g = count.findIndex((c) => c !== gs);
      if (g >= 0) bad(prefix, `g_idx puts ${count[g]} inputs in group ${g}; lowbit's groups hold ${gs} each`);
      // A stable sort by group: inputs keep their order within a group.
      perm = Int32Array.from({ length: inF }, (_, i) => i).sort((x, y) => gIdx[x] - gIdx[y] || x - y);
    }
  }
  const sym = allMid && (layout === 'gptq' ? config.sym === true : config.zero_point === false);
  const at = (o: number, j: number): number => {
    const i = perm ? perm[j] : j;
    const u = layout === 'gptq'
      ? streamCode((w) => qweight[w * out + o], b, i)
      : code(qweight[i * qws[1] + Math.floor(o / 8)], 4, AWQ_SLOT[o % 8]);
    // lowbit's symmetric 8-bit codes are two's complement q = u - 128; 4-bit ones are u (q + 8) already.
    return sym && b === 8 ? u ^ 0x80 : u;
  };
  let data: Uint8Array;
  if (layout === 'gptq' && !perm) {
    // A GPTQ column of words holds one output's inputs as a bit stream, first input lowest: byte for byte
    // lowbit's row (one byte each; 2 and 3 bits: the same stream), 4-bit codes interleaved (column c in
    // byte c / 2), which are then put in lowbit's order. So the codes are the [in * bits / 32, out] word grid
    // transposed (symmetric 8-bit: every byte's top bit flipped, u - 128).
    data = native.allocate('uint8', out * inF * b / 8);
    transposeWords(new Uint32Array(qweight.buffer, qweight.byteOffset, qweight.length), qws[0], out,
      new Uint32Array(data.buffer), sym && b === 8 ? 0x80808080 : 0);
    if (b === 4) data = nibblesFromInterleaved(data, out, inF);
  } else if (layout === 'awq') {
    // Each word holds 8 outputs of one input (slot AWQ_SLOT[k] for output 8c + k): scatter its nibbles
    // (interleaved: input i in byte i / 2), then put them in lowbit's order.
    const rb = (inF + 1) >> 1;
    data = new Uint8Array(out * rb);
    const words = qws[1];
    for (let i = 0; i < inF; i++) {
      const shift = (i & 1) * 4;
      const byte = i >> 1;
      for (let c = 0; c < words; c++) {
        const word = qweight[i * words + c];
        const base = 8 * c * rb + byte;
        for (let k = 0; k < 8; k++) data[base + k * rb] |= ((word >>> (4 * AWQ_SLOT[k])) & 15) << shift;
      }
    }
    data = nibblesFromInterleaved(data, out, inF);
  } else {
    data = packCodes(out, inF, b, at);
  }
  const scales = transposeScales(file, `${prefix}.scales`, prefix, groups, out);
  // GPTQ's group_size -1: one scale per output row.
  const row = groups === 1 && (config.group_size ?? config.q_group_size) === -1;
  const matrix = groupMatrix(out, inF, b, gs, row, sym, data, scales, zeros);
  const result: QuantizedLinear = { source: layout, matrix, config };
  if (perm) result.inputPermutation = perm;
  if (file.has(`${prefix}.bias`)) result.bias = floats(file, `${prefix}.bias`, prefix);
  return result;
}

const levels = new Map<string, Float32Array>();
/** lowbit's table of a 4-bit table format, read from the addon (dequantize of the codes 0..15 at scale 1). */
function table(format: 'nf4' | 'bnb_fp4'): Float32Array {
  let t = levels.get(format);
  if (t === undefined) {
    t = native.dequantize({
      format, rows: 1, cols: 16, bits: 4, scheme: 'symmetric', granularity: 'group', groupSize: 16,
      // Codes 0..15 in columns 0..15: one 16-column block, byte j holding columns j and j + 8.
      scaleType: 'float32', data: Uint8Array.from({ length: 8 }, (_, j) => j | ((j + 8) << 4)),
      scales: new Float32Array([1]), zeros: null, byteLength: 12, layout: 2,
    });
    levels.set(format, t);
  }
  return t;
}

function importBnb(file: SafetensorsFile, prefix: string, config: QuantizationConfig): QuantizedLinear {
  const w = `${prefix}.weight`;
  const stateName = [`${w}.quant_state.bitsandbytes__nf4`, `${w}.quant_state.bitsandbytes__fp4`].find((n) => file.has(n));
  if (stateName === undefined) bad(prefix, `${w}.absmax without ${w}.quant_state.bitsandbytes__nf4 (or __fp4)`);
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(Buffer.from(file.bytes(stateName as string)).toString('utf8'));
  } catch (e) {
    return bad(prefix, `${stateName} is not valid JSON (${(e as Error).message})`);
  }
  if (state.quant_type !== 'nf4' && state.quant_type !== 'fp4') bad(prefix, `bitsandbytes quant_type '${String(state.quant_type)}' is not nf4 or fp4`);
  const format = state.quant_type === 'nf4' ? 'nf4' : 'bnb_fp4';
  if (!(stateName as string).endsWith(`__${String(state.quant_type)}`)) bad(prefix, `${stateName} says quant_type '${String(state.quant_type)}'`);
  const shape = state.shape as number[];
  const block = state.blocksize as number;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    bad(prefix, `quant_state shape ${JSON.stringify(shape)} is not [out_features, in_features]`);
  }
  const [out, inF] = shape;
  if (!Number.isSafeInteger(block) || block <= 0 || inF % block !== 0) {
    bad(prefix, `blocksize ${String(block)} must divide in_features ${inF} (lowbit's groups lie within a row)`);
  }
  const packed = file.bytes(w);
  if (packed.length * 2 !== out * inF) bad(prefix, `${w} holds ${packed.length * 2} codes for a [${out}, ${inF}] weight`);
  const qmap = floats(file, `${w}.quant_map`, prefix);
  const lut = table(format);
  if (qmap.length !== 16 || !qmap.every((v, i) => v === lut[i])) {
    bad(prefix, `${w}.quant_map is not the ${format === 'nf4' ? 'NF4' : 'bitsandbytes FP4'} table lowbit multiplies with`);
  }
  const nBlocks = (out * inF) / block;
  let absmax: Float32Array;
  const aInfo = file.info(`${w}.absmax`);
  if (aInfo.dtype === 'U8') {
    // Double quantization: absmax = code2[q] * absmax2[block / nested_blocksize] + offset, in float32.
    const q = file.tensor(`${w}.absmax`) as Uint8Array;
    const a2 = floats(file, `${w}.nested_absmax`, prefix);
    const code2 = floats(file, `${w}.nested_quant_map`, prefix);
    const nb = state.nested_blocksize as number;
    const offset = Math.fround(state.nested_offset as number);
    if (!Number.isSafeInteger(nb) || nb <= 0 || typeof state.nested_offset !== 'number') bad(prefix, 'quant_state lacks nested_blocksize / nested_offset for a double-quantized absmax');
    if (code2.length !== 256) bad(prefix, `${w}.nested_quant_map has ${code2.length} entries; 256 are needed`);
    if (q.length !== nBlocks || a2.length !== Math.ceil(nBlocks / nb)) bad(prefix, `${w}.absmax / nested_absmax sizes do not match ${nBlocks} blocks of ${block}`);
    absmax = native.allocate('float32', nBlocks);
    for (let i = 0; i < nBlocks; i++) absmax[i] = Math.fround(Math.fround(code2[q[i]] * a2[Math.floor(i / nb)]) + offset);
  } else {
    absmax = floats(file, `${w}.absmax`, prefix);
    if (absmax.length !== nBlocks) bad(prefix, `${w}.absmax has ${absmax.length} entries for ${nBlocks} blocks of ${block}`);
  }
  // bitsandbytes puts element 2i in the high nibble of byte i and 2i + 1 in the low one: swapped, that is the
  // interleaved order, which is then put in lowbit's.
  const swapped = new Uint8Array(packed.length);
  for (let i = 0; i < packed.length; i++) swapped[i] = (packed[i] >> 4) | ((packed[i] & 0xf) << 4);
  const data = nibblesFromInterleaved(swapped, out, inF);
  const matrix: QuantizedMatrix = {
    format, rows: out, cols: inF, bits: 4, scheme: 'symmetric', granularity: 'group', groupSize: block,
    scaleType: 'float32', data, scales: absmax, zeros: null, byteLength: data.byteLength + absmax.byteLength, layout: 2,
  };
  const result: QuantizedLinear = { source: format === 'nf4' ? 'bnb-nf4' : 'bnb-fp4', matrix, config };
  if (file.has(`${prefix}.bias`)) result.bias = floats(file, `${prefix}.bias`, prefix);
  return result;
}

/**
 * One quantized linear layer of a checkpoint (`prefix` like `'model.layers.0.mlp.down_proj'`) as a lowbit
 * matrix, without requantizing: GPTQ (`.qweight` / `.qzeros` / `.scales` / `.g_idx`, 2, 3, 4 or 8 bits, v1 or v2,
 * act order), AWQ GEMM (`.qweight` / `.qzeros` / `.scales`, 4 bits) as int group matrices with
 * float16 scales; bitsandbytes NF4 and FP4 (`.weight` with `.absmax`, `.quant_map`, the quant_state, double
 * quantization) as nf4 / bnb_fp4 matrices; an unquantized `.weight` (F32, F16, BF16) as float32 weights
 * (`source: 'float'`). `config` defaults to `quantize_config.json`, else `config.json`'s
 * `quantization_config`, beside the file.
 */
export function importLinear(file: SafetensorsFile, prefix: string, config?: QuantizationConfig): ImportedLinear {
  if (file === null || typeof file !== 'object' || typeof (file as SafetensorsFile).has !== 'function') {
    throw new TypeError(`importLinear: file must be an open SafetensorsFile (got ${describe(file)})`);
  }
  if (typeof prefix !== 'string' || prefix.length === 0) throw new TypeError(`importLinear: prefix must be a non-empty string (got ${describe(prefix)})`);
  if (config !== undefined && (config === null || typeof config !== 'object')) throw new TypeError(`importLinear: config must be an object (got ${describe(config)})`);
  const cfg = config ?? configBeside(file);
  if (file.has(`${prefix}.qweight`)) {
    const method = String(cfg.quant_method ?? '').toLowerCase();
    let layout: 'gptq' | 'awq';
    if (method === 'gptq' || method === 'awq') {
      layout = method;
      const version = cfg.version === undefined ? 'gemm' : String(cfg.version).toLowerCase();
      if (layout === 'awq' && version !== 'gemm') {
        throw new RangeError(`importLinear: ${prefix}: AWQ version '${String(cfg.version)}' is not supported (the GEMM layout is: version 'gemm')`);
      }
    } else {
      // Without a config: GPTQ packs along the input dimension (qweight [in * bits / 32, out]), AWQ along the output.
      const scales = file.has(`${prefix}.scales`) ? file.info(`${prefix}.scales`).shape : [];
      layout = file.info(`${prefix}.qweight`).shape[1] === scales[1] ? 'gptq' : 'awq';
    }
    return importQuantInt(file, prefix, cfg, layout);
  }
  if (file.has(`${prefix}.weight`) && file.has(`${prefix}.weight.absmax`)) return importBnb(file, prefix, cfg);
  if (file.has(`${prefix}.weight`)) {
    const info = file.info(`${prefix}.weight`);
    if (info.shape.length !== 2) bad(prefix, `${prefix}.weight has shape ${JSON.stringify(info.shape)}; a linear layer's weight is [out_features, in_features]`);
    const result: FloatLinear = { source: 'float', weights: floats(file, `${prefix}.weight`, prefix), rows: info.shape[0], cols: info.shape[1], config: cfg };
    if (file.has(`${prefix}.bias`)) result.bias = floats(file, `${prefix}.bias`, prefix);
    return result;
  }
  const some = file.tensors.slice(0, 3).map((t) => t.name).join(', ');
  throw new RangeError(
    `importLinear: ${file.path} has no layer '${prefix}' (looked for ${prefix}.qweight, ${prefix}.weight.absmax and ${prefix}.weight; the file has ${some}${file.tensors.length > 3 ? ', ...' : ''})`,
  );
}

export interface ExportLinearOptions {
  layout: 'gptq' | 'awq';
  /** GPTQ checkpoint format: 1 (default; zero-points stored minus one) or 2. */
  version?: 1 | 2;
  /** Tensor name prefix, e.g. `'model.layers.0.mlp.down_proj'`. */
  prefix: string;
}

export interface ExportedLinear {
  tensors: Record<string, SafetensorsTensorInput>;
  /** The matching `quantization_config` for config.json. */
  quantization_config: QuantizationConfig;
}

/**
 * A lowbit INT4 (GPTQ, AWQ) or INT2 / INT3 / INT8 (GPTQ) matrix with group (or, GPTQ, row) scales in float16 as the
 * Python tools' tensors: `importLinear` of them gives the matrix back byte for byte (AWQ: symmetric
 * matrices come back as the asymmetric matrix with every zero-point 8, the same values).
 */
export function exportLinear(q: QuantizedMatrix, options: ExportLinearOptions): ExportedLinear {
  const fail = (msg: string): never => {
    throw new RangeError(`exportLinear: ${msg}`);
  };
  native.checkQuantized(q, 'exportLinear: q');
  if (options === null || typeof options !== 'object') throw new TypeError(`exportLinear: options must be an object (got ${describe(options)})`);
  const { layout, prefix } = options;
  const version = options.version ?? 1;
  if (layout !== 'gptq' && layout !== 'awq') fail(`options.layout must be 'gptq' or 'awq' (got ${describe(layout)})`);
  if (typeof prefix !== 'string' || prefix.length === 0) fail(`options.prefix must be a non-empty string (got ${describe(prefix)})`);
  if (version !== 1 && version !== 2) fail(`options.version must be 1 or 2 (got ${describe(version)})`);
  if (q.format !== 'int') fail(`q has format '${q.format}'; the ${layout} layout holds integer codes (format 'int')`);
  if (q.scaleType !== 'float16') fail(`q has ${q.scaleType} scales; the ${layout} layout stores float16 (quantize with scaleType: 'float16')`);
  const bits = q.bits;
  if (layout === 'awq' && bits !== 4) fail(`AWQ's GEMM layout is 4-bit (q has ${bits}-bit codes)`);
  if (bits !== 2 && bits !== 3 && bits !== 4 && bits !== 8) fail(`q has ${bits}-bit codes; GPTQ holds 2, 3, 4 or 8`);
  const rowScales = q.granularity === 'row';
  if (q.granularity !== 'group' && !(rowScales && layout === 'gptq')) {
    fail(`q has ${q.granularity} scales; ${layout === 'gptq' ? 'group or row' : 'group'} scales are needed`);
  }
  const out = q.rows;
  const inF = q.cols;
  const gs = rowScales ? inF : q.groupSize;
  const groups = inF / gs;
  // Whole int32 words of codes along each dimension: multiples of 32 / bits (3-bit: of 32).
  const unit = bits === 3 ? 32 : 32 / bits;
  if (inF % unit !== 0 || out % unit !== 0) fail(`in_features ${inF} and out_features ${out} must be multiples of ${unit}`);
  const sym = q.scheme === 'symmetric';
  const mid = 1 << (bits - 1);
  const rb = bits === 8 ? inF : (inF + 1) >> 1;
  // 4-bit codes interleaved (column c in byte c / 2), as GPTQ's bit streams and AWQ's reading below take them.
  const codes = bits === 4 ? nibblesToInterleaved(q.data, out, inF) : q.data;
  const codeAt = (o: number, i: number): number => {
    if (bits === 8) return sym ? codes[o * rb + i] ^ 0x80 : codes[o * rb + i];
    return (codes[o * rb + (i >> 1)] >> ((i & 1) * 4)) & 0xf;
  };
  const zeroAt = (o: number, g: number): number => (sym ? mid : (q.zeros as Uint8Array)[o * groups + g]);
  const qwRows = layout === 'gptq' ? (inF * bits) / 32 : inF;
  const qwCols = layout === 'gptq' ? out : out / 8;
  const qweight = new Uint32Array(qwRows * qwCols);
  if (layout === 'gptq') {
    // The inverse of importLinear's word transpose (rows of in * bits / 32 words per output).
    const rowWords = new Uint32Array(codes.buffer.slice(codes.byteOffset, codes.byteOffset + codes.byteLength));
    transposeWords(rowWords, out, qwRows, qweight, sym && bits === 8 ? 0x80808080 : 0);
  } else {
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) qweight[i * qwCols + Math.floor(o / 8)] |= codeAt(o, i) << (4 * AWQ_SLOT[o % 8]);
    }
  }
  const zw = (out * bits) / 32;  // qzeros words per group
  const qzeros = new Uint32Array(groups * zw);
  const scales = new Uint16Array(groups * out);
  for (let g = 0; g < groups; g++) {
    for (let o = 0; o < out; o++) {
      let z = zeroAt(o, g);
      if (layout === 'gptq' && version === 1) {
        if (z === 0) fail(`zero-point 0 (output ${o}, group ${g}) cannot be stored in GPTQ v1, which stores zero - 1; use version 2`);
        z -= 1;
      }
      if (layout === 'awq') qzeros[g * zw + Math.floor(o / 8)] |= z << (4 * AWQ_SLOT[o % 8]);
      else putStreamCode(qzeros, g * zw, 1, bits, o, z);
      scales[g * out + o] = (q.scales as Uint16Array)[o * groups + g];
    }
  }
  const i32 = (a: Uint32Array): Int32Array => new Int32Array(a.buffer);
  const tensors: Record<string, SafetensorsTensorInput> = {
    [`${prefix}.qweight`]: { dtype: 'I32', shape: [qwRows, qwCols], data: i32(qweight) },
    [`${prefix}.qzeros`]: { dtype: 'I32', shape: [groups, zw], data: i32(qzeros) },
    [`${prefix}.scales`]: { dtype: 'F16', shape: [groups, out], data: scales },
  };
  if (layout === 'gptq') {
    tensors[`${prefix}.g_idx`] = { dtype: 'I32', shape: [inF], data: Int32Array.from({ length: inF }, (_, i) => Math.floor(i / gs)) };
  }
  const quantization_config: QuantizationConfig = layout === 'gptq'
    ? { quant_method: 'gptq', bits, group_size: rowScales ? -1 : gs, desc_act: false, sym, checkpoint_format: version === 1 ? 'gptq' : 'gptq_v2' }
    : { quant_method: 'awq', bits: 4, group_size: gs, zero_point: true, version: 'gemm' };
  return { tensors, quantization_config };
}
