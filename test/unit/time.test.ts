// Set before any Date use. jest gives test files a copy of process.env, so this may not reach
// the engine's zone: the in-process formatStarted test computes its expectation from
// getTimezoneOffset, and the per-zone tests run formatStarted in a child process with TZ set.
process.env.TZ = 'UTC';

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { formatFailedAt, formatHeartbeat, formatRetriedAtMultiQueue, formatRunAt, formatStarted, parseResqueTime } from '../../src/protocol/time';
import { hash, list, loadKeys, readFixtureJson, str } from './fixtureData';

/** 2026-11-22T22:10:47Z: the b-worker-success job (procline "Forked 7659 at 1795385447"). */
const EPOCH = 1795385447;
const AT = new Date(EPOCH * 1000);
const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0): number => Date.UTC(y, mo - 1, d, h, mi, s, ms);

describe('formats (Ruby Resque 3.0 bytes)', () => {
  test('the fixed instant is the one in the fixtures', () => {
    expect(AT.getTime()).toBe(utc(2026, 11, 22, 22, 10, 47));
  });

  test('run_at: Time.now.utc.iso8601', () => {
    expect(formatRunAt(AT)).toBe('2026-11-22T22:10:47Z');
  });

  test('failed_at: strftime("%Y/%m/%d %H:%M:%S %Z") in UTC', () => {
    expect(formatFailedAt(new Date(utc(2026, 11, 22, 22, 11, 32)))).toBe('2026/11/22 22:11:32 UTC');
  });

  test('heartbeat: Redis TIME seconds as iso8601 with +00:00', () => {
    expect(formatHeartbeat(EPOCH)).toBe('2026-11-22T22:10:47+00:00');
  });

  test('no fractional seconds: milliseconds are truncated, never rounded up', () => {
    const late = new Date(AT.getTime() + 999);
    expect(formatRunAt(late)).toBe('2026-11-22T22:10:47Z');
    expect(formatFailedAt(late)).toBe('2026/11/22 22:10:47 UTC');
    expect(formatHeartbeat(EPOCH + 0.999)).toBe('2026-11-22T22:10:47+00:00');
  });

  test('every field is zero-padded', () => {
    const d = new Date(utc(2026, 1, 2, 3, 4, 5));
    expect(formatRunAt(d)).toBe('2026-01-02T03:04:05Z');
    expect(formatFailedAt(d)).toBe('2026/01/02 03:04:05 UTC');
    expect(formatHeartbeat(d.getTime() / 1000)).toBe('2026-01-02T03:04:05+00:00');
  });

  test('started: Time#to_s in the local zone (expected built from getTimezoneOffset)', () => {
    const off = -AT.getTimezoneOffset();
    const local = new Date(AT.getTime() + off * 60_000);
    const sign = off < 0 ? '-' : '+';
    const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
    const expected = `${local.toISOString().slice(0, 10)} ${local.toISOString().slice(11, 19)} ${sign}${hhmm}`;
    expect(formatStarted(AT)).toBe(expected);
    if (off === 0) expect(formatStarted(AT)).toBe('2026-11-22 22:10:47 +0000');
  });
});

