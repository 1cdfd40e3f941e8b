/**
 * The retry policy (src/retry/policy.ts): resque-retry 1.8's defaults and decisions
 * (PROTOCOL-plugins.md §3.2), and defineJob's `retry` validation.
 */
import { ConfigError } from '../../src/errors';
import { defineJob } from '../../src/jobs/define';
import { collectJobHooks } from '../../src/jobs/hooks';
import { retryKey } from '../../src/protocol/retry';
import type { ExceptionMatcher } from '../../src/retry/policy';
import {
  ignoredException,
  normalizeRetry,
  retryCriteriaValid,
  retryDelayFor,
  retryLimitReached,
  retryableException,
  shouldRetry,
} from '../../src/retry/policy';

class IOError extends Error {
  override name = 'IOError';
}
class FatalError extends Error {
  override name = 'FatalError';
}
class SubIO extends IOError {}

describe('normalizeRetry', () => {
  it('applies resque-retry defaults: limit 1, delay 0; with backoff the limit is its length', () => {
    expect(normalizeRetry({})).toMatchObject({
      limit: 1,
      delay: 0,
      backoff: null,
      retryExceptions: null,
      fatalExceptions: null,
      ignoreExceptions: [],
      expireRetryKeyAfter: null,
      suppressFailures: false,
    });
    expect(normalizeRetry({ backoff: [0, 2, 3] })).toMatchObject({ limit: 3, backoff: [0, 2, 3] });
    expect(normalizeRetry({ backoff: [0, 2, 3], limit: 5 }).limit).toBe(5);
  });

  it.each([
    [null, /retry must be an object/],
    [[1], /retry must be an object/],
    [{ delay: -1 }, /retry\.delay must be seconds/],
    [{ delay: 1, backoff: [1] }, /delay or backoff, not both/],
    [{ backoff: [] }, /retry\.backoff must be a non-empty array/],
    [{ backoff: [1, 'x'] }, /retry\.backoff must be/],
    [{ limit: 1.5 }, /retry\.limit must be an integer/],
    [{ expireRetryKeyAfter: 1.5 }, /retry\.expireRetryKeyAfter must be whole seconds/],
    [{ suppressFailures: 'yes' }, /retry\.suppressFailures must be true or false/],
    [{ retryExceptions: 'IOError' }, /retry\.retryExceptions must be an array/],
    [{ fatalExceptions: [3] }, /retry\.fatalExceptions entries must be/],
    [{ retryLimit: 3 }, /retry\.retryLimit is not a retry option/],
  ])('refuses %j naming the field', (bad, re) => {
    expect(() => normalizeRetry(bad)).toThrow(ConfigError);
    expect(() => normalizeRetry(bad)).toThrow(re);
  });
});

describe('decisions', () => {
  it('retry_limit_reached?: 0 never retries, negative retries forever, else attempt >= limit (r1: limit 2 → runs 0, 1, 2)', () => {
    const p = normalizeRetry({ limit: 2 });
    expect([0, 1, 2, 3].map(a => retryLimitReached(p, a))).toEqual([false, false, true, true]);
    expect(retryLimitReached(normalizeRetry({ limit: 0 }), 0)).toBe(true);
    expect(retryLimitReached(normalizeRetry({ limit: -1 }), 10_000)).toBe(false);
  });

  it('delays: fixed, or strategy[attempt] || strategy.last, truncated (r2: 0, 2, 3)', () => {
    expect(retryDelayFor(normalizeRetry({ delay: 2 }), 5)).toBe(2);
    const b = normalizeRetry({ backoff: [0, 2, 3.9] });
    expect([0, 1, 2, 3, 9].map(a => retryDelayFor(b, a))).toEqual([0, 2, 3, 3, 3]);
  });

  it('retryExceptions (names or classes, subclasses match); fatalExceptions, when given, alone decide (retry.rb retry_exception?)', () => {
    const r = normalizeRetry({ retryExceptions: [IOError] });
    expect(retryableException(r, new IOError('x'))).toBe(true);
    expect(retryableException(r, new SubIO('x'))).toBe(true);
    expect(retryableException(r, new TypeError('x'))).toBe(false);
    // resque-retry 1.8: with @fatal_exceptions defined, @retry_exceptions is not consulted.
    const p = normalizeRetry({ retryExceptions: [IOError], fatalExceptions: ['FatalError'] });
    expect(retryableException(p, new IOError('x'))).toBe(true);
    expect(retryableException(p, new TypeError('x'))).toBe(true);
    expect(retryableException(p, new FatalError('x'))).toBe(false);
    // A name matches a subclass too (Ruby's ===), by the prototype chain's names.
    expect(retryableException(normalizeRetry({ retryExceptions: ['IOError'] }), new SubIO('x'))).toBe(true);
    const byName = normalizeRetry({ retryExceptions: ['TypeError'] });
    expect(retryableException(byName, new TypeError('x'))).toBe(true);
    expect(retryableException(byName, new IOError('x'))).toBe(false);
    expect(shouldRetry(normalizeRetry({ fatalExceptions: [FatalError] }), 0, new FatalError('f'))).toBe(false);
    expect(shouldRetry(normalizeRetry({}), 0, new Error('e'))).toBe(true);
    expect(shouldRetry(normalizeRetry({}), 1, new Error('e'))).toBe(false);
  });
});

