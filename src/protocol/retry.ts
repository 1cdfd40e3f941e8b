import { createHash } from 'node:crypto';
import { rubyJoin } from './rubyText';
import { formatRetriedAtMultiQueue } from './time';

/**
 * resque-retry 1.8 keys and the suppression backend's record (PROTOCOL-plugins.md §3.1), pure.
 * Codec only: no worker wiring yet (a later round). Keys are returned without the namespace.
 */

/**
 * `retry_identifier` by default: SHA1 hex of `args.join('-')` as Ruby joins them (strings raw,
 * integers decimal, floats Ruby-style `2.0`/`1.0e+20`, nil empty, nested arrays joined with `-`,
 * hashes by Ruby ≤ 3.3 `Hash#inspect`). Null for no args (the key then has no `:<identifier>`).
 */
export function retryIdentifier(args: readonly unknown[]): string | null {
  // `args_string.empty? ? nil : SHA1(args_string)`: `[]`, `[""]`, `[nil]` have no identifier.
  const joined = args.length === 0 ? '' : rubyJoin(args, '-');
  return joined === '' ? null : createHash('sha1').update(joined, 'utf8').digest('hex');
}

/**
 * `redis_retry_key`: `resque-retry:<Class>[:<identifier>]` with every whitespace removed
 * (Ruby's `gsub(/\s/, '')`). `identifier` overrides the default (a job's own `retry_identifier`;
 * null drops the suffix, as Ruby's `compact`, while `''` leaves a trailing `:`).
 */
export function retryKey(className: string, args: readonly unknown[], identifier?: string | null): string {
  const id = identifier === undefined ? retryIdentifier(args) : identifier;
  return ['resque-retry', className, id]
    .filter(x => x !== null)
    .join(':')
    .replace(/[ \t\r\n\f\v]/g, '');
}

/** MultipleWithRetrySuppression's key: `failure-` + the retry key. */
export function failureRetryKey(className: string, args: readonly unknown[], identifier?: string | null): string {
  return `failure-${retryKey(className, args, identifier)}`;
}

/** What a suppressed attempt's record holds. */
export interface SuppressedFailure {
  failedAt: Date;
  /** The payload's JSON text (`{"class":…,"args":…}`), embedded as written. */
  payloadJson: string;
  exception: string;
  error: string;
  backtrace: readonly string[];
  worker: string;
  queue: string;
}

/**
 * The `failure-resque-retry:*` value (r1): `{"failed_at","payload","exception","error","backtrace","worker","queue"}`,
 * `failed_at` as `%Y/%m/%d %H:%M:%S` with **no zone** (UTC here).
 */
export function encodeSuppressedFailure(f: SuppressedFailure): string {
  return (
    `{"failed_at":${JSON.stringify(formatRetriedAtMultiQueue(f.failedAt))},"payload":${f.payloadJson},` +
    `"exception":${JSON.stringify(f.exception)},"error":${JSON.stringify(f.error)},"backtrace":${JSON.stringify(f.backtrace)},` +
    `"worker":${JSON.stringify(f.worker)},"queue":${JSON.stringify(f.queue)}}`
  );
}

/** `SETEX` seconds of a suppressed record: twice the retry delay (none when the delay is ≤ 0). */
export function suppressionTtl(retryDelaySeconds: number): number | null {
  return retryDelaySeconds > 0 ? 2 * retryDelaySeconds : null;
}

/**
 * ExponentialBackoff's delay for an attempt: `strategy[attempt] || strategy.last`, times a
 * multiplicand (default 1.0), truncated to an integer.
 */
export function backoffDelay(strategy: readonly number[], attempt: number, multiplicand = 1): number {
  const base = strategy[attempt] ?? strategy[strategy.length - 1] ?? 0;
  return Math.trunc(base * multiplicand);
}

/** resque-retry's default `@backoff_strategy`. */
export const DEFAULT_BACKOFF_STRATEGY: readonly number[] = Object.freeze([0, 60, 600, 3600, 10800, 21600]);
