'use strict';
// BullMQ counterpart for `npm run bench`: one BullMQ Worker in this process, running the
// bench/jobs.js functions (job name = the class, job data = { args }). Configured by environment:
//   BENCH_REDIS_PORT    redis-server port on 127.0.0.1
//   BENCH_QUEUE         the BullMQ queue name (prefix "bull")
//   BENCH_CONCURRENCY   the Worker's concurrency (default 1)
//   BENCH_AUTOSTART     "1": run at once; otherwise wait for {cmd:'start'} over IPC
// A job returns what its perform returns (its BullMQ returnvalue).
// IPC: {cmd:'start'} -> a new Worker, run() -> {ok:'start'}; {cmd:'end'} -> close() -> {ok:'end'}.
// A closed runner makes no Redis traffic. SIGTERM/SIGINT/SIGQUIT: close and exit 0.
const path = require('node:path');
const { Worker } = require('bullmq');
const jobs = require(path.join(__dirname, 'jobs.js'));

const port = Number(process.env.BENCH_REDIS_PORT);
const queue = process.env.BENCH_QUEUE || 'bench';
const concurrency = Number(process.env.BENCH_CONCURRENCY || 1);

let worker = null;

async function start() {
  if (worker) return;
  const w = new Worker(
    queue,
    async job => {
      const j = jobs[job.name];
      if (!j) throw new Error(`no job ${job.name}`);
      return j.perform(...((job.data && job.data.args) || []));
    },
    { connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null }, concurrency, autorun: false },
  );
  w.on('error', e => process.stderr.write(`bullmq worker error: ${e && e.message}\n`));
  w.on('failed', (_job, e) => process.stderr.write(`bullmq job failure: ${e && e.message}\n`));
  void w.run().catch(e => process.stderr.write(`bullmq run: ${e && e.message}\n`));
  await w.waitUntilReady();
  worker = w;
}

async function end() {
  const w = worker;
  worker = null;
  if (w) await w.close();
}

let exiting = false;
async function exit() {
  if (exiting) return;
  exiting = true;
  try {
    await end();
  } finally {
    process.exit(0);
  }
}
for (const s of ['SIGTERM', 'SIGINT', 'SIGQUIT']) process.on(s, () => void exit());
process.on('disconnect', () => void exit());

process.on('message', m => {
  const run = m && m.cmd === 'start' ? start : m && m.cmd === 'end' ? end : null;
  if (!run) return;
  run().then(
    () => process.send && process.send({ ok: m.cmd }),
    e => process.send && process.send({ error: String((e && e.message) || e) }),
  );
});

if (process.send) process.send({ ok: 'ready' });

if (process.env.BENCH_AUTOSTART === '1') {
  start().catch(e => {
    process.stderr.write(`bullmq runner: ${e && e.message}\n`);
    process.exit(1);
  });
}
