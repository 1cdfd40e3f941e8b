/**
 * `--failure-backend redis_multi_queue`: every writer of a failure record (a job that raised,
 * the worker's own dirty exit, the master's DirtyExit for a killed child, a prune) puts it where
 * Resque::Failure::RedisMultiQueue does: `SADD failed_queues <queue>_failed`, then
 * `RPUSH <queue>_failed <record>`; `failed` is not touched. Compared with Ruby Resque 3.0.0's
 * own capture (test/support/rubyMultiQueue.ts).
 */
import { openMonitor } from '../support/monitor';
import { C5_FAILURE_COMMANDS as rubyFailureCommands, C5_KEYS_AFTER as rubyKeys, C5_RECORD as rubyRecord } from '../support/rubyMultiQueue';
import { runCli } from '../support/spawn';
import { CHAOS_JOBS, FAILED_AT_RE, childPidsOf, faultEnv, privateRedis, k, waitFor, workerIdFor } from './helpers';

const env = faultEnv();
const redis = privateRedis();

const keysOf = (json: string): string[] => Object.keys(JSON.parse(json) as object);

async function push(queue: string, raw: string): Promise<void> {
  await redis.r
    .pipeline()
    .sadd(k('queues'), queue)
    .rpush(k(`queue:${queue}`), raw)
    .exec();
}

/** Where failure records are: `failed`, `failed_queues`, and the `<queue>_failed` lists. */
async function layout(queue: string): Promise<{ failed: number; failedQueues: string[]; perQueue: string[] }> {
  return {
    failed: await redis.r.llen(k('failed')),
    failedQueues: (await redis.r.smembers(k('failed_queues'))).sort(),
    perQueue: await redis.r.lrange(k(`${queue}_failed`), 0, -1),
  };
}

