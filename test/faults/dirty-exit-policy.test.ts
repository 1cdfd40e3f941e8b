/**
 * `--on-dirty-exit fail|requeue` is honoured by every path that finds a dead or abandoned
 * worker's job: the worker itself (TERM past --term-timeout, USR1), the master (a child killed
 * mid-job), and the prune at a worker's start (a worker that died with nobody watching).
 *
 *   fail    -> one `Resque::DirtyExit` failure record whose payload is the job's exact bytes
 *   requeue -> the exact payload bytes back at the HEAD of its queue, no failure record
 *
 * A job the master kills for its own fault (--job-timeout) is always a failure, whatever the
 * policy: requeued, it would only time out again.
 */
import type Redis from 'ioredis';
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, checkFailure, childPidsOf, client, faultEnv, k, sleep, waitFor, workerIdFor } from './helpers';

const env = faultEnv();
let srv: RedisProc;
let r: Redis;

beforeAll(async () => {
  srv = await RedisProc.start();
  r = client(srv.url);
});
afterAll(async () => {
  r?.disconnect();
});
beforeEach(async () => {
  await r.flushall();
});

/** A payload with bytes JS would re-encode differently (1.0, key order, an extra field). */
function holdPayload(tag: string, seconds = 30): string {
  return `{"class":"Hold","args":[${JSON.stringify(tag)},${seconds},1.0],"id":"ruby-${tag}","enqueued_at":1.7e9}`;
}

async function push(queue: string, raw: string): Promise<void> {
  await r
    .pipeline()
    .sadd(k('queues'), queue)
    .rpush(k(`queue:${queue}`), raw)
    .exec();
}

/**
 * Asserts the policy's outcome for `raw` from `queue`: the record names `worker`; when `dead`,
 * that worker must have left nothing behind in Redis.
 */
async function expectOutcome(
  policy: 'fail' | 'requeue',
  queue: string,
  raw: string,
  worker: string,
  dead = true,
  exception = 'Resque::DirtyExit',
): Promise<void> {
  if (policy === 'fail') {
    const failed = await waitFor(
      async () => {
        const f = await r.lrange(k('failed'), 0, -1);
        return f.length ? f : null;
      },
      10000,
      'a failure record',
    );
    expect(failed).toHaveLength(1);
    const rec = checkFailure(failed[0]!);
    expect(rec['exception']).toBe(exception);
    expect(rec['worker']).toBe(worker);
    expect(rec['queue']).toBe(queue);
    // the payload embedded byte for byte
    expect(failed[0]).toContain(`"payload":${raw},`);
    expect(await r.lrange(k(`queue:${queue}`), 0, -1)).not.toContain(raw);
  } else {
    const head = await waitFor(() => r.lindex(k(`queue:${queue}`), 0), 10000, 'the payload back on its queue');
    expect(head).toBe(raw);
    expect(await r.llen(k('failed'))).toBe(0);
  }
  expect(await r.exists(k(`worker:${worker}`))).toBe(0);
  if (dead) expect(await r.sismember(k('workers'), worker)).toBe(0);
}

