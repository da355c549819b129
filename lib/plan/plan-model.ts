/**
 * A model file as the planner counts it: its parameters by kind and its bytes as stored, from the tensors
 * of a GGUF file, and the shapes that size its KV cache from the metadata (llama.cpp's keys).
 */
import * as path from 'node:path';
import { openGGUF, type GGUFFile } from '../io/gguf';

/** What a plan knows of a model file. */
export interface ModelFileFacts {
  path: string;
  /** `general.name`, else the file's name. */
  name: string;
  architecture: string;
  fileSize: number;
  /** Bytes of tensors by GGUF type (`{ Q4_K: ..., Q6_K: ..., F32: ... }`). */
  bytesByType: Record<string, number>;
  /** Bytes of every tensor as stored (scales included): the weights' memory. */
  storedBytes: number;
  /** Of which the linear weights (read every token; the output head included), the input embeddings and the rest. */
  linearBytes: number;
  embeddingBytes: number;
  otherBytes: number;
  /** No `output.weight`: the embeddings are the output head, read whole every token (counted as linear). */
  tiedOutput: boolean;
  /** `<arch>.context_length`, when the file has it. */
  contextLength: number | null;
}

const LINEAR = /^blk\.\d+\.(attn_(q|k|v|qkv|output)|ffn_(gate|up|down)(_exps|_shexp)?)\.weight$|^output\.weight$/;

/** Reads a GGUF model file's counts and shapes; the result is a ModelSpec with the file's facts. */
export function modelFromFile(file: string): {
  name: string; linearParams: number; embeddingParams: number; otherParams: number;
  layers?: number; kvHeads?: number; headDim?: number; hiddenSize?: number; file: ModelFileFacts;
} {
  const f = openGGUF(file);
  try {
    return count(f);
  } finally {
    f.close();
  }
}

function count(f: GGUFFile) {
  const arch = typeof f.metadata['general.architecture'] === 'string' ? (f.metadata['general.architecture'] as string) : 'unknown';
  const meta = (key: string): number | undefined => {
    const v = f.metadata[`${arch}.${key}`];
    const x = typeof v === 'bigint' ? Number(v) : v;
    return typeof x === 'number' && Number.isInteger(x) && x > 0 ? x : undefined;
  };
  const tied = !f.tensors.some((t) => t.name === 'output.weight');
  const facts: ModelFileFacts = {
    path: f.path,
    name: typeof f.metadata['general.name'] === 'string' ? (f.metadata['general.name'] as string) : path.basename(f.path),
    architecture: arch,
    fileSize: f.fileSize,
    bytesByType: {},
    storedBytes: 0,
    linearBytes: 0,
    embeddingBytes: 0,
    otherBytes: 0,
    tiedOutput: tied,
    contextLength: meta('context_length') ?? null,
  };
  let linearParams = 0, embeddingParams = 0, otherParams = 0;
  for (const t of f.tensors) {
    const bytes = t.byteLength ?? 0;
    const n = t.shape.reduce((a, b) => a * b, 1);
    facts.bytesByType[t.type] = (facts.bytesByType[t.type] ?? 0) + bytes;
    facts.storedBytes += bytes;
    if (LINEAR.test(t.name) || (tied && t.name === 'token_embd.weight')) {
      linearParams += n;
      facts.linearBytes += bytes;
    } else if (t.name === 'token_embd.weight') {
      embeddingParams += n;
      facts.embeddingBytes += bytes;
    } else {
      otherParams += n;
      facts.otherBytes += bytes;
    }
  }
  const hidden = meta('embedding_length');
  const heads = meta('attention.head_count');
  const headDim = meta('attention.key_length') ?? (hidden && heads ? hidden / heads : undefined);
  return {
    name: facts.name,
    linearParams,
    embeddingParams,
    otherParams,
    layers: meta('block_count'),
    kvHeads: meta('attention.head_count_kv') ?? heads,
    headDim: headDim !== undefined && Number.isInteger(headDim) ? headDim : undefined,
    hiddenSize: hidden,
    file: facts,
  };
}
