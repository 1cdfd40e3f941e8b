/**
 * The PySplash fib example (examples/fib/) under real `pyres-ts worker` processes: fib(10), every
 * node a job that waits on its children with enqueueAndWait. One child at a time, a waiting chain
 * holds at most n workers (examples/fib/README.md), so 10 single-slot workers suffice; and the
 * issue's fib(15) under a real `pyres-ts master` with 4 children of 4 job slots each (16 ≥ 15).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../src/producer/client';
import { PROJECT_ROOT, spawnCli } from '../support/spawn';
import { k, processTestEnv, waitFor } from '../process/helpers';

const env = processTestEnv();
const JOBS = join(PROJECT_ROOT, 'examples', 'fib', 'jobs.js');

it('computes fib(10) with 10 workers; every node has a completed status with its result', async () => {
  await Promise.all(Array.from({ length: 10 }, () => env.startWorker([], 'fib', { jobs: [JOBS] })));
  const { stdout } = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'examples', 'fib', 'run.js'), '10'], {
    env: { ...process.env, REDIS_URL: env.url },
    timeout: 120_000,
  });
  expect(stdout.trim()).toBe('fib(10) = 55');
  const c = await new Client({ connection: { url: env.url } }).connect();
  try {
    const page = await c.listStatuses({ count: 1000 });
    // fib(10) as a tree of jobs: 2·fib(11) − 1 = 177 nodes, all completed.
    expect(page.total).toBe(177);
    expect(page.items.every(s => s.state === 'completed')).toBe(true);
    const top = page.items.find(s => (s.fields['options'] as { n: number }).n === 10)!;
    expect(top.fields['result']).toBe(55);
  } finally {
    await c.close();
  }
}, 180_000);

it("computes fib(15) = 610 under `pyres-ts master --workers 'fib=4x4'` (4 children × 4 slots ≥ the 15 fib(15) needs); TERM leaves nothing behind", async () => {
  const master = spawnCli(['master', '--workers', 'fib=4x4', '--jobs', JOBS], env.spawnOpts({ REDIS_URL: env.url }));
  await master.waitForLine(/all children registered/, 20_000);
  const { stdout } = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'examples', 'fib', 'run.js'), '15'], {
    env: { ...process.env, REDIS_URL: env.url },
    timeout: 240_000,
  });
  expect(stdout.trim()).toBe('fib(15) = 610');
  const c = await new Client({ connection: { url: env.url } }).connect();
  try {
    const page = await c.listStatuses({ count: 1 });
    // 2·fib(16) − 1 = 1973 jobs, every one completed: no wait ran out of slots (a timeout would have failed one).
    expect(page.total).toBe(1973);
    expect(await env.failures()).toEqual([]);
    // The root's completed status wakes the producer before its worker counts it processed.
    await waitFor(async () => (await env.stat('processed')) === '1973', 10_000, 'every job counted processed');
  } finally {
    await c.close();
  }
  master.kill('SIGTERM');
  expect(await master.waitForEnd(20_000)).toEqual({ code: 0, signal: null });
  // No leftovers: no process of this test alive, no worker registered, nothing queued.
  expect(env.killTagged()).toEqual([]);
  expect(await env.redis.scard(k('workers'))).toBe(0);
  expect(await env.redis.llen(k('queue:fib'))).toBe(0);
}, 300_000);
