/**
 * The library-level Worker against a real redis-server: jobs registered in code, Ruby-shaped
 * records and stats, currentJob(), graceful and aborting stops, pause, LPOP polling, drain.
 */
import { once } from 'node:events';
import type Redis from 'ioredis';
import { type Client, currentJob, encodeWorkingOn, type JobContext, JobRegistry, type Worker, type WorkerOptions } from '../../src';
import { poisonBytes, poisonPayload } from '../../src/protocol/records';
import { openMonitor } from '../support/monitor';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import {
  FAILED_AT_RE,
  HEARTBEAT_RE,
  HOST,
  keyOrder,
  keys,
  loadRubyRecords,
  registry,
  Resources,
  RUN_AT_RE,
  sleep,
  STARTED_RE,
  waitFor,
  watch,
  within,
} from './helpers';

const url = testDbUrl();
const ruby = loadRubyRecords();

let res: Resources;
let r: Redis;
let client: Client;

beforeEach(async () => {
  await flushTestDb(url);
  res = new Resources(url);
  r = res.redis();
  client = await res.client();
});

afterEach(async () => {
  await res.closeAll();
});

async function started(jobs: JobRegistry, opts: Partial<WorkerOptions> = {}): Promise<Worker> {
  const w = res.worker({ queues: 'p10,p9', jobs, ...opts });
  await w.start();
  return w;
}

/** Resolves on the worker's next 'success' or 'failure'. */
function nextOutcome(w: Worker): Promise<'success' | 'failure'> {
  return new Promise(resolve => {
    const ok = (): void => (w.off('failure', ko), resolve('success'));
    const ko = (): void => (w.off('success', ok), resolve('failure'));
    w.once('success', ok);
    w.once('failure', ko);
  });
}

async function workerKeys(id: string): Promise<Record<string, unknown>> {
  return {
    member: await r.sismember(keys.workers, id),
    working: await r.get(keys.worker(id)),
    started: await r.get(keys.workerStarted(id)),
    heartbeat: await r.hget(keys.heartbeats, id),
    processed: await r.get(keys.stat('processed', id)),
    failed: await r.get(keys.stat('failed', id)),
  };
}

async function globalStats(): Promise<{ processed: string | null; failed: string | null; failedList: number }> {
  return { processed: await r.get(keys.stat('processed')), failed: await r.get(keys.stat('failed')), failedList: await r.llen(keys.failed) };
}

