'use strict';
// PySplash's fib example on pyres-ts: a status job that enqueues fib(n-1) and fib(n-2) with
// enqueueAndWait and sums their results. Run it under workers on the `fib` queue (see README.md
// for how many: every job waiting on its children holds a worker).
//
//   REDIS_URL=redis://127.0.0.1:6379 pyres-ts master --workers 'fib=4x4' --jobs examples/fib/jobs.js
//   node examples/fib/run.js 15
const { Client, defineStatusJob } = require('../../dist/index.js');

let shared = null;
/** One Client per worker process, opened on first use (its waits use a connection of their own). */
async function client() {
  shared ??= new Client({ connection: { url: process.env.REDIS_URL } }).connect();
  return shared;
}

exports.Fib = defineStatusJob({
  keepResult: true,
  /**
   * options.n: which Fibonacci number. options.parallel: enqueue both children at once (PySplash's
   * shape; needs far more workers, see README.md). Default: one child at a time.
   */
  async perform({ n, parallel = false }, job) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Fib: n must be an integer >= 0, got ${JSON.stringify(n)}`);
    if (n < 2) return n;
    const c = await client();
    if (parallel) {
      // Both children at once, one wait for both (one BLPOP connection, not two).
      const ids = [
        await c.enqueueStatus('fib', 'Fib', { n: n - 1, parallel }, { keepResult: true }),
        await c.enqueueStatus('fib', 'Fib', { n: n - 2, parallel }, { keepResult: true }),
      ];
      const [a, b] = await c.waitForJobs(ids, { collectResults: true, timeout: 600, signal: job.signal });
      return a + b;
    }
    // job.signal: the worker's TERM (or a kill of this job) ends the wait at once, not at its timeout.
    const child = m => c.enqueueAndWait('fib', 'Fib', { n: m }, { timeout: 600, signal: job.signal });
    const a = await child(n - 1);
    await job.progress(1, 2, `fib(${n - 1}) = ${a}`);
    const b = await child(n - 2);
    return a + b;
  },
});
