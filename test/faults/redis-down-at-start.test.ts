/**
 * Redis unreachable when a worker or a master starts: one clear error line (no stack trace, no
 * line per retry), the process keeps retrying, and once Redis answers it registers and works.
 * A stop signal while it waits still stops it.
 */
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, childPidsOf, countLines, enqueueRaw, faultEnv, k, sleep, stackLines, waitFor, withClient, workerIdFor } from './helpers';

const env = faultEnv();
const CANNOT = /cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+/;

const enqueue = enqueueRaw;

describe('Redis down at start', () => {
  it('worker: one clear error line, keeps retrying, registers and works once Redis is up', async () => {
    const r = await RedisProc.create(); // port reserved, nothing listening yet
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS], r.url);
    const line = await w.waitForLine(CANNOT, 10000);
    expect(line).toMatch(/ERROR/);
    expect(line).toMatch(/ECONNREFUSED/);
    expect(line).toMatch(/retrying/);
    await sleep(2500); // ioredis retries many times meanwhile
    expect(w.exited).toBe(false);
    expect(countLines(w, /cannot connect|ECONNREFUSED|connection lost|reconnecting/i)).toBe(1);
    expect(stackLines(w)).toEqual([]);

    await r.start();
    await w.waitForLine(/registered;/, 15000);
    const id = workerIdFor(w.pid, 'q');
    expect(await withClient(r.url, c => c.sismember(k('workers'), id))).toBe(1);
    await enqueue(r.url, 'q', '{"class":"Record","args":["after-outage"]}');
    await env.waitForLedger(/^ok "after-outage"$/, 10000);
    expect(countLines(w, /cannot connect|ECONNREFUSED/i)).toBe(1);
    expect(stackLines(w)).toEqual([]);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('worker: TERM while it waits for Redis stops it promptly (exit 0, nothing written)', async () => {
    const r = await RedisProc.create();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS], r.url);
    await w.waitForLine(CANNOT, 10000);
    w.kill('SIGTERM');
    expect(await w.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    expect(stackLines(w)).toEqual([]);
  });

  it('master: one clear error line, then its children register and work once Redis is up', async () => {
    const r = await RedisProc.create();
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS], r.url);
    const line = await m.waitForLine(CANNOT, 10000);
    expect(line).toMatch(/ERROR .*retrying/);
    // The first children are forked at once and wait for the master's 'go' (sent once it is
    // connected and the module check passed): they boot beside the wait, touch no Redis, and are
    // not respawned into a Redis that is not there (the same two pids throughout the outage).
    await waitFor(() => childPidsOf(m.pid).length === 2 || null, 10000, 'the two waiting children');
    const waiting = childPidsOf(m.pid).sort();
    await sleep(2500);
    expect(m.exited).toBe(false);
    expect(countLines(m, /cannot connect|ECONNREFUSED|connection lost|reconnecting/i)).toBe(1);
    expect(childPidsOf(m.pid).sort()).toEqual(waiting);

    await r.start();
    await m.waitForLine(/all children registered/, 20000);
    const kids = childPidsOf(m.pid);
    expect(kids).toHaveLength(2);
    // The children that waited through the outage are the ones that registered.
    expect([...kids].sort()).toEqual(waiting);
    const members = await withClient(r.url, c => c.smembers(k('workers')));
    expect(members.sort()).toEqual(kids.map(p => workerIdFor(p, 'q')).sort());
    await enqueue(r.url, 'q', '{"class":"Record","args":["master-after-outage"]}');
    await env.waitForLedger(/^ok "master-after-outage"$/, 10000);
    expect(stackLines(m)).toEqual([]);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });

  it('master: TERM while it waits for Redis stops it (exit 0)', async () => {
    const r = await RedisProc.create();
    const m = env.cli(['master', '--workers', 'q=1', '--jobs', CHAOS_JOBS, '--term-timeout', '2'], r.url);
    await m.waitForLine(CANNOT, 10000);
    await sleep(300);
    m.kill('SIGTERM');
    // Regression: start() used to await store.waitUntilReady() with no abort signal while
    // stop() only resolved from tick() and the exit handler, so this master waited for Redis for ever
    // (fixed in 7b1172d while this test was being written).
    const res = await m.waitForEnd(8000).catch(e => ({ error: String(e) }));
    expect(res).toEqual({ code: 0, signal: null });
  });

  it('one-shot commands (status, enqueue): one line naming the address, non-zero exit, no stack trace', async () => {
    const r = await RedisProc.create();
    for (const args of [['status'], ['enqueue', 'q', 'Record', '1']]) {
      const p = env.cli(args, r.url);
      const res = await p.waitForEnd(20000);
      expect(res.code).not.toBe(0);
      const lines = p.lines().filter(l => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(CANNOT);
      expect(stackLines(p)).toEqual([]);
    }
  });

  it('worker: Redis that drops the first connections (restarting) is waited out the same way', async () => {
    const r = await RedisProc.create();
    await r.start();
    await r.stop();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--nonblocking-pop', '--backoff-min', '0.05', '--backoff-max', '0.2'], r.url);
    await w.waitForLine(CANNOT, 10000);
    for (let i = 0; i < 2; i++) {
      await r.start();
      await sleep(50);
      await r.stop(true);
      await sleep(300);
    }
    await r.start();
    await w.waitForLine(/registered;/, 15000);
    await enqueue(r.url, 'q', '{"class":"Record","args":["flappy"]}');
    await env.waitForLedger(/^ok "flappy"$/, 10000);
    expect(stackLines(w)).toEqual([]);
    // At most one line for the start failure and one per later outage it noticed.
    expect(countLines(w, /cannot connect/i)).toBe(1);
    await waitFor(() => !w.exited, 100, 'worker alive');
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });
});
