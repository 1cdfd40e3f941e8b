import { type JobContext, currentJob } from '../jobs/registry';
import { flooredTimestamp, encodeDelayedItemText } from '../protocol/delayed';
import { backtraceOf, exceptionNameOf } from '../protocol/records';
import { encodeSuppressedFailure, failureRetryKey, retryKey, suppressionTtl } from '../protocol/retry';
import { RetryStore } from '../store/retryStore';
import { heldSharedRedis } from '../store/sharedRedis';
import { type RetryPolicy, retryDelayFor, shouldRetry } from './policy';
import { markFailureSuppressed } from './suppression';

/**
 * resque-retry's job hooks (`before_perform_retry`, `after_perform_retry`, `on_failure_retry`
 * and the MultipleWithRetrySuppression backend's `save`), as pyres-ts job hooks named
 * `beforePerformRetry`, `afterPerformRetry`, `onFailureRetry` (PROTOCOL-plugins.md §3.2,
 * docs/RETRY.md). `defineJob({ retry })` adds them.
 */

/** The hooks `defineJob({ retry })` adds to a job. */
export interface RetryHooks {
  beforePerformRetry(...args: unknown[]): Promise<void>;
  afterPerformRetry(...args: unknown[]): Promise<void>;
  onFailureRetry(error: Error, ...args: unknown[]): Promise<void>;
}

/** The attempt before_perform counted, per running job (its context). */
const attempts = new WeakMap<JobContext, number>();

const REGISTRY_FILE = require.resolve('../jobs/registry');

async function withStore<T>(ctx: JobContext, fn: (s: RetryStore) => Promise<T>): Promise<T> {
  const connection = ctx.redis?.connection ?? { url: process.env['REDIS_URL'] };
  const namespace = ctx.redis?.namespace ?? 'resque';
  // In a worker: the process's one plugin connection for these options, held until the worker stops.
  let shared: RetryStore | null = null;
  if (ctx.resources) {
    const resources = ctx.resources;
    try {
      const { client, key } = heldSharedRedis(resources, connection);
      shared = resources.use(
        `pyres-ts:retry-store ${namespace} ${key}`,
        () => new RetryStore({ client, namespace }),
        async () => undefined,
      );
    } catch {
      shared = null; // the worker stopped: a connection of its own, as outside a worker
    }
  }
  if (shared) return fn(shared);
  const store = new RetryStore({ connection: { ...connection, connectionName: 'pyres-ts:retry' }, namespace });
  try {
    await store.connect();
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The args' JSON text as the payload carries it (exact bytes), or the args re-encoded outside a worker. */
function argsText(ctx: JobContext, args: unknown[]): string {
  try {
    return ctx.rawArgs;
  } catch {
    // fall through
  }
  return JSON.stringify(args);
}

/** Makes the retry hooks of one job's policy. */
export function retryHooks(policy: RetryPolicy): RetryHooks {
  return {
    async beforePerformRetry(...args: unknown[]): Promise<void> {
      const ctx = currentJob();
      // Outside a worker's job (no context: no class, queue or Redis to go by) retries do nothing.
      if (!ctx) return;
      const key = retryKey(ctx.className, args);
      await withStore(ctx, async s => {
        const attempt = await s.beginAttempt(key);
        attempts.set(ctx, attempt);
        // EXPIRE after the INCR: `retry_delay + expire_retry_key_after`, the delay being this attempt's.
        if (policy.expireRetryKeyAfter !== null) await s.expire(key, retryDelayFor(policy, attempt) + policy.expireRetryKeyAfter);
      });
    },

    async afterPerformRetry(...args: unknown[]): Promise<void> {
      const ctx = currentJob();
      if (!ctx) return;
      await withStore(ctx, s => s.del(retryKey(ctx.className, args)));
    },

    async onFailureRetry(error: Error, ...args: unknown[]): Promise<void> {
      const ctx = currentJob();
      // No context: a master's killed child, whose onFailure hooks run in a module-check process
      // that knows no queue or Redis; the job gets its DirtyExit record and is not retried.
      if (!ctx) return;
      const className = ctx.className;
      const queue = ctx.queue;
      const key = retryKey(className, args);
      await withStore(ctx, async s => {
        const attempt = attempts.get(ctx) ?? (await s.attempt(key));
        if (shouldRetry(policy, attempt, error) && queue !== '') {
          // try_again
          const delay = retryDelayFor(policy, attempt);
          await s.ensureCounter(key);
          const text = argsText(ctx, args);
          if (delay > 0) {
            await s.scheduleAt(flooredTimestamp(new Date()) + delay, encodeDelayedItemText(className, text, queue));
          } else {
            await s.pushNow(queue, `{"class":${JSON.stringify(className)},"args":${text}}`);
          }
          if (policy.suppressFailures) {
            // MultipleWithRetrySuppression#save: retrying (the key exists) → no `failed` record.
            if (await s.exists(key)) {
              const ttl = suppressionTtl(delay);
              if (ttl !== null) {
                await s.setex(
                  failureRetryKey(className, args),
                  ttl,
                  encodeSuppressedFailure({
                    failedAt: new Date(),
                    payloadJson: `{"class":${JSON.stringify(className)},"args":${text}}`,
                    exception: exceptionNameOf(error),
                    error: String(error.message),
                    backtrace: backtraceOf(error, REGISTRY_FILE),
                    worker: ctx.workerId,
                    queue,
                  }),
                );
              }
              markFailureSuppressed(error);
            }
          }
        } else {
          // give_up
          await s.del(key);
          if (policy.suppressFailures && !(await s.exists(key))) await s.del(failureRetryKey(className, args));
        }
      });
    },
  };
}
