import { ConfigError } from '../errors';
import { exceptionNameOf } from '../protocol/records';
import { backoffDelay } from '../protocol/retry';

/**
 * A job's retry options (resque-retry 1.8's class settings; docs/RETRY.md). Pure: validation
 * and the decisions, no Redis.
 */

/** An exception to match: its name as recorded (`'IOError'`, `'TypeError'`) or an Error class (instanceof). */
export type ExceptionMatcher = string | (abstract new (...a: never[]) => Error);

/** A delay for one exception of the Hash form: seconds, or seconds per attempt (`delays[attempt]`, or the last one). */
export type ExceptionDelay = number | readonly number[];

/**
 * `@retry_exceptions` as a Hash (exception → delay): a record keyed by exception name, or a Map
 * keyed by names or Error classes. The closest match wins (the error's own class first, then
 * its superclasses), as resque-retry picks the closest superclass.
 */
export type RetryExceptionDelays = Readonly<Record<string, ExceptionDelay>> | ReadonlyMap<ExceptionMatcher, ExceptionDelay>;

/** `retry_criteria_check`: true retries a failure whose exception is not retryable (the limit still applies). */
// biome-ignore lint/suspicious/noExplicitAny: the job's own arg types are checked where it is declared
export type RetryCriteriaCheck = (error: Error, ...args: any[]) => boolean | Promise<boolean>;

/** What `defineJob({ retry })` takes. */
export interface RetryOptions {
  /**
   * resque-retry's `@retry_limit`: how many retries after the first run (0: never; a negative
   * number: forever). @defaultValue 1 with `delay`, the length of `backoff` with `backoff`, the
   * longest delay array (at least 1) with the Hash form of `retryExceptions`; in Pyres mode
   * `ceil(timeout / every)`
   */
  limit?: number;
  /** `@retry_delay`: seconds before each retry (0: straight back onto the queue, no scheduler). @defaultValue 0 */
  delay?: number;
  /** ExponentialBackoff's `@backoff_strategy`: the delay of attempt n is `backoff[n]`, or the last one. */
  backoff?: readonly number[];
  /**
   * `@retry_exceptions`: retry only these (default: every exception). A list, or the Hash form
   * (exception → delay or delays per attempt), which also sets each exception's delay.
   */
  retryExceptions?: readonly ExceptionMatcher[] | RetryExceptionDelays;
  /** `@fatal_exceptions`: never retry these (they go to `failed` at once); when given, retryExceptions no longer limits what is retried (as resque-retry). */
  fatalExceptions?: readonly ExceptionMatcher[];
  /**
   * `@ignore_exceptions`: a failure with exactly this class (or recorded name) is retried
   * without counting (`DECR` of the retry key). It must still be retryable: list it in
   * `retryExceptions` too.
   */
  ignoreExceptions?: readonly ExceptionMatcher[];
  /** `@expire_retry_key_after`: `EXPIRE` the retry key `delay + N` seconds after each INCR. */
  expireRetryKeyAfter?: number;
  /**
   * The MultipleWithRetrySuppression failure backend: a failure that is retried is not written to
   * `failed` (with a delay > 0 it is kept in `failure-resque-retry:<key>` for 2 × delay seconds);
   * only the failure that gives up is. @defaultValue false
   */
  suppressFailures?: boolean;
  /** `retry_identifier(*args)`: the key's suffix instead of the SHA1 of the args (null: none). */
  // biome-ignore lint/suspicious/noExplicitAny: the job's own arg types are checked where it is declared
  retryIdentifier?: (...args: any[]) => string | number | null | undefined;
  /** `retry_queue(exception, *args)`: the queue the retry goes to (null/undefined: the job's own). */
  // biome-ignore lint/suspicious/noExplicitAny: the job's own arg types are checked where it is declared
  retryQueue?: (error: Error, ...args: any[]) => string | null | undefined;
  /** `retry_args_for_exception(exception, *args)`: the args the retry runs with (default: the same). */
  // biome-ignore lint/suspicious/noExplicitAny: the job's own arg types are checked where it is declared
  retryArgs?: (error: Error, ...args: any[]) => unknown[];
  /** `retry_criteria_check`: asked (in order, until one says true) when the exception is not retryable. */
  retryCriteriaCheck?: RetryCriteriaCheck | readonly RetryCriteriaCheck[];
  /**
   * `'pyres'`: Pyres' `retry_every`/`retry_timeout` instead (job.py): a failed run is re-scheduled
   * `every` seconds later, with `first_attempt` in the payload, while `now + every` is before
   * `first_attempt + timeout`; the retried run counts as processed, not failed. Also capped by
   * the resque-retry counter (`limit`). @defaultValue 'resque'
   */
  mode?: 'resque' | 'pyres';
  /** Pyres mode: `retry_every`, seconds (> 0) between a failure and its retry. */
  every?: number;
  /** Pyres mode: `retry_timeout`, seconds after `first_attempt` after which a failure gives up. @defaultValue 0 */
  timeout?: number;
}

