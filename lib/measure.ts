/**
 * Measures what the planner needs from a CPU machine, with lowbit itself: its memory, its read
 * bandwidth (the probe) and, per weight format, the rate its prepared GEMV reads a DRAM-resident matrix
 * at (so a format whose kernel is compute-bound here is planned at the speed it really runs). The
 * result is plain JSON, to save and pass to plans made on other machines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { native } from './native';
import { resolvePrecision } from './precision';
import type { CpuInfo, PreparedMatrix, QuantizedMatrix, QuantizeOptions } from './types';

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
}

export interface MeasureOptions {
  /** lowbit formats to time (default 'int4 g128', 'int4 g32', 'q4_0', 'q8_0'). */
  precisions?: string[];
  /** Bytes of each timed matrix (default: twice the last-level cache, at least 512 MiB: read from DRAM). */
  matrixBytes?: number;
  /** Timed GEMV calls per format (default 9; the median is kept). */
  repeats?: number;
  /** Called with a line of progress before each step. */
  onProgress?: (message: string) => void;
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
  const tile = <T extends Uint8Array | Uint16Array | Float32Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)((a.length / 16) * rows);
    for (let off = 0; off < out.length; off += a.length) out.set(a.subarray(0, Math.min(a.length, out.length - off)), off);
    return out;
  };
  const data = tile(base.data);
  const scales = tile(base.scales);
  const zeros = base.zeros ? tile(base.zeros) : null;
  const byteLength = data.byteLength + scales.byteLength + (zeros ? zeros.byteLength : 0) + (base.format === 'nvfp4' ? 4 : 0);
  return { ...base, rows, data, scales, zeros, byteLength };
}

/** Measures this machine at the current kernel set and thread count (about 2 s per format). */
export function measureMachine(options: MeasureOptions = {}): MachineMeasurement {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const precisions = options.precisions ?? ['int4 g128', 'int4 g32', 'q4_0', 'q8_0'];
  if (!Array.isArray(precisions)) throw new TypeError('options.precisions must be an array of lowbit format names');
  const llc = lastLevelCacheBytes();
  const target = options.matrixBytes ?? Math.max(512 * 2 ** 20, 2 * llc);
  if (typeof target !== 'number' || !(target >= 1 << 16)) throw new RangeError('options.matrixBytes must be a number >= 65536');
  const repeats = options.repeats ?? 9;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError('options.repeats must be an integer >= 1');
  const progress = options.onProgress ?? (() => {});
  const info = native.cpuInfo() as CpuInfo;

  progress('read bandwidth (probe)');
  const readBandwidth = native.probe('bandwidth') * 1e9;
  const formats: MachineMeasurement['formats'] = {};
  const cols = 8192;
  for (const name of precisions) {
    const p = resolvePrecision(name, cols, 'precisions');
    if (!p.quantize) throw new RangeError(`precisions: '${name}' is an idealised width, not a lowbit format to time`);
    const perRow = (p.bitsPerWeight * cols) / 8;
    const rows = Math.max(16, Math.ceil(target / perRow / 16) * 16);
    progress(`${p.name}: ${rows} x ${cols} GEMV (${((rows * perRow) / 2 ** 20).toFixed(0)} MiB)`);
    const q = tiledMatrix(p.quantize, cols, rows);
    const matrixBytes = q.byteLength;
    const w = native.prepare(q, { activations: 'int8' }) as PreparedMatrix;
    const x = new Float32Array(cols).map((_, i) => Math.sin(i * 0.37));
    const out = new Float32Array(rows);
    native.matmul(x, w, { out });
    const times: number[] = [];
    for (let r = 0; r < repeats; ++r) {
      const t0 = process.hrtime.bigint();
      native.matmul(x, w, { out });
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    w.dispose();
    const t = median(times);
    formats[p.name] = { bytesPerSecond: matrixBytes / t, matrixBytes, rows, cols, medianSeconds: t };
  }
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
    Object.values(m.formats).every((f) => f && typeof f.bytesPerSecond === 'number' && f.bytesPerSecond > 0);
  if (!ok) throw new RangeError(`machine file ${path}: not a lowbit machine measurement (version 1: memoryBytes, readBandwidth, formats)`);
  return m;
}
