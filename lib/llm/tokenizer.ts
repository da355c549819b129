/**
 * Tokenizers from GGUF metadata: `tokenizer.ggml.model` `llama` (SentencePiece BPE with byte fallback) and
 * `gpt2` (byte-level BPE). Encoding runs @huggingface/tokenizers over a description assembled from the file
 * (./tokenizer-description.ts); decoding is lowbit's, from each token's bytes, so that a stream can hold
 * back an incomplete UTF-8 character.
 */
import type { Tokenizer as HFTokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { describe } from '../core/describe';
import { LowbitFileError } from '../core/errors';
import { openGGUF, type GGUFFile, type GGUFValue } from '../io/gguf';
import { renderChatTemplate, type ChatMessage } from './chat-template';
import { preTokenizer, TokenType, tokenizerDescription, type VocabularyFacts } from './tokenizer-description';

export type { ChatMessage };

export interface EncodeOptions {
  /** Default `true`: the BOS (and EOS) tokens the file asks for (`tokenizer.ggml.add_bos_token`, `add_eos_token`). */
  addSpecial?: boolean;
  /**
   * Default `true`: special (control) tokens written in the text, such as `<|im_end|>`, become their ids, as
   * chat templates need. Pass `false` for text from users, so that it cannot forge them; user-defined tokens
   * are matched either way (llama.cpp's rule).
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Default `false`: control tokens (BOS, EOS, `<|im_start|>`) decode to nothing; `true` writes their text. */
  special?: boolean;
}

export interface ChatTemplateOptions {
  /** Default `true`: end with the header of the assistant's turn, so that the model's reply comes next. */
  addGenerationPrompt?: boolean;
}

/** Turns a stream of token ids into text, holding back an incomplete UTF-8 character until its last byte. */
export interface TextStreamDecoder {
  /** The text this token completes ('' while a character is incomplete). */
  push(token: number): string;
  /** What is held back, as U+FFFD for an incomplete character; the decoder starts over. */
  flush(): string;
}

/** A decoder used when a file has no `tokenizer.chat_template` (llama.cpp's choice: ChatML). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Texts of tokens that end a turn in common models; llama.cpp treats them as end-of-generation too. */
const END_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<EOT>', '<|end_of_text|>', '<|eom_id|>'];

let hfTokenizer: typeof HFTokenizer | undefined;
function HF(): typeof HFTokenizer {
  // The library is an ES module with a CommonJS build; loaded on first use, not when lowbit/llm is.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  hfTokenizer ??= (require('@huggingface/tokenizers') as { Tokenizer: typeof HFTokenizer }).Tokenizer;
  return hfTokenizer;
}

/** A GGUF file's tokenizer. Made by {@link loadTokenizer}, or `model.tokenizer`. */
export class Tokenizer {
  /** `tokenizer.ggml.model`. */
  readonly model: 'llama' | 'gpt2';
  /** `tokenizer.ggml.pre` (`gpt2` family), else null. */
  readonly pre: string | null;
  readonly vocabularySize: number;
  /** Beginning-of-sequence token, when the file names one. */
  readonly bos: number | null;
  /** End-of-sequence token, when the file names one. */
  readonly eos: number | null;
  /** Tokens that end a generation: EOS, `eot`/`eom`, and control tokens such as `<|im_end|>` or `<|eot_id|>`. */
  readonly endOfGeneration: ReadonlySet<number>;
  /** Whether {@link encode} adds BOS / EOS (`addSpecial`). */
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** `tokenizer.chat_template`, when the file has one ({@link applyChatTemplate} uses ChatML otherwise). */
  readonly chatTemplate: string | null;
  readonly #facts: VocabularyFacts;
  readonly #bytes: Array<Uint8Array | null>;
  readonly #path: string;
  #encoders: [HFTokenizer | null, HFTokenizer | null] = [null, null];

  /** @internal Use {@link loadTokenizer} or `model.tokenizer`. */
  constructor(metadata: Readonly<Record<string, GGUFValue>>, path: string, fn: string) {
    const fail = (message: string, field: string, code = 'BAD_MODEL') =>
      new LowbitFileError(`${fn}: ${path}: ${message}`, code, path, { format: 'gguf', field });
    const model = metadata['tokenizer.ggml.model'];
    if (model === undefined) throw fail('has no tokenizer (no tokenizer.ggml.model)', 'tokenizer.ggml.model');
    if (model !== 'llama' && model !== 'gpt2') {
      throw fail(`tokenizer.ggml.model '${String(model)}' is not one lowbit reads (it reads llama, gpt2)`, 'tokenizer.ggml.model', 'UNSUPPORTED');
    }
    const tokens = metadata['tokenizer.ggml.tokens'];
    if (!Array.isArray(tokens) || tokens.length === 0 || typeof tokens[0] !== 'string') {
      throw fail('tokenizer.ggml.tokens must be a non-empty array of strings', 'tokenizer.ggml.tokens');
    }
    const n = tokens.length;
    const typesValue = metadata['tokenizer.ggml.token_type'];
    let types: ArrayLike<number>;
    if (typesValue === undefined) types = new Int32Array(n).fill(TokenType.normal);
    else if (ArrayBuffer.isView(typesValue) && !(typesValue instanceof BigInt64Array || typesValue instanceof BigUint64Array) && typesValue.length === n) {
      types = typesValue as ArrayLike<number>;
    } else throw fail(`tokenizer.ggml.token_type must be ${n} integers, one per token`, 'tokenizer.ggml.token_type');
    const scoresValue = metadata['tokenizer.ggml.scores'];
    let scores: ArrayLike<number> | null = null;
    if (scoresValue instanceof Float32Array || scoresValue instanceof Float64Array) {
      if (scoresValue.length !== n) throw fail(`tokenizer.ggml.scores must be ${n} floats, one per token`, 'tokenizer.ggml.scores');
      scores = scoresValue;
    } else if (scoresValue !== undefined) throw fail('tokenizer.ggml.scores must be an array of floats', 'tokenizer.ggml.scores');
    if (model === 'llama' && scores === null) throw fail('a llama (SentencePiece) tokenizer needs tokenizer.ggml.scores', 'tokenizer.ggml.scores');
    const mergesValue = metadata['tokenizer.ggml.merges'];
    let merges: string[] | null = null;
    if (mergesValue !== undefined) {
      if (!Array.isArray(mergesValue) || (mergesValue.length > 0 && typeof mergesValue[0] !== 'string')) {
        throw fail('tokenizer.ggml.merges must be an array of strings', 'tokenizer.ggml.merges');
      }
      merges = mergesValue as string[];
    }
    if (model === 'gpt2' && merges === null) throw fail('a gpt2 (byte-level BPE) tokenizer needs tokenizer.ggml.merges', 'tokenizer.ggml.merges');
    const id = (key: string): number | null => {
      const v = metadata[`tokenizer.ggml.${key}`];
      if (v === undefined) return null;
      const x = typeof v === 'bigint' ? Number(v) : v;
      if (typeof x !== 'number' || !Number.isInteger(x)) throw fail(`tokenizer.ggml.${key} must be an integer`, `tokenizer.ggml.${key}`);
      if (x < 0 || x >= n) return null; // -1 (and out-of-range ids some converters write) mean "none"
      return x;
    };
    const flag = (key: string, fallback: boolean): boolean => {
      const v = metadata[`tokenizer.ggml.${key}`];
      if (v === undefined) return fallback;
      if (typeof v !== 'boolean') throw fail(`tokenizer.ggml.${key} must be a boolean`, `tokenizer.ggml.${key}`);
      return v;
    };
    const preValue = metadata['tokenizer.ggml.pre'];
    if (preValue !== undefined && typeof preValue !== 'string') throw fail('tokenizer.ggml.pre must be a string', 'tokenizer.ggml.pre');
    const template = metadata['tokenizer.chat_template'];
    if (template !== undefined && typeof template !== 'string') throw fail('tokenizer.chat_template must be a string', 'tokenizer.chat_template');

    this.model = model;
    this.pre = model === 'gpt2' ? (preValue ?? 'default') : null;
    this.vocabularySize = n;
    this.bos = id('bos_token_id');
    this.eos = id('eos_token_id');
    // llama.cpp's defaults: SentencePiece vocabularies add BOS, byte-level ones do not unless the file says so.
    this.addBos = flag('add_bos_token', model === 'llama') && this.bos !== null;
    this.addEos = flag('add_eos_token', false) && this.eos !== null;
    this.chatTemplate = template ?? null;
    this.#path = path;
    this.#facts = {
      model, pre: this.pre ?? '', tokens: tokens as string[], types, scores, merges,
      unknown: id('unknown_token_id'), addSpacePrefix: model === 'llama' && flag('add_space_prefix', true),
    };
    // Check the pre-tokenizer now, not on first use.
    if (model === 'gpt2') preTokenizer(this.pre!, (m, f) => fail(m, f, 'UNSUPPORTED'));
    const end = new Set<number>();
    for (const t of [this.eos, id('eot_token_id'), id('eom_token_id')]) if (t !== null) end.add(t);
    for (let i = 0; i < n; i++) {
      const ty = types[i];
      if ((ty === TokenType.control || ty === TokenType.userDefined) && END_TEXTS.includes(tokens[i] as string)) end.add(i);
    }
    this.endOfGeneration = end;
    this.#bytes = new Array<Uint8Array | null>(n).fill(null);
  }

  #encoder(parseSpecial: boolean): HFTokenizer {
    const k = parseSpecial ? 1 : 0;
    let e = this.#encoders[k];
    if (e === null) {
      const fail = (message: string, field: string) =>
        new LowbitFileError(`encode: ${this.#path}: ${message}`, 'UNSUPPORTED', this.#path, { format: 'gguf', field });
      const Tok = HF();
      e = new Tok(tokenizerDescription(this.#facts, parseSpecial, fail) as never, {} as never);
      this.#encoders[k] = e;
    }
    return e;
  }

  /**
   * Token ids of `text`. Lone surrogates are encoded as U+FFFD (what UTF-8 can hold). For `llama`
   * tokenizers, each stretch of text (at the start, or after a special token) gets SentencePiece's leading
   * `▁`, as llama.cpp does.
   */
  encode(text: string, options?: EncodeOptions): number[] {
    if (typeof text !== 'string') throw new TypeError(`encode: text must be a string (got ${describe(text)})`);
    let addSpecial = true;
    let parseSpecial = true;
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new TypeError(`encode: options must be an object (got ${describe(options)})`);
      for (const [k, v] of Object.entries(options)) {
        if (k !== 'addSpecial' && k !== 'parseSpecial') throw new RangeError(`encode: unknown option '${k}' (allowed: addSpecial, parseSpecial)`);
        if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`encode: options.${k} must be a boolean (got ${describe(v)})`);
      }
      addSpecial = options.addSpecial ?? true;
      parseSpecial = options.parseSpecial ?? true;
    }
    const ids = text.length === 0 ? [] : this.#encoder(parseSpecial).encode(text.replace(LONE_SURROGATE, '\uFFFD'), { add_special_tokens: false }).ids;
    if (addSpecial && this.addBos) ids.unshift(this.bos!);
    if (addSpecial && this.addEos) ids.push(this.eos!);
    return ids;
  }

  /** The bytes a token stands for (its text for control tokens only with `special`). */
  tokenBytes(token: number, special = false): Uint8Array {
    checkToken('tokenBytes', token, this.vocabularySize);
    const type = this.#facts.types[token];
    if (type === TokenType.control) return special ? utf8.encode(this.#facts.tokens[token]) : EMPTY;
    let b = this.#bytes[token];
    if (b === null) {
      b = pieceBytes(this.#facts, token);
      this.#bytes[token] = b;
    }
    return b;
  }

  /** The vocabulary's text of a token, as the file stores it (`▁the`, `Ġthe`, `<0x0A>`, `<|im_end|>`). */
  tokenText(token: number): string {
    checkToken('tokenText', token, this.vocabularySize);
    return this.#facts.tokens[token];
  }

  /** Whether a token is a control token (BOS, EOS, chat markers): text only with `special`. */
  isControl(token: number): boolean {
    checkToken('isControl', token, this.vocabularySize);
    return this.#facts.types[token] === TokenType.control;
  }

  /**
   * Text of `tokens`. For `llama` tokenizers the leading `▁` that encoding adds at the start and after
   * special tokens is removed, so that `decode(encode(s))` is `s` for every string (with lone surrogates as
   * U+FFFD); byte-level tokenizers give `s` back as they are.
   */
  decode(tokens: ArrayLike<number>, options?: DecodeOptions): string {
    const special = decodeOptions('decode', options);
    if (tokens === null || typeof tokens !== 'object' || typeof (tokens as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`decode: tokens must be an array of token ids (got ${describe(tokens)})`);
    }
    const d = this.createDecoder({ special, atStart: true });
    let out = '';
    for (let i = 0; i < tokens.length; i++) out += d.push(tokens[i]);
    return out + d.flush();
  }

  /**
   * A {@link TextStreamDecoder} for tokens as they are generated. `atStart` (default `false`): the first
   * token starts a text, so its leading `▁` goes (as in {@link decode}); a continuation keeps it.
   */
  createDecoder(options?: DecodeOptions & { atStart?: boolean }): TextStreamDecoder {
    let atStart = false;
    if (options !== undefined && options !== null && typeof options === 'object' && 'atStart' in options) {
      const a = options.atStart;
      if (a !== undefined && typeof a !== 'boolean') throw new TypeError(`createDecoder: options.atStart must be a boolean (got ${describe(a)})`);
      atStart = a === true;
      const { atStart: _, ...rest } = options;
      options = rest;
    }
    const special = decodeOptions('createDecoder', options);
    const strip = this.#facts.addSpacePrefix;
    const types = this.#facts.types;
    let text = new TextDecoder('utf-8', { ignoreBOM: true });
    let stripNext = strip && atStart;
    return {
      push: (token: number): string => {
        const bytes = this.tokenBytes(token, special);
        const type = types[token];
        if (type === TokenType.control || type === TokenType.userDefined) {
          const out = text.decode(bytes, { stream: true });
          stripNext = strip;
          return out;
        }
        if (bytes.length === 0) return '';
        const s = text.decode(stripNext && bytes[0] === 0x20 ? bytes.subarray(1) : bytes, { stream: true });
        stripNext = false;
        return s;
      },
      flush: (): string => {
        const s = text.decode();
        text = new TextDecoder('utf-8', { ignoreBOM: true });
        return s;
      },
    };
  }

  /**
   * `messages` rendered with the file's chat template (`tokenizer.chat_template`, through
   * @huggingface/jinja, with `bos_token` and `eos_token` set), or ChatML when the file has none.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string {
    let gen = true;
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new TypeError(`applyChatTemplate: options must be an object (got ${describe(options)})`);
      for (const k of Object.keys(options)) {
        if (k !== 'addGenerationPrompt') throw new RangeError(`applyChatTemplate: unknown option '${k}' (allowed: addGenerationPrompt)`);
      }
      const g = options.addGenerationPrompt;
      if (g !== undefined && typeof g !== 'boolean') throw new TypeError(`applyChatTemplate: options.addGenerationPrompt must be a boolean (got ${describe(g)})`);
      gen = g ?? true;
    }
    const text = (t: number | null) => (t === null ? '' : this.#facts.tokens[t]);
    return renderChatTemplate(this.chatTemplate ?? CHATML_TEMPLATE, messages, {
      addGenerationPrompt: gen, bosToken: text(this.bos), eosToken: text(this.eos),
    });
  }

  /**
   * Token ids of a conversation: {@link applyChatTemplate}, encoded with special tokens parsed and the
   * file's BOS, unless the template wrote it already.
   */
  encodeChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[] {
    const ids = this.encode(this.applyChatTemplate(messages, options));
    if (this.addBos && ids.length > 1 && ids[0] === this.bos && ids[1] === this.bos) ids.shift();
    return ids;
  }
}

const EMPTY = new Uint8Array(0);
const LONE_SURROGATE = /\p{Cs}/gu;
const utf8 = new TextEncoder();

function checkToken(fn: string, token: unknown, n: number): void {
  if (typeof token !== 'number') throw new TypeError(`${fn}: token must be a number (got ${describe(token)})`);
  if (!Number.isInteger(token) || token < 0 || token >= n) throw new RangeError(`${fn}: token must be an integer in [0, ${n}) (got ${token})`);
}

function decodeOptions(fn: string, options: DecodeOptions | undefined): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
  for (const k of Object.keys(options)) {
    if (k !== 'special') throw new RangeError(`${fn}: unknown option '${k}' (allowed: special${fn === 'createDecoder' ? ', atStart' : ''})`);
  }
  const s = options.special;
  if (s !== undefined && typeof s !== 'boolean') throw new TypeError(`${fn}: options.special must be a boolean (got ${describe(s)})`);
  return s === true;
}

/** GPT-2's byte-level alphabet, reversed: the character that stands for each byte, back to the byte. */
let byteOfChar: Map<number, number> | undefined;
function byteLevelTable(): Map<number, number> {
  if (byteOfChar) return byteOfChar;
  const m = new Map<number, number>();
  let extra = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    m.set(printable ? b : extra++, b);
  }
  byteOfChar = m;
  return m;
}

