/**
 * Choosing the next token from logits, as llama.cpp's default chain does: repetition penalty, then top-k,
 * top-p and min-p (each on the probabilities at temperature 1), then temperature, then a draw from a seeded
 * generator. Temperature 0 takes the most likely token.
 */
import { describe } from '../core/describe';

export interface SamplingOptions {
  /** Default 0.8. 0 is greedy: the most likely token (after the repetition penalty). */
  temperature?: number;
  /** Default 40: keep the k most likely tokens; 0 keeps all. */
  topK?: number;
  /** Default 0.95: keep the fewest most likely tokens whose probabilities sum to at least p; 1 keeps all. */
  topP?: number;
  /** Default 0.05: drop tokens less likely than minP times the most likely one; 0 keeps all. */
  minP?: number;
  /** Default 1 (off): a token among the last `repeatLastN` has its logit divided by this (multiplied, when negative). */
  repeatPenalty?: number;
  /** Default 64: how many recent tokens the repetition penalty looks at. */
  repeatLastN?: number;
  /** A seed (an integer) makes the draws reproducible; default a random one. */
  seed?: number;
}

/** The tokens a {@link Sampler} may draw, most likely first, and their probabilities (summing to 1). */
export interface Distribution {
  tokens: Int32Array;
  probabilities: Float64Array;
}

export const SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed'] as const;

