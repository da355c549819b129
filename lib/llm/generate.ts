/**
 * Generation: a prompt in, tokens and their text out as an async iterator, one forward step per token,
 * with sampling (./sampler.ts), stop strings, end-of-generation tokens and an AbortSignal.
 */
import { describe } from '../core/describe';
import { Sampler, SAMPLING_KEYS, samplingOptions, type SamplingOptions } from './sampler';
import type { Tokenizer } from './tokenizer';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; default: until an end-of-generation token, a stop string or a full context. */
  maxTokens?: number;
  /** Strings that end the generation; the text stops before the first one found (it is not returned). */
  stop?: string | readonly string[];
  /** Aborts between forward steps (and inside one, between layers): the iterator throws `signal.reason`. */
  signal?: AbortSignal;
  /** Default `false`. `true` goes on past end-of-generation tokens (EOS, `<|im_end|>`), as benchmarks do. */
  ignoreEndOfGeneration?: boolean;
  /**
   * For a string prompt: add BOS (and EOS) as the file asks ({@link EncodeOptions.addSpecial}); default
   * `true` when the session is at position 0, else `false`.
   */
  addSpecial?: boolean;
  /** For a string prompt: default `true`, special tokens written in it become their ids. */
  parseSpecial?: boolean;
}

/**
 * One step of a generation: the token drawn and the text it completes (`''` while a UTF-8 character or a
 * possible stop string is incomplete). A last item with `token: null` carries text held back until the end.
 */
export interface GeneratedToken {
  token: number | null;
  text: string;
}

/** Why a generation ended. */
export type FinishReason = 'endOfGeneration' | 'stop' | 'length' | 'context' | 'aborted';

/** Live counts of a {@link Generation}; complete once its iterator is done. */
export interface GenerationStats {
  /** Tokens of the prompt run in this generation's prefill. */
  promptTokens: number;
  promptSeconds: number;
  /** Tokens generated (an end-of-generation token is not counted: it is not returned). */
  tokens: number;
  /** Seconds from the end of the prefill to the last token. */
  seconds: number;
  /** The text returned so far. */
  text: string;
  finishReason: FinishReason | null;
}

export const GENERATE_KEYS = [...SAMPLING_KEYS, 'maxTokens', 'stop', 'signal', 'ignoreEndOfGeneration', 'addSpecial', 'parseSpecial'] as const;

/** What a generation needs of a session (lowbit/llm's Session has it). */
export interface GenerationTarget {
  readonly position: number;
  readonly contextLength: number;
  readonly tokens: readonly number[];
  prefillAsync(tokens: number[], options: { signal?: AbortSignal }): Promise<Float32Array>;
  stepAsync(token: number, options: { signal?: AbortSignal }): Promise<Float32Array>;
}

export interface CheckedGenerateOptions {
  sampling: SamplingOptions;
  maxTokens: number;
  stop: string[];
  signal: AbortSignal | undefined;
  ignoreEndOfGeneration: boolean;
  addSpecial: boolean | undefined;
  parseSpecial: boolean;
}

/** Checks {@link GenerateOptions} (TypeError or RangeError naming the bad one). */
export function generateOptions(fn: string, o: GenerateOptions | undefined, extraKeys: readonly string[] = []): CheckedGenerateOptions {
  const keys = [...GENERATE_KEYS, ...extraKeys];
  if (o !== undefined && (o === null || typeof o !== 'object')) throw new TypeError(`${fn}: options must be an object (got ${describe(o)})`);
  const { maxTokens, stop, signal, ignoreEndOfGeneration, addSpecial, parseSpecial, ...rest } = o ?? {};
  for (const k of extraKeys) delete (rest as Record<string, unknown>)[k];
  for (const k of Object.keys(rest)) {
    if (!(keys as string[]).includes(k)) throw new RangeError(`${fn}: unknown option '${k}' (allowed: ${keys.join(', ')})`);
  }
  samplingOptions(fn, rest);
  if (maxTokens !== undefined) {
    if (typeof maxTokens !== 'number') throw new TypeError(`${fn}: options.maxTokens must be a number (got ${describe(maxTokens)})`);
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) throw new RangeError(`${fn}: options.maxTokens must be an integer >= 0 (got ${maxTokens})`);
  }
  const stops = stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || stops.some((s) => typeof s !== 'string')) {
    throw new TypeError(`${fn}: options.stop must be a string or an array of strings (got ${describe(stop)})`);
  }
  if (stops.some((s) => s.length === 0)) throw new RangeError(`${fn}: options.stop must not hold an empty string`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${fn}: options.signal must be an AbortSignal (got ${describe(signal)})`);
  for (const [k, v] of Object.entries({ ignoreEndOfGeneration, addSpecial, parseSpecial })) {
    if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${fn}: options.${k} must be a boolean (got ${describe(v)})`);
  }
  return {
    sampling: rest, maxTokens: maxTokens ?? Infinity, stop: [...stops], signal, ignoreEndOfGeneration: ignoreEndOfGeneration === true,
    addSpecial, parseSpecial: parseSpecial ?? true,
  };
}

