// @ts-check
// Writes decoder models with random weights as GGUF files that llama.cpp loads: the tests' small models
// (every architecture lowbit runs) and the benchmarks' TinyLlama-1.1B-shaped ones.
//
// Two kinds of weights:
// - 'gaussian': float weights ~ N(0, 1/cols) quantized by lowbit (numerics worth comparing);
// - 'codes': random codes and fixed scales written straight into the blocks (a 1.1B file in seconds;
//   kernels run at the same speed whatever the values).
'use strict';
const { quantize, writeGGUF } = require('lowbit');
const { gaussian, mulberry32 } = require('./rng');

/**
 * @typedef {'llama' | 'qwen2' | 'qwen3'} Arch
 * @typedef {'Q4_0' | 'Q8_0' | 'Q4_K' | 'Q5_K' | 'Q6_K' | 'Q2_K' | 'Q3_K' | 'IQ4_XS' | 'IQ4_NL' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'TQ1_0' | 'TQ2_0' | 'F16' | 'F32'} TensorType
 * @typedef {{
 *   arch?: Arch, layers: number, embd: number, ff: number, heads: number, headsKv?: number, headDim?: number,
 *   vocab: number, context?: number, ropeBase?: number, eps?: number, tiedOutput?: boolean, ropeFreqs?: boolean,
 *   types?: Partial<Record<'default' | 'token_embd' | 'output' | 'attn_v' | 'ffn_down', TensorType>>,
 *   weights?: 'gaussian' | 'codes', seed?: number, name?: string, logitScale?: number,
 *   tokenizer?: boolean | Record<string, any>
 * }} RandomModelOptions
 * `tokenizer`: true (default) a made-up SentencePiece vocabulary of `vocab` pieces; false none; or GGUF
 * `tokenizer.*` metadata as JSON values (test/fixtures/tokenizers/*.json), whose tokens must number `vocab`.
 */

const GGML_BLOCK = { Q4_0: [32, 18], Q8_0: [32, 34], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210] };
// llama.cpp's general.file_type (LLAMA_FTYPE_*) by the file's main type.
const FILE_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K: 12, Q4_K: 15, Q5_K: 17, Q6_K: 18, IQ4_NL: 25, IQ4_XS: 30, TQ1_0: 36, TQ2_0: 37 };

/** IEEE binary16 bits of a float, rounded to nearest even. @param {number} f */
function toHalf(f) {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, f);
  const x = b.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  let m = x & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  let exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    m |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (exp << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
  return sign | r;
}

/**
 * A tensor [rows, cols] of `type` for writeGGUF.
 * @param {TensorType} type @param {number} rows @param {number} cols @param {() => number} u
 * @param {'gaussian' | 'codes'} kind @param {number} std
 */
function tensor(type, rows, cols, u, kind, std) {
  if (kind === 'codes' && type in GGML_BLOCK) return randomBlocks(/** @type {keyof typeof GGML_BLOCK} */ (type), rows, cols, u);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = gaussian(u) * std;
  if (type === 'F32') return { type: 'F32', shape: [cols, rows], data: w };
  if (type === 'F16') {
    const h = new Uint16Array(w.length);
    for (let i = 0; i < w.length; i++) h[i] = toHalf(w[i]);
    return { type: 'F16', shape: [cols, rows], data: h };
  }
  return quantize(w, rows, cols, { format: /** @type {any} */ (type.toLowerCase()) });
}

/**
 * Blocks of random codes with fixed fp16 scales: int8 codes in [-127, 127] (Q8_0), any nibbles, K-quant
 * sub-block scales of any 6 bits (Q4_K/Q5_K) or int8 in [-127, 127] (Q6_K).
 * @param {keyof typeof GGML_BLOCK} type @param {number} rows @param {number} cols @param {() => number} u
 */
function randomBlocks(type, rows, cols, u) {
  const [block, bytes] = GGML_BLOCK[type];
  const n = (rows * cols) / block;
  const data = new Uint8Array(n * bytes);
  const words = new Uint32Array(data.buffer, 0, data.length >>> 2);
  let s = Math.floor(u() * 4294967296) >>> 0;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s >>> 0;
  }
  const d = toHalf(0.02), dmin = toHalf(0.01);
  const put = (/** @type {number} */ at, /** @type {number} */ h) => {
    data[at] = h & 0xff;
    data[at + 1] = h >>> 8;
  };
  for (let b = 0; b < n; b++) {
    const o = b * bytes;
    if (type === 'Q4_0' || type === 'Q8_0') {
      put(o, d);
      if (type === 'Q8_0') for (let j = 2; j < 34; j++) if (data[o + j] === 128) data[o + j] = 129;
    } else if (type === 'Q6_K') {
      for (let j = 192; j < 208; j++) if (data[o + j] === 128) data[o + j] = 129;
      put(o + 208, d);
    } else {
      put(o, toHalf(0.002));
      put(o + 2, dmin);
    }
  }
  return { type, shape: [cols, rows], data };
}

