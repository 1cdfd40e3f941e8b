/**
 * The baked finish-and-reserve step (store/scripts.ts finishAndReserveBaked): a plain list of
 * two queues or more is reserved from with one LMPOP on Redis 7+, whatever the number of empty
 * queues, in exactly the priority order the per-queue LPOP pass takes, with the same
 * worker:<id> bytes; queue names Lua would misread are baked in as bytes; a user whose ACL
 * lacks +lmpop is served by the LPOP pass in the same step, and the store goes back to the
 * known-empty skipping. Commands are counted by a private redis-server (INFO commandstats).
 */
import Redis from 'ioredis';
import { encodeWorkingOn } from '../../src/protocol/records';
import { RedisStore, type ReserveResult } from '../../src/store/redisStore';
import { finishAndReserveBaked, luaStringLiteral } from '../../src/store/scripts';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis, HOST, registry, Resources, waitFor } from './helpers';

const RUN_AT = '2026-11-22T22:10:47Z';
const WORKER_PW = 'worker-pw';
let srv: RedisServerHandle;
let r: Redis;
let hasLmpop = false;
const stores: RedisStore[] = [];

const job = (tag: string): string => `{"class":"Noop","args":[${JSON.stringify(tag)}]}`;
const queuesN = (n: number): string[] => Array.from({ length: n }, (_, i) => `p${n - i}`);

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
  const version = /redis_version:(\d+)/.exec(await r.info('server'))?.[1];
  hasLmpop = Number(version) >= 7;
  // The README's worker ACL before +lmpop was added to it: every command but LMPOP.
  await r.call(
    ...((
      `ACL SETUSER old-worker on >${WORKER_PW} resetkeys ~resque:* resetchannels &__redis__:invalidate -@all +ping +info +select +time +client|setname ` +
      `+client|id +client|tracking +subscribe +unsubscribe +eval +evalsha +get +set +del +exists +mget +sadd +srem +smembers +sismember +hset +hget +hdel ` +
      `+hmget +hgetall +lpush +rpush +lpop +llen +lrange +ltrim +incrby +append +multi +exec`
    ).split(' ') as [string, ...string[]]),
  );
});
afterAll(async () => {
  await closeRedis(r);
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function newStore(opts: { multiPop?: boolean; user?: string } = {}): Promise<RedisStore> {
  const url = opts.user ? `redis://${opts.user}:${WORKER_PW}@127.0.0.1:${srv.port}` : srv.url;
  const s = new RedisStore({ connection: { url }, namespace: 'resque', name: 'itest:multi-pop', ...(opts.multiPop === false ? { multiPop: false } : {}) });
  stores.push(s);
  await s.connect();
  return s;
}

async function calls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await r.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  delete out['config|resetstat'];
  delete out['info'];
  return out;
}

/** Steps of one worker until every queue is empty: the queue and payload of each reservation, and worker:<id> as it was then. */
async function drain(store: RedisStore, wid: string, queueArgs: readonly string[]): Promise<Array<{ queue: string; raw: string; held: Buffer | null }>> {
  const out: Array<{ queue: string; raw: string; held: Buffer | null }> = [];
  let processed = 0;
  let holding = false;
  for (;;) {
    const res: ReserveResult = await store.finishAndReserve(
      wid,
      { mode: holding ? 'success' : 'none', expectedProcessed: processed },
      { runAt: RUN_AT, queueArgs },
    );
    processed = res.processed;
    holding = res.status === 'job';
    if (res.status !== 'job') {
      expect(res.status).toBe('empty');
      expect(await r.exists(`resque:worker:${wid}`)).toBe(0);
      return out;
    }
    out.push({ queue: res.queue, raw: res.raw, held: await r.getBuffer(`resque:worker:${wid}`) });
  }
}

test.each([10, 100, 200, 250, 1000])('%i queues, work in the last: a success-and-reserve step is EVALSHA + MGET, INCRBY x2, LMPOP, SET', async n => {
  if (!hasLmpop) return expect(hasLmpop).toBe(false);
  const store = await newStore();
  const queueArgs = ['0', ...queuesN(n)];
  await r.rpush('resque:queue:p1', job('a'), job('b'));
  const wid = `${HOST}:1:${queuesN(n).join(',')}`;
  const first = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs });
  expect(first).toMatchObject({ status: 'job', queue: 'p1', raw: job('a') });
  await r.config('RESETSTAT');
  const second = await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: first.processed }, { runAt: RUN_AT, queueArgs });
  expect(second).toMatchObject({ status: 'job', queue: 'p1', raw: job('b'), processed: 1 });
  expect(await calls()).toEqual({ evalsha: 1, mget: 1, incrby: 2, lmpop: 1, set: 1 });
  expect(store.popsQueueListAtOnce).toBe(true);
  expect(await r.get(`resque:worker:${wid}`)).toBe(encodeWorkingOn('p1', RUN_AT, job('b')));
});

