/**
 * The reserve-many script (job slots, issue 15) against a real redis-server: up to k jobs for k
 * idle slot ids in one call, in priority order, at most one per slot, each recorded in its
 * worker:<id> (byte for byte what finish-and-reserve writes) before the reply; a slot already
 * holding a record gets it back and nothing new; the pause key stops it; globs and skips work.
 */
import type Redis from 'ioredis';
import { encodeWorkingOn, parseQueueList, RedisStore } from '../../src';
import { globToLuaPattern, hasPatterns } from '../../src/protocol/queues';
import { formatSlotWorkerId } from '../../src/protocol/workerId';
import type { ReserveSpec } from '../../src/store/redisStore';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { HOST, Resources } from './helpers';

const url = testDbUrl();
const RUN_AT = '2026-11-22T22:10:47Z';
const ids = (n: number, queues = 'p10,p9'): string[] => Array.from({ length: n }, (_, i) => formatSlotWorkerId(HOST, 4242, queues.split(','), i));

let res: Resources;
let store: RedisStore;
let r: Redis;

beforeEach(async () => {
  await flushTestDb(url);
  res = new Resources(url);
  store = new RedisStore({ connection: { url }, namespace: 'resque', name: 'itest:reserve-many' });
  res.onClose(() => store.close());
  await store.connect();
  r = res.redis();
});

afterEach(async () => {
  await res.closeAll();
});

function reserveOf(queues: string): ReserveSpec {
  const specs = parseQueueList(queues);
  const queueArgs = hasPatterns(specs)
    ? ['1', ...specs.map(s => (s.negate ? `-g${globToLuaPattern(s.pattern)}` : s.isGlob ? `+g${globToLuaPattern(s.pattern)}` : `+s${s.pattern}`))]
    : ['0', ...specs.map(s => s.pattern)];
  return { runAt: RUN_AT, queueArgs };
}

async function push(queue: string, ...raws: string[]): Promise<void> {
  await r.sadd('resque:queues', queue);
  await r.rpush(`resque:queue:${queue}`, ...raws);
}

const job = (n: number | string): string => `{"class":"J","args":[${JSON.stringify(n)}]}`;

it('k idle slots, fewer jobs than slots: each job to one slot, in priority order, each recorded before the reply', async () => {
  await push('p9', job('p9-a'));
  await push('p10', job('p10-a'), job('p10-b'));
  const slots = ids(5);
  const got = await store.reserveMany(slots, reserveOf('p10,p9'));
  if (got === 'paused') throw new Error('paused');
  expect(got.map(g => [g.index, g.result.status, g.result.status === 'job' ? [g.result.queue, g.result.raw] : null])).toEqual([
    [0, 'job', ['p10', job('p10-a')]],
    [1, 'job', ['p10', job('p10-b')]],
    [2, 'job', ['p9', job('p9-a')]],
  ]);
  for (const g of got) {
    if (g.result.status !== 'job') throw new Error('not a job');
    expect(await r.get(`resque:worker:${slots[g.index]}`)).toBe(encodeWorkingOn(g.result.queue, RUN_AT, g.result.raw));
  }
  for (const idle of slots.slice(3)) expect(await r.exists(`resque:worker:${idle}`)).toBe(0);
  expect(await r.llen('resque:queue:p10')).toBe(0);
  expect(await r.llen('resque:queue:p9')).toBe(0);
});

it('more jobs than slots: one reservation per slot, the rest stay queued in order', async () => {
  await push('p9', ...Array.from({ length: 10 }, (_, i) => job(i)));
  const slots = ids(3);
  const got = await store.reserveMany(slots, reserveOf('p10,p9'));
  if (got === 'paused') throw new Error('paused');
  expect(got.map(g => g.index)).toEqual([0, 1, 2]);
  expect(got.map(g => (g.result.status === 'job' ? g.result.raw : ''))).toEqual([job(0), job(1), job(2)]);
  expect(await r.lrange('resque:queue:p9', 0, -1)).toEqual(Array.from({ length: 7 }, (_, i) => job(i + 3)));
});

it('every queue empty: nothing reserved, nothing written', async () => {
  const got = await store.reserveMany(ids(4), reserveOf('p10,p9'));
  expect(got).toEqual([]);
  expect(await r.keys('resque:worker:*')).toEqual([]);
});

