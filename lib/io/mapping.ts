/** The mapped file under openGGUF and openSafetensors: one handle, memoized views, close(). */
import { describe } from '../core/describe';
import { fileSystemError, LowbitFileError } from '../core/errors';
import { native } from '../core/native';

export interface OpenOptions {
  /**
   * Default `true`: map the file (copy-on-write, so the file never changes and writing to a view costs only
   * that page). `false` reads it all into memory instead, as happens anyway where mapping fails.
   */
  mmap?: boolean;
}

/** Validates `path` and `options` for `fn`, then opens the file. */
export function openMapping(fn: string, path: unknown, options: unknown): Mapping {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`${fn}: path must be a non-empty string (got ${describe(path)})`);
  }
  let map = true;
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
    for (const k of Object.keys(options)) if (k !== 'mmap') throw new RangeError(`${fn}: unknown option '${k}' (allowed: mmap)`);
    const m = (options as OpenOptions).mmap;
    if (m !== undefined) {
      if (typeof m !== 'boolean') throw new TypeError(`${fn}: options.mmap must be a boolean (got ${describe(m)})`);
      map = m;
    }
  }
  try {
    return new Mapping(path, native.fileOpen(path, map));
  } catch (e) {
    throw fileSystemError(fn, path, e);
  }
}

export class Mapping {
  readonly path: string;
  readonly size: number;
  readonly mapped: boolean;
  handle: unknown;
  closed = false;
  // One ArrayBuffer per range: the same memory is never wrapped twice.
  #buffers = new Map<string, ArrayBuffer>();

  constructor(path: string, f: { handle: unknown; size: number; mapped: boolean }) {
    this.path = path;
    this.size = f.size;
    this.mapped = f.mapped;
    this.handle = f.handle;
  }

  /** The bytes [offset, offset + byteLength) as an ArrayBuffer that keeps the mapping alive. */
  buffer(offset: number, byteLength: number): ArrayBuffer {
    if (byteLength === 0) return new ArrayBuffer(0);
    const key = `${offset}+${byteLength}`;
    let b = this.#buffers.get(key);
    if (b === undefined) {
      if (this.closed) throw new LowbitFileError(`${this.path} is closed`, 'CLOSED', this.path);
      b = native.fileBytes(this.handle, offset, byteLength);
      this.#buffers.set(key, b);
    }
    return b;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native.fileClose(this.handle);
  }
}
