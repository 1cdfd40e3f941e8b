/**
 * The finish-and-reserve script's lean paths write the same bytes as before: the working-on
 * record of a large object payload (SET + APPEND + APPEND, from 1 KB) equals the Lua builder's
 * and encodeWorkingOn's, byte for byte, on both sides of the threshold and for payloads that only
 * look like objects; a step counts exactly its documented commands; and the per-worker argument
 * template never carries one step's record or run_at into the next.
 */
import type Redis from 'ioredis';
import { encodeWorkingOn } from '../../src/protocol/records';
import { RedisStore } from '../../src/store/redisStore';
import { FINISH_AND_RESERVE } from '../../src/store/scripts';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis, HOST } from './helpers';
import IORedis from 'ioredis';

const RUN_AT = '2026-11-22T22:10:47Z';
let srv: RedisServerHandle;
let r: Redis;
let store: RedisStore;

beforeAll(async () => {
  srv = await startRedis();
  r = new IORedis(srv.url);
});
afterAll(async () => {
  await closeRedis(r);
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
  store = new RedisStore({ connection: { url: srv.url }, namespace: 'resque', name: 'itest:hot-path' });
  await store.connect();
});
afterEach(async () => {
  await store.close();
});

const objectOf = (n: number): string => {
  const head = '{"class":"Noop","args":["';
  return `${head}${'é'.repeat(Math.max(0, Math.floor((n - head.length - 3) / 2)))}"]}`;
};

async function reserveOne(wid: string, raw: string | Buffer): Promise<Buffer> {
  await r.rpush('resque:queue:q', raw);
  const res = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  expect(res.status).toBe('job');
  const held = await r.getBuffer(`resque:worker:${wid}`);
  expect(held).not.toBeNull();
  return held as Buffer;
}

test.each([
  ['100 B object', objectOf(100)],
  ['1023 B object', objectOf(1023)],
  ['1 KB object', objectOf(1024)],
  ['10 KB object', objectOf(10240)],
  ['100 KB object', objectOf(102400)],
  ['10 KB object padded with whitespace', `  \n${objectOf(10240)}\t `],
  ['10 KB text starting with { but not ending with }', `${objectOf(10240)}x`],
  ['10 KB JSON string (not an object)', JSON.stringify('x'.repeat(10240))],
])('%s: worker:<id> holds exactly the Lua builder and encodeWorkingOn bytes', async (_what, raw) => {
  const wid = `${HOST}:1:q`;
  const held = await reserveOne(wid, raw);
  expect(held.toString('utf8')).toBe(await store.probeWorkingOn('q', RUN_AT, raw));
  if (/^[ \t\n\r]*\{/.test(raw) && /\}[ \t\n\r]*$/.test(raw)) expect(held.toString('utf8')).toBe(encodeWorkingOn('q', RUN_AT, raw));
});

test('a 10 KB item that is not valid UTF-8 is embedded byte for byte (head + bytes + "}")', async () => {
  const wid = `${HOST}:2:q`;
  const bytes = Buffer.concat([Buffer.from('{"class":"Noop","args":["'), Buffer.alloc(10240, 0xff), Buffer.from('"]}')]);
  const held = await reserveOne(wid, bytes);
  expect(held.equals(Buffer.concat([Buffer.from(`{"queue":"q","run_at":"${RUN_AT}","payload":`), bytes, Buffer.from('}')]))).toBe(true);
});

test.each([
  ['10 KB ASCII', `{"class":"Noop","args":["${'x'.repeat(10240)}"]}`],
  ['10 KB ASCII with one 2-byte character at the very end', `{"class":"Noop","args":["${'x'.repeat(10240)}é"]}`],
  ['10 KB ASCII with one 4-byte character at the start', `{"class":"Noop","args":["😀${'x'.repeat(10240)}"]}`],
])('%s: the reserved text is the item exactly, and no bytes come with it (valid UTF-8)', async (_what, raw) => {
  const wid = `${HOST}:6:q`;
  await r.rpush('resque:queue:q', raw);
  const res = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  expect(res.status === 'job' && res.raw === raw).toBe(true);
  expect('bytes' in res).toBe(false);
  // The same record comes back held (a lost reply), as text, exactly.
  const held = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  expect(held.status === 'held' && held.record === encodeWorkingOn('q', RUN_AT, raw)).toBe(true);
  expect('recordBytes' in held).toBe(false);
});