/** Checks a failure record against Ruby's captured one: same keys, same order, same value types. */
function expectRubyShapedFailure(record: string): Record<string, unknown> {
  expect(keyOrder(record)).toEqual(keyOrder(ruby.failed));
  expect(keyOrder(record)).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
  const f = JSON.parse(record) as Record<string, unknown>;
  const rf = JSON.parse(ruby.failed) as Record<string, unknown>;
  for (const k of Object.keys(rf)) {
    if (k === 'payload') continue; // an object for a job, a string for non-JSON input
    expect([k, Array.isArray(f[k]) ? 'array' : typeof f[k]]).toEqual([k, Array.isArray(rf[k]) ? 'array' : typeof rf[k]]);
  }
  expect(f['failed_at']).toMatch(FAILED_AT_RE);
  expect((f['backtrace'] as unknown[]).every(x => typeof x === 'string')).toBe(true);
  // The record is compact (no spaces between tokens), as Ruby writes it.
  expect(record).toMatch(/^\{"failed_at":"[^"]+","payload":/);
  return f;
}

describe('outcomes and records', () => {
  it('success: Ruby-shaped worker record while working, key deleted when idle, stats counted', async () => {
    const gate = res.gate();
    const calls: unknown[][] = [];
    const w = await started(
      registry({
        Echo: async (...args: unknown[]) => {
          calls.push(args);
          await gate.promise;
        },
      }),
    );
    expect(w.id).toBe(`${HOST}:${process.pid}:p10,p9`);
    const before = await workerKeys(w.id);
    expect(before).toMatchObject({ member: 1, working: null, processed: null, failed: null });
    expect(before['started']).toMatch(STARTED_RE);
    expect(before['heartbeat']).toMatch(HEARTBEAT_RE);

    const payload = await client.enqueue('p10', 'Echo', 1, 'two', { three: 3 });
    expect(payload).toBe('{"class":"Echo","args":[1,"two",{"three":3}]}');
    await waitFor(() => calls.length === 1, 'the job to start');
    const working = (await r.get(keys.worker(w.id)))!;
    expect(keyOrder(working)).toEqual(keyOrder(ruby.workingOn));
    const wo = JSON.parse(working) as { queue: string; run_at: string };
    expect(wo.queue).toBe('p10');
    expect(wo.run_at).toMatch(RUN_AT_RE);
    expect(working).toBe(`{"queue":"p10","run_at":"${wo.run_at}","payload":${payload}}`);
    expect(w.state).toBe('working');

    const done = nextOutcome(w);
    gate.resolve();
    expect(await done).toBe('success');
    expect(calls).toEqual([[1, 'two', { three: 3 }]]);
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '1', 'stat:processed');
    expect(await workerKeys(w.id)).toMatchObject({ member: 1, working: null, processed: '1', failed: null });
    expect(await globalStats()).toEqual({ processed: '1', failed: null, failedList: 0 });
    await waitFor(() => w.state === 'idle', 'idle');
    expect(await r.exists(keys.worker(w.id))).toBe(0);
  });

  it('synchronous performs and thenables: a plain return is a success, a thenable is waited for (success or failure), currentJob() inside a sync perform', async () => {
    const seen: Array<string | undefined> = [];
    let resolveLater: (() => void) | undefined;
    const w = await started(
      registry({
        Sync: () => {
          seen.push(currentJob()?.className);
          return 42;
        },
        Later: () => ({
          // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a promise is what this test is about
          then(ok: (v: unknown) => void) {
            resolveLater = () => ok(undefined);
          },
        }),
        LaterFail: () => ({
          // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a promise is what this test is about
          then(_ok: unknown, ko: (e: unknown) => void) {
            ko(new RangeError('the thenable says no'));
          },
        }),
      }),
    );
    let done = nextOutcome(w);
    await client.enqueue('p10', 'Sync');
    expect(await done).toBe('success');
    expect(seen).toEqual(['Sync']);
    done = nextOutcome(w);
    await client.enqueue('p10', 'Later');
    await waitFor(() => resolveLater !== undefined, 'the thenable to be adopted');
    expect(w.state).toBe('working');
    resolveLater?.();
    expect(await done).toBe('success');
    done = nextOutcome(w);
    await client.enqueue('p10', 'LaterFail');
    expect(await done).toBe('failure');
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '3', 'stat:processed');
    expect(await globalStats()).toEqual({ processed: '3', failed: '1', failedList: 1 });
    const [rec] = await r.lrange(keys.failed, 0, -1);
    expect((JSON.parse(rec ?? '{}') as { exception?: string }).exception).toBe('RangeError');
  });

  it('failure: a Ruby-shaped failed record (exception = class, error = message, job frames only)', async () => {
    const w = await started(
      registry({
        FailingJob: function perform(...args: unknown[]): never {
          throw new TypeError(`boom: ${JSON.stringify(args)}`);
        },
      }),
    );
    const payload = await client.enqueue('p10', 'FailingJob', 1, 'two', { three: 3 });
    expect(await nextOutcome(w)).toBe('failure');
    await waitFor(async () => (await r.llen(keys.failed)) === 1, 'the failed record');
    const record = (await r.lindex(keys.failed, 0))!;
    const f = expectRubyShapedFailure(record);
    expect(f).toMatchObject({ exception: 'TypeError', error: 'boom: [1,"two",{"three":3}]', worker: w.id, queue: 'p10' });
    expect(record).toContain(`"payload":${payload},"exception":`);
    const bt = f['backtrace'] as string[];
    expect(bt.length).toBeGreaterThan(0);
    expect(bt[0]).toContain('worker.test.ts');
    // Cut before pyres-ts's own frames, as Ruby cuts before lib/resque/job.rb.
    expect(bt.filter(l => /[/\\]src[/\\](jobs|worker)[/\\]/.test(l))).toEqual([]);
    await waitFor(async () => (await r.get(keys.stat('failed', w.id))) === '1', 'stat:failed:<id>');
    expect(await globalStats()).toEqual({ processed: '1', failed: '1', failedList: 1 });
    expect(await workerKeys(w.id)).toMatchObject({ member: 1, working: null, processed: '1', failed: '1' });
  });

  it('unknown class: a failed record with an empty backtrace, and the worker goes on', async () => {
    const calls: unknown[][] = [];
    const w = await started(registry({ Echo: (...a: unknown[]) => void calls.push(a) }));
    const seen = watch(w);
    const bad = await client.enqueue('p10', 'NoSuchJob', 1);
    await client.enqueue('p10', 'Echo', 'after');
    await waitFor(() => seen.successes === 1 && seen.failures.length === 1, 'both jobs');
    const record = (await r.lindex(keys.failed, 0))!;
    const f = expectRubyShapedFailure(record);
    expect(f).toMatchObject({ exception: 'UnknownJobClassError', backtrace: [], worker: w.id, queue: 'p10' });
    expect(f['error']).toContain('NoSuchJob');
    expect(record).toContain(`"payload":${bad},"exception":`);
    expect(calls).toEqual([['after']]);
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '2', 'stats');
    expect(await globalStats()).toEqual({ processed: '2', failed: '1', failedList: 1 });
    expect(await workerKeys(w.id)).toMatchObject({ member: 1, working: null, processed: '2', failed: '1' });
  });

  it('poison payloads: each one a failed record keeping its bytes; the worker survives them all', async () => {
    const calls: unknown[][] = [];
    const w = await started(registry({ Echo: (...a: unknown[]) => void calls.push(a) }));
    const seen = watch(w);
    // Each is refused; its record carries a PyresTs::PoisonItem payload with the item's exact bytes.
    const poison: string[] = [
      'not json {',
      '{bad json',
      '',
      'null',
      '[1,2]',
      '"a string"',
      '42',
      '{"args":[1]}',
      '{"class":"","args":[]}',
      '{"class":7,"args":[]}',
      '{"class":"Echo","args":{"a":1}}',
      '{"class":"Echo","args":[NaN]}',
    ];
    for (const raw of poison) await r.rpush(keys.queue('p10'), raw);
    await client.enqueue('p10', 'Echo', 'survived');
    await waitFor(() => seen.successes === 1, 'the good job after the poison', 15000);
    expect(seen.failures).toHaveLength(poison.length);
    expect(calls).toEqual([['survived']]);
    const records = await r.lrange(keys.failed, 0, -1);
    expect(records).toHaveLength(poison.length);
    records.forEach((record, i) => {
      const raw = poison[i]!;
      const embedded = poisonPayload(Buffer.from(raw, 'utf8'));
      const f = expectRubyShapedFailure(record);
      expect([raw, f['exception']]).toEqual([raw, 'PayloadDecodeError']);
      expect([raw, f['backtrace']]).toEqual([raw, []]);
      expect([raw, record.includes(`"payload":${embedded},"exception":`)]).toEqual([raw, true]);
    });
    const n = String(poison.length);
    await waitFor(async () => (await r.get(keys.stat('processed'))) === String(poison.length + 1), 'stats');
    expect(await globalStats()).toEqual({ processed: String(poison.length + 1), failed: n, failedList: poison.length });
    expect(await workerKeys(w.id)).toMatchObject({ member: 1, working: null, failed: n });
    expect(w.state).not.toBe('stopped');
  });

  it.each([
    [
      'an object',
      Buffer.concat([
        Buffer.from('{"queue":"p10","run_at":"2026-11-22T22:10:47Z","payload":{"class":"Echo","args":["caf'),
        Buffer.from([0xe9]),
        Buffer.from('"]}}'),
      ]),
      Buffer.concat([Buffer.from('{"class":"Echo","args":["caf'), Buffer.from([0xe9]), Buffer.from('"]}')]),
    ],
    [
      'a JSON string',
      Buffer.concat([Buffer.from('{"queue":"p10","run_at":"2026-11-22T22:10:47Z","payload":"'), Buffer.from([0xff]), Buffer.from('\\"x\\\\"}')]),
      Buffer.from([0xff, 0x22, 0x78, 0x5c]),
    ],
  ])('a held worker:<id> (a lost reply) whose payload, %s, is not UTF-8: refused, its exact bytes in the poison record', async (_what, record, payload) => {
    const calls: unknown[][] = [];
    const w = res.worker({ queues: 'p10,p9', jobs: registry({ Echo: (...a: unknown[]) => void calls.push(a) }) });
    await r.set(keys.worker(w.id), record);
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.failures.length === 1, 'the held item refused');
    expect(calls).toEqual([]);
    const [rec] = await r.lrange(keys.failed, 0, -1);
    const f = JSON.parse(rec!) as { payload: unknown; exception: string; queue: string };
    expect([f.exception, f.queue]).toEqual(['PayloadDecodeError', 'p10']);
    expect(poisonBytes(f.payload)).toEqual(payload);
  });

  it('per-worker stats and every registration key are removed at stop; global stats stay', async () => {
    const w = await started(
      registry({
        Ok: () => undefined,
        Ko: () => {
          throw new Error('no');
        },
      }),
    );
    const seen = watch(w);
    await client.enqueue('p10', 'Ok');
    await client.enqueue('p10', 'Ko');
    await waitFor(() => seen.successes + seen.failures.length === 2, 'two jobs');
    await waitFor(async () => (await r.get(keys.stat('processed', w.id))) === '2', 'per-worker stats');
    expect(await workerKeys(w.id)).toMatchObject({ member: 1, processed: '2', failed: '1' });
    await w.stop();
    expect(w.state).toBe('stopped');
    expect(await workerKeys(w.id)).toEqual({ member: 0, working: null, started: null, heartbeat: null, processed: null, failed: null });
    expect(await globalStats()).toEqual({ processed: '2', failed: '1', failedList: 1 });
  });
});

