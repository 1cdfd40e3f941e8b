/**
 * Redis restarted WITHOUT persistence (`--save '' --appendonly no`: a cache-configured Redis, a
 * failover to an empty replica) while a job runs. The worker's per-worker counter and
 * registration are gone when the job ends; its outcome must still be written on the fresh
 * Redis (the failure record, the processed count, the requeue under --on-dirty-exit requeue),
 * the worker must register again promptly, and the "put back at the head" line must only be
 * logged when the requeue was written.
 *
 * Each test first runs a quick job, so stat:processed:<id> is above 0 before the wipe (with a
 * counter of 0 the old idempotence guard matched by accident).
 */
import { RedisStore } from '../../src';
import type { FinishSpec } from '../../src/store/redisStore';
import { RedisProc } from './redisProc';
import { checkFailure, childPidsOf, countLines, enqueueRaw, faultEnv, k, stackLines, waitFor, withClient, workerIdFor } from './helpers';
import type { Spawned } from '../support/spawn';

const env = faultEnv();
const JOBS = 'fixtures/jobs/wipe.js';
const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no'];

const enqueue = enqueueRaw;

/** A worker on queue q that has already done one job (stat:processed:<id> = 1). */
async function warmWorker(r: RedisProc, extra: string[] = []): Promise<{ w: Spawned; id: string }> {
  const w = env.cli(['worker', '--queues', 'q', '--jobs', JOBS, ...extra], r.url);
  await w.waitForLine(/registered;/, 10000);
  const id = workerIdFor(w.pid, 'q');
  await enqueue(r.url, 'q', '{"class":"Quick","args":["warm"]}');
  await env.waitForLedger(/^quick warm$/, 10000);
  await waitFor(async () => (await withClient(r.url, c => c.get(k(`stat:processed:${id}`)))) === '1', 5000, 'the warm-up job to be counted');
  return { w, id };
}

/** Restarts Redis with every key lost, and checks that it really is empty. */
async function wipe(r: RedisProc): Promise<void> {
  await r.restart({ downMs: 300 });
  expect(await withClient(r.url, c => c.dbsize())).toBe(0);
}

async function registered(url: string, id: string): Promise<boolean> {
  return withClient(url, async c => (await c.sismember(k('workers'), id)) === 1 && (await c.hget(k('workers:heartbeat'), id)) !== null);
}

