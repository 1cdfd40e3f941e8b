/**
 * Interop with node-resque 9 (a devDependency) on the same Redis db and namespace:
 * node-resque enqueues → pyres-ts works; pyres-ts enqueues → node-resque works; each reads the
 * other's registrations and records.
 */
import type Redis from 'ioredis';
import { Queue as NrQueue, Worker as NrWorker, type Jobs as NrJobs } from 'node-resque';
import { currentJob } from '../../src';
import { testDbUrl } from '../support/redisServer';
import { keys, registry, type Resources, waitFor, watch, useResources } from './helpers';

const url = testDbUrl();
const u = new URL(url);
const connection = {
  host: u.hostname,
  port: Number(u.port),
  database: Number(u.pathname.slice(1) || '0'),
  namespace: 'resque',
};

let res: Resources;
let r: Redis;

useResources(url, (x, y) => ((res = x), (r = y)));

/** A connected node-resque Queue, ended in afterEach. */
async function nrQueue(jobs: NrJobs = {}): Promise<NrQueue> {
  const q = new NrQueue({ connection: { ...connection } }, jobs);
  const errors: Error[] = [];
  q.on('error', (e: Error) => errors.push(e));
  res.onClose(() => q.end());
  await q.connect();
  if (errors.length) throw errors[0];
  return q;
}

/** A started node-resque Worker polling every 50 ms, ended in afterEach. */
async function nrWorker(queues: string[], jobs: NrJobs): Promise<NrWorker> {
  const w = new NrWorker({ connection: { ...connection }, queues, timeout: 50 }, jobs);
  w.on('error', () => undefined);
  let ended = false;
  res.onClose(async () => {
    if (!ended) await w.end();
  });
  const end = w.end.bind(w);
  w.end = async () => {
    ended = true;
    await end();
  };
  await w.connect();
  await w.start();
  return w;
}

describe('node-resque Queue → pyres-ts Worker', () => {
  it('works the job with the right args and keeps node-resque’s payload bytes', async () => {
    const q = await nrQueue();
    await q.enqueue('nr', 'add', [1, 2]);
    await q.enqueue('nr', 'add', [{ deep: ['x', 1.5] }, null]);
    await q.enqueue('nr', 'add'); // no args
    const raw = await r.lrange(keys.queue('nr'), 0, -1);
    expect(raw[0]).toBe('{"class":"add","queue":"nr","args":[1,2]}');
    expect(await r.smembers(keys.queues)).toEqual(['nr']);

    const calls: Array<{ args: unknown[]; queue: string | undefined; working: string | null }> = [];
    const w = res.worker({
      queues: 'nr',
      jobs: registry({
        add: async (...args: unknown[]) => {
          const ctx = currentJob();
          calls.push({ args, queue: ctx?.queue, working: await r.get(keys.worker(ctx!.workerId)) });
        },
      }),
    });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.successes === 3, 'three jobs');
    expect(calls.map(c => c.args)).toEqual([[1, 2], [{ deep: ['x', 1.5] }, null], []]);
    expect(calls.every(c => c.queue === 'nr')).toBe(true);
    calls.forEach((c, i) => expect(c.working).toMatch(new RegExp(`^\\{"queue":"nr","run_at":"[^"]+","payload":${escapeRe(raw[i]!)}\\}$`)));

    // node-resque reads pyres-ts's registration and stats.
    const workers = await q.workers();
    expect(workers[`${w.hostname}:${w.pid}`]).toBe('nr');
    const stats = await q.stats();
    expect(stats['processed']).toBe('3');
    expect(stats[`processed:${w.id}`]).toBe('3');
  });

  it('a node-resque job that fails in pyres-ts gives a failed record node-resque can list', async () => {
    const q = await nrQueue();
    await q.enqueue('nr', 'explode', ['a']);
    const w = res.worker({
      queues: 'nr',
      jobs: registry({
        explode: () => {
          throw new Error('kaboom');
        },
      }),
    });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.failures.length === 1, 'the failure');
    await waitFor(async () => (await q.failedCount()) === 1, 'node-resque to see it');
    const [f] = await q.failed(0, 0);
    expect(f).toMatchObject({
      queue: 'nr',
      worker: w.id,
      exception: 'Error',
      error: 'kaboom',
      payload: { class: 'explode', queue: 'nr', args: ['a'] },
    });
    expect(Array.isArray(f!.backtrace)).toBe(true);
  });
});

describe('pyres-ts Client → node-resque Worker', () => {
  it('node-resque works the job with the right args', async () => {
    const client = await res.client();
    const payload = await client.enqueue('nr2', 'multiply', 3, 4);
    expect(payload).toBe('{"class":"multiply","args":[3,4]}');
    await client.enqueue('nr2', 'multiply', 2.5, { times: 2 });

    const results: Array<{ args: unknown[]; result: unknown }> = [];
    const performed: unknown[][] = [];
    const w = await nrWorker(['nr2'], {
      multiply: {
        perform: async (a: number, b: number | { times: number }) => {
          performed.push([a, b]);
          return typeof b === 'number' ? a * b : a * b.times;
        },
      },
    });
    w.on('success', (_q: string, job: { args: unknown[] }, result: unknown) => results.push({ args: job.args, result }));
    await waitFor(() => results.length === 2, 'node-resque to work both jobs');
    expect(performed).toEqual([
      [3, 4],
      [2.5, { times: 2 }],
    ]);
    expect(results.map(x => x.result)).toEqual([12, 5]);
    expect(await r.llen(keys.queue('nr2'))).toBe(0);
    expect(await r.get(keys.stat('processed'))).toBe('2');

    // pyres-ts's status reads node-resque's registration.
    const st = await client.status();
    const nrId = `${w.name}:nr2`;
    expect(st.workers.map(x => x.id)).toContain(nrId);
    await w.end();
    expect(await r.sismember(keys.workers, nrId)).toBe(0);
  });

  it('both workers on one queue: every job is worked exactly once', async () => {
    const client = await res.client();
    const N = 40;
    const byNode: number[] = [];
    const byPyres: number[] = [];
    await nrWorker(['shared'], { count: { perform: async (i: number) => void byNode.push(i) } });
    const w = res.worker({ queues: 'shared', jobs: registry({ count: (i: number) => void byPyres.push(i) }) });
    await w.start();
    for (let i = 0; i < N; i++) await client.enqueue('shared', 'count', i);
    await waitFor(() => byNode.length + byPyres.length === N, `${N} jobs`, 15000);
    const all = [...byNode, ...byPyres].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: N }, (_, i) => i));
    await waitFor(async () => (await r.get(keys.stat('processed'))) === String(N), 'stat:processed');
    expect(await r.llen(keys.queue('shared'))).toBe(0);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
