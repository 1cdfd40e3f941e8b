'use strict';
// The enqueue-and-wait row of `npm run bench` (issue 12), and `node bench/statusWait.js`:
//   - pyres-ts: Client#enqueueAndWait into one idle `pyres-ts worker` (a status job returning
//     its option at once, bench/jobs-status.js), enqueue to result;
//   - BullMQ: Queue#add then job.waitUntilFinished(QueueEvents) into one idle BullMQ Worker
//     (bench/bullmq-worker.js, concurrency 1, job `EchoArg` of bench/jobs.js, returning its argument).
// Sequential round trips after a warm-up, gaps of 5-40 ms; every result is checked. Processes go
// through bench/lib/systems.js (tracked, reaped). Figures only: nothing passes or fails on time.
const path = require('node:path');
const S = require('./systems');
const { hrNs, sleep, uniform } = require('./util');

const STATUS_JOBS = path.join(S.ROOT, 'bench', 'jobs-status.js');
const QUEUE = 'statused';
const WARM = 20;

const msSince = t0 => Number(hrNs() - t0) / 1e6;

/** `n` enqueueAndWait round trips (ms) into one idle pyres-ts worker. */
async function pyresTsRoundTrips(redis, n) {
  const { Client } = require(path.join(S.ROOT, 'dist', 'index.js'));
  await redis.client.flushall();
  const p = S.startPtWorker(redis, {
    queues: [QUEUE],
    extra: ['--jobs', STATUS_JOBS],
    // A status job opens its own connection for the statuses, from REDIS_URL (src/status/statusJob.ts).
    env: { REDIS_URL: redis.url },
    label: 'pyres-ts worker (enqueueAndWait)',
  });
  const client = new Client({ connection: { url: redis.url } });
  try {
    await client.connect();
    await S.waitRegistered(redis, S.PT_NS, 1, [p]);
    const one = async i => {
      const r = await client.enqueueAndWait(QUEUE, 'Echo', { i }, { timeout: 30 });
      if (r !== i) throw new Error(`pyres-ts enqueueAndWait: result ${JSON.stringify(r)} for ${i}`);
    };
    for (let i = 0; i < WARM; i++) await one(-1 - i);
    const ms = [];
    for (let i = 0; i < n; i++) {
      await sleep(uniform(5, 40));
      const t0 = hrNs();
      await one(i);
      ms.push(msSince(t0));
    }
    return ms;
  } finally {
    await client.close().catch(() => undefined);
    await S.stopAll([p]);
  }
}

/** `n` add + waitUntilFinished round trips (ms) into one idle BullMQ Worker (concurrency 1). */
async function bullRoundTrips(redis, n) {
  const { Queue, QueueEvents } = require('bullmq');
  await redis.client.flushall();
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const q = new Queue('wait', { connection });
  const events = new QueueEvents('wait', { connection });
  const p = await S.startBull(redis, { queue: 'wait', concurrency: 1, autostart: true, label: 'BullMQ worker c=1 (waitUntilFinished)' });
  try {
    await q.waitUntilReady();
    await events.waitUntilReady();
    const one = async i => {
      const job = await q.add('EchoArg', { args: [i] }, { removeOnFail: true });
      const r = await job.waitUntilFinished(events, 30000);
      if (r !== i) throw new Error(`BullMQ waitUntilFinished: result ${JSON.stringify(r)} for ${i}`);
    };
    for (let i = 0; i < WARM; i++) await one(-1 - i);
    const ms = [];
    for (let i = 0; i < n; i++) {
      await sleep(uniform(5, 40));
      const t0 = hrNs();
      await one(i);
      ms.push(msSince(t0));
    }
    return ms;
  } finally {
    await S.stopAll([p]);
    await events.close().catch(() => undefined);
    await q.close().catch(() => undefined);
  }
}

/** ctx: { redis (bench/lib/redis handle), n }. Returns { pt: ms[], bull: ms[] }. */
async function scenarioEnqueueAndWait(ctx) {
  const pt = await pyresTsRoundTrips(ctx.redis, ctx.n);
  const bull = await bullRoundTrips(ctx.redis, ctx.n);
  return { pt, bull };
}

module.exports = { scenarioEnqueueAndWait, pyresTsRoundTrips, bullRoundTrips };
