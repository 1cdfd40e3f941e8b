/**
 * Recurring schedules against a real redis-server. The scheduler process and its lock belong to
 * the scheduler loop (another part); here a test-only driver calls the extension's tick() with
 * Redis TIME (or with given times, to cross minutes and days without waiting), as that loop does
 * while it leads.
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Logger } from '../../src/logging/logger';
import { RecurringSchedules, type RecurringOptions } from '../../src/scheduler/recurring';
import { ScheduleStore } from '../../src/store/scheduleStore';
import { openMonitor } from '../support/monitor';
import { type RedisServerHandle, startRedis, testDbUrl } from '../support/redisServer';
import { type Resources, STARTED_RE, registry, useResources, waitFor } from './helpers';

const url = testDbUrl();
let res: Resources;
let r: Redis;
useResources(url, (x, y) => ((res = x), (r = y)));

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'plugins');
const S4 = (JSON.parse(readFileSync(join(FIXTURES, 's4-dynamic-schedule', 'keys-after-set.json'), 'utf8')) as { keys: Record<string, { value: unknown }> })
  .keys;
const S4_DYN_EVERY = (S4['resque:persistent_schedules']!.value as Record<string, string>)['dyn_every']!;
const at = (iso: string): number => Date.parse(iso);

/** A logger that keeps its lines. */
function memLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const l = {
    lines,
    debug: (m: string) => void lines.push(`debug ${m}`),
    info: (m: string) => void lines.push(`info ${m}`),
    warn: (m: string) => void lines.push(`warn ${m}`),
    error: (m: string) => void lines.push(`error ${m}`),
    child: () => l,
  };
  return l;
}

function newStore(u = url): ScheduleStore {
  const s = new ScheduleStore({ connection: { url: u }, namespace: 'resque' });
  res.onClose(() => s.close());
  return s;
}

type Recurring = RecurringSchedules & { memlog: ReturnType<typeof memLogger> };

function recurring(o: Partial<RecurringOptions> & { store?: ScheduleStore } = {}): Recurring {
  const memlog = memLogger();
  return Object.assign(new RecurringSchedules({ store: o.store ?? newStore(), logger: memlog, defaultTz: 'UTC', ...o }), { memlog });
}

/** The test driver: tick with Redis TIME until `done`, as the scheduler loop does (every 50 ms here). */
async function driveUntil(x: RecurringSchedules, store: ScheduleStore, done: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  await waitFor(
    async () => {
      await x.tick(await store.timeMs());
      return done();
    },
    what,
    timeoutMs,
    50,
  );
}