describe('the job context', () => {
  it('currentJob() gives queue, workerId, className, payload and the signal inside perform, also after an await', async () => {
    const seen: Array<Record<string, unknown>> = [];
    class Ctx {
      context?: JobContext;
      async perform(tag: string): Promise<void> {
        const a = currentJob();
        await sleep(5);
        const b = currentJob();
        seen.push({
          tag,
          queue: a?.queue,
          workerId: a?.workerId,
          className: a?.className,
          payload: a?.payload,
          signalIsAbortSignal: a?.signal instanceof AbortSignal,
          aborted: a?.signal.aborted,
          sameAfterAwait: a === b,
          sameAsThisContext: this.context === a,
          hasLogger: typeof a?.logger.info === 'function',
        });
      }
    }
    const w = await started(registry({ Ctx }));
    await client.enqueue('p9', 'Ctx', 'one');
    await r.rpush(keys.queue('p10'), '{"class":"my.mod.Ctx","args":["two"],"enqueue_timestamp":1795385578.523513}');
    await waitFor(() => seen.length === 2, 'both jobs');
    seen.sort((a, b) => String(a['tag']).localeCompare(String(b['tag'])));
    expect(seen).toEqual([
      expect.objectContaining({ tag: 'one', queue: 'p9', className: 'Ctx', payload: { class: 'Ctx', args: ['one'] } }),
      expect.objectContaining({
        tag: 'two',
        queue: 'p10',
        className: 'my.mod.Ctx',
        payload: { class: 'my.mod.Ctx', args: ['two'], enqueue_timestamp: 1795385578.523513 },
      }),
    ]);
    for (const s of seen) {
      expect(s).toMatchObject({ workerId: w.id, signalIsAbortSignal: true, aborted: false, sameAfterAwait: true, sameAsThisContext: true, hasLogger: true });
    }
    expect(currentJob()).toBeUndefined();
  });
});

