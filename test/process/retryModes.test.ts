/**
 * Retries beyond resque-retry's basics, in real `pyres-ts worker` (and `pyres-ts scheduler`)
 * processes: Pyres' retry_every/retry_timeout mode (capture fixtures/pyres/e2-retry-every),
 * resque-retry 1.8's ignoreExceptions / Hash retryExceptions / retryIdentifier / retryQueue /
 * retryArgs / retryCriteriaCheck (lib/resque/plugins/retry.rb), and a job found by prune of a
 * dead worker retried by its class's policy (fixtures/jobs/retry.js).
 */
import { spawnCli } from '../support/spawn';
import { HOST, k, type MonitorEvent, processTestEnv, startMonitor, waitFor } from './helpers';
import { formatPyresDate } from '../../src/protocol/pyresRetry';

const env = processTestEnv();
const RETRY_JOBS = 'fixtures/jobs/retry.js';
/** Pyres' delayed item: `{"class": …, "queue": …, "args": […], "first_attempt": "@D:…"}` (e2). */
const PYRES_ITEM = /^\{"class": "PyresRetryJob", "queue": "p9", "args": \["a", 1\.0\], "first_attempt": "(@D:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"\}$/;

function delayedWrites(events: MonitorEvent[]): string[][] {
  return events.filter(e => e.database === env.db && e.args[0]?.toLowerCase() === 'rpush' && e.args[1]?.startsWith(k('delayed:'))).map(e => e.args);
}

describe("retry: { mode: 'pyres' } (Pyres' retry_every / retry_timeout, also capped by the counter)", () => {
  it('re-schedules with Pyres’ bytes and one first_attempt, counts retried runs as processed, and the counter (limit 2) ends it in `failed`', async () => {
    const mon = await startMonitor(env.url);
    try {
      // `1.0` stays as written: the item's args are the payload's text, re-spaced as json.dumps writes.
      await env.push('p9', '{"class":"PyresRetryJob","args":["a",1.0]}');
      spawnCli(['scheduler', '--interval', '0.2'], env.spawnOpts());
      await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
      await waitFor(async () => ((await env.failures()).length === 1 ? true : null), 20000, 'the give-up failure record');
      expect(env.ledgerLines()).toEqual(['PyresRetryJob ["a",1]', 'PyresRetryJob ["a",1]', 'PyresRetryJob ["a",1]']);
      const writes = delayedWrites(mon.events);
      expect(writes).toHaveLength(2);
      const firsts = writes.map(w => PYRES_ITEM.exec(w[2]!)?.[1]);
      expect(firsts[0]).toBeDefined();
      expect(firsts[1]).toBe(firsts[0]);
      // Pyres' enqueue_at: RPUSH + ZADD <ts> <ts>, no timestamps:<item> set.
      const zadds = mon.events.filter(e => e.database === env.db && e.args[0]?.toLowerCase() === 'zadd').map(e => e.args.slice(1));
      expect(zadds).toEqual(writes.map(w => [k('delayed_queue_schedule'), w[1]!.slice(k('delayed:').length), w[1]!.slice(k('delayed:').length)]));
      // (The scheduler's move still SREMs the set, finding nothing.)
      expect(mon.events.some(e => e.args[0]?.toLowerCase() === 'sadd' && e.args[1]?.startsWith(k('timestamps:')))).toBe(false);
      // The failure that gave up carries the payload as it ran, first_attempt included (e2).
      const rec = JSON.parse((await env.failures())[0]!) as { exception: string; payload: Record<string, unknown> };
      expect(rec.exception).toBe('IOError');
      expect(rec.payload).toEqual({ class: 'PyresRetryJob', queue: 'p9', args: ['a', 1], first_attempt: firsts[0] });
      await waitFor(async () => ((await env.stat('processed')) === '3' ? true : null), 5000, 'stat:processed 3');
      expect(await env.stat('failed')).toBe('1');
      expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
      expect(await env.redis.zcard(k('delayed_queue_schedule'))).toBe(0);
    } finally {
      await mon.stop();
    }
  });

  it('a job Pyres re-scheduled itself (first_attempt in the payload) continues the same schedule', async () => {
    const mon = await startMonitor(env.url);
    try {
      // As Pyres' scheduler leaves it on the queue (e2), first_attempt a minute ago: inside the 1 h window.
      const first = formatPyresDate(new Date(Date.now() - 60_000));
      await env.push('p9', `{"class": "PyresRetryJob", "queue": "p9", "args": ["a", 1.0], "first_attempt": "${first}"}`);
      await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
      await waitFor(() => (delayedWrites(mon.events).length === 1 ? true : null), 8000, 'the re-scheduled item');
      expect(PYRES_ITEM.exec(delayedWrites(mon.events)[0]![2]!)?.[1]).toBe(first);
      expect(await env.failures()).toEqual([]);
      await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 5000, 'stat:processed 1');
      expect(await env.stat('failed')).toBeNull();
      // Outside its window (first_attempt long ago) the next failure gives up at once, as Pyres does.
      await env.push('p9', '{"class": "PyresRetryJob", "queue": "p9", "args": ["old"], "first_attempt": "@D:2001-01-01T00:00:00"}');
      await waitFor(async () => ((await env.failures()).length === 1 ? true : null), 8000, 'the give-up failure record');
      expect(JSON.parse((await env.failures())[0]!)).toMatchObject({ payload: { args: ['old'], first_attempt: '@D:2001-01-01T00:00:00' } });
      expect(delayedWrites(mon.events)).toHaveLength(1);
    } finally {
      await mon.stop();
    }
  });
});