/** RetryOptions checked and with their defaults. */
export interface RetryPolicy {
  readonly mode: 'resque' | 'pyres';
  readonly limit: number;
  readonly delay: number;
  readonly backoff: readonly number[] | null;
  readonly retryExceptions: readonly ExceptionMatcher[] | null;
  /** The Hash form's delays (its keys are also `retryExceptions`), or null. */
  readonly exceptionDelays: ReadonlyArray<readonly [ExceptionMatcher, ExceptionDelay]> | null;
  /** null: not given (resque-retry tells "not given" from "empty"). */
  readonly fatalExceptions: readonly ExceptionMatcher[] | null;
  readonly ignoreExceptions: readonly ExceptionMatcher[];
  readonly expireRetryKeyAfter: number | null;
  readonly suppressFailures: boolean;
  readonly retryIdentifier: ((...args: unknown[]) => string | number | null | undefined) | null;
  readonly retryQueue: ((error: Error, ...args: unknown[]) => string | null | undefined) | null;
  readonly retryArgs: ((error: Error, ...args: unknown[]) => unknown[]) | null;
  readonly retryCriteriaChecks: readonly RetryCriteriaCheck[];
  /** Pyres mode: retry_every and retry_timeout, seconds. */
  readonly every: number;
  readonly timeout: number;
}

function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isMatcher(m: unknown): m is ExceptionMatcher {
  return (typeof m === 'string' && m !== '') || typeof m === 'function';
}

function matchers(name: string, v: unknown): readonly ExceptionMatcher[] {
  if (!Array.isArray(v)) throw new ConfigError(`defineJob: retry.${name} must be an array of exception names or Error classes`);
  for (const m of v) {
    if (!isMatcher(m)) throw new ConfigError(`defineJob: retry.${name} entries must be exception names or Error classes, got ${JSON.stringify(m)}`);
  }
  return Object.freeze([...(v as ExceptionMatcher[])]);
}

function exceptionDelays(v: unknown): ReadonlyArray<readonly [ExceptionMatcher, ExceptionDelay]> {
  const entries: Array<[unknown, unknown]> = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  if (entries.length === 0) throw new ConfigError('defineJob: retry.retryExceptions must not be empty');
  return Object.freeze(
    entries.map(([m, d]) => {
      if (!isMatcher(m)) throw new ConfigError(`defineJob: retry.retryExceptions keys must be exception names or Error classes, got ${JSON.stringify(m)}`);
      const ok = isSeconds(d) || (Array.isArray(d) && d.length > 0 && d.every(isSeconds));
      if (!ok)
        throw new ConfigError(
          `defineJob: retry.retryExceptions[${JSON.stringify(typeof m === 'string' ? m : m.name)}] must be seconds >= 0 or a non-empty array of them, got ${JSON.stringify(d)}`,
        );
      return Object.freeze([m, Array.isArray(d) ? Object.freeze([...d]) : d] as const);
    }),
  );
}

function fn<T>(name: string, v: unknown): T | null {
  if (v === undefined) return null;
  if (typeof v !== 'function') throw new ConfigError(`defineJob: retry.${name} must be a function, got ${typeof v}`);
  return v as T;
}

const KNOWN = [
  'limit',
  'delay',
  'backoff',
  'retryExceptions',
  'fatalExceptions',
  'ignoreExceptions',
  'expireRetryKeyAfter',
  'suppressFailures',
  'retryIdentifier',
  'retryQueue',
  'retryArgs',
  'retryCriteriaCheck',
  'mode',
  'every',
  'timeout',
];
/** What Pyres mode takes (it writes no failure while retrying and moves the job itself). */
const PYRES_KNOWN = new Set(['mode', 'every', 'timeout', 'limit', 'retryExceptions', 'fatalExceptions', 'retryIdentifier', 'retryCriteriaCheck']);

