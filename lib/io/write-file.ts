/** Writing model files: all of it or nothing at `path`. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { fileSystemError, LowbitFileError } from '../core/errors';

// write(2) may write less than asked (Linux stops at about 2 GiB per call).
function writeAll(fd: number, b: Uint8Array): void {
  for (let done = 0; done < b.byteLength; ) done += fs.writeSync(fd, b, done, Math.min(b.byteLength - done, 1 << 30));
}

/**
 * Writes the chunks one after another to a new temporary file beside `path` (a random name, created
 * exclusively), flushes it to disk, then renames it over `path`: the file appears complete or not at all,
 * and a failed write leaves nothing behind. A system error is a LowbitFileError naming `fn` and `path`.
 * On Windows the rename fails (EPERM) while the target is mapped anywhere: the error says so.
 */
export function writeFileAtomically(fn: string, path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx');
  } catch (e) {
    throw fileSystemError(fn, path, e);
  }
  try {
    for (const c of chunks) writeAll(fd, c);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    const code = (e as { code?: string }).code;
    if (process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') && fs.existsSync(path)) {
      // Windows refuses to replace (or delete) a file while a view of it is mapped; POSIX replaces the name
      // and the mapping keeps the old contents.
      throw new LowbitFileError(
        `${fn}: ${path}: cannot replace the file: on Windows a file that is memory-mapped (an open GGUFFile or ` +
          'SafetensorsFile, tensor views taken from one, or a loaded model) cannot be replaced; close and dispose ' +
          `them first, or write to another path (${(e as Error).message})`,
        code, path, { cause: e },
      );
    }
    throw fileSystemError(fn, path, e);
  }
}
