/**
 * Delayed jobs against a real redis-server, replayed against resque-scheduler 5's captures
 * (fixtures/plugins): the producer's commands and bytes (s1, under MONITOR), the scheduler's
 * move of Ruby, pyres and node-resque items (x1, x2, x3), poison items (s7), and the master
 * lock's Lua commands, value and TTL (s5).
 */
import Redis from 'ioredis';
import { Client } from '../../src/producer/client';
import { DelayedKeys, encodeDelayedItem } from '../../src/protocol/delayed';
import { POISON_CLASS, poisonBytes } from '../../src/protocol/records';
import { Scheduler, type SchedulerExtension } from '../../src/scheduler/scheduler';
import { openMonitor } from '../support/monitor';
import { type LoggedCommand, loadMonitorLog, phase } from '../support/monitorLog';
import { testDbUrl } from '../support/redisServer';
import { failedPage, renderFailedJob, requeueRecord } from '../support/resqueWeb';
import { type KeyDump, list, loadKeys } from '../unit/fixtureData';

const url = testDbUrl();
const db = Number(url.split('/').pop());
const dk = new DelayedKeys('resque');
let r: Redis;
const open: Array<{ close?: () => Promise<void>; stop?: () => Promise<void> }> = [];

beforeAll(() => {
  r = new Redis(url);
});
afterAll(() => r.disconnect());
beforeEach(async () => {
  await r.flushdb();
});
afterEach(async () => {
  for (const o of open.splice(0)) await (o.stop ?? o.close)!.call(o);
});

function client(): Client {
  const c = new Client({ connection: { url } });
  open.push(c);
  return c;
}
function scheduler(o: ConstructorParameters<typeof Scheduler>[0] = {}): Scheduler {
  const s = new Scheduler({ connection: { url }, interval: 3600, ...o });
  open.push(s);
  return s;
}

/**
 * MONITOR on a connection of its own: the commands of our db. `cmds()` first sends a marker PING
 * and waits for it, so every command executed before is in (MONITOR reports in execution order).
 */
async function monitor(): Promise<{ cmds: () => Promise<LoggedCommand[]>; stop: () => Promise<void> }> {
  const m = await openMonitor(url);
  const seen: LoggedCommand[] = [];
  const marks = new Set<string>();
  let ready = false;
  m.on('monitor', (time: string, args: string[], source: string, database: string) => {
    if (args[0] === 'ping' && String(args[1]).startsWith('monitor-')) {
      marks.add(String(args[1]));
      ready = true;
      return;
    }
    if (Number(database) === db && ready) seen.push({ time: Number(time), source, args: [args[0]!.toLowerCase(), ...args.slice(1)] });
  });
  const mark = async (name: string): Promise<void> => {
    await r.ping(name);
    const deadline = Date.now() + 5000;
    while (!marks.has(name)) {
      if (Date.now() > deadline) throw new Error(`MONITOR did not report ${name}`);
      await new Promise(res => setTimeout(res, 5));
    }
  };
  let n = 0;
  const stop = async (): Promise<void> => {
    m.disconnect();
  };
  open.push({ stop });
  await mark('monitor-ready');
  return {
    cmds: async () => {
      await mark(`monitor-flush-${++n}`);
      return [...seen];
    },
    stop,
  };
}

/** Loads a capture's keys into the test db (lists in order, sets, zsets, strings, hashes). */
async function seed(dump: KeyDump): Promise<void> {
  for (const [k, v] of Object.entries(dump)) {
    if (v.type === 'list') await r.rpush(k, ...(v.value as string[]));
    else if (v.type === 'set') await r.sadd(k, ...(v.value as string[]));
    else if (v.type === 'zset') for (const [m, s] of v.value as Array<[string, number]>) await r.zadd(k, s, m);
    else if (v.type === 'hash') await r.hset(k, v.value as Record<string, string>);
    else await r.set(k, v.value as string);
  }
}

async function dumpDelayed(): Promise<string[]> {
  return (await r.keys('resque:*')).filter(k => /delayed|timestamps:/.test(k)).sort();
}

// ---- the producer ------------------------------------------------------------------------------

