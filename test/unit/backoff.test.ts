import { backoffDelay, sleep } from '../../src/worker/backoff';

describe('backoffDelay (Pinterest README schedule)', () => {
  test('min 1, max 8: 1, 2, 4, 8, 8, 8', () => {
    expect([1, 2, 3, 4, 5, 6].map(n => backoffDelay(n, 1, 8))).toEqual([1, 2, 4, 8, 8, 8]);
  });

  test("min 2, max 8: the fork's real 2, 4, 8, 8", () => {
    expect([1, 2, 3, 4].map(n => backoffDelay(n, 2, 8))).toEqual([2, 4, 8, 8]);
  });

  test('no empty pass yet (n < 1) is no delay', () => {
    expect(backoffDelay(0, 1, 8)).toBe(0);
    expect(backoffDelay(-1, 1, 8)).toBe(0);
  });

  test('a long idle run stays at max (no overflow)', () => {
    expect(backoffDelay(1000, 1, 8)).toBe(8);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, 0.5, 30)).toBe(30);
  });

  test('fractional bounds', () => {
    expect([1, 2, 3, 4].map(n => backoffDelay(n, 0.25, 1))).toEqual([0.25, 0.5, 1, 1]);
  });
});

describe('sleep', () => {
  test('resolves true after the delay', async () => {
    await expect(sleep(5)).resolves.toBe(true);
  });

  test('resolves false at once when already aborted or aborted meanwhile', async () => {
    const pre = new AbortController();
    pre.abort();
    await expect(sleep(60_000, pre.signal)).resolves.toBe(false);
    const mid = new AbortController();
    const p = sleep(60_000, mid.signal);
    mid.abort();
    await expect(p).resolves.toBe(false);
  });
});
