/**
 * The library API (issue 13): every Client method against a real redis-server, on data Ruby
 * Resque wrote (fixtures/resque-ruby: e2-failure-ops for Resque::Failure::Redis, c5 for
 * RedisMultiQueue), and a Client over a caller's ioredis instance, which close() leaves open.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Admin, AdminActionError, Client, ConfigError, createWebApp, enqueue, enqueueArgsText, parseDsnList, startWebServer } from '../../src';
import { ResqueKeys } from '../../src/protocol/keys';
import { testDbUrl } from '../support/redisServer';
import { closeRedis, registry, type Resources, useResources, waitFor } from './helpers';

const url = testDbUrl();
const keys = new ResqueKeys('resque');

type Dump = Record<string, { type: string; value: unknown }>;
const fixture = (dir: string, name: string): Dump =>
  (JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'resque-ruby', dir, name), 'utf8')) as { keys: Dump }).keys;

/** Loads a Ruby capture into the test db, as Ruby left it. */
async function seed(r: Redis, dump: Dump): Promise<void> {
  for (const [k, v] of Object.entries(dump)) {
    if (k.endsWith('pruning_dead_workers_in_progress')) continue;
    if (v.type === 'list') await r.rpush(k, ...(v.value as string[]));
    else if (v.type === 'set') await r.sadd(k, ...(v.value as string[]));
    else await r.set(k, v.value as string);
  }
}

const list = (d: Dump, k: string): string[] => d[k]!.value as string[];
/** retried_at differs by clock; everything else must be byte-equal. */
const norm = (xs: string[]): string[] => xs.map(x => x.replace(/"retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d( UTC)?"/, '"retried_at":"<T>$1"'));

let res: Resources;
let r: Redis;
useResources(url, (x, y) => ((res = x), (r = y)));

describe('queues', () => {
  it('enqueue, queues, queueLength, peek, clearQueue, removeQueue', async () => {
    const c = await res.client();
    expect(await c.queues()).toEqual([]);
    expect(await c.enqueue('p10', 'Archive', 42, { deep: true })).toBe('{"class":"Archive","args":[42,{"deep":true}]}');
    await c.enqueue('p10', 'Archive', 43);
    await c.enqueueArgsText('p9', 'Big', '[9007199254740993, 1.0]');
    await r.rpush(keys.queue('p9'), 'not json');
    expect(await c.queues()).toEqual([
      { queue: 'p10', size: 2 },
      { queue: 'p9', size: 2 },
    ]);
    expect(await c.queueLength('p10')).toBe(2);
    expect(await c.queueLength('nothing')).toBe(0);
    expect(await c.peek('p10')).toEqual([{ payload: '{"class":"Archive","args":[42,{"deep":true}]}', className: 'Archive', args: [42, { deep: true }] }]);
    expect((await c.peek('p10', 1, 5)).map(j => j.args)).toEqual([[43]]);
    const p9 = await c.peek('p9', 0, 10);
    expect(p9.map(j => j.payload)).toEqual(['{"class":"Big","args":[9007199254740993,1.0]}', 'not json']);
    expect(p9[1]).toEqual({ payload: 'not json', className: null, args: null });
    await expect(c.peek('p10', -1)).rejects.toThrow(/start must be an integer >= 0/);
    await expect(c.queueLength('a:b')).rejects.toThrow(TypeError);

    expect(await c.clearQueue('p10')).toBe(2);
    expect(await r.exists(keys.queue('p10'))).toBe(0);
    expect(await r.sismember(keys.queues, 'p10')).toBe(1); // cleared, still listed
    expect(await c.removeQueue('p9')).toBe(2); // Resque.remove_queue: DEL + SREM
    expect(await r.exists(keys.queue('p9'))).toBe(0);
    expect(await c.queues()).toEqual([{ queue: 'p10', size: 0 }]);
  });

  it('the one-off helpers take the same (queue, className, ...args) form, options first', async () => {
    expect(await enqueue({ connection: { url } }, 'p10', 'Archive', 1, [2], { three: 3 })).toBe('{"class":"Archive","args":[1,[2],{"three":3}]}');
    expect(await enqueueArgsText({ connection: { url } }, 'p10', 'Archive', '[1.0]')).toBe('{"class":"Archive","args":[1.0]}');
    expect(await r.lrange(keys.queue('p10'), 0, -1)).toEqual(['{"class":"Archive","args":[1,[2],{"three":3}]}', '{"class":"Archive","args":[1.0]}']);
  });
});