describe('--failure-backend redis_multi_queue', () => {
  it('the capture is what this test assumes (Ruby: SADD, RPUSH, INCRBY, INCRBY)', () => {
    expect(rubyFailureCommands.map(c => [c[0], c[1]])).toEqual([
      ['sadd', 'resque:failed_queues'],
      ['rpush', 'resque:p10_failed'],
      ['incrby', 'resque:stat:failed'],
      ['incrby', 'resque:stat:failed:vm:10322:p10,p9'],
    ]);
    expect(rubyKeys['resque:failed_queues']?.value).toEqual(['p10_failed']);
    expect(rubyKeys['resque:failed']).toBeUndefined();
  });

  it("a job that raises: the same keys, commands and record shape as Ruby's worker", async () => {
    const payload = '{"class":"Throw","args":["error"]}';
    const mon = await openMonitor(redis.r);
    const events: string[][] = [];
    mon.on('monitor', (_t: string, args: string[]) => events.push(args.map(String)));
    const w = env.cli(['worker', '--queues', 'p10,p9', '--jobs', CHAOS_JOBS, '--failure-backend', 'redis_multi_queue'], redis.srv.url);
    const id = workerIdFor(w.pid, 'p10,p9');
    try {
      await w.waitForLine(/registered;/, 10000);
      await push('p10', payload);
      await waitFor(async () => (await redis.r.llen(k('p10_failed'))) === 1, 10000, 'the failure record in p10_failed');
      await waitFor(async () => (await redis.r.get(k('stat:processed'))) === '1', 5000, 'the finish to complete');
      // MONITOR output is ordered: once our own marker shows, everything before it is in.
      await redis.r.echo('failure-backend-marker');
      await waitFor(() => events.some(e => e[1] === 'failure-backend-marker'), 5000, 'the MONITOR marker');
    } finally {
      mon.disconnect();
    }
    const got = await layout('p10');
    expect(got.failed).toBe(0);
    expect(got.failedQueues).toEqual(['p10_failed']);
    const rec = got.perQueue[0] as string;
    // The record's contents are the default backend's (same fields, same order as Ruby's).
    expect(keysOf(rec)).toEqual(keysOf(rubyRecord));
    const o = JSON.parse(rec) as Record<string, unknown>;
    expect(o['failed_at']).toMatch(FAILED_AT_RE);
    expect(o['queue']).toBe('p10');
    expect(o['worker']).toBe(id);
    expect(rec).toContain(`"payload":${payload},`);
    // Commands on the failure keys, in Ruby's order, with Ruby's arguments (the record aside).
    const ours = events
      .filter(a => /^(sadd|rpush|incrby)$/i.test(a[0] ?? '') && /^resque:(failed_queues|p10_failed|failed|stat:failed)/.test(a[1] ?? ''))
      .map(a => [String(a[0]).toLowerCase(), a[1], a[0]?.toLowerCase() === 'rpush' ? '<record>' : a[2]]);
    expect(ours).toEqual(rubyFailureCommands.map(c => [c[0], (c[1] as string).replace('vm:10322:p10,p9', id), c[0] === 'rpush' ? '<record>' : c[2]]));
    expect(await redis.r.get(k('stat:failed'))).toBe('1');
    w.kill('SIGTERM');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    // Unregistering touches no failure list.
    expect(await layout('p10')).toEqual(got);
  });

  it('the default backend still writes `failed` and never failed_queues (control)', async () => {
    const w = env.cli(['worker', '--queues', 'p10', '--jobs', CHAOS_JOBS, '--drain'], redis.srv.url);
    await push('p10', '{"class":"Throw","args":["error"]}');
    expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(await layout('p10')).toEqual({ failed: 1, failedQueues: [], perQueue: [] });
  });

  it("the worker's own dirty exit (TERM past --term-timeout) goes to <queue>_failed", async () => {
    await push('p9', '{"class":"Hold","args":["self",30]}');
    const w = env.cli(['worker', '--queues', 'p10,p9', '--jobs', CHAOS_JOBS, '--term-timeout', '0.3', '--failure-backend', 'redis_multi_queue'], redis.srv.url);
    await env.waitForLedger(/^start self /);
    w.kill('SIGTERM');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    const got = await layout('p9');
    expect({ ...got, perQueue: got.perQueue.length }).toEqual({ failed: 0, failedQueues: ['p9_failed'], perQueue: 1 });
    const o = JSON.parse(got.perQueue[0] as string) as Record<string, unknown>;
    expect(o).toMatchObject({ exception: 'Resque::DirtyExit', queue: 'p9', worker: workerIdFor(w.pid, 'p10,p9') });
    expect(keysOf(got.perQueue[0] as string)).toEqual(keysOf(rubyRecord));
  });

  it("the master's DirtyExit record for a SIGKILLed child goes to <queue>_failed (the flag reaches it and its children)", async () => {
    const m = env.cli(['master', '--workers', 'p10=1', '--jobs', CHAOS_JOBS, '--term-timeout', '2', '--failure-backend', 'redis_multi_queue'], redis.srv.url);
    await m.waitForLine(/all children registered/, 20000);
    const [child] = childPidsOf(m.pid);
    await push('p10', '{"class":"Hold","args":["master",30]}');
    await env.waitForLedger(/^start master /);
    const deadId = workerIdFor(child as number, 'p10');
    process.kill(child as number, 'SIGKILL');
    await waitFor(async () => (await redis.r.exists(k(`worker:${deadId}`))) === 0, 10000, 'the master to record its child');
    const got = await layout('p10');
    expect({ ...got, perQueue: got.perQueue.length }).toEqual({ failed: 0, failedQueues: ['p10_failed'], perQueue: 1 });
    expect(JSON.parse(got.perQueue[0] as string)).toMatchObject({ exception: 'Resque::DirtyExit', queue: 'p10', worker: deadId });
    // The replacement child writes a job failure the same way (its ChildSpec carries the backend).
    await waitFor(async () => (await redis.r.smembers(k('workers'))).filter(x => x !== deadId).length === 1, 20000, 'the replacement child');
    await push('p10', '{"class":"Throw","args":["error"]}');
    await waitFor(async () => (await redis.r.llen(k('p10_failed'))) === 2, 10000, "the child's failure record in p10_failed");
    expect(await redis.r.llen(k('failed'))).toBe(0);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });

  it('a prune (pyres-ts workers prune --failure-backend redis_multi_queue) records the dead worker in <queue>_failed', async () => {
    await push('p9', '{"class":"Hold","args":["prune",30]}');
    const victim = env.cli(['worker', '--queues', 'p9', '--jobs', CHAOS_JOBS], redis.srv.url);
    await env.waitForLedger(/^start prune /);
    const deadId = workerIdFor(victim.pid, 'p9');
    victim.kill('SIGKILL');
    await victim.waitForEnd(5000);
    const res = await runCli(['workers', 'prune', '--failure-backend', 'redis_multi_queue'], { redisUrl: redis.srv.url });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(deadId);
    const got = await layout('p9');
    expect({ ...got, perQueue: got.perQueue.length }).toEqual({ failed: 0, failedQueues: ['p9_failed'], perQueue: 1 });
    expect(JSON.parse(got.perQueue[0] as string)).toMatchObject({ exception: 'Resque::DirtyExit', queue: 'p9', worker: deadId });
  });

  it('a bad --failure-backend is refused naming the flag, before anything is written', async () => {
    await push('p10', '{"class":"Throw","args":["error"]}');
    const res = await runCli(['worker', '--queues', 'p10', '--jobs', CHAOS_JOBS, '--failure-backend', 'multi'], { redisUrl: redis.srv.url });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`failureBackend (--failure-backend) must be 'redis' or 'redis_multi_queue' (Ruby's FAILURE_BACKEND), got "multi"`);
    expect(await redis.r.llen(k('queue:p10'))).toBe(1);
    expect(await redis.r.exists(k('workers'), k('failed'), k('failed_queues'))).toBe(0);
  });
});
