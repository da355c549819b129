// Loads the native addon: a prebuild from prebuilds/ when one matches this
// platform, else a source build in build/Release.
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

export const native = load(path.join(__dirname, '..')) as NativeAddon;

/** The raw native surface. Public wrappers in index.ts give it types. */
export interface NativeAddon {
  quantize(weights: Float32Array, rows: number, cols: number, options: unknown): unknown;
  quantizeAsync(weights: Float32Array, rows: number, cols: number, options: unknown): Promise<unknown>;
  dequantize(q: unknown): Float32Array;
  quantizationError(weights: Float32Array, q: unknown): unknown;
  matmul(x: Float32Array, w: unknown, options?: unknown): Float32Array;
  matmulAsync(x: Float32Array, w: unknown, options?: unknown): Promise<Float32Array>;
  matmulF32(x: Float32Array, w: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array;
  cpuInfo(): unknown;
  setIsa(name: string): void;
  setThreads(n: number): void;
  probe(kind: string, bytes?: number): number;
}
