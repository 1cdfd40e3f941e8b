/**
 * WorkerPool (`concurrency`, issue 15) in-process against a real redis-server: every slot is a
 * Resque worker that node-resque 9 and the Client (what resque-web's /working reads) list with
 * its job; idle slots are served together by the reserve-many script in priority order; stop
 * unregisters every slot.
 */
import type Redis from 'ioredis';
import { Queue as NrQueue } from 'node-resque';
import { Client, currentJob, JobRegistry, WorkerPool } from '../../src';
import { watchWorker } from '../../src/metrics/watch';
import { formatSlotWorkerId } from '../../src/protocol/workerId';
import { testDbUrl } from '../support/redisServer';
import { HOST, keys, type Resources, testLogger, useResources, waitFor } from './helpers';

const url = testDbUrl();
const u = new URL(url);
let res: Resources;
let r: Redis;
useResources(url, (x, y) => ((res = x), (r = y)));

function gatedJobs(): { jobs: JobRegistry; release: () => void; started: Array<{ tag: string; worker: string }> } {
  let release!: () => void;
  const gate = new Promise<void>(ok => (release = ok));
  const started: Array<{ tag: string; worker: string }> = [];
  const jobs = new JobRegistry();
  jobs.register('Gate', async (tag: string) => {
    started.push({ tag, worker: currentJob()!.workerId });
    await gate;
  });
  return { jobs, release, started };
}

it('8 slots: node-resque and the Client list every slot with its job; stop unregisters them all', async () => {
  const { jobs, release, started } = gatedJobs();
  const pool = new WorkerPool({ queues: 'p10,p9', jobs, concurrency: 8, connection: { url }, livenessThread: false, logger: testLogger(), hostname: HOST });
  res.onClose(async () => {
    release();
    await pool.stop();
  });
  await pool.start();
  const ids = Array.from({ length: 8 }, (_, i) => formatSlotWorkerId(HOST, process.pid, ['p10', 'p9'], i));
  expect(pool.ids).toEqual(ids);
  expect((await r.smembers(keys.workers)).sort()).toEqual([...ids].sort());
  for (let i = 0; i < 8; i++) await r.rpush(keys.queue('p9'), `{"class":"Gate","args":["g${i}"]}`);
  await r.sadd(keys.queues, 'p9');
  await waitFor(() => started.length === 8, '8 jobs running');
  expect(new Set(started.map(s => s.worker))).toEqual(new Set(ids));

  const q = new NrQueue({ connection: { host: u.hostname, port: Number(u.port), database: Number(u.pathname.slice(1) || '0'), namespace: 'resque' } }, {});
  q.on('error', () => undefined);
  res.onClose(() => q.end());
  await q.connect();
  const nr = await q.workers();
  // node-resque names a worker `host:pid` (its first two fields) and lists the queues.
  for (const id of ids) expect(nr[id.split(':').slice(0, 2).join(':')]).toBe('p10,p9');
  // Its workingOn(name, queues) reads worker:<name>:<queues>: each slot's record.
  for (const id of ids) {
    const name = id.split(':').slice(0, 2).join(':');
    expect(JSON.parse((await q.workingOn(name, 'p10,p9')) as string)).toMatchObject({ queue: 'p9', payload: { class: 'Gate' } });
  }

  const client = await new Client({ connection: { url } }).connect();
  res.onClose(() => client.close());
  const ws = await client.workers();
  expect(ws.map(w => w.id).sort()).toEqual([...ids].sort());
  expect(ws.every(w => w.job?.className === 'Gate' && w.job.queue === 'p9')).toBe(true);

  release();
  await waitFor(async () => (await r.get(keys.stat('processed'))) === '8', '8 processed');
  await pool.stop();
  expect(await r.smembers(keys.workers)).toEqual([]);
  expect(await r.keys('resque:worker:*')).toEqual([]);
  expect(await r.hlen(keys.heartbeats)).toBe(0);
});

it('idle slots are served together in priority order: p10 before p9, one job per slot', async () => {
  const { jobs, release, started } = gatedJobs();
  const pool = new WorkerPool({ queues: 'p10,p9', jobs, concurrency: 4, connection: { url }, livenessThread: false, logger: testLogger(), hostname: HOST });
  res.onClose(async () => {
    release();
    await pool.stop();
  });
  await pool.start();
  // Every slot found the queues empty and waits with the pool: the pushes below reach them
  // through the pool's reserve-many.
  await waitFor(() => pool.workers.length === 4 && pool.workers.every(w => w.state === 'idle'), 'every slot idle');
  await r.sadd(keys.queues, 'p9', 'p10');
  await r
    .multi()
    .rpush(keys.queue('p9'), '{"class":"Gate","args":["p9-a"]}', '{"class":"Gate","args":["p9-b"]}', '{"class":"Gate","args":["p9-c"]}')
    .rpush(keys.queue('p10'), '{"class":"Gate","args":["p10-a"]}', '{"class":"Gate","args":["p10-b"]}')
    .exec();
  await waitFor(() => started.length === 4, '4 jobs running');
  expect(started.map(s => s.tag).sort()).toEqual(['p10-a', 'p10-b', 'p9-a', 'p9-b']);
  expect(new Set(started.map(s => s.worker)).size).toBe(4);
  expect(await r.lrange(keys.queue('p9'), 0, -1)).toEqual(['{"class":"Gate","args":["p9-c"]}']);
  release();
  await waitFor(async () => (await r.get(keys.stat('processed'))) === '5', '5 processed');
});

