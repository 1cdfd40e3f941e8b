/**
 * Blackholed connections (open, but silent) through a loopback TCP proxy
 * (test/support/blackholeProxy.js): the worker, its notification connection, its liveness
 * thread, a master and its children notice within --redis-timeout, drop the silent socket,
 * reconnect, and go on; a job that finishes while its connection is silent has its outcome
 * written exactly once. Two realistic cases: the connections open now go silent while new ones
 * pass (a dropped conntrack/NAT entry, an L4 balancer flip), and a full partition that heals.
 */
import { BlackholeProxy } from '../support/blackholeProxy';
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, countLines, enqueueRaw, faultEnv, k, stackLines, waitFor, withClient, workerIdFor } from './helpers';
import type { Spawned } from '../support/spawn';

const env = faultEnv();
const BOUND = ['--redis-timeout', '1'];
const LOST = /Redis connection lost \(Socket timeout/;
const BACK = /Redis connection back/;
const WAKE_SILENT = /queue-notification connection to .* went silent/;

const proxies: BlackholeProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

async function throughProxy(): Promise<{ r: RedisProc; proxy: BlackholeProxy; url: string }> {
  const r = await RedisProc.start();
  const proxy = new BlackholeProxy({ targetPort: r.port });
  proxies.push(proxy);
  const port = await proxy.listen();
  return { r, proxy, url: `redis://127.0.0.1:${port}` };
}

const enqueue = enqueueRaw;

/** CLIENT LIST names on the server itself (not through the proxy). */
async function clientNames(url: string): Promise<string[]> {
  const list = (await withClient(url, r => r.client('LIST'))) as string;
  return list
    .split('\n')
    .map(l => / name=(\S*)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

/** Waits until the worker's main, notification and liveness connections are all open. */
async function allConnected(url: string, pid: number): Promise<void> {
  await waitFor(
    async () => {
      const names = await clientNames(url);
      return ['', ':wake', ':liveness'].every(s => names.includes(`pyres-ts:worker:${pid}${s}`));
    },
    10000,
    `worker ${pid}'s three connections`,
  );
}

async function startWorker(url: string, redisUrl: string, extra: string[] = []): Promise<{ w: Spawned; id: string }> {
  const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, ...BOUND, ...extra], url);
  await w.waitForLine(/registered;/, 10000);
  await allConnected(redisUrl, w.pid);
  return { w, id: workerIdFor(w.pid, 'q') };
}

describe('an idle worker', () => {
  it('its connections go silent while new ones pass: it notices within the bound, reconnects, re-registers and works the next job', async () => {
    const { r, proxy, url } = await throughProxy();
    const { w, id } = await startWorker(url, r.url);
    const from = w.mark();
    expect(proxy.blackholeCurrent()).toBeGreaterThanOrEqual(3); // main, notifications, liveness
    // The main connection is used at the next backstop pass (--interval, 5 s), the notification
    // connection is pinged at the start of each wait.
    await w.waitForLine(LOST, 15000, from);
    await w.waitForLine(WAKE_SILENT, 15000, from);
    await w.waitForLine(BACK, 10000, from);
    await enqueue(r.url, 'q', '{"class":"Record","args":["after-blackhole"]}');
    await env.waitForLedger(/^ok "after-blackhole"$/, 10000);
    expect(await withClient(r.url, c => c.sismember(k('workers'), id))).toBe(1);
    expect(await withClient(r.url, c => c.get(k('stat:processed')))).toBe('1');
    expect(countLines(w, LOST)).toBe(1);
    expect(stackLines(w)).toEqual([]);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(await withClient(r.url, c => c.sismember(k('workers'), id))).toBe(0);
  });

  it('a full partition (new connections silent too) that heals: one outage logged, a job pushed meanwhile is worked once', async () => {
    const { r, proxy, url } = await throughProxy();
    const { w } = await startWorker(url, r.url);
    const from = w.mark();
    proxy.partition();
    await w.waitForLine(LOST, 15000, from);
    await enqueue(r.url, 'q', '{"class":"Record","args":["during-partition"]}');
    // Still partitioned: the reconnects it tries are silent too, and are dropped in turn.
    await waitFor(() => proxy.stats.accepted >= 5, 15000, 'reconnect attempts during the partition');
    proxy.heal();
    await env.waitForLedger(/^ok "during-partition"$/, 20000);
    await w.waitForLine(BACK, 10000, from);
    await enqueue(r.url, 'q', '{"class":"Record","args":["after-heal"]}');
    await env.waitForLedger(/^ok "after-heal"$/, 10000);
    expect(env.ledgerLines().filter(l => l === 'ok "during-partition"')).toHaveLength(1);
    expect(await withClient(r.url, c => c.get(k('stat:processed')))).toBe('2');
    expect(countLines(w, LOST)).toBe(1);
    expect(stackLines(w)).toEqual([]);
  });
});

describe('a job running while its connections are blackholed: its outcome is written exactly once', () => {
  it.each([
    ['success', 'Hold', 'dropped both ways (the finish never reaches Redis)', false],
    ['success', 'Hold', 'replies dropped (the finish runs, its reply is lost)', true],
    ['failure', 'HoldThenFail', 'dropped both ways (the finish never reaches Redis)', false],
    ['failure', 'HoldThenFail', 'replies dropped (the finish runs, its reply is lost)', true],
  ])('%s (%s), %s', async (outcome, cls, _how, replies) => {
    const { r, proxy, url } = await throughProxy();
    const { w, id } = await startWorker(url, r.url);
    await enqueue(r.url, 'q', `{"class":"${cls}","args":["b1",1.5]}`);
    await env.waitForLedger(/^start b1 /, 10000);
    const from = w.mark();
    proxy.blackholeCurrent({ replies });
    await env.waitForLedger(/^done b1 /, 10000);
    await w.waitForLine(LOST, 10000, from);
    await w.waitForLine(BACK, 10000, from);
    // The next job is worked: the worker is not stuck on a silent socket, and its count is right.
    await enqueue(r.url, 'q', '{"class":"Record","args":["next"]}');
    await env.waitForLedger(/^ok "next"$/, 15000);
    const state = await withClient(r.url, async c => ({
      processed: await c.get(k('stat:processed')),
      mine: await c.get(k(`stat:processed:${id}`)),
      failedStat: await c.get(k('stat:failed')),
      failed: await c.lrange(k('failed'), 0, -1),
      queued: await c.llen(k('queue:q')),
    }));
    expect(state.processed).toBe('2');
    expect(state.mine).toBe('2');
    expect(state.queued).toBe(0);
    if (outcome === 'failure') {
      expect(state.failedStat).toBe('1');
      expect(state.failed).toHaveLength(1);
      const rec = JSON.parse(state.failed[0]!) as { exception: string; error: string; payload: { class: string } };
      expect(rec.exception).toBe('Error');
      expect(rec.error).toBe('failed b1');
      expect(rec.payload.class).toBe('HoldThenFail');
    } else {
      expect(state.failedStat).toBeNull();
      expect(state.failed).toEqual([]);
    }
    expect(env.ledgerLines().filter(l => l.startsWith('start b1 '))).toHaveLength(1);
    expect(w.lines().filter(l => /NOT recorded|NOT put back/.test(l))).toEqual([]);
    expect(stackLines(w)).toEqual([]);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });
});

describe('a reservation whose reply was lost while the worker stops', () => {
  it('is put back at the head of its queue at unregister, not deleted unseen', async () => {
    const { r, proxy, url } = await throughProxy();
    const { w, id } = await startWorker(url, r.url);
    await enqueue(r.url, 'q', '{"class":"Hold","args":["h1",1.5]}');
    await env.waitForLedger(/^start h1 /, 10000);
    const next = '{"class":"Record","args":["next"]}';
    await enqueue(r.url, 'q', next);
    // h1's finish, which also reserves `next`, will run on Redis but its reply is lost; the
    // reconnects stay silent until heal(), so the call times out (2 x --redis-timeout).
    proxy.blackholeCurrent({ replies: true });
    proxy.partition();
    await waitFor(async () => (await withClient(r.url, c => c.get(k(`worker:${id}`))))?.includes('"next"'), 10000, '`next` reserved into worker:<id>');
    const from = w.mark();
    await w.waitForLine(/reserve failed: Command timed out/, 10000, from);
    // QUIT during the retry pause: the retry of h1's finish asks for no new job.
    w.kill('SIGQUIT');
    await w.waitForLine(/finishing the current job, then exiting/, 5000, from);
    proxy.heal();
    await w.waitForLine(/never started \(its reply was lost\) was put back at the head of q/, 15000, from);
    expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    const state = await withClient(r.url, async c => ({
      queue: await c.lrange(k('queue:q'), 0, -1),
      held: await c.get(k(`worker:${id}`)),
      processed: await c.get(k('stat:processed')),
      member: await c.sismember(k('workers'), id),
    }));
    expect(state).toEqual({ queue: [next], held: null, processed: '1', member: 0 });
    expect(env.ledgerLines().filter(l => l.startsWith('start h1 '))).toHaveLength(1);
    expect(env.ledgerLines().filter(l => l === 'ok "next"')).toEqual([]);
  });
});

describe('a master with children through the proxy', () => {
  it('blackholed: the job timeout still kills and records the job (once), TERM still ends within its deadline, no job is lost', async () => {
    const { r, proxy, url } = await throughProxy();
    const m = env.cli(['master', '--workers', 'q=1', '--jobs', CHAOS_JOBS, ...BOUND, '--job-timeout', '2', '--timeout-grace', '1', '--term-timeout', '2'], url);
    await m.waitForLine(/all children registered \d+ ms after start/, 15000);
    await enqueue(r.url, 'q', '{"class":"Hold","args":["c1",30]}');
    await env.waitForLedger(/^start c1 /, 10000);
    const from = m.mark();
    proxy.blackholeCurrent(); // the master's, the child's and its liveness thread's connections
    const failed = await waitFor(
      async () => {
        const f = await withClient(r.url, c => c.lrange(k('failed'), 0, -1));
        return f.length > 0 ? f : null;
      },
      15000,
      'the timed-out job to be recorded',
    );
    expect(failed).toHaveLength(1);
    const rec = JSON.parse(failed[0]!) as { exception: string; payload: { class: string; args: unknown[] } };
    expect(rec.exception).toBe('JobTimeoutError');
    expect(rec.payload.args[0]).toBe('c1');
    await m.waitForLine(LOST, 10000, from);
    await m.waitForLine(BACK, 10000, from);

    // A new child (new connections pass) takes the next job; blackhole again, then TERM.
    await enqueue(r.url, 'q', '{"class":"Hold","args":["c2",30]}');
    await env.waitForLedger(/^start c2 /, 15000);
    proxy.blackholeCurrent();
    const t0 = Date.now();
    m.kill('SIGTERM');
    const end = await m.waitForEnd(15000);
    const took = Date.now() - t0;
    expect(end.signal).toBeNull();
    // --term-timeout 2, then the bounded cleanup: well inside the 15 s above.
    expect(took).toBeLessThan(12000);
    // c2 is recorded as a dirty exit, or kept in worker:<id> for the next prune: never lost.
    const after = await withClient(r.url, async c => {
      const ids = await c.smembers(k('workers'));
      const held = await Promise.all(ids.map(i => c.get(k(`worker:${i}`))));
      return { failed: await c.lrange(k('failed'), 0, -1), held: held.filter((h): h is string => h !== null) };
    });
    const c2 = [...after.failed, ...after.held].filter(x => x.includes('"c2"'));
    expect(c2).toHaveLength(1);
    expect(env.ledgerLines().filter(l => l.startsWith('done '))).toEqual([]);
    expect(stackLines(m)).toEqual([]);
  });
});
