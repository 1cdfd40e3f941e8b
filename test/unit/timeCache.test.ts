import { formatRunAt, runAtNow } from '../../src/protocol/time';

/** 2026-11-22T22:10:47Z, the instant of the fixtures. */
const EPOCH_MS = 1795385447 * 1000;

describe('runAtNow: run_at formatted once per second', () => {
  test('is formatRunAt of the same instant, at every millisecond of a second and across seconds', () => {
    for (const ms of [0, 1, 499, 999, 1000, 1001, 59_999, 60_000, 3_599_999, 86_399_999, 86_400_000]) {
      expect(runAtNow(EPOCH_MS + ms)).toBe(formatRunAt(new Date(EPOCH_MS + ms)));
    }
  });

  test('returns the cached text within a second and a new one at the next second', () => {
    const a = runAtNow(EPOCH_MS + 10);
    expect(a).toBe('2026-11-22T22:10:47Z');
    expect(runAtNow(EPOCH_MS + 998)).toBe(a);
    expect(runAtNow(EPOCH_MS + 1000)).toBe('2026-11-22T22:10:48Z');
  });

  test('a clock stepped back gets its own second, not the cached later one', () => {
    expect(runAtNow(EPOCH_MS + 5000)).toBe('2026-11-22T22:10:52Z');
    expect(runAtNow(EPOCH_MS)).toBe('2026-11-22T22:10:47Z');
    expect(runAtNow(EPOCH_MS - 1)).toBe('2026-11-22T22:10:46Z');
  });

  test('a year, month and day boundary', () => {
    const ny = Date.UTC(2027, 0, 1, 0, 0, 0);
    expect(runAtNow(ny - 1)).toBe('2026-12-31T23:59:59Z');
    expect(runAtNow(ny)).toBe('2027-01-01T00:00:00Z');
  });

  test('defaults to the current time', () => {
    const before = formatRunAt(new Date());
    const now = runAtNow();
    const after = formatRunAt(new Date());
    expect([before, after]).toContain(now);
  });
});
