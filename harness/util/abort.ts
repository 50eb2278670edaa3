// Long work that cannot be stopped from inside (a worker pool, a library call) still answers Ctrl-C:
// the caller stops waiting at once, cleans up, and reports what was interrupted.

/** `work`, or the error `interrupted()` makes as soon as `signal` aborts (the work itself is left to `cleanup`). */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, interrupted: () => Error): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) throw interrupted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    work.catch(() => undefined); // the abandoned work may still reject later
  }
}

/** Says `message` once if `work` has not settled after `afterMs`: a quick answer stays quiet, a long wait never is. */
export async function noteIfSlow<T>(work: Promise<T>, afterMs: number, say: (() => void) | undefined): Promise<T> {
  if (!say) return work;
  const timer = setTimeout(say, afterMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}
