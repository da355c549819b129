/**
 * 16-bit float bit patterns to float32, exactly (every binary16 and bfloat16 value is a float32), into
 * lowbit's own memory (async calls then use it without a copy).
 */
import { native } from './native';

let halfTable: Float32Array | undefined;

/** IEEE binary16 bit patterns to float32. */
export function halfToFloat32(h: Uint16Array): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) {
      const s = i & 0x8000 ? -1 : 1;
      const e = (i >> 10) & 0x1f;
      const m = i & 0x3ff;
      halfTable[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  const out = native.allocate('float32', h.length);
  for (let i = 0; i < h.length; i++) out[i] = halfTable[h[i]];
  return out;
}

/** bfloat16 bit patterns to float32: the upper half of the float32's bits. */
export function bfloat16ToFloat32(h: Uint16Array): Float32Array {
  const out = native.allocate('float32', h.length);
  const bits = new Uint32Array(out.buffer, out.byteOffset, h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
  return out;
}
