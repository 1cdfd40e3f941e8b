/**
 * Pinterest Pyres' idle backoff, as its README states it: after the n-th empty pass in a row
 * sleep min * 2^(n-1) seconds, capped at max (1, 2, 4, 8, 8, ... by default). A job resets n.
 * `min = 2` gives the fork's real 2, 4, 8 schedule.
 */
export function backoffDelay(emptyPasses: number, min: number, max: number): number {
  if (emptyPasses < 1) return 0;
  const d = min * 2 ** Math.min(emptyPasses - 1, 30);
  return Math.min(d, max);
}

/** An abortable sleep; resolves false when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