it('paused (the pause key, as the finish-and-reserve script reads it): nothing popped', async () => {
  await push('p9', job(1));
  for (const v of ['true', ' TRUE ']) {
    await r.set('resque:pause-all-workers', v);
    expect(await store.reserveMany(ids(2), reserveOf('p10,p9'))).toBe('paused');
  }
  await r.set('resque:pause-all-workers', 'false');
  const got = await store.reserveMany(ids(2), reserveOf('p10,p9'));
  expect(got !== 'paused' && got.length).toBe(1);
  expect(await r.llen('resque:queue:p9')).toBe(0);
});

it('a slot whose worker:<id> already holds a record gets it back as held, and no second job', async () => {
  const slots = ids(3);
  const held = encodeWorkingOn('p9', RUN_AT, job('old'));
  await r.set(`resque:worker:${slots[1]}`, held);
  await push('p9', job('new-1'), job('new-2'), job('new-3'));
  const got = await store.reserveMany(slots, reserveOf('p10,p9'));
  if (got === 'paused') throw new Error('paused');
  const bySlot = new Map(got.map(g => [g.index, g.result]));
  expect(bySlot.get(1)).toEqual({ status: 'held', record: held, processed: 0 });
  expect(bySlot.get(0)).toMatchObject({ status: 'job', raw: job('new-1') });
  expect(bySlot.get(2)).toMatchObject({ status: 'job', raw: job('new-2') });
  expect(await r.get(`resque:worker:${slots[1]}`)).toBe(held);
  expect(await r.lrange('resque:queue:p9', 0, -1)).toEqual([job('new-3')]);
});

it('mixed queues with globs and skips: the same order as one worker would take them', async () => {
  await push('p1', job('p1'));
  await push('p2', job('p2'));
  await push('skipme', job('skip'));
  await push('a', job('a'));
  const got = await store.reserveMany(ids(4, 'a,p*,!skipme'), reserveOf('a,p*,!skipme'));
  if (got === 'paused') throw new Error('paused');
  expect(got.map(g => (g.result.status === 'job' ? g.result.queue : ''))).toEqual(['a', 'p1', 'p2']);
  expect(await r.llen('resque:queue:skipme')).toBe(1);
});

it('a payload that is not UTF-8 comes back with its bytes, and its record embeds them unchanged', async () => {
  const bad = Buffer.concat([Buffer.from('{"class":"J","args":["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}')]);
  await r.sadd('resque:queues', 'p9');
  await r.rpush('resque:queue:p9', bad);
  const slots = ids(1);
  const got = await store.reserveMany(slots, reserveOf('p10,p9'));
  if (got === 'paused' || got[0]?.result.status !== 'job') throw new Error('no job');
  expect(got[0].result.bytes).toEqual(bad);
  const rec = await r.getBuffer(`resque:worker:${slots[0]}`);
  expect(rec?.includes(bad)).toBe(true);
});

it('large payloads: each record is byte for byte the Lua builder and encodeWorkingOn, a 10 KB object written as SET + APPEND ×2', async () => {
  const big = `{"class":"J","args":["${'é'.repeat(5000)}"]}`;
  const padded = ` ${big}\n`;
  const str = JSON.stringify('x'.repeat(10240));
  await push('p9', big, padded, str);
  const slots = ids(3);
  await r.config('RESETSTAT');
  const got = await store.reserveMany(slots, reserveOf('p10,p9'));
  const calls: Record<string, number> = {};
  for (const m of (await r.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  if (got === 'paused') throw new Error('paused');
  expect(got.map(g => (g.result.status === 'job' ? g.result.raw : ''))).toEqual([big, padded, str]);
  for (const [i, raw] of [big, padded, str].entries()) {
    const rec = await r.get(`resque:worker:${slots[i]}`);
    expect(rec).toBe(await store.probeWorkingOn('p9', RUN_AT, raw));
    if (i === 0) expect(rec).toBe(encodeWorkingOn('p9', RUN_AT, raw));
  }
  // The compact object: SET of the head + APPEND of the payload and of '}'; the other two: one SET each.
  expect(calls['append']).toBe(2);
  expect(calls['set']).toBe(3);
});
