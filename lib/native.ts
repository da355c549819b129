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
}