it('metrics of a pool: pyres_slots counts its slots, pyres_slots_busy the busy ones, jobs by outcome per slot', async () => {
  const { jobs, release, started } = gatedJobs();
  const pool = new WorkerPool({ queues: 'p9', jobs, concurrency: 4, connection: { url }, livenessThread: false, logger: testLogger(), hostname: HOST });
  res.onClose(async () => {
    release();
    await pool.stop();
  });
  const watched = watchWorker(pool, { defaultMetrics: false });
  await pool.start();
  const gauge = async (name: string): Promise<number> => {
    const line = (await watched.metrics.text()).split('\n').find(l => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1]);
  };
  expect(await gauge('pyres_slots')).toBe(4);
  expect(await gauge('pyres_slots_busy')).toBe(0);
  for (let i = 0; i < 3; i++) await r.rpush(keys.queue('p9'), `{"class":"Gate","args":["m${i}"]}`);
  await waitFor(() => started.length === 3, '3 jobs running');
  expect(await gauge('pyres_slots_busy')).toBe(3);
  release();
  // Each slot numbers its jobs from 1: the three outcomes are three, not one.
  await waitFor(
    async () => (await watched.metrics.text()).includes('pyres_jobs_total{job_class="Gate",queue="p9",outcome="success"} 3'),
    'three successes counted',
  );
  expect(await gauge('pyres_slots_busy')).toBe(0);
});

it('autoscale: a shrink does not wait for the stopped slot to finish its job; the pool shrinks again meanwhile', async () => {
  const { jobs, release, started } = gatedJobs();
  const pool = new WorkerPool({
    queues: 'p9',
    jobs,
    concurrency: { min: 1, max: 4 },
    autoscale: { low: 0.3, high: 0.5, confirm: 1, minIntervalMs: 0, sampleMs: 100 },
    connection: { url },
    livenessThread: false,
    logger: testLogger(),
    hostname: HOST,
  });
  const scales: Array<{ from: number; to: number }> = [];
  pool.on('scale', e => scales.push({ from: e.from, to: e.to }));
  res.onClose(async () => {
    release();
    await pool.stop();
  });
  await pool.start();
  // Work queued and an idle event loop: 1 -> 2 -> 4, every slot holding a gated job.
  for (let i = 0; i < 4; i++) await r.rpush(keys.queue('p9'), `{"class":"Gate","args":["a${i}"]}`);
  await r.sadd(keys.queues, 'p9');
  await waitFor(() => pool.concurrency === 4 && started.length === 4, 'grown to 4 slots, 4 jobs running');
  // Saturate this process's event loop (the pool runs in it): 4 -> 3 stops slot 3, whose job
  // is still gated; the next decisions must still be carried out (3 -> 2) before it finishes.
  const burn = async (until: () => boolean): Promise<void> => {
    const end = Date.now() + 8000;
    while (!until() && Date.now() < end) {
      const t = Date.now();
      while (Date.now() - t < 90) {
        /* busy */
      }
      await new Promise(ok => setImmediate(ok));
    }
  };
  await burn(() => scales.some(s => s.from === 3 && s.to === 2));
  expect(scales).toEqual(
    expect.arrayContaining([
      { from: 4, to: 3 },
      { from: 3, to: 2 },
    ]),
  );
  expect(started.length).toBe(4); // no job finished meanwhile: every gate is still shut
  release();
  // The stopped slots finish their jobs and unregister; the two left stay registered.
  const ids = Array.from({ length: 4 }, (_, i) => formatSlotWorkerId(HOST, process.pid, ['p9'], i));
  await waitFor(async () => {
    const live = new Set(await r.smembers(keys.workers));
    return live.has(ids[0]!) && live.has(ids[1]!) && !live.has(ids[2]!) && !live.has(ids[3]!);
  }, 'slots 2 and 3 unregistered after their jobs, 0 and 1 still registered');
  expect(pool.concurrency).toBeLessThanOrEqual(2);
});
