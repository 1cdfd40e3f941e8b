/**
 * Status jobs through a real `pyres-ts worker` process: progress and a result a waiting producer
 * receives, a kill ending `killed` (no failure record), a failure rejecting the waiter with the
 * job's error (and a failure record), waitForJobs with collectResults, waiting from inside a job,
 * and a waiter against a SIGSTOPped Redis rejecting within its timeout.
 */
process.env.TZ = 'UTC';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from '../../src/producer/client';
import { JobFailedError, JobKilledError, WaitTimeoutError } from '../../src/status/wait';
import { processTestEnv, k, waitFor } from '../process/helpers';
import { startRedis } from '../support/redisServer';
import { spawnCli } from '../support/spawn';

const env = processTestEnv();
const JOBS = 'fixtures/jobs/status.js';
let client: Client;
beforeEach(async () => {
  client = await new Client({ connection: { url: env.url } }).connect();
});
afterEach(async () => {
  await client.close();
});
const worker = (n = 1) => Promise.all(Array.from({ length: n }, () => env.startWorker([], 'statused', { jobs: [JOBS] })));

describe('status jobs under a real worker', () => {
  it('reports progress, completes with its payload, and a waiting producer receives the result', async () => {
    const gate = join(env.tmp, 'gate');
    const uuid = (await client.enqueueStatus('statused', 'StatusJob', { total: 3, gate }, { keepResult: true }))!;
    expect(JSON.parse((await env.redis.get(k(`status:${uuid}`)))!)).toEqual({
      time: expect.any(Number),
      status: 'queued',
      uuid,
      options: { total: 3, gate },
      keep_result: true,
    });
    // The wait starts before the worker: the notification wakes it.
    const waiting = client.waitForJobs([uuid], { timeout: 30 });
    await worker();
    await env.waitForLedger(new RegExp(`StatusJob ${uuid} step 1`));
    const working = await client.getStatus(uuid);
    expect(working).toMatchObject({ state: 'working', num: 1, total: 3, message: 'step 1 of 3', pct: 33 });
    expect(working!.name).toBe(`StatusJob({"total"=>3, "gate"=>${JSON.stringify(gate)}})`);
    writeFileSync(gate, '');
    const [done] = (await waiting) as Array<{ state: string; fields: Record<string, unknown> }>;
    expect(done).toMatchObject({ state: 'completed', fields: { num: 3, total: 3, message: 'all done', result: { rows: 3 } } });
    expect(await env.failures()).toEqual([]);
  });

  it('enqueueAndWait resolves to the job result; the status keeps it', async () => {
    await worker();
    const r = await client.enqueueAndWait('statused', 'Square', { n: 7 }, { timeout: 30 });
    expect(r).toEqual({ square: 49 });
    const page = await client.listStatuses();
    expect(page.total).toBe(1);
    expect(page.items[0]!.raw).toMatch(/"status":"completed",.*"message":"Completed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000","result":\{"square":49\}\}$/);
    // The completed status (which wakes the waiter) is written inside the job; the worker counts
    // it processed in its next step, as Ruby's resque-status and worker do.
    await waitFor(async () => (await env.stat('processed')) === '1', 10_000, 'the job counted processed');
    expect(await env.failures()).toEqual([]);
  });

  it('a worker given only --redis and --namespace (no REDIS_URL): its status jobs write to that Redis and namespace', async () => {
    const opts = env.spawnOpts();
    delete opts.redisUrl; // no REDIS_URL in the worker's environment
    const proc = spawnCli(['worker', '--redis', env.url, '--namespace', 'other', '--queues', 'statused', '--jobs', JOBS, '-l', 'debug'], opts);
    await proc.waitForLine(/registered;/, 8000);
    const other = await new Client({ connection: { url: env.url }, namespace: 'other' }).connect();
    try {
      expect(await other.enqueueAndWait('statused', 'Square', { n: 5 }, { timeout: 30 })).toEqual({ square: 25 });
      const [uuid] = await env.redis.zrange('other:_statuses', 0, -1);
      expect(JSON.parse((await env.redis.get(`other:status:${uuid}`))!)).toMatchObject({ status: 'completed' });
      expect(await env.redis.exists(k(`status:${uuid}`))).toBe(0);
    } finally {
      await other.close();
      proc.kill('SIGTERM');
      await proc.waitForEnd(10000);
    }
  });

  it('a result is kept only when asked (job definition or enqueue)', async () => {
    await worker();
    const plain = (await client.enqueueStatus('statused', 'Double', { n: 2 }))!;
    const kept = (await client.enqueueStatus('statused', 'Double', { n: 3 }, { keepResult: true }))!;
    expect(await client.waitForJobs([plain, kept], { collectResults: true, timeout: 30 })).toEqual([undefined, 6]);
    expect((await client.getStatus(kept))!.raw).toContain('"keep_result":true');
  });

  it('a steps job completes with all done and the result payload, in Ruby key order', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusJob', { total: 3 }))!;
    const [st] = (await client.waitForJobs([uuid], { timeout: 30 })) as Array<{ raw: string }>;
    expect(st!.raw).toBe(
      `{"time":${JSON.parse(st!.raw).time},"status":"completed","uuid":"${uuid}","options":{"total":3},"name":"StatusJob({\\"total\\"=>3})","num":3,"total":3,"message":"all done","result":{"rows":3}}`,
    );
  });

  it('a killed job ends killed, counted as processed, with no failure record', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusKillJob'))!;
    await env.waitForLedger(new RegExp(`StatusKillJob ${uuid} running`));
    await client.killStatus(uuid);
    await expect(client.waitForJobs([uuid], { timeout: 30 })).rejects.toBeInstanceOf(JobKilledError);
    const st = await client.getStatus(uuid);
    expect(st).toMatchObject({ state: 'killed', name: 'StatusKillJob()', message: expect.stringMatching(/^Killed at \d{4}-/) });
    await waitFor(async () => (await env.stat('processed')) === '1', 10_000, 'the kill job counted processed');
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.smembers(k('_kill'))).toEqual([]);
    expect(env.ledgerLines().some(l => l.includes('not killed'))).toBe(false);
  });

  it('a job that swallows the kill cannot write over it: tick refuses, the status stays killed', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusKillJob', { stubborn: true }))!;
    await env.waitForLedger(new RegExp(`StatusKillJob ${uuid} running`));
    await client.killStatus(uuid);
    await expect(client.waitForJobs([uuid], { timeout: 30 })).rejects.toBeInstanceOf(JobKilledError);
    await waitFor(() => env.ledgerLines().filter(l => l === 'StatusKillJob refused: StatusKilledError').length === 3, 10_000, 'three refused ticks');
    await waitFor(async () => (await env.stat('processed')) === '1', 10_000, 'the job counted processed');
    expect((await client.getStatus(uuid))!.state).toBe('killed');
    expect(await env.failures()).toEqual([]);
  });

  it('a failing job rejects the waiter with its error, marks failed, and has a failure record', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusFailJob', { why: 'raise' }))!;
    const err = (await client.waitForJobs([uuid], { timeout: 30 }).catch(e => e)) as JobFailedError;
    expect(err).toBeInstanceOf(JobFailedError);
    expect([err.exception, err.error, err.message]).toEqual(['RangeError', 'status boom', 'RangeError: status boom']);
    const st = await client.getStatus(uuid);
    expect(st!.raw).toMatch(/"status":"failed",.*"num":1,"total":2,"message":"The task failed because of an error: status boom"\}$/);
    const [f] = await waitFor(() => env.failures().then(l => (l.length ? l : null)), 10_000, 'a failure record');
    expect(JSON.parse(f!)).toMatchObject({
      exception: 'RangeError',
      error: 'status boom',
      payload: { class: 'StatusFailJob', args: [uuid, { why: 'raise' }] },
      queue: 'statused',
    });
    // A wait that starts after the end still sees it (status read first), and the error class (the done notice).
    await expect(client.waitForJobs([uuid], { timeout: 5 })).rejects.toMatchObject({ exception: 'RangeError', error: 'status boom' });
  });

  it('waitForJobs with collectResults over many jobs; a job waiting on jobs (two workers)', async () => {
    await worker(2);
    const ids = (await Promise.all([1, 2, 3, 4].map(n => client.enqueueStatus('statused', 'Square', { n })))) as string[];
    expect(await client.waitForJobs(ids, { collectResults: true, timeout: 30 })).toEqual([1, 4, 9, 16].map(square => ({ square })));
    expect(await client.enqueueAndWait('statused', 'SumChildren', { ns: [1, 2, 3] }, { timeout: 30 })).toBe(12);
  });

  it('times out when nothing works the queue', async () => {
    const uuid = (await client.enqueueStatus('statused', 'Square', { n: 1 }))!;
    await expect(client.waitForJobs([uuid], { timeout: 1.5 })).rejects.toBeInstanceOf(WaitTimeoutError);
  });
});

