/**
 * Measures what the planner needs from a CPU machine, with lowbit itself: its memory, its read
 * bandwidth (the probe) and, per weight format, the rate its prepared GEMV reads a DRAM-resident matrix
 * at (so a format whose kernel is compute-bound here is planned at the speed it really runs). The
 * result is plain JSON, to save and pass to plans made on other machines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { type AsyncOptions, type NativeCall, runAsync, splitAsyncOptions } from '../core/async';
import { native } from '../core/native';
import { resolvePrecision } from './precision';
import type { CpuInfo, PreparedMatrix, QuantizedMatrix, QuantizeOptions } from '../core/types';

export interface MachineMeasurement {
  /** Schema version of this object. */
  version: 1;
  /** ISO date and time of the measurement. */
  date: string;
  cpu: string;
  arch: string;
  /** The kernel set and thread count the figures were measured with. */
  isa: string;
  threads: number;
  /** Bytes of memory of the machine. */
  memoryBytes: number;
  /** Median streaming read bandwidth, bytes/s. */
  readBandwidth: number;
  /** Per precision (a lowbit format name as `resolvePrecision` reads it): its GEMV rate. */
  formats: Record<string, { bytesPerSecond: number; matrixBytes: number; rows: number; cols: number; medianSeconds: number }>;
  /** Model files run on this machine (`measureModelAsync` from lowbit/llm, `lowbit measure --model`). */
  models?: ModelMeasurement[];
}

/** A model file's measured speed on a machine: what a plan multiplies. */
export interface ModelMeasurement {
  /** The file's name (no folder) and size, which a plan matches its model file by. */
  file: string;
  fileSize: number;
  name: string | null;
  architecture: string;
  isa: string;
  threads: number;
  /** Bytes of weights one decode step reads (every matrix once, an embedding row per sequence). */
  bytesPerToken: number;
  kvType: 'f16' | 'q8_0';
  /** Bytes of KV cache one position of one sequence holds. */
  kvBytesPerPosition: number;
  /** Positions each sequence held, on average, while its decode steps were timed. */
  context: number;
  /** Per batch (sequences decoded together, the weights read once a step): tokens/s of all of them together. */
  decode: Array<{ batch: number; tokensPerSecond: number; stepSeconds: number; steps: number }>;
  /** A prompt of `tokens` in one pass (the median of the runs). */
  prefill: { tokens: number; tokensPerSecond: number };
}

export interface MeasureOptions {
  /** lowbit formats to time (default 'int4 g128', 'int4 g32', 'q4_0', 'q8_0'; [] measures the read bandwidth only). */
  precisions?: string[];
  /** Bytes of each timed matrix (default: twice the last-level cache, at least 512 MiB: read from DRAM). */
  matrixBytes?: number;
  /** Timed GEMV calls per format (default 9; the median is kept). */
  repeats?: number;
  /**
   * Called with the fraction done (0 to 1) and the step under way ('read bandwidth', 'q4_0: 65536 x 8192
   * GEMV (512 MiB)'): at each step's start, and about every 50 ms within it for the async variant.
   */
  onProgress?: (fraction: number, step: string) => void;
}

/** The CPU's model name as the OS reports it. */
export function cpuModel(): string {
  return os.cpus()[0]?.model ?? 'unknown';
}