async function calls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await r.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  // This test's own RESETSTAT and this INFO.
  delete out['config|resetstat'];
  delete out['info'];
  return out;
}

test('a success-and-reserve step runs EVALSHA + MGET, INCRBY ×2, LPOP, SET (6), and SET + APPEND ×2 from 1 KB', async () => {
  const wid = `${HOST}:3:q`;
  await r.rpush('resque:queue:q', objectOf(100), objectOf(100), objectOf(4096));
  let res = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  await r.config('RESETSTAT');
  res = await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: res.processed }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  const small = await calls();
  expect(small).toEqual({ evalsha: 1, mget: 1, incrby: 2, lpop: 1, set: 1 });
  await r.config('RESETSTAT');
  await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: res.processed }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  const big = await calls();
  expect(big).toEqual({ evalsha: 1, mget: 1, incrby: 2, lpop: 1, set: 1, append: 2 });
});

test('the four-key layout: a success step reads the pause flag from KEYS[4]; a failure, dirty or requeue step in it is refused and writes nothing', async () => {
  const wid = `${HOST}:6:q`;
  const four = ['4', `resque:worker:${wid}`, 'resque:stat:processed', `resque:stat:processed:${wid}`, 'resque:pause-all-workers'];
  const argv = (mode: string, counter: number): string[] => [
    mode,
    String(counter),
    mode === '1' ? '' : '{"failed":"x"}',
    '1',
    RUN_AT,
    'resque:queue:',
    '0',
    'q',
  ];
  await r.rpush('resque:queue:q', objectOf(100), objectOf(100));
  const first = (await r.call('EVAL', FINISH_AND_RESERVE, ...four, ...argv('0', 0))) as unknown[];
  expect(first[0]).toBe('job');
  await r.set('resque:pause-all-workers', ' True ');
  expect(((await r.call('EVAL', FINISH_AND_RESERVE, ...four, ...argv('1', 0))) as unknown[]).slice(0, 2)).toEqual(['paused', 1]);
  await r.del('resque:pause-all-workers');
  for (const mode of ['2', '3', '4']) {
    await expect(r.call('EVAL', FINISH_AND_RESERVE, ...four, ...argv(mode, 1))).rejects.toThrow(/four-key finish-and-reserve step/);
  }
  expect(await r.get(`resque:stat:processed:${wid}`)).toBe('1');
  expect(await r.llen('resque:failed')).toBe(0);
  expect(await r.llen('resque:queue:q')).toBe(1);
});

test('the reused argument template carries nothing from one step to the next (record, run_at, mode, worker)', async () => {
  const a = `${HOST}:4:q`;
  const b = `${HOST}:5:q`;
  await r.rpush('resque:queue:q', objectOf(100), objectOf(100), objectOf(100));
  const ra = await store.finishAndReserve(a, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
  const rb = await store.finishAndReserve(b, { mode: 'none', expectedProcessed: 0 }, { runAt: '2026-11-22T22:10:48Z', queueArgs: ['0', 'q'] });
  expect(JSON.parse((await r.get(`resque:worker:${b}`)) as string).run_at).toBe('2026-11-22T22:10:48Z');
  expect(JSON.parse((await r.get(`resque:worker:${a}`)) as string).run_at).toBe(RUN_AT);
  // a fails its job (a record in ARGV[3]); b then succeeds: b's step must not write a's record.
  await store.finishAndReserve(a, { mode: 'failure', expectedProcessed: ra.processed, failureRecord: '{"failed":"a"}', failureQueue: 'q' }, null);
  await store.finishAndReserve(b, { mode: 'success', expectedProcessed: rb.processed }, null);
  expect(await r.lrange('resque:failed', 0, -1)).toEqual(['{"failed":"a"}']);
  expect(await r.get(`resque:stat:processed:${a}`)).toBe('1');
  expect(await r.get(`resque:stat:processed:${b}`)).toBe('1');
  expect(await r.get(`resque:stat:failed:${b}`)).toBeNull();
  expect(await r.exists(`resque:worker:${a}`, `resque:worker:${b}`)).toBe(0);
  expect(await r.llen('resque:queue:q')).toBe(1);
});