describe('stopping', () => {
  it('stop({graceful:true}) waits for the running job, records it as a success, and takes no new job', async () => {
    const gate = res.gate();
    let signal: AbortSignal | undefined;
    let ran = 0;
    const w = await started(
      registry({
        Slow: async () => {
          ran += 1;
          signal = currentJob()?.signal;
          await gate.promise;
        },
      }),
    );
    await client.enqueue('p10', 'Slow');
    await client.enqueue('p10', 'Slow');
    await waitFor(() => ran === 1, 'the first job');
    const stopping = w.stop({ graceful: true });
    expect(
      await within(
        stopping.then(() => 'stopped'),
        400,
        'still waiting',
      ),
    ).toBe('still waiting');
    expect(signal?.aborted).toBe(false);
    expect(await r.exists(keys.worker(w.id))).toBe(1);
    gate.resolve();
    await stopping;
    expect(ran).toBe(1);
    expect(await globalStats()).toEqual({ processed: '1', failed: null, failedList: 0 });
    expect(await r.llen(keys.queue('p10'))).toBe(1);
    expect(await workerKeys(w.id)).toEqual({ member: 0, working: null, started: null, heartbeat: null, processed: null, failed: null });
  });

  it('stop({graceful:false}) aborts a job that honours its signal and records Resque::DirtyExit', async () => {
    let startedJob = false;
    const w = await started(
      registry({
        Honours: async () => {
          const { signal } = currentJob()!;
          startedJob = true;
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        },
      }),
      { termTimeout: 10 },
    );
    const payload = await client.enqueue('p10', 'Honours', 'x');
    await waitFor(() => startedJob, 'the job');
    const t0 = Date.now();
    await w.stop({ graceful: false });
    expect(Date.now() - t0).toBeLessThan(5000); // it did not wait for termTimeout
    const records = await r.lrange(keys.failed, 0, -1);
    expect(records).toHaveLength(1);
    const f = expectRubyShapedFailure(records[0]!);
    expect(f).toMatchObject({ exception: 'Resque::DirtyExit', backtrace: [], worker: w.id, queue: 'p10' });
    expect(records[0]).toContain(`"payload":${payload},"exception":`);
    // As Ruby: a dirty exit counts as processed but not in stat:failed.
    expect(await globalStats()).toEqual({ processed: '1', failed: null, failedList: 1 });
    expect(await workerKeys(w.id)).toEqual({ member: 0, working: null, started: null, heartbeat: null, processed: null, failed: null });
  });

  it('stop({graceful:false}) with a job that ignores its signal: DirtyExit after termTimeout', async () => {
    const gate = res.gate();
    let startedJob = false;
    const w = await started(
      registry({
        Stubborn: async () => {
          startedJob = true;
          await gate.promise;
        },
      }),
      { termTimeout: 0.3 },
    );
    await client.enqueue('p10', 'Stubborn');
    await waitFor(() => startedJob, 'the job');
    const t0 = Date.now();
    await w.stop({ graceful: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const records = await r.lrange(keys.failed, 0, -1);
    expect(records).toHaveLength(1);
    expect(expectRubyShapedFailure(records[0]!)).toMatchObject({ exception: 'Resque::DirtyExit', backtrace: [] });
    expect(await workerKeys(w.id)).toMatchObject({ member: 0, working: null });
  });

  it('stop() on a worker that was never started resolves', async () => {
    const w = res.worker({ queues: 'p10', jobs: new JobRegistry() });
    expect(
      await within(
        w.stop().then(() => 'resolved'),
        2000,
        'never settled',
      ),
    ).toBe('resolved');
    expect(w.state).toBe('stopped');
  });

  it('stop() right after start() (while starting) resolves and leaves nothing registered', async () => {
    const w = res.worker({ queues: 'p10', jobs: registry({ Echo: () => undefined }) });
    await client.enqueue('p10', 'Echo');
    const starting = w.start();
    expect(w.state).toBe('starting');
    const stopping = w.stop();
    await starting;
    expect(
      await within(
        stopping.then(() => 'stopped'),
        5000,
        'hung',
      ),
    ).toBe('stopped');
    expect(await workerKeys(w.id)).toEqual({ member: 0, working: null, started: null, heartbeat: null, processed: null, failed: null });
    expect(await r.llen(keys.queue('p10'))).toBe(1);
  });

  it('abortCurrentJob() (USR1) records the aborted job as Resque::DirtyExit and goes on', async () => {
    const order: string[] = [];
    const w = await started(
      registry({
        Abortable: async (tag: string) => {
          order.push(tag);
          if (tag !== 'first') return;
          const { signal } = currentJob()!;
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        },
      }),
    );
    const seen = watch(w);
    const first = await client.enqueue('p10', 'Abortable', 'first');
    await client.enqueue('p10', 'Abortable', 'second');
    await waitFor(() => order.length === 1, 'the first job');
    expect(w.abortCurrentJob()).toBe(true);
    await waitFor(() => seen.successes === 1, 'the second job');
    expect(order).toEqual(['first', 'second']);
    const records = await r.lrange(keys.failed, 0, -1);
    expect(records).toHaveLength(1);
    expect(expectRubyShapedFailure(records[0]!)).toMatchObject({ exception: 'Resque::DirtyExit', backtrace: [], queue: 'p10' });
    expect(records[0]).toContain(`"payload":${first},"exception":`);
    expect(w.state).not.toBe('stopped');
    expect(await r.sismember(keys.workers, w.id)).toBe(1);
  });

  it("'stopped' event and the stopped promise agree; stop() is idempotent", async () => {
    const w = await started(new JobRegistry());
    const ev = once(w, 'stopped');
    const a = w.stop();
    const b = w.stop();
    await Promise.all([a, b, ev, w.stopped]);
    expect(w.state).toBe('stopped');
  });
});

describe('pausing', () => {
  it('pause() reserves nothing until resume()', async () => {
    const calls: unknown[][] = [];
    const w = await started(registry({ Echo: (...a: unknown[]) => void calls.push(a) }));
    w.pause();
    expect(w.isPaused).toBe(true);
    await waitFor(() => w.state === 'paused', 'paused state');
    await client.enqueue('p10', 'Echo', 1);
    await sleep(700);
    expect(calls).toEqual([]);
    expect(await r.llen(keys.queue('p10'))).toBe(1);
    expect(w.describe()).toBe('Paused');
    const done = nextOutcome(w);
    w.resume();
    expect(w.isPaused).toBe(false);
    expect(await within(done, 5000, 'not worked')).toBe('success');
    expect(calls).toEqual([[1]]);
  });

  it('pause() during a job lets the job finish, then takes nothing', async () => {
    const gate = res.gate();
    let ran = 0;
    const w = await started(
      registry({
        Slow: async () => {
          ran += 1;
          await gate.promise;
        },
      }),
    );
    await client.enqueue('p10', 'Slow');
    await client.enqueue('p10', 'Slow');
    await waitFor(() => ran === 1, 'first job');
    w.pause();
    gate.resolve();
    await waitFor(() => w.state === 'paused', 'paused after the job');
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '1', 'first job recorded');
    await sleep(500);
    expect(ran).toBe(1);
    expect(await r.llen(keys.queue('p10'))).toBe(1);
    w.resume();
    await waitFor(() => ran === 2, 'second job after resume');
  });

  it('pause-all-workers pauses the worker; deleting it resumes', async () => {
    const calls: unknown[][] = [];
    const w = await started(registry({ Echo: (...a: unknown[]) => void calls.push(a) }));
    await r.set(keys.pauseAll, ' TRUE ');
    // The flag is read on the next pass: wake the worker with a push.
    await client.enqueue('p10', 'Echo', 1);
    await waitFor(() => w.state === 'paused', 'globally paused', 10000);
    expect(calls).toEqual([]);
    await r.del(keys.pauseAll);
    await waitFor(() => calls.length === 1, 'the job after the global pause ended', 10000);
  });
});

describe('modes', () => {
  it('nonblockingPop with a small backoff works jobs in priority order, and keeps polling', async () => {
    const order: string[] = [];
    await client.enqueue('p9', 'Echo', 'p9-a');
    await client.enqueue('p10', 'Echo', 'p10-a');
    await client.enqueue('p9', 'Echo', 'p9-b');
    const w = await started(registry({ Echo: (tag: string) => void order.push(tag) }), {
      nonblockingPop: true,
      backoffMin: 0.05,
      backoffMax: 0.2,
    });
    await waitFor(() => order.length === 3, 'the first three jobs');
    expect(order).toEqual(['p10-a', 'p9-a', 'p9-b']);
    // Idle for several backoff periods, then more work arrives.
    await sleep(600);
    for (let i = 0; i < 5; i++) {
      await client.enqueue('p10', 'Echo', `late-${i}`);
      await sleep(30);
    }
    await waitFor(() => order.length === 8, 'the late jobs', 5000);
    expect(order.slice(3)).toEqual(['late-0', 'late-1', 'late-2', 'late-3', 'late-4']);
    expect(await r.get(keys.stat('processed', w.id))).toBe('8');
  });

  it('drain: true works every queued job, then stops and unregisters by itself', async () => {
    const order: string[] = [];
    for (const tag of ['a', 'b', 'c']) await client.enqueue('p9', 'Echo', tag);
    await client.enqueue('p10', 'Echo', 'first');
    const w = await started(registry({ Echo: (tag: string) => void order.push(tag) }), { drain: true });
    expect(
      await within(
        w.stopped.then(() => 'stopped'),
        10000,
        'still running',
      ),
    ).toBe('stopped');
    expect(w.state).toBe('stopped');
    expect(order).toEqual(['first', 'a', 'b', 'c']);
    expect(await globalStats()).toEqual({ processed: '4', failed: null, failedList: 0 });
    expect(await workerKeys(w.id)).toEqual({ member: 0, working: null, started: null, heartbeat: null, processed: null, failed: null });
  });

  it('drain: true with nonblockingPop on empty queues stops at once', async () => {
    const w = await started(new JobRegistry(), { drain: true, nonblockingPop: true });
    expect(
      await within(
        w.stopped.then(() => 'stopped'),
        5000,
        'still running',
      ),
    ).toBe('stopped');
    expect(await r.scard(keys.workers)).toBe(0);
  });
});

describe('payloads that only look like JSON objects', () => {
  it('the worker rewrites the working-on record as valid JSON and records a failure', async () => {
    const items = ['{"class":"Echo","args":[NaN]}', '{"class":"Echo","args":[0x10]}', '{"class":"Echo","args":[]}\u0000tail'];
    for (const raw of items) await r.rpush(keys.queue('p10'), raw);
    const mon = await openMonitor(res.redis());
    const repairs: string[] = [];
    mon.on('monitor', (_t: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'set' && args[3] === 'XX') repairs.push(args[2] ?? '');
    });
    const w = await started(registry({ Echo: { perform: () => undefined } }), { drain: true });
    await w.stopped;
    mon.disconnect();
    expect(repairs).toHaveLength(items.length);
    // MONITOR's text escapes the value, so it is not parsed here; the rewrite is
    // encodeWorkingOn(...), whose output for these inputs is valid JSON:
    for (const raw of items) expect(() => JSON.parse(encodeWorkingOn('p10', '2026-11-22T22:10:47Z', raw))).not.toThrow();
    for (const v of repairs) expect(v.startsWith('{"queue":"p10","run_at":"')).toBe(true);
    const failed = await r.lrange(keys.failed, 0, -1);
    expect(failed).toHaveLength(items.length);
    for (const [i, f] of failed.entries()) {
      const rec = JSON.parse(f) as { payload: unknown; exception: string };
      expect(rec.exception).toBe('PayloadDecodeError');
      expect(poisonBytes(rec.payload)?.toString('utf8')).toBe(items[i]);
    }
  });
});