function lastLevelCacheBytes(): number {
  try {
    const dir = '/sys/devices/system/cpu/cpu0/cache';
    let best = 0;
    for (const idx of fs.readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const s = fs.readFileSync(`${dir}/${idx}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)$/.exec(s);
      if (m) best = Math.max(best, Number(m[1]) * { '': 1, K: 1024, M: 1 << 20, G: 1 << 30 }[m[2] as '' | 'K' | 'M' | 'G']);
    }
    return best;
  } catch {
    return 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

// A [rows, cols] matrix made of copies of a quantized [16, cols] one: every layout lowbit has is row-major
// with per-row scales, so copying rows gives a valid matrix without quantizing gigabytes of floats.
function tiledMatrix(quantize: QuantizeOptions, cols: number, rows: number): QuantizedMatrix {
  // The native bench's signal: a sine with a larger value every 97th, so scales vary.
  const seed = new Float32Array(16 * cols).map((_, i) => Math.sin(i * 0.618) * (i % 97 === 0 ? 8 : 1));
  const base = native.quantize(seed, 16, cols, quantize) as QuantizedMatrix;
  // In lowbit's memory, so prepareAsync reads it without a copy.
  const tile = <T extends Uint8Array | Uint16Array | Float32Array>(a: T): T => {
    const type = a instanceof Float32Array ? 'float32' : a instanceof Uint16Array ? 'uint16' : 'uint8';
    const out = native.allocate(type, (a.length / 16) * rows) as T;
    for (let off = 0; off < out.length; off += a.length) out.set(a.subarray(0, Math.min(a.length, out.length - off)), off);
    return out;
  };
  const data = tile(base.data);
  const scales = tile(base.scales);
  const zeros = base.zeros ? tile(base.zeros) : null;
  const byteLength = data.byteLength + scales.byteLength + (zeros ? zeros.byteLength : 0) + (base.tensorScale !== undefined ? 4 : 0);
  return { ...base, rows, data, scales, zeros, byteLength };
}

interface FormatStep {
  name: string;
  quantize: QuantizeOptions;
  rows: number;
  step: string;
}

const COLS = 8192;

// Validates the options and resolves every precision before anything is measured, so a bad option
// costs no probing.
function measurePlan(fn: string, options: MeasureOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: options must be an object`);
  for (const k of Object.keys(options)) {
    if (!['precisions', 'matrixBytes', 'repeats', 'onProgress', 'signal'].includes(k)) {
      throw new RangeError(`${fn}: unknown option '${k}' (allowed: precisions, matrixBytes, repeats, onProgress${fn.endsWith('Async') ? ', signal' : ''})`);
    }
  }
  const precisions = options.precisions ?? ['int4 g128', 'int4 g32', 'q4_0', 'q8_0'];
  if (!Array.isArray(precisions)) throw new TypeError(`${fn}: options.precisions must be an array of lowbit format names ([]: the read bandwidth only)`);
  const target = options.matrixBytes ?? Math.max(512 * 2 ** 20, 2 * lastLevelCacheBytes());
  if (typeof target !== 'number' || !(target >= 1 << 16)) throw new RangeError(`${fn}: options.matrixBytes must be a number >= 65536`);
  const repeats = options.repeats ?? 9;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`${fn}: options.repeats must be an integer >= 1`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`${fn}: options.onProgress must be a function`);
  }
  const formats: FormatStep[] = precisions.map((name, i) => {
    const p = resolvePrecision(name, COLS, `${fn}: options.precisions[${i}]`);
    if (!p.quantize) throw new RangeError(`${fn}: options.precisions[${i}]: '${name}' is an idealised width, not a lowbit format to time`);
    const perRow = (p.bitsPerWeight * COLS) / 8;
    const rows = Math.max(16, Math.ceil(target / perRow / 16) * 16);
    return { name: p.name, quantize: p.quantize, rows, step: `${p.name}: ${rows} x ${COLS} GEMV (${((rows * perRow) / 2 ** 20).toFixed(0)} MiB)` };
  });
  return { formats, repeats, report: options.onProgress ?? (() => {}) };
}

