/**
 * A model's speed as llama-bench measures it: prompt processing (a prompt of `pp` tokens in one pass) and
 * generation (`tg` tokens one at a time), each from an empty context, beside the machine's read roofline
 * (the read probe at the same thread count over the bytes one token reads) and where a token's time went.
 */
import * as os from 'node:os';
import { describe } from '../core/describe';
import { cpuInfo, probe, setThreads } from '../index';
import { cpuModel } from '../plan/measure';
import { type LoadModelOptions, loadModel, type Model } from './index';

export interface BenchModelOptions {
  /** Thread counts to run (default: 1 and every core). */
  threads?: number[];
  /** Prompt length of the pp test (default 512; 0 skips it). */
  pp?: number;
  /** Tokens of the tg test (default 128; 0 skips it). */
  tg?: number;
  /** Runs of each test; the median is reported (default 3). */
  repetitions?: number;
  /** Called before each run with what it is about to do. */
  onProgress?: (step: string) => void;
  load?: LoadModelOptions;
}

/** One test at one thread count. */
export interface BenchModelResult {
  test: 'pp' | 'tg';
  /** Tokens of the test (pp512: 512). */
  tokens: number;
  threads: number;
  /** Median over the runs. */
  tokensPerSecond: number;
  /** Every run's tokens/s. */
  runs: number[];
  /** Bytes of weights a token reads (every matrix once, an embedding row). */
  bytesPerToken: number;
  /** The read probe at this thread count, bytes/s. */
  readBandwidth: number;
  /** tg only: readBandwidth / bytesPerToken, the tokens/s reading the weights at the probe's rate would give. */
  rooflineTokensPerSecond?: number;
  /** tg only: tokensPerSecond / rooflineTokensPerSecond. */
  rooflineFraction?: number;
  /** Milliseconds per token of the median run: in the weight products, attention, the rest of the native pass, and outside it (the JS call). */
  msPerToken: { total: number; matmul: number; attention: number; other: number; call: number };
}

export interface BenchModelReport {
  path: string;
  architecture: string;
  parameters: number;
  fileSize: number;
  bytesByType: Record<string, number>;
  cpu: string;
  isa: string;
  date: string;
  results: BenchModelResult[];
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function positiveInt(fn: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`${fn}: options.${name} must be an integer >= ${min} (got ${describe(v)})`);
  }
  return v;
}

/** Tokens that exercise the whole vocabulary without structure (a fixed sequence, so runs compare). */
function promptTokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % vocab);
}

interface Run {
  seconds: number;
  profile: { seconds: number; matmulSeconds: number; attentionSeconds: number; otherSeconds: number };
}

function runOnce(model: Model, test: 'pp' | 'tg', n: number): Run {
  using s = model.createSession({ contextLength: Math.max(n + 1, 16) });
  const tokens = promptTokens(n, model.info.vocabularySize);
  const before = s.profile;
  const t0 = process.hrtime.bigint();
  if (test === 'pp') {
    s.prefill(tokens);
  } else {
    for (const t of tokens) s.step(t);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = s.profile;
  return {
    seconds,
    profile: {
      seconds: after.seconds - before.seconds,
      matmulSeconds: after.matmulSeconds - before.matmulSeconds,
      attentionSeconds: after.attentionSeconds - before.attentionSeconds,
      otherSeconds: after.otherSeconds - before.otherSeconds,
    },
  };
}

/**
 * Measures `path` (a GGUF decoder `loadModel` runs) at each thread count: pp and tg tokens/s, medians of
 * `repetitions` runs after one warm-up, beside the read roofline. Sets the thread count while it runs and
 * restores it. Takes seconds to minutes (a 1.1B model: about 20 s per thread count on two cores).
 */
export function benchModel(path: string, options: BenchModelOptions = {}): BenchModelReport {
  const fn = 'benchModel';
  const saved = cpuInfo().threads;
  const threadList = options.threads ?? [...new Set([1, os.availableParallelism()])];
  if (!Array.isArray(threadList) || threadList.length === 0) throw new TypeError(`${fn}: options.threads must be a non-empty array of thread counts`);
  threadList.forEach((t, i) => positiveInt(fn, `threads[${i}]`, t, 1));
  const pp = options.pp === undefined ? 512 : positiveInt(fn, 'pp', options.pp, 0);
  const tg = options.tg === undefined ? 128 : positiveInt(fn, 'tg', options.tg, 0);
  const reps = options.repetitions === undefined ? 3 : positiveInt(fn, 'repetitions', options.repetitions, 1);
  const say = options.onProgress ?? (() => {});
  say('loading the model');
  using model = loadModel(path, options.load);
  const results: BenchModelResult[] = [];
  try {
    for (const threads of threadList) {
      setThreads(threads);
      say(`read probe, ${threads} thread${threads > 1 ? 's' : ''}`);
      const readBandwidth = probe('bandwidth') * 1e9; // the probe says GB/s
      for (const [test, n] of [['pp', pp], ['tg', tg]] as const) {
        if (n === 0) continue;
        say(`${test}${n}, ${threads} thread${threads > 1 ? 's' : ''}: warm-up and ${reps} run${reps > 1 ? 's' : ''}`);
        runOnce(model, test, Math.min(n, 16));
        const runs: Run[] = [];
        for (let r = 0; r < reps; r++) runs.push(runOnce(model, test, n));
        const rates = runs.map((r) => n / r.seconds);
        const mid = runs[rates.indexOf(median(rates))] ?? runs[0];
        const ms = (s: number) => (s * 1000) / n;
        const result: BenchModelResult = {
          test, tokens: n, threads, tokensPerSecond: median(rates), runs: rates, bytesPerToken: model.info.bytesPerToken, readBandwidth,
          msPerToken: {
            total: ms(mid.seconds),
            matmul: ms(mid.profile.matmulSeconds),
            attention: ms(mid.profile.attentionSeconds),
            other: ms(mid.profile.otherSeconds),
            call: ms(mid.seconds - mid.profile.seconds),
          },
        };
        if (test === 'tg') {
          result.rooflineTokensPerSecond = readBandwidth / model.info.bytesPerToken;
          result.rooflineFraction = result.tokensPerSecond / result.rooflineTokensPerSecond;
        }
        results.push(result);
      }
    }
  } finally {
    setThreads(saved);
  }
  const info = cpuInfo();
  return {
    path, architecture: model.info.architecture, parameters: model.info.parameters, fileSize: model.info.fileSize,
    bytesByType: model.info.bytesByType, cpu: cpuModel(), isa: info.isa, date: new Date().toISOString(), results,
  };
}
