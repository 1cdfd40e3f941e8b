/**
 * Pruning dead workers at start (COMPAT.md "Pruning", PROTOCOL-resque.md §6), by the real
 * worker process: same-host workers whose pid is gone, and workers whose heartbeat is older
 * than 300 s by Redis TIME. A pruned worker that held a job gets a DirtyExit failure record.
 * A live process is never pruned. Everything happens under the 60 s prune lock.
 *
 * The pid rule applies only where it is provable (Ruby 3.0's queue-set guard, and pyres-ts's
 * PID-namespace record `pyres-ts:pidns`): a same-host worker on other queues, or with no
 * record (Ruby, Pyres, node-resque), or another namespace's record, is pruned only when its
 * heartbeat expires.
 */
import { HOST, k, parseFailure, processTestEnv } from './helpers';
import { spawnTracked, type Spawned } from '../support/spawn';
import { readPidNamespace } from '../../src/worker/pidNamespace';

const OUR_PIDNS = readPidNamespace();

const env = processTestEnv();

/** Redis-time heartbeat `YYYY-MM-DDTHH:MM:SS+00:00`, `agoSeconds` in the past. */
async function heartbeatAgo(agoSeconds: number): Promise<string> {
  const now = Math.floor(await env.serverTime()) - agoSeconds;
  return new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function workingOn(queue: string, payload: string): string {
  return `{"queue":${JSON.stringify(queue)},"run_at":"2026-11-22T22:10:47Z","payload":${payload}}`;
}

/** Registers a fake worker as Ruby would have left it. */
async function fakeWorker(
  id: string,
  opts: { job?: { queue: string; payload: string }; heartbeat?: string; member?: boolean; pidns?: string | null } = {},
): Promise<void> {
  const p = env.redis.pipeline();
  if (opts.member !== false) p.sadd(k('workers'), id);
  // A pyres-ts worker records its PID namespace; by default these fakes are pyres-ts workers of ours.
  const ns = opts.pidns === undefined ? OUR_PIDNS : opts.pidns;
  if (ns !== null) p.hset(k('pyres-ts:pidns'), id, ns);
  p.set(k(`worker:${id}:started`), '2026-11-22 22:10:47 +0000');
  p.set(k(`stat:processed:${id}`), '3');
  p.set(k(`stat:failed:${id}`), '1');
  if (opts.job) p.set(k(`worker:${id}`), workingOn(opts.job.queue, opts.job.payload));
  if (opts.heartbeat) p.hset(k('workers:heartbeat'), id, opts.heartbeat);
  await p.exec();
}

describe('pruning dead workers at start (real process)', () => {
  let sleeper: Spawned;
  beforeEach(() => {
    sleeper = spawnTracked('sleep', ['30']);
  });

  it('prunes the dead (same-host dead pid, expired heartbeat) with DirtyExit records and keeps the live', async () => {
    expect(OUR_PIDNS).not.toBeNull();
    const deadId = `${HOST}:999999:p10,p9`;
    const deadNoJobId = `${HOST}:999998:p9,p10`;
    // Dead pids the pid rule may not judge: other queues (Ruby 3.0's guard), no PID-namespace
    // record (not pyres-ts), another PID namespace's record.
    const otherQueuesId = `${HOST}:999997:other`;
    const noRecordId = `${HOST}:999996:p10,p9`;
    const otherNsId = `${HOST}:999995:p10,p9`;
    const expiredId = 'otherhost:123:p10,p9';
    const noHeartbeatId = 'otherhost:124:p10,p9';
    const freshId = 'otherhost:125:p10,p9';
    const liveId = `${HOST}:${sleeper.pid}:p10,p9`;
    const deadJob = '{"class":"Sleep","args":[5, 1.0]}';
    const expiredJob = '{"class":"Archive","args":[7],"enqueue_timestamp":1763849447.5}';
    const liveJob = '{"class":"Echo","args":["live"]}';

    await fakeWorker(deadId, { job: { queue: 'p9', payload: deadJob } });
    await fakeWorker(deadNoJobId);
    await fakeWorker(otherQueuesId, { job: { queue: 'other', payload: liveJob } });
    await fakeWorker(noRecordId, { job: { queue: 'p9', payload: liveJob }, pidns: null });
    await fakeWorker(otherNsId, { job: { queue: 'p9', payload: liveJob }, pidns: 'pid:[4026599999]@00000000-0000-0000-0000-000000000000' });
    await fakeWorker(expiredId, { job: { queue: 'p10', payload: expiredJob }, heartbeat: await heartbeatAgo(600) });
    await fakeWorker(noHeartbeatId, { job: { queue: 'p10', payload: liveJob } });
    await fakeWorker(freshId, { heartbeat: await heartbeatAgo(10) });
    await fakeWorker(liveId, { job: { queue: 'p9', payload: liveJob }, heartbeat: await heartbeatAgo(5) });

    const { proc, id } = await env.startWorker();
    const r = env.redis;

    expect((await r.smembers(k('workers'))).sort()).toEqual([id, liveId, noHeartbeatId, freshId, otherQueuesId, noRecordId, otherNsId].sort());
    await env.expectUnregistered(deadId);
    await env.expectUnregistered(deadNoJobId);
    await env.expectUnregistered(expiredId);
    // The pruned ones' PID-namespace records went with them; the pruner recorded its own.
    expect(await r.hexists(k('pyres-ts:pidns'), deadId)).toBe(0);
    expect(await r.hget(k('pyres-ts:pidns'), id)).toBe(OUR_PIDNS);
    for (const skipped of [otherQueuesId, noRecordId, otherNsId]) {
      expect(await r.get(k(`worker:${skipped}`))).not.toBeNull();
    }
    await proc.waitForLine(new RegExp(`skipping ${otherQueuesId}: its queues are not ours`), 100);
    await proc.waitForLine(new RegExp(`skipping the pid check of ${noRecordId}: it recorded no PID namespace`), 100);
    await proc.waitForLine(new RegExp(`skipping the pid check of ${otherNsId}: it runs in another PID namespace`), 100);

    // The live one is untouched.
    expect(await r.get(k(`worker:${liveId}`))).toBe(workingOn('p9', liveJob));
    expect(await r.get(k(`worker:${liveId}:started`))).toBe('2026-11-22 22:10:47 +0000');
    expect(await r.hexists(k('workers:heartbeat'), liveId)).toBe(1);
    expect(await r.get(k(`stat:processed:${liveId}`))).toBe('3');
    // So are the other-host ones that are not expired.
    expect(await r.get(k(`worker:${noHeartbeatId}`))).toBe(workingOn('p10', liveJob));
    expect(await r.hexists(k('workers:heartbeat'), freshId)).toBe(1);

    const recs = await env.failures();
    expect(recs).toHaveLength(2);
    const byWorker = new Map(recs.map(raw => [parseFailure(raw).worker, raw]));

    const dead = byWorker.get(deadId)!;
    expect(dead).toBeDefined();
    // Payload bytes kept exactly as they were in worker:<id> (1.0 stays 1.0, spacing kept).
    expect(dead).toContain(`"payload":${deadJob},"exception":"Resque::DirtyExit","error":"Job still being processed","backtrace":[],`);
    const d = parseFailure(dead);
    expect(d.exception).toBe('Resque::DirtyExit');
    expect(d.error).toBe('Job still being processed');
    expect(d.backtrace).toEqual([]);
    expect(d.queue).toBe('p9');

    const expired = byWorker.get(expiredId)!;
    expect(expired).toBeDefined();
    expect(expired).toContain(`"payload":${expiredJob},"exception":"Resque::PruneDeadWorkerDirtyExit",`);
    const e = parseFailure(expired);
    expect(e.exception).toBe('Resque::PruneDeadWorkerDirtyExit');
    expect(e.error).toBe('Worker otherhost:123:p10,p9 did not gracefully exit while processing Archive');
    expect(e.backtrace).toEqual([]);
    expect(e.queue).toBe('p10');

    // Pruning never counts a failure.
    expect(await env.stat('failed')).toBeNull();

    // It happened under the lock, which is left to expire on its own.
    expect(await r.get(k('pruning_dead_workers_in_progress'))).toBe(id);
    const ttl = await r.ttl(k('pruning_dead_workers_in_progress'));
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);

    await proc.waitForLine(/pruned dead worker .*999999/, 100);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
    expect(await r.sismember(k('workers'), liveId)).toBe(1);
  });

  it('skips pruning while another worker holds the prune lock', async () => {
    const deadId = `${HOST}:999999:p10,p9`;
    await fakeWorker(deadId, { job: { queue: 'p9', payload: '{"class":"Sleep","args":[5]}' } });
    await env.redis.set(k('pruning_dead_workers_in_progress'), 'someone-else', 'EX', 60);

    const { proc, id } = await env.startWorker();
    expect((await env.redis.smembers(k('workers'))).sort()).toEqual([deadId, id].sort());
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.get(k('pruning_dead_workers_in_progress'))).toBe('someone-else');

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('prunes an expired heartbeat even when the worker is no longer in `workers` (Ruby scans every heartbeat field)', async () => {
    const orphanId = 'otherhost:126:p10,p9';
    const ghostId = 'ghost:4444:p10';
    const job = '{"class":"Archive","args":[8]}';
    await fakeWorker(orphanId, { job: { queue: 'p10', payload: job }, heartbeat: await heartbeatAgo(900), member: false });
    await env.redis.hset(k('workers:heartbeat'), ghostId, await heartbeatAgo(600));

    const { proc } = await env.startWorker();
    // PROTOCOL-resque.md §6.3 rule 1: every field in workers:heartbeat older than the prune
    // interval is unregistered, "whether or not it is in workers", with a failure record when
    // worker:<id> still holds a job. The Ruby capture fixtures/resque-ruby/d-prune-dead-workers
    // shows it: its `ghost:4444:p10` heartbeat (not in `workers`) is gone after the prune.
    expect(await env.redis.hexists(k('workers:heartbeat'), ghostId)).toBe(0);
    expect(await env.redis.hexists(k('workers:heartbeat'), orphanId)).toBe(0);
    expect(await env.redis.exists(k(`worker:${orphanId}`))).toBe(0);
    const recs = await env.failures();
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('Resque::PruneDeadWorkerDirtyExit');
    expect(f.error).toBe(`Worker ${orphanId} did not gracefully exit while processing Archive`);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });
});
