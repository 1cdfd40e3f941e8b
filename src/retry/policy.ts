import { ConfigError } from '../errors';
import { exceptionNameOf } from '../protocol/records';
import { backoffDelay } from '../protocol/retry';

/**
 * A job's retry options (resque-retry 1.8's class settings; docs/RETRY.md). Pure: validation
 * and the decisions, no Redis.
 */

/** An exception to match: its name as recorded (`'IOError'`, `'TypeError'`) or an Error class (instanceof). */
export type ExceptionMatcher = string | (abstract new (...a: never[]) => Error);

/** What `defineJob({ retry })` takes. */
export interface RetryOptions {
  /**
   * resque-retry's `@retry_limit`: how many retries after the first run (0: never; a negative
   * number: forever). @defaultValue 1 with `delay`, the length of `backoff` with `backoff`
   */
  limit?: number;
  /** `@retry_delay`: seconds before each retry (0: straight back onto the queue, no scheduler). @defaultValue 0 */
  delay?: number;
  /** ExponentialBackoff's `@backoff_strategy`: the delay of attempt n is `backoff[n]`, or the last one. */
  backoff?: readonly number[];
  /** `@retry_exceptions`: retry only these (default: every exception). */
  retryExceptions?: readonly ExceptionMatcher[];
  /** `@fatal_exceptions`: never retry these (they go to `failed` at once). */
  fatalExceptions?: readonly ExceptionMatcher[];
  /** `@expire_retry_key_after`: `EXPIRE` the retry key `delay + N` seconds after each INCR. */
  expireRetryKeyAfter?: number;
  /**
   * The MultipleWithRetrySuppression failure backend: a failure that is retried is not written to
   * `failed` (with a delay > 0 it is kept in `failure-resque-retry:<key>` for 2 × delay seconds);
   * only the failure that gives up is. @defaultValue false
   */
  suppressFailures?: boolean;
}

/** RetryOptions checked and with their defaults. */
export interface RetryPolicy {
  readonly limit: number;
  readonly delay: number;
  readonly backoff: readonly number[] | null;
  readonly retryExceptions: readonly ExceptionMatcher[] | null;
  readonly fatalExceptions: readonly ExceptionMatcher[];
  readonly expireRetryKeyAfter: number | null;
  readonly suppressFailures: boolean;
}

function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function matchers(name: string, v: unknown): readonly ExceptionMatcher[] {
  if (!Array.isArray(v)) throw new ConfigError(`defineJob: retry.${name} must be an array of exception names or Error classes`);
  for (const m of v) {
    if (!((typeof m === 'string' && m !== '') || typeof m === 'function')) {
      throw new ConfigError(`defineJob: retry.${name} entries must be exception names or Error classes, got ${JSON.stringify(m)}`);
    }
  }
  return Object.freeze([...(v as ExceptionMatcher[])]);
}

/** Checks `defineJob`'s `retry` option (ConfigError naming the field) and applies resque-retry's defaults. */
export function normalizeRetry(o: unknown): RetryPolicy {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ConfigError('defineJob: retry must be an object ({ limit, delay | backoff, ... })');
  const r = o as RetryOptions;
  const known = new Set(['limit', 'delay', 'backoff', 'retryExceptions', 'fatalExceptions', 'expireRetryKeyAfter', 'suppressFailures']);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ConfigError(`defineJob: retry.${k} is not a retry option (${[...known].join(', ')})`);
  if (r.delay !== undefined && r.backoff !== undefined) throw new ConfigError('defineJob: retry takes delay or backoff, not both');
  if (r.delay !== undefined && !isSeconds(r.delay)) throw new ConfigError(`defineJob: retry.delay must be seconds >= 0, got ${JSON.stringify(r.delay)}`);
  let backoff: readonly number[] | null = null;
  if (r.backoff !== undefined) {
    if (!Array.isArray(r.backoff) || r.backoff.length === 0 || !r.backoff.every(isSeconds)) {
      throw new ConfigError(`defineJob: retry.backoff must be a non-empty array of seconds >= 0, got ${JSON.stringify(r.backoff)}`);
    }
    backoff = Object.freeze([...r.backoff]);
  }
  if (r.limit !== undefined && !Number.isInteger(r.limit)) throw new ConfigError(`defineJob: retry.limit must be an integer, got ${JSON.stringify(r.limit)}`);
  if (r.expireRetryKeyAfter !== undefined && !(isSeconds(r.expireRetryKeyAfter) && Number.isInteger(r.expireRetryKeyAfter))) {
    throw new ConfigError(`defineJob: retry.expireRetryKeyAfter must be whole seconds >= 0, got ${JSON.stringify(r.expireRetryKeyAfter)}`);
  }
  if (r.suppressFailures !== undefined && typeof r.suppressFailures !== 'boolean') {
    throw new ConfigError(`defineJob: retry.suppressFailures must be true or false, got ${JSON.stringify(r.suppressFailures)}`);
  }
  return Object.freeze({
    limit: r.limit ?? (backoff ? backoff.length : 1),
    delay: r.delay ?? 0,
    backoff,
    retryExceptions: r.retryExceptions === undefined ? null : matchers('retryExceptions', r.retryExceptions),
    fatalExceptions: r.fatalExceptions === undefined ? Object.freeze([]) : matchers('fatalExceptions', r.fatalExceptions),
    expireRetryKeyAfter: r.expireRetryKeyAfter ?? null,
    suppressFailures: r.suppressFailures === true,
  });
}

/** The seconds before the retry that follows `attempt` (retry_delay, or the backoff strategy's entry, truncated). */
export function retryDelayFor(p: RetryPolicy, attempt: number): number {
  return p.backoff ? backoffDelay(p.backoff, Math.max(0, attempt)) : Math.trunc(p.delay);
}

/** `retry_limit_reached?`: limit 0 never retries, a negative limit retries forever, else `attempt >= limit`. */
export function retryLimitReached(p: RetryPolicy, attempt: number): boolean {
  if (p.limit === 0) return true;
  if (p.limit < 0) return false;
  return attempt >= p.limit;
}

function matches(m: ExceptionMatcher, err: Error): boolean {
  if (typeof m === 'string') return exceptionNameOf(err) === m || err.name === m;
  try {
    return err instanceof (m as new (...a: never[]) => Error);
  } catch {
    return false;
  }
}

/** `retry_exception?`: not fatal, and among retryExceptions when those are given. */
export function retryableException(p: RetryPolicy, err: Error): boolean {
  if (p.fatalExceptions.some(m => matches(m, err))) return false;
  return p.retryExceptions === null || p.retryExceptions.some(m => matches(m, err));
}

/** `retry_criteria_valid?` for the built-in criteria: a retryable exception and the limit not reached. */
export function shouldRetry(p: RetryPolicy, attempt: number, err: Error): boolean {
  return retryableException(p, err) && !retryLimitReached(p, attempt);
}
