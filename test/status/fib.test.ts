/**
 * The PySplash fib example (examples/fib/) under real `pyres-ts worker` processes: fib(10), every
 * node a job that waits on its children with enqueueAndWait. One child at a time, a waiting chain
 * holds at most n workers (examples/fib/README.md), so 10 single-slot workers suffice.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../src/producer/client';
import { PROJECT_ROOT } from '../support/spawn';
import { processTestEnv } from '../process/helpers';

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
