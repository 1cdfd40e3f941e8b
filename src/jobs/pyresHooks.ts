/** Pyres' `before_perform(metadata)` / `after_perform(metadata)` job hooks as pyres-ts hooks (pyres/job.py, upstream 1.5). */
import type { AroundHook } from './hooks';
import { currentJob } from './registry';

/** The metadata Pyres 1.5 hands its `before_perform`/`after_perform` (pyres/job.py). */
export interface PyresMetadata {
  args: unknown[];
  /** The payload's `enqueue_timestamp`, when it has one. */
  enqueue_timestamp?: unknown;
  /** Seconds since the epoch when perform started. */
  perform_timestamp: number;
  /** Set on after_perform: did perform throw. */
  failed?: boolean;
  /** Set on after_perform after a failure: the error. */
  exception?: Error;
  /** Pyres' retry flag: always false here (see resque-retry compatible retries). */
  retried?: boolean;
}

/**
 * Pyres-style hooks as pyres-ts hooks: spread the result into `defineJob({...})`.
 * `before_perform(metadata)` runs first; `after_perform(metadata)` runs afterwards whether perform
 * succeeded or threw (Pyres calls it in a `finally`), with `failed` and `exception` set. Pyres'
 * metadata object is shared: what before_perform adds, after_perform sees.
 */
export function pyresHooks<Args extends unknown[] = unknown[]>(spec: {
  before_perform?: (metadata: PyresMetadata) => unknown;
  after_perform?: (metadata: PyresMetadata) => unknown;
}): { aroundPerformPyres: AroundHook<Args> } {
  return {
    aroundPerformPyres: async (next, ...args) => {
      const payload = currentJob()?.payload;
      const metadata: PyresMetadata = {
        args,
        ...(payload && 'enqueue_timestamp' in payload ? { enqueue_timestamp: payload['enqueue_timestamp'] } : {}),
        failed: false,
        perform_timestamp: Date.now() / 1000,
      };
      // As pyres/job.py: before_perform inside the try, after_perform in its finally.
      try {
        if (spec.before_perform) await spec.before_perform(metadata);
        return await next();
      } catch (e) {
        metadata.failed = true;
        metadata.exception = e instanceof Error ? e : new Error(String(e));
        metadata.retried = false;
        throw e;
      } finally {
        if (spec.after_perform) await spec.after_perform(metadata);
      }
    },
  };
}
