/**
 * A model file's speed on this machine, measured with the model runner: prefill tokens/s, and decode
 * tokens/s at each batch a deployment will run (several sequences decoded together, the weights read once
 * a step). Short, bounded runs; the result is what `plan` multiplies (lib/plan/plan.ts).
 */
import * as path from 'node:path';
import { describe } from '../core/describe';
import type { ModelMeasurement } from '../plan/measure';
import { native } from '../core/native';
import type { CpuInfo } from '../core/types';
import { loadModelAsync, type KvType } from './index';

export interface MeasureModelOptions {
  /** Batch sizes to time decode at (default [1, 8]). */
  batches?: number[];
  /** Tokens each sequence holds before its decode steps are timed, and the prefill timed (default 64). */
  promptTokens?: number;
  /** Timed decode steps per batch, after two warm-up steps (default 16; the median step counts). */
  steps?: number;
  /** The sessions' KV cache type (default 'f16'). */
  kvType?: KvType;
  signal?: AbortSignal;
  /** The fraction done (0 to 1) and the step under way ('loading', 'prefill 64 tokens', 'decode, batch 8'). */
  onProgress?: (fraction: number, step: string) => void;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const now = () => performance.now() / 1000;

/**
 * Loads `file` and times it at the current kernel set and thread count: a prefill of `promptTokens`
 * (median of 3) and, per batch, `steps` decode steps of that many sessions, each holding `promptTokens`
 * positions first. Token ids are drawn from a fixed sequence (speed does not depend on them). Off the JS
 * thread; `signal` aborts within a forward pass.
 */
export async function measureModelAsync(file: string, options: MeasureModelOptions = {}): Promise<ModelMeasurement> {
  const fn = 'measureModelAsync';
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`${fn}: file must be a non-empty string (got ${describe(file)})`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
  const allowed = ['batches', 'promptTokens', 'steps', 'kvType', 'signal', 'onProgress'];
  for (const k of Object.keys(options)) if (!allowed.includes(k)) throw new RangeError(`${fn}: unknown option '${k}' (allowed: ${allowed.join(', ')})`);
  const batches = options.batches ?? [1, 8];
  if (!Array.isArray(batches) || batches.length === 0 || !batches.every((b) => Number.isInteger(b) && b >= 1 && b <= 256)) {
    throw new RangeError(`${fn}: options.batches must be a non-empty array of integers from 1 to 256 (got ${describe(batches)})`);
  }
  const int = (k: 'promptTokens' | 'steps', fallback: number, min: number) => {
    const v = options[k] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${fn}: options.${k} must be an integer >= ${min} (got ${describe(v)})`);
    return v;
  };
  const promptTokens = int('promptTokens', 64, 1);
  const steps = int('steps', 16, 1);
  const kvType = options.kvType ?? 'f16';
  if (kvType !== 'f16' && kvType !== 'q8_0') throw new RangeError(`${fn}: options.kvType must be 'f16' or 'q8_0' (got ${describe(kvType)})`);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${fn}: options.signal must be an AbortSignal`);
  const report = options.onProgress ?? (() => {});
  if (typeof report !== 'function') throw new TypeError(`${fn}: options.onProgress must be a function`);
  signal?.throwIfAborted();

  // The phases' shares of the whole: loading, the prefill, each batch by its sessions' work.
  const work = [1, 1, ...batches.map((b) => b / 4 + 0.5)];
  const total = work.reduce((a, b) => a + b, 0);
  let done = 0;
  const phase = (i: number, step: string) => (f: number) => report(Math.min(1, (done + work[i] * f) / total), step);
  const finish = (i: number) => {
    done += work[i];
  };

  const model = await loadModelAsync(file, { signal, onProgress: phase(0, 'loading') });
  finish(0);
  try {
    const vocab = model.info.vocabularySize;
    const tokens = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % vocab);
    const ctx = promptTokens + steps + 3;

    const pre = phase(1, `prefill ${promptTokens} tokens`);
    pre(0);
    const prefillTimes: number[] = [];
    {
      const s = model.createSession({ contextLength: ctx, kvType });
      try {
        await s.prefillAsync(tokens(Math.min(16, promptTokens), 0), { signal }); // pages in the weights
        for (let r = 0; r < 3; r++) {
          s.reset();
          const t0 = now();
          await s.prefillAsync(tokens(promptTokens, r), { signal });
          prefillTimes.push(now() - t0);
          pre((r + 1) / 3);
        }
      } finally {
        s.dispose();
      }
    }
    finish(1);

    const decode: ModelMeasurement['decode'] = [];
    let kvBytesPerPosition = 0;
    for (const [bi, batch] of batches.entries()) {
      const at = phase(2 + bi, `decode, batch ${batch}`);
      at(0);
      const sessions = Array.from({ length: batch }, () => model.createSession({ contextLength: ctx, kvType }));
      try {
        kvBytesPerPosition = sessions[0].kvBytes / sessions[0].contextLength;
        for (const [i, s] of sessions.entries()) {
          await s.prefillAsync(tokens(promptTokens, i + 1), { signal });
          at((0.5 * (i + 1)) / batch);
        }
        const times: number[] = [];
        for (let k = 0; k < steps + 2; k++) {
          const next = sessions.map((_, i) => (k * 31 + i * 7 + 5) % vocab);
          const t0 = now();
          await model.decodeBatchAsync(sessions, next, { signal });
          if (k >= 2) times.push(now() - t0);
          at(0.5 + (0.5 * (k + 1)) / (steps + 2));
        }
        const step = median(times);
        decode.push({ batch, tokensPerSecond: batch / step, stepSeconds: step, steps });
      } finally {
        sessions.forEach((s) => s.dispose());
      }
      finish(2 + bi);
    }
    report(1, 'done');
    const info = native.cpuInfo() as CpuInfo;
    return {
      file: path.basename(file),
      fileSize: model.info.fileSize,
      name: model.info.name,
      architecture: model.info.architecture,
      isa: info.isa,
      threads: info.threads,
      bytesPerToken: model.info.bytesPerToken,
      kvType,
      kvBytesPerPosition,
      // The timed steps ran at positions promptTokens + 2 .. promptTokens + steps + 1.
      context: promptTokens + 2 + (steps - 1) / 2,
      decode,
      prefill: { tokens: promptTokens, tokensPerSecond: promptTokens / median(prefillTimes) },
    };
  } finally {
    model.dispose();
  }
}
