/**
 * A wait ends at once when its signal aborts (issue 12): a real `pyres-ts worker` whose status job
 * waits on a job nothing runs, given USR1 and TERM (the wait takes the job's own signal by
 * default), and a Client's wait aborted while Redis is SIGSTOPped. Each time the BLPOP connection
 * is gone (CLIENT LIST) and no job is lost.
 */
process.env.TZ = 'UTC';
import Redis from 'ioredis';
import { Client } from '../../src/producer/client';
import { WaitAbortedError } from '../../src/status/wait';
import { k, processTestEnv, waitFor } from '../process/helpers';
import { startRedis } from '../support/redisServer';
import { spawnCli } from '../support/spawn';

const env = processTestEnv();
const JOBS = 'fixtures/jobs/status.js';
let client: Client;
beforeEach(async () => {
  client = await new Client({ connection: { url: env.url } }).connect();
});
afterEach(async () => {
  await client.close();
});

/** CLIENT LIST lines of status-wait connections (a waiter's BLPOP connection) on this server. */
async function waiters(redis: Redis): Promise<string[]> {
  return ((await redis.call('CLIENT', 'LIST')) as string).split('\n').filter(l => /\bname=pyres-ts:status-wait\b/.test(l));
}
const blocked = (redis: Redis) =>
  waitFor(async () => (await waiters(redis)).some(l => /\bcmd=(blpop|brpoplpush)\b/.test(l)) || null, 10_000, 'a waiter blocked (BRPOPLPUSH)');
const idOf = (line: string): string => /\bid=(\d+)/.exec(line)?.[1] ?? '';
/**
 * The waiter connections that appeared since `before` (CLIENT LIST ids): the ones this test's
 * worker opened. The server is shared with the other test files' processes (another jest worker,
 * another db), whose waiters come and go on their own.
 */
async function newWaiters(redis: Redis, before: ReadonlySet<string>): Promise<Set<string>> {
  return new Set((await waiters(redis)).map(idOf).filter(id => !before.has(id)));
}
const gone = async (redis: Redis, ids: ReadonlySet<string>): Promise<string[]> => (await waiters(redis)).filter(l => ids.has(idOf(l)));

/** A worker (--term-timeout 30) whose WaitOnNobody job is blocked in its wait, and that wait's connections. */
async function workerWaitingOnNobody() {
  const { proc, id } = await env.startWorker(['--term-timeout', '30'], 'statused', { jobs: [JOBS] });
  const before = new Set((await waiters(env.redis)).map(idOf));
  const uuid = (await client.enqueueStatus('statused', 'WaitOnNobody', {}))!;
  await env.waitForLedger(new RegExp(`WaitOnNobody ${uuid} waiting`));
  await blocked(env.redis);
  const ours = await newWaiters(env.redis, before);
  expect(ours.size).toBeGreaterThan(0);
  return { proc, id, uuid, ours };
}

describe('a job waiting on a job that nothing runs', () => {
  it('USR1: the wait rejects at once, the job ends aborted (DirtyExit), its BLPOP connection is gone, the child stays queued', async () => {
    const { proc, id, uuid, ours } = await workerWaitingOnNobody();
    proc.kill('SIGUSR1');
    const [f] = await waitFor(() => env.failures().then(l => (l.length ? l : null)), 10_000, 'the aborted job recorded');
    const rec = JSON.parse(f!);
    expect(rec).toMatchObject({ exception: 'Resque::DirtyExit', payload: { class: 'WaitOnNobody', args: [uuid, {}] }, worker: id });
    // Ended by the wait's own rejection, not abandoned at the 30 s deadline.
    expect(rec.error).toMatch(/^Job aborted by SIGUSR1: aborted waiting for 1 job: [0-9a-f]{32} \(Job aborted by SIGUSR1\)$/);
    expect(env.ledgerLines()).toContain(`WaitOnNobody ${uuid} AbortError: ${rec.error.replace(/^Job aborted by SIGUSR1: /, '')}`);
    // The worker is alive and idle, and no waiter connection is left behind.
    await waitFor(async () => (await env.redis.exists(k(`worker:${id}`))) === 0, 10_000, 'the worker idle');
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    await waitFor(async () => (await gone(env.redis, ours)).length === 0, 10_000, 'no status-wait connection of the worker');
    // No job lost: the child is still queued with its queued status; the waiting job's status is failed.
    const [child] = await env.redis.lrange(k('queue:nobody'), 0, -1);
    const childUuid = JSON.parse(child!).args[0] as string;
    expect((await client.getStatus(childUuid))!.state).toBe('queued');
    expect((await client.getStatus(uuid))!.state).toBe('failed');
    proc.kill('SIGTERM');
    expect((await proc.waitForEnd(15_000)).code).toBe(0);
    await env.expectUnregistered(id);
  });

  it('TERM: the worker stops before its --term-timeout, the job recorded as an aborted job, nothing lost', async () => {
    const { proc, id, uuid, ours } = await workerWaitingOnNobody();
    proc.kill('SIGTERM');
    const end = await proc.waitForEnd(40_000);
    expect(end.code).toBe(0);
    const fails = (await env.failures()).map(f => JSON.parse(f));
    expect(fails).toHaveLength(1);
    // The job's own end (the wait's rejection), not the deadline's "still running after 30s; worker exited".
    expect(fails[0]).toMatchObject({ exception: 'Resque::DirtyExit', error: expect.stringMatching(/^Job aborted by SIGTERM: aborted waiting for 1 job: /) });
    expect(proc.lines().join('\n')).not.toMatch(/still running after/);
    expect(proc.lines().join('\n')).toMatch(/aborting WaitOnNobody \(SIGTERM\)/);
    await env.expectUnregistered(id);
    expect(await gone(env.redis, ours)).toEqual([]);
    expect(await env.redis.llen(k('queue:nobody'))).toBe(1);
    expect((await client.getStatus(uuid))!).toMatchObject({ state: 'failed', message: expect.stringMatching(/aborted waiting for 1 job/) });
  });
});

