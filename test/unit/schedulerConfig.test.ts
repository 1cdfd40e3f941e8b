/** The scheduler's settings (config/scheduler.ts): flags, Ruby's environment variables, one-line errors. */
import { parseAtTime, parseInSeconds, resolveSchedulerConfig } from '../../src/config/scheduler';

describe('resolveSchedulerConfig', () => {
  it("defaults to Ruby's values, reads Ruby's environment variables, flags win", () => {
    expect(resolveSchedulerConfig({}, {})).toEqual({ interval: 5, lockTimeout: 180, lockPrefix: '', batchSize: 1000, classQueues: {} });
    const env = { RESQUE_SCHEDULER_INTERVAL: '1.5', LOCK_TIMEOUT: '6', RESQUE_SCHEDULER_MASTER_LOCK_PREFIX: 'app1', DELAYED_REQUEUE_BATCH_SIZE: '100' };
    expect(resolveSchedulerConfig({}, env)).toMatchObject({ interval: 1.5, lockTimeout: 6, lockPrefix: 'app1', batchSize: 100 });
    expect(resolveSchedulerConfig({ interval: 2, lockTimeout: 10, classQueue: ['MixedJob=p10', 'A::B=q'] }, env)).toMatchObject({
      interval: 2,
      lockTimeout: 10,
      classQueues: { MixedJob: 'p10', 'A::B': 'q' },
    });
  });
  it.each([
    [{ interval: 0 }, /^--interval must be more than 0/],
    [{ interval: Number.NaN }, /^--interval must be a number/],
    [{ lockTimeout: 2.5 }, /^--lock-timeout must be a whole number/],
    [{ lockTimeout: 5, interval: 5 }, /^--lock-timeout \(5 s\) must be longer than --interval/],
    [{ batchSize: 0 }, /^--batch-size must be a whole number/],
    [{ lockPrefix: 'a b' }, /^--lock-prefix must not contain spaces/],
    [{ classQueue: ['NoQueue'] }, /^--class-queue must be Class=queue/],
    [{ classQueue: ['A=q:x'] }, /^--class-queue must be Class=queue/],
  ])('%j is refused in one line naming the flag', (input, re) => {
    expect(() => resolveSchedulerConfig(input, {})).toThrow(re);
  });
  it('names the flag of a bad environment variable too', () => {
    expect(() => resolveSchedulerConfig({}, { LOCK_TIMEOUT: 'soon' })).toThrow(/^--lock-timeout \(from the environment\) must be a number/);
  });
});

describe('--at and --in', () => {
  it('takes ISO 8601 with a zone, or epoch seconds', () => {
    expect(parseAtTime('2030-01-01T09:00:00Z')).toEqual(new Date(Date.UTC(2030, 0, 1, 9)));
    expect(parseAtTime('2030-01-01 10:00:00+01:00')).toEqual(new Date(Date.UTC(2030, 0, 1, 9)));
    expect(parseAtTime('1896104537')).toBe(1896104537);
    expect(parseInSeconds('30')).toBe(30);
    expect(parseInSeconds(0.5)).toBe(0.5);
  });
  it.each(['tomorrow', '2030-01-01T09:00:00', '2030-13-01T00:00:00Z', ''])('refuses --at %j', s => {
    expect(() => parseAtTime(s)).toThrow(/^--at (must be an ISO 8601 time|is not a valid time)/);
  });
  it.each(['-1', 'x', true])('refuses --in %j', v => {
    expect(() => parseInSeconds(v)).toThrow(/^--in must be a number of seconds/);
  });
});
