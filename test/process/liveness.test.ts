/**
 * Liveness off the job's thread (issue 9, case 2): a worker's heartbeat comes from its liveness
 * thread, so a job that blocks the event loop (execFileSync('sleep')) does not stop it and a
 * worker that starts meanwhile does not prune the live one. A live worker that finds itself
 * removed from `workers` re-registers at once.
 */
import { formatSlotWorkerId } from '../../src/protocol/workerId';
import { HEARTBEAT_RE, HOST, JOBS, k, processTestEnv, sleep, waitFor } from './helpers';

const env = processTestEnv();
const BLOCKING = 'fixtures/jobs/blocking.js';

/** Waits until worker `id` has written two heartbeats newer than the first one seen (`what` names the wait). */
async function twoNewerBeats(id: string, what: string): Promise<void> {
  const seen = new Set<string>();
  const first = await env.redis.hget(k('workers:heartbeat'), id);
  expect(first).toMatch(HEARTBEAT_RE);
  seen.add(first!);
  await waitFor(
    async () => {
      const hb = await env.redis.hget(k('workers:heartbeat'), id);
      if (hb) seen.add(hb);
      return seen.size >= 3;
    },
    3500,
    what,
    100,
  );
}

describe('liveness off the job thread (real processes)', () => {
  it('a job that blocks the event loop for 6 s: the heartbeat keeps advancing and a worker started meanwhile does not prune it', async () => {
    // --prune-interval is the CLI engineer's flag (ignored by a CLI that does not know it yet);
    // the pruner below is built from the library with pruneInterval 3 either way.
    const { proc, id } = await env.startWorker(['--heartbeat-interval', '1', '--prune-interval', '3'], 'p10,p9', { jobs: [JOBS, BLOCKING] });
    const r = env.redis;
    const raw = await env.enqueue('p9', 'BlockingSleep', 6);
    await env.waitForLedger(/^BlockingSleep start 6 /, 5000);
    const t0 = Date.now();
    expect(await r.get(k(`worker:${id}`))).toContain(raw);

    // The heartbeat changes (twice) while the job holds the event loop.
    await twoNewerBeats(id, 'two newer heartbeats while the job blocks');
    expect(env.ledgerLines().some(l => l.startsWith('BlockingSleep done'))).toBe(false);

    // 4 s into the job, a worker on the same queues starts and prunes (heartbeat older than 3 s
    // = dead). It must find the blocked worker alive.
    const wait = t0 + 4000 - Date.now();
    if (wait > 0) await sleep(wait);
    const pruner = await env.startLibWorker('p10,p9', { heartbeatInterval: 1, pruneInterval: 3 }, [JOBS, BLOCKING]);
    expect(env.ledgerLines().some(l => l.startsWith('BlockingSleep done'))).toBe(false);
    expect(pruner.proc.lines().some(l => /pruned dead worker/.test(l))).toBe(false);
    expect(await r.sismember(k('workers'), id)).toBe(1);
    expect(await r.get(k(`worker:${id}`))).toContain(raw);
    expect(await env.failures()).toEqual([]);

    // The job succeeds, exactly once.
    await proc.waitForLine(/done: BlockingSleep from p9/, 8000);
    expect(env.ledgerLines().filter(l => l.startsWith('BlockingSleep'))).toEqual([`BlockingSleep start 6 ${proc.pid}`, `BlockingSleep done 6 ${proc.pid}`]);
    expect(await env.failures()).toEqual([]);
    await waitFor(async () => (await env.stat('processed')) === '1', 2000, 'stat:processed 1');
    expect(await env.stat('failed')).toBeNull();
    expect(await r.sismember(k('workers'), id)).toBe(1);
    expect(proc.lines().some(l => /re-registered/.test(l))).toBe(false);

    proc.kill('SIGQUIT');
    pruner.proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    expect(await pruner.proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
    await env.expectUnregistered(pruner.id);
  });

  it('a job already queued at start that blocks the event loop at once: the job start launches the liveness thread, which beats', async () => {
    // A backlog at deploy time: the first job starts right after the registration, before the
    // deferred thread's timer, and holds the event loop from its first instant (no timer can
    // fire): only the job's own start can have launched the thread.
    const r = env.redis;
    const raw = await env.enqueue('p9', 'BlockingSleep', 5);
    const { proc, id } = await env.startWorker(['--heartbeat-interval', '1'], 'p10,p9', { jobs: [JOBS, BLOCKING] });
    await env.waitForLedger(/^BlockingSleep start 5 /, 5000);
    expect(await r.get(k(`worker:${id}`))).toContain(raw);
    await twoNewerBeats(id, 'two newer heartbeats while the first job blocks');
    // Still inside the job: the beats came from the thread, not from a loop between jobs.
    expect(env.ledgerLines().some(l => l.startsWith('BlockingSleep done'))).toBe(false);
    await proc.waitForLine(/done: BlockingSleep from p9/, 8000);
    await waitFor(async () => (await env.stat('processed')) === '1', 2000, 'stat:processed 1');
    expect(await env.failures()).toEqual([]);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it("--concurrency 2 with a job queued at start that blocks the event loop at once: the job launches the pool's thread, which beats", async () => {
    const r = env.redis;
    await env.enqueue('p9', 'BlockingSleep', 5);
    const { proc } = await env.startWorker(['--heartbeat-interval', '1', '--concurrency', '2'], 'p10,p9', { jobs: [JOBS, BLOCKING] });
    await env.waitForLedger(/^BlockingSleep start 5 /, 5000);
    const ids = [0, 1].map(i => formatSlotWorkerId(HOST, proc.pid, ['p10', 'p9'], i));
    // Slot 0 took the job at once (slot 1 registers once the loop is free again).
    await twoNewerBeats(ids[0]!, 'two newer heartbeats of slot 0 while the job blocks');
    expect(env.ledgerLines().some(l => l.startsWith('BlockingSleep done'))).toBe(false);
    await proc.waitForLine(/done: BlockingSleep from p9/, 8000);
    await waitFor(async () => (await r.sismember(k('workers'), ids[1]!)) === 1, 3000, 'slot 1 registered after the job');
    expect(await env.failures()).toEqual([]);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    for (const id of ids) await env.expectUnregistered(id);
    expect(await r.scard(k('workers'))).toBe(0);
  });

  it('a live idle worker removed from `workers` re-registers within ~2 heartbeat intervals and logs it', async () => {
    const { proc, id } = await env.startWorker(['--heartbeat-interval', '1']);
    const r = env.redis;
    const started = await r.get(k(`worker:${id}:started`));
    const pidns = await r.hget(k('pyres-ts:pidns'), id);
    const mark = proc.mark();
    await r.srem(k('workers'), id);
    const t0 = Date.now();
    await waitFor(async () => (await r.sismember(k('workers'), id)) === 1, 4000, 'the worker back in `workers`', 50);
    expect(Date.now() - t0).toBeLessThan(2600);
    await proc.waitForLine(/WARN .*missing from `workers`.*re-registered/, 2000, mark);
    expect(await r.get(k(`worker:${id}:started`))).toBe(started);
    expect(pidns).toMatch(/^pid:\[\d+\]@/);
    expect(await r.hget(k('pyres-ts:pidns'), id)).toBe(pidns);

    // A prune's footprint (workers, worker:<id>, :started, heartbeat, pidns) while it works: it
    // comes back registered with its job's record, and the job's end is counted.
    const raw = await env.enqueue('p9', 'Sleep', 2);
    await env.waitForLedger(/^Sleep start 2/);
    const working = await r.get(k(`worker:${id}`));
    expect(working).toContain(raw);
    const mark2 = proc.mark();
    await r
      .multi()
      .srem(k('workers'), id)
      .del(k(`worker:${id}`), k(`worker:${id}:started`))
      .hdel(k('workers:heartbeat'), id)
      .hdel(k('pyres-ts:pidns'), id)
      .exec();
    await waitFor(async () => (await r.sismember(k('workers'), id)) === 1, 4000, 'the busy worker back in `workers`', 50);
    await proc.waitForLine(/re-registered it while working on job #1/, 2000, mark2);
    await waitFor(async () => (await r.get(k(`worker:${id}`))) === working, 2000, 'worker:<id> restored');
    expect(await r.hget(k('pyres-ts:pidns'), id)).toBe(pidns);
    expect(await r.get(k(`worker:${id}:started`))).toMatch(/^\d{4}-/);
    await proc.waitForLine(/done: Sleep from p9/, 5000, mark2);
    await waitFor(async () => (await env.stat('processed')) === '1', 2000, 'stat:processed 1');
    expect(await env.failures()).toEqual([]);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('by default the heartbeat runs on the liveness thread, and the worker says so once it has started it', async () => {
    const { proc, id } = await env.startLibWorker('p10,p9', { heartbeatInterval: 1 });
    await proc.waitForLine(/heartbeat every 1s from the liveness thread/, 5000);
    expect(proc.lines().some(l => /heartbeat every .* from the main thread/.test(l))).toBe(false);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('with livenessThread false the heartbeat runs on the main thread (and still re-registers)', async () => {
    const { proc, id } = await env.startLibWorker('p10,p9', { heartbeatInterval: 1, livenessThread: false });
    await proc.waitForLine(/heartbeat every 1s from the main thread/, 100);
    await env.redis.srem(k('workers'), id);
    await waitFor(async () => (await env.redis.sismember(k('workers'), id)) === 1, 4000, 'the worker back in `workers`', 50);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });
});
