/** The one error class for problems with a file lowbit reads or writes. */
import * as util from 'node:util';

/**
 * Why a file could not be used:
 * - a system error code from the operating system, as Node names them (`'ENOENT'`, `'EACCES'`, `'EISDIR'`,
 *   `'ENOSPC'`, ...);
 * - `'BAD_MAGIC'`: the file is not of the format asked for (or, for `inspectModelFile`, of any lowbit reads);
 * - `'TRUNCATED'`: the header or a tensor's data runs past the end of the file;
 * - `'BAD_HEADER'`: the header is malformed (a bad value, type, offset, shape or JSON);
 * - `'UNSUPPORTED'`: a valid file that uses something lowbit does not read (a big-endian GGUF, a model
 *   architecture or tensor type `lowbit/llm` does not run);
 * - `'BAD_MODEL'`: a valid GGUF that is not a model `lowbit/llm` can run as it says: a metadata key or tensor
 *   missing, or a tensor's shape not what the hyperparameters imply (`field` names it);
 * - `'CLOSED'`: the file was closed and a new view of it was asked for.
 */
export type LowbitFileErrorCode = 'BAD_MAGIC' | 'TRUNCATED' | 'BAD_HEADER' | 'UNSUPPORTED' | 'BAD_MODEL' | 'CLOSED' | (string & {});

export interface LowbitFileErrorDetails {
  /** The container format the file was read as, when known. */
  format?: 'gguf' | 'safetensors';
  /** The header field at fault (`'magic'`, `'tensor "x" offset'`, ...). */
  field?: string;
  /** The byte offset of that field in the file (GGUF). */
  offset?: number;
  /** The underlying error (a Node system error for `fs` failures). */
  cause?: unknown;
}

/**
 * Thrown by every lowbit function that opens, reads or writes a file (`openGGUF`, `openSafetensors`,
 * `writeGGUF`, `writeSafetensors`, `inspectModelFile`, `importLinear`, ...). `message` starts with the
 * function and the path.
 */
export class LowbitFileError extends Error {
  readonly code: LowbitFileErrorCode;
  readonly path: string;
  readonly format?: 'gguf' | 'safetensors';
  readonly field?: string;
  readonly offset?: number;

  constructor(message: string, code: LowbitFileErrorCode, path: string, details: LowbitFileErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LowbitFileError';
    this.code = code;
    this.path = path;
    if (details.format !== undefined) this.format = details.format;
    if (details.field !== undefined) this.field = details.field;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

/**
 * An error from `fs` (or the native file opener) as a LowbitFileError with its system code; anything
 * else passes through.
 */
export function fileSystemError(fn: string, path: string, e: unknown): unknown {
  if (e instanceof LowbitFileError) return e;
  const err = e as { code?: unknown; errno?: unknown; message?: unknown };
  let code = typeof err?.code === 'string' ? err.code : undefined;
  // The native opener reports the OS error number (POSIX errno; on Windows, mapped to one).
  if (code === undefined && typeof err?.errno === 'number' && err.errno > 0) {
    try {
      code = util.getSystemErrorName(-err.errno);
    } catch {
      code = undefined;
    }
  }
  if (code === undefined) return e;
  const text = typeof err.message === 'string' ? err.message : String(e);
  return new LowbitFileError(`${fn}: ${text}`, code, path, { cause: e });
}
