/** What a model file holds, by storage type: `lowbit inspect` and {@link inspectModelFile}. */
import * as fs from 'node:fs';
import { fileSystemError, LowbitFileError } from '../core/errors';
import { openGGUF } from './gguf';
import { native } from '../core/native';
import { openSafetensors, type SafetensorsFile } from './safetensors';
import type { FormatDescription } from '../core/types';

export interface ModelFileGroup {
  /** A GGUF tensor type (`'Q4_K'`), a safetensors dtype (`'F16'`), or a quantized layer kind (`'gptq int4'`). */
  type: string;
  tensors: number;
  /** Weights (elements) the group stands for; a packed layer counts its logical `[out, in]` weights. */
  parameters: number;
  bytes: number;
  bitsPerWeight: number;
  /** Whether lowbit multiplies it as it is (GGUF: `tensor()`; safetensors: `importLinear` or a float dtype). */
  supported: boolean;
  /**
   * How lowbit multiplies it once prepared (what `prepare` and `loadModel` make of it): `'packed int8'` (16-row
   * tiles with int8 activations), `'packed int8, block scales'` (the tiles keep ggml's two-level scales),
   * `'packed int8, 16-level table'`, `'sgemm on 16-bit rows'` (F16 / BF16 kept as stored), `'sgemm'`
   * (float32), or null: {@link FormatDescription.kernel} of the format it is held as.
   */
  kernel: string | null;
}

export interface ModelFileSummary {
  path: string;
  container: 'gguf' | 'safetensors';
  fileBytes: number;
  /** GGUF: general.architecture / general.name; safetensors: the `__metadata__` format. */
  architecture?: string;
  name?: string;
  tensors: number;
  parameters: number;
  /** Bytes of tensor data (file minus header). */
  dataBytes: number;
  bitsPerWeight: number;
  groups: ModelFileGroup[];
}

// GGUF tensor types by the kernel family that multiplies them once prepared: the formats stored as their blocks
// (formats()[i].ggmlType), MXFP4 (held as mxfp4: the same code bytes, its E8M0 bytes kept apart) and F32.
function ggufKernels(): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  out.F32 = 'sgemm';
  for (const f of native.formats() as FormatDescription[]) {
    if (f.ggmlType) out[f.ggmlType] = f.kernel;
    if (f.format === 'mxfp4') out.MXFP4 = f.kernel;
  }
  return out;
}
const GGUF_KERNELS = ggufKernels();
function ggufKernel(type: string, supported: boolean): string | null {
  return supported ? (GGUF_KERNELS[type] ?? null) : null;
}

function group(map: Map<string, ModelFileGroup>, type: string, parameters: number, bytes: number, kernel: string | null, tensors = 1): void {
  const g = map.get(type) ?? { type, tensors: 0, parameters: 0, bytes: 0, bitsPerWeight: 0, supported: kernel !== null, kernel };
  g.tensors += tensors;
  g.parameters += parameters;
  g.bytes += bytes;
  map.set(type, g);
}

function finish(s: Omit<ModelFileSummary, 'parameters' | 'dataBytes' | 'bitsPerWeight' | 'groups'>, map: Map<string, ModelFileGroup>): ModelFileSummary {
  const groups = [...map.values()].sort((a, b) => b.bytes - a.bytes);
  for (const g of groups) g.bitsPerWeight = g.parameters ? (8 * g.bytes) / g.parameters : 0;
  const parameters = groups.reduce((a, g) => a + g.parameters, 0);
  const dataBytes = groups.reduce((a, g) => a + g.bytes, 0);
  return { ...s, parameters, dataBytes, bitsPerWeight: parameters ? (8 * dataBytes) / parameters : 0, groups };
}

