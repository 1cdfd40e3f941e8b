/**
 * The dashboard's Delayed page (issue 11) over a real redis-server: the leader, timestamps with
 * counts, a timestamp's items (any writer's format, poison shown as such), Queue now / Remove of
 * one item by its bytes, Queue all now of a timestamp, Clear.
 */
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { startWebServer, type WebServer } from '../../src/web/server';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { Session, flashOf } from './helpers';

let srv: RedisServerHandle;
let web: WebServer;
let r: Redis;
const RUBY = '{"class":"MixedJob","args":[1,"two",{"three":3}],"queue":"p10"}';
const PYRES = '{"class": "testjobs.Echo", "queue": "p10", "args": [1]}';
const TS = 1896104537;

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
  const dashboard = new Dashboard(parseDsnList(srv.url, { namespace: 'resque' }));
  await dashboard.connect();
  web = await startWebServer({ dashboard, port: 0 });
});
afterAll(async () => {
  r.disconnect();
  await web.close();
  await srv.stop();
});
beforeEach(async () => {
  await r.flushall();
  await r.rpush(`resque:delayed:${TS}`, RUBY, PYRES, 'not json');
  await r.sadd(`resque:timestamps:${RUBY}`, `delayed:${TS}`);
  await r.zadd('resque:delayed_queue_schedule', TS, String(TS));
  await r.rpush(`resque:delayed:${TS + 60}`, RUBY);
  await r.zadd('resque:delayed_queue_schedule', TS + 60, String(TS + 60));
});

describe('Delayed page', () => {
  it('lists timestamps with counts, the one job of a single-job timestamp, and the leader', async () => {
    const s = new Session(web.url);
    let p = await s.get('/delayed');
    expect(p.status).toBe(200);
    expect(p.text).toContain('Scheduler leader: <span class="muted">none');
    expect(p.text).toMatch(/<b>4<\/b> delayed jobs at <b>2<\/b> timestamps/);
    expect(p.text).toContain('2030-01-31 15:42:17 +0000');
    expect(p.text).toContain('<code>MixedJob</code>');
    expect(p.text).toContain('href="/delayed"');
    await r.set('resque:resque:resque_scheduler_master_lock', 'localhost:4242', 'EX', 180);
    p = await s.get('/delayed');
    expect(p.text).toMatch(/Scheduler leader: <b>localhost:4242<\/b>/);
  });

  it('shows the items of a timestamp, poison named; Queue now and Remove act on one item by its bytes', async () => {
    const s = new Session(web.url);
    const p = await s.get(`/delayed/${TS}`);
    expect(p.status).toBe(200);
    expect(p.text).toContain('poison: not JSON');
    expect(p.text).toContain('testjobs.Echo');
    let after = await s.act('/delayed/action', { op: 'queue-now', server: 0, ts: String(TS), item: PYRES });
    expect(flashOf(after.text)).toBe('ok: Pushed the job at 1896104537 to p10.');
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual([PYRES]);
    after = await s.act('/delayed/action', { op: 'remove', server: 0, ts: String(TS), item: RUBY });
    expect(flashOf(after.text)).toBe('ok: Removed the job at 1896104537.');
    expect(await r.lrange(`resque:delayed:${TS}`, 0, -1)).toEqual(['not json']);
    expect(await r.exists(`resque:timestamps:${RUBY}`)).toBe(0);
    after = await s.act('/delayed/action', { op: 'remove', server: 0, ts: String(TS), item: RUBY });
    expect(flashOf(after.text)).toMatch(/^error: no such item/);
  });

  it('Queue all now moves a timestamp (poison parked for the scheduler); Clear empties everything', async () => {
    const s = new Session(web.url);
    await s.get('/delayed');
    let after = await s.act('/delayed/action', { op: 'queue-ts', server: 0, ts: String(TS) });
    expect(flashOf(after.text)).toBe('ok: Pushed 2 jobs at 1896104537 to their queues (1 not jobs: recorded as failures by the scheduler).');
    expect(await r.zrange('resque:delayed_queue_schedule', 0, -1)).toEqual([String(TS + 60)]);
    expect(await r.llen('resque:pyres-ts:delayed:poison')).toBe(1);
    after = await s.act('/delayed/action', { op: 'clear', server: 0 });
    expect(flashOf(after.text)).toBe(`ok: Cleared 1 delayed job on ${srv.url.replace(/^redis:\/\//, '').replace(/\/.*$/, '')}.`);
    expect(await r.exists('resque:delayed_queue_schedule', `resque:delayed:${TS + 60}`)).toBe(0);
  });
});
