/**
 * A worker survives a dropped connection and a Redis restart, on a private redis-server:
 * it carries on, keeps (or restores) its registration, and counts each job exactly once.
 */
import type Redis from 'ioredis';
import type { Worker } from '../../src';
import { flushTestDb, type RedisServerHandle, startRedis } from '../support/redisServer';
import { HOST, keys, registry, Resources, sleep, waitFor, watch } from './helpers';

let srv: RedisServerHandle;
let res: Resources;
let r: Redis;

beforeAll(async () => {
  srv = await startRedis();
});

afterAll(async () => {
  await srv?.stop();
});

beforeEach(async () => {
  await flushTestDb(srv.url);
  res = new Resources(srv.url);
  r = res.redis();
});

afterEach(async () => {
  await res.closeAll();
});

/** The worker's own connections (main and wake; not the liveness thread's), by the names the store gives them. */
async function workerConnections(rr: Redis, w: Worker): Promise<string[]> {
  const list = (await rr.client('LIST')) as string;
  return list
    .split('\n')
    .map(l => / name=(\S*)/.exec(l)?.[1] ?? '')
    .filter(n => n.startsWith(`pyres-ts:worker:${w.pid}`) && !n.endsWith(':liveness'));
}

async function registration(rr: Redis, id: string): Promise<{ member: number; started: boolean; heartbeat: boolean }> {
  return {
    member: await rr.sismember(keys.workers, id),
    started: (await rr.get(keys.workerStarted(id))) !== null,
    heartbeat: (await rr.hget(keys.heartbeats, id)) !== null,
  };
}

async function stats(rr: Redis, id: string): Promise<Record<string, string | number | null>> {
  return {
    processed: await rr.get(keys.stat('processed')),
    processedW: await rr.get(keys.stat('processed', id)),
    failed: await rr.get(keys.stat('failed')),
    failedList: await rr.llen(keys.failed),
    working: await rr.get(keys.worker(id)),
  };
}

async function enqueue(rr: Redis, queue: string, cls: string, ...args: unknown[]): Promise<void> {
  await rr.sadd(keys.queues, queue);
  await rr.rpush(keys.queue(queue), JSON.stringify({ class: cls, args }));
}