/** Quantized layers of a safetensors file, by the names importLinear looks for; the rest by dtype. */
function safetensorsGroups(f: SafetensorsFile): Map<string, ModelFileGroup> {
  const map = new Map<string, ModelFileGroup>();
  const used = new Set<string>();
  for (const t of f.tensors) {
    if (t.name.endsWith('.qweight')) {
      const p = t.name.slice(0, -'.qweight'.length);
      const parts = ['.qweight', '.qzeros', '.scales', '.g_idx'].map((s) => p + s).filter((n) => f.has(n));
      if (!f.has(`${p}.scales`) || !f.has(`${p}.qzeros`)) continue;
      const [, out] = f.info(`${p}.scales`).shape;
      const bits = (32 * f.info(`${p}.qzeros`).shape[1]) / out;
      const [r, c] = t.shape;
      const gptq = c === out;
      const params = gptq ? ((r * 32) / bits) * c : r * c * 8;
      group(map, `${gptq ? 'gptq' : 'awq'} int${bits}`, params, parts.reduce((a, n) => a + f.info(n).byteLength, 0), [2, 3, 4, 8].includes(bits) ? 'packed int8' : null, parts.length);
      parts.forEach((n) => used.add(n));
    } else if (t.name.endsWith('.weight.absmax')) {
      const w = t.name.slice(0, -'.absmax'.length);
      const parts = f.tensors.map((x) => x.name).filter((n) => n === w || n.startsWith(`${w}.`));
      const state = parts.find((n) => n.includes('.quant_state.bitsandbytes__'));
      let params = 0;
      let kind = 'bnb 4-bit';
      try {
        const j = JSON.parse(Buffer.from(f.bytes(state ?? '')).toString('utf8')) as { shape: number[]; quant_type: string };
        params = j.shape.reduce((a, b) => a * b, 1);
        kind = `bnb ${j.quant_type}`;
      } catch {
        // no readable quant_state: counted by its bytes only
      }
      group(map, kind, params, parts.reduce((a, n) => a + f.info(n).byteLength, 0), kind === 'bnb nf4' || kind === 'bnb fp4' ? 'packed int8, 16-level table' : null, parts.length);
      parts.forEach((n) => used.add(n));
    }
  }
  for (const t of f.tensors) {
    if (used.has(t.name)) continue;
    group(map, t.dtype, t.shape.reduce((a, b) => a * b, 1), t.byteLength, t.dtype === 'F32' ? 'sgemm' : ['F16', 'BF16'].includes(t.dtype) ? 'sgemm (widened to float32)' : null);
  }
  return map;
}

/** The container a file's first bytes say it is: 'GGUF', or an 8-byte length then a JSON object. */
export function detectModelFile(path: string, fn = 'inspectModelFile'): 'gguf' | 'safetensors' {
  const head = Buffer.alloc(9);
  let n = 0;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      n = fs.readSync(fd, head, 0, 9, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw fileSystemError(fn, path, e);
  }
  if (n >= 4 && head.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  if (n === 9 && head[8] === 0x7b) return 'safetensors';
  throw new LowbitFileError(
    `${fn}: ${path}: neither a GGUF file (it does not start with 'GGUF') nor a safetensors file (no JSON header after ` +
      `its first 8 bytes)${n < 9 ? `; it has only ${n} bytes` : ''}`,
    'BAD_MAGIC',
    path,
  );
}

/** Opens a GGUF or safetensors file (told apart by its first bytes, not its name) and sums up what it holds. */
export function inspectModelFile(path: string): ModelFileSummary {
  if (detectModelFile(path) === 'gguf') {
    const f = openGGUF(path);
    try {
      const map = new Map<string, ModelFileGroup>();
      for (const t of f.tensors) group(map, t.type, t.rows * t.cols, t.byteLength ?? 0, ggufKernel(t.type, t.supported));
      const str = (k: string) => (typeof f.metadata[k] === 'string' ? (f.metadata[k] as string) : undefined);
      return finish({ path, container: 'gguf', fileBytes: f.fileSize, architecture: str('general.architecture'), name: str('general.name'), tensors: f.tensors.length }, map);
    } finally {
      f.close();
    }
  }
  const f = openSafetensors(path);
  try {
    return finish({ path, container: 'safetensors', fileBytes: f.fileSize, architecture: f.metadata.format, tensors: f.tensors.length }, safetensorsGroups(f));
  } finally {
    f.close();
  }
}