/** Checks sampling options (a TypeError or RangeError naming the bad one) and fills in the defaults. */
export function samplingOptions(fn: string, o: SamplingOptions | undefined, extraKeys: readonly string[] = []): Required<Omit<SamplingOptions, 'seed'>> & { seed: number | undefined } {
  const out = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, repeatLastN: 64, seed: undefined as number | undefined };
  if (o === undefined) return out;
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(o)})`);
  for (const k of Object.keys(o)) {
    if (!(SAMPLING_KEYS as readonly string[]).includes(k) && !extraKeys.includes(k)) {
      throw new RangeError(`${fn}: unknown option '${k}' (allowed: ${[...SAMPLING_KEYS, ...extraKeys].join(', ')})`);
    }
  }
  const num = (k: keyof SamplingOptions, ok: (x: number) => boolean, what: string) => {
    const v = o[k];
    if (v === undefined) return;
    if (typeof v !== 'number') throw new TypeError(`${fn}: options.${k} must be a number (got ${describe(v)})`);
    if (!ok(v)) throw new RangeError(`${fn}: options.${k} must be ${what} (got ${v})`);
    out[k] = v;
  };
  num('temperature', (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
  num('topK', (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0');
  num('topP', (x) => x > 0 && x <= 1, 'in (0, 1]');
  num('minP', (x) => x >= 0 && x <= 1, 'in [0, 1]');
  num('repeatPenalty', (x) => Number.isFinite(x) && x > 0, 'a finite number > 0');
  num('repeatLastN', (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0');
  num('seed', (x) => Number.isSafeInteger(x), 'a safe integer');
  return out;
}

/**
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32: a small, fast generator whose draws are
 * the same on every platform for a seed.
 */
class Random {
  #s = new Uint32Array(4);
  constructor(seed: number) {
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  #next(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.#next() >>> 5) * 67108864 + (this.#next() >>> 6)) / 9007199254740992;
  }
}
const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Draws tokens from logits with the options of {@link SamplingOptions}; seeded, its draws repeat. */
export class Sampler {
  readonly options: Readonly<Required<Omit<SamplingOptions, 'seed'>>> & { readonly seed: number };
  #random: Random;

  constructor(options?: SamplingOptions) {
    const o = samplingOptions('Sampler', options);
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.options = Object.freeze({ ...o, seed });
    this.#random = new Random(seed);
  }

  /**
   * The distribution a draw comes from: the penalty applied for `history` (the tokens so far), the filters,
   * then the temperature. At temperature 0, the most likely token with probability 1.
   */
  distribution(logits: Float32Array, history: ArrayLike<number> = []): Distribution {
    if (!(logits instanceof Float32Array) || logits.length === 0) {
      throw new TypeError(`Sampler: logits must be a non-empty Float32Array (got ${describe(logits)})`);
    }
    const o = this.options;
    const l = penalties(logits, history, o.repeatPenalty, o.repeatLastN);
    const logit = (t: number) => l[t];
    if (o.temperature === 0) {
      let best = 0;
      for (let t = 1; t < l.length; t++) if (l[t] > l[best]) best = t;
      return { tokens: Int32Array.of(best), probabilities: Float64Array.of(1) };
    }
    // Candidates after top-k; their maximum and their normalizer at temperature 1 (top-p's sums use it,
    // before min-p narrows them).
    const useTopK = o.topK > 0 && o.topK < l.length;
    let cand: number[] | null = useTopK ? topK(l, o.topK) : null;
    let max = -Infinity;
    let z = 0;
    if (cand !== null) {
      for (const t of cand) max = Math.max(max, l[t]);
      for (const t of cand) z += Math.exp(l[t] - max);
    } else {
      for (let t = 0; t < l.length; t++) if (l[t] > max) max = l[t];
      for (let t = 0; t < l.length; t++) z += Math.exp(l[t] - max);
    }
    if (max === -Infinity || Number.isNaN(max)) throw new RangeError('Sampler: the logits have no finite maximum');
    const floor = o.minP > 0 ? max + Math.log(o.minP) : -Infinity;
    if (cand !== null) cand = cand.filter((t) => l[t] >= floor);
    else {
      cand = [];
      for (let t = 0; t < l.length; t++) if (l[t] >= floor) cand.push(t);
    }
    cand.sort((a, b) => logit(b) - logit(a) || a - b);
    if (o.topP < 1) {
      let sum = 0;
      let keep = 0;
      while (keep < cand.length) {
        sum += Math.exp(logit(cand[keep]) - max) / z;
        keep++;
        if (sum >= o.topP) break;
      }
      cand = cand.slice(0, keep);
    }
    const p = new Float64Array(cand.length);
    let s = 0;
    for (let i = 0; i < cand.length; i++) s += (p[i] = Math.exp((logit(cand[i]) - max) / o.temperature));
    for (let i = 0; i < cand.length; i++) p[i] /= s;
    return { tokens: Int32Array.from(cand), probabilities: p };
  }

  /** One token drawn from {@link distribution}. */
  sample(logits: Float32Array, history: ArrayLike<number> = []): number {
    const d = this.distribution(logits, history);
    if (d.tokens.length === 1) return d.tokens[0];
    const u = this.#random.uniform();
    let c = 0;
    for (let i = 0; i < d.tokens.length; i++) {
      c += d.probabilities[i];
      if (u < c) return d.tokens[i];
    }
    return d.tokens[d.tokens.length - 1];
  }
}

/** `logits` with the penalty applied once to each distinct token among the last `n` of `history` (a copy). */
function penalties(logits: Float32Array, history: ArrayLike<number>, penalty: number, n: number): Float32Array {
  if (penalty === 1 || n === 0 || history.length === 0) return logits;
  const out = logits.slice();
  const seen = new Set<number>();
  for (let i = Math.max(0, history.length - n); i < history.length; i++) {
    const t = history[i];
    if (seen.has(t) || !(t >= 0 && t < logits.length)) continue;
    seen.add(t);
    out[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
  }
  return out;
}

/** The k tokens of largest logit: one pass with a min-heap of k, O(n log k). */
function topK(logits: Float32Array, k: number): number[] {
  const heap: number[] = []; // token ids, the smallest logit at the root (ties: the larger id, so lower ids win)
  const less = (a: number, b: number) => logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let t = 0; t < logits.length; t++) {
    if (heap.length < k) {
      heap.push(t);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (less(heap[0], t)) {
      heap[0] = t;
      down(0);
    }
  }
  return heap;
}