/** Checks `defineJob`'s `retry` option (ConfigError naming the field) and applies resque-retry's defaults. */
export function normalizeRetry(o: unknown): RetryPolicy {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ConfigError('defineJob: retry must be an object ({ limit, delay | backoff, ... })');
  const r = o as RetryOptions;
  const known = new Set(KNOWN);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ConfigError(`defineJob: retry.${k} is not a retry option (${KNOWN.join(', ')})`);
  if (r.mode !== undefined && r.mode !== 'resque' && r.mode !== 'pyres')
    throw new ConfigError(`defineJob: retry.mode must be 'resque' or 'pyres', got ${JSON.stringify(r.mode)}`);
  const pyres = r.mode === 'pyres';
  if (pyres) {
    for (const k of Object.keys(r)) {
      if (!PYRES_KNOWN.has(k) && (r as Record<string, unknown>)[k] !== undefined)
        throw new ConfigError(`defineJob: retry.${k} is not an option of retry mode 'pyres' (${[...PYRES_KNOWN].join(', ')})`);
    }
    if (!(typeof r.every === 'number' && Number.isFinite(r.every) && r.every > 0))
      throw new ConfigError(`defineJob: retry.every must be seconds > 0 in mode 'pyres', got ${JSON.stringify(r.every)}`);
    if (r.timeout !== undefined && !isSeconds(r.timeout))
      throw new ConfigError(`defineJob: retry.timeout must be seconds >= 0, got ${JSON.stringify(r.timeout)}`);
  } else {
    for (const k of ['every', 'timeout'] as const) if (r[k] !== undefined) throw new ConfigError(`defineJob: retry.${k} needs mode: 'pyres'`);
  }
  const hashForm = r.retryExceptions !== undefined && r.retryExceptions !== null && typeof r.retryExceptions === 'object' && !Array.isArray(r.retryExceptions);
  if (hashForm && pyres) throw new ConfigError("defineJob: retry.retryExceptions takes a list in mode 'pyres'");
  if (hashForm && (r.delay !== undefined || r.backoff !== undefined))
    throw new ConfigError('defineJob: retry takes the delays of retryExceptions or delay/backoff, not both');
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
  const delays = hashForm ? exceptionDelays(r.retryExceptions) : null;
  let checks: readonly RetryCriteriaCheck[] = [];
  if (r.retryCriteriaCheck !== undefined) {
    const list = Array.isArray(r.retryCriteriaCheck) ? r.retryCriteriaCheck : [r.retryCriteriaCheck];
    for (const c of list)
      if (typeof c !== 'function') throw new ConfigError(`defineJob: retry.retryCriteriaCheck must be a function or an array of functions, got ${typeof c}`);
    checks = Object.freeze([...(list as RetryCriteriaCheck[])]);
  }
  const every = pyres ? (r.every as number) : 0;
  const timeout = pyres ? (r.timeout ?? 0) : 0;
  const defaultLimit = pyres
    ? Math.max(1, Math.ceil(timeout / every))
    : backoff
      ? backoff.length
      : delays
        ? Math.max(1, ...delays.map(([, d]) => (Array.isArray(d) ? d.length : 1)))
        : 1;
  return Object.freeze({
    mode: pyres ? 'pyres' : 'resque',
    limit: r.limit ?? defaultLimit,
    delay: r.delay ?? 0,
    backoff,
    retryExceptions: delays ? Object.freeze(delays.map(([m]) => m)) : r.retryExceptions === undefined ? null : matchers('retryExceptions', r.retryExceptions),
    exceptionDelays: delays,
    fatalExceptions: r.fatalExceptions === undefined ? null : matchers('fatalExceptions', r.fatalExceptions),
    ignoreExceptions: r.ignoreExceptions === undefined ? Object.freeze([]) : matchers('ignoreExceptions', r.ignoreExceptions),
    expireRetryKeyAfter: r.expireRetryKeyAfter ?? null,
    suppressFailures: r.suppressFailures === true,
    retryIdentifier: fn('retryIdentifier', r.retryIdentifier),
    retryQueue: fn('retryQueue', r.retryQueue),
    retryArgs: fn('retryArgs', r.retryArgs),
    retryCriteriaChecks: checks,
    every,
    timeout,
  } satisfies RetryPolicy) as RetryPolicy;
}