describe('Redis wiped (restart without persistence) while a job runs', () => {
  let r: RedisProc;
  beforeEach(async () => {
    r = await RedisProc.start({ extraArgs: NO_PERSISTENCE });
  });
  afterEach(async () => {
    await r.destroy();
  });

  it('(a) a job that fails after the wipe: the failure record and stat:failed are on the fresh Redis, and the worker is registered again', async () => {
    const { w, id } = await warmWorker(r);
    const raw = '{"class":"SlowFail","args":["a",2,1.0],"id":"wipe-a"}';
    await enqueue(r.url, 'q', raw);
    await env.waitForLedger(/^start a$/, 10000);
    await wipe(r);
    await env.waitForLedger(/^throw a$/, 10000);

    const failed = await waitFor(() => withClient(r.url, c => c.lrange(k('failed'), 0, -1)).then(l => (l.length ? l : null)), 5000, 'the failure record');
    expect(failed).toHaveLength(1);
    const rec = checkFailure(failed[0]!);
    expect(rec['exception']).toBe('RangeError');
    expect(rec['error']).toBe('wiped-then-failed a');
    expect(rec['queue']).toBe('q');
    expect(rec['worker']).toBe(id);
    expect(JSON.stringify(rec['payload'])).toBe(JSON.stringify(JSON.parse(raw)));
    const stats = await withClient(r.url, async c => ({
      failed: await c.get(k('stat:failed')),
      processed: await c.get(k('stat:processed')),
      working: await c.exists(k(`worker:${id}`)),
    }));
    expect(stats).toEqual({ failed: '1', processed: '1', working: 0 });

    await waitFor(() => registered(r.url, id), 5000, 'the worker to be registered again (workers + heartbeat)');
    expect(await withClient(r.url, c => c.get(k(`worker:${id}:started`)))).not.toBeNull();

    // And it goes on working, its counter continuing from where it was.
    await enqueue(r.url, 'q', '{"class":"Quick","args":["after"]}');
    await env.waitForLedger(/^quick after$/, 10000);
    await waitFor(async () => (await withClient(r.url, c => c.get(k('stat:processed')))) === '2', 5000, 'the next job to be counted');
    expect(stackLines(w)).toEqual([]);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('(b) a job that succeeds after the wipe: stat:processed counts it', async () => {
    const { w, id } = await warmWorker(r);
    await enqueue(r.url, 'q', '{"class":"SlowOk","args":["b",2]}');
    await env.waitForLedger(/^start b$/, 10000);
    await wipe(r);
    await env.waitForLedger(/^done b$/, 10000);
    await waitFor(async () => (await withClient(r.url, c => c.get(k('stat:processed')))) === '1', 5000, 'stat:processed to count the job');
    const s = await withClient(r.url, async c => ({
      failed: await c.llen(k('failed')),
      working: await c.exists(k(`worker:${id}`)),
      // Set to the worker's count + 1, so a resend of the same finish still counts nothing.
      mine: await c.get(k(`stat:processed:${id}`)),
    }));
    expect(s).toEqual({ failed: 0, working: 0, mine: '2' });
    await waitFor(() => registered(r.url, id), 5000, 'the worker to be registered again (workers + heartbeat)');
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('(c) --on-dirty-exit requeue, TERM after the wipe: the exact payload bytes are back at the head of q', async () => {
    const { w, id } = await warmWorker(r, ['--on-dirty-exit', 'requeue', '--term-timeout', '1']);
    const raw = '{"class":"Stubborn","args":["c",30,1.0],"id":"wipe-c","enqueued_at":1.7e9}';
    await enqueue(r.url, 'q', raw);
    await env.waitForLedger(/^start c$/, 10000);
    const from = w.mark();
    await wipe(r);
    await w.waitForLine(/Redis connection back/, 10000, from);
    w.kill('SIGTERM');
    expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });

    const s = await withClient(r.url, async c => ({
      queue: await c.lrange(k('queue:q'), 0, -1),
      failed: await c.llen(k('failed')),
      member: await c.sismember(k('workers'), id),
    }));
    expect(s.queue).toEqual([raw]);
    expect(s.failed).toBe(0);
    expect(s.member).toBe(0); // it unregistered on its way out
    expect(countLines(w, /put back at the head of q/)).toBe(1);
    expect(countLines(w, /NOT put back/)).toBe(0);
  });
});

describe('a child killed after the wipe', () => {
  let r: RedisProc;
  beforeEach(async () => {
    r = await RedisProc.start({ extraArgs: NO_PERSISTENCE });
  });
  afterEach(async () => {
    await r.destroy();
  });

  for (const policy of ['requeue', 'fail'] as const) {
    it(`(d) --on-dirty-exit ${policy}: the running job's worker:<id> is restored on reconnect, so the master ${policy === 'requeue' ? 'puts it back' : 'records a DirtyExit'}`, async () => {
      const m = env.cli(['master', '--queues', 'q', '--pool', '1', '--jobs', JOBS, '--on-dirty-exit', policy], r.url);
      await m.waitForLine(/all children registered/, 15000);
      const [child] = await waitFor(
        () => {
          const kids = childPidsOf(m.pid);
          return kids.length === 1 ? kids : null;
        },
        5000,
        'one child',
      );
      const id = workerIdFor(child!, 'q');
      await enqueue(r.url, 'q', '{"class":"Quick","args":["warm"]}');
      await env.waitForLedger(/^quick warm$/, 10000);
      const raw = `{"class":"Stubborn","args":["d-${policy}",30,1.0],"id":"wipe-d"}`;
      await enqueue(r.url, 'q', raw);
      await env.waitForLedger(new RegExp(`^start d-${policy}$`), 10000);
      const from = m.mark();
      await wipe(r);
      await m.waitForLine(/Redis connection back/, 10000, from);
      // Restored before the re-registration (same connection, issued first).
      await waitFor(() => registered(r.url, id), 5000, 'the child to be registered again');
      const held = await withClient(r.url, c => c.get(k(`worker:${id}`)));
      expect(JSON.parse(held!)).toMatchObject({ queue: 'q', payload: JSON.parse(raw) });

      // Paused (Resque's pause-all-workers), so the respawned child cannot take the job back at once.
      await withClient(r.url, c => c.set(k('pause-all-workers'), 'true'));
      process.kill(child!, 'SIGKILL');
      await m.waitForLine(new RegExp(`child ${child} .*while working on Stubborn`), 10000, from);
      const s = await withClient(r.url, async c => ({
        queue: await c.lrange(k('queue:q'), 0, -1),
        failed: await c.lrange(k('failed'), 0, -1),
        held: await c.exists(k(`worker:${id}`)),
      }));
      if (policy === 'requeue') {
        expect(s.queue).toEqual([raw]);
        expect(s.failed).toEqual([]);
      } else {
        expect(s.queue).toEqual([]);
        expect(s.failed).toHaveLength(1);
        expect(checkFailure(s.failed[0]!)['exception']).toBe('Resque::DirtyExit');
      }
      expect(s.held).toBe(0);
      m.kill('SIGTERM');
      expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    });
  }
});

describe('the finish script after a wipe (store level)', () => {
  let r: RedisProc;
  let store: RedisStore;
  const WID = 'host:1:q';
  const RAW = '{"class":"A","args":[1.0]}';
  beforeAll(async () => {
    r = await RedisProc.start({ extraArgs: NO_PERSISTENCE });
    store = new RedisStore({ connection: { url: r.url }, namespace: 'resque', name: 'wipe:store' });
  });
  afterAll(async () => {
    store.disconnect();
    await r.destroy();
  });
  beforeEach(async () => {
    await withClient(r.url, c => c.flushall().then(() => undefined));
  });

  it.each([
    ['success', {}],
    ['failure', { failureRecord: '{"x":1}' }],
    ['dirty', { failureRecord: '{"x":1}' }],
    ['requeue', { requeue: { queue: 'q', raw: RAW } }],
  ] as const)('%s with the counter missing: recorded once (lost), a resend records nothing', async (mode, extra) => {
    const spec = { mode, expectedProcessed: 5, ...extra } as FinishSpec;
    const first = await store.finishAndReserve(WID, spec, null);
    expect(first).toEqual({ status: 'done', processed: 6, lost: true });
    const second = await store.finishAndReserve(WID, spec, null);
    expect(second).toEqual({ status: 'done', processed: 6 });
    const s = await withClient(r.url, async c => ({
      processed: await c.get(k('stat:processed')),
      mine: await c.get(k(`stat:processed:${WID}`)),
      failed: await c.llen(k('failed')),
      statFailed: await c.get(k('stat:failed')),
      queue: await c.lrange(k('queue:q'), 0, -1),
    }));
    expect(s).toEqual({
      processed: '1',
      mine: '6',
      failed: mode === 'failure' || mode === 'dirty' ? 1 : 0,
      statFailed: mode === 'failure' ? '1' : null,
      queue: mode === 'requeue' ? [RAW] : [],
    });
  });

  it('a counter that exists but matches neither expected nor expected+1, with no worker:<id>: nothing written, reported unrecorded', async () => {
    await withClient(r.url, c => c.set(k(`stat:processed:${WID}`), '2').then(() => undefined));
    const got = await store.finishAndReserve(WID, { mode: 'requeue', expectedProcessed: 5, requeue: { queue: 'q', raw: RAW } }, null);
    expect(got).toEqual({ status: 'done', processed: 2, unrecorded: true });
    expect(await withClient(r.url, c => c.llen(k('queue:q')))).toBe(0);
  });
});