describe('firing', () => {
  it('every: pushes {"class","args"} with SADD queues, RPUSH and last_enqueued_at, one period apart (Redis TIME)', async () => {
    const store = newStore();
    const x = recurring({ store, staticSchedule: { every_1s: { every: '1s', class: 'MixedJob', queue: 'p8', args: ['e1', 2], description: 'every second' } } });
    const t0 = await store.timeMs();
    await driveUntil(x, store, async () => (await r.llen('resque:queue:p8')) >= 2, 'two firings');
    expect(await r.lrange('resque:queue:p8', 0, -1)).toEqual(['{"class":"MixedJob","args":["e1",2]}', '{"class":"MixedJob","args":["e1",2]}']);
    expect(await r.smembers('resque:queues')).toEqual(['p8']);
    const last = await r.hget('resque:delayed:last_enqueued_at', 'every_1s');
    expect(last).toMatch(STARTED_RE);
    expect(last).toMatch(/\+0000$/);
    // the first firing is one period after loading, not at once
    expect(Date.parse(last!.replace(' ', 'T').replace(' +0000', 'Z'))).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + 1000);
    expect(x.memlog.lines.filter(l => l === 'info queueing MixedJob (every_1s)').length).toBeGreaterThanOrEqual(2);
  });

  it('cron, 6 fields with seconds (fugit accepts "* * * * * *", s4 used "*/1 * * * * *"), on Redis TIME', async () => {
    const store = newStore();
    const x = recurring({ store, staticSchedule: { each_second: { cron: '* * * * * *', class: 'OtherJob', queue: 'p9', args: 'six-field cron' } } });
    await driveUntil(x, store, async () => (await r.llen('resque:queue:p9')) >= 2, 'two cron firings');
    const items = await r.lrange('resque:queue:p9', 0, -1);
    expect(new Set(items)).toEqual(new Set(['{"class":"OtherJob","args":["six-field cron"]}']));
    const last = (await r.hget('resque:delayed:last_enqueued_at', 'each_second'))!;
    expect(last).toMatch(STARTED_RE);
  });

  it('cron with a zone, driven by given times: fires at 05:00 New York (10:00Z), writes Ruby Time#to_s of that pass', async () => {
    const x = recurring({ staticSchedule: { ny: { cron: '0 5 * * * America/New_York', class: 'Daily', queue: 'p1' } } });
    await x.tick(at('2026-12-01T09:59:58Z'));
    await x.tick(at('2026-12-01T09:59:59.900Z'));
    expect(await r.llen('resque:queue:p1')).toBe(0);
    await x.tick(at('2026-12-01T10:00:00.400Z'));
    expect(await r.lrange('resque:queue:p1', 0, -1)).toEqual(['{"class":"Daily","args":[]}']);
    expect(await r.hget('resque:delayed:last_enqueued_at', 'ny')).toBe('2026-12-01 10:00:00 +0000');
    await x.tick(at('2026-12-01T10:00:01Z'));
    await x.tick(at('2026-12-02T09:59:59Z'));
    expect(await r.llen('resque:queue:p1')).toBe(1);
    await x.tick(at('2026-12-02T10:00:02Z'));
    expect(await r.llen('resque:queue:p1')).toBe(2);
    expect(await r.hget('resque:delayed:last_enqueued_at', 'ny')).toBe('2026-12-02 10:00:02 +0000');
  });

  it('the commands of a firing, in the order resque-scheduler sends them (s3): SADD queues, RPUSH, HSET last_enqueued_at', async () => {
    let srv: RedisServerHandle | undefined;
    try {
      srv = await startRedis();
      const mon = res.redis(srv.url);
      const seen: string[] = [];
      const monitor = await openMonitor(mon);
      monitor.on('monitor', (_t: string, args: string[]) => seen.push(args.join(' ')));
      const store = newStore(srv.url);
      const x = recurring({ store, staticSchedule: { every_3s: { every: '3s', class: 'MixedJob', queue: 'p8', args: ['e1', 2] } } });
      await x.tick(at('2026-12-01T05:50:53Z'));
      await x.tick(at('2026-12-01T05:50:56.300Z'));
      await waitFor(() => seen.some(l => l.startsWith('HSET')), 'the HSET in MONITOR');
      const writes = seen.filter(l => /^(SADD|RPUSH|HSET)/.test(l));
      expect(writes).toEqual([
        'SADD resque:queues p8',
        'RPUSH resque:queue:p8 {"class":"MixedJob","args":["e1",2]}',
        'HSET resque:delayed:last_enqueued_at every_3s 2026-12-01 05:50:56 +0000',
      ]);
      monitor.disconnect();
    } finally {
      await res.closeAll();
      await srv?.stop();
    }
  });
});

describe('end to end', () => {
  it('a Ruby-written schedule (s4 bytes) fired by the extension is worked by a pyres-ts worker, args as written', async () => {
    await r.hset('resque:persistent_schedules', 'dyn_every', S4_DYN_EVERY);
    const calls: unknown[][] = [];
    const w = res.worker({ queues: 'p8', jobs: registry({ MixedJob: (...a: unknown[]) => void calls.push(a) }) });
    await w.start();
    const store = newStore();
    const x = recurring({ store, dynamic: true });
    await driveUntil(x, store, async () => calls.length >= 1, 'the worker to run the fired job', 10_000);
    expect(calls[0]).toEqual(['d', 1.5]);
    expect(Number(await r.get('resque:stat:processed'))).toBeGreaterThanOrEqual(1);
  });
});