function pieceBytes(v: VocabularyFacts, token: number): Uint8Array {
  const text = v.tokens[token];
  const type = v.types[token];
  if (type === TokenType.byte) {
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
    if (m) return Uint8Array.of(parseInt(m[1], 16));
  }
  if (type === TokenType.userDefined) return utf8.encode(text);
  if (v.model === 'llama') {
    // llama.cpp writes an unknown token as U+2585 (a visible block), not its `<unk>` text.
    if (type === TokenType.unknown) return utf8.encode('\u2585');
    return utf8.encode(text.replaceAll('\u2581', ' '));
  }
  const table = byteLevelTable();
  const out: number[] = [];
  for (const ch of text) {
    const b = table.get(ch.codePointAt(0)!);
    if (b !== undefined) out.push(b);
    else out.push(...utf8.encode(ch)); // not of the byte-level alphabet: written as it is
  }
  return Uint8Array.from(out);
}

/** The tokenizer of an open GGUF file. */
export function tokenizerFromGGUF(f: GGUFFile, fn = 'loadTokenizer'): Tokenizer {
  return new Tokenizer(f.metadata, f.path, fn);
}

/** The tokenizer of a GGUF file, without its weights (the file is read for its metadata only). */
export function loadTokenizer(path: string): Tokenizer {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`loadTokenizer: path must be a non-empty string (got ${describe(path)})`);
  const f = openGGUF(path);
  try {
    return tokenizerFromGGUF(f);
  } finally {
    f.close();
  }
}
