/**
 * Running a model: {@link loadModel} reads a Llama-family decoder (GGUF architectures `llama`, `qwen2`,
 * `qwen3`) into lowbit's kernels; a {@link Session} holds a KV cache and turns tokens into logits, one
 * native call per forward pass.
 */
import { type AsyncOptions, runAsync, splitAsyncOptions } from '../core/async';
import { describe } from '../core/describe';
import { openGGUF, type GGUFFile } from '../io/gguf';
import { native } from '../core/native';
import { Chat, type ChatOptions } from './chat';
import { Generation, generateOptions, generateTokens, type GenerateOptions } from './generate';
import { ARCHITECTURES, type Architecture, type GGUFModel, readGGUFModel } from './gguf-model';
import { Tokenizer, tokenizerFromGGUF } from './tokenizer';

export { ARCHITECTURES, type Architecture };

/** How a KV cache stores keys and values: fp16 (the default), or ggml's q8_0 (blocks of 32 int8 with an fp16 scale, 8.5 bits). */
export type KvType = 'f16' | 'q8_0';

export interface LoadModelOptions {
  /**
   * Default `true`: map the file. Matrices lowbit repacks are copied out and their pages of the mapping
   * dropped; the others (the embeddings, the norms) are read where they lie, so resident memory stays
   * near the file's size. `false` reads the whole file into memory first.
   */
  mmap?: boolean;
  /**
   * Default `'int8'`: products with quantized matrices quantize their input to int8 per 32 values (lowbit's
   * int8-activation contract, docs/matmul.md), the fast path. `'float'` multiplies float inputs by the weights'
   * exact values (slower; matrices are read where they lie, none repacked): for checking a model's numerics.
   */
  activations?: 'int8' | 'float';
}

/** What a loaded model is. */
export interface ModelInfo {
  architecture: Architecture;
  /** `general.name`, when the file has one. */
  name: string | null;
  /** Weights in the file (every tensor's element count). */
  parameters: number;
  layers: number;
  embeddingLength: number;
  feedForwardLength: number;
  heads: number;
  headsKv: number;
  headSize: number;
  vocabularySize: number;
  /** The context length the model was trained for (`<arch>.context_length`). */
  contextLength: number;
  /** Whether the output matrix is the token embeddings. */
  tiedOutput: boolean;
  /** Bytes of tensors in the file by GGUF type (`{ Q4_0: ..., F32: ... }`). */
  bytesByType: Record<string, number>;
  fileSize: number;
  /** Bytes of weights one generated token reads: every matrix once and one embedding row. */
  bytesPerToken: number;
  /** Bytes lowbit holds in repacked copies. */
  packedBytes: number;
  /** Bytes of the file it reads in place (mapped). */
  inPlaceBytes: number;
  /** The activations its products use ({@link LoadModelOptions.activations}). */
  activations: 'int8' | 'float';
}

export interface SessionOptions {
  /** Positions the KV cache holds: default the model's trained context, at most 4096. */
  contextLength?: number;
  /** Default `'f16'`. `'q8_0'` halves the cache (head sizes that are multiples of 32). */
  kvType?: KvType;
}

/** {@link Session.profile}: sums over the session's forward passes. */
export interface SessionProfile {
  /** Native forward calls (`prefill`, `step` and their async variants). */
  forwards: number;
  /** Tokens they ran. */
  tokens: number;
  seconds: number;
  /** In the weight products. */
  matmulSeconds: number;
  /** In attention over the cache. */
  attentionSeconds: number;
  /** The rest: norms, rotary embeddings, cache stores, SwiGLU, residuals, embedding rows. */
  otherSeconds: number;
}

export interface PrefillOptions {
  /** Return the logits of every position, `[tokens.length, vocabularySize]` row-major (default: the last only). */
  allLogits?: boolean;
}

const DEFAULT_CONTEXT = 4096;

/** Session internals for the model's batched calls: the native handle and the tokens list. */
const sessionState = Symbol('lowbit.session');
/** Session.generate with a callback when it ends, for model.generate's own session. */
const generateThen = Symbol('lowbit.generateThen');