describe('resque-retry 1.8: ignoreExceptions, Hash retryExceptions, retryIdentifier, retryQueue, retryArgs, retryCriteriaCheck', () => {
  it('walks a job through all of them, command for command on its custom key', async () => {
    const mon = await startMonitor(env.url);
    try {
      await env.enqueue('p9', 'RetryOptionsJob', 7, 0);
      await env.startWorker([], 'p9,p10', { jobs: [RETRY_JOBS] });
      await waitFor(() => (env.ledgerLines().length === 4 ? true : null), 15000, 'four runs');
      await waitFor(async () => ((await env.stat('processed')) === '4' ? true : null), 5000, 'stat:processed 4');
      // step 0 Busy (ignored: DECR, retried by the Hash's 0 s), 1 IOError (delays [0, 1]: 0 s, into p10 by retryQueue),
      // 2 TypeError (not listed; retryCriteriaCheck says retry), 3 success. retryArgs made each next step.
      expect(env.ledgerLines()).toEqual(['RetryOptionsJob [7,0]', 'RetryOptionsJob [7,1]', 'RetryOptionsJob [7,2]', 'RetryOptionsJob [7,3]']);
      const key = k('resque-retry:RetryOptionsJob:order-7');
      const onKey = mon.events.filter(e => e.database === env.db && e.args[1] === key).map(e => e.args[0]!.toLowerCase());
      expect(onKey).toEqual([
        'setnx',
        'incr',
        'decr',
        'setnx',
        'exists',
        'setnx',
        'incr',
        'setnx',
        'exists',
        'setnx',
        'incr',
        'setnx',
        'exists',
        'setnx',
        'incr',
        'del',
      ]);
      const pushes = mon.events
        .filter(e => e.database === env.db && e.args[0]?.toLowerCase() === 'rpush' && /queue:p(9|10)$/.test(e.args[1]!))
        .map(e => `${e.args[1]!.slice(k('').length)} ${e.args[2]}`);
      expect(pushes).toEqual([
        'queue:p9 {"class":"RetryOptionsJob","args":[7,0]}', // this test's enqueue
        'queue:p9 {"class":"RetryOptionsJob","args":[7,1]}',
        'queue:p10 {"class":"RetryOptionsJob","args":[7,2]}',
        'queue:p10 {"class":"RetryOptionsJob","args":[7,3]}',
      ]);
      // Suppressed retries: counted, not listed; the key is gone after the success.
      expect(await env.failures()).toEqual([]);
      expect(await env.stat('failed')).toBe('3');
      expect(await env.redis.exists(key)).toBe(0);
    } finally {
      await mon.stop();
    }
  });
});

describe('prune: a dead worker’s job of a class the pruner loads is retried by its policy', () => {
  it('a heartbeat-expired worker holding RetryKilledJob: PruneDeadWorkerDirtyExit → retried (GET attempt), record suppressed; the job runs again and succeeds', async () => {
    const dead = `${HOST}:999999:p9`;
    const [s] = await env.redis.time();
    const old = new Date((Number(s) - 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const payload = '{"class":"RetryKilledJob","args":["pruned"]}';
    // The dead worker's run had counted its attempt (before_perform: SETNX -1, INCR → 0).
    await env.redis
      .pipeline()
      .sadd(k('workers'), dead)
      .set(k(`worker:${dead}`), `{"queue":"p9","run_at":"2026-11-22T22:10:47Z","payload":${payload}}`)
      .set(k(`worker:${dead}:started`), '2026-11-22 22:10:47 +0000')
      .hset(k('workers:heartbeat'), dead, old)
      .set(k('resque-retry:RetryKilledJob:05bda8a9dea302ac0b052c70884a32cca8143feb'), '0')
      .exec();
    // The marker of "it ran once already" for the fixture: the dead run's ledger line.
    require('node:fs').appendFileSync(env.ledger, 'RetryKilledJob ["pruned"]\n');
    const { proc } = await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
    await waitFor(() => (env.ledgerLines().length === 2 ? true : null), 8000, 'the retried run');
    await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 5000, 'stat:processed 1');
    expect(await env.redis.sismember(k('workers'), dead)).toBe(0);
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
    proc.kill('SIGTERM');
    expect((await proc.waitForEnd(10000)).code).toBe(0);
  });
});