function result(readBandwidth: number, formats: MachineMeasurement['formats']): MachineMeasurement {
  const info = native.cpuInfo() as CpuInfo;
  return {
    version: 1,
    date: new Date().toISOString(),
    cpu: cpuModel(),
    arch: info.arch,
    isa: info.isa,
    threads: info.threads,
    memoryBytes: os.totalmem(),
    readBandwidth,
    formats,
  };
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const gemvInput = () => new Float32Array(COLS).map((_, i) => Math.sin(i * 0.37));

/**
 * Measures this machine at the current kernel set and thread count (about 2 s per format), blocking the
 * event loop meanwhile; {@link measureMachineAsync} does not.
 */
export function measureMachine(options: MeasureOptions = {}): MachineMeasurement {
  const { formats: steps, repeats, report } = measurePlan('measureMachine', options);
  const n = steps.length + 1;
  report(0, 'read bandwidth (probe)');
  const readBandwidth = native.probe('bandwidth') * 1e9;
  const formats: MachineMeasurement['formats'] = {};
  steps.forEach((f, i) => {
    report((i + 1) / n, f.step);
    const q = tiledMatrix(f.quantize, COLS, f.rows);
    const w = native.prepare(q, { activations: 'int8' }) as PreparedMatrix;
    const x = gemvInput();
    const out = new Float32Array(f.rows);
    native.matmul(x, w, { out });
    const times: number[] = [];
    for (let r = 0; r < repeats; ++r) {
      const t0 = process.hrtime.bigint();
      native.matmul(x, w, { out });
      times.push(seconds(t0));
    }
    w.dispose();
    const t = median(times);
    formats[f.name] = { bytesPerSecond: q.byteLength / t, matrixBytes: q.byteLength, rows: f.rows, cols: COLS, medianSeconds: t };
  });
  report(1, 'done');
  return result(readBandwidth, formats);
}

/**
 * Like {@link measureMachine}, off the JS thread: the probe and every GEMV run on lowbit's threads while
 * the event loop turns. `signal` aborts it within tens of milliseconds (its promise rejects with
 * `signal.reason`); `onProgress` is called about every 50 ms.
 */
export async function measureMachineAsync(options: MeasureOptions & Pick<AsyncOptions, 'signal'> = {}): Promise<MachineMeasurement> {
  const { formats: steps, repeats, report } = measurePlan('measureMachineAsync', options);
  const { signal } = splitAsyncOptions('measureMachineAsync', { signal: options.signal });
  const n = steps.length + 1;
  // Each step reports its own fraction; the whole is the steps done plus the current one's part.
  const within = (i: number, step: string) => (f: number) => report((i + f) / n, step);
  const probeStep = 'read bandwidth (probe)';
  const readBandwidth = (await runAsync(() => native.probeAsync('bandwidth'), signal, within(0, probeStep))) * 1e9;
  const formats: MachineMeasurement['formats'] = {};
  for (const [i, f] of steps.entries()) {
    const at = within(i + 1, f.step);
    at(0);
    const q = tiledMatrix(f.quantize, COLS, f.rows);
    // Preparing is a tenth of the step, the timed calls the rest.
    const w = await runAsync(() => native.prepareAsync(q, { activations: 'int8' }) as NativeCall<PreparedMatrix>, signal, (p) => at(0.1 * p));
    try {
      const x = gemvInput();
      await runAsync(() => native.matmulAsync(x, w), signal);
      const times: number[] = [];
      for (let r = 0; r < repeats; ++r) {
        const t0 = process.hrtime.bigint();
        await runAsync(() => native.matmulAsync(x, w), signal);
        times.push(seconds(t0));
        at(0.1 + (0.9 * (r + 1)) / repeats);
      }
      const t = median(times);
      formats[f.name] = { bytesPerSecond: q.byteLength / t, matrixBytes: q.byteLength, rows: f.rows, cols: COLS, medianSeconds: t };
    } finally {
      w.dispose();
    }
  }
  report(1, 'done');
  return result(readBandwidth, formats);
}

/** Reads a measurement saved as JSON, checking its shape. */
export function readMachineMeasurement(path: string): MachineMeasurement {
  let m: MachineMeasurement;
  try {
    m = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new RangeError(`machine file ${path}: ${(e as Error).message}`);
  }
  const ok =
    m && m.version === 1 && typeof m.memoryBytes === 'number' && m.memoryBytes > 0 && typeof m.readBandwidth === 'number' &&
    m.readBandwidth > 0 && typeof m.formats === 'object' && m.formats !== null &&
    Object.values(m.formats).every((f) => f && typeof f.bytesPerSecond === 'number' && f.bytesPerSecond > 0) &&
    (m.models === undefined ||
      (Array.isArray(m.models) &&
        m.models.every((x) => x && typeof x.file === 'string' && typeof x.fileSize === 'number' && Array.isArray(x.decode) &&
          x.decode.every((d) => Number.isInteger(d.batch) && d.batch >= 1 && d.tokensPerSecond > 0) && x.kvBytesPerPosition > 0 && x.context >= 0)));
  if (!ok) throw new RangeError(`machine file ${path}: not a lowbit machine measurement (version 1: memoryBytes, readBandwidth, formats)`);
  return m;
}
