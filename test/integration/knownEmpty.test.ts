/**
 * Queues known empty are skipped by finish-and-reserve while queue notifications are on, and
 * never otherwise; a write to a skipped queue (seen through its notification) puts it back at
 * once, in priority order. LPOPs are counted by the server (INFO commandstats) of a private
 * redis-server, so nothing else's traffic is counted. The known-empty skipping serves servers
 * without LMPOP (Redis < 7, or an ACL without it): the store is told to reserve as on those
 * (`multiPop: false`); test/integration/multiPop.test.ts covers the LMPOP step.
 */
import Redis from 'ioredis';
import { RedisStore } from '../../src/store/redisStore';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis, HOST, waitFor } from './helpers';

const WID = `${HOST}:4242:a,b,c`;
const QUEUE_ARGS = ['0', 'a', 'b', 'c'];
const JOB = '{"class":"Noop","args":[]}';
let srv: RedisServerHandle;
let r: Redis;
let store: RedisStore;

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
});
afterAll(async () => {
  await closeRedis(r);
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
  store = new RedisStore({ connection: { url: srv.url }, namespace: 'resque', name: 'itest:known-empty', multiPop: false });
  await store.connect();
});
afterEach(async () => {
  await store.close();
});

async function lpops(): Promise<number> {
  const m = /^cmdstat_lpop:calls=(\d+)/m.exec(await r.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

let processed = 0;
let holding = false;
/** One success-and-reserve step (the first: nothing to finish); returns the queue it reserved from. */
async function step(): Promise<string> {
  const first = !holding;
  const res = await store.finishAndReserve(
    WID,
    { mode: first ? 'none' : 'success', expectedProcessed: processed },
    { runAt: '2026-11-22T22:10:47Z', queueArgs: QUEUE_ARGS },
  );
  processed = res.processed;
  holding = res.status === 'job';
  return res.status === 'job' ? res.queue : res.status;
}

beforeEach(() => {
  processed = 0;
  holding = false;
});

test('with notifications on, a and b found empty are skipped until a write to a is notified; then a comes first again', async () => {
  expect(await store.armQueueNotifications()).toBe(true);
  await r.rpush('resque:queue:c', JOB, JOB, JOB, JOB);
  // The push's own notification must be in before the first step, or that step marks nothing.
  await waitFor(() => store.notificationCount > 0, 'the push to c notified');
  const base = await lpops();
  expect(await step()).toBe('c');
  expect((await lpops()) - base).toBe(3); // a, b, c
  expect(await step()).toBe('c');
  expect((await lpops()) - base).toBe(4); // c only
  const seen = store.notificationCount;
  await r.rpush('resque:queue:a', JOB);
  await waitFor(() => store.notificationCount > seen, 'the push to a notified');
  expect(await step()).toBe('a');
  expect((await lpops()) - base).toBe(5); // a (b still known empty)
  expect(await step()).toBe('c');
});

test('without notifications every step tries every queue', async () => {
  await r.rpush('resque:queue:c', JOB, JOB, JOB);
  const base = await lpops();
  expect(await step()).toBe('c');
  expect(await step()).toBe('c');
  expect(await step()).toBe('c');
  expect((await lpops()) - base).toBe(9);
});

test('turning notifications off forgets what was known empty', async () => {
  expect(await store.armQueueNotifications()).toBe(true);
  await r.rpush('resque:queue:c', JOB, JOB, JOB);
  await waitFor(() => store.notificationCount > 0, 'the push to c notified');
  expect(await step()).toBe('c');
  await store.disarmQueueNotifications();
  // Unnotified now: a push to b must still be found, first.
  await r.rpush('resque:queue:b', JOB);
  const base = await lpops();
  expect(await step()).toBe('b');
  expect((await lpops()) - base).toBe(2); // a, b
});

test("this connection's own push (enqueue, not notified to it: NOLOOP) is never skipped", async () => {
  expect(await store.armQueueNotifications()).toBe(true);
  await r.rpush('resque:queue:c', JOB, JOB, JOB);
  await waitFor(() => store.notificationCount > 0, 'the push to c notified');
  expect(await step()).toBe('c');
  expect(await step()).toBe('c');
  await store.enqueue('a', JOB);
  expect(await step()).toBe('a');
});
