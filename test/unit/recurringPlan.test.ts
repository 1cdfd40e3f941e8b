/**
 * The pure next-fire calculator (scheduler/recurringPlan.ts): cron with zones across DST
 * changes, 6-field cron, every with first_in / first_at, and the missed-tick rule. Every time is
 * given; nothing reads a clock.
 */
import { type CronInterval, type EveryInterval, splitCron } from '../../src/protocol/schedule';
import { checkCron, cronNext, cronPrev, nextRun, plan } from '../../src/scheduler/recurringPlan';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const cron = (text: string): CronInterval => ({ kind: 'cron', text, ...splitCron(text) });
const every = (periodMs: number, o: Partial<EveryInterval> = {}): EveryInterval => ({
  kind: 'every',
  text: `${periodMs}ms`,
  periodMs,
  firstInMs: null,
  firstAtMs: null,
  ...o,
});
const UTC = 'UTC';

describe('cron', () => {
  it('a zone in the line: 05:00 New York is 10:00Z in winter and 09:00Z after the spring DST change', () => {
    const c = cron('0 5 * * * America/New_York');
    expect(iso(cronNext(c, at('2026-03-07T00:00:00Z'), UTC))).toBe('2026-03-07T10:00:00.000Z');
    expect(iso(cronNext(c, at('2026-03-07T10:00:00Z'), UTC))).toBe('2026-03-08T09:00:00.000Z');
    expect(iso(cronNext(c, at('2026-10-31T12:00:00Z'), UTC))).toBe('2026-11-01T10:00:00.000Z');
    expect(iso(cronPrev(c, at('2026-03-08T09:30:00Z'), UTC))).toBe('2026-03-08T09:00:00.000Z');
  });

  it('a local time that does not exist (02:30 on the spring-forward day) fires once, at 03:30 EDT; one that happens twice fires once', () => {
    const spring = cron('30 2 * * * America/New_York');
    expect(iso(cronNext(spring, at('2026-03-07T12:00:00Z'), UTC))).toBe('2026-03-08T07:30:00.000Z');
    expect(iso(cronNext(spring, at('2026-03-08T07:30:00Z'), UTC))).toBe('2026-03-09T06:30:00.000Z');
    const fall = cron('30 1 * * * America/New_York');
    const first = cronNext(fall, at('2026-10-31T12:00:00Z'), UTC)!;
    expect(iso(first)).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(cronNext(fall, first, UTC))).toBe('2026-11-02T06:30:00.000Z');
  });

  it('a line without a zone runs in the scheduler zone given', () => {
    expect(iso(cronNext(cron('0 5 * * *'), at('2026-12-01T00:00:00Z'), 'Europe/Paris'))).toBe('2026-12-01T04:00:00.000Z');
    expect(iso(cronNext(cron('0 5 * * *'), at('2026-12-01T00:00:00Z'), UTC))).toBe('2026-12-01T05:00:00.000Z');
  });

  it('6 fields = seconds first (s4 "*/1 * * * * *"); prev is at or before the time', () => {
    const c = cron('*/1 * * * * *');
    const t = at('2026-12-01T05:51:30Z');
    expect(cronPrev(c, t, UTC)).toBe(t);
    expect(cronPrev(c, t + 999, UTC)).toBe(t);
    expect(cronNext(c, t, UTC)).toBe(t + 1000);
    expect(cronPrev(cron('* * * * *'), t, UTC)).toBe(at('2026-12-01T05:51:00Z'));
  });

  it('checkCron names a bad line', () => {
    expect(checkCron(cron('0 5 * * *'), UTC)).toBeNull();
    expect(checkCron(cron('61 5 * * *'), UTC)).toMatch(/bad cron "61 5 \* \* \*"/);
    expect(checkCron(cron('a b c d e'), UTC)).toMatch(/bad cron/);
  });

  it('fires when the latest due time is after the last firing, once', () => {
    const c = cron('* * * * *');
    const loadedAtMs = at('2026-12-01T05:50:53Z');
    // before the first minute boundary after loading: nothing
    expect(plan(c, { nowMs: at('2026-12-01T05:50:59Z'), lastRunMs: null, loadedAtMs, defaultTz: UTC }).fire).toBe(false);
    // 05:51:00.3 (s3 fired cron_minute then)
    const p = plan(c, { nowMs: at('2026-12-01T05:51:00.300Z'), lastRunMs: null, loadedAtMs, defaultTz: UTC });
    expect(p).toEqual({ fire: true, dueMs: at('2026-12-01T05:51:00Z'), nextMs: at('2026-12-01T05:52:00Z') });
    // the firing wrote "05:51:00": the next pass in the same minute does not fire again
    expect(plan(c, { nowMs: at('2026-12-01T05:51:01Z'), lastRunMs: at('2026-12-01T05:51:00Z'), loadedAtMs, defaultTz: UTC }).fire).toBe(false);
    // a Ruby scheduler that fired late (wrote 05:51:01) for 05:51:00: not fired again
    expect(plan(c, { nowMs: at('2026-12-01T05:51:30Z'), lastRunMs: at('2026-12-01T05:51:01Z'), loadedAtMs, defaultTz: UTC }).fire).toBe(false);
  });

  it('missed tick after a hand-over: the leader was gone 3 days, a daily line fires once for the latest due time', () => {
    const c = cron('0 5 * * *');
    const nowMs = at('2026-12-04T07:00:00Z');
    const p = plan(c, { nowMs, lastRunMs: at('2026-12-01T05:00:00Z'), loadedAtMs: nowMs, defaultTz: UTC });
    expect(p).toEqual({ fire: true, dueMs: at('2026-12-04T05:00:00Z'), nextMs: at('2026-12-05T05:00:00Z') });
    // after it, last_enqueued_at = now: nothing until tomorrow
    expect(plan(c, { nowMs: nowMs + 5000, lastRunMs: nowMs, loadedAtMs: nowMs, defaultTz: UTC }).fire).toBe(false);
    // a schedule never fired does not fire for a time before it was loaded
    expect(plan(c, { nowMs, lastRunMs: null, loadedAtMs: nowMs, defaultTz: UTC }).fire).toBe(false);
  });
});

