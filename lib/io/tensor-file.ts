/** What GGUFFile and SafetensorsFile share: a mapped file, its tensors by name, views, close(). */
import { describe } from '../core/describe';
import { LowbitFileError } from '../core/errors';
import type { Mapping } from './mapping';

export abstract class TensorFile<T extends { name: string; offset: number }> {
  readonly path: string;
  readonly fileSize: number;
  /** Whether the file is memory-mapped (else it was read into memory). */
  readonly mapped: boolean;
  #file: Mapping;
  #byName = new Map<string, T>();
  #label: string;
  #format: 'gguf' | 'safetensors';

  protected constructor(file: Mapping, label: string, format: 'gguf' | 'safetensors') {
    this.#file = file;
    this.#label = label;
    this.#format = format;
    this.path = file.path;
    this.fileSize = file.size;
    this.mapped = file.mapped;
  }

  /** The tensors, for the lookups by name. */
  protected index(tensors: readonly T[]): void {
    for (const t of tensors) this.#byName.set(t.name, t);
  }

  get closed(): boolean {
    return this.#file.closed;
  }

  /** Whether the file has a tensor called `name`. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The tensor called `name`; a RangeError listing a few names when there is none. */
  info(name: string): T {
    if (typeof name !== 'string') throw new TypeError(`${this.#label}: name must be a string (got ${describe(name)})`);
    const t = this.#byName.get(name);
    if (t === undefined) {
      const all = [...this.#byName.keys()];
      const some = all.slice(0, 5).map((x) => `'${x}'`).join(', ');
      throw new RangeError(`${this.#label}: ${this.path} has no tensor '${name}' (it has ${all.length}${some ? `: ${some}${all.length > 5 ? ', ...' : ''}` : ''})`);
    }
    return t;
  }

  /** @internal The native file handle (loadModel passes it on, so the model can drop repacked pages). */
  get nativeHandle(): unknown {
    return this.#file.handle;
  }

  /** Releases this object's hold on the file. Views already handed out stay valid. Idempotent. */
  close(): void {
    this.#file.close();
  }

  /** {@link close}, for `using f = openGGUF(path)` (TypeScript 5.2+). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The bytes of tensor `t` (`byteLength` of them) as an ArrayBuffer that keeps the mapping alive. */
  protected buffer(t: T, byteLength: number): ArrayBuffer {
    try {
      return this.#file.buffer(t.offset, byteLength);
    } catch (e) {
      if (e instanceof LowbitFileError) {
        throw new LowbitFileError(`${this.#label}: ${e.message}`, e.code, e.path, { format: this.#format, cause: e });
      }
      throw e;
    }
  }
}
