/**
 * What a GGUF file says about a decoder: its hyperparameters from the metadata (llama.cpp's keys) and its
 * weights by llama.cpp's tensor names, checked against each other before anything native sees them.
 */
import { LowbitFileError } from '../core/errors';
import type { GGUFFile, GGUFValue } from '../io/gguf';
import type { QuantizedMatrix } from '../core/types';

/** The GGUF architectures lowbit runs (`general.architecture`). */
export const ARCHITECTURES = ['llama', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** What the native model builder takes (csrc/napi/llm_napi.cc). */
export interface NativeSpec {
  arch: Architecture;
  layers: number;
  embd: number;
  heads: number;
  headsKv: number;
  headDim: number;
  ff: number;
  vocab: number;
  rmsEps: number;
  ropeBase: number;
  ropeNeox: boolean;
  activations: 'int8' | 'float';
}

type Weight = QuantizedMatrix | Float32Array;

export interface NativeLayer {
  attnNorm: Float32Array;
  ffnNorm: Float32Array;
  wq: Weight;
  wk: Weight;
  wv: Weight;
  wo: Weight;
  gate: Weight;
  up: Weight;
  down: Weight;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
}

export interface NativeWeights {
  embedding: Weight;
  output: Weight;
  outputNorm: Float32Array;
  ropeFactors?: Float32Array;
  layers: NativeLayer[];
}

export interface GGUFModel {
  spec: NativeSpec;
  weights: NativeWeights;
  /** The context length the model was trained for (`<arch>.context_length`). */
  trainedContext: number;
  /** Whether the output matrix is the token embeddings (no `output.weight`). */
  tiedOutput: boolean;
  name: string | null;
}

/** Reads and checks a decoder out of `f`; every problem is a LowbitFileError naming the key or tensor. */
export function readGGUFModel(f: GGUFFile, fn: string, activations: 'int8' | 'float'): GGUFModel {
  const bad = (message: string, field: string, code = 'BAD_MODEL') =>
    new LowbitFileError(`${fn}: ${f.path}: ${message}`, code, f.path, { format: 'gguf', field });

  const archValue = f.metadata['general.architecture'];
  if (typeof archValue !== 'string') throw bad('has no general.architecture string: not a model file', 'general.architecture');
  if (!(ARCHITECTURES as readonly string[]).includes(archValue)) {
    throw bad(`architecture '${archValue}' is not one lowbit runs (it runs ${ARCHITECTURES.join(', ')})`, 'general.architecture', 'UNSUPPORTED');
  }
  const arch = archValue as Architecture;

  const num = (key: string, fallback?: number): number => {
    const full = `${arch}.${key}`;
    const v: GGUFValue | undefined = f.metadata[full];
    if (v === undefined && fallback !== undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n <= 0) {
      throw bad(v === undefined ? `has no ${full}` : `${full} must be a positive number (got ${String(v)})`, full);
    }
    return n;
  };
  const int = (key: string, fallback?: number): number => {
    const n = num(key, fallback);
    if (!Number.isSafeInteger(n)) throw bad(`${arch}.${key} must be an integer (got ${n})`, `${arch}.${key}`);
    return n;
  };

  const layers = int('block_count');
  const embd = int('embedding_length');
  const ff = int('feed_forward_length');
  const heads = int('attention.head_count');
  const headsKv = int('attention.head_count_kv', heads);
  const headDim = int('attention.key_length', embd / heads);
  if (int('attention.value_length', headDim) !== headDim) {
    throw bad(`${arch}.attention.value_length differs from the key length ${headDim}, which lowbit does not run`, `${arch}.attention.value_length`, 'UNSUPPORTED');
  }
  if (heads % headsKv !== 0) throw bad(`${arch}.attention.head_count (${heads}) is not a multiple of head_count_kv (${headsKv})`, `${arch}.attention.head_count_kv`);
  if (!Number.isSafeInteger(headDim) || headDim % 2 !== 0) throw bad(`the head size ${headDim} must be an even integer`, `${arch}.attention.key_length`);
  const rotary = int('rope.dimension_count', headDim);
  if (rotary !== headDim) {
    throw bad(`${arch}.rope.dimension_count ${rotary} rotates part of a head (size ${headDim}), which lowbit does not run`, `${arch}.rope.dimension_count`, 'UNSUPPORTED');
  }
  const scaling = f.metadata[`${arch}.rope.scaling.type`];
  if (scaling !== undefined && scaling !== 'none') {
    throw bad(`rope scaling '${String(scaling)}' is not one lowbit runs (Llama 3's rope_freqs factors are)`, `${arch}.rope.scaling.type`, 'UNSUPPORTED');
  }
  const rmsEps = num('attention.layer_norm_rms_epsilon');
  const ropeBase = num('rope.freq_base', 10000);
  const trainedContext = int('context_length');

  const tensor = (name: string): Weight => {
    if (!f.has(name)) throw bad(`has no tensor '${name}'`, name);
    const t = f.info(name);
    try {
      // F16 / BF16 matrices stay 16-bit (multiplied as they lie); vectors (norms, biases) are widened.
      if ((t.type === 'F16' || t.type === 'BF16') && t.rows > 1) return f.matrix(name);
      return f.tensor(name);
    } catch (e) {
      if (e instanceof RangeError && !t.supported) {
        throw bad(`tensor '${name}' has type ${t.type}, which lowbit cannot run yet`, name, 'UNSUPPORTED');
      }
      throw e;
    }
  };
  const shaped = (name: string, rows: number, cols: number): Weight => {
    const t = f.has(name) ? f.info(name) : undefined;
    if (t && (t.cols !== cols || t.rows !== rows || t.shape.length > 2)) {
      throw bad(`tensor '${name}' has shape [${t.shape.join(', ')}]; a ${arch} model with these hyperparameters needs [${cols}, ${rows}] (ggml order)`, name);
    }
    return tensor(name);
  };
  const vector = (name: string, n: number): Float32Array => {
    const w = shaped(name, 1, n);
    if (!(w instanceof Float32Array)) throw bad(`tensor '${name}' is ${f.info(name).type}; a norm or bias must be F32, F16 or BF16`, name);
    return w;
  };
  const optionalVector = (name: string, n: number) => (f.has(name) ? vector(name, n) : undefined);

  if (!f.has('token_embd.weight')) throw bad(`has no tensor 'token_embd.weight'`, 'token_embd.weight');
  const vocab = f.info('token_embd.weight').rows;
  const embedding = shaped('token_embd.weight', vocab, embd);
  const tiedOutput = !f.has('output.weight');
  const output = tiedOutput ? embedding : shaped('output.weight', vocab, embd);
  const q = heads * headDim, kv = headsKv * headDim;
  const ls: NativeLayer[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    const layer: NativeLayer = {
      attnNorm: vector(`${p}attn_norm.weight`, embd),
      ffnNorm: vector(`${p}ffn_norm.weight`, embd),
      wq: shaped(`${p}attn_q.weight`, q, embd),
      wk: shaped(`${p}attn_k.weight`, kv, embd),
      wv: shaped(`${p}attn_v.weight`, kv, embd),
      wo: shaped(`${p}attn_output.weight`, embd, q),
      gate: shaped(`${p}ffn_gate.weight`, ff, embd),
      up: shaped(`${p}ffn_up.weight`, ff, embd),
      down: shaped(`${p}ffn_down.weight`, embd, ff),
    };
    if (arch === 'qwen2') {
      layer.bq = vector(`${p}attn_q.bias`, q);
      layer.bk = vector(`${p}attn_k.bias`, kv);
      layer.bv = vector(`${p}attn_v.bias`, kv);
    } else {
      layer.bq = optionalVector(`${p}attn_q.bias`, q);
      layer.bk = optionalVector(`${p}attn_k.bias`, kv);
      layer.bv = optionalVector(`${p}attn_v.bias`, kv);
    }
    if (arch === 'qwen3') {
      layer.qNorm = vector(`${p}attn_q_norm.weight`, headDim);
      layer.kNorm = vector(`${p}attn_k_norm.weight`, headDim);
    }
    ls.push(layer);
  }
  const name = f.metadata['general.name'];
  return {
    spec: { arch, layers, embd, heads, headsKv, headDim, ff, vocab, rmsEps, ropeBase, ropeNeox: arch !== 'llama', activations },
    weights: {
      embedding,
      output,
      outputNorm: vector('output_norm.weight', embd),
      ropeFactors: optionalVector('rope_freqs.weight', headDim / 2),
      layers: ls,
    },
    trainedContext,
    tiedOutput,
    name: typeof name === 'string' ? name : null,
  };
}
