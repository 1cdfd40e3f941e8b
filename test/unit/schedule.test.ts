/**
 * Golden tests of protocol/schedule.ts against the resque-scheduler 5 captures: s3 (static
 * schedule: cron, every, args shapes, foreign class, no queue), s4 (dynamic set_schedule bytes),
 * w1 (the Schedule tab's configs and "Queue now" bytes), w2 (hostile configs).
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScheduleYaml } from '../../src/scheduler/recurring';
import { ResqueKeys } from '../../src/protocol/keys';
import {
  decodeScheduleEntry,
  encodeConfigObject,
  encodeScheduleConfig,
  envMatches,
  intervalText,
  parseDuration,
  queueingMessage,
  scheduleKeys,
  scheduledJobPayload,
  splitCron,
} from '../../src/protocol/schedule';
import { formatStarted, parseResqueTime } from '../../src/protocol/time';
import { FIXTURES, loadKeys, readFixtureJson } from './fixtureData';

const S3 = loadKeys('plugins/s3-schedule-cron-every/keys.json');
const S4 = loadKeys('plugins/s4-dynamic-schedule/keys-after-set.json');
const S4_END = loadKeys('plugins/s4-dynamic-schedule/keys.json');
const W1 = loadKeys('plugins/w1-resque-web-plugin-tabs/keys.json');

/** The s3 README's YAML, as the scheduler loaded it. */
function s3Yaml(): Record<string, unknown> {
  const readme = readFileSync(join(FIXTURES, 'plugins/s3-schedule-cron-every/README.md'), 'utf8');
  const m = /```yaml\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('no yaml block in the s3 README');
  return parseScheduleYaml(m[1]!);
}

const listOf = (dump: typeof S3, key: string): string[] => dump[key]!.value as string[];

describe('schedule configs (s3: the static schedule.yml)', () => {
  const yaml = s3Yaml();
  const e = (name: string) => decodeScheduleEntry(name, yaml[name]);

  it('reads every entry of the capture', () => {
    expect(Object.keys(yaml)).toEqual(['every_3s', 'cron_minute', 'every_hash_args', 'MixedJob', 'foreign_class', 'foreign_class_no_queue', 'env_skipped']);
  });

  it('the payload each firing pushed, byte for byte (args as array, string, hash, missing)', () => {
    expect(listOf(S3, 'resque:queue:p8')).toContain(scheduledJobPayload(e('every_3s')));
    expect(scheduledJobPayload(e('every_3s'))).toBe('{"class":"MixedJob","args":["e1",2]}');
    expect(listOf(S3, 'resque:queue:p9')).toContain(scheduledJobPayload(e('cron_minute')));
    expect(scheduledJobPayload(e('cron_minute'))).toBe('{"class":"OtherJob","args":["cron-string-arg"]}');
    expect(scheduledJobPayload(e('every_hash_args'))).toBe('{"class":"MixedJob","args":[{"k":"v"}]}');
    expect(listOf(S3, 'resque:queue:p10')).toContain(scheduledJobPayload(e('every_hash_args')));
    // no class: the name is the class; no args: []
    expect(e('MixedJob').className).toBe('MixedJob');
    expect(scheduledJobPayload(e('MixedJob'))).toBe('{"class":"MixedJob","args":[]}');
    expect(listOf(S3, 'resque:queue:p10')).toContain(scheduledJobPayload(e('MixedJob')));
    expect(scheduledJobPayload(e('foreign_class'))).toBe('{"class":"pyres_jobs.Archive","args":[1,2]}');
    expect(listOf(S3, 'resque:queue:p9')).toContain(scheduledJobPayload(e('foreign_class')));
  });

  it('intervals: every 3s, cron 5 fields, every [4s, {first_in: 1s}]', () => {
    expect(e('every_3s').interval).toEqual({ kind: 'every', text: '3s', periodMs: 3000, firstInMs: null, firstAtMs: null });
    expect(e('cron_minute').interval).toEqual({ kind: 'cron', text: '* * * * *', expr: '* * * * *', tz: null });
    expect(e('every_hash_args').interval).toEqual({ kind: 'every', text: '4s', periodMs: 4000, firstInMs: 1000, firstAtMs: null });
    expect(e('every_hash_args').intervalText).toBe('every: 4s (first in 1s)');
    expect(e('every_3s').description).toBe('every 3 seconds to p8');
  });

  it('a config without queue is a problem (Ruby takes the class @queue, which pyres-ts cannot know); with one it is fine', () => {
    expect(e('every_3s').problem).toBeNull();
    expect(e('foreign_class').problem).toBeNull();
    for (const n of ['cron_minute', 'every_hash_args', 'MixedJob', 'foreign_class_no_queue']) expect(e(n).problem).toMatch(/no "queue"/);
  });

  it('rails_env: the entry runs only in the environments it names', () => {
    expect(e('env_skipped').env).toBe('production');
    expect(envMatches('production', 'development')).toBe(false);
    expect(envMatches('production', null)).toBe(false);
    expect(envMatches('staging, production', 'production')).toBe(true);
    expect(envMatches(null, 'development')).toBe(true);
  });

  it('queueing log line as resque-scheduler', () => {
    expect(queueingMessage(e('every_3s'))).toBe('queueing MixedJob (every_3s)');
  });
});

describe('persistent_schedules (s4, w1: set_schedule with persist)', () => {
  const hash = S4['resque:persistent_schedules']!.value as Record<string, string>;

  it('pyres-ts writes the bytes Ruby wrote: {"class","every","queue","args","description"}', () => {
    expect(encodeScheduleConfig({ className: 'MixedJob', every: '2s', queue: 'p8', argsText: '["d", 1.5]', description: 'dynamic' })).toBe(hash['dyn_every']);
  });

  it('first_in and cron forms; queue always written', () => {
    expect(encodeScheduleConfig({ className: 'MixedJob', every: '30s', firstIn: '5s', queue: 'p8', argsText: '["d"]' })).toBe(
      '{"class":"MixedJob","every":["30s",{"first_in":"5s"}],"queue":"p8","args":["d"]}',
    );
    expect(encodeScheduleConfig({ className: 'OtherJob', cron: '0 * * * *', queue: 'p9', argsText: '{"k":"v"}' })).toBe(
      '{"class":"OtherJob","cron":"0 * * * *","queue":"p9","args":{"k":"v"}}',
    );
    expect(() => encodeScheduleConfig({ className: 'X', queue: '', every: '1s' })).toThrow(/queue/);
    expect(() => encodeScheduleConfig({ className: 'X', queue: 'q' })).toThrow(/exactly one of cron or every/);
    expect(() => encodeScheduleConfig({ className: 'X', queue: 'q', every: 'soon' })).toThrow(/not a duration/);
    expect(() => encodeScheduleConfig({ className: 'X', queue: 'q', cron: '1 2 3' })).toThrow(/3 fields/);
    expect(() => encodeScheduleConfig({ className: 'X', queue: 'q', every: '1s', argsText: '[oops' })).toThrow(/args is not JSON/);
  });

  it('reads Ruby-written configs: the payloads match what the scheduler pushed, numbers as written', () => {
    const every = decodeScheduleEntry('dyn_every', null, hash['dyn_every']!);
    expect(every.source).toBe('persistent');
    expect(scheduledJobPayload(every)).toBe('{"class":"MixedJob","args":["d",1.5]}');
    expect(listOf(S4_END, 'resque:queue:p8')).toContain(scheduledJobPayload(every));
    const cron = decodeScheduleEntry('dyn_cron', null, hash['dyn_cron']!);
    expect(cron.interval).toEqual({ kind: 'cron', text: '*/1 * * * * *', expr: '*/1 * * * * *', tz: null });
    expect(scheduledJobPayload(cron)).toBe('{"class":"OtherJob","args":["six-field cron"]}');
    expect(listOf(S4_END, 'resque:queue:p9')).toContain(scheduledJobPayload(cron));
    // dyn_cron has no queue (OtherJob's @queue was used by Ruby): broken for pyres-ts, said so
    expect(cron.problem).toMatch(/no "queue"/);
    const raw = '{"class":"X","every":"1s","queue":"q","args":[1.0,9007199254740993]}';
    expect(scheduledJobPayload(decodeScheduleEntry('n', null, raw))).toBe('{"class":"X","args":[1.0,9007199254740993]}');
  });

  it('w1: the Schedule tab interval texts and the "Queue now" bytes', () => {
    const w = W1['resque:persistent_schedules']!.value as Record<string, string>;
    const dyn = decodeScheduleEntry('dyn_every', null, w['dyn_every']!);
    expect(dyn.intervalText).toBe('every: 30s (first in 5s)');
    expect(dyn.interval).toMatchObject({ periodMs: 30_000, firstInMs: 5000 });
    const monitor = readFileSync(join(FIXTURES, 'plugins/w1-resque-web-plugin-tabs/pages/schedule.monitor.log'), 'utf8');
    expect(monitor).toContain('"hget" "resque:delayed:last_enqueued_at" "dyn_every"');
    expect(scheduledJobPayload(dyn)).toBe('{"class":"MixedJob","args":["d"]}');
    expect(decodeScheduleEntry('cron_other', null, w['cron_other']!).intervalText).toBe('cron: 0 * * * *');
    // the same texts resque-web rendered (w1 pages/schedule.html)
    const page = readFileSync(join(FIXTURES, 'plugins/w1-resque-web-plugin-tabs/pages/schedule.html'), 'utf8');
    for (const name of ['dyn_every', 'cron_other', 'foreign']) expect(page).toContain(decodeScheduleEntry(name, null, w[name]!).intervalText);
    const foreign = decodeScheduleEntry('foreign', null, w['foreign']!);
    expect(foreign).toMatchObject({ className: 'pyres_jobs.Archive', queue: 'p9', argsText: '[]', problem: null });
    expect(foreign.interval).toMatchObject({ periodMs: 3_600_000 });
  });

  it('the keys under the namespace', () => {
    expect(scheduleKeys(new ResqueKeys('resque'))).toEqual({
      persistent: 'resque:persistent_schedules',
      changed: 'resque:schedules_changed',
      lastEnqueuedAt: 'resque:delayed:last_enqueued_at',
    });
  });

  it('a schedule.yml entry re-encoded for persistent_schedules keeps its keys; no queue is refused', () => {
    expect(encodeConfigObject('a', { class: 'A', every: '1h', queue: 'q', args: [1] })).toBe('{"class":"A","every":"1h","queue":"q","args":[1]}');
    expect(() => encodeConfigObject('b', { class: 'B', every: '1h' })).toThrow(/schedule "b": no "queue"/);
    expect(() => encodeConfigObject('c', { class: 'C', cron: '0 5 * * * Mars/Base', queue: 'q' })).toThrow(/unknown time zone "Mars\/Base"/);
  });
});

describe('delayed:last_enqueued_at (s3, s4)', () => {
  it("is Ruby's Time#to_s, and pyres-ts writes it the same way", () => {
    const h = S3['resque:delayed:last_enqueued_at']!.value as Record<string, string>;
    expect(h['every_3s']).toBe('2026-12-01 05:51:08 +0000');
    const t = parseResqueTime(h['every_3s']!);
    expect(t?.toISOString()).toBe('2026-12-01T05:51:08.000Z');
    expect(formatStarted(t!)).toBe(h['every_3s']);
    for (const v of Object.values(S4_END['resque:delayed:last_enqueued_at']!.value as Record<string, string>))
      expect(formatStarted(parseResqueTime(v)!)).toBe(v);
  });
});

describe('hostile configs (w2 C0-C7)', () => {
  const variants = readFixtureJson('plugins/w2-resque-web-plugin-tolerance/results.json') as Array<{
    variant: string;
    seed: Record<string, Record<string, string>>;
  }>;
  const config = (id: string): string => variants.find(v => v.variant.startsWith(id))!.seed['resque:persistent_schedules']!['sched1']!;

  it('C0 Ruby shape: fine', () => {
    expect(decodeScheduleEntry('sched1', null, config('C0')).problem).toBeNull();
  });
  it('C1 not JSON: a broken entry, not a throw', () => {
    const e = decodeScheduleEntry('sched1', null, config('C1'));
    expect(e.problem).toMatch(/not JSON/);
    expect(e.className).toBeNull();
  });
  it('C2 no queue: a problem; C3 with queue: fine', () => {
    expect(decodeScheduleEntry('sched1', null, config('C2')).problem).toMatch(/no "queue"/);
    expect(decodeScheduleEntry('sched1', null, config('C3')).problem).toBeNull();
  });
  it('C4 no cron/every: not scheduled, not broken', () => {
    const e = decodeScheduleEntry('sched1', null, config('C4'));
    expect(e).toMatchObject({ interval: null, problem: null, intervalText: 'Not currently scheduled' });
  });
  it('C5 every as a number of seconds; C6 no class (the name is the class)', () => {
    expect(decodeScheduleEntry('sched1', null, config('C5')).interval).toMatchObject({ periodMs: 30_000 });
    expect(decodeScheduleEntry('sched1', null, config('C6')).className).toBe('sched1');
  });
  it('C7 last_enqueued_at as an epoch string reads as a time', () => {
    const v = variants.find(x => x.variant.startsWith('C7'))!.seed['resque:delayed:last_enqueued_at']!['sched1']!;
    expect(parseResqueTime(v)?.getTime()).toBe(1796104645_000);
  });
  it('other shapes: arrays, null, class not a string, custom_job_class, bad every, bad first_in', () => {
    expect(decodeScheduleEntry('x', null, '[1]').problem).toMatch(/not a JSON object/);
    expect(decodeScheduleEntry('x', null, 'null').problem).toMatch(/not a JSON object/);
    expect(decodeScheduleEntry('x', null, '{"class":5,"every":"1s","queue":"q"}').problem).toMatch(/"class"/);
    expect(decodeScheduleEntry('x', null, '{"class":"A","every":"1s","queue":"q","custom_job_class":"B"}').problem).toMatch(/custom_job_class/);
    expect(decodeScheduleEntry('x', null, '{"class":"A","every":"1s","queue":"q","custom_job_class":"Resque::Job"}').problem).toBeNull();
    expect(decodeScheduleEntry('x', null, '{"class":"A","every":"often","queue":"q"}').problem).toMatch(/not a duration/);
    expect(decodeScheduleEntry('x', null, '{"class":"A","every":["1s",{"first_in":"x"}],"queue":"q"}').problem).toMatch(/first_in/);
    expect(decodeScheduleEntry('x', null, '{"class":"A","cron":"0 5 * * * Nowhere/City","queue":"q"}').problem).toMatch(/unknown time zone/);
  });
});

describe('rufus durations and fugit cron lines', () => {
  it('parseDuration', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration(30)).toBe(30_000);
    for (const bad of ['', 'soon', '0s', '-1s', '1x', null, {}, 0]) expect(parseDuration(bad)).toBeNull();
  });

  it('splitCron: fields, 6 fields with seconds, a trailing zone, specials', () => {
    expect(splitCron('0 5 * * * America/New_York')).toEqual({ expr: '0 5 * * *', tz: 'America/New_York' });
    expect(splitCron('*/1 * * * * *')).toEqual({ expr: '*/1 * * * * *', tz: null });
    expect(splitCron('0 0 5 * * * Europe/Paris')).toEqual({ expr: '0 0 5 * * *', tz: 'Europe/Paris' });
    expect(splitCron('0 5 * * * UTC')).toEqual({ expr: '0 5 * * *', tz: 'UTC' });
    expect(splitCron('0 5 * * MON-FRI')).toEqual({ expr: '0 5 * * MON-FRI', tz: null });
    expect(splitCron('0 0 5 * * MON')).toEqual({ expr: '0 0 5 * * MON', tz: null });
    expect(splitCron('@hourly')).toEqual({ expr: '@hourly', tz: null });
    expect(() => splitCron('0 5 * * * Mars/Base')).toThrow(/unknown time zone "Mars\/Base"/);
    expect(() => splitCron('1 2 3')).toThrow(/3 fields/);
  });

  it('intervalText of odd values', () => {
    expect(intervalText({ every: 30 })).toBe('every: 30');
    expect(intervalText({ cron: ['0 * * * *', {}] })).toBe('cron: 0 * * * *');
  });
});
