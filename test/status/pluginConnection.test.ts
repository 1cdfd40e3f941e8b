/**
 * Job-level plugins reuse one connection per process: status jobs and retry hooks in a real
 * `pyres-ts worker` with job slots all talk through one `pyres-ts:plugins:<pid>` connection
 * (before: one per status run, two per retried run), and TERM still ends the process cleanly,
 * with that connection closed.
 */
import { JobRegistry } from '../../src/jobs/registry';
import { createLogger } from '../../src/logging/logger';
import { Client } from '../../src/producer/client';
import { defineStatusJob } from '../../src/status/statusJob';
import { sharedRedisCount } from '../../src/store/sharedRedis';
import { Worker } from '../../src/worker/worker';
import { processTestEnv, waitFor } from '../process/helpers';

const env = processTestEnv();

/** The server-side client ids of connections named `name`. */
async function clientIds(name: string): Promise<string[]> {
  const list = (await env.redis.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .filter(l => new RegExp(`\\bname=${name}(\\s|$)`).test(l))
    .map(l => /\bid=(\d+)/.exec(l)?.[1] ?? '');
}

it('status jobs and retries in a 3-slot worker share one plugin connection; TERM exits 0 and closes it', async () => {
  const { proc } = await env.startWorker(['--concurrency', '3'], 'statused,p9', { jobs: ['fixtures/jobs/status.js', 'fixtures/jobs/retry.js'] });
  const name = `pyres-ts:plugins:${proc.pid}`;
  const client = await new Client({ connection: { url: env.url } }).connect();
  try {
    // Concurrent status jobs across the slots.
    const rs = await Promise.all([1, 2, 3, 4, 5, 6].map(n => client.enqueueAndWait('statused', 'Square', { n }, { timeout: 30 })));
    expect(rs).toEqual([1, 4, 9, 16, 25, 36].map(square => ({ square })));
    const first = await clientIds(name);
    expect(first).toHaveLength(1);
    // A retried job (limit 2, no delay: three runs, three failed records) uses the same connection.
    await env.enqueue('p9', 'RetryPlainJob', 'x');
    await waitFor(async () => ((await env.failures()).length === 3 ? true : null), 15_000, 'three failed runs of RetryPlainJob');
    expect(await clientIds(name)).toEqual(first);
    // No per-run connections are left either.
    expect(await clientIds('pyres-ts:status-job')).toEqual([]);
    expect(await clientIds('pyres-ts:retry')).toEqual([]);
  } finally {
    await client.close();
  }
  proc.kill('SIGTERM');
  // A connection left open would keep the stopped worker's event loop alive: it would not exit.
  expect(await proc.waitForEnd(10_000)).toEqual({ code: 0, signal: null });
  expect(await clientIds(name)).toEqual([]);
}, 60_000);

describe('in one process: the plugin connection is counted by worker and closed by the last one to stop', () => {
  it('two workers share it; it stays while one runs and is QUIT when the second stops', async () => {
    const jobs = new JobRegistry();
    jobs.register('Echo', defineStatusJob({ keepResult: true, perform: (o: { n: number }) => o.n }));
    const quiet = createLogger({ level: 'error' });
    const make = () => new Worker({ queues: 'statused', jobs, connection: { url: env.url }, logger: quiet });
    const a = make();
    const b = make();
    const client = await new Client({ connection: { url: env.url } }).connect();
    try {
      await a.start();
      await b.start();
      // Enough jobs that both workers run some (each run is one reservation).
      const rs = await Promise.all(Array.from({ length: 8 }, (_, n) => client.enqueueAndWait('statused', 'Echo', { n }, { timeout: 30 })));
      expect(rs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const name = `pyres-ts:plugins:${process.pid}`;
      expect(await clientIds(name)).toHaveLength(1);
      expect(sharedRedisCount()).toBe(1);
      await a.stop();
      expect(sharedRedisCount()).toBe(1);
      expect(await client.enqueueAndWait('statused', 'Echo', { n: 9 }, { timeout: 30 })).toBe(9);
      await b.stop();
      // Closed by the worker's stop, in this very process (not by a process exit).
      expect(sharedRedisCount()).toBe(0);
      await waitFor(async () => ((await clientIds(name)).length === 0 ? true : null), 5000, 'the plugin connection gone from CLIENT LIST');
    } finally {
      await a.stop();
      await b.stop();
      await client.close();
    }
  }, 60_000);
});