describe('formatStarted under real zones (child process with TZ set)', () => {
  // time.ts imports nothing, so its transpiled text runs on its own in a plain `node -e`.
  const js = ts.transpileModule(readFileSync(join(__dirname, '../../src/protocol/time.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const startedIn = (tz: string, ms: number): string =>
    execFileSync(
      process.execPath,
      [
        '-e',
        `const module={exports:{}};(function(module,exports){${js}\n})(module,module.exports);process.stdout.write(module.exports.formatStarted(new Date(${ms})));`,
      ],
      { env: { ...process.env, TZ: tz }, encoding: 'utf8' },
    );

  test.each([
    ['UTC', '2026-11-22 22:10:47 +0000'],
    ['Europe/Paris', '2026-11-22 23:10:47 +0100'],
    ['America/New_York', '2026-11-22 17:10:47 -0500'],
    ['Asia/Kolkata', '2026-11-23 03:40:47 +0530'],
    ['America/St_Johns', '2026-11-22 18:40:47 -0330'],
  ])('%s', (tz, expected) => {
    expect(startedIn(tz, AT.getTime())).toBe(expected);
  });
});

describe('parseResqueTime reads every format in the captures', () => {
  const instant = utc(2026, 11, 22, 22, 10, 47);

  test("Ruby's four formats (b-worker-success, c-failing-job)", () => {
    const during = loadKeys('resque-ruby/b-worker-success/keys-during-job.json');
    const id = 'vm:7652:p10,p9';
    const runAt = (JSON.parse(str(during, `resque:worker:${id}`)) as { run_at: string }).run_at;
    expect(runAt).toBe('2026-11-22T22:10:47Z');
    expect(parseResqueTime(runAt)?.getTime()).toBe(instant);
    expect(parseResqueTime(str(during, `resque:worker:${id}:started`))?.getTime()).toBe(instant);
    expect(parseResqueTime(hash(during, 'resque:workers:heartbeat')[id])?.getTime()).toBe(instant);
    const failed = JSON.parse(list(loadKeys('resque-ruby/c-failing-job/keys.json'), 'resque:failed')[0]!) as { failed_at: string };
    expect(failed.failed_at).toBe('2026/11/22 22:11:32 UTC');
    expect(parseResqueTime(failed.failed_at)?.getTime()).toBe(utc(2026, 11, 22, 22, 11, 32));
  });

  test('Ruby values format back to the same bytes (parse then format)', () => {
    const runAts: string[] = [];
    const heartbeats: string[] = [];
    const failedAts: string[] = [];
    const starteds: string[] = [];
    for (const rel of [
      'resque-ruby/b-worker-success/keys-during-job.json',
      'resque-ruby/c3-dirty-exit-usr1-term/keys-after-usr1.json',
      'resque-ruby/c3-dirty-exit-usr1-term/keys.json',
      'resque-ruby/c7-json-null-and-array-payloads/keys.json',
      'resque-ruby/d-prune-dead-workers/keys-before.json',
      'resque-ruby/d-prune-dead-workers/keys.json',
      'resque-ruby/c-failing-job/keys.json',
      'resque-ruby/c2-unknown-class/keys.json',
    ]) {
      const dump = loadKeys(rel);
      for (const [key, e] of Object.entries(dump)) {
        if (key === 'resque:workers:heartbeat') heartbeats.push(...Object.values(e.value as Record<string, string>));
        else if (key.endsWith(':started')) starteds.push(e.value as string);
        else if (key.startsWith('resque:worker:')) runAts.push((JSON.parse(e.value as string) as { run_at: string }).run_at);
        else if (key === 'resque:failed') failedAts.push(...(e.value as string[]).map(v => (JSON.parse(v) as { failed_at: string }).failed_at));
      }
    }
    expect(runAts.length).toBeGreaterThanOrEqual(5);
    expect(heartbeats.length).toBeGreaterThanOrEqual(5);
    expect(failedAts.length).toBeGreaterThanOrEqual(5);
    expect(starteds.length).toBeGreaterThanOrEqual(5);
    for (const v of runAts) expect(formatRunAt(parseResqueTime(v)!)).toBe(v);
    for (const v of heartbeats) expect(formatHeartbeat(parseResqueTime(v)!.getTime() / 1000)).toBe(v);
    for (const v of failedAts) expect(formatFailedAt(parseResqueTime(v)!)).toBe(v);
    // the captures were taken with TZ=UTC, so Time#to_s wrote +0000
    for (const v of starteds) expect(v).toMatch(/ \+0000$/);
    for (const v of starteds) expect(parseResqueTime(v)!.toISOString().replace('T', ' ').replace('.000Z', ' +0000')).toBe(v);
  });

  test('d3-unparseable-heartbeat: an epoch string and a JS toISOString() value', () => {
    const hb = hash(loadKeys('resque-ruby/d3-unparseable-heartbeat/keys.json'), 'resque:workers:heartbeat');
    expect(hb['tshost:4242:p10']).toBe('1795385541');
    expect(parseResqueTime(hb['tshost:4242:p10'])?.getTime()).toBe(1795385541_000);
    expect(hb['jshost:4343:p10']).toBe('2026-11-22T22:12:33.123Z');
    expect(parseResqueTime(hb['jshost:4343:p10'])?.getTime()).toBe(utc(2026, 11, 22, 22, 12, 33, 123));
  });

  test("the dumper's captured_at_redis_time (microseconds, Z)", () => {
    const at = (readFixtureJson('resque-ruby/a-enqueue/keys.json') as { captured_at_redis_time: string }).captured_at_redis_time;
    expect(at).toBe('2026-11-22T22:10:34.584358Z');
    expect(parseResqueTime(at)?.getTime()).toBe(utc(2026, 11, 22, 22, 10, 34, 584));
  });

  test('retried_at: Ruby redis backend (UTC) and redis_multi_queue backend (no zone, c5)', () => {
    const requeued = list(loadKeys('resque-ruby/e2-failure-ops/keys-after-requeue-0.json'), 'resque:failed');
    const withRetry = requeued.map(v => JSON.parse(v) as { retried_at?: string }).find(r => r.retried_at);
    expect(withRetry?.retried_at).toBe('2026/11/22 22:13:03 UTC');
    expect(parseResqueTime(withRetry!.retried_at)?.getTime()).toBe(utc(2026, 11, 22, 22, 13, 3));
    const mq = JSON.parse(list(loadKeys('resque-ruby/c5-failure-backend-redis-multi-queue/keys.json'), 'resque:p10_failed')[0]!) as { retried_at: string };
    expect(mq.retried_at).toBe('2026/11/22 22:14:53');
    expect(parseResqueTime(mq.retried_at)?.getTime()).toBe(utc(2026, 11, 22, 22, 14, 53));
    expect(formatRetriedAtMultiQueue(new Date(utc(2026, 11, 22, 22, 14, 53)))).toBe(mq.retried_at);
  });

  test('pyres worker: started and run_at are epoch-second strings (b2)', () => {
    const dump = loadKeys('pyres/b2-worker-default-lpop-backoff/keys-during-job.json');
    const started = str(dump, 'resque:worker:vm:10689:p10,p9:started');
    expect(started).toBe('1795385730');
    expect(parseResqueTime(started)?.getTime()).toBe(1795385730_000);
    const rec = JSON.parse(str(dump, 'resque:worker:vm:10689:p10,p9')) as { run_at: unknown };
    expect(rec.run_at).toBe('1795385768');
    expect(parseResqueTime(rec.run_at)?.getTime()).toBe(1795385768_000);
  });

  test('pyres minion: run_at is an epoch-second integer (b3)', () => {
    const dump = loadKeys('pyres/b3-manager-nonblocking-minion-backoff/keys-during-job.json');
    const rec = JSON.parse(str(dump, 'resque:minion:vm:11258:p10,p9')) as { run_at: unknown };
    expect(rec.run_at).toBe(1795385840);
    expect(parseResqueTime(rec.run_at)?.getTime()).toBe(1795385840_000);
  });

  test('pyres failed_at has no zone and is read as UTC (c1)', () => {
    const failed = JSON.parse(list(loadKeys('pyres/c1-failure-forking-worker/keys.json'), 'resque:failed')[0]!) as { failed_at: string };
    expect(failed.failed_at).toBe('2026/11/22 22:19:28');
    expect(parseResqueTime(failed.failed_at)?.getTime()).toBe(utc(2026, 11, 22, 22, 19, 28));
  });

  test('upstream pyres enqueue_timestamp: a float epoch number', () => {
    const raw = list(loadKeys('pyres/a-enqueue-upstream/keys.json'), 'resque:queue:p10')[0]!;
    const ts = (JSON.parse(raw) as { enqueue_timestamp: number }).enqueue_timestamp;
    expect(ts).toBe(1795385578.523513);
    expect(parseResqueTime(ts)?.getTime()).toBe(1795385578_523);
  });

  test('numeric offsets other than UTC (a Ruby worker on a CET or EST machine)', () => {
    expect(parseResqueTime('2026-11-22 23:10:47 +0100')?.getTime()).toBe(instant);
    expect(parseResqueTime('2026-11-22 17:10:47 -0500')?.getTime()).toBe(instant);
    expect(parseResqueTime('2026-11-23T03:40:47+05:30')?.getTime()).toBe(instant);
    expect(parseResqueTime('2026-11-22T18:40:47-03:30')?.getTime()).toBe(instant);
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
    ['empty string', ''],
    ['words', 'yesterday'],
    ['a date without a time', '2026-11-22'],
    ['an object', {}],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a boolean', true],
    ['pyres first_attempt marker', '@D:2026-11-22T22:24:08'],
  ])('null for %s', (_name, v) => {
    expect(parseResqueTime(v)).toBeNull();
  });

  test('null for out-of-range fields (Ruby Time.parse raises "argument out of range")', () => {
    expect(parseResqueTime('2026-13-01T00:00:00Z')).toBeNull();
    expect(parseResqueTime('2026-11-22T25:00:00Z')).toBeNull();
    expect(parseResqueTime('2026-11-22T22:61:00Z')).toBeNull();
  });
});

describe('parseResqueTime: zones and other writers (issue 10 item 12)', () => {
  const at = utc(2026, 12, 1, 10, 0, 0);

  test.each([
    // node-resque writes run_at with Date#toString, in the writer's local zone
    ['Tue Dec 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)'],
    ['Tue Dec 01 2026 17:00:00 GMT+0700 (Western Indonesia Time)'],
    ['Tue Dec 01 2026 07:00:00 GMT-0300 (Brasilia Standard Time)'],
    ['Tue Dec 01 2026 15:30:00 GMT+0530 (India Standard Time)'],
    ['Tue Dec 01 2026 10:00:00 GMT+0000'],
    // RFC 2822: Ruby 2.x failed_at, Date#toUTCString
    ['Tue, 01 Dec 2026 10:00:00 +0000'],
    ['Tue, 01 Dec 2026 10:00:00 GMT'],
    ['Tue, 01 Dec 2026 21:00:00 +1100'],
    ['1 Dec 2026 05:00:00 EST'],
  ])('JS Date#toString and RFC 2822: %s', v => {
    expect(parseResqueTime(v)?.getTime()).toBe(at);
  });

  test.each([
    // Ruby `%Z` on zones tzdata names with letters
    ['2026/12/01 17:00:00 WIB', at],
    ['2026/12/01 18:00:00 WITA', at],
    ['2026/12/01 19:00:00 WIT', at],
    ['2026/12/01 20:30:00 ACDT', at],
    ['2026/12/01 19:30:00 ACST', at],
    ['2026/12/01 21:00:00 AEDT', at],
    ['2026/12/01 23:00:00 NZDT', at],
    ['2026/12/01 12:00:00 SAST', at],
    ['2026/12/01 13:00:00 EAT', at],
    ['2026/12/01 11:00:00 WAT', at],
    ['2026/12/01 15:00:00 PKT', at],
    ['2026/12/01 15:30:00 IST', at],
    ['2026/12/01 06:30:00 NST', at],
    ['2026/12/01 06:00:00 AST', at],
    ['2026/12/01 05:00:00 EST', at],
    ['2026/12/01 00:00:00 HST', at],
    ['2026/12/01 20:00:00 ChST', at],
    // zones tzdata writes numerically (America/Sao_Paulo, Asia/Kathmandu, Asia/Dubai)
    ['2026/12/01 07:00:00 -03', at],
    ['2026/12/01 15:45:00 +0545', at],
    ['2026/12/01 14:00:00 +04', at],
    ['2026-12-01 15:30:00 +0530', at],
    ['2026-12-01T15:30:00+05:30', at],
    ['2026-12-01 07:00:00 -03:00', at],
  ])('%s', (v, expected) => {
    expect(parseResqueTime(v)?.getTime()).toBe(expected);
  });

  test('an unknown zone abbreviation is an unknown time, not UTC', () => {
    expect(parseResqueTime('2026/12/01 10:00:00 XYZT')).toBeNull();
    expect(parseResqueTime('2026/12/01 10:00:00 QQ')).toBeNull();
    expect(parseResqueTime('Tue, 01 Dec 2026 10:00:00 XYZ')).toBeNull();
  });

  test('null for malformed offsets and month names', () => {
    expect(parseResqueTime('2026/12/01 10:00:00 +25')).toBeNull();
    expect(parseResqueTime('2026/12/01 10:00:00 +0575')).toBeNull();
    expect(parseResqueTime('Tue Foo 01 2026 10:00:00 GMT+0000 (x)')).toBeNull();
  });
});
