'use strict';
// node-resque counterpart for `npm run bench`: one node-resque Worker in this process, running
// bench/jobs.js (the same functions pyres-ts runs). Configured by environment:
//   BENCH_REDIS_PORT   redis-server port on 127.0.0.1
//   BENCH_NAMESPACE    key namespace (default "noderesque")
//   BENCH_QUEUES       queues in priority order, comma-separated
//   BENCH_TIMEOUT_MS   node-resque's `timeout`: the sleep after an empty pass over the queues,
//                      which is also its ping interval (node-resque default 5000)
//   BENCH_AUTOSTART    "1": start working at once; otherwise wait for {cmd:'start'} over IPC
//   BENCH_MULTI        N > 0: a MultiWorker of 1..N task processors instead of one Worker
// IPC (when forked by the bench): {cmd:'start'} -> new Worker, connect, start -> {ok:'start'};
// {cmd:'end'} -> worker.end() -> {ok:'end'}. A stopped runner makes no Redis traffic at all,
// so it cannot disturb the other system's rounds. SIGTERM/SIGINT/SIGQUIT: end and exit 0.
const path = require('node:path');
const { MultiWorker, Worker } = require('node-resque');
const jobs = require(path.join(__dirname, 'jobs.js'));

const port = Number(process.env.BENCH_REDIS_PORT);
const namespace = process.env.BENCH_NAMESPACE || 'noderesque';
const queues = (process.env.BENCH_QUEUES || 'q').split(',');
const timeout = Number(process.env.BENCH_TIMEOUT_MS || 5000);
const multi = Number(process.env.BENCH_MULTI || 0);

let worker = null;

async function start() {
  if (worker) return;
  if (multi > 0) {
    // node-resque's own defaults for the event-loop check (checkTimeout 500 ms, maxEventLoopDelay 10 ms).
    const m = new MultiWorker(
      { connection: { host: '127.0.0.1', port, namespace }, queues: [...queues], timeout, minTaskProcessors: 1, maxTaskProcessors: multi },
      jobs,
    );
    m.on('error', e => process.stderr.write(`node-resque multiworker error: ${e && e.message}\n`));
    m.on('failure', (_id, _q, _job, e) => process.stderr.write(`node-resque job failure: ${e && e.message}\n`));
    await m.start();
    worker = m;
    return;
  }
  const w = new Worker({ connection: { host: '127.0.0.1', port, namespace }, queues: [...queues], timeout }, jobs);
  w.on('error', e => process.stderr.write(`node-resque worker error: ${e && e.message}\n`));
  w.on('failure', (_q, _job, e) => process.stderr.write(`node-resque job failure: ${e && e.message}\n`));
  await w.connect();
  await w.start();
  worker = w;
}

async function end() {
  const w = worker;
  worker = null;
  if (w) await w.end();
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
    process.stderr.write(`node-resque runner: ${e && e.message}\n`);
    process.exit(1);
  });
}
