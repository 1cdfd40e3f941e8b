/**
 * The one seam between a job's retry policy and the worker's failure record: an onFailure
 * hook marks the error of a failure that is being retried under `suppressFailures`, and the
 * worker then counts the failure (stat:failed) without writing it to `failed`, as resque-retry's
 * MultipleWithRetrySuppression backend does. Pure (a WeakSet); `Symbol.for` so that two copies
 * of pyres-ts in one process agree.
 */
const REGISTRY_KEY = Symbol.for('pyres-ts.retry.suppressedFailures');
const g = globalThis as unknown as Record<symbol, WeakSet<Error> | undefined>;
const suppressed: WeakSet<Error> = (g[REGISTRY_KEY] ??= new WeakSet<Error>());

/** Marks a failure as retried with suppression: the worker writes no `failed` record for it. */
export function markFailureSuppressed(err: Error): void {
  suppressed.add(err);
}

/** True for a failure a retry policy suppressed (markFailureSuppressed). */
export function isFailureSuppressed(err: unknown): boolean {
  return typeof err === 'object' && err !== null && suppressed.has(err as Error);
}
