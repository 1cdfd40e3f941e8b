/**
 * The retry policy (src/retry/policy.ts): resque-retry 1.8's defaults and decisions
 * (PROTOCOL-plugins.md §3.2), and defineJob's `retry` validation.
 */
import { ConfigError } from '../../src/errors';
import { defineJob } from '../../src/jobs/define';
import { collectJobHooks } from '../../src/jobs/hooks';
import { normalizeRetry, retryDelayFor, retryLimitReached, retryableException, shouldRetry } from '../../src/retry/policy';

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
      fatalExceptions: [],
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

  it('retryExceptions (names or classes, subclasses match) and fatalExceptions (win over retryExceptions)', () => {
    const p = normalizeRetry({ retryExceptions: [IOError], fatalExceptions: ['FatalError'] });
    expect(retryableException(p, new IOError('x'))).toBe(true);
    expect(retryableException(p, new SubIO('x'))).toBe(true);
    expect(retryableException(p, new TypeError('x'))).toBe(false);
    expect(retryableException(p, new FatalError('x'))).toBe(false);
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
