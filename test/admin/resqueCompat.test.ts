/**
 * The failure operations against Ruby Resque 3.0.0's own capture (e2-failure-ops): starting
 * from the same keys, retry(0), remove(1), retry-all and clear-retried leave the same bytes in
 * Redis as Failure.requeue(0), remove(1), requeue_all and clear_retried did — except that
 * retry-all does not push the already-retried f0 a second time. MONITOR shows the same
 * commands on the keys (inside one Lua script).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { openMonitor } from '../support/monitor';
import { type RedisServerHandle, startRedis } from '../support/redisServer';

type Dump = Record<string, { type: string; value: unknown }>;
const load = (name: string): Dump => (JSON.parse(readFileSync(join(__dirname, 'fixtures', 'e2-failure-ops', name), 'utf8')) as { keys: Dump }).keys;

/** retried_at values differ by clock; everything else must be byte-equal. */
const norm = (xs: string[]): string[] => xs.map(x => x.replace(/"retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC"/, '"retried_at":"<T>"'));

let srv: RedisServerHandle;
let r: Redis;
let d: Dashboard;

async function state(): Promise<Record<string, string[] | string>> {
  const out: Record<string, string[] | string> = {};
  for (const k of (await r.keys('resque:*')).sort()) {
    const t = await r.type(k);
    if (t === 'list') out[k] = await r.lrange(k, 0, -1);
    else if (t === 'set') out[k] = (await r.smembers(k)).sort();
    else if (t === 'string') out[k] = (await r.get(k)) ?? '';
  }
  return out;
}

function expected(dump: Dump): Record<string, string[] | string> {
  const out: Record<string, string[] | string> = {};
  for (const [k, v] of Object.entries(dump)) {
    if (k.endsWith('pruning_dead_workers_in_progress')) continue;
    out[k] = Array.isArray(v.value) ? (v.type === 'set' ? [...(v.value as string[])].sort() : (v.value as string[])) : (v.value as string);
  }
  return out;
}

async function monitored(fn: () => Promise<unknown>): Promise<string[][]> {
  const mon = await openMonitor(r);
  const cmds: string[][] = [];
  mon.on('monitor', (_t: string, args: string[]) => cmds.push(args.map(String)));
  await fn();
  await r.ping(); // flush: MONITOR output is ordered
  await new Promise(res => setTimeout(res, 100));
  mon.disconnect();
  return cmds.filter(c => !['ping', 'info', 'client', 'select'].includes((c[0] ?? '').toLowerCase()));
}

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
  const before = load('keys-before.json');
  for (const [k, v] of Object.entries(before)) {
    if (k.endsWith('pruning_dead_workers_in_progress')) continue;
    if (v.type === 'list') await r.rpush(k, ...(v.value as string[]));
    else if (v.type === 'set') await r.sadd(k, ...(v.value as string[]));
    else await r.set(k, v.value as string);
  }
  d = new Dashboard(parseDsnList(srv.url, { namespace: 'resque' }));
  await d.connect();
});

afterAll(async () => {
  await d?.close();
  await r?.quit();
  await srv?.stop();
});

it('retry(0) = Failure.requeue(0): LSET with retried_at last, SADD queues, RPUSH {"class","args"}', async () => {
  const cmds = await monitored(() => d.retryFailed(0, 0));
  const s = await state();
  const want = expected(load('keys-after-requeue-0.json'));
  expect(norm(s['resque:failed'] as string[])).toEqual(norm(want['resque:failed'] as string[]));
  expect({ ...s, 'resque:failed': null }).toEqual({ ...want, 'resque:failed': null });
  const lower = cmds.map(c => [c[0]!.toLowerCase(), ...c.slice(1)]);
  const lset = lower.findIndex(c => c[0] === 'lset');
  expect(lower.slice(lset).map(c => c.slice(0, 3))).toEqual([
    ['lset', 'resque:failed', '0'],
    ['sadd', 'resque:queues', 'p10'],
    ['rpush', 'resque:queue:p10', '{"class":"FailingJob","args":["f0"]}'],
  ]);
  // (MONITOR quotes the value; the stored bytes were compared above.)
  expect(lower[lset]![3]).toMatch(/"queue":"p10","retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC"}$/);
});

it('remove(1) = Failure.remove(1): LSET "" then LREM 1 ""', async () => {
  const cmds = await monitored(() => d.removeFailed(0, 1));
  const s = await state();
  const want = expected(load('keys-after-remove-1.json'));
  expect(norm(s['resque:failed'] as string[])).toEqual(norm(want['resque:failed'] as string[]));
  const lower = cmds.map(c => [c[0]!.toLowerCase(), ...c.slice(1)]);
  const lset = lower.findIndex(c => c[0] === 'lset');
  expect(lower.slice(lset)).toEqual([
    ['lset', 'resque:failed', '1', ''],
    ['lrem', 'resque:failed', '1', ''],
  ]);
});

it('retry-all = requeue_all, without re-pushing the record already retried', async () => {
  const res = await d.retryAll(0);
  expect(res).toEqual({ retried: 1, alreadyRetried: 1, notRetryable: 0, gone: 0 });
  const s = await state();
  const want = expected(load('keys-after-requeue-all.json'));
  expect(norm(s['resque:failed'] as string[])).toEqual(norm(want['resque:failed'] as string[]));
  expect(s['resque:queue:p9']).toEqual(want['resque:queue:p9']);
  // Ruby pushed f0 a second time; we do not.
  expect(want['resque:queue:p10']).toEqual(['{"class":"FailingJob","args":["f0"]}', '{"class":"FailingJob","args":["f0"]}']);
  expect(s['resque:queue:p10']).toEqual(['{"class":"FailingJob","args":["f0"]}']);
});

it('clear-retried = Failure.clear_retried', async () => {
  expect(await d.clearRetried(0)).toBe(2);
  const s = await state();
  const want = expected(load('keys-after-clear-retried.json'));
  expect(s['resque:failed']).toBeUndefined();
  expect(want['resque:failed']).toBeUndefined();
  expect(s['resque:queues']).toEqual(want['resque:queues']);
  expect(s['resque:stat:failed']).toBe('3'); // nothing decrements
});

it('clear = Failure.clear: DEL failed', async () => {
  await r.rpush('resque:failed', '{"x":1}', 'not json');
  const cmds = await monitored(() => d.clearFailed(0));
  expect(cmds.map(c => c[0]!.toLowerCase())).toContain('del');
  expect(await r.exists('resque:failed')).toBe(0);
});
