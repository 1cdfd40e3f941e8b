import { type JobContext, currentJob } from '../jobs/registry';
import { flooredTimestamp, encodeDelayedItemText } from '../protocol/delayed';
import { backtraceOf, exceptionNameOf } from '../protocol/records';
import { encodePyresRetryItem, pyresRetryDecision } from '../protocol/pyresRetry';
import { encodeSuppressedFailure, retryKey, suppressionTtl } from '../protocol/retry';
import { RetryStore } from '../store/retryStore';
import { heldSharedRedis } from '../store/sharedRedis';
import { type RetryPolicy, ignoredException, retryCriteriaValid, retryDelayFor } from './policy';
import { markFailureSuppressed } from './suppression';

/**
 * resque-retry's job hooks (`before_perform_retry`, `after_perform_retry`, `on_failure_retry`
 * and the MultipleWithRetrySuppression backend's `save`), as pyres-ts job hooks named
 * `beforePerformRetry`, `afterPerformRetry`, `onFailureRetry` (PROTOCOL-plugins.md §3.2,
 * docs/RETRY.md). `defineJob({ retry })` adds them.
 */

/** The hooks `defineJob({ retry })` adds to a job (resque-retry's mode). */
export interface RetryHooks {
  beforePerformRetry(...args: unknown[]): Promise<void>;
  afterPerformRetry(...args: unknown[]): Promise<void>;
  onFailureRetry(error: Error, ...args: unknown[]): Promise<void>;
}

/**
 * The hooks of `retry: { mode: 'pyres' }`: the counter (`beforePerformRetry`), and Pyres'
 * Job#retry around perform (`aroundPerformRetry`), which swallows a failure it re-schedules.
 */
export interface PyresRetryHooks {
  beforePerformRetry(...args: unknown[]): Promise<void>;
  aroundPerformRetry(next: () => Promise<unknown>, ...args: unknown[]): Promise<unknown>;
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

/** The retry key of one run: the job's own `retryIdentifier` when it has one. */
function keyOf(policy: RetryPolicy, className: string, args: unknown[]): string {
  if (!policy.retryIdentifier) return retryKey(className, args);
  const id = policy.retryIdentifier(...args);
  return retryKey(className, args, id === null || id === undefined ? null : String(id));
}

/** Makes the retry hooks of one job's policy (Pyres' mode: pyresRetryHooks). */
export function retryHooks(policy: RetryPolicy): RetryHooks | PyresRetryHooks {
  return policy.mode === 'pyres' ? pyresRetryHooks(policy) : resqueRetryHooks(policy);
}

/** The counter before perform, shared by both modes: SETNX -1, INCR [, EXPIRE]. */
async function beginAttempt(policy: RetryPolicy, args: unknown[]): Promise<void> {
  const ctx = currentJob();
  // Outside a worker's job (no context: no class, queue or Redis to go by) retries do nothing.
  if (!ctx) return;
  const key = keyOf(policy, ctx.className, args);
  await withStore(ctx, async s => {
    const attempt = await s.beginAttempt(key);
    attempts.set(ctx, attempt);
    // EXPIRE after the INCR: `retry_delay + expire_retry_key_after`, the delay being this attempt's.
    if (policy.expireRetryKeyAfter !== null) await s.expire(key, retryDelayFor(policy, attempt) + policy.expireRetryKeyAfter);
  });
}

/**
 * Pyres' `retry_every`/`retry_timeout` (job.py:70-83, capture fixtures/pyres/e2): a failed run
 * is re-scheduled through the delayed keys with Pyres' bytes and `first_attempt` (the payload's,
 * or now), and the failure swallowed (the run counts as processed), while `now + every <
 * first_attempt + timeout` and the resque-retry counter is under its limit; else the counter is
 * deleted and the failure goes on to `failed`. A success deletes the counter.
 */
export function pyresRetryHooks(policy: RetryPolicy): PyresRetryHooks {
  return {
    beforePerformRetry: (...args: unknown[]) => beginAttempt(policy, args),
    async aroundPerformRetry(next: () => Promise<unknown>, ...args: unknown[]): Promise<unknown> {
      const ctx = currentJob();
      if (!ctx) return next();
      const key = keyOf(policy, ctx.className, args);
      let result: unknown;
      try {
        result = await next();
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        const retried = await withStore(ctx, async s => {
          const attempt = attempts.get(ctx) ?? (await s.attempt(key));
          const decision = pyresRetryDecision(new Date(), ctx.payload['first_attempt'], policy.every, policy.timeout);
          if (decision.retry && ctx.queue !== '' && (await retryCriteriaValid(policy, attempt, error, args))) {
            await s.ensureCounter(key);
            let item: string;
            try {
              item = encodePyresRetryItem(ctx.className, ctx.queue, argsText(ctx, args), decision.firstAttempt);
            } catch {
              item = encodePyresRetryItem(ctx.className, ctx.queue, JSON.stringify(args), decision.firstAttempt);
            }
            await s.schedulePyres(decision.at, item);
            return true;
          }
          await s.del(key);
          return false;
        });
        if (!retried) throw e;
        ctx.logger.info(`retry (pyres): ${ctx.className} re-scheduled after ${error.name}: ${error.message}`);
        return undefined;
      }
      await withStore(ctx, s => s.del(key));
      return result;
    },
  };
}

function resqueRetryHooks(policy: RetryPolicy): RetryHooks {
  return {
    beforePerformRetry: (...args: unknown[]) => beginAttempt(policy, args),

    async afterPerformRetry(...args: unknown[]): Promise<void> {
      const ctx = currentJob();
      if (!ctx) return;
      await withStore(ctx, s => s.del(keyOf(policy, ctx.className, args)));
    },

    async onFailureRetry(error: Error, ...args: unknown[]): Promise<void> {
      const ctx = currentJob();
      // No context: outside a worker (a master's dead child gets one: src/jobs/checkMain.ts).
      if (!ctx) return;
      const className = ctx.className;
      const queue = ctx.queue;
      const key = keyOf(policy, className, args);
      await withStore(ctx, async s => {
        // A dirty exit's hooks run in another process, which reads the attempt (`GET`), as Ruby's parent.
        let attempt = attempts.get(ctx) ?? (await s.attempt(key));
        // @ignore_exceptions: this attempt does not count.
        if (ignoredException(policy, error)) attempt = await s.decr(key);
        if (queue !== '' && (await retryCriteriaValid(policy, attempt, error, args))) {
          // try_again
          const delay = retryDelayFor(policy, attempt, error);
          const target = policy.retryQueue?.(error, ...args) || queue;
          await s.ensureCounter(key);
          const text = argsText(ctx, args);
          const retryText = policy.retryArgs ? JSON.stringify(policy.retryArgs(error, ...args)) : text;
          if (delay > 0) {
            await s.scheduleAt(flooredTimestamp(new Date()) + delay, encodeDelayedItemText(className, retryText, target));
          } else {
            await s.pushNow(target, `{"class":${JSON.stringify(className)},"args":${retryText}}`);
          }
          if (policy.suppressFailures) {
            // MultipleWithRetrySuppression#save: retrying (the key exists) → no `failed` record.
            if (await s.exists(key)) {
              const ttl = suppressionTtl(delay);
              if (ttl !== null) {
                await s.setex(
                  `failure-${key}`,
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
          if (policy.suppressFailures && !(await s.exists(key))) await s.del(`failure-${key}`);
        }
      });
    },
  };
}
