/**
 * The dashboard's Failed view over both failure backends: Ruby's RedisMultiQueue capture
 * (`p10_failed`, named in `failed_queues`) beside a default-backend record in `failed`. A list
 * selector like resque-web's per-queue overview; retry and remove act on the list shown.
 */
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { type WebServer, startWebServer } from '../../src/web/server';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { C5_KEYS_AFTER, C5_RECORD, MULTI_QUEUE_RETRIED_AT_RE, seedRubyMultiQueue } from '../support/rubyMultiQueue';
import { RUBY_FAILURES, Session, failureItems, flashOf } from './helpers';
import { createHash } from 'node:crypto';

let srv: RedisServerHandle;
let r: Redis;
let web: WebServer;
let dashboard: Dashboard;
let s: Session;

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
  dashboard = new Dashboard(parseDsnList(srv.url, { namespace: 'resque' }));
  await dashboard.connect();
  web = await startWebServer({ dashboard, port: 0 });
});
afterAll(async () => {
  await web?.close();
  await r?.quit();
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
  await seedRubyMultiQueue(r);
  await r.rpush('resque:failed', RUBY_FAILURES[0] as string);
  s = new Session(web.url);
});

const sha1 = (x: string): string => createHash('sha1').update(x).digest('hex');
const tabs = (html: string): Array<[string, number]> =>
  [...html.matchAll(/<a href="[^"]*" data-list="([^"]+)"[^>]*>[^<]*<span class="count">(\d+)<\/span><\/a>/g)].map(m => [m[1] as string, Number(m[2])]);

describe('the Failed view with RedisMultiQueue lists', () => {
  it('shows a selector of every failure list with its count; the overview counts them all', async () => {
    const page = await s.get('/failed');
    expect(page.status).toBe(200);
    expect(tabs(page.text)).toEqual([
      ['failed', 1],
      ['p10_failed', 1],
    ]);
    expect(page.text).toContain('href="/failed?list=p10_failed"');
    // `failed` (not empty) is shown first
    expect(failureItems(page.text).map(i => i.digest)).toEqual([sha1(RUBY_FAILURES[0] as string)]);
    const overview = await s.get('/');
    expect(overview.text).toMatch(/<a href="\/failed[^"]*">2<\/a>/);
  });

  it("lists Ruby's p10_failed record and retries it as Failure.requeue(0, 'p10_failed') does", async () => {
    const page = await s.get('/failed?list=p10_failed');
    const items = failureItems(page.text);
    expect(items).toEqual([{ index: 0, digest: sha1(C5_RECORD), retried: false }]);
    expect(page.text).toContain('in p10_failed on');
    expect(page.text).toContain('name="list" value="p10_failed"');
    const after = await s.act('/failed/retry', { server: 0, index: 0, digest: items[0]?.digest ?? '', list: 'p10_failed', back: '/failed?list=p10_failed' });
    expect(flashOf(after.text)).toMatch(/^ok: Retried failure 0 in p10_failed: the job is back on p10\.$/);
    const noZone = (x: string): string => x.replace(MULTI_QUEUE_RETRIED_AT_RE, '"retried_at":"<T>"');
    expect((await r.lrange('resque:p10_failed', 0, -1)).map(noZone)).toEqual((C5_KEYS_AFTER['resque:p10_failed']!.value as string[]).map(noZone));
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(C5_KEYS_AFTER['resque:queue:p10']?.value);
    expect(await r.lrange('resque:failed', 0, -1)).toEqual([RUBY_FAILURES[0]]);
  });

  it('removes from the list shown, and clear on that list leaves `failed` alone', async () => {
    await s.get('/failed?list=p10_failed');
    const after = await s.act('/failed/remove', { server: 0, index: 0, digest: sha1(C5_RECORD), list: 'p10_failed' });
    expect(flashOf(after.text)).toBe('ok: Removed failure 0 from p10_failed.');
    expect(await r.exists('resque:p10_failed')).toBe(0);
    expect(await r.smembers('resque:failed_queues')).toEqual(['p10_failed']);
    await r.rpush('resque:p10_failed', C5_RECORD);
    const cleared = await s.act('/failed/clear', { server: 0, list: 'p10_failed' });
    expect(flashOf(cleared.text)).toMatch(/^ok: Cleared 1 failure on /);
    expect(await r.llen('resque:failed')).toBe(1);
  });

  it('a list that is not a failure list is refused (no other key is read as one)', async () => {
    const page = await s.get('/failed?list=workers');
    expect(page.text).toContain('no failure list &quot;workers&quot;');
    await r.rpush('resque:queue:p10', '{"class":"Keep","args":[]}');
    await s.get('/failed');
    const after = await s.act('/failed/clear', { server: 0, list: 'queue:p10' });
    expect(flashOf(after.text)).toMatch(/^error: no failure list &quot;queue:p10&quot;/);
    expect(await r.llen('resque:queue:p10')).toBe(1);
    expect(await r.llen('resque:failed')).toBe(1);
    expect(await r.llen('resque:p10_failed')).toBe(1);
  });
});