describe('a waiter against a silent Redis', () => {
  it('rejects within its timeout when Redis is SIGSTOPped, and works again after SIGCONT', async () => {
    const srv = await startRedis();
    const c = await new Client({ connection: { url: srv.url, timeout: 30 } }).connect();
    try {
      const uuid = (await c.enqueueStatus('statused', 'Square', { n: 1 }))!;
      // Blocked in BLPOP first, then the server stops answering.
      const w = c.waitForJobs([uuid], { timeout: 3 }).catch(e => e);
      const probe = new Redis(srv.url, { maxRetriesPerRequest: 1 });
      await waitFor(
        async () => /name=pyres-ts:status-wait .*cmd=(blpop|brpoplpush)/.test((await probe.call('CLIENT', 'LIST')) as string),
        10_000,
        'the waiter blocked in BLPOP',
      );
      probe.disconnect();
      process.kill(srv.pid, 'SIGSTOP');
      const t0 = Date.now();
      const err = await w;
      expect(err).toBeInstanceOf(WaitTimeoutError);
      expect(Date.now() - t0).toBeLessThan(10_000); // bounded: far below the 30 s command timeout
      // A wait that starts while it is stopped is bounded too.
      await expect(c.waitForJobs([uuid], { timeout: 1 })).rejects.toBeInstanceOf(WaitTimeoutError);
      process.kill(srv.pid, 'SIGCONT');
      await expect(c.waitForJobs([uuid], { timeout: 1 })).rejects.toBeInstanceOf(WaitTimeoutError);
      expect((await c.getStatus(uuid))!.state).toBe('queued');
    } finally {
      try {
        process.kill(srv.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      await c.close();
      await srv.stop();
    }
  });
});
