/**
 * Weight precisions the planner and the machine measurement understand: the textbook's idealised
 * widths (`fp32`, `fp16`, `bf16`, `fp8`, `int8`, `int4`: exactly that many bits per weight, no scales) and
 * lowbit's formats with their real storage cost, written like the benchmark rows:
 * `'int4 g128'`, `'int8 g32'`, `'int2 g64'`, `'int3 g128'`, `'int4 row'`, `'int4 g128 asym'`, `'int4 g128 f16'` (float16 scales),
 * `'q4_0'`, `'q8_0'`, the other ggml types (`'q4_1'`, `'q5_0'`, `'q5_1'`, `'iq4_nl'`, `'iq4_xs'`, `'q2_k'` ... `'q6_k'`, the ternary `'tq1_0'` and `'tq2_0'`), `'nf4'` (group 64), `'nf4 g128'`, `'mxfp4'`, `'nvfp4'`, `'fp8_e4m3'` (per row).
 * Words may be separated by spaces or dashes (`int4-g128`).
 */
import { native } from '../core/native';
import type { Bits, Format, QuantizedMatrix, QuantizeOptions } from '../core/types';

export interface Precision {
  /** The name as given, normalised (`'int4 g128'`). */
  name: string;
  /** Storage bits per weight, scales and zero-points included (lowbit formats: measured on a real layout). */
  bitsPerWeight: number;
  /** The quantize options of a lowbit format; absent for the idealised widths. */
  quantize?: QuantizeOptions;
}

const IDEAL: Record<string, number> = { fp32: 32, fp16: 16, bf16: 16, fp8: 8, int8: 8, int4: 4 };
const FORMATS: Record<string, { format: Format; bits: Bits }> = {
  int2: { format: 'int', bits: 2 },
  int3: { format: 'int', bits: 3 },
  int4: { format: 'int', bits: 4 },
  int8: { format: 'int', bits: 8 },
  q4_0: { format: 'q4_0', bits: 4 },
  q8_0: { format: 'q8_0', bits: 8 },
  q4_k: { format: 'q4_k', bits: 4 },
  q5_k: { format: 'q5_k', bits: 5 },
  q6_k: { format: 'q6_k', bits: 6 },
  q2_k: { format: 'q2_k', bits: 2 },
  q3_k: { format: 'q3_k', bits: 3 },
  iq4_xs: { format: 'iq4_xs', bits: 4 },
  q4_1: { format: 'q4_1', bits: 4 },
  q5_0: { format: 'q5_0', bits: 5 },
  q5_1: { format: 'q5_1', bits: 5 },
  iq4_nl: { format: 'iq4_nl', bits: 4 },
  tq1_0: { format: 'tq1_0', bits: 2 },
  tq2_0: { format: 'tq2_0', bits: 2 },
  f16: { format: 'f16', bits: 16 },
  nf4: { format: 'nf4', bits: 4 },
  bnb_fp4: { format: 'bnb_fp4', bits: 4 },
  mxfp4: { format: 'mxfp4', bits: 4 },
  nvfp4: { format: 'nvfp4', bits: 4 },
  fp8_e4m3: { format: 'fp8_e4m3', bits: 8 },
  fp8_e5m2: { format: 'fp8_e5m2', bits: 8 },
};

function bad(what: string, value: string, why: string): never {
  throw new RangeError(`${what}: '${value}' ${why}`);
}

/** The quantize options a precision name stands for, or undefined for an idealised width. */
export function parsePrecision(value: string, what = 'precision'): { name: string; quantize?: QuantizeOptions } {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string such as 'int4 g128' or 'fp16'`);
  const words = value.trim().toLowerCase().split(/[\s-]+/).filter(Boolean);
  if (words.length === 0) bad(what, value, 'is empty');
  const name = words.join(' ');
  if (words.length === 1 && IDEAL[words[0]] !== undefined) return { name };
  const base = FORMATS[words[0]];
  if (!base) {
    bad(what, value, `is not one of ${[...Object.keys(IDEAL), ...Object.keys(FORMATS).filter((f) => !IDEAL[f])].join(', ')} (lowbit formats take options: 'int4 g128', 'int8 row', 'nf4 g64', 'int4 g128 asym', 'int4 g128 f16')`);
  }
  const q: QuantizeOptions = { format: base.format, bits: base.bits };
  for (const w of words.slice(1)) {
    const g = /^g(\d+)$/.exec(w);
    if (g) {
      q.granularity = 'group';
      q.groupSize = Number(g[1]);
    } else if (w === 'row') {
      q.granularity = 'row';
    } else if (w === 'asym') {
      q.scheme = 'asymmetric';
    } else if (w === 'f16') {
      q.scaleType = 'float16';
    } else {
      bad(what, value, `has an unknown option '${w}' (allowed: gN for groups of N columns, row, asym, f16)`);
    }
  }
  return { name, quantize: q };
}

// Bits per weight of a lowbit format, from the byte length of a real [16, cols] matrix in it (nvfp4's
// single 4-byte tensor scale left out: it is per tensor, not per weight).
const bpwCache = new Map<string, number>();
function measuredBits(q: QuantizeOptions, cols: number, what: string, value: string): number {
  const key = JSON.stringify([q, cols]);
  const hit = bpwCache.get(key);
  if (hit !== undefined) return hit;
  const rows = 16;
  let m: QuantizedMatrix;
  try {
    m = native.quantize(new Float32Array(rows * cols), rows, cols, q) as QuantizedMatrix;
  } catch (e) {
    bad(what, value, `is not a valid lowbit format for ${cols} columns: ${(e as Error).message}`);
  }
  const bits = ((m.byteLength - (m.tensorScale !== undefined ? 4 : 0)) * 8) / (rows * cols);
  bpwCache.set(key, bits);
  return bits;
}

/**
 * Resolves a precision name. `cols` (the layers' input width, e.g. the hidden size) sets the cost of
 * per-row scales; group sizes must divide it.
 */
export function resolvePrecision(value: string, cols = 4096, what = 'precision'): Precision {
  const { name, quantize } = parsePrecision(value, what);
  if (!quantize) return { name, bitsPerWeight: IDEAL[name] };
  return { name, bitsPerWeight: measuredBits(quantize, cols, what, value), quantize };
}