describe('dynamic schedules', () => {
  it('a Ruby set_schedule (s4 bytes, written raw: HSET + SADD schedules_changed) is picked up via schedules_changed', async () => {
    const x = recurring({ dynamic: true });
    let t = at('2026-12-01T05:51:24Z');
    await x.tick(t);
    expect(x.schedules()).toEqual([]);
    await r.hset('resque:persistent_schedules', 'dyn_every', S4_DYN_EVERY);
    await r.sadd('resque:schedules_changed', 'dyn_every');
    await x.tick((t += 500));
    expect(await r.scard('resque:schedules_changed')).toBe(0);
    expect(x.schedules().map(s => s.entry.name)).toEqual(['dyn_every']);
    for (let i = 0; i < 9; i++) await x.tick((t += 500)); // 5 s: every 2s fires at +2 and +4
    expect(await r.lrange('resque:queue:p8', 0, -1)).toEqual(['{"class":"MixedJob","args":["d",1.5]}', '{"class":"MixedJob","args":["d",1.5]}']);
  });

  it('a dynamic scheduler clears schedules_changed at load, and loads persistent_schedules', async () => {
    await r.hset('resque:persistent_schedules', 'dyn_every', S4_DYN_EVERY);
    await r.sadd('resque:schedules_changed', 'dyn_every', 'other');
    const x = recurring({ dynamic: true });
    await x.tick(at('2026-12-01T05:51:24Z'));
    expect(await r.exists('resque:schedules_changed')).toBe(0);
    expect(x.schedules().map(s => s.entry.name)).toEqual(['dyn_every']);
  });

  it('remove_schedule (HDEL + SADD schedules_changed) stops it; a control schedule keeps firing meanwhile', async () => {
    const store = newStore();
    await store.setSchedules([
      ['gone', '{"class":"Gone","every":"1s","queue":"q"}'],
      ['control', '{"class":"Control","every":"1s","queue":"q"}'],
    ]);
    const x = recurring({ store, dynamic: true });
    let t = at('2026-12-01T06:00:00Z');
    for (let i = 0; i < 5; i++) await x.tick((t += 500));
    const before = await r.lrange('resque:queue:q', 0, -1);
    expect(before.filter(p => p.includes('Gone')).length).toBeGreaterThan(0);
    // as Ruby's remove_schedule (w1 DELETE /schedule): HDEL, SADD
    await r.hdel('resque:persistent_schedules', 'gone');
    await r.sadd('resque:schedules_changed', 'gone');
    const gone = before.filter(p => p.includes('Gone')).length;
    const control = before.filter(p => p.includes('Control')).length;
    for (let i = 0; i < 8; i++) await x.tick((t += 500));
    const after = await r.lrange('resque:queue:q', 0, -1);
    expect(after.filter(p => p.includes('Control')).length).toBeGreaterThanOrEqual(control + 3);
    expect(after.filter(p => p.includes('Gone')).length).toBe(gone);
    expect(x.memlog.lines).toContain('info Removing schedule gone');
  });

  it("a name in schedules_changed that is not in persistent_schedules (Ruby's set_schedule without persist) is unscheduled; a static one stays", async () => {
    await r.hset('resque:persistent_schedules', 'p', '{"class":"P","every":"1h","queue":"q"}');
    const x = recurring({ dynamic: true, staticSchedule: { s: { class: 'S', every: '1h', queue: 'q' } } });
    await x.tick(at('2026-12-01T06:00:00Z'));
    await r.sadd('resque:schedules_changed', 'p', 's');
    await r.hdel('resque:persistent_schedules', 'p');
    await x.tick(at('2026-12-01T06:00:01Z'));
    expect(x.schedules().map(s => s.entry.name)).toEqual(['s']);
  });

  it('without --dynamic, schedules_changed is left alone (as Ruby without DYNAMIC_SCHEDULE)', async () => {
    const x = recurring();
    await x.tick(at('2026-12-01T06:00:00Z'));
    await r.hset('resque:persistent_schedules', 'late', '{"class":"L","every":"1s","queue":"q"}');
    await r.sadd('resque:schedules_changed', 'late');
    await x.tick(at('2026-12-01T06:00:05Z'));
    expect(await r.smembers('resque:schedules_changed')).toEqual(['late']);
    expect(x.schedules()).toEqual([]);
  });
});

describe('leader changes: a missed tick fires at most once', () => {
  it('every: A fires, loses the lock; B takes over 20 s later (10 periods missed) and fires once, then on the period', async () => {
    const config = '{"class":"Every2","every":"2s","queue":"q"}';
    await r.hset('resque:persistent_schedules', 'e2', config);
    const a = recurring();
    const t = at('2026-12-01T06:00:00Z');
    await a.tick(t);
    await a.tick(t + 2100);
    expect(await r.llen('resque:queue:q')).toBe(1);
    expect(await r.hget('resque:delayed:last_enqueued_at', 'e2')).toBe('2026-12-01 06:00:02 +0000');
    await a.stop(); // lost the lock
    const b = recurring();
    await b.tick(t + 22_500);
    expect(await r.llen('resque:queue:q')).toBe(2);
    await b.tick(t + 22_600);
    await b.tick(t + 23_900);
    expect(await r.llen('resque:queue:q')).toBe(2);
    await b.tick(t + 24_600);
    expect(await r.llen('resque:queue:q')).toBe(3);
  });

  it('cron: a daily schedule missed for 3 days fires once when a new leader starts', async () => {
    await r.hset('resque:persistent_schedules', 'daily', '{"class":"Daily","cron":"0 5 * * *","queue":"q"}');
    // the last firing, written by a Ruby scheduler
    await r.hset('resque:delayed:last_enqueued_at', 'daily', '2026-12-01 05:00:00 +0000');
    const b = recurring();
    await b.tick(at('2026-12-04T07:00:00Z'));
    await b.tick(at('2026-12-04T07:00:01Z'));
    await b.tick(at('2026-12-04T12:00:00Z'));
    expect(await r.llen('resque:queue:q')).toBe(1);
    expect(await r.hget('resque:delayed:last_enqueued_at', 'daily')).toBe('2026-12-04 07:00:00 +0000');
  });

  it('a due time already recorded by the other leader is not fired again', async () => {
    await r.hset('resque:persistent_schedules', 'hourly', '{"class":"H","cron":"0 * * * *","queue":"q"}');
    await r.hset('resque:delayed:last_enqueued_at', 'hourly', '2026-12-01 06:00:01 +0000');
    const b = recurring();
    await b.tick(at('2026-12-01T06:30:00Z'));
    expect(await r.llen('resque:queue:q')).toBe(0);
  });

  it('two instances ticking the same pass (one has not noticed it lost the lock): exactly one fires', async () => {
    await r.hset('resque:persistent_schedules', 'e1', '{"class":"E","every":"1s","queue":"q"}');
    const a = recurring();
    const b = recurring();
    const t = at('2026-12-01T06:00:00Z');
    await Promise.all([a.tick(t), b.tick(t)]);
    for (let i = 1; i <= 5; i++) await Promise.all([a.tick(t + i * 1000 + 100), b.tick(t + i * 1000 + 100)]);
    expect(await r.llen('resque:queue:q')).toBe(5);
  });
});

