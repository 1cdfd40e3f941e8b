/**
 * `pyres-ts schedule list|set|remove|load|enqueue-now`, the real bin (built dist) against a real
 * redis-server: the bytes written are resque-scheduler's (s4), every bad flag a one-line error
 * naming it (exit 2), and `recurringFromArgv` refuses a bad --schedule file at start.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import type Redis from 'ioredis';
import { recurringFromArgv } from '../../src/cli/scheduleCommand';
import { silentLogger } from '../../src/logging/logger';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { killAll, runCli } from '../support/spawn';
import { client, closeClients } from '../web/helpers';

const url = testDbUrl();
let r: Redis;
let tmp: string;
const S4 = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'plugins', 's4-dynamic-schedule', 'keys-after-set.json'), 'utf8')) as {
    keys: Record<string, { value: Record<string, string> }>;
  }
).keys['resque:persistent_schedules']!.value;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-schedule-'));
});
beforeEach(async () => {
  await flushTestDb(url);
  r = client(url);
});
afterEach(async () => {
  await closeClients();
  expect(await killAll()).toEqual([]);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['schedule', ...args], { redisUrl: url });

describe('pyres-ts schedule', () => {
  it('set writes what Ruby set_schedule(persist: true) writes (s4) and SADDs schedules_changed', async () => {
    const res = await cli('set', 'dyn_every', '--every', '2s', '--queue', 'p8', '--class', 'MixedJob', '--args', '["d", 1.5]', '--description', 'dynamic');
    expect(res.code).toBe(0);
    expect(await r.hget('resque:persistent_schedules', 'dyn_every')).toBe(S4['dyn_every']);
    expect(await r.smembers('resque:schedules_changed')).toEqual(['dyn_every']);
    expect(res.stdout).toContain('set dyn_every: {"class":"MixedJob","every":"2s","queue":"p8","args":["d",1.5],"description":"dynamic"}');
  });

  it('list shows Ruby-written and broken entries; --json too; enqueue-now pushes {"class","args"}; remove', async () => {
    await r.hset('resque:persistent_schedules', 'dyn_every', S4['dyn_every']!, 'dyn_cron', S4['dyn_cron']!, 'broken', 'not json');
    await r.hset('resque:delayed:last_enqueued_at', 'dyn_every', '2026-12-01 05:51:38 +0000');
    let res = await cli('list');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+INTERVAL\s+CLASS\s+QUEUE\s+ARGS\s+LAST ENQUEUED\s+NEXT$/);
    expect(lines[1]).toMatch(/^broken\s+BROKEN: the config is not JSON/);
    expect(lines[2]).toMatch(/^dyn_cron\s+BROKEN: no "queue"/);
    expect(lines[3]).toMatch(/^dyn_every\s+every: 2s\s+MixedJob\s+p8\s+\["d",1\.5\]\s+2026-12-01 05:51:38 \+0000\s+\d{4}-/);
    res = await cli('list', '--json');
    const j = JSON.parse(res.stdout) as { schedules: Array<{ name: string; problem: string | null; raw: string }> };
    expect(j.schedules.map(s => s.name)).toEqual(['broken', 'dyn_cron', 'dyn_every']);
    expect(j.schedules[0]!.raw).toBe('not json');
    res = await cli('enqueue-now', 'dyn_every');
    expect(res.code).toBe(0);
    expect(await r.lrange('resque:queue:p8', 0, -1)).toEqual(['{"class":"MixedJob","args":["d",1.5]}']);
    expect(await r.smembers('resque:queues')).toEqual(['p8']);
    // Queue now does not touch last_enqueued_at (as resque-web's)
    expect(await r.hget('resque:delayed:last_enqueued_at', 'dyn_every')).toBe('2026-12-01 05:51:38 +0000');
    res = await cli('enqueue-now', 'broken');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot be enqueued');
    res = await cli('remove', 'dyn_every');
    expect(res.code).toBe(0);
    expect(await r.hexists('resque:persistent_schedules', 'dyn_every')).toBe(0);
    expect(await r.smembers('resque:schedules_changed')).toEqual(['dyn_every']);
    res = await cli('remove', 'dyn_every');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no schedule "dyn_every"');
  });

  it('load writes every entry of a schedule.yml, or nothing when one is bad', async () => {
    const good = path.join(tmp, 'good.yml');
    fs.writeFileSync(
      good,
      'a:\n  cron: "0 5 * * * America/New_York"\n  class: A\n  queue: q\n  args: [1, x]\nb:\n  every: [30s, {first_in: 5s}]\n  class: B\n  queue: q\n',
    );
    let res = await cli('load', good);
    expect(res.code).toBe(0);
    expect(await r.hgetall('resque:persistent_schedules')).toEqual({
      a: '{"cron":"0 5 * * * America/New_York","class":"A","queue":"q","args":[1,"x"]}',
      b: '{"every":["30s",{"first_in":"5s"}],"class":"B","queue":"q"}',
    });
    await flushTestDb(url);
    const bad = path.join(tmp, 'bad.yml');
    fs.writeFileSync(
      bad,
      'ok:\n  every: 1h\n  class: A\n  queue: q\nnoqueue:\n  every: 1h\n  class: B\nbadcron:\n  cron: "61 * * * *"\n  class: C\n  queue: q\n',
    );
    res = await cli('load', bad);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('nothing written');
    expect(res.stderr).toContain('schedule "noqueue": no "queue"');
    expect(res.stderr).toContain('schedule "badcron": bad cron');
    expect(await r.exists('resque:persistent_schedules')).toBe(0);
  });

  it('every bad flag is a one-line error naming it, exit 2, nothing written', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['set', 'x', '--every', '1s', '--class', 'C'], /--queue is required/],
      [['set', 'x', '--every', '1s', '--queue', 'q'], /--class is required/],
      [['set', 'x', '--queue', 'q', '--class', 'C'], /exactly one of --cron or --every/],
      [['set', 'x', '--cron', '0 5 * * * Mars/Base', '--queue', 'q', '--class', 'C'], /--cron "0 5 \* \* \* Mars\/Base": unknown time zone/],
      [['set', 'x', '--cron', '61 * * * *', '--queue', 'q', '--class', 'C'], /--cron "61 \* \* \* \*": bad cron/],
      [['set', 'x', '--every', 'often', '--queue', 'q', '--class', 'C'], /--every "often" is not a duration/],
      [['set', 'x', '--every', '1s', '--first-in', 'x', '--queue', 'q', '--class', 'C'], /--first-in "x" is not a duration/],
      [['set', 'x', '--every', '1s', '--queue', 'q', '--class', 'C', '--args', '[oops'], /--args "\[oops" is not JSON/],
      [['set', '--every', '1s', '--queue', 'q', '--class', 'C'], /give the schedule name/],
      [['load', path.join(os.tmpdir(), 'no-such-schedule.yml')], /no such file/],
    ];
    for (const [args, re] of cases) {
      const res = await cli(...args);
      expect({ args, code: res.code }).toEqual({ args, code: 2 });
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(re);
    }
    expect(await r.dbsize()).toBe(0);
  }, 90_000);
});

describe('recurringFromArgv (for pyres-ts scheduler --schedule FILE.yml [--dynamic])', () => {
  const base = { namespace: 'resque', 'log-level': 'info', redis: url };
  it('refuses a schedule file with a queue-less entry, a bad cron or zone, naming the file and the entry', () => {
    const f = path.join(tmp, 's.yml');
    fs.writeFileSync(f, 'nq:\n  every: 1s\n  class: A\n');
    expect(() => recurringFromArgv({ ...base, schedule: f }, silentLogger)).toThrow(`--schedule ${f}: schedule "nq": no "queue"`);
    fs.writeFileSync(f, 'tz:\n  cron: "0 5 * * * Nowhere/City"\n  class: A\n  queue: q\n');
    expect(() => recurringFromArgv({ ...base, schedule: f }, silentLogger)).toThrow(/schedule "tz": unknown time zone/);
    fs.writeFileSync(f, '- not a map\n');
    expect(() => recurringFromArgv({ ...base, schedule: f }, silentLogger)).toThrow(/must be a map/);
  });

  it('builds an extension that fires the file entries and follows schedules_changed with --dynamic', async () => {
    const f = path.join(tmp, 'ok.yml');
    fs.writeFileSync(f, 'each:\n  every: 1s\n  class: A\n  queue: q\n');
    const x = recurringFromArgv({ ...base, schedule: f, dynamic: true }, silentLogger, {});
    try {
      const t = Date.parse('2026-12-01T06:00:00Z');
      await x.tick(t);
      await x.tick(t + 1200);
      expect(await r.lrange('resque:queue:q', 0, -1)).toEqual(['{"class":"A","args":[]}']);
      await r.hset('resque:persistent_schedules', 'dyn', '{"class":"D","every":"1s","queue":"q"}');
      await r.sadd('resque:schedules_changed', 'dyn');
      await x.tick(t + 1500);
      await x.tick(t + 3100); // loaded at +1.5 s: first run one period later, on the whole second
      expect((await r.lrange('resque:queue:q', 0, -1)).sort()).toEqual(['{"class":"A","args":[]}', '{"class":"A","args":[]}', '{"class":"D","args":[]}']);
      expect(x.name).toBe('recurring-schedules');
    } finally {
      await x.close();
    }
  });
});
