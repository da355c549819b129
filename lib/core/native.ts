// Loads the native addon: a prebuild from prebuilds/ when one matches this
// platform, else a source build in build/Release.
import * as path from 'node:path';
import type { NativeCall } from './async';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

function loadAddon(): NativeAddon {
  const root = path.join(__dirname, '..', '..');
  try {
    return load(root) as NativeAddon;
  } catch (e) {
    const err = e as Error;
    // A bad LOWBIT_ISA (or any error thrown by the addon itself) passes through unchanged.
    if (!/No native build was found/.test(err.message)) throw err;
    throw new Error(
      `lowbit: no prebuilt binary for ${process.platform}-${process.arch} (Node-API 9, node ${process.version}) ` +
        `in ${path.join(root, 'prebuilds')}, and no source build in ${path.join(root, 'build', 'Release')}. ` +
        'Prebuilds exist for linux-x64 and linux-arm64; elsewhere build from source with ' +
        '`npm install lowbit --build-from-source` (needs Python 3, make and a C++17 compiler). ' +
        `(node-gyp-build: ${err.message.trim()})`,
      { cause: err },
    );
  }
}

export const native = loadAddon();

// `using w = prepare(q)`: the native class gets Symbol.dispose here, beside its dispose().
Object.defineProperty(native.PreparedMatrix.prototype, Symbol.dispose, {
  value(this: { dispose(): void }) {
    this.dispose();
  },
  writable: true,
  configurable: true,
});

/** The raw native surface. Public wrappers in index.ts give it types. */
export interface NativeAddon {
  PreparedMatrix: { prototype: object };
  releaseViews(views: unknown[]): number;
  allocate(type: 'uint8', length: number): Uint8Array;
  allocate(type: 'uint16', length: number): Uint16Array;
  allocate(type: 'float32', length: number): Float32Array;
  allocate(type: 'float64', length: number): Float64Array;
  allocate(type: 'uint8' | 'uint16' | 'float32' | 'float64', length: number): Uint8Array | Uint16Array | Float32Array | Float64Array;
  quantize(weights: Float32Array, rows: number, cols: number, options: unknown): unknown;
  quantizeAsync(weights: Float32Array, rows: number, cols: number, options: unknown): NativeCall<unknown>;
  dequantize(q: unknown, out?: Float32Array): Float32Array;
  checkQuantized(q: unknown, what: string): void;
  quantizationError(weights: Float32Array, q: unknown): unknown;
  reorderNibbles(data: Uint8Array, rows: number, cols: number, toInterleaved: boolean): Uint8Array;
  matmul(x: Float32Array, w: unknown, options?: unknown): Float32Array;
  matmulAsync(x: Float32Array, w: unknown, options?: unknown): NativeCall<Float32Array>;
  matmulF32(x: Float32Array, w: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array;
  prepare(q: unknown, options?: unknown): unknown;
  prepareAsync(q: unknown, options?: unknown): NativeCall<unknown>;
  cpuInfo(): unknown;
  setIsa(name: string): void;
  setThreads(n: number, options?: unknown): void;
  probe(kind: string, bytes?: number): number;
  probeAsync(kind: string, bytes?: number): NativeCall<number>;
  formats(size?: number): unknown;
  accumulateStats(batch: Float32Array, k: number, max: Float32Array, sumAbs: Float64Array, xtx: Float64Array | null): unknown;
  accumulateStatsAsync(batch: Float32Array, k: number, max: Float32Array, sumAbs: Float64Array, xtx: Float64Array | null): NativeCall<number>;
  smoothQuant(w: Float32Array, rows: number, cols: number, absMax: Float32Array, alpha: number): unknown;
  gptq(w: Float32Array, rows: number, cols: number, h: Float32Array, options: unknown): unknown;
  gptqAsync(w: Float32Array, rows: number, cols: number, h: Float32Array, options: unknown): NativeCall<unknown>;
  awq(w: Float32Array, rows: number, cols: number, x: Float32Array, options: unknown): unknown;
  awqAsync(w: Float32Array, rows: number, cols: number, x: Float32Array, options: unknown): NativeCall<unknown>;
  rotate(m: Float32Array, rows: number, cols: number, seed: number): unknown;
  fakeQuantizeBackward(w: Float32Array, q: unknown, grad: Float32Array): Float32Array;
  fileOpen(path: string, map: boolean): { handle: unknown; size: number; mapped: boolean };
  fileBytes(handle: unknown, offset: number, byteLength: number): ArrayBuffer;
  fileClose(handle: unknown): void;
  ggufParse(handle: unknown): unknown;
  llmModel(spec: unknown, weights: unknown, file: unknown): unknown;
  llmModelAsync(spec: unknown, weights: unknown, file: unknown): NativeCall<unknown>;
  llmModelInfo(model: unknown): { bytesPerToken: number; packedBytes: number; inPlaceBytes: number };
  llmModelDispose(model: unknown): void;
  llmSession(model: unknown, contextLength: number, kvType: string): unknown;
  llmSessionState(session: unknown): {
    position: number;
    contextLength: number;
    kvBytes: number;
    profile: { forwards: number; tokens: number; totalNs: number; matmulNs: number; attentionNs: number };
  };
  llmSessionRewind(session: unknown, position: number): void;
  llmSessionDispose(session: unknown): void;
  llmForward(session: unknown, tokens: Int32Array, allLogits: boolean): Float32Array;
  llmForwardAsync(session: unknown, tokens: Int32Array, allLogits: boolean): NativeCall<Float32Array>;
  llmDecodeBatch(sessions: unknown[], tokens: Int32Array): Float32Array;
  llmDecodeBatchAsync(sessions: unknown[], tokens: Int32Array): NativeCall<Float32Array>;
  ggmlTypes(): Array<{ id: number; name: string; block: number; bytes: number }>;
}