describe('failed, on Resque::Failure::Redis records Ruby wrote (e2-failure-ops)', () => {
  const before = fixture('e2-failure-ops', 'keys-before.json');

  it('lists, count, list (asc and desc), retry = Failure.requeue(0), remove, retryAll, clearRetried, clear', async () => {
    await seed(r, before);
    const c = await res.client();
    expect(await c.failed.lists()).toEqual([{ list: 'failed', size: 3 }]);
    expect(await c.failed.count()).toBe(3);
    expect(await c.failed.count('failed')).toBe(3);

    const page = await c.failed.list({ start: 0, count: 2 });
    expect(page.total).toBe(3);
    expect(page.items.map(i => [i.index, i.view.className, i.view.args, i.view.queue])).toEqual([
      [0, 'FailingJob', '["f0"]', 'p10'],
      [1, 'FailingJob', '["f1"]', 'p10'],
    ]);
    expect(page.items[0]!.raw).toBe(list(before, 'resque:failed')[0]);
    expect(page.hasMore).toBe(true);
    expect((await c.failed.list({ order: 'desc', count: 1 })).items.map(i => i.index)).toEqual([2]);

    // retry(0) leaves what Ruby's Failure.requeue(0) left.
    const after = fixture('e2-failure-ops', 'keys-after-requeue-0.json');
    expect(await c.failed.retry(0)).toEqual({ index: 0, queue: 'p10', job: '{"class":"FailingJob","args":["f0"]}', list: 'failed' });
    expect(norm(await r.lrange('resque:failed', 0, -1))).toEqual(norm(list(after, 'resque:failed')));
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(list(after, 'resque:queue:p10'));
    expect((await c.failed.list({ show: 'retried' })).items.map(i => i.index)).toEqual([0]);

    // remove by digest: the record shown, even after the list shifted.
    const f2 = (await c.failed.list({ start: 2, count: 1 })).items[0]!;
    await r.lrem('resque:failed', 1, list(before, 'resque:failed')[1]!); // someone removed f1
    expect(await c.failed.remove(2, { digest: f2.digest })).toEqual({ index: 1, list: 'failed' });
    await expect(c.failed.remove(2, { digest: f2.digest })).rejects.toThrow(AdminActionError);
    expect(await c.failed.count()).toBe(1);

    await r.rpush('resque:failed', list(before, 'resque:failed')[2]!);
    expect(await c.failed.retryAll()).toEqual({ retried: 1, alreadyRetried: 1, notRetryable: 0, gone: 0 });
    expect(await c.failed.retryAll()).toEqual({ retried: 0, alreadyRetried: 2, notRetryable: 0, gone: 0 });
    expect(await r.lrange('resque:queue:p9', 0, -1)).toEqual(['{"class":"FailingJob","args":["f2"]}']);
    await r.rpush('resque:failed', list(before, 'resque:failed')[1]!);
    expect(await c.failed.clearRetried()).toBe(2);
    expect(await c.failed.count()).toBe(1);
    expect(await c.failed.clear()).toBe(1);
    expect(await r.exists('resque:failed')).toBe(0);
  });
});

