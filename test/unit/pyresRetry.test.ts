/**
 * Pyres' retry_every / retry_timeout codec and decision (src/protocol/pyresRetry.ts), golden
 * against the capture fixtures/pyres/e2-retry-every (Flaky: retry_every 4, retry_timeout 12,
 * TZ UTC): the re-scheduled item's bytes, its timestamp, and the give-up of the second run.
 */
import { encodePyresRetryItem, firstAttemptOf, formatPyresDate, pythonJsonText, pyresRetryDecision } from '../../src/protocol/pyresRetry';
import { loadKeys } from './fixtureData';

// Pyres writes naive local time; the capture ran with TZ=UTC.
const savedTz = process.env['TZ'];
beforeAll(() => {
  process.env['TZ'] = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

describe('Pyres retry_every / retry_timeout (e2)', () => {
  const after1 = loadKeys('pyres/e2-retry-every/keys-after-first-attempt.json');
  const item = (after1['resque:delayed:1795386252']!.value as string[])[0]!;

  it('the first failed run (at 1795386248.9995): re-scheduled at floor(now + 4) with first_attempt = now, byte for byte', () => {
    const d = pyresRetryDecision(new Date(1795386248999.565), undefined, 4, 12);
    expect(d).toEqual({ retry: true, at: 1795386252, firstAttempt: '@D:2026-11-22T22:24:08' });
    if (!d.retry) throw new Error('unreachable');
    expect(encodePyresRetryItem('testjobs.Flaky', 'p9', '["a"]', d.firstAttempt)).toBe(item);
    expect(after1['resque:delayed_queue_schedule']!.value).toEqual([['1795386252', 1795386252]]);
  });

  it('the second run (at 1795386263.01) keeps the payload’s first_attempt: now + 4 >= first_attempt + 12, so it gives up', () => {
    const payload = JSON.parse(item) as Record<string, unknown>;
    expect(pyresRetryDecision(new Date(1795386263009), payload['first_attempt'], 4, 12)).toEqual({ retry: false });
    // Within the window it would go on with the same first_attempt text.
    expect(pyresRetryDecision(new Date(1795386250000), payload['first_attempt'], 4, 12)).toEqual({
      retry: true,
      at: 1795386254,
      firstAttempt: '@D:2026-11-22T22:24:08',
    });
    const final = loadKeys('pyres/e2-retry-every/keys.json');
    const rec = JSON.parse((final['resque:failed']!.value as string[])[0]!) as { payload: unknown };
    expect(rec.payload).toEqual(payload);
  });

  it('retry_at < retry_until is strict; timeout 0 never retries', () => {
    const t0 = new Date(1_800_000_000_000);
    expect(pyresRetryDecision(t0, undefined, 4, 4)).toEqual({ retry: false });
    expect(pyresRetryDecision(t0, undefined, 4, 0)).toEqual({ retry: false });
    expect(pyresRetryDecision(t0, undefined, 4, 4.001).retry).toBe(true);
  });

  it('first_attempt as a Date (a job with pyresDates) or a @D: string; anything else counts as absent', () => {
    const d = new Date(2026, 10, 22, 22, 24, 8);
    expect(firstAttemptOf(d)).toEqual({ text: '@D:2026-11-22T22:24:08', at: d });
    expect(firstAttemptOf('@D:2026-11-22T22:24:08')?.at.getTime()).toBe(d.getTime());
    expect(firstAttemptOf('@D:2026-02-30T00:00:00')).toBeNull();
    expect(firstAttemptOf('2026-11-22')).toBeNull();
    expect(firstAttemptOf(1795386248)).toBeNull();
    expect(formatPyresDate(new Date(2026, 0, 2, 3, 4, 5, 999))).toBe('@D:2026-01-02T03:04:05');
  });

  it('args re-spaced as json.dumps writes them, numbers kept as written, ensure_ascii', () => {
    expect(pythonJsonText('[1,"two",{"k":[1.0,2]},null,true,12345678901234567890]')).toBe('[1, "two", {"k": [1.0, 2]}, null, true, 12345678901234567890]');
    expect(pythonJsonText('[ "é\\u00e9", "a\\/b", "q\\"\\\\", "\\n\\u0001\\u007f", "😀" ]')).toBe(
      '["\\u00e9\\u00e9", "a/b", "q\\"\\\\", "\\n\\u0001\\u007f", "\\ud83d\\ude00"]',
    );
    expect(pythonJsonText('[]')).toBe('[]');
    expect(() => pythonJsonText('[1,')).toThrow();
  });
});
