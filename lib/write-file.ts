/** Writing model files: all of it or nothing at `path`. */
import * as fs from 'node:fs';

// write(2) may write less than asked (Linux stops at about 2 GiB per call).
function writeAll(fd: number, b: Uint8Array): void {
  for (let done = 0; done < b.byteLength; ) done += fs.writeSync(fd, b, done, Math.min(b.byteLength - done, 1 << 30));
}

/**
 * Writes the chunks one after another to a temporary file beside `path`, then renames it over `path`, so
 * the file appears complete or not at all (a failed write leaves nothing behind).
 */
export function writeFileAtomically(path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const c of chunks) writeAll(fd, c);
    fs.closeSync(fd);
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