describe('CLIENT KILL TYPE normal', () => {
  it('while idle: the worker reconnects, stays registered and works the next job once', async () => {
    const calls: unknown[][] = [];
    const w = res.worker({ queues: 'p10', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    const seen = watch(w);
    const reconnected = new Promise<void>(resolve => w.store.once('reconnected', () => resolve()));
    await w.start();
    await enqueue(r, 'p10', 'Echo', 'before');
    await waitFor(() => seen.successes === 1, 'the first job');
    await sleep(100);

    const killed = Number(await r.client('KILL', 'TYPE', 'normal'));
    expect(killed).toBeGreaterThanOrEqual(1);
    await reconnected;
    await waitFor(async () => (await workerConnections(r, w)).length >= 1, 'the worker to reconnect');

    const t0 = Date.now();
    await enqueue(r, 'p10', 'Echo', 'after');
    await waitFor(() => seen.successes === 2, 'the job after the kill', 15000);
    const latency = Date.now() - t0;
    expect(calls).toEqual([['before'], ['after']]);
    expect(seen.failures).toEqual([]);
    await sleep(300);
    expect(await stats(r, w.id)).toEqual({ processed: '2', processedW: '2', failed: null, failedList: 0, working: null });
    expect(await registration(r, w.id)).toEqual({ member: 1, started: true, heartbeat: true });
    expect(w.state).toBe('idle');
    // Not a correctness requirement, but the blocking wait must not starve: at most one blockTimeout (5 s).
    expect(latency).toBeLessThan(6500);
  });

  it('while a job runs: the job completes once, stats +1 exactly, registration intact', async () => {
    const gate = res.gate();
    let runs = 0;
    const w = res.worker({
      queues: 'p10',
      jobs: registry({
        Slow: async () => {
          runs += 1;
          await gate.promise;
        },
        Echo: () => undefined,
      }),
    });
    const seen = watch(w);
    await w.start();
    await enqueue(r, 'p10', 'Slow');
    await waitFor(() => runs === 1, 'the job to start');
    expect(await r.get(keys.worker(w.id))).not.toBeNull();

    expect(Number(await r.client('KILL', 'TYPE', 'normal'))).toBeGreaterThanOrEqual(1);
    await sleep(200);
    gate.resolve();
    await waitFor(() => seen.successes === 1, 'the job to finish');
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '1', 'stat:processed');
    await sleep(500);
    expect(runs).toBe(1);
    expect(await stats(r, w.id)).toEqual({ processed: '1', processedW: '1', failed: null, failedList: 0, working: null });
    expect(await registration(r, w.id)).toEqual({ member: 1, started: true, heartbeat: true });

    await enqueue(r, 'p10', 'Echo');
    await waitFor(() => seen.successes === 2, 'a job after that', 15000);
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '2', 'stat:processed = 2');
    expect(runs).toBe(1);
  });

  it('killed again and again during a stream of short jobs: every job runs once and counts once', async () => {
    const N = 150;
    const runs = new Map<number, number>();
    const w = res.worker({
      queues: 'p10,p9',
      jobs: registry({
        Tick: async (i: number) => {
          runs.set(i, (runs.get(i) ?? 0) + 1);
          await sleep(1);
        },
      }),
    });
    const seen = watch(w);
    await w.start();
    for (let i = 0; i < N; i++) await enqueue(r, i % 2 ? 'p9' : 'p10', 'Tick', i);
    let kills = 0;
    let stop = false;
    const killer = (async () => {
      while (!stop) {
        kills += Number(await r.client('KILL', 'TYPE', 'normal'));
        await sleep(7 + Math.floor(Math.random() * 10));
      }
    })();
    try {
      await waitFor(() => seen.successes + seen.failures.length >= N, `${N} jobs`, 25000);
    } finally {
      stop = true;
      await killer;
    }
    expect(kills).toBeGreaterThan(5);
    await waitFor(async () => Number(await r.get(keys.stat('processed'))) >= N, 'stat:processed', 10000);
    await sleep(300);
    expect(seen.failures).toEqual([]);
    expect([...runs.values()].filter(n => n !== 1)).toEqual([]);
    expect(runs.size).toBe(N);
    expect(await stats(r, w.id)).toEqual({ processed: String(N), processedW: String(N), failed: null, failedList: 0, working: null });
    expect(await registration(r, w.id)).toEqual({ member: 1, started: true, heartbeat: true });
  }, 60000);
});

