'use strict';
// The delayed-pickup row of `npm run bench`: Client.enqueueAt(a whole second T) -> `pyres-ts
// scheduler --interval 1` -> one idle `pyres-ts worker`; latency = the job's start (wall clock,
// bench/jobs.js WallStamp) minus T's instant. A polling scheduler moves an item at its first pass
// at or after T, so the figure is the phase of the scheduler's passes against the second (set by
// when it started, drifting slowly: nearly the same for every sample of one run, anywhere in
// [0, 1 s) from run to run) plus the move and the pickup. One item per second, all enqueued up
// front (items due at T0+2 .. T0+n+1), so n samples take about n seconds. pyres-ts only.
const path = require('node:path');
const readline = require('node:readline');
const { spawnTracked } = require('./procs');
const S = require('./systems');

const QUEUE = 'dlat';

/** ctx: { redis, n, tmp }. Returns { ms: number[], interval: 1 }. */
async function scenarioDelayedPickup(ctx) {
  const { Client } = require(path.join(S.ROOT, 'dist', 'index.js'));
  const { redis, n } = ctx;
  await redis.client.flushall();
  const worker = S.startPtWorker(redis, { queues: [QUEUE], stdout: 'pipe', label: 'pyres-ts worker (delayed pickup)' });
  const fs = require('node:fs');
  const logFile = path.join(ctx.tmp, 'pyres-ts-scheduler-delayed-pickup.log');
  const fd = fs.openSync(logFile, 'a');
  const sched = spawnTracked(
    process.execPath,
    [S.BIN, 'scheduler', '--interval', '1', '--redis', redis.url],
    { cwd: S.ROOT, env: process.env, stdio: ['ignore', fd, fd] },
    'pyres-ts scheduler (delayed pickup)',
  );
  fs.closeSync(fd);
  sched.logFile = logFile;
  const client = new Client({ connection: { url: redis.url } });
  const seen = new Map();
  let wake = null;
  readline.createInterface({ input: worker.stdout }).on('line', line => {
    const m = /^WALL (\d+) (\d+)$/.exec(line.trim());
    if (!m) return;
    seen.set(Number(m[1]), Number(m[2]));
    if (wake) wake();
  });
  try {
    await client.connect();
    await S.waitRegistered(redis, S.PT_NS, 1, [worker]);
    const [sec] = await redis.client.time();
    const t0 = Number(sec) + 2;
    for (let i = 0; i < n; i++) await client.enqueueAt(new Date((t0 + i) * 1000), QUEUE, 'WallStamp', t0 + i);
    const deadline = Date.now() + (n + 30) * 1000;
    while (seen.size < n) {
      S.ensureAlive([worker, sched]);
      if (Date.now() > deadline) throw new Error(`delayed pickup: ${seen.size} of ${n} items worked in time; scheduler log:\n${S.tail(logFile)}`);
      await new Promise(r => {
        wake = r;
        setTimeout(r, 500);
      });
      wake = null;
    }
    return { ms: [...seen].map(([ts, at]) => at - ts * 1000), interval: 1 };
  } finally {
    await client.close().catch(() => undefined);
    await S.stopAll([worker, sched]);
  }
}

module.exports = { scenarioDelayedPickup };
