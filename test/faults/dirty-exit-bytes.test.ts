/**
 * A job whose payload holds bytes that are not UTF-8 (Latin-1 text from an old Ruby or Python 2
 * producer, binary data) must not vanish when its worker dies mid-job.
 *
 * The reserve script stores the payload's bytes in `worker:<id>`. Whoever finds the dead worker
 * (the master, a prune) reads that value back through ioredis, which decodes it as UTF-8 and
 * turns the bad bytes into U+FFFD, then passes that string to the unregister script as "the
 * value I saw". The script compares it with the stored bytes, finds them different, writes no
 * failure record (and requeues nothing), and deletes `worker:<id>` anyway: the job is gone.
 *
 * These tests fail until src/worker/prune.ts unregisterDeadWorker() and src/store/redisStore.ts
 * getWorkingOn()/unregister() carry the value as bytes (getBuffer, Buffer ARGV), or the script
 * builds the record from the value it holds instead of comparing against a re-encoded copy.
 *
 * A worker now refuses such a payload as soon as it reserves it (a poison record keeping its
 * bytes, test/faults/poison-items.test.ts), so one is held only by a worker that died between
 * the reserve and that refusal. The tests stand that in: the worker holds the same job in UTF-8
 * (é as C3 A9) and the test swaps worker:<id> for the Latin-1 bytes before the kill.
 */
import type Redis from 'ioredis';
import { poisonBytes } from '../../src/protocol/records';
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, childPidsOf, client, faultEnv, k, waitFor, workerIdFor } from './helpers';

const env = faultEnv();
let srv: RedisProc;
let r: Redis;

beforeAll(async () => {
  srv = await RedisProc.start();
  r = client(srv.url);
});
afterAll(() => {
  r?.disconnect();
});
beforeEach(async () => {
  await r.flushall();
});

/** `{"class":"Hold","args":["café <tag>",30]}` with é as the single Latin-1 byte 0xE9. */
function latin1Payload(tag: string): Buffer {
  return Buffer.concat([Buffer.from('{"class":"Hold","args":["caf'), Buffer.from([0xe9]), Buffer.from(` ${tag}",30]}`)]);
}

/** The job as a worker runs it: é in UTF-8. */
function utf8Payload(tag: string): Buffer {
  return Buffer.from(`{"class":"Hold","args":["café ${tag}",30]}`, 'utf8');
}

/** worker:<id> as if the worker had reserved the Latin-1 item (and died before refusing it). */
async function holdAsLatin1(id: string, tag: string): Promise<void> {
  const v = await r.getBuffer(k(`worker:${id}`));
  expect(v).not.toBeNull();
  const at = v!.indexOf(utf8Payload(tag));
  expect(at).toBeGreaterThan(0);
  await r.set(k(`worker:${id}`), Buffer.concat([v!.subarray(0, at), latin1Payload(tag), v!.subarray(at + utf8Payload(tag).length)]));
}

async function push(queue: string, raw: Buffer): Promise<void> {
  await r
    .pipeline()
    .sadd(k('queues'), queue)
    .rpush(k(`queue:${queue}`), raw)
    .exec();
}

/** Where the job is now: a failure record, back on a queue, or still in worker:<id>. */
async function whereIs(tag: string, deadId: string): Promise<{ failed: number; queued: number; held: boolean }> {
  const failed = (await r.lrange(k('failed'), 0, -1)).filter(f => f.includes(` ${tag}"`)).length;
  const queued = (await r.lrange(k('queue:q'), 0, -1)).filter(f => f.includes(` ${tag}"`)).length;
  const held = (await r.exists(k(`worker:${deadId}`))) === 1;
  return { failed, queued, held };
}

describe('a non-UTF-8 payload held by a worker that dies', () => {
  it.each(['fail', 'requeue'] as const)('prune (--on-dirty-exit %s) still records or requeues it', async policy => {
    await push('q', utf8Payload('prune'));
    const victim = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS], srv.url);
    await env.waitForLedger(/^start caf.* prune /);
    const deadId = workerIdFor(victim.pid, 'q');
    await holdAsLatin1(deadId, 'prune');
    victim.kill('SIGKILL');
    await victim.waitForEnd(5000);
    expect(await whereIs('prune', deadId)).toEqual({ failed: 0, queued: 0, held: true });
    await r.del(k('pruning_dead_workers_in_progress')); // stands in for the lock's 60 s
    // Ruby 3.0's guard: only a pruner on the same queue set, or on '*', judges a dead pid. '*,!q'
    // prunes like '*' and, draining, never takes the requeued job back.
    const pruner = env.cli(['worker', '--queues', '*,!q', '--jobs', CHAOS_JOBS, '--drain', '--on-dirty-exit', policy], srv.url);
    expect(await pruner.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(pruner.lines().some(l => l.includes(`pruned dead worker ${deadId}`))).toBe(true);
    const where = await whereIs('prune', deadId);
    // Accounted for: exactly one of a failure record / back on the queue.
    expect(where.held).toBe(false);
    expect(where).toEqual(policy === 'fail' ? { failed: 1, queued: 0, held: false } : { failed: 0, queued: 1, held: false });
    if (policy === 'fail') {
      // the record holds the payload's own bytes
      expect((await r.lindexBuffer(k('failed'), 0))!.indexOf(latin1Payload('prune'))).toBeGreaterThan(0);
    }
    if (policy === 'requeue') {
      // and byte for byte what the producer pushed
      expect(await r.lindexBuffer(k('queue:q'), 0)).toEqual(latin1Payload('prune'));
    }
  });

  it('the master, when a child is SIGKILLed mid-job, records it', async () => {
    const m = env.cli(['master', '--workers', 'q=1', '--jobs', CHAOS_JOBS, '--term-timeout', '2'], srv.url);
    await m.waitForLine(/all children registered/, 20000);
    const [child] = childPidsOf(m.pid);
    await push('q', utf8Payload('master'));
    await env.waitForLedger(/^start caf.* master /);
    const deadId = workerIdFor(child!, 'q');
    await holdAsLatin1(deadId, 'master');
    process.kill(child!, 'SIGKILL');
    await waitFor(async () => (await r.exists(k(`worker:${deadId}`))) === 0, 10000, 'the master to clean up after its child');
    expect(await whereIs('master', deadId)).toEqual({ failed: 1, queued: 0, held: false });
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
  });

  it('the worker itself never holds it: it refuses the item at once, a poison record keeping its bytes', async () => {
    await push('q', latin1Payload('self'));
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--drain'], srv.url);
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual([]);
    const failed = await r.lrange(k('failed'), 0, -1);
    expect(failed).toHaveLength(1);
    const rec = JSON.parse(failed[0]!) as { payload: unknown; exception: string };
    expect(rec.exception).toBe('PayloadDecodeError');
    expect(poisonBytes(rec.payload)).toEqual(latin1Payload('self'));
  });
});