/**
 * `retry_delay`: the seconds before the retry that follows `attempt`: the Hash form's delay of
 * the closest matching exception (0 when none matches, an array indexed by the attempt), else
 * the backoff strategy's entry, else retry_delay; truncated. Without an error (the EXPIRE
 * after the INCR), the Hash form's delay is retry_delay's, 0.
 */
export function retryDelayFor(p: RetryPolicy, attempt: number, err?: Error): number {
  if (p.exceptionDelays) {
    if (!err) return Math.trunc(p.delay);
    const d = closestDelay(p.exceptionDelays, err);
    if (d === undefined) return 0;
    return typeof d === 'number' ? Math.trunc(d) : backoffDelay(d, Math.max(0, attempt));
  }
  return p.backoff ? backoffDelay(p.backoff, Math.max(0, attempt)) : Math.trunc(p.delay);
}

/** The error's names from its own class up (recorded name, `name`, then each constructor's name). */
function classChain(err: Error): Array<{ name: string; ctor: unknown }> {
  const out: Array<{ name: string; ctor: unknown }> = [];
  out.push({ name: exceptionNameOf(err), ctor: err.constructor });
  for (const n of RUBY_SUPERCLASSES[exceptionNameOf(err)] ?? []) out.push({ name: n, ctor: null });
  for (let o: object | null = Object.getPrototypeOf(err) as object | null; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    const c = (o as { constructor?: { name?: string } }).constructor;
    if (c) out.push({ name: c.name ?? '', ctor: c });
  }
  return out;
}

function closestDelay(delays: ReadonlyArray<readonly [ExceptionMatcher, ExceptionDelay]>, err: Error): ExceptionDelay | undefined {
  for (const { name, ctor } of classChain(err)) {
    const hit = delays.find(([m]) => (typeof m === 'string' ? m === name : m === ctor));
    if (hit) return hit[1];
  }
  return undefined;
}
/** `retry_limit_reached?`: limit 0 never retries, a negative limit retries forever, else `attempt >= limit`. */
export function retryLimitReached(p: RetryPolicy, attempt: number): boolean {
  if (p.limit === 0) return true;
  if (p.limit < 0) return false;
  return attempt >= p.limit;
}

/**
 * Ruby's DirtyExit family, by recorded name: `Resque::PruneDeadWorkerDirtyExit` is a
 * `Resque::DirtyExit` (a matcher naming the latter matches both, as Ruby's `===`).
 */
const RUBY_SUPERCLASSES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'Resque::PruneDeadWorkerDirtyExit': Object.freeze(['Resque::DirtyExit']),
});

/** Ruby's `ex === exception` (is_a?): a name matches the error's class or a superclass; a class by instanceof. */
function matches(m: ExceptionMatcher, err: Error): boolean {
  if (typeof m === 'string') return err.name === m || classChain(err).some(c => c.name === m);
  try {
    return err instanceof (m as new (...a: never[]) => Error);
  } catch {
    return false;
  }
}

/**
 * `retry_exception?` as resque-retry 1.8 decides it: with neither list every exception; with
 * fatalExceptions given, every exception that is none of them (retryExceptions is then not
 * consulted); else only the retryExceptions.
 */
export function retryableException(p: RetryPolicy, err: Error): boolean {
  if (p.fatalExceptions !== null) return !p.fatalExceptions.some(m => matches(m, err));
  return p.retryExceptions === null || p.retryExceptions.some(m => matches(m, err));
}

/** `ignore_exceptions.include?(exception.class)`: the exact class (or its recorded name), not a subclass. */
export function ignoredException(p: RetryPolicy, err: Error): boolean {
  return p.ignoreExceptions.some(m => (typeof m === 'string' ? exceptionNameOf(err) === m || err.name === m : err.constructor === m));
}

/** `retry_criteria_valid?` for the built-in criteria: a retryable exception and the limit not reached. */
export function shouldRetry(p: RetryPolicy, attempt: number, err: Error): boolean {
  return retryableException(p, err) && !retryLimitReached(p, attempt);
}

/**
 * `retry_criteria_valid?`: false once the limit is reached; true for a retryable exception;
 * else true when a retryCriteriaCheck says so (in order, the first true wins).
 */
export async function retryCriteriaValid(p: RetryPolicy, attempt: number, err: Error, args: unknown[]): Promise<boolean> {
  if (retryLimitReached(p, attempt)) return false;
  if (retryableException(p, err)) return true;
  for (const c of p.retryCriteriaChecks) if (await c(err, ...args)) return true;
  return false;
}