/** Tokens as the native side takes them; a TypeError or RangeError naming the bad one. */
function toTokens(fn: string, tokens: unknown): Int32Array {
  if (tokens instanceof Int32Array) return tokens;
  if (!Array.isArray(tokens) && !(ArrayBuffer.isView(tokens) && !(tokens instanceof DataView))) {
    throw new TypeError(`${fn}: tokens must be an array of token ids or an Int32Array (got ${describe(tokens)})`);
  }
  const src = tokens as ArrayLike<number | bigint>;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const t = Number(src[i]);
    if (!Number.isInteger(t) || t < 0 || t > 0x7fffffff) {
      throw new RangeError(`${fn}: tokens[${i}] must be a non-negative integer token id (got ${String(src[i])})`);
    }
    out[i] = t;
  }
  return out;
}

function toToken(fn: string, token: unknown): Int32Array {
  if (typeof token !== 'number') throw new TypeError(`${fn}: token must be a number (got ${describe(token)})`);
  return toTokens(fn, [token]);
}

/** A decoder's weights in lowbit's kernels. Sessions made from it share them. */
export class Model {
  readonly info: Readonly<ModelInfo>;
  #handle: unknown;
  #tokenizer: Tokenizer | null = null;
  #tokenizerError: unknown = null;

  /** @internal Use {@link loadModel} or {@link loadModelAsync}. */
  constructor(handle: unknown, m: GGUFModel, f: GGUFFile) {
    this.#handle = handle;
    if (f.metadata['tokenizer.ggml.model'] !== undefined) {
      // A tokenizer lowbit cannot read leaves the model usable with token ids; `tokenizer` says why.
      try {
        this.#tokenizer = tokenizerFromGGUF(f, 'loadModel');
      } catch (e) {
        this.#tokenizerError = e;
      }
    }
    const n = native.llmModelInfo(handle);
    const bytesByType: Record<string, number> = {};
    let parameters = 0;
    for (const t of f.tensors) {
      bytesByType[t.type] = (bytesByType[t.type] ?? 0) + (t.byteLength ?? 0);
      parameters += t.rows * t.cols;
    }
    const s = m.spec;
    this.info = Object.freeze({
      architecture: s.arch,
      name: m.name,
      parameters,
      layers: s.layers,
      embeddingLength: s.embd,
      feedForwardLength: s.ff,
      heads: s.heads,
      headsKv: s.headsKv,
      headSize: s.headDim,
      vocabularySize: s.vocab,
      contextLength: m.trainedContext,
      tiedOutput: m.tiedOutput,
      bytesByType: Object.freeze(bytesByType),
      fileSize: f.fileSize,
      bytesPerToken: n.bytesPerToken,
      packedBytes: n.packedBytes,
      inPlaceBytes: n.inPlaceBytes,
      activations: s.activations,
    });
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /**
   * The file's tokenizer (`tokenizer.ggml.*`), or null when it has none. A tokenizer lowbit cannot read
   * (an unknown `tokenizer.ggml.pre`, say) throws its LowbitFileError here; the model still runs token ids.
   */
  get tokenizer(): Tokenizer | null {
    if (this.#tokenizerError !== null) throw this.#tokenizerError;
    return this.#tokenizer;
  }

  /** A new sequence: its own KV cache, at position 0. */
  createSession(options?: SessionOptions): Session {
    const fn = 'createSession';
    if (this.#handle === null) throw new Error('Model: this model was disposed');
    const { contextLength, kvType } = sessionOptions(fn, options, this.info.contextLength);
    return new Session(native.llmSession(this.#handle, contextLength, kvType), kvType, this.info.vocabularySize, this.#tokenizer);
  }

  /**
   * Generates from `prompt` (text, or token ids) in a new session that is disposed when the generation
   * ends (or its `return()` is called): `for await (const { text } of model.generate('Once upon a time',
   * { maxTokens: 64 })) ...`.
   * Options: {@link GenerateOptions}, and the session's `contextLength` and `kvType`.
   */
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions & SessionOptions): Generation {
    const { contextLength, kvType, ...rest } = options ?? {};
    generateOptions('generate', rest as GenerateOptions);
    const session = this.createSession({ contextLength, kvType });
    try {
      return session[generateThen](prompt, rest, () => session.dispose());
    } catch (e) {
      session.dispose();
      throw e;
    }
  }

  /**
   * A conversation with the file's chat template: `chat.send(message)` generates the reply and keeps the
   * turns, reusing the KV cache of the earlier ones.
   */
  createChat(options?: ChatOptions & SessionOptions): Chat {
    const tokenizer = this.tokenizer;
    if (tokenizer === null) throw new Error('createChat: this model file has no tokenizer');
    const { contextLength, kvType, ...rest } = options ?? {};
    return new Chat(this.createSession({ contextLength, kvType }), tokenizer, rest);
  }

  /**
   * One decode step for several sessions of this model at once: `tokens[i]` goes in at `sessions[i]`'s
   * position, the weights are read once for all of them (as a served replica decodes its batch), and the
   * result is each session's logits for its next token, `[sessions.length, vocabularySize]` row-major.
   * Each session's logits are those `sessions[i].step(tokens[i])` gives. The sessions must be distinct,
   * idle and not full; a RangeError names the one that is not, and nothing runs.
   */
  decodeBatch(sessions: readonly Session[], tokens: ArrayLike<number>): Float32Array {
    const { handles, ids } = batchArgs('decodeBatch', sessions, tokens);
    const logits = native.llmDecodeBatch(handles, ids);
    sessions.forEach((s, i) => s[sessionState]().tokens.push(ids[i]));
    return logits;
  }

  /** {@link decodeBatch} off the JS thread; `signal` stops it between layers, no position moved. */
  async decodeBatchAsync(sessions: readonly Session[], tokens: ArrayLike<number>, options?: Pick<AsyncOptions, 'signal'>): Promise<Float32Array> {
    const { signal } = splitAsyncOptions('decodeBatchAsync', options);
    const { handles, ids } = batchArgs('decodeBatchAsync', sessions, tokens);
    const logits = await runAsync(() => native.llmDecodeBatchAsync(handles, ids), signal);
    sessions.forEach((s, i) => s[sessionState]().tokens.push(ids[i]));
    return logits;
  }

  /**
   * Frees the model's weights once its sessions are disposed too (each holds them). Idempotent; a later
   * `createSession` throws.
   */
  dispose(): void {
    if (this.#handle === null) return;
    native.llmModelDispose(this.#handle);
    this.#handle = null;
  }

  /** {@link dispose}, for `using model = loadModel(path)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * One sequence's state: a KV cache and a position. Tokens go in at the position and move it on; the logits
 * that come back are those of the next token. A session runs one call at a time (an async call in flight
 * makes the others throw); sessions of one model may run at the same time.
 */
export class Session {
  readonly kvType: KvType;
  readonly vocabularySize: number;
  /** Positions the cache holds. */
  readonly contextLength: number;
  /** Bytes of the KV cache. */
  readonly kvBytes: number;
  /** The model's tokenizer (null when its file has none or lowbit cannot read it). */
  readonly tokenizer: Tokenizer | null;
  #handle: unknown;
  #tokens: number[] = [];

  /** @internal Use {@link Model.createSession}. */
  constructor(handle: unknown, kvType: KvType, vocab: number, tokenizer: Tokenizer | null) {
    this.#handle = handle;
    this.tokenizer = tokenizer;
    this.kvType = kvType;
    this.vocabularySize = vocab;
    const s = native.llmSessionState(handle);
    this.contextLength = s.contextLength;
    this.kvBytes = s.kvBytes;
  }

  #live(): unknown {
    if (this.#handle === null) throw new Error('Session: this session was disposed');
    return this.#handle;
  }

  /** @internal The native handle and the tokens list, for the model's batched calls. */
  [sessionState](): { handle: unknown; tokens: number[] } {
    return { handle: this.#live(), tokens: this.#tokens };
  }

  /** Tokens processed so far: where the next token goes. Not readable while an async call runs (it moves). */
  get position(): number {
    return native.llmSessionState(this.#live()).position;
  }

  /** The tokens in the cache, in order (a copy; `tokens.length` is {@link position}). */
  get tokens(): number[] {
    return this.#tokens.slice();
  }

  /**
   * Where this session's forward passes spent their time since it was made (not while an async call runs):
   * the weight products, attention, and the rest of the passes (norms, rotary embeddings, the cache's
   * stores, SwiGLU, residuals), in seconds of the native call. What a caller measures beyond `seconds` is
   * the call's own cost (N-API, argument checks, the logits' array).
   */
  get profile(): SessionProfile {
    const p = native.llmSessionState(this.#live()).profile;
    const s = (ns: number) => ns / 1e9;
    return {
      forwards: p.forwards,
      tokens: p.tokens,
      seconds: s(p.totalNs),
      matmulSeconds: s(p.matmulNs),
      attentionSeconds: s(p.attentionNs),
      otherSeconds: s(p.totalNs - p.matmulNs - p.attentionNs),
    };
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /**
   * Runs `tokens` at the current position in one pass (batched: the prompt) and returns the logits of the
   * last one (`Float32Array` of `vocabularySize`), or of each with `allLogits`. A token outside the
   * vocabulary or past the context is a RangeError and changes nothing.
   */
  prefill(tokens: ArrayLike<number> | Int32Array, options?: PrefillOptions): Float32Array {
    const t = toTokens('prefill', tokens);
    const logits = native.llmForward(this.#live(), t, allLogits('prefill', options));
    for (const x of t) this.#tokens.push(x);
    return logits;
  }

  /** {@link prefill} off the JS thread; `signal` stops it between layers, leaving the position unchanged. */
  async prefillAsync(tokens: ArrayLike<number> | Int32Array, options?: PrefillOptions & Pick<AsyncOptions, 'signal'>): Promise<Float32Array> {
    const { rest, signal } = splitAsyncOptions<PrefillOptions>('prefillAsync', options);
    const t = toTokens('prefillAsync', tokens);
    const all = allLogits('prefillAsync', rest);
    const h = this.#live();
    const logits = await runAsync(() => native.llmForwardAsync(h, t, all), signal);
    for (const x of t) this.#tokens.push(x);
    return logits;
  }

  /** One token (generation): its logits for the next. */
  step(token: number): Float32Array {
    const logits = native.llmForward(this.#live(), toToken('step', token), false);
    this.#tokens.push(token);
    return logits;
  }

  /** {@link step} off the JS thread. */
  async stepAsync(token: number, options?: Pick<AsyncOptions, 'signal'>): Promise<Float32Array> {
    const { signal } = splitAsyncOptions('stepAsync', options);
    const t = toToken('stepAsync', token);
    const h = this.#live();
    const logits = await runAsync(() => native.llmForwardAsync(h, t, false), signal);
    this.#tokens.push(token);
    return logits;
  }

  /**
   * Generates after the tokens in the cache: `prompt` (text, encoded with the model's tokenizer, or token
   * ids) goes in at the current position, then tokens are drawn one at a time ({@link GenerateOptions}). The
   * cache keeps the prompt and every token returned but the last, so a later call continues the sequence.
   */
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): Generation {
    return this[generateThen](prompt, options, undefined);
  }

  /** @internal {@link generate}, calling `onEnd` once when the generation ends (model.generate's session). */
  [generateThen](prompt: string | ArrayLike<number>, options: GenerateOptions | undefined, onEnd: (() => void) | undefined): Generation {
    const o = generateOptions('generate', options);
    const h = this.#live();
    let ids: number[];
    if (typeof prompt === 'string') {
      if (this.tokenizer === null) throw new Error('generate: this model has no tokenizer lowbit can read; pass token ids');
      const atStart = native.llmSessionState(h).position === 0;
      ids = this.tokenizer.encode(prompt, { addSpecial: o.addSpecial ?? atStart, parseSpecial: o.parseSpecial });
    } else {
      ids = Array.from(toTokens('generate', prompt));
    }
    if (ids.length === 0) throw new RangeError('generate: the prompt is empty (it must hold at least one token)');
    const bad = ids.findIndex((x) => x >= this.vocabularySize);
    if (bad >= 0) throw new RangeError(`generate: prompt[${bad}] is ${ids[bad]}, not a token of the vocabulary (0 to ${this.vocabularySize - 1})`);
    const position = native.llmSessionState(h).position;
    if (position + ids.length > this.contextLength) {
      throw new RangeError(`generate: the prompt's ${ids.length} tokens do not fit the context (${this.contextLength} positions, ${position} used)`);
    }
    return new Generation((stats) => generateTokens(this, this.tokenizer, ids, o, stats), onEnd);
  }

  /** Back to position 0 (the cache is overwritten by the next tokens). */
  reset(): void {
    native.llmSessionRewind(this.#live(), 0);
    this.#tokens.length = 0;
  }

  /** Back to an earlier `position`, keeping the tokens before it (a shared prompt prefix, a retry). */
  rewind(position: number): void {
    native.llmSessionRewind(this.#live(), position);
    this.#tokens.length = position;
  }

  /** Frees the KV cache (once an async call in flight settles). Idempotent. */
  dispose(): void {
    if (this.#handle === null) return;
    native.llmSessionDispose(this.#handle);
    this.#handle = null;
  }

  /** {@link dispose}, for `using session = model.createSession()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function batchArgs(fn: string, sessions: readonly Session[], tokens: ArrayLike<number>): { handles: unknown[]; ids: Int32Array } {
  if (!Array.isArray(sessions)) throw new TypeError(`${fn}: sessions must be an array of sessions (got ${describe(sessions)})`);
  const handles = sessions.map((s, i) => {
    if (!(s instanceof Session)) throw new TypeError(`${fn}: sessions[${i}] must be a Session (got ${describe(s)})`);
    return s[sessionState]().handle;
  });
  const ids = toTokens(fn, tokens);
  return { handles, ids };
}

/** Checks {@link SessionOptions}; the defaults: the trained context (at most 4096) and an fp16 cache. */
function sessionOptions(fn: string, options: SessionOptions | undefined, trained: number): { contextLength: number; kvType: KvType } {
  let contextLength = Math.min(trained, DEFAULT_CONTEXT);
  let kvType: KvType = 'f16';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
    for (const [k, v] of Object.entries(options)) {
      if (k !== 'contextLength' && k !== 'kvType' && v !== undefined) throw new RangeError(`${fn}: unknown option '${k}' (allowed: contextLength, kvType)`);
    }
    if (options.contextLength !== undefined) {
      const c = options.contextLength;
      if (typeof c !== 'number') throw new TypeError(`${fn}: options.contextLength must be a number (got ${describe(c)})`);
      if (!Number.isSafeInteger(c) || c < 1) throw new RangeError(`${fn}: options.contextLength must be a positive integer (got ${c})`);
      contextLength = c;
    }
    if (options.kvType !== undefined) {
      const t = options.kvType as unknown;
      if (t !== 'f16' && t !== 'q8_0') {
        const msg = `${fn}: options.kvType must be 'f16' or 'q8_0' (got ${describe(t)})`;
        throw typeof t === 'string' ? new RangeError(msg) : new TypeError(msg);
      }
      kvType = t;
    }
  }
  return { contextLength, kvType };
}

function allLogits(fn: string, options: PrefillOptions | undefined): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
  for (const k of Object.keys(options)) {
    if (k !== 'allLogits') throw new RangeError(`${fn}: unknown option '${k}' (allowed: allLogits${fn.endsWith('Async') ? ', signal' : ''})`);
  }
  const a = options.allLogits;
  if (a !== undefined && typeof a !== 'boolean') throw new TypeError(`${fn}: options.allLogits must be a boolean (got ${describe(a)})`);
  return a === true;
}

function openModel(fn: string, path: string, options: LoadModelOptions | undefined): { f: GGUFFile; m: GGUFModel } {
  let activations: 'int8' | 'float' = 'int8';
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`${fn}: path must be a non-empty string (got ${describe(path)})`);
  let open: { mmap?: boolean } | undefined;
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
    for (const k of Object.keys(options)) {
      if (k !== 'mmap' && k !== 'activations') throw new RangeError(`${fn}: unknown option '${k}' (allowed: mmap, activations${fn.endsWith('Async') ? ', signal, onProgress' : ''})`);
    }
    const { activations: a, ...rest } = options;
    if (a !== undefined) {
      if (a !== 'int8' && a !== 'float') {
        const msg = `${fn}: options.activations must be 'int8' or 'float' (got ${describe(a)})`;
        throw typeof a === 'string' ? new RangeError(msg) : new TypeError(msg);
      }
      activations = a;
    }
    open = rest;
  }
  const f = openGGUF(path, open);
  try {
    return { f, m: readGGUFModel(f, fn, activations) };
  } catch (e) {
    f.close();
    throw e;
  }
}

/**
 * Loads a GGUF decoder (`llama`: Llama 2/3, Mistral, TinyLlama; `qwen2`; `qwen3`) for the kernel set in use:
 * matrices of ggml's quantized types (Q2_K ... Q6_K, IQ4_XS, IQ4_NL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, TQ1_0, TQ2_0) repacked for the
 * int8 kernels, F16/BF16 matrices multiplied as they are stored (float activations).
 * A file lowbit cannot run is a LowbitFileError naming the key or tensor (`code` `'UNSUPPORTED'` or
 * `'BAD_MODEL'`). The file must not be truncated or rewritten while the model uses it (it is mapped: the
 * process would fault on a page that is gone).
 */
export function loadModel(path: string, options?: LoadModelOptions): Model {
  const { f, m } = openModel('loadModel', path, options);
  try {
    return new Model(native.llmModel(m.spec, m.weights, f.nativeHandle), m, f);
  } finally {
    closeModelFile(f, m);
  }
}

/**
 * Closes the file a model was read through and lets go of the views of it the reader made now, not when
 * they are collected: the model holds what it reads in place itself, so once it is disposed nothing maps
 * the file any more (on Windows a mapped file cannot be replaced or deleted).
 */
function closeModelFile(f: GGUFFile, m: GGUFModel): void {
  f.close();
  const views: unknown[] = [];
  const walk = (v: unknown) => {
    if (ArrayBuffer.isView(v)) views.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(m.weights);
  native.releaseViews(views);
}

/** {@link loadModel} with the repacking off the JS thread, with `signal` and `onProgress` ({@link AsyncOptions}). */
export async function loadModelAsync(path: string, options?: LoadModelOptions & AsyncOptions): Promise<Model> {
  const { rest, signal, onProgress } = splitAsyncOptions<LoadModelOptions>('loadModelAsync', options);
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
  const { f, m } = openModel('loadModelAsync', path, rest);
  try {
    const handle = await runAsync(() => native.llmModelAsync(m.spec, m.weights, f.nativeHandle), signal, onProgress);
    return new Model(handle, m, f);
  } finally {
    closeModelFile(f, m);
  }
}

export { Chat, type ChatOptions } from './chat';
export { Generation, type FinishReason, type GenerateOptions, type GeneratedToken, type GenerationStats } from './generate';
export { Sampler, type Distribution, type SamplingOptions } from './sampler';
export { CHATML_TEMPLATE, Tokenizer, loadTokenizer, type ChatMessage, type ChatTemplateOptions, type DecodeOptions, type EncodeOptions, type TextStreamDecoder } from './tokenizer';
export { measureModelAsync, type MeasureModelOptions } from './measure';
export type { ModelMeasurement } from '../plan/measure';
export { benchModel, type BenchModelOptions, type BenchModelReport, type BenchModelResult } from './bench';