describe('enqueueAt and friends write what resque-scheduler writes (s1, MONITOR)', () => {
  const S1 = loadMonitorLog('plugins/s1-delayed-api/monitor.log');
  // The captured seconds are in the past by now: replay them SHIFT seconds later, everything else equal.
  const SHIFT = 400_000_000;
  const shift = (s: string): string => s.replace(/17961\d{5}/g, m => String(Number(m) + SHIFT));
  const T1 = 1796107900 + SHIFT;
  const T2 = T1 + 60;
  const T3 = T1 + 120;
  const data = (cmds: LoggedCommand[]): string[][] => cmds.filter(c => !['time', 'multi', 'exec'].includes(c.args[0]!)).map(c => c.args);

  it('enqueue phase: the same commands and bytes, in order, each delayed write in one MULTI', async () => {
    const c = await client().connect();
    const now = Math.floor(Date.now() / 1000);
    const m = await monitor();
    await c.enqueueAt(new Date(T1 * 1000), 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(new Date(T1 * 1000), 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(T2, 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(new Date((T1 + 0.9) * 1000), 'p9', 'OtherJob', 'x');
    await c.enqueueAt(new Date(T3 * 1000), 'p8', 'MixedJob', 'q8');
    // enqueue_in(7200) from the captured "now": the same second as ours shifted.
    await c.enqueueAt(1796111404 + SHIFT, 'p9', 'OtherJob');
    await c.enqueueAtArgsText(1796111404.5 + SHIFT, 'p7', 'OtherJob', '[1.0,18446744073709551616]');
    const past = await c.enqueueAt(now - 10, 'p10', 'MixedJob', 'past');
    const ours = await m.cmds();
    await m.stop();
    const captured = phase(S1, '1-enqueue_at').map(x => x.args.map(shift));
    expect(data(ours)).toEqual(captured);
    expect(past.enqueuedNow).toBe(true);
    // Each delayed write: TIME, then MULTI RPUSH SADD ZADD EXEC; the past one: TIME, SADD, RPUSH.
    expect(ours.map(x => x.args[0]).slice(0, 6)).toEqual(['time', 'multi', 'rpush', 'sadd', 'zadd', 'exec']);
    expect(ours.map(x => x.args[0]).slice(-3)).toEqual(['time', 'sadd', 'rpush']);
    // The keys as Ruby left them (keys-after-enqueue.json), shifted.
    const after = loadKeys('plugins/s1-delayed-api/keys-after-enqueue.json');
    expect(await r.lrange(dk.list(T1), 0, -1)).toEqual(list(after, 'resque:delayed:1796107900'));
    expect(await r.zrange(dk.schedule, 0, -1, 'WITHSCORES')).toEqual(
      (after['resque:delayed_queue_schedule']!.value as Array<[string, number]>).flatMap(([mm, s]) => [shift(mm), String(s + SHIFT)]),
    );
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(list(after, 'resque:queue:p10'));
  });

  it('reads and removes as Ruby does (return values of driver-output.txt)', async () => {
    const c = await client().connect();
    await c.enqueueAt(T1, 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(T1, 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(T2, 'p10', 'MixedJob', 1, 'two', { three: 3 });
    await c.enqueueAt(T1, 'p9', 'OtherJob', 'x');
    await c.enqueueAt(T3, 'p8', 'MixedJob', 'q8');
    expect(await c.delayedPeek(0, 10)).toEqual([T1, T2, T3]);
    expect(await c.delayedCount()).toBe(5);
    expect(await c.scheduledAt('p10', 'MixedJob', 1, 'two', { three: 3 })).toEqual([T1, T2]);
    expect(await c.scheduledAt('p9', 'OtherJob', 'nope')).toEqual([]);
    const m = await monitor();
    expect(await c.removeDelayed('p10', 'MixedJob', 'q8')).toBe(0);
    expect(await c.removeDelayed('p8', 'MixedJob', 'q8')).toBe(1);
    expect(await c.removeDelayed('p10', 'MixedJob', 1, 'two', { three: 3 })).toBe(3);
    const ours = (await m.cmds()).map(x => x.args);
    await m.stop();
    const captured = phase(loadMonitorLog('plugins/s1-delayed-api/monitor.log'), '3-removes')
      .map(x => x.args.map(shift))
      .slice(0, ours.length);
    // SMEMBERS order is Redis' own: compare per command kind, in order within each.
    const kind = (xs: string[][], k: string): string[][] => xs.filter(x => x[0] === k).sort();
    for (const k of ['smembers', 'lrem', 'srem']) expect(kind(ours, k)).toEqual(kind(captured, k));
    expect(ours.map(x => x[0])).toEqual(['smembers', 'smembers', 'lrem', 'srem', 'smembers', 'lrem', 'srem', 'lrem', 'srem']);
    // Like Ruby, remove_delayed leaves emptied timestamps in the zset for the scheduler.
    expect(await r.zrange(dk.schedule, 0, -1)).toEqual([String(T1), String(T2), String(T3)]);
  });

  it('enqueueIn uses Redis TIME; enqueueDelayedNow pushes each removed copy now', async () => {
    const c = await client().connect();
    const [s] = (await r.time()) as unknown as [string, string];
    const d = await c.enqueueIn(3600, 'p10', 'MixedJob', 'later');
    expect(d.ts - Number(s)).toBeGreaterThanOrEqual(3600);
    expect(d.ts - Number(s)).toBeLessThanOrEqual(3601);
    await c.enqueueIn(7200, 'p10', 'MixedJob', 'later');
    expect(await c.enqueueDelayedNow('p10', 'MixedJob', 'later')).toBe(2);
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(['{"class":"MixedJob","args":["later"]}', '{"class":"MixedJob","args":["later"]}']);
  });
});

// ---- the scheduler's move -----------------------------------------------------------------------

describe('the scheduler moves due items with their bytes', () => {
  it('Ruby, pyres and node-resque items of one timestamp (x1): bytes and extra fields kept, every timestamps: set cleaned', async () => {
    const mixed = loadKeys('plugins/x1-foreign-items-ruby-scheduler/keys-mixed.json');
    await seed(mixed);
    const s = scheduler({ host: 'localhost', pid: 1 });
    await s.init();
    const p = await s.pass();
    expect(p).toMatchObject({ leader: true, moved: 5, poison: 0 });
    const items = list(mixed, 'resque:delayed:1796104537');
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual([items[0], items[1], items[3], items[4]]);
    // pyres' retry item keeps first_attempt (the Ruby scheduler drops it, x1 keys.json).
    expect(await r.lrange('resque:queue:p9', 0, -1)).toEqual([items[2]]);
    expect((await r.smembers('resque:queues')).sort()).toEqual(['p10', 'p9']);
    expect(await dumpDelayed()).toEqual([]);
    expect(await r.get('resque:connection_test_key')).toBe('ok');
  });

  it('x3: Ruby items with UTF-8 and 1.0 keep their bytes; x2: delayed:last_enqueued_at is not a timestamp', async () => {
    const x3 = loadKeys('plugins/x3-ruby-items-pyres-scheduler/keys-before.json');
    const x2 = loadKeys('plugins/x2-ruby-items-node-resque-scheduler/keys-before.json');
    await seed(x3);
    await seed(x2);
    const s = scheduler({ host: 'localhost', pid: 1 });
    await s.init();
    expect(await s.pass()).toMatchObject({ moved: 5, poison: 0 });
    const q10 = await r.lrange('resque:queue:p10', 0, -1);
    expect(q10).toEqual([...list(x2, 'resque:delayed:1796104553').slice(0, 2), list(x3, 'resque:delayed:1796104576')[0]]);
    expect(await r.lrange('resque:queue:p9', 0, -1)).toEqual(['{"class":"OtherJob","args":["ü",1.0],"queue":"p9"}']);
    expect(await r.lrange('resque:queue:p8', 0, -1)).toEqual(['{"class":"MixedJob","args":[1.0],"queue":"p8"}']);
    // Found through the zset only: the hash is untouched.
    expect(await r.hgetall('resque:delayed:last_enqueued_at')).toEqual({ cron_job: '2026-12-01 05:55:52 +0000' });
    expect((await dumpDelayed()).filter(k => k !== 'resque:delayed:last_enqueued_at')).toEqual([]);
  });

  it('poison items (s7) become PoisonItem failure records with their bytes; nothing is lost, the scheduler goes on', async () => {
    const before = loadKeys('plugins/s7-poison-delayed-items/keys-before.json');
    await seed(before);
    const s = scheduler({ host: 'localhost', pid: 1 });
    await s.init();
    expect(await s.pass()).toMatchObject({ leader: true, moved: 4, poison: 3 });
    const texts = await r.lrange('resque:failed', 0, -1);
    // resque-web (the model of its exact expressions) renders the page and can retry each record.
    expect(failedPage(texts)).toEqual({ status: 200 });
    for (const t of texts) {
      expect(renderFailedJob(t)).toMatchObject({ parsed: true, className: POISON_CLASS });
      expect(() => requeueRecord(t)).not.toThrow();
    }
    const recs = texts.map(x => JSON.parse(x) as Record<string, unknown>);
    expect(recs.map(x => poisonBytes(x['payload'])?.toString('utf8'))).toEqual(['null', '{"class":"Nope::Missing","args":[1]}', 'not json']);
    for (const rec of recs) {
      expect((rec['payload'] as { class: string }).class).toBe(POISON_CLASS);
      expect(rec['exception']).toBe('PyresTs::PoisonDelayedItem');
      expect(rec['failed_at']).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
      expect(rec['worker']).toBe('localhost:1:scheduler');
    }
    expect(recs.map(x => x['error'])).toEqual([
      expect.stringContaining('(JSON null)'),
      expect.stringContaining('no queue'),
      expect.stringContaining('(not JSON)'),
    ]);
    // The good item behind the non-JSON one moved (Ruby's scheduler died on it); odd args move as they are.
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual([
      ...list(before, 'resque:delayed:1796105069').slice(2),
      list(before, 'resque:delayed:1796105074')[1],
    ]);
    expect(await r.llen(dk.poisonHolding)).toBe(0);
    expect(await dumpDelayed()).toEqual([]);
  });

  it('an item without queue goes to the queue --class-queue names; batches of N move a long list in order', async () => {
    const items = Array.from({ length: 2503 }, (_, i) => `{"class":"NoQ","args":[${i}]}`);
    await r.rpush(dk.list(1000), ...items);
    await r.zadd(dk.schedule, 1000, '1000');
    await r.zadd(dk.schedule, 999, '999'); // an orphan member (no list), as remove_delayed leaves
    const s = scheduler({ host: 'localhost', pid: 1, batchSize: 1000, classQueues: { NoQ: 'nq' } });
    const moved: number[] = [];
    s.on('moved', (e: { moved: number }) => moved.push(e.moved));
    await s.init();
    expect(await s.pass()).toMatchObject({ moved: 2503, poison: 0 });
    expect(moved).toEqual([0, 1000, 1000, 503]);
    expect(await r.lrange('resque:queue:nq', 0, -1)).toEqual(items);
    expect(await dumpDelayed()).toEqual([]);
  });

  it('"due" is Redis TIME, not the local clock (s6: a scheduler 30 s fast moved a job 18 s early)', async () => {
    const [now] = (await r.time()) as unknown as [string, string];
    const item = encodeDelayedItem('Later', [], 'p1');
    await r.rpush(dk.list(Number(now) + 3600), item);
    await r.zadd(dk.schedule, Number(now) + 3600, String(Number(now) + 3600));
    const s = scheduler({ host: 'localhost', pid: 1 });
    await s.init();
    // This process's clock a day fast: a scheduler that asked it would move the job.
    const real = Date.now;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + 86_400_000);
    try {
      expect(await s.pass()).toMatchObject({ leader: true, moved: 0 });
    } finally {
      spy.mockRestore();
    }
    expect(await r.lrange(dk.list(Number(now) + 3600), 0, -1)).toEqual([item]);
    expect(await r.llen('resque:queue:p1')).toBe(0);
  });

  it('only what is due by Redis TIME moves; extensions tick with Redis TIME while leading and stop on stop()', async () => {
    const [now] = (await r.time()) as unknown as [string, string];
    const c = await client().connect();
    await c.enqueueAt(Number(now) + 3600, 'p1', 'Later');
    await r.rpush(dk.list(Number(now) - 1), encodeDelayedItem('Due', [], 'p1'));
    await r.zadd(dk.schedule, Number(now) - 1, String(Number(now) - 1));
    const ticks: number[] = [];
    let stopped = 0;
    const ext: SchedulerExtension = { name: 'probe', tick: async ms => void ticks.push(ms), stop: async () => void stopped++ };
    const s = scheduler({ host: 'localhost', pid: 1, extensions: [ext] });
    await s.init();
    await s.pass();
    expect(await r.lrange('resque:queue:p1', 0, -1)).toEqual([encodeDelayedItem('Due', [], 'p1')]);
    expect(await c.delayedCount()).toBe(1);
    expect(ticks).toHaveLength(1);
    expect(Math.abs(ticks[0]! - Number(now) * 1000)).toBeLessThan(5000);
    // A follower does not tick.
    const f = scheduler({ host: 'localhost', pid: 2, extensions: [ext] });
    await f.init();
    expect(await f.pass()).toMatchObject({ leader: false });
    expect(ticks).toHaveLength(1);
    await s.stop();
    expect(stopped).toBeGreaterThanOrEqual(1);
  });
});

// ---- the lock --------------------------------------------------------------------------------------

describe("resque-scheduler's master lock (s5)", () => {
  const S5 = loadMonitorLog('plugins/s5-two-schedulers-lock-failover/monitor.log');
  const LOCK = 'resque:resque:resque_scheduler_master_lock';
  /** The Lua commands of one connection's passes, one array per EVALSHA round (acquire [+ locked?]). */
  const luaOf = (cmds: LoggedCommand[]): string[][] => cmds.filter(c => c.source === 'lua' && c.args[1] === LOCK).map(c => c.args.map(a => a.toLowerCase()));

  it("leads with Ruby's exact Lua commands, value host:pid and TTL; a second scheduler follows; stop releases", async () => {
    const m = await monitor();
    const a = scheduler({ host: 'localhost', pid: 24852, lockTimeout: 6 });
    await a.init();
    await a.pass();
    await a.pass();
    expect(await r.get(LOCK)).toBe('localhost:24852');
    expect(await r.ttl(LOCK)).toBe(6);
    const b = scheduler({ host: 'localhost', pid: 24882, lockTimeout: 6 });
    await b.init();
    expect(await b.pass()).toMatchObject({ leader: false });
    const ours = luaOf(await m.cmds());
    // Captured: A's first two passes, then B's first (lowercased; MONITOR prints script commands upper-case).
    const capturedA = luaOf(S5.filter(c => c.source === 'lua' || c.source === '127.0.0.1:60608')).slice(0, 6);
    expect(ours.slice(0, 6)).toEqual(capturedA);
    expect(ours.slice(6)).toEqual([
      ['setnx', LOCK.toLowerCase(), 'localhost:24882'],
      ['get', LOCK.toLowerCase()],
    ]);
    // EVALSHA with Ruby's SHA.
    expect((await m.cmds()).some(c => c.args[0] === 'evalsha' && c.args[1] === '9b31811b0c31d050475bf39c784b024ef9b20d12')).toBe(true);
    await m.stop();
    await b.stop();
    expect(await r.get(LOCK)).toBe('localhost:24852'); // a follower's stop leaves the leader's lock
    await a.stop();
    expect(await r.exists(LOCK)).toBe(0);
  });

  it('a lock held by a Ruby scheduler keeps pyres-ts a follower; it leads once the key expires', async () => {
    await r.set(LOCK, 'localhost:99999', 'EX', 1);
    const s = scheduler({ host: 'localhost', pid: 5 });
    await s.init();
    expect(await s.pass()).toMatchObject({ leader: false });
    expect(await r.get(LOCK)).toBe('localhost:99999');
    await r.pexpire(LOCK, 1);
    while (await r.exists(LOCK)) await new Promise(res => setTimeout(res, 5));
    expect(await s.pass()).toMatchObject({ leader: true });
    expect(await r.ttl(LOCK)).toBe(180);
  });

  it('the prefix form', async () => {
    const s = scheduler({ host: 'h', pid: 7, lockPrefix: 'app1' });
    await s.init();
    await s.pass();
    expect(await r.get('resque:resque:app1:resque_scheduler_master_lock')).toBe('h:7');
  });
});
