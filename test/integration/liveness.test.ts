/**
 * The liveness thread from the library side: it starts from dist when the Worker is imported
 * from src, has its own connection, is stopped before the worker unregisters, and a thread that
 * dies does not take the worker with it (the heartbeat goes on from the main thread).
 */
import type Redis from 'ioredis';
import { ConfigError } from '../../src/errors';
import { JobRegistry } from '../../src/jobs/registry';
import { WorkerPool } from '../../src/worker/slotPool';
import { Worker } from '../../src/worker/worker';
import { testDbUrl } from '../support/redisServer';
import { keys, registry, type Resources, testLogger, waitFor, useResources } from './helpers';

const url = testDbUrl();
let res: Resources;
let r: Redis;

useResources(url, (x, y) => ((res = x), (r = y)));

async function connectionNames(): Promise<string[]> {
  const list = (await r.client('LIST')) as string;
  return list.split('\n').map(l => / name=(\S*)/.exec(l)?.[1] ?? '');
}

interface LivenessInternals {
  liveness: { mode: string; thread: { terminate(): Promise<number> } | null; threadReady: Promise<boolean>; launchThread(): Promise<void> } | null;
}

describe('the liveness thread', () => {
  it('runs with its own connection, beats, and is gone (with every trace of the worker) after stop', async () => {
    const w = res.worker({ queues: 'q', jobs: registry({ Quick: () => undefined }), heartbeatInterval: 1 });
    const launched: string[] = [];
    await w.start();
    const l = (w as unknown as LivenessInternals).liveness!;
    (l as unknown as NodeJS.EventEmitter).on('launched', (m: string) => launched.push(m));
    // Idle and just registered: the thread is not started yet (it boots soon after, or at the
    // first job); the first heartbeat came from the worker's own connection.
    expect(l.mode).toBe('off');
    expect(await r.sismember(keys.workers, w.id)).toBe(1);
    expect(await r.hget(keys.heartbeats, w.id)).toBeTruthy();
    expect(await connectionNames()).not.toContain(`pyres-ts:worker:${w.pid}:liveness`);
    expect(await l.threadReady).toBe(true);
    expect(launched).toEqual(['thread']);
    expect(l.mode).toBe('thread');
    expect(await connectionNames()).toContain(`pyres-ts:worker:${w.pid}:liveness`);
    const first = await r.hget(keys.heartbeats, w.id);
    await waitFor(async () => (await r.hget(keys.heartbeats, w.id)) !== first, 'a newer heartbeat', 3000, 50);
    expect(await r.hget(keys.pidNamespaces, w.id)).toMatch(/^pid:\[\d+\]@/);
    await w.stop();
    expect(await r.hexists(keys.heartbeats, w.id)).toBe(0);
    expect(await r.hexists(keys.pidNamespaces, w.id)).toBe(0);
    expect(await r.sismember(keys.workers, w.id)).toBe(0);
    await waitFor(async () => !(await connectionNames()).includes(`pyres-ts:worker:${w.pid}:liveness`), 'the thread connection closed', 3000);
    // Nothing comes back after the unregister (no late heartbeat or re-registration).
    await new Promise(res_ => setTimeout(res_, 1500));
    expect(await r.hexists(keys.heartbeats, w.id)).toBe(0);
    expect(await r.sismember(keys.workers, w.id)).toBe(0);
  });

  it('a thread that dies: a notice, and the heartbeat goes on from the main thread; the worker works on', async () => {
    const done: string[] = [];
    const w = res.worker({ queues: 'q', jobs: registry({ Quick: () => void done.push('x') }), heartbeatInterval: 1 });
    const notices: string[] = [];
    w.on('notice', (m: string) => notices.push(m));
    await w.start();
    const l = (w as unknown as LivenessInternals).liveness!;
    expect(await l.threadReady).toBe(true);
    await l.thread!.terminate();
    await waitFor(() => notices.some(n => /liveness thread exited .*main thread/.test(n)), 'the notice', 3000);
    expect(l.mode).toBe('main');
    const hb = await r.hget(keys.heartbeats, w.id);
    await waitFor(async () => (await r.hget(keys.heartbeats, w.id)) !== hb, 'a heartbeat from the main thread', 3000, 50);
    await r.pipeline().sadd(keys.queues, 'q').rpush(keys.queue('q'), '{"class":"Quick","args":[]}').exec();
    await waitFor(() => done.length === 1, 'the job');
    await w.stop();
    expect(await r.hexists(keys.heartbeats, w.id)).toBe(0);
  });

  it('a thread that dies while booting: the main thread beats instead; a stop while it boots leaves no trace', async () => {
    const w = res.worker({ queues: 'q', jobs: registry({ Quick: () => undefined }), heartbeatInterval: 1 });
    const notices: string[] = [];
    w.on('notice', (m: string) => notices.push(m));
    await w.start();
    const l = (w as unknown as LivenessInternals).liveness!;
    void l.launchThread();
    await l.thread!.terminate();
    expect(await l.threadReady).toBe(false);
    expect(notices.some(n => /liveness thread did not start .*main thread/.test(n))).toBe(true);
    expect(l.mode).toBe('main');
    const hb = await r.hget(keys.heartbeats, w.id);
    await waitFor(async () => (await r.hget(keys.heartbeats, w.id)) !== hb, 'a heartbeat from the main thread', 3000, 50);
    await w.stop();
    expect(await r.hexists(keys.heartbeats, w.id)).toBe(0);

    const w2 = res.worker({ queues: 'q', jobs: registry({ Quick: () => undefined }), heartbeatInterval: 1 });
    await w2.start();
    const l2 = (w2 as unknown as LivenessInternals).liveness!;
    void l2.launchThread();
    expect(l2.thread).not.toBeNull();
    await w2.stop();
    expect(await l2.threadReady).toBe(false);
    expect(await r.hexists(keys.heartbeats, w2.id)).toBe(0);
    // stop() resolved after the booting thread exited (asked, or ended): nothing of it can beat later.
    expect(l2.thread).toBeNull();
    expect(await connectionNames()).not.toContain(`pyres-ts:worker:${w2.pid}:liveness`);
    expect(await r.hexists(keys.heartbeats, w2.id)).toBe(0);
  });

  it('a job queued at start launches the deferred thread before its own code runs (a worker, and a pool of slots)', async () => {
    // heartbeatInterval 60: the deferral is 1 s, and the job starts within milliseconds of the
    // registration, so the mode a job sees is what its own start did.
    await r.pipeline().sadd(keys.queues, 'q').rpush(keys.queue('q'), '{"class":"Look","args":[]}').exec();
    const seen: string[] = [];
    let w!: Worker;
    w = res.worker({ queues: 'q', jobs: registry({ Look: () => void seen.push((w as unknown as LivenessInternals).liveness!.mode) }), heartbeatInterval: 60 });
    await w.start();
    await waitFor(() => seen.length === 1, 'the job');
    expect(seen).toEqual(['thread']);
    expect(await (w as unknown as LivenessInternals).liveness!.threadReady).toBe(true);
    await w.stop();

    await r.rpush(keys.queue('q'), '{"class":"Look","args":[]}');
    const pool = new WorkerPool({
      queues: 'q',
      jobs: registry({ Look: () => void seen.push((pool as unknown as LivenessInternals).liveness!.mode) }),
      concurrency: 2,
      connection: { url },
      heartbeatInterval: 60,
      logger: testLogger(),
    });
    res.onClose(() => pool.stop());
    await pool.start();
    await waitFor(() => seen.length === 2, "the pool's job");
    expect(seen[1]).toBe('thread');
    await pool.stop();
  });

  it('validates the intervals and supervisedBy', () => {
    const jobs = new JobRegistry();
    const make = (o: Record<string, unknown>): Worker => new Worker({ queues: 'q', jobs, connection: { url }, ...o });
    expect(() => make({ heartbeatInterval: 60, pruneInterval: 60 })).toThrow(ConfigError);
    expect(() => make({ heartbeatInterval: 60, pruneInterval: 30 })).toThrow(/pruneInterval \(30s\) must be greater than heartbeatInterval \(60s\)/);
    expect(() => make({ heartbeatInterval: 0 })).toThrow(/heartbeatInterval must be a number greater than 0/);
    expect(() => make({ heartbeatInterval: 3e6, pruneInterval: 4e6 })).toThrow(/heartbeatInterval must be at most/);
    expect(() => make({ supervisedBy: { masterPid: 0, jobTimeout: null, timeoutGrace: 1, termTimeout: 1 } })).toThrow(/supervisedBy.masterPid/);
    expect(() => make({ supervisedBy: { masterPid: 1, jobTimeout: -1, timeoutGrace: 1, termTimeout: 1 } })).toThrow(/supervisedBy.jobTimeout/);
    expect(() => make({ supervisedBy: { masterPid: 1, jobTimeout: 5, timeoutGrace: -1, termTimeout: 1 } })).toThrow(/supervisedBy.timeoutGrace/);
    const ok = make({ heartbeatInterval: 1, pruneInterval: 3, supervisedBy: { masterPid: 1, jobTimeout: null, timeoutGrace: 0, termTimeout: 0 } });
    void ok.store.close();
  });
});