describe('every', () => {
  const t0 = at('2026-12-01T05:50:53Z');

  it('first run one period after loading (s3 every_3s), then every period', () => {
    const e = every(3000);
    expect(plan(e, { nowMs: t0 + 2999, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC })).toEqual({ fire: false, dueMs: t0 + 3000, nextMs: t0 + 3000 });
    const p = plan(e, { nowMs: t0 + 3100, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC });
    expect(p).toEqual({ fire: true, dueMs: t0 + 3000, nextMs: t0 + 6000 });
    // while this scheduler's own write is still there, the chain keeps the period exact
    expect(plan(e, { nowMs: t0 + 5900, lastRunMs: t0 + 3000, loadedAtMs: t0, chainNextMs: p.nextMs, defaultTz: UTC }).fire).toBe(false);
    expect(plan(e, { nowMs: t0 + 6050, lastRunMs: t0 + 3000, loadedAtMs: t0, chainNextMs: p.nextMs, defaultTz: UTC }).fire).toBe(true);
  });

  it('first_in overrides the first period (s3 every_hash_args: [4s, {first_in: 1s}])', () => {
    const e = every(4000, { firstInMs: 1000 });
    expect(plan(e, { nowMs: t0 + 999, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC }).fire).toBe(false);
    expect(plan(e, { nowMs: t0 + 1200, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC })).toEqual({ fire: true, dueMs: t0 + 1000, nextMs: t0 + 5000 });
    // first_in counts only for a schedule never fired: after a restart it goes on from last_enqueued_at
    expect(plan(e, { nowMs: t0 + 1200, lastRunMs: t0 - 1000, loadedAtMs: t0, defaultTz: UTC }).fire).toBe(false);
    expect(plan(e, { nowMs: t0 + 3000, lastRunMs: t0 - 1000, loadedAtMs: t0, defaultTz: UTC }).fire).toBe(true);
  });

  it('first_at: in the future it is the first run; in the past it sets the phase', () => {
    const firstAt = t0 + 10_000;
    expect(plan(every(60_000, { firstAtMs: firstAt }), { nowMs: t0 + 9000, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC }).dueMs).toBe(firstAt);
    const past = every(60_000, { firstAtMs: t0 - 150_000 });
    expect(plan(past, { nowMs: t0, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC }).dueMs).toBe(t0 + 30_000);
  });

  it('missed ticks: after 10 missed periods it fires once, and the next is the next boundary after now', () => {
    const e = every(2000);
    const last = at('2026-12-01T05:51:38Z');
    const nowMs = last + 20_500;
    expect(plan(e, { nowMs, lastRunMs: last, loadedAtMs: nowMs, defaultTz: UTC })).toEqual({ fire: true, dueMs: last + 2000, nextMs: last + 22_000 });
  });

  it('due times are whole seconds (last_enqueued_at has no fractions)', () => {
    const p = plan(every(1500), { nowMs: t0 + 1234, lastRunMs: null, loadedAtMs: t0 + 234, defaultTz: UTC });
    expect(p.dueMs! % 1000).toBe(0);
    expect(p.dueMs).toBe(t0 + 2000);
  });

  it('nextRun for the Schedule page', () => {
    expect(nextRun(every(3000), { nowMs: t0, lastRunMs: t0 - 1000, loadedAtMs: t0, defaultTz: UTC })).toBe(t0 + 2000);
    expect(nextRun(every(3000), { nowMs: t0, lastRunMs: t0 - 9000, loadedAtMs: t0, defaultTz: UTC })).toBe(t0);
    expect(nextRun(cron('0 * * * *'), { nowMs: t0, lastRunMs: null, loadedAtMs: t0, defaultTz: UTC })).toBe(at('2026-12-01T06:00:00Z'));
  });
});