describe('failed, on RedisMultiQueue lists Ruby wrote (c5)', () => {
  it('sees <queue>_failed lists, acts on the one named, refuses a list that is none', async () => {
    const dump = fixture('c5-failure-backend-redis-multi-queue', 'keys.json');
    await seed(r, dump);
    await r.del('resque:queue:p10'); // keep only the failure record
    const rec = list(dump, 'resque:p10_failed')[0]!;
    await r.lset('resque:p10_failed', 0, rec.replace(/,"retried_at":"[^"]*"/, '')); // not retried yet
    const c = await res.client();
    expect(await c.failed.lists()).toEqual([
      { list: 'failed', size: 0 },
      { list: 'p10_failed', size: 1 },
    ]);
    expect(await c.failed.count()).toBe(1);
    expect(await c.failed.count('p10')).toBe(1); // the queue names its <queue>_failed list
    const page = await c.failed.list({ list: 'p10' });
    expect(page.list).toBe('p10_failed');
    expect(page.items[0]!.view.args).toBe('[1,"two",{"three":3}]');

    const done = await c.failed.retry(0, { list: 'p10_failed' });
    expect(done).toMatchObject({ index: 0, queue: 'p10', list: 'p10_failed' });
    // RedisMultiQueue's retried_at has no zone, as Ruby's own record in the capture.
    expect(norm(await r.lrange('resque:p10_failed', 0, -1))).toEqual(norm(list(dump, 'resque:p10_failed')));
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(list(dump, 'resque:queue:p10'));

    await expect(c.failed.count('queue:p10')).rejects.toThrow(/no failure list "queue:p10"/);
    await expect(c.failed.clear('stat:processed')).rejects.toThrow(AdminActionError);
    expect(await r.get('resque:stat:processed')).toBe('1');

    expect(await c.failed.clear('p10_failed')).toBe(1);
    expect(await r.smembers('resque:failed_queues')).toEqual(['p10_failed']); // as Ruby's clear leaves it
    expect(await c.stats()).toMatchObject({ processed: 1, failedStat: 1, failedList: 0, queues: 1, workers: 0, pausedAll: false });
  });
});

describe('workers, stats, masters', () => {
  it('shows a working worker with its job, then its counts in stats', async () => {
    const gate = res.gate();
    const w = res.worker({ queues: 'p10', jobs: registry({ Slow: { perform: async () => gate.promise } }) });
    const c = await res.client();
    await c.enqueue('p10', 'Slow', 'x');
    const started = new Promise(ok => w.once('job', ok));
    await w.start();
    await started;
    const ws = await c.workers();
    expect(ws).toHaveLength(1);
    expect(ws[0]).toMatchObject({ id: w.id, host: 'itest', queues: ['p10'], master: null, processed: 0, failed: 0 });
    expect(ws[0]!.job).toMatchObject({ queue: 'p10', className: 'Slow', payload: '{"class":"Slow","args":["x"]}' });
    expect('server' in ws[0]!).toBe(false);
    const done = new Promise(ok => w.once('success', ok));
    gate.resolve();
    await done;
    await waitFor(async () => (await c.stats()).processed === 1, 'stat:processed 1');
    expect(await c.stats()).toMatchObject({ processed: 1, failedStat: 0, failedList: 0, workers: 1 });
    await w.stop();
    expect(await c.workers()).toEqual([]);
  });

  it('masters() reads advertised masters (a bad record is listed, not fatal); masterCommand pushes to one', async () => {
    const info = {
      id: 'hostb:2000',
      host: 'hostb',
      pid: 2000,
      version: '0.1.0',
      startedAt: '2026-11-22T22:00:00.000Z',
      paused: false,
      stopping: false,
      groups: [{ queues: 'p10', desired: 1, min: null, max: null, running: 1 }],
      children: [{ pid: 2001, workerId: 'hostb:2001:p10', group: 'p10', startedAt: '2026-11-22T22:00:01.000Z', rssMb: 42, job: null }],
      autoscale: null,
    };
    await r.sadd(keys.masters, 'hostb:2000', 'hostc:1');
    await r.set(keys.master('hostb:2000'), JSON.stringify(info), 'EX', 60);
    await r.set(keys.master('hostc:1'), '{"id":', 'EX', 60);
    const c = await res.client();
    const m = await c.masters();
    expect(m.masters.map(x => [x.id, x.children.map(ch => ch.workerId)])).toEqual([['hostb:2000', ['hostb:2001:p10']]]);
    expect(m.unreadable.map(u => u.id)).toEqual(['hostc:1']);
    await c.masterCommand('hostb:2000', { cmd: 'scale', queues: 'p10', count: 3 });
    expect(await r.lrange(keys.masterCommands('hostb:2000'), 0, -1)).toEqual(['{"cmd":"scale","queues":"p10","count":3}']);
    await expect(c.masterCommand('nohost:1', { cmd: 'pause' })).rejects.toThrow(/no master "nohost:1"/);
  });

  it('status() still reports everything in one call', async () => {
    const c = await res.client();
    await c.enqueue('p10', 'A');
    const s = await c.status();
    expect(s).toMatchObject({ namespace: 'resque', queues: [{ queue: 'p10', size: 1 }], failed: 0, workers: [] });
  });
});

describe('a caller-provided ioredis instance', () => {
  it('is used as it is and left open by close()', async () => {
    const mine = new Redis(url, { lazyConnect: true });
    res.onClose(() => closeRedis(mine));
    const listeners = (['ready', 'error', 'close'] as const).map(e => mine.listenerCount(e));
    const c = new Client({ redis: mine });
    await c.connect(); // connects a lazy instance
    expect(mine.status).toBe('ready');
    await c.enqueue('p10', 'Mine', 1);
    expect(await c.queueLength('p10')).toBe(1);
    expect(await c.failed.count()).toBe(0);
    expect((await c.status()).redis).toMatch(/^redis:\/\/(127\.0\.0\.1|localhost):\d+\/\d+$/);
    expect(await mine.client('GETNAME')).toBeNull(); // its own settings are kept
    await c.close();
    expect(mine.status).toBe('ready');
    expect(await mine.lrange(keys.queue('p10'), 0, -1)).toEqual(['{"class":"Mine","args":[1]}']);
    expect((['ready', 'error', 'close'] as const).map(e => mine.listenerCount(e))).toEqual(listeners);
  });

  it('is checked: no keyPrefix, not closed, not with connection, an ioredis instance', async () => {
    const prefixed = new Redis(url, { lazyConnect: true, keyPrefix: 'x:' });
    const ended = new Redis(url, { lazyConnect: true });
    ended.disconnect();
    res.onClose(() => (prefixed.disconnect(), ended.disconnect()));
    expect(() => new Client({ redis: prefixed })).toThrow(ConfigError);
    expect(() => new Client({ redis: prefixed })).toThrow(/redis: .*keyPrefix "x:".*namespace/);
    expect(() => new Client({ redis: ended })).toThrow(/redis: the ioredis instance is closed/);
    expect(() => new Client({ redis: prefixed, connection: { url } })).toThrow(/either `redis`.*or `connection`/);
    expect(() => new Client({ redis: {} as Redis })).toThrow(/redis must be an ioredis instance/);
  });
});

describe('the dashboard from code', () => {
  it('startWebServer over an Admin serves the pages behind basic auth; close() closes the Admin', async () => {
    const c = await res.client();
    await c.enqueue('from-code', 'A');
    const dashboard = new Admin(parseDsnList(url, { namespace: 'resque' }));
    expect(await dashboard.connect()).toEqual([]);
    const web = await startWebServer({ dashboard, port: 0, auth: { username: 'u', password: 'p' } });
    res.onClose(() => web.close());
    const noAuth = await fetch(`${web.url}/queues`);
    expect(noAuth.status).toBe(401);
    await noAuth.text();
    const page = await fetch(`${web.url}/queues`, { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('from-code');
    await web.close();
    await waitFor(() => !dashboard.servers[0]!.store.ready, "the Admin's connection to close");
  });

  it('createWebApp gives the Hono app to mount elsewhere', async () => {
    const dashboard = new Admin(parseDsnList(url, { namespace: 'resque' }));
    res.onClose(() => dashboard.close());
    await dashboard.connect();
    const app = createWebApp({ dashboard });
    const r0 = await app.fetch(new Request('http://127.0.0.1/workers'));
    expect(r0.status).toBe(200);
    expect(await r0.text()).toContain('Workers');
  });
});