describe('defineJob({ retry })', () => {
  it('adds the retry hooks (beforePerformRetry, afterPerformRetry, onFailureRetry) and keeps the options', () => {
    const J = defineJob({ retry: { limit: 3, delay: 5 }, perform: (_a: string) => undefined });
    const hooks = collectJobHooks(J);
    expect(hooks.beforePerform).toHaveLength(1);
    expect(hooks.afterPerform).toHaveLength(1);
    expect(hooks.onFailure).toHaveLength(1);
    expect(J.retry).toEqual({ limit: 3, delay: 5 });
    expect(Object.isFrozen(J.retry)).toBe(true);
  });

  it('runs the retry hooks among the job’s own, in name order (as Ruby sorts before_perform_*)', () => {
    const J = defineJob({ retry: {}, beforePerformAudit: function audit() {}, beforePerformZ: function zed() {}, perform: () => undefined });
    const names = collectJobHooks(J).beforePerform.map(f => f.name.replace(/^bound /, ''));
    expect(names).toEqual(['audit', 'beforePerformRetry', 'zed']);
  });

  it('refuses a bad retry option, and a hook of the job that takes the retry hook’s name', () => {
    expect(() => defineJob({ retry: { delay: 'soon' as unknown as number }, perform: () => undefined })).toThrow(/retry\.delay/);
    expect(() => defineJob({ retry: {}, onFailureRetry: () => undefined, perform: () => undefined })).toThrow(/onFailureRetry is the retry option's own hook/);
  });
});

describe('resque-retry 1.8 options beyond the basics (retry.rb)', () => {
  class NetworkError extends Error {
    override name = 'NetworkError';
  }
  class Timeout extends NetworkError {
    override name = 'Timeout';
  }

  it('the Hash form of retryExceptions: per-exception delay or delays per attempt, the closest class wins, 0 for none; limit = longest array', () => {
    const p = normalizeRetry({ retryExceptions: { NetworkError: 30, IOError: [120, 240] } });
    expect(p.limit).toBe(2);
    expect(p.retryExceptions).toEqual(['NetworkError', 'IOError']);
    expect(retryDelayFor(p, 0, new NetworkError('n'))).toBe(30);
    // A subclass takes its closest superclass's delay.
    expect(retryDelayFor(p, 0, new Timeout('t'))).toBe(30);
    expect([0, 1, 2, 7].map(a => retryDelayFor(p, a, new IOError('i')))).toEqual([120, 240, 240, 240]);
    // Not listed: not retried, and its delay is 0; without an error (the EXPIRE): retry_delay, 0.
    expect(retryableException(p, new TypeError('x'))).toBe(false);
    expect(retryDelayFor(p, 0, new TypeError('x'))).toBe(0);
    expect(retryDelayFor(p, 0)).toBe(0);
    // A Map takes classes; the most specific one wins over a superclass listed first.
    const m = normalizeRetry({
      retryExceptions: new Map<ExceptionMatcher, number>([
        [NetworkError, 5],
        [Timeout, 9],
      ]),
    });
    expect(retryDelayFor(m, 0, new Timeout('t'))).toBe(9);
    expect(retryDelayFor(m, 0, new NetworkError('n'))).toBe(5);
    expect(normalizeRetry({ retryExceptions: { A: [1], B: [1, 2, 3] }, limit: 1 }).limit).toBe(1);
  });

  it('ignoreExceptions matches the exact class only (ignore_exceptions.include?(exception.class))', () => {
    const p = normalizeRetry({ retryExceptions: [NetworkError], ignoreExceptions: [NetworkError] });
    expect(ignoredException(p, new NetworkError('n'))).toBe(true);
    expect(ignoredException(p, new Timeout('t'))).toBe(false);
    expect(ignoredException(normalizeRetry({ ignoreExceptions: ['Timeout'] }), new Timeout('t'))).toBe(true);
  });

  it('retry_criteria_valid?: limit first, then the exception, then the checks (the first true wins)', async () => {
    const seen: string[] = [];
    const p = normalizeRetry({
      retryExceptions: ['IOError'],
      limit: 2,
      retryCriteriaCheck: [
        (e: Error, id: number) => (seen.push(`a ${e.message} ${id}`), false),
        (e: Error) => (seen.push(`b ${e.message}`), e.message === 'yes'),
        () => (seen.push('c'), true),
      ],
    });
    expect(await retryCriteriaValid(p, 0, new IOError('io'), [7])).toBe(true);
    expect(seen).toEqual([]); // a retryable exception asks no check
    expect(await retryCriteriaValid(p, 0, new TypeError('yes'), [7])).toBe(true);
    expect(seen).toEqual(['a yes 7', 'b yes']);
    seen.length = 0;
    expect(await retryCriteriaValid(p, 0, new TypeError('no'), [7])).toBe(true);
    expect(seen).toEqual(['a no 7', 'b no', 'c']);
    seen.length = 0;
    expect(await retryCriteriaValid(p, 2, new TypeError('yes'), [7])).toBe(false);
    expect(await retryCriteriaValid(p, 2, new IOError('io'), [7])).toBe(false);
    expect(seen).toEqual([]);
    expect(await retryCriteriaValid(normalizeRetry({ retryExceptions: ['IOError'], retryCriteriaCheck: async () => false }), 0, new TypeError('x'), [])).toBe(
      false,
    );
  });

  it('a name matches Ruby’s DirtyExit family: Resque::PruneDeadWorkerDirtyExit is a Resque::DirtyExit', () => {
    const p = normalizeRetry({ retryExceptions: ['Resque::DirtyExit'] });
    expect(retryableException(p, Object.assign(new Error('x'), { name: 'Resque::PruneDeadWorkerDirtyExit' }))).toBe(true);
    expect(retryableException(p, Object.assign(new Error('x'), { name: 'Resque::DirtyExit' }))).toBe(true);
    expect(retryableException(p, new TypeError('x'))).toBe(false);
  });

  it.each([
    [{ retryExceptions: { A: 1 }, delay: 2 }, /delays of retryExceptions or delay\/backoff/],
    [{ retryExceptions: { A: -1 } }, /retryExceptions\["A"\] must be seconds/],
    [{ retryExceptions: { A: [] } }, /retryExceptions\["A"\] must be seconds/],
    [{ retryExceptions: {} }, /retryExceptions must not be empty/],
    [{ ignoreExceptions: 'A' }, /retry\.ignoreExceptions must be an array/],
    [{ retryIdentifier: 'x' }, /retry\.retryIdentifier must be a function/],
    [{ retryQueue: 1 }, /retry\.retryQueue must be a function/],
    [{ retryArgs: [] }, /retry\.retryArgs must be a function/],
    [{ retryCriteriaCheck: [() => true, 1] }, /retry\.retryCriteriaCheck must be a function or an array/],
    [{ mode: 'python' }, /retry\.mode must be 'resque' or 'pyres'/],
    [{ mode: 'pyres' }, /retry\.every must be seconds > 0/],
    [{ mode: 'pyres', every: 0 }, /retry\.every must be seconds > 0/],
    [{ mode: 'pyres', every: 1, timeout: -1 }, /retry\.timeout must be seconds >= 0/],
    [{ mode: 'pyres', every: 1, delay: 2 }, /retry\.delay is not an option of retry mode 'pyres'/],
    [{ mode: 'pyres', every: 1, suppressFailures: true }, /retry\.suppressFailures is not an option of retry mode 'pyres'/],
    [{ every: 1 }, /retry\.every needs mode: 'pyres'/],
  ])('refuses %j naming the field', (bad, re) => {
    expect(() => normalizeRetry(bad)).toThrow(ConfigError);
    expect(() => normalizeRetry(bad)).toThrow(re);
  });

  it("Pyres mode: every/timeout, and the counter's limit defaults to ceil(timeout / every) (at least 1)", () => {
    expect(normalizeRetry({ mode: 'pyres', every: 4, timeout: 12 })).toMatchObject({ mode: 'pyres', every: 4, timeout: 12, limit: 3 });
    expect(normalizeRetry({ mode: 'pyres', every: 5 })).toMatchObject({ timeout: 0, limit: 1 });
    expect(normalizeRetry({ mode: 'pyres', every: 4, timeout: 13, limit: 9 }).limit).toBe(9);
    const J = defineJob({ retry: { mode: 'pyres', every: 4, timeout: 12 }, perform: () => undefined });
    const hooks = collectJobHooks(J);
    expect([hooks.beforePerform.length, hooks.aroundPerform.length, hooks.afterPerform.length, hooks.onFailure.length]).toEqual([1, 1, 0, 0]);
  });
});

describe('retry keys (retry.rb redis_retry_key)', () => {
  it('args that join to an empty string have no identifier (args_string.empty? → nil); a custom one is the suffix as given', () => {
    expect(retryKey('J', [''])).toBe('resque-retry:J');
    expect(retryKey('J', [null])).toBe('resque-retry:J');
    expect(retryKey('J', ['a'], 'order 7')).toBe('resque-retry:J:order7');
    // compact drops nil only: an empty identifier leaves the trailing ':'.
    expect(retryKey('J', ['a'], '')).toBe('resque-retry:J:');
    expect(retryKey('J', ['a'], null)).toBe('resque-retry:J');
  });
});