test('priority order, queue names and worker:<id> bytes are those of the per-queue LPOP pass', async () => {
  // Names Lua source would misread, a name that is another's prefix, an empty-looking one.
  const names = ["it's", 'back\\slash', 'a]]b', 'new\nline', 'é q', 'p1', 'p10', '-', 'last'];
  const queueArgs = ['0', ...names];
  const big = `{"class":"Noop","args":["${'x'.repeat(10240)}"]}`;
  const fill = async (): Promise<void> => {
    await r.rpush('resque:queue:last', job('l1'), job('l2'));
    await r.rpush('resque:queue:p10', job('p10'), big);
    await r.rpush('resque:queue:é q', job('e1'));
    await r.rpush("resque:queue:it's", job('q1'), job('q2'));
    await r.rpush('resque:queue:new\nline', job('nl'));
  };
  await fill();
  const baked = await drain(await newStore(), `${HOST}:2:x`, queueArgs);
  await fill();
  const passes = await drain(await newStore({ multiPop: false }), `${HOST}:2:x`, queueArgs);
  expect(baked.map(b => b.queue)).toEqual(["it's", "it's", 'new\nline', 'é q', 'p10', 'p10', 'last', 'last']);
  expect(baked.map(b => [b.queue, b.raw])).toEqual(passes.map(p => [p.queue, p.raw]));
  for (const [i, b] of baked.entries()) {
    expect(b.held?.equals(passes[i]!.held!)).toBe(true);
    expect(b.held?.toString('utf8')).toBe(encodeWorkingOn(b.queue, RUN_AT, b.raw));
  }
});

test('the Lua literal of a name is its bytes, and a list outside 2..1000 queues is refused', async () => {
  for (const s of ["it's", '\\', ']]', '\n', 'é', '\u0000', 'a1', '007']) {
    expect(await r.eval(`return ${luaStringLiteral(s)}`, 0)).toBe(s);
  }
  expect(() => finishAndReserveBaked('resque:queue:', ['one'])).toThrow(RangeError);
  expect(() => finishAndReserveBaked('resque:queue:', queuesN(1001))).toThrow(RangeError);
});

test('an ACL without +lmpop: the step takes the LPOP pass, and the store goes back to the known-empty skipping', async () => {
  const store = await newStore({ user: 'old-worker' });
  const queueArgs = ['0', 'c', 'b', 'a'];
  await r.rpush('resque:queue:a', job('a1'), job('a2'), job('a3'));
  await r.rpush('resque:queue:b', job('b1'));
  await r.config('RESETSTAT');
  const got = await drain(store, `${HOST}:3:c,b,a`, queueArgs);
  expect(got.map(g => g.raw)).toEqual([job('b1'), job('a1'), job('a2'), job('a3')]);
  for (const g of got) expect(g.held?.toString('utf8')).toBe(encodeWorkingOn(g.queue, RUN_AT, g.raw));
  expect(store.popsQueueListAtOnce).toBe(false);
  // Refused once, in the first step; then the generic script (LMPOP not tried again).
  const stats = await r.info('commandstats');
  expect(/^cmdstat_lmpop:.*rejected_calls=(\d+)/m.exec(stats)?.[1] ?? '0').toBe(hasLmpop ? '1' : '0');
  expect(/^cmdstat_lmpop:calls=(\d+)/m.exec(stats)?.[1] ?? '0').toBe('0');
});

test('multiPop: false never tries LMPOP', async () => {
  const store = await newStore({ multiPop: false });
  await r.rpush('resque:queue:a', job('a1'));
  await r.config('RESETSTAT');
  expect(await drain(store, `${HOST}:4:c,b,a`, ['0', 'c', 'b', 'a'])).toHaveLength(1);
  expect(store.popsQueueListAtOnce).toBe(false);
  expect((await calls())['lmpop']).toBeUndefined();
});