/**
 * A running generation: iterate it (`for await`) for {@link GeneratedToken}s; {@link stats} holds the
 * counts and text so far. Leaving the loop early (`break`) ends it; the session keeps what it ran.
 */
export class Generation implements AsyncIterableIterator<GeneratedToken> {
  readonly stats: GenerationStats = { promptTokens: 0, promptSeconds: 0, tokens: 0, seconds: 0, text: '', finishReason: null };
  readonly #it: AsyncGenerator<GeneratedToken, void, undefined>;
  #onEnd: (() => void) | undefined;
  readonly #end: () => void;

  /**
   * @internal Use `session.generate`, `model.generate` or `chat.send`. `onEnd` runs once when the generation
   * ends, however it ends, or when `return()` is called before it starts.
   */
  constructor(run: (stats: GenerationStats) => AsyncGenerator<GeneratedToken, void, undefined>, onEnd?: () => void) {
    this.#onEnd = onEnd;
    const end = () => {
      const f = this.#onEnd;
      this.#onEnd = undefined;
      f?.();
    };
    const inner = run(this.stats);
    this.#it = (async function* () {
      try {
        yield* inner;
      } finally {
        end();
      }
    })();
    this.#end = end;
  }

  next(): Promise<IteratorResult<GeneratedToken>> {
    return this.#it.next();
  }

  /** Ends the generation (as `break` in a `for await` does). */
  async return(): Promise<IteratorResult<GeneratedToken>> {
    const r = await this.#it.return();
    this.#end(); // a generator that never started skips its finally
    return r;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Runs it to the end and returns the whole text. */
  async text(): Promise<string> {
    for await (const _ of this) {
      // the text accumulates in stats
    }
    return this.stats.text;
  }
}

const now = () => performance.now() / 1000;

/** The generation loop over `target` (a session) after `prompt` (token ids, not empty). */
export async function* generateTokens(
  target: GenerationTarget,
  tokenizer: Tokenizer | null,
  prompt: number[],
  o: CheckedGenerateOptions,
  stats: GenerationStats,
): AsyncGenerator<GeneratedToken, void, undefined> {
  const sampler = new Sampler(o.sampling);
  const { signal } = o;
  const end = o.ignoreEndOfGeneration || tokenizer === null ? new Set<number>() : tokenizer.endOfGeneration;
  const decoder = tokenizer?.createDecoder() ?? null;
  // The decoder continues the prompt's text: after a special token the next token's leading space goes, as
  // decode() drops it, and a character begun in the prompt completes in the reply.
  if (decoder !== null) decoder.push(prompt[prompt.length - 1]);
  const held = new StopStrings(o.stop);
  let finished = false;
  const finish = (why: FinishReason) => {
    stats.finishReason = why;
    finished = true;
  };
  try {
    signal?.throwIfAborted();
    let t0 = now();
    let logits = await target.prefillAsync(prompt, { signal });
    stats.promptTokens = prompt.length;
    stats.promptSeconds = now() - t0;
    t0 = now();
    const history = target.tokens.slice();
    while (stats.tokens < o.maxTokens) {
      signal?.throwIfAborted();
      const token = sampler.sample(logits, history);
      if (end.has(token)) {
        finish('endOfGeneration');
        break;
      }
      history.push(token);
      stats.tokens++;
      stats.seconds = now() - t0;
      const piece = held.push(decoder === null ? '' : decoder.push(token));
      stats.text += piece.text;
      if (piece.stopped) finish('stop');
      yield { token, text: piece.text };
      if (finished || stats.tokens >= o.maxTokens) break;
      if (target.position >= target.contextLength) {
        finish('context');
        break;
      }
      logits = await target.stepAsync(token, { signal });
      stats.seconds = now() - t0;
    }
    if (!finished) finish('length');
    if (stats.finishReason !== 'stop') {
      const rest = held.flush() + (decoder === null ? '' : decoder.flush());
      if (rest.length > 0) {
        stats.text += rest;
        yield { token: null, text: rest };
      }
    }
  } catch (e) {
    if (signal?.aborted && e === signal.reason) stats.finishReason = 'aborted';
    throw e;
  }
}

/** Holds back text that may be the start of a stop string; ends at the first one found. */
class StopStrings {
  #pending = '';
  constructor(private readonly stops: string[]) {}

  push(s: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text: s, stopped: false };
    const text = this.#pending + s;
    let first = -1;
    for (const stop of this.stops) {
      const i = text.indexOf(stop);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      this.#pending = '';
      return { text: text.slice(0, first), stopped: true };
    }
    let hold = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(stop.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.#pending = text.slice(text.length - hold);
    return { text: text.slice(0, text.length - hold), stopped: false };
  }

  flush(): string {
    const s = this.#pending;
    this.#pending = '';
    return s;
  }
}