describe('hostile entries', () => {
  it('not JSON, bad cron, unknown zone, no queue: each logged once and skipped; the good one fires; tick never throws', async () => {
    await r.hset(
      'resque:persistent_schedules',
      'not_json',
      'not json',
      'bad_cron',
      '{"class":"A","cron":"61 * * * *","queue":"q"}',
      'bad_tz',
      '{"class":"A","cron":"0 5 * * * Mars/Base","queue":"q"}',
      'no_queue',
      '{"class":"pyres_jobs.Archive","every":"1s"}',
      'good',
      '{"class":"Good","every":"1s","queue":"q"}',
    );
    await r.hset('resque:delayed:last_enqueued_at', 'good', 'garbage');
    const x = recurring();
    let t = at('2026-12-01T06:00:00Z');
    for (let i = 0; i < 8; i++) await x.tick((t += 500));
    expect(new Set(await r.lrange('resque:queue:q', 0, -1))).toEqual(new Set(['{"class":"Good","args":[]}']));
    expect(await r.llen('resque:queue:q')).toBeGreaterThanOrEqual(3);
    const warns = x.memlog.lines.filter(l => l.startsWith('warn'));
    for (const name of ['not_json', 'bad_cron', 'bad_tz', 'no_queue']) expect(warns.filter(l => l.startsWith(`warn schedule ${name} skipped:`)).length).toBe(1);
    expect(warns.find(l => l.includes('bad_tz'))).toContain('unknown time zone "Mars/Base"');
    expect(warns.find(l => l.includes('no_queue'))).toContain('no "queue"');
    expect(warns.filter(l => l.includes('"garbage" is not a time')).length).toBe(1);
    expect(await r.hexists('resque:delayed:last_enqueued_at', 'not_json')).toBe(0);
  });

  it('schedules named constructor and __proto__ fire like any other', async () => {
    await r.hset('resque:persistent_schedules', 'constructor', '{"class":"C","every":"1s","queue":"q"}', '__proto__', '{"class":"P","every":"1s","queue":"q"}');
    const x = recurring();
    const t = at('2026-12-01T06:00:00Z');
    await x.tick(t);
    await x.tick(t + 1100);
    expect((await r.lrange('resque:queue:q', 0, -1)).sort()).toEqual(['{"class":"C","args":[]}', '{"class":"P","args":[]}']);
    await x.tick(t + 2100);
    expect(await r.llen('resque:queue:q')).toBe(4);
  });

  it('a Redis error in a pass is logged, not thrown, and the next pass works', async () => {
    await r.hset('resque:persistent_schedules', 'good', '{"class":"Good","every":"1s","queue":"q"}');
    // last_enqueued_at of the wrong type makes HGETALL fail (WRONGTYPE)
    await r.set('resque:delayed:last_enqueued_at', 'x');
    const x = recurring();
    await expect(x.tick(at('2026-12-01T06:00:00Z'))).resolves.toBeUndefined();
    await x.tick(at('2026-12-01T06:00:01.500Z'));
    expect(x.memlog.lines.filter(l => l.includes('WRONGTYPE')).length).toBe(1);
    await r.del('resque:delayed:last_enqueued_at');
    await x.tick(at('2026-12-01T06:00:02Z'));
    expect(await r.llen('resque:queue:q')).toBe(1);
  });
});
