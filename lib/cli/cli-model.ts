/** What `lowbit measure --model` and `lowbit plan --model FILE.gguf` add: a model file's measured speed. */
import { progressLine, quantity, UsageError } from './cli-common';
import type { ModelMeasurement } from '../plan/measure';

/** `--batch 1,8` as a list of batch sizes (each 1 to 256). */
export function batchList(s: string | undefined, fallback: number[]): number[] {
  if (s === undefined) return fallback;
  return s.split(',').map((x) => {
    const n = quantity('batch', x.trim(), 'count');
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--batch: '${x}' is not an integer from 1 to 256`);
    return n;
  });
}

/** Measures a model file with a progress line on stderr; a file lowbit cannot run is a usage error. */
export async function measureModelWithProgress(file: string, batches: number[]): Promise<ModelMeasurement> {
  // Loaded here: only these commands need the model runner.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { measureModelAsync } = require('../llm') as typeof import('../llm');
  const line = progressLine();
  try {
    return await measureModelAsync(file, { batches: [...new Set(batches)].sort((a, b) => a - b), onProgress: line.report });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'LowbitFileError' || e instanceof RangeError || e instanceof TypeError) throw new UsageError(`--model: ${err.message.replace(/^(measureModelAsync|loadModelAsync): /, '')}`);
    throw e;
  } finally {
    line.end();
  }
}

export function printModelMeasurement(m: ModelMeasurement, table: (head: string[], rows: string[][]) => string): void {
  console.log(`${m.file} (${m.name ?? m.architecture}), ${m.isa}, ${m.threads} threads, ${m.kvType} cache: ` +
    `prefill ${m.prefill.tokensPerSecond.toFixed(1)} tokens/s (${m.prefill.tokens} tokens)`);
  console.log(table(['batch', 'decode tokens/s', 'per sequence', 'step ms', 'weights read GB/s'], m.decode.map((d) => [
    String(d.batch), d.tokensPerSecond.toFixed(1), (d.tokensPerSecond / d.batch).toFixed(1), (d.stepSeconds * 1e3).toFixed(2),
    (m.bytesPerToken / d.stepSeconds / 1e9).toFixed(1),
  ])));
}
