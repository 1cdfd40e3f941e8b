/**
 * Status jobs with defineJob's hooks and `retry` option (issue 12), through a real `pyres-ts worker`
 * (and a real `pyres-ts scheduler` for a delayed retry): a retried status job keeps its uuid, its
 * status is `queued` between attempts (not `failed`: waiters keep waiting), the attempt that gives up
 * writes `failed`; the hooks get `(uuid, options)` in defineJob's order.
 */
process.env.TZ = 'UTC';
import { Client } from '../../src/producer/client';
import { JobFailedError, WaitTimeoutError } from '../../src/status/wait';
import { spawnCli } from '../support/spawn';
import { k, processTestEnv, waitFor } from '../process/helpers';

const env = processTestEnv();
const JOBS = 'fixtures/jobs/status.js';
let client: Client;
beforeEach(async () => {
  client = await new Client({ connection: { url: env.url } }).connect();
});
afterEach(async () => {
  await client.close();
});
const worker = () => env.startWorker([], 'statused', { jobs: [JOBS] });

describe('status jobs with retry', () => {
  it('a job retried at once keeps its uuid; the waiter gets the second attempt result; the first attempt is a failure record', async () => {
    await worker();
    const r = (await client.enqueueAndWait('statused', 'StatusRetryNow', { n: 1 }, { timeout: 30 })) as { uuid: string; attempt: number; message: string };
    const [uuid] = await env.redis.zrange(k('_statuses'), 0, -1);
    expect(await env.redis.zcard(k('_statuses'))).toBe(1);
    // The second attempt ran under the same uuid and saw the failed attempt's message (merged, as Ruby's).
    expect(r).toEqual({ uuid, attempt: 1, message: 'The task failed because of an error: attempt 0 failed' });
    const st = await client.getStatus(uuid!);
    expect(st).toMatchObject({ state: 'completed', fields: { result: r } });
    expect(st!.raw).toMatch(
      new RegExp(
        `^\\{"time":\\d+,"status":"completed","uuid":"${uuid}","options":\\{"n":1\\},"keep_result":true,"name":"StatusRetryNow\\(\\{\\\\"n\\\\"=>1\\}\\)","message":"Completed at `,
      ),
    );
    // resque-retry's default backend: the retried attempt is a failure record too; the counter is gone.
    const fails = await env.failures();
    expect(fails.map(f => JSON.parse(f))).toEqual([
      expect.objectContaining({ exception: 'Error', error: 'attempt 0 failed', payload: { class: 'StatusRetryNow', args: [uuid, { n: 1 }] } }),
    ]);
    // The retry key goes in the job's afterPerform, just after the status that woke the waiter.
    await waitFor(async () => (await env.redis.keys(k('resque-retry:*'))).length === 0, 10_000, 'the retry key removed after the success');
    await waitFor(async () => (await env.stat('processed')) === '2', 10_000, 'two runs processed');
    // The job's own hooks got (uuid, options), in defineJob's order, on each attempt.
    const hooks = env.ledgerLines().filter(l => l.startsWith('hook '));
    expect(hooks).toEqual([
      `hook beforePerform ${uuid} {"n":1}`,
      `hook onFailure ${uuid} attempt 0 failed`,
      `hook beforePerform ${uuid} {"n":1}`,
      `hook afterPerform ${uuid}`,
    ]);
  });

  it('between delayed attempts the status is queued and waiters keep waiting; the scheduler runs the retry', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusRetryLater', { n: 2 }, { keepResult: true }))!;
    const first = client.waitForJobs([uuid], { collectResults: true, timeout: 30 });
    first.catch(() => undefined);
    await env.waitForLedger(new RegExp(`StatusRetry run ${uuid} 0`));
    // No scheduler yet: the retry waits in the delayed schedule; the status says queued, with the failure's message.
    const between = await waitFor(
      async () => {
        const s = await client.getStatus(uuid);
        return s?.state === 'queued' && s.message ? s : null;
      },
      10_000,
      'the status queued again',
    );
    expect(between.message).toBe('The task failed because of an error: attempt 0 failed');
    expect(await env.redis.zcard(k('delayed_queue_schedule'))).toBe(1);
    expect((await env.redis.keys(k('resque-retry:StatusRetryLater:*'))).length).toBe(1);
    // A wait that starts now reads the queued status first: it must not reject.
    const second = client.waitForJobs([uuid], { collectResults: true, timeout: 30 });
    // Nor does a bounded one: it times out (still pending), it does not fail.
    await expect(client.waitForJobs([uuid], { timeout: 1.2 })).rejects.toBeInstanceOf(WaitTimeoutError);
    const sched = spawnCli(['scheduler', '--interval', '0.2', '-l', 'debug'], env.spawnOpts());
    await sched.waitForLine(/./, 8000);
    const expected = [{ uuid, attempt: 1, message: 'The task failed because of an error: attempt 0 failed' }];
    expect(await first).toEqual(expected);
    expect(await second).toEqual(expected);
    expect((await client.getStatus(uuid))!.state).toBe('completed');
  });

  it('the attempt that gives up writes failed and rejects the waiter, after every run', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusGiveUp', {}))!;
    const err = (await client.waitForJobs([uuid], { timeout: 30 }).catch(e => e)) as JobFailedError;
    expect(err).toBeInstanceOf(JobFailedError);
    expect([err.exception, err.error]).toEqual(['TypeError', 'never works']);
    // Both runs happened before the waiter heard of a failure.
    expect(env.ledgerLines().filter(l => l === `StatusGiveUp run ${uuid}`)).toHaveLength(2);
    expect((await client.getStatus(uuid))!.raw).toMatch(/"status":"failed",.*"message":"The task failed because of an error: never works"\}$/);
    await waitFor(async () => (await env.failures()).length === 2 || null, 10_000, 'two failure records');
    expect(await env.stat('failed')).toBe('2');
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
  });
});

describe('status jobs with hooks', () => {
  it('run in defineJob order with (uuid, options); a failure runs onFailure', async () => {
    await worker();
    expect(await client.enqueueAndWait('statused', 'StatusHooked', { n: 4 }, { timeout: 30 })).toBe(40);
    const [ok] = await env.redis.zrange(k('_statuses'), 0, -1);
    const failed = (await client.enqueueStatus('statused', 'StatusHooked', { n: 5, fail: true }))!;
    await expect(client.waitForJobs([failed], { timeout: 30 })).rejects.toMatchObject({ error: 'hooked boom' });
    await env.waitForLedger(new RegExp(`failure ${failed} hooked boom`));
    expect(env.ledgerLines()).toEqual([
      `before ${ok} 4`,
      `around a in ${ok}`,
      `perform ${ok}`,
      `around a out ${ok}`,
      `after ${ok}`,
      `before ${failed} 5`,
      `around a in ${failed}`,
      `perform ${failed}`,
      `failure ${failed} hooked boom`,
    ]);
  });

  it('DontPerform from beforePerform skips the job: counted processed, the status stays queued (as Ruby)', async () => {
    await worker();
    const uuid = (await client.enqueueStatus('statused', 'StatusHooked', { n: 1, skip: true }))!;
    await waitFor(async () => (await env.stat('processed')) === '1', 10_000, 'the skipped job counted');
    expect(env.ledgerLines()).toEqual([`before ${uuid} 1`]);
    expect((await client.getStatus(uuid))!.state).toBe('queued');
    expect(await env.failures()).toEqual([]);
  });
});
