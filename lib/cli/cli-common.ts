/** What the `lowbit` commands share: usage errors, flag parsing, quantities with units, threads, progress on stderr. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setThreads } from '../index';

/** A bad command line: the command prints its message on one line and exits with code 2. */
export class UsageError extends Error {}

// Counts take decimal suffixes (70B parameters, 8K tokens); byte sizes decimal or binary units (40GB, 40GiB),
// and rates a trailing '/s'. Letters are case-insensitive; 'b' alone is a billion for a count, a byte for a size.
const COUNT_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12 };
const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** A flag's number: 'plain' (7e10, 0.3), 'count' (70B, 8K, 7e10) or 'bytes' (40GB, 40GiB, 3350GB/s). */
export function quantity(flag: string, s: string, kind: 'plain' | 'count' | 'bytes' = 'plain'): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)(\/s)?\s*$/i.exec(s);
  const units = kind === 'bytes' ? BYTE_UNITS : kind === 'count' ? COUNT_UNITS : { '': 1 };
  const unit = m ? m[2].toLowerCase() : '';
  if (!m || units[unit] === undefined || (m[3] !== undefined && kind !== 'bytes')) {
    const what = kind === 'bytes' ? 'a size (40e9, 40GB, 40GiB)' : kind === 'count' ? 'a count (7e10, 70B, 8K)' : 'a number';
    throw new UsageError(`--${flag}: '${s}' is not ${what}`);
  }
  return Number(m[1]) * units[unit];
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(args: string[], options: ParseArgsConfig['options'], allowPositionals = false): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    // Node's messages go on to explain '--' for positionals: the first sentence is the point.
    throw new UsageError((e as Error).message.split(/\.\s/)[0]);
  }
}

export function threads(v: string | undefined): void {
  if (v !== undefined) {
    const n = quantity('threads', v);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--threads: '${v}' is not an integer from 1 to 1024`);
    setThreads(n);
  }
}

export const progress = (m: string) => process.stderr.write(`lowbit: ${m}...\n`);

/**
 * Progress of a measurement on stderr: one line rewritten in place on a terminal, a line per step
 * otherwise (logs stay readable). Returns the callback and a function that ends the line.
 */
export function progressLine(): { report: (fraction: number, step: string) => void; end: () => void } {
  if (!process.stderr.isTTY) {
    let last = '';
    return {
      report: (_f, step) => {
        if (step !== last && step !== 'done') progress(step);
        last = step;
      },
      end: () => {},
    };
  }
  let shown = false;
  return {
    report: (f, step) => {
      process.stderr.write(`\r\x1b[2Klowbit: ${step} ${(100 * f).toFixed(0)}%`);
      shown = true;
    },
    end: () => {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

