/**
 * A Redis restart (with and without its data) and dropped connections never end a worker or a
 * master: they reconnect, log "connection lost" once per outage (not once per retry), keep
 * their registration true (re-register when a restart lost the keys), and go on working.
 */
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, childPidsOf, countLines, enqueueRaw, faultEnv, isRunning, k, sleep, stackLines, waitFor, withClient, workerIdFor } from './helpers';
import type { Spawned } from '../support/spawn';

const env = faultEnv();
const LOST = /Redis connection lost/;
const BACK = /Redis connection back/;

const enqueue = enqueueRaw;

async function registration(url: string, id: string): Promise<{ member: boolean; started: string | null; heartbeat: string | null }> {
  return withClient(url, async r => ({
    member: (await r.sismember(k('workers'), id)) === 1,
    started: await r.get(k(`worker:${id}:started`)),
    heartbeat: await r.hget(k('workers:heartbeat'), id),
  }));
}

function linesOf(p: Spawned, scope: string, re: RegExp): number {
  return p.lines().filter(l => l.includes(`[${scope}]`) && re.test(l)).length;
}

describe.each([
  ['blocking', [] as string[]],
  ['nonblocking', ['--nonblocking-pop', '--backoff-min', '0.05', '--backoff-max', '0.2']],
])('worker (%s mode)', (_mode, modeArgs) => {
  it('Redis restarted WITHOUT persistence: re-registers (workers, :started, heartbeat) and works on', async () => {
    const r = await RedisProc.start();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, ...modeArgs], r.url);
    await w.waitForLine(/registered;/, 10000);
    const id = workerIdFor(w.pid, 'q');
    const before = await registration(r.url, id);
    expect(before.member).toBe(true);
    expect(before.started).not.toBeNull();

    await r.restart({ downMs: 300 }); // every key is gone
    await w.waitForLine(/re-registering/, 10000);
    const after = await waitFor(
      async () => {
        const x = await registration(r.url, id);
        return x.member && x.started && x.heartbeat ? x : null;
      },
      10000,
      'the worker to re-register',
    );
    expect(after.started).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);

    await enqueue(r.url, 'q', '{"class":"Record","args":["after-restart"]}');
    await env.waitForLedger(/^ok "after-restart"$/, 10000);
    expect(await withClient(r.url, c => c.get(k('stat:processed')))).toBe('1');
    expect(countLines(w, LOST)).toBe(1);
    expect(countLines(w, BACK)).toBe(1);
    expect(stackLines(w)).toEqual([]);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(await withClient(r.url, c => c.sismember(k('workers'), id))).toBe(0);
  });

  it('a 3 s outage, then a second one: "connection lost" once per outage, not once per retry', async () => {
    const r = await RedisProc.start();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, ...modeArgs], r.url);
    await w.waitForLine(/registered;/, 10000);
    await r.stop();
    await sleep(3000); // ioredis retries ~15 times in this time
    expect(countLines(w, LOST)).toBe(1);
    await r.start();
    await waitFor(() => countLines(w, BACK) === 1, 10000, 'connection back (1)');
    await r.restart({ downMs: 500, kill: true });
    await waitFor(() => countLines(w, BACK) === 2, 10000, 'connection back (2)');
    expect(countLines(w, LOST)).toBe(2);
    await enqueue(r.url, 'q', '{"class":"Record","args":["after-two"]}');
    await env.waitForLedger(/^ok "after-two"$/, 10000);
    expect(stackLines(w)).toEqual([]);
    expect(w.exited).toBe(false);
  });

  it('CLIENT KILL of every connection (normal and pubsub) mid-stream: no job lost or run twice', async () => {
    const r = await RedisProc.start({ extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, ...modeArgs], r.url);
    await w.waitForLine(/registered;/, 10000);
    const N = 300;
    await withClient(r.url, async c => {
      const p = c.pipeline().sadd(k('queues'), 'q');
      for (let i = 0; i < N; i++) p.rpush(k('queue:q'), `{"class":"ChaosJob","args":["j${i}",2,0]}`);
      await p.exec();
      for (let i = 0; i < 12; i++) {
        await sleep(80);
        await c.call('CLIENT', 'KILL', 'TYPE', i % 3 === 2 ? 'pubsub' : 'normal', 'SKIPME', 'yes');
      }
    });
    await waitFor(
      () => env.ledgerLines().length >= N,
      30000,
      () => `${N} ledger lines (have ${env.ledgerLines().length})`,
    );
    await sleep(300);
    const lines = env.ledgerLines();
    expect(lines).toHaveLength(N); // each job exactly once
    expect(new Set(lines).size).toBe(N);
    const st = await withClient(r.url, async c => ({
      processed: await c.get(k('stat:processed')),
      failed: await c.llen(k('failed')),
      queued: await c.llen(k('queue:q')),
    }));
    expect(st).toEqual({ processed: String(N), failed: 0, queued: 0 });
    expect(stackLines(w)).toEqual([]);
    expect(w.exited).toBe(false);
  });
});

describe('master', () => {
  it('survives a Redis restart without persistence: same pids, every child re-registers, work goes on', async () => {
    const r = await RedisProc.start();
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS], r.url);
    await m.waitForLine(/all children registered/, 20000);
    const kids = childPidsOf(m.pid).sort();
    expect(kids).toHaveLength(2);
    const ids = kids.map(p => workerIdFor(p, 'q'));

    await r.restart({ downMs: 500 });
    const members = await waitFor(
      async () => {
        const s = (await withClient(r.url, c => c.smembers(k('workers')))).sort();
        return s.length === 2 ? s : null;
      },
      15000,
      'both children to re-register',
    );
    expect(members).toEqual(ids.sort());
    for (const id of ids) expect(await withClient(r.url, c => c.exists(k(`worker:${id}:started`)))).toBe(1);
    expect(isRunning(m.pid)).toBe(true);
    expect(childPidsOf(m.pid).sort()).toEqual(kids); // nobody died or was respawned

    await enqueue(r.url, 'q', '{"class":"Record","args":["master-after-restart"]}');
    await env.waitForLedger(/^ok "master-after-restart"$/, 10000);
    // Once per outage per process: the master and each child.
    await waitFor(() => countLines(m, BACK) >= 3, 10000, 'three "connection back" lines');
    expect(m.lines().filter(l => /\[master /.test(l) && LOST.test(l))).toHaveLength(1);
    for (const id of ids) expect(linesOf(m, id, LOST)).toBe(1);
    expect(stackLines(m)).toEqual([]);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(await withClient(r.url, c => c.scard(k('workers')))).toBe(0);
  });

  it('CLIENT KILL of every connection: master and children carry on', async () => {
    const r = await RedisProc.start();
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS], r.url);
    await m.waitForLine(/all children registered/, 20000);
    const kids = childPidsOf(m.pid).sort();
    await withClient(r.url, c => c.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    await waitFor(() => countLines(m, BACK) >= 3, 10000, 'three "connection back" lines');
    await enqueue(r.url, 'q', '{"class":"Record","args":["after-client-kill"]}');
    await env.waitForLedger(/^ok "after-client-kill"$/, 10000);
    expect(childPidsOf(m.pid).sort()).toEqual(kids);
    expect(stackLines(m)).toEqual([]);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });
});
