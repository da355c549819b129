// How every async call of lowbit runs: the native side returns { promise, cancel, progress }
// (csrc/napi/async_call.h); this turns it into the options users pass, { signal, onProgress }.
import { describe } from './describe';

/** Options every long-running async call of lowbit takes besides its own. */
export interface AsyncOptions {
  /**
   * Aborts the call, as `fetch` does: the promise rejects with `signal.reason` (a `DOMException` named
   * `'AbortError'` unless `abort(reason)` gave another), and the native work stops within a few tens of
   * milliseconds, freeing everything it held. A signal already aborted rejects at once.
   */
  signal?: AbortSignal;
  /**
   * Called with the fraction done (0 to 1) about every 50 ms while the work runs, whenever it moved,
   * and with 1 when the call succeeds. An exception it throws is reported as an uncaught exception.
   */
  onProgress?: (fraction: number) => void;
}

/** What the native *Async functions return. */
export interface NativeCall<T> {
  promise: Promise<T>;
  cancel(): void;
  progress(): number;
}

const PROGRESS_MS = 50;

/** Splits `options` into the call's own options and the async ones, validating the latter. */
export function splitAsyncOptions<T extends object>(
  fn: string,
  options: (T & AsyncOptions) | undefined,
): { rest: T | undefined; signal?: AbortSignal; onProgress?: (fraction: number) => void } {
  if (options === undefined || options === null || typeof options !== 'object') return { rest: options as T | undefined };
  const { signal, onProgress, ...rest } = options;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`${fn}: options.signal must be an AbortSignal (got ${describe(signal)})`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(`${fn}: options.onProgress must be a function (got ${describe(onProgress)})`);
  }
  return { rest: rest as T, signal, onProgress };
}

function isAbortSignal(s: unknown): s is AbortSignal {
  return (
    s instanceof AbortSignal ||
    (typeof s === 'object' && s !== null && typeof (s as AbortSignal).aborted === 'boolean' &&
      typeof (s as AbortSignal).addEventListener === 'function')
  );
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Starts a native call and settles with it, wiring `signal` to its cancel() and `onProgress` to its
 * progress(). `start` runs synchronously (argument errors reject the returned promise).
 */
export async function runAsync<T>(
  start: () => NativeCall<T>,
  signal?: AbortSignal,
  onProgress?: (fraction: number) => void,
): Promise<T> {
  if (signal?.aborted) throw abortReason(signal);
  const call = start();
  let timer: NodeJS.Timeout | undefined;
  let last = -1;
  const report = (f: number) => {
    if (f === last) return;
    last = f;
    try {
      onProgress!(f);
    } catch (e) {
      // A throwing callback must not leave the work running unobserved: report it as Node reports
      // errors thrown from event handlers.
      process.nextTick(() => {
        throw e;
      });
    }
  };
  if (onProgress) {
    report(0);
    timer = setInterval(() => report(call.progress()), PROGRESS_MS);
  }
  const onAbort = () => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const value = await call.promise;
    if (onProgress) report(1);
    return value;
  } catch (e) {
    if (signal?.aborted && (e as { code?: unknown })?.code === 'ABORT_ERR') throw abortReason(signal);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