describe.each(['fail', 'requeue'] as const)('--on-dirty-exit %s', policy => {
  it('the worker itself: TERM, the job outlives --term-timeout', async () => {
    const raw = holdPayload('self');
    await push('q', raw);
    // Another item behind it: a requeued job must go back in FRONT of it.
    await push('q', '{"class":"Record","args":["behind"]}');
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--term-timeout', '0.5', '--on-dirty-exit', policy], srv.url);
    await env.waitForLedger(/^start self /);
    w.kill('SIGTERM');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    await expectOutcome(policy, 'q', raw, workerIdFor(w.pid, 'q'));
    if (policy === 'requeue') expect(await r.lrange(k('queue:q'), 0, -1)).toEqual([raw, '{"class":"Record","args":["behind"]}']);
  });

  it('the worker itself: USR1 abandons the job after --term-timeout and the worker goes on', async () => {
    const raw = holdPayload('usr1');
    await push('q', raw);
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--term-timeout', '0.5', '--on-dirty-exit', policy], srv.url);
    await env.waitForLedger(/^start usr1 /);
    if (policy === 'requeue') {
      // The requeued job would be picked up again at once; pause the worker so it stays visible.
      w.kill('SIGUSR2');
      await sleep(100);
    }
    w.kill('SIGUSR1');
    await expectOutcome(policy, 'q', raw, workerIdFor(w.pid, 'q'), false);
    expect(w.exited).toBe(false);
    expect(await r.sismember(k('workers'), workerIdFor(w.pid, 'q'))).toBe(1);
    w.kill('SIGCONT');
    w.kill('SIGQUIT');
  });

  it('the master: a child SIGKILLed mid-job', async () => {
    const raw = holdPayload('master');
    const m = env.cli(['master', '--workers', 'q=1', '--jobs', CHAOS_JOBS, '--on-dirty-exit', policy, '--term-timeout', '2'], srv.url);
    await m.waitForLine(/all children registered/, 20000);
    const [child] = childPidsOf(m.pid);
    await push('q', raw);
    await env.waitForLedger(/^start master /);
    if (policy === 'requeue') m.kill('SIGWINCH'); // scale to 0: the respawned child won't take it back
    await sleep(policy === 'requeue' ? 200 : 0);
    process.kill(child!, 'SIGKILL');
    await m.waitForLine(/while working on Hold/, 10000);
    await expectOutcome(policy, 'q', raw, workerIdFor(child!, 'q'));
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });

  it('pruning: a worker that died with nobody watching is found by the next worker to start', async () => {
    const raw = holdPayload('pruned');
    await push('q', raw);
    const victim = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS], srv.url);
    await env.waitForLedger(/^start pruned /);
    const deadId = workerIdFor(victim.pid, 'q');
    victim.kill('SIGKILL');
    await victim.waitForEnd(5000);
    expect(await r.exists(k(`worker:${deadId}`))).toBe(1);
    // The victim took Resque's 60 s prune lock when it started; a worker starting a minute
    // later would find it expired. Stand in for that minute.
    expect(await r.get(k('pruning_dead_workers_in_progress'))).toBe(deadId);
    await r.del(k('pruning_dead_workers_in_progress'));
    // Ruby 3.0's guard: only a pruner on the same queue set, or on '*', judges a dead pid. '*,!q'
    // prunes like '*' and, draining, never takes the requeued job back.
    const pruner = env.cli(['worker', '--queues', '*,!q', '--jobs', CHAOS_JOBS, '--drain', '--on-dirty-exit', policy], srv.url);
    expect(await pruner.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(pruner.lines().some(l => l.includes(`pruned dead worker ${deadId}`))).toBe(true);
    await expectOutcome(policy, 'q', raw, deadId);
  });

  it('the master: --job-timeout kills are failures (JobTimeoutError) under either policy', async () => {
    const raw = holdPayload('timeout');
    const m = env.cli(
      ['master', '--workers', 'q=1', '--jobs', CHAOS_JOBS, '--on-dirty-exit', policy, '--job-timeout', '0.5', '--timeout-grace', '0.3', '--term-timeout', '2'],
      srv.url,
    );
    await m.waitForLine(/all children registered/, 20000);
    const [child] = childPidsOf(m.pid);
    await push('q', raw);
    await env.waitForLedger(/^start timeout /);
    await m.waitForLine(/killing the child/, 10000);
    const failed = await waitFor(
      async () => {
        const f = await r.lrange(k('failed'), 0, -1);
        return f.length ? f : null;
      },
      10000,
      'a failure record',
    );
    const rec = checkFailure(failed[0]!);
    expect(rec['exception']).toBe('JobTimeoutError');
    expect(rec['worker']).toBe(workerIdFor(child!, 'q'));
    expect(failed[0]).toContain(`"payload":${raw},`);
    expect(await r.llen(k('queue:q'))).toBe(0);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });
});