describe('CLIENT KILL TYPE pubsub (the queue-change subscriber)', () => {
  it('the worker still gets to a job pushed afterwards', async () => {
    const calls: unknown[][] = [];
    const w = res.worker({ queues: 'p10', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    await w.start();
    await enqueue(r, 'p10', 'Echo', 1);
    await waitFor(() => calls.length === 1, 'the first job');
    await sleep(200);
    await r.client('KILL', 'TYPE', 'pubsub');
    await sleep(200);
    const t0 = Date.now();
    await enqueue(r, 'p10', 'Echo', 2);
    await waitFor(() => calls.length === 2, 'the job after the kill', 15000);
    expect(Date.now() - t0).toBeLessThan(6500);
    expect(await registration(r, w.id)).toEqual({ member: 1, started: true, heartbeat: true });
  });
});

describe('queue-change notifications after a reconnect', () => {
  // Baseline: an idle worker in blocking mode picks a pushed job up within milliseconds, because
  // CLIENT TRACKING tells it the queue changed. After a reconnect the tracking state is gone
  // (it lives on the dropped connection), but the loop still believes it is armed and sleeps
  // out its whole blockTimeout (5 s) before it looks again. See the report.
  it.each([['normal'], ['pubsub']])('an idle worker picks up a job promptly after CLIENT KILL TYPE %s', async type => {
    const calls: unknown[][] = [];
    const w = res.worker({ queues: 'p10', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    await w.start();
    await enqueue(r, 'p10', 'Echo', 1);
    await waitFor(() => calls.length === 1, 'the first job');
    await sleep(300);
    const before = Date.now();
    await enqueue(r, 'p10', 'Echo', 2);
    await waitFor(() => calls.length === 2, 'the second job');
    expect(Date.now() - before).toBeLessThan(1000); // notifications work
    await sleep(300);

    await r.client('KILL', 'TYPE', type);
    await waitFor(async () => (await workerConnections(r, w)).length === 2, 'both worker connections back');
    await sleep(300);
    const t0 = Date.now();
    await enqueue(r, 'p10', 'Echo', 3);
    await waitFor(() => calls.length === 3, 'the job after the kill', 15000);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('Redis restart', () => {
  async function privateServer(appendonly: boolean): Promise<{ handle: RedisServerHandle; rr: Redis; res2: Resources }> {
    const handle = await startRedis({ appendonly });
    const res2 = new Resources(handle.url);
    // Workers first, then the server, then the raw connection.
    res.onClose(async () => {
      await res2.closeAll();
      await handle.stop();
    });
    return { handle, rr: res2.redis(), res2 };
  }

  it('appendonly server restarted while the worker is idle: it reconnects, re-registers and works a new job', async () => {
    const { handle, rr, res2 } = await privateServer(true);
    const calls: unknown[][] = [];
    const w = res2.worker({ queues: 'p10', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    const seen = watch(w);
    await w.start();
    await enqueue(rr, 'p10', 'Echo', 'before');
    await waitFor(() => seen.successes === 1, 'the first job');
    await waitFor(async () => (await rr.get(keys.stat('processed', w.id))) === '1', 'stats');

    // Make re-registration observable: the AOF keeps this SREM and this stale heartbeat, so only
    // the worker itself can put them right after the restart.
    await rr.srem(keys.workers, w.id);
    await rr.hset(keys.heartbeats, w.id, '2000-01-01T00:00:00+00:00');
    const oldPid = handle.pid;
    const reconnected = new Promise<void>(resolve => w.store.once('reconnected', () => resolve()));
    await handle.restart();
    expect(handle.pid).not.toBe(oldPid);
    await reconnected;

    await waitFor(async () => (await rr.sismember(keys.workers, w.id)) === 1, 'the worker in `workers` again', 15000);
    await waitFor(async () => (await rr.hget(keys.heartbeats, w.id)) !== '2000-01-01T00:00:00+00:00', 'a fresh heartbeat', 15000);
    expect(await registration(rr, w.id)).toEqual({ member: 1, started: true, heartbeat: true });
    expect(await rr.get(keys.stat('processed'))).toBe('1'); // persisted by the AOF

    const t0 = Date.now();
    await enqueue(rr, 'p10', 'Echo', 'after');
    await waitFor(() => seen.successes === 2, 'the job after the restart', 15000);
    expect(Date.now() - t0).toBeLessThan(6500);
    expect(calls).toEqual([['before'], ['after']]);
    await waitFor(async () => (await rr.get(keys.stat('processed'))) === '2', 'stat:processed = 2');
    expect(await stats(rr, w.id)).toEqual({ processed: '2', processedW: '2', failed: null, failedList: 0, working: null });
    expect(w.id.startsWith(`${HOST}:`)).toBe(true);
  });

  it('server restarted with its data lost: the worker registers again from scratch and works a new job', async () => {
    const { handle, rr, res2 } = await privateServer(false);
    const calls: unknown[][] = [];
    const w = res2.worker({ queues: 'p10', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    const seen = watch(w);
    await w.start();
    await enqueue(rr, 'p10', 'Echo', 'before');
    await waitFor(() => seen.successes === 1, 'the first job');

    await handle.restart();
    await waitFor(async () => (await registration(rr, w.id)).member === 1, 'the worker in `workers` again', 15000);
    await waitFor(async () => (await registration(rr, w.id)).heartbeat, 'a heartbeat again', 15000);
    expect(await registration(rr, w.id)).toEqual({ member: 1, started: true, heartbeat: true });

    await enqueue(rr, 'p10', 'Echo', 'after');
    await waitFor(() => seen.successes === 2, 'the job after the restart', 15000);
    expect(calls).toEqual([['before'], ['after']]);
    await waitFor(async () => (await rr.get(keys.stat('processed'))) === '1', 'stat:processed');
    expect(await stats(rr, w.id)).toEqual({ processed: '1', processedW: '1', failed: null, failedList: 0, working: null });
  });
});
