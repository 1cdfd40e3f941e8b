#!/usr/bin/env node
'use strict';
// `node bench/statusWait.js [N]` (after `npm run build`): the enqueue-and-wait row of
// `npm run bench` on its own (`node bench/run.js --only enqueue-and-wait` is the same, with the
// bench's report): enqueueAndWait round-trip latency into one idle `pyres-ts worker`, and BullMQ's
// add + waitUntilFinished into one idle BullMQ Worker, p50/p99 over N round trips each (default
// 300), on a throwaway redis-server. Code shared with the bench: bench/lib/statusWait.js.
// Every process it starts is tracked and reaped (bench/lib/procs.js). Figures only.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const procs = require('./lib/procs');
const { startRedis } = require('./lib/redis');
const S = require('./lib/systems');
const { scenarioEnqueueAndWait } = require('./lib/statusWait');
const { fmt, percentile } = require('./lib/util');

async function main() {
  const n = Number(process.argv[2] ?? 300);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error('usage: node bench/statusWait.js [N >= 1]');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-bench-status-'));
  S.setTmpRoot(tmp);
  const cleanup = () => {
    procs.killAllSync();
    procs.closeReaper();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));
  procs.startReaper();
  const redis = await startRedis('redis-server (statusWait)');
  try {
    const r = await scenarioEnqueueAndWait({ redis, n });
    const q = (xs, p) => fmt(percentile(xs, p));
    console.log(`enqueueAndWait round trip into an idle pyres-ts worker, ${n} runs: p50 ${q(r.pt, 50)} ms, p99 ${q(r.pt, 99)} ms`);
    console.log(`BullMQ add + waitUntilFinished into an idle Worker (c=1), ${n} runs: p50 ${q(r.bull, 50)} ms, p99 ${q(r.bull, 99)} ms`);
    console.log(
      `(${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'}; load ${os
        .loadavg()
        .map(x => x.toFixed(2))
        .join(' ')})`,
    );
  } finally {
    await redis.stop();
  }
}
main().then(
  () => process.exit(0),
  e => {
    console.error(e);
    process.exit(1);
  },
);
