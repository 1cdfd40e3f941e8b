import { ConfigError } from '../errors';
import { DURATION_MAX } from '../config/check';
import { retryHooks } from '../retry/hooks';
import { type RetryOptions, normalizeRetry } from '../retry/policy';
import { collectJobHooks, hookKindOf, type JobHookFields } from './hooks';

/** defineJob's `timeout`: bounded as --job-timeout is. */
const JOB_TIMEOUT_MAX = DURATION_MAX['jobTimeout']!;

/**
 * The mark `defineJob` puts on a job. `Symbol.for`, so that two copies of pyres-ts in one
 * process (an app's and a tool's) agree on it.
 */
export const JOB_MARK: unique symbol = Symbol.for('pyres-ts.job') as never;

/**
 * What `defineJob` takes: `perform`, the per-job options, and Resque's job hooks
 * (`beforePerform`, `aroundPerform`, `afterPerform`, `onFailure`, `beforeEnqueue`,
 * `afterEnqueue`, `beforeDequeue`, `afterDequeue`, and any property name that starts with one
 * of these, run in name order; see JobHookFields and docs/HOOKS.md).
 */
export interface JobSpec<Args extends unknown[] = any[], Result = unknown> extends JobHookFields<Args> {
  perform(...args: Args): Result | Promise<Result>;
  /** Seconds the job may run under a master with job timeouts (overrides `--job-timeout`). */
  timeout?: number;
  /** Args decoded losslessly (big integers as BigInt); wins over `--lossless-args`. */
  lossless?: boolean;
  /** Pyres `@D:` strings decoded into Dates; wins over `--pyres-dates`. */
  pyresDates?: boolean;
  /**
   * Retries as resque-retry 1.8 makes them (`@retry_limit`, `@retry_delay`, `@backoff_strategy`,
   * `@retry_exceptions`, `@fatal_exceptions`, `@expire_retry_key_after`, the
   * MultipleWithRetrySuppression backend): the job gets the hooks `beforePerformRetry`,
   * `afterPerformRetry` and `onFailureRetry`. Delayed retries need a running `pyres-ts scheduler`.
   * See docs/RETRY.md.
   */
  retry?: RetryOptions;
}

/** A declared job: what a job module exports for a payload to run it. */
export type Job<Args extends unknown[] = any[], Result = unknown> = Readonly<JobSpec<Args, Result>> & { readonly [JOB_MARK]: true };

/** The args a job takes (for typed `enqueue`). */
export type JobArgs<J> = J extends { perform(...args: infer A): unknown }
  ? A
  : J extends abstract new (
        ...a: any[]
      ) => { perform(...args: infer A): unknown }
    ? A
    : unknown[];

/** What a job's `perform` resolves to. */
export type JobResult<J> = J extends { perform(...args: any[]): infer R } ? Awaited<R> : unknown;

/**
 * Declares a job. A job module's exports that are declared jobs, objects with `perform`, or
 * classes with `perform` are jobs; a plain function is one only when declared here, so a helper
 * exported for other code can never be run from a payload.
 *
 * ```ts
 * export const Archive = defineJob({ timeout: 60, async perform(id: number, opts: { deep: boolean }) { ... } });
 * export const Ping = defineJob(async (host: string) => { ... });
 * ```
 */
export function defineJob<Args extends unknown[], Result>(spec: JobSpec<Args, Result> | ((...args: Args) => Result | Promise<Result>)): Job<Args, Result> {
  const s: JobSpec<Args, Result> = typeof spec === 'function' ? { perform: spec } : spec;
  if (s === null || typeof s !== 'object' || typeof s.perform !== 'function') {
    throw new ConfigError('defineJob needs a function, or an object with a perform(...args) function');
  }
  if (s.timeout !== undefined && !(typeof s.timeout === 'number' && Number.isFinite(s.timeout) && s.timeout > 0 && s.timeout <= JOB_TIMEOUT_MAX)) {
    // Bounded as --job-timeout is (Node's timers take a longer delay as 1 ms).
    throw new ConfigError(`defineJob: timeout must be a positive number of seconds, at most ${JOB_TIMEOUT_MAX}, got ${JSON.stringify(s.timeout)}`);
  }
  for (const k of ['lossless', 'pyresDates'] as const) {
    if (s[k] !== undefined && typeof s[k] !== 'boolean') throw new ConfigError(`defineJob: ${k} must be true or false, got ${JSON.stringify(s[k])}`);
  }
  // Validates every hook property (a function, an array or a record of functions).
  collectJobHooks(s);
  const hooks: Record<string, unknown> = {};
  const props = s as unknown as Record<string, unknown>;
  for (const k of Object.keys(props)) if (hookKindOf(k) && props[k] !== undefined) hooks[k] = props[k];
  if (s.retry !== undefined) {
    for (const [k, f] of Object.entries(retryHooks(normalizeRetry(s.retry)))) {
      if (hooks[k] !== undefined) throw new ConfigError(`defineJob: ${k} is the retry option's own hook; rename yours`);
      hooks[k] = f;
    }
  }
  const perform = s.perform;
  const job: JobSpec<Args, Result> & { [JOB_MARK]: true } = {
    perform: (...args: Args) => perform.apply(s, args),
    ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
    ...(s.lossless !== undefined ? { lossless: s.lossless } : {}),
    ...(s.pyresDates !== undefined ? { pyresDates: s.pyresDates } : {}),
    ...(s.retry !== undefined ? { retry: Object.freeze({ ...s.retry }) } : {}),
    ...hooks,
    [JOB_MARK]: true,
  };
  return Object.freeze(job) as Job<Args, Result>;
}

/** True for what `defineJob` returned. */
export function isDeclaredJob(v: unknown): v is Job {
  return typeof v === 'object' && v !== null && (v as { [JOB_MARK]?: unknown })[JOB_MARK] === true;
}