/**
 * A llama-style vocabulary llama.cpp loads: <unk>, <s>, </s>, the 256 byte tokens, then distinct pieces.
 * @param {number} vocab
 */
function vocabulary(vocab) {
  /** @type {string[]} */
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256 && tokens.length < vocab; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < vocab; i++) {
    let s = '';
    let k = i;
    do {
      s += letters[k % 26];
      k = Math.floor(k / 26);
    } while (k > 0);
    tokens.push(`\u2581${s}`);
    types.push(1);
  }
  const scores = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) scores[i] = -i;
  return { tokens, types: Int32Array.from(types), scores };
}

/**
 * Writes the model and returns what it wrote.
 * @param {string} path @param {RandomModelOptions} o
 */
function writeRandomModel(path, o) {
  const arch = o.arch ?? 'llama';
  const headsKv = o.headsKv ?? o.heads;
  const headDim = o.headDim ?? o.embd / o.heads;
  const kind = o.weights ?? 'gaussian';
  const types = { default: 'Q4_0', ...o.types };
  const typeOf = (/** @type {'token_embd' | 'output' | 'attn_v' | 'ffn_down' | 'default'} */ k) =>
    /** @type {TensorType} */ (types[k] ?? types.default);
  const u = mulberry32(o.seed ?? 1);
  const q = o.heads * headDim, kv = headsKv * headDim;
  const vector = (/** @type {number} */ n, /** @type {number} */ mean, /** @type {number} */ std) => {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = mean + gaussian(u) * std;
    return { type: 'F32', shape: [n], data: v };
  };
  /** @type {Array<[string, any]>} */
  const tensors = [];
  const add = (/** @type {string} */ name, /** @type {any} */ t) => tensors.push([name, t]);
  const mat = (/** @type {TensorType} */ type, /** @type {number} */ rows, /** @type {number} */ cols, std = 1 / Math.sqrt(cols)) =>
    tensor(type, rows, cols, u, kind, std);

  add('token_embd.weight', mat(typeOf('token_embd'), o.vocab, o.embd, 1));
  if (o.ropeFreqs) {
    const f = new Float32Array(headDim / 2);
    for (let i = 0; i < f.length; i++) f[i] = 1 + (i * 7) / f.length;
    add('rope_freqs.weight', { type: 'F32', shape: [f.length], data: f });
  }
  for (let i = 0; i < o.layers; i++) {
    const p = `blk.${i}.`;
    add(`${p}attn_norm.weight`, vector(o.embd, 1, 0.1));
    add(`${p}attn_q.weight`, mat(typeOf('default'), q, o.embd));
    add(`${p}attn_k.weight`, mat(typeOf('default'), kv, o.embd));
    add(`${p}attn_v.weight`, mat(typeOf('attn_v'), kv, o.embd));
    if (arch === 'qwen2') {
      add(`${p}attn_q.bias`, vector(q, 0, 0.2));
      add(`${p}attn_k.bias`, vector(kv, 0, 0.2));
      add(`${p}attn_v.bias`, vector(kv, 0, 0.2));
    }
    if (arch === 'qwen3') {
      add(`${p}attn_q_norm.weight`, vector(headDim, 1, 0.1));
      add(`${p}attn_k_norm.weight`, vector(headDim, 1, 0.1));
    }
    add(`${p}attn_output.weight`, mat(typeOf('default'), o.embd, q));
    add(`${p}ffn_norm.weight`, vector(o.embd, 1, 0.1));
    add(`${p}ffn_gate.weight`, mat(typeOf('default'), o.ff, o.embd));
    add(`${p}ffn_up.weight`, mat(typeOf('default'), o.ff, o.embd));
    add(`${p}ffn_down.weight`, mat(typeOf('ffn_down'), o.embd, o.ff));
  }
  add('output_norm.weight', vector(o.embd, 1, 0.1));
  if (!o.tiedOutput) add('output.weight', mat(typeOf('output'), o.vocab, o.embd, (o.logitScale ?? 1) / Math.sqrt(o.embd)));

  /** @type {Record<string, any>} */
  const metadata = {
    'general.architecture': arch,
    'general.name': o.name ?? `random ${arch}`,
    'general.file_type': FILE_TYPE[typeOf('default')] ?? 0,
    [`${arch}.context_length`]: o.context ?? 2048,
    [`${arch}.embedding_length`]: o.embd,
    [`${arch}.block_count`]: o.layers,
    [`${arch}.feed_forward_length`]: o.ff,
    [`${arch}.rope.dimension_count`]: headDim,
    [`${arch}.rope.freq_base`]: o.ropeBase ?? 10000,
    [`${arch}.attention.head_count`]: o.heads,
    [`${arch}.attention.head_count_kv`]: headsKv,
    [`${arch}.attention.layer_norm_rms_epsilon`]: o.eps ?? 1e-5,
  };
  /** @type {Record<string, any>} */
  const mtypes = {
    'general.file_type': 'uint32',
    [`${arch}.context_length`]: 'uint32',
    [`${arch}.embedding_length`]: 'uint32',
    [`${arch}.block_count`]: 'uint32',
    [`${arch}.feed_forward_length`]: 'uint32',
    [`${arch}.rope.dimension_count`]: 'uint32',
    [`${arch}.rope.freq_base`]: 'float32',
    [`${arch}.attention.head_count`]: 'uint32',
    [`${arch}.attention.head_count_kv`]: 'uint32',
    [`${arch}.attention.layer_norm_rms_epsilon`]: 'float32',
  };
  if (o.headDim !== undefined) {
    metadata[`${arch}.attention.key_length`] = headDim;
    metadata[`${arch}.attention.value_length`] = headDim;
    mtypes[`${arch}.attention.key_length`] = 'uint32';
    mtypes[`${arch}.attention.value_length`] = 'uint32';
  }
  if (typeof o.tokenizer === 'object') {
    const tokens = o.tokenizer['tokenizer.ggml.tokens'];
    if (tokens.length !== o.vocab) throw new RangeError(`writeRandomModel: the tokenizer has ${tokens.length} tokens, vocab is ${o.vocab}`);
    for (const [k, v] of Object.entries(o.tokenizer)) {
      if (k === 'tokenizer.ggml.token_type') metadata[k] = Int32Array.from(v);
      else if (k === 'tokenizer.ggml.scores') metadata[k] = Float32Array.from(v);
      else metadata[k] = v;
      if (k.endsWith('_id')) mtypes[k] = 'uint32';
    }
  } else if (o.tokenizer ?? true) {
    const v = vocabulary(o.vocab);
    Object.assign(metadata, {
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': v.tokens,
      'tokenizer.ggml.scores': v.scores,
      'tokenizer.ggml.token_type': v.types,
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.ggml.unknown_token_id': 0,
    });
    Object.assign(mtypes, {
      'tokenizer.ggml.bos_token_id': 'uint32',
      'tokenizer.ggml.eos_token_id': 'uint32',
      'tokenizer.ggml.unknown_token_id': 'uint32',
    });
  }
  writeGGUF(path, { metadata, types: mtypes, tensors, alignment: 32 });
  return { arch, headsKv, headDim, tensors: tensors.map(([n]) => n) };
}

/**
 * TinyLlama-1.1B's shape (hidden 2048, 22 layers, FFN 5632, 32 heads, 4 KV heads, vocabulary 32000) with
 * random codes, as `mix`: every matrix q4_0 or q8_0, or 'q4_k_m' (q4_k with q6_k for attn_v, ffn_down and
 * the output matrix, as llama-quantize's Q4_K_M does).
 * @param {string} path @param {'q4_0' | 'q8_0' | 'q4_k_m'} mix
 */
function writeTinyLlamaShaped(path, mix) {
  /** @type {RandomModelOptions['types']} */
  const types =
    mix === 'q4_k_m' ? { default: 'Q4_K', attn_v: 'Q6_K', ffn_down: 'Q6_K', output: 'Q6_K' } : { default: mix === 'q4_0' ? 'Q4_0' : 'Q8_0' };
  return writeRandomModel(path, {
    arch: 'llama', layers: 22, embd: 2048, ff: 5632, heads: 32, headsKv: 4, vocab: 32000, context: 2048,
    types, weights: 'codes', seed: 1, name: `TinyLlama-1.1B-shaped random ${mix}`,
  });
}

module.exports = { writeRandomModel, writeTinyLlamaShaped, toHalf };