test('a worker on p3,p2,p1 under load: notifications off, and a job pushed to p3 mid-drain is the next one it takes', async () => {
  if (!hasLmpop) return expect(hasLmpop).toBe(false);
  const res = new Resources(srv.url);
  try {
    const tracking = async (): Promise<string> =>
      String(await r.call('CLIENT', 'LIST'))
        .split('\n')
        .filter(l => /flags=\S*t/.test(l))
        .join('\n');
    const order: string[] = [];
    let trackingDuringJob4: string | null = null;
    const jobs = registry({
      Step: {
        perform: async (i: number) => {
          order.push(`s${i}`);
          if (i === 1) await r.rpush('resque:queue:p3', '{"class":"Top","args":[]}');
          // Two jobs in a row: the worker has sent CLIENT TRACKING OFF on its own connection
          // before its next step, so no connection tracks by now.
          if (i === 4) trackingDuringJob4 = await tracking();
        },
      },
      Top: { perform: () => void order.push('top') },
    });
    const w = res.worker({ queues: 'p3,p2,p1', jobs });
    await w.start();
    // Idle, it waits on queue notifications: its connection tracks the queue keys.
    await waitFor(async () => (await tracking()) !== '', 'the idle worker tracking the queue keys');
    await r.rpush('resque:queue:p1', ...Array.from({ length: 6 }, (_, i) => `{"class":"Step","args":[${i}]}`));
    await waitFor(async () => (await r.get('resque:stat:processed')) === '7', 'seven jobs done');
    await w.stop();
    expect(order).toEqual(['s0', 's1', 'top', 's2', 's3', 's4', 's5']);
    expect(trackingDuringJob4).toBe('');
    expect(await r.get('resque:stat:processed')).toBe('7');
  } finally {
    await res.closeAll();
  }
});

test("two stores over one caller's connection, each with its own list, each reserve from their own", async () => {
  const shared = new Redis(srv.url);
  try {
    const a = new RedisStore({ client: shared, namespace: 'resque' });
    const b = new RedisStore({ client: shared, namespace: 'resque' });
    await a.connect();
    await b.connect();
    await r.rpush('resque:queue:x1', job('x'));
    await r.rpush('resque:queue:y1', job('y'));
    const none = { mode: 'none' as const, expectedProcessed: 0 };
    const ra = await a.finishAndReserve(`${HOST}:5:a`, none, { runAt: RUN_AT, queueArgs: ['0', 'x2', 'x1'] });
    const rb = await b.finishAndReserve(`${HOST}:5:b`, none, { runAt: RUN_AT, queueArgs: ['0', 'y2', 'y1'] });
    expect(ra).toMatchObject({ status: 'job', queue: 'x1', raw: job('x') });
    expect(rb).toMatchObject({ status: 'job', queue: 'y1', raw: job('y') });
    // Both lists' scripts are defined on the one connection now: a's next step is still a's list.
    await r.rpush('resque:queue:x1', job('x again'));
    await r.rpush('resque:queue:y1', job('y again'));
    const ra2 = await a.finishAndReserve(`${HOST}:5:a`, { mode: 'success', expectedProcessed: ra.processed }, { runAt: RUN_AT, queueArgs: ['0', 'x2', 'x1'] });
    expect(ra2).toMatchObject({ status: 'job', queue: 'x1', raw: job('x again') });
    await a.close();
    await b.close();
  } finally {
    await closeRedis(shared);
  }
});

test('a baked step after SCRIPT FLUSH (NOSCRIPT) goes again as EVAL of its own script and reserves from its list', async () => {
  if (!hasLmpop) throw new Error('this test needs Redis 7 (LMPOP)');
  const s = await newStore();
  const id = `${HOST}:6:flush`;
  const list = ['0', 'q3', 'q2', 'q1'];
  await r.rpush('resque:queue:q1', job('one'), job('two'));
  const first = await s.finishAndReserve(id, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: list });
  expect(first).toMatchObject({ status: 'job', queue: 'q1', raw: job('one') });
  await r.script('FLUSH');
  const before = await calls();
  const second = await s.finishAndReserve(id, { mode: 'success', expectedProcessed: first.processed }, { runAt: RUN_AT, queueArgs: list });
  expect(second).toMatchObject({ status: 'job', queue: 'q1', raw: job('two') });
  const after = await calls();
  // One NOSCRIPT'd EVALSHA, then one EVAL of the baked text (which pops with LMPOP, not LPOP).
  expect((after['evalsha'] ?? 0) - (before['evalsha'] ?? 0)).toBe(1);
  expect((after['eval'] ?? 0) - (before['eval'] ?? 0)).toBe(1);
  expect((after['lmpop'] ?? 0) - (before['lmpop'] ?? 0)).toBe(1);
  expect(await r.get('resque:stat:processed')).toBe('1');
});