describe('an aborted wait against a silent Redis', () => {
  it('a worker given TERM while Redis is SIGSTOPped during the wait: it exits, and the job is not lost', async () => {
    const srv = await startRedis();
    const r = new Redis(srv.url, { maxRetriesPerRequest: 1 });
    const c = await new Client({ connection: { url: srv.url } }).connect();
    const opts = { ...env.spawnOpts(), redisUrl: srv.url };
    const proc = spawnCli(['worker', '--queues', 'statused', '--jobs', JOBS, '--term-timeout', '2', '--redis-timeout', '1', '-l', 'debug'], opts);
    try {
      await proc.waitForLine(/registered;/, 8000);
      const uuid = (await c.enqueueStatus('statused', 'WaitOnNobody', {}))!;
      await env.waitForLedger(new RegExp(`WaitOnNobody ${uuid} waiting`));
      await blocked(r);
      process.kill(srv.pid, 'SIGSTOP');
      proc.kill('SIGTERM');
      // The wait ends on the abort, although Redis answers nothing.
      await env.waitForLedger(new RegExp(`WaitOnNobody ${uuid} AbortError: aborted waiting for 1 job`));
      const end = await proc.waitForEnd(30_000);
      expect(end.signal).toBeNull();
      process.kill(srv.pid, 'SIGCONT');
      // Not lost: its failure record (written once Redis runs again: the status write on the silent Redis
      // held the job past --term-timeout, so it is the deadline's DirtyExit), or the worker's record for the next prune.
      // (What the exited worker left in its sockets is read by Redis once it runs again: polled.)
      const found = await waitFor(
        async () => {
          const failures = (await r.lrange('resque:failed', 0, -1)).map(f => JSON.parse(f));
          if (failures.some(f => f.payload?.args?.[0] === uuid)) return 'failed';
          const working = await r.keys('resque:worker:*');
          if ((await Promise.all(working.map(key => r.get(key)))).some(v => v?.includes(uuid))) return 'worker record';
          return null;
        },
        10_000,
        'the job in a failure record or its worker record',
      );
      expect(['failed', 'worker record']).toContain(found);
      expect(await r.llen('resque:queue:nobody')).toBe(1);
      await waitFor(async () => (await waiters(r)).length === 0, 10_000, 'no status-wait connection');
    } finally {
      try {
        process.kill(srv.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      proc.kill('SIGKILL');
      r.disconnect();
      await c.close();
      await srv.stop();
    }
  });

  it('rejects at once while Redis is SIGSTOPped; its BLPOP connection is gone once Redis runs again', async () => {
    const srv = await startRedis();
    const c = await new Client({ connection: { url: srv.url, timeout: 30 } }).connect();
    const probe = new Redis(srv.url, { maxRetriesPerRequest: 1 });
    try {
      const uuid = (await c.enqueueStatus('statused', 'Square', { n: 1 }))!;
      const ac = new AbortController();
      const w = c.waitForJobs([uuid], { signal: ac.signal }).catch(e => e);
      await blocked(probe);
      process.kill(srv.pid, 'SIGSTOP');
      ac.abort(new Error('stop now'));
      // Settles while the server is still stopped: nothing waits on Redis.
      const err = await w;
      expect(err).toBeInstanceOf(WaitAbortedError);
      expect(err).toMatchObject({ name: 'AbortError', pending: [uuid], message: `aborted waiting for 1 job: ${uuid} (stop now)` });
      expect((err as WaitAbortedError).cause).toEqual(new Error('stop now'));
      // An already aborted signal: rejected before anything is sent; enqueueAndWait enqueues nothing.
      await expect(c.waitForJobs([uuid], { signal: ac.signal })).rejects.toBeInstanceOf(WaitAbortedError);
      await expect(c.enqueueAndWait('statused', 'Square', { n: 2 }, { signal: ac.signal })).rejects.toBeInstanceOf(WaitAbortedError);
      process.kill(srv.pid, 'SIGCONT');
      await waitFor(async () => (await waiters(probe)).length === 0, 10_000, 'the waiter connection closed');
      expect(await probe.llen('resque:queue:statused')).toBe(1);
    } finally {
      try {
        process.kill(srv.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      probe.disconnect();
      await c.close();
      await srv.stop();
    }
  });
});
