/**
 * The status store against a real redis-server: create and the Lua merge reproduce the bytes
 * resque-status wrote in t1/t2 (key order, `time` kept, raw numbers), two writers never lose each
 * other's fields, kill is atomic, and waits bound by their timeout.
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { completedMessage, encodeDoneNotice, failedMessage, killedMessage, statusJson, updateFields } from '../../src/protocol/status';
import { StatusStore } from '../../src/store/statusStore';
import { flushTestDb, testDbUrl } from '../support/redisServer';

const url = testDbUrl();
const FIX = join(__dirname, '..', '..', 'fixtures', 'plugins');
type Dump = { keys: Record<string, { type: string; ttl: number; value: unknown }> };
const dump = (dir: string, file: string): Dump['keys'] => (JSON.parse(readFileSync(join(FIX, dir, file), 'utf8')) as Dump).keys;
const T1 = dump('t1-status-lifecycle', 'keys-after-jobs.json');
const T1W = dump('t1-status-lifecycle', 'keys-working.json');
const T1Q = dump('t1-status-lifecycle', 'keys-queued.json');
const AT = new Date('2026-12-01T05:53:09Z');

let r: Redis;
let store: StatusStore;
beforeAll(() => {
  r = new Redis(url, { maxRetriesPerRequest: 2 });
});
beforeEach(async () => {
  await flushTestDb(url);
  store = new StatusStore({ connection: { url } });
  await store.connect();
});
afterEach(async () => {
  await store.close();
});
afterAll(async () => {
  await r.quit();
});

const T = 1796104386;
const upd = (uuid: string, fields: Record<string, unknown>, extra: Partial<Parameters<StatusStore['update']>[1]> = {}) =>
  store.update(uuid, { now: T + 5, fields: updateFields(fields), ...extra });

describe('create and merge: the t1 bytes', () => {
  it('a StatusJob: queued, working at step 2, completed with a result', async () => {
    const u = 'aad1f914c5faa4118f38f8b58466998f';
    const payload = await store.create('statused', 'StatusJob', u, { total: 3, sleep: 0.4 }, { time: T });
    expect(await r.get(`resque:status:${u}`)).toBe(T1Q[`resque:status:${u}`]!.value);
    expect(await r.zrange('resque:_statuses', 0, -1, 'WITHSCORES')).toEqual([u, String(T)]);
    expect(await r.lrange('resque:queue:statused', 0, -1)).toEqual([payload]);
    expect(await r.smembers('resque:queues')).toEqual(['statused']);
    expect(await r.ttl(`resque:status:${u}`)).toBe(-1);
    const name = 'StatusJob({"total"=>3, "sleep"=>0.4})';
    await upd(u, { name, status: 'working' });
    await upd(u, { name, status: 'working', num: 1, total: 3, message: 'step 1 of 3' }, { kill: 'check' });
    await upd(u, { name, status: 'working', num: 2, total: 3, message: 'step 2 of 3' }, { kill: 'check' });
    expect(await r.get(`resque:status:${u}`)).toBe(T1W[`resque:status:${u}`]!.value);
    await upd(u, { name, status: 'working', num: 3, total: 3, message: 'step 3 of 3' }, { kill: 'check' });
    await upd(u, { name, status: 'completed', message: 'all done', result: { rows: 3 } });
    expect(await r.get(`resque:status:${u}`)).toBe(T1[`resque:status:${u}`]!.value);
  });

  it('failed, killed and plain completed as Ruby left them', async () => {
    const uf = '0cd35c941e08c3121ff364d17371bbda';
    await store.create('statused', 'StatusFailJob', uf, { why: 'raise' }, { time: T });
    const nf = 'StatusFailJob({"why"=>"raise"})';
    await upd(uf, { name: nf, status: 'working' });
    await upd(uf, { name: nf, status: 'working', num: 1, total: 2, message: 'about to fail' }, { kill: 'check' });
    await upd(uf, { name: nf, status: 'failed', message: failedMessage('status boom') });
    expect(await r.get(`resque:status:${uf}`)).toBe(T1[`resque:status:${uf}`]!.value);

    const uk = 'abe43350d724afe619d00b454bde56a8';
    await store.create('statused', 'StatusKillJob', uk, {}, { time: T });
    await upd(uk, { name: 'StatusKillJob()', status: 'working' });
    const km = { killedMessageJson: statusJson(killedMessage(AT)), killedNotice: encodeDoneNotice({ status: 'killed' }) };
    expect((await upd(uk, { name: 'StatusKillJob()', status: 'working', message: 'tick 1' }, { kill: 'check', ...km })).killed).toBe(false);
    await store.kill(uk);
    const k = await upd(uk, { name: 'StatusKillJob()', status: 'working', message: 'tick 2' }, { kill: 'check', ...km });
    expect(k.killed).toBe(true);
    expect(await r.get(`resque:status:${uk}`)).toBe(T1[`resque:status:${uk}`]!.value);
    expect(await r.smembers('resque:_kill')).toEqual([]);
    expect(await r.lrange(`resque:pyres-ts:done:${uk}`, 0, -1)).toEqual(['{"status":"killed"}']);

    const up = 'c484868bf5c5b92d651927c9cba6e2be';
    await store.create('statused', 'StatusPlainJob', up, { sym: 1 }, { time: T });
    await upd(up, { name: 'StatusPlainJob({"sym"=>1})', status: 'working' });
    await upd(up, { name: 'StatusPlainJob({"sym"=>1})', status: 'completed', message: completedMessage(AT) }, { notice: '{"status":"completed"}' });
    expect(await r.get(`resque:status:${up}`)).toBe(T1[`resque:status:${up}`]!.value);
    expect(await r.ttl(`resque:pyres-ts:done:${up}`)).toBeGreaterThan(3600);
  });
});

describe('the merge keeps bytes cjson would change', () => {
  const u = '0123456789abcdef0123456789abcdef';
  it('1.0, big integers, empty arrays and objects, escapes, unicode and spacing survive untouched', async () => {
    const written =
      '{"time":1796104386, "status":"queued","uuid":"0123456789abcdef0123456789abcdef","options":{"f":1.0,"big":18446744073709551616,"e":[],"o":{},"s":"a\\"},{[\\\\","u":"é☃"},"x":-1.5e+20}';
    await r.set(`resque:status:${u}`, written);
    await upd(u, { status: 'working', num: 1, total: 2 });
    expect(await r.get(`resque:status:${u}`)).toBe(
      '{"time":1796104386,"status":"working","uuid":"0123456789abcdef0123456789abcdef","options":{"f":1.0,"big":18446744073709551616,"e":[],"o":{},"s":"a\\"},{[\\\\","u":"é☃"},"x":-1.5e+20,"num":1,"total":2}',
    );
    // A new result with an empty array and a float keeps its own bytes too.
    await upd(u, { status: 'completed', result: { rows: [], ratio: 0.1 } });
    expect(await r.get(`resque:status:${u}`)).toMatch(/"result":\{"rows":\[\],"ratio":0\.1\}\}$/);
  });

  it('a value that is not a JSON object is replaced by a fresh status, never an error', async () => {
    for (const bad of ['not json', '[1,2]', '{"a":', '{"a":1}x', '']) {
      await r.set(`resque:status:${u}`, bad);
      await upd(u, { status: 'working' });
      expect(await r.get(`resque:status:${u}`)).toBe(`{"time":${T + 5},"status":"working","uuid":"${u}"}`);
    }
  });

  it('a missing status gets time, status and uuid first, as Ruby merges them', async () => {
    await upd(u, { name: 'X()', message: 'hi' });
    expect(await r.get(`resque:status:${u}`)).toBe(`{"time":${T + 5},"status":"queued","uuid":"${u}","name":"X()","message":"hi"}`);
  });
});

describe('atomic merges', () => {
  it('concurrent writers of different fields lose nothing (Ruby GET-then-SET would)', async () => {
    const u = 'ffffffffffffffffffffffffffffffff';
    await store.create('statused', 'J', u, {}, { time: T });
    const other = new StatusStore({ connection: { url } });
    await other.connect();
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).update(u, { now: T, fields: updateFields({ [`f${i}`]: i }) })));
    } finally {
      await other.close();
    }
    const v = JSON.parse((await r.get(`resque:status:${u}`))!) as Record<string, unknown>;
    for (let i = 0; i < 50; i++) expect(v[`f${i}`]).toBe(i);
  });
});

describe('expire_in (t2)', () => {
  it('create: SET+EXPIRE, ZADD, ZREMRANGEBYSCORE of older members; updates EXPIRE again or keep the TTL', async () => {
    const old = '11111111111111111111111111111111';
    const u = '22222222222222222222222222222222';
    await r.zadd('resque:_statuses', T - 700, old);
    await store.create('statused', 'StatusJob', u, { total: 1, sleep: 0.1 }, { time: T, expireIn: 600 });
    expect(await r.ttl(`resque:status:${u}`)).toBeGreaterThan(590);
    expect(await r.zrange('resque:_statuses', 0, -1)).toEqual([u]);
    expect(await r.ttl('resque:_statuses')).toBe(-1);
    await r.expire(`resque:status:${u}`, 100);
    await upd(u, { status: 'working' });
    const kept = await r.ttl(`resque:status:${u}`);
    expect(kept).toBeGreaterThan(90);
    expect(kept).toBeLessThanOrEqual(100);
    await upd(u, { status: 'completed' }, { expireIn: 600, notice: '{"status":"completed"}' });
    expect(await r.ttl(`resque:status:${u}`)).toBeGreaterThan(590);
    expect(await r.ttl(`resque:pyres-ts:done:${u}`)).toBeGreaterThan(590);
    expect(await r.ttl(`resque:pyres-ts:done:${u}`)).toBeLessThanOrEqual(600);
  });
});
