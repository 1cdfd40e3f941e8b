/**
 * Job hooks and worker hooks (issue 12) against a real redis-server: the order of every hook
 * call mirrors the Resque 3.0 capture fixtures/plugins/h1-job-hooks (HookJob, the same job in
 * fixtures/jobs/hooks.js), beforeEnqueue cancelling, onFailure before the failure record,
 * onFailure for a TERM-deadline dirty exit, throwing hooks as Resque records them, the Pyres
 * adapter, and hooks per job with 4 job slots.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import {
  Client,
  type ClientOptions,
  defineJob,
  defineStatusJob,
  DontPerform,
  EnqueueCancelledError,
  JobRegistry,
  pyresHooks,
  type PyresMetadata,
  WorkerPool,
} from '../../src';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { HOST, keys, Resources, testLogger, waitFor } from './helpers';

const url = testDbUrl();
const ROOT = path.resolve(__dirname, '..', '..');
const H1 = path.join(ROOT, 'fixtures', 'plugins', 'h1-job-hooks');
// The same HookJob as h1's, in pyres-ts names (loaded from dist, as a job module is).
const hookModule = require(path.join(ROOT, 'fixtures', 'jobs', 'hooks.js')) as Record<string, unknown>;

let res: Resources;
let r: Redis;
const events: string[] = [];

beforeEach(async () => {
  await flushTestDb(url);
  res = new Resources(url);
  r = res.redis();
  events.length = 0;
  (globalThis as { __hookEvents?: string[] }).__hookEvents = events;
});

afterEach(async () => {
  await res.closeAll();
  delete (globalThis as { __hookEvents?: string[] }).__hookEvents;
});

/** h1's events.log lines (without epoch and pid) for the jobs given, in order. */
function h1Events(keepLine: (line: string) => boolean, keepJob: (args: string) => boolean): string[] {
  const lines = fs
    .readFileSync(path.join(H1, 'events.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(l => l.replace(/^\S+ (pid=\d+ )?/, ''));
  // Lines after `worker hook before_fork {"class":"HookJob","args":[X]}` belong to job X.
  let job: string | null = null;
  const out: string[] = [];
  for (const l of lines) {
    const m = /^worker hook before_fork \{"class":"HookJob","args":\[(.*)\]\}$/.exec(l);
    if (m) {
      job = m[1]!;
      continue;
    }
    if (/^driver|^worker hook after_fork/.test(l)) continue;
    if (/^(on_failure_log|worker hook)/.test(l)) job = null;
    const arg = /\[(".*?")\]$/.exec(l)?.[1] ?? job;
    if (keepLine(l) && (arg === null || keepJob(arg))) out.push(l);
  }
  return out;
}

function client(opts: Omit<ClientOptions, 'connection'>): Client {
  const c = new Client({ connection: { url }, ...opts });
  res.onClose(() => c.close());
  return c;
}

describe('job hooks, in Resque order (h1-job-hooks)', () => {
  it('enqueue: beforeEnqueue hooks (bare name, then by name), push, afterEnqueue; a false cancels with nothing written', async () => {
    const c = client({ jobs: hookModule });
    await c.connect();
    expect(await c.enqueue('p10', 'HookJob', 'ok')).toBe('{"class":"HookJob","args":["ok"]}');
    expect(await c.enqueue('p10', 'HookJob', 'reject')).toBeNull();
    await c.enqueue('p10', 'HookJob', 'fail');
    await c.enqueue('p10', 'HookJob', 'dontperform');
    const want = h1Events(
      x => /^(before|after)_enqueue/.test(x),
      a => a !== '"dequeued"' && a !== '"dirty"',
    );
    expect(want.length).toBe(11);
    expect(events).toEqual(want);
    // As keys-before-worker.json without the dequeued and dirty jobs: the refused job left nothing.
    const before = JSON.parse(fs.readFileSync(path.join(H1, 'keys-before-worker.json'), 'utf8')).keys;
    const queue = (before['resque:queue:p10'].value as string[]).filter(p => !p.includes('dirty'));
    expect(await r.lrange(keys.queue('p10'), 0, -1)).toEqual(queue);
    expect(await r.smembers(keys.queues)).toEqual(before['resque:queues'].value);
  });

  it("enqueueStatus: beforeEnqueue and afterEnqueue get (uuid, options); a false writes no status and enqueues nothing (Ruby's create returns nil)", async () => {
    const seen: string[] = [];
    const StatusGate = defineStatusJob<{ refuse?: boolean }>({
      perform: async () => undefined,
      beforeEnqueue: (uuid: string, o: { refuse?: boolean }) => {
        seen.push(`before ${uuid.length} ${JSON.stringify(o)}`);
        return !o.refuse;
      },
      afterEnqueue: (uuid: string, o: { refuse?: boolean }) => {
        seen.push(`after ${uuid.length} ${JSON.stringify(o)}`);
      },
    });
    const c = client({ jobs: { StatusGate } });
    await c.connect();
    const uuid = await c.enqueueStatus('statused', 'StatusGate', {});
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(await c.enqueueStatus('statused', 'StatusGate', { refuse: true })).toBeNull();
    await expect(c.enqueueAndWait('statused', 'StatusGate', { refuse: true }, { timeout: 5 })).rejects.toBeInstanceOf(EnqueueCancelledError);
    expect(seen).toEqual(['before 32 {}', 'after 32 {}', 'before 32 {"refuse":true}', 'before 32 {"refuse":true}']);
    // Only the accepted job: one payload, one status, one entry in _statuses.
    expect(await r.lrange(keys.queue('statused'), 0, -1)).toEqual([`{"class":"StatusGate","args":["${uuid}",{}]}`]);
    expect(await r.zrange(`${keys.prefix}_statuses`, 0, -1)).toEqual([uuid]);
    expect((await r.keys(`${keys.prefix}status:*`)).length).toBe(1);
  });

  it('dequeue: beforeDequeue, the LREM, afterDequeue (h1); a false from beforeDequeue removes nothing', async () => {
    const c = client({ jobs: hookModule });
    await c.connect();
    await c.enqueue('p10', 'HookJob', 'dequeued');
    await c.enqueue('p10', 'HookJob', 'keep');
    events.length = 0;
    expect(await c.dequeue('p10', 'HookJob', 'dequeued')).toBe(1);
    expect(events).toEqual(
      h1Events(
        x => /_dequeue_/.test(x),
        () => true,
      ),
    );
    expect(events).toEqual(['before_dequeue_log ["dequeued"]', 'after_dequeue_log ["dequeued"]']);
    expect(await r.lrange(keys.queue('p10'), 0, -1)).toEqual(['{"class":"HookJob","args":["keep"]}']);
    const veto = new JobRegistry().register('V', defineJob({ perform: (_x: string) => undefined, beforeDequeue: () => false }));
    const c2 = client({ jobs: veto });
    await c2.connect();
    await c2.enqueue('p10', 'V', 'x');
    expect(await c2.dequeue('p10', 'V', 'x')).toBeNull();
    expect(await r.llen(keys.queue('p10'))).toBe(2);
  });

  it('a Client without jobs runs no hook (it knows no job code)', async () => {
    const c = client({});
    await c.connect();
    expect(await c.enqueue('p10', 'HookJob', 'reject')).toBe('{"class":"HookJob","args":["reject"]}');
    expect(events).toEqual([]);
  });

  it('perform: before (a, b), around a wraps around b wraps perform, after; fail: onFailure, no after; DontPerform: nothing after, counted processed; worker hooks', async () => {
    for (const a of ['ok', 'fail', 'dontperform']) await r.rpush(keys.queue('p10'), `{"class":"HookJob","args":["${a}"]}`);
    await r.sadd(keys.queues, 'p10');
    const jobs = new JobRegistry();
    jobs.registerModule(hookModule);
    const w = res.worker({ queues: 'p10', jobs });
    await w.start();
    await waitFor(() => events.includes('worker hook queue_empty'), 'queue_empty');
    await w.stop({ graceful: true });
    const want = h1Events(
      x => !/enqueue|dequeue|before_fork|after_fork/.test(x),
      a => a !== '"dequeued"' && a !== '"dirty"',
    );
    expect(want.length).toBe(19);
    expect(events).toEqual(want);
    expect(events).toContain('on_failure_log ArgumentError "boom" ["fail"]');
    // keys.json less the dirty job (counted processed, not failed, by Ruby): 3 processed, 1 failed.
    expect(await r.get(keys.stat('processed'))).toBe('3');
    expect(await r.get(keys.stat('failed'))).toBe('1');
    const failed = (await r.lrange(keys.failed, 0, -1)).map(x => JSON.parse(x));
    expect(failed.map(f => [f.exception, f.error, f.payload])).toEqual([['ArgumentError', 'boom', { class: 'HookJob', args: ['fail'] }]]);
  });
});

describe('onFailure', () => {
  it('runs before the failure record is written: inside the hook, `failed` is still empty', async () => {
    const seen: Array<{ llen: number; failedStat: string | null; err: string }> = [];
    const jobs = new JobRegistry().register(
      'Boom',
      defineJob({
        perform: () => {
          throw new TypeError('nope');
        },
        onFailure: async (e: Error) => {
          seen.push({ llen: await r.llen(keys.failed), failedStat: await r.get(keys.stat('failed')), err: `${e.name}: ${e.message}` });
        },
      }),
    );
    await r.rpush(keys.queue('q'), '{"class":"Boom","args":[]}');
    const w = res.worker({ queues: 'q', jobs, drain: true });
    await w.start();
    await w.stopped;
    expect(seen).toEqual([{ llen: 0, failedStat: null, err: 'TypeError: nope' }]);
    expect(await r.llen(keys.failed)).toBe(1);
  });

  it('a TERM deadline dirty exit: the worker runs onFailure with Resque::DirtyExit, then writes the record', async () => {
    const seen: string[] = [];
    const jobs = new JobRegistry().register(
      'Stuck',
      defineJob({
        perform: () => new Promise(done => res.onClose(() => done(undefined))),
        onFailure: async (e: Error) => {
          seen.push(`${e.name}|${e.message}|${await r.llen(keys.failed)}`);
        },
      }),
    );
    await r.rpush(keys.queue('q'), '{"class":"Stuck","args":[]}');
    const w = res.worker({ queues: 'q', jobs, termTimeout: 0.3 });
    const started = new Promise(ok => w.once('job', ok));
    await w.start();
    await started;
    await w.stop({ graceful: false });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^Resque::DirtyExit\|Job aborted by shutdown was still running after 0.3s; worker exited\|0$/);
    const rec = JSON.parse((await r.lindex(keys.failed, 0))!);
    expect(rec.exception).toBe('Resque::DirtyExit');
    expect(seen[0]).toContain(rec.error);
  });

  it('with --on-dirty-exit requeue nothing failed, so no onFailure runs', async () => {
    const seen: string[] = [];
    const jobs = new JobRegistry().register(
      'Stuck',
      defineJob({ perform: () => new Promise(done => res.onClose(() => done(undefined))), onFailure: (e: Error) => void seen.push(e.name) }),
    );
    await r.rpush(keys.queue('q'), '{"class":"Stuck","args":[]}');
    const w = res.worker({ queues: 'q', jobs, termTimeout: 0.2, onDirtyExit: 'requeue' });
    const started = new Promise(ok => w.once('job', ok));
    await w.start();
    await started;
    await w.stop({ graceful: false });
    expect(await r.lrange(keys.queue('q'), 0, -1)).toEqual(['{"class":"Stuck","args":[]}']);
    expect(seen).toEqual([]);
  });
});

describe('hooks that throw (as Resque: the job fails)', () => {
  async function runOne(def: Parameters<typeof defineJob>[0]): Promise<{ exception: string; error: string } | null> {
    const jobs = new JobRegistry().register('J', defineJob(def));
    await r.rpush(keys.queue('q'), '{"class":"J","args":[1]}');
    const w = res.worker({ queues: 'q', jobs, drain: true });
    await w.start();
    await w.stopped;
    const rec = await r.lindex(keys.failed, 0);
    return rec ? JSON.parse(rec) : null;
  }

  it('beforePerform error: perform does not run, onFailure does, the job fails with that error', async () => {
    const calls: string[] = [];
    const rec = await runOne({
      beforePerform: () => {
        throw new RangeError('before');
      },
      perform: () => void calls.push('perform'),
      afterPerform: () => void calls.push('after'),
      onFailure: (e: Error) => void calls.push(`onFailure ${e.message}`),
    });
    expect(calls).toEqual(['onFailure before']);
    expect(rec).toMatchObject({ exception: 'RangeError', error: 'before' });
    expect(await r.get(keys.stat('processed'))).toBe('1');
  });

  it('afterPerform error: perform ran, then the job fails with that error', async () => {
    const calls: string[] = [];
    const rec = await runOne({
      perform: () => void calls.push('perform'),
      afterPerform: () => {
        calls.push('after');
        throw new Error('after');
      },
      onFailure: (e: Error) => void calls.push(`onFailure ${e.message}`),
    });
    expect(calls).toEqual(['perform', 'after', 'onFailure after']);
    expect(rec).toMatchObject({ exception: 'Error', error: 'after' });
  });

  it("onFailure error: the later onFailure hooks do not run; the record is written with Resque's RuntimeError", async () => {
    const calls: string[] = [];
    const rec = await runOne({
      perform: () => {
        throw Object.assign(new Error('boom'), { name: 'ArgumentError' });
      },
      onFailureA: () => {
        throw new Error('hook broke');
      },
      onFailureB: () => void calls.push('b'),
    });
    expect(calls).toEqual([]);
    expect(rec?.exception).toBe('RuntimeError');
    expect(rec?.error).toBe(
      'Additional error (Error: hook broke) occurred in running failure hooks for job J\nOriginal error that caused job failure was Error: ArgumentError: boom',
    );
  });

  it('an around hook that does not call next skips perform; after hooks still run (as Resque)', async () => {
    const calls: string[] = [];
    const rec = await runOne({
      aroundPerform: () => void calls.push('around'),
      perform: () => void calls.push('perform'),
      afterPerform: () => void calls.push('after'),
    });
    expect(calls).toEqual(['around', 'after']);
    expect(rec).toBeNull();
  });

  it('hooks as arrays and records run in array order and key order; a bad hook is refused at definition', async () => {
    const calls: string[] = [];
    await runOne({
      beforePerform: [() => void calls.push('b0'), () => void calls.push('b1')],
      beforePerformZ: { y: () => void calls.push('z.y'), x: () => void calls.push('z.x') },
      perform: () => void calls.push('perform'),
    });
    expect(calls).toEqual(['b0', 'b1', 'z.x', 'z.y', 'perform']);
    expect(() => defineJob({ perform: () => 1, beforePerform: 3 as never })).toThrow(/hook beforePerform must be a function/);
    // Typed by perform's args: a hook taking other args does not compile.
    // @ts-expect-error a string hook arg for a number job arg
    defineJob({ perform: (n: number) => n, beforePerformCheck: (s: string) => s.length });
  });

  it('DontPerform from src is the same as from dist (two copies of pyres-ts in a process)', async () => {
    const calls: string[] = [];
    const rec = await runOne({
      beforePerform: () => {
        throw new DontPerform('no');
      },
      perform: () => void calls.push('perform'),
      afterPerform: () => void calls.push('after'),
    });
    expect(calls).toEqual([]);
    expect(rec).toBeNull();
    expect(await r.get(keys.stat('processed'))).toBe('1');
  });
});

describe('pyresHooks', () => {
  it('before_perform(metadata), then after_perform(metadata) also after a failure, with failed and exception', async () => {
    const seen: Array<Partial<PyresMetadata> & { phase: string }> = [];
    const jobs = new JobRegistry().register(
      'Py',
      defineJob({
        perform: (x: number) => {
          if (x === 2) throw new Error('two');
        },
        ...pyresHooks({
          before_perform: m => void seen.push({ phase: 'before', args: m.args, failed: m.failed, enqueue_timestamp: m.enqueue_timestamp }),
          after_perform: m => void seen.push({ phase: 'after', args: m.args, failed: m.failed, retried: m.retried, exception: m.exception }),
        }),
      }),
    );
    await r.rpush(keys.queue('q'), '{"class":"Py","args":[1],"enqueue_timestamp":1700000000.5}', '{"class":"Py","args":[2]}');
    const w = res.worker({ queues: 'q', jobs, drain: true });
    await w.start();
    await w.stopped;
    expect(seen.map(s => [s.phase, s.args, s.failed])).toEqual([
      ['before', [1], false],
      ['after', [1], false],
      ['before', [2], false],
      ['after', [2], true],
    ]);
    expect(seen[0]!.enqueue_timestamp).toBe(1700000000.5);
    expect(seen[3]!.exception?.message).toBe('two');
    expect(seen[3]!.retried).toBe(false);
    expect(JSON.parse((await r.lindex(keys.failed, 0))!).error).toBe('two');
  });
});

describe('hooks with 4 job slots', () => {
  it('every job runs its own hook sequence in its slot; the pool runs its worker hooks once', async () => {
    const jobs = new JobRegistry();
    jobs.registerModule(hookModule);
    for (let i = 0; i < 8; i++) await r.rpush(keys.queue('p10'), `{"class":"HookJob","args":["hold",${50 + 10 * i}]}`);
    const pool = new WorkerPool({ queues: 'p10', jobs, concurrency: 4, connection: { url }, hostname: HOST, logger: testLogger() });
    pool.on('error', () => undefined);
    res.onClose(() => pool.stop({ graceful: false }));
    const busy = new Set<number>();
    let most = 0;
    pool.on('job', e => (busy.add(e.slot), (most = Math.max(most, busy.size))));
    pool.on('success', e => busy.delete(e.slot));
    await pool.start();
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '8', '8 jobs');
    await waitFor(() => events.includes('worker hook queue_empty'), 'queue_empty');
    await pool.stop({ graceful: true });
    expect(most).toBeGreaterThan(1);
    const performs = events.filter(e => e.startsWith('perform '));
    expect(performs).toHaveLength(8);
    expect(events.filter(e => e === 'around_perform_a enter')).toHaveLength(8);
    expect(events.filter(e => e.startsWith('after_perform_log'))).toHaveLength(8);
    // Each job: before_perform_a before its before_perform_b before its perform before its after.
    for (let i = 0; i < 8; i++) {
      const a = `["hold",${50 + 10 * i}]`;
      const at = (name: string) => events.indexOf(`${name} ${a}`);
      expect(at('before_perform_a')).toBeLessThan(at('before_perform_b'));
      expect(at('before_perform_b')).toBeLessThan(at('perform'));
      expect(at('perform')).toBeLessThan(at('after_perform_log'));
    }
    expect(events.filter(e => e.startsWith('worker hook'))).toEqual([
      'worker hook before_first_fork',
      'worker hook queue_empty',
      'worker hook shutdown',
      'worker hook worker_exit',
    ]);
    expect(events.indexOf('worker hook before_first_fork')).toBe(0);
  });
});
