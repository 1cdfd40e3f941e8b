'use strict';
// Scenario S (issue 11): N delayed items due at the same second, moved to their queue by
//   - pyres-ts's Scheduler (dist/, one Lua step per batch of --batch-size items), and
//   - node-resque 9's Scheduler (LPOP + SREM + MULTI per item), on the same Redis, in the same run.
// Figures only: nothing passes or fails on time. The lead wires `scenarioScheduler` into
// bench/run.js; `node bench/scenarios-scheduler.js [N] [rounds]` runs it on its own (it needs `npm run build`).
const path = require('node:path');

const NS = 'resque';

/** Seeds `n` Ruby-format items at one past second (RPUSH in chunks) plus its zset member. */
async function seed(c, n, ts) {
  for (let i = 0; i < n; i += 1000) {
    const items = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) items.push(`{"class":"BenchJob","args":[${j}],"queue":"sq"}`);
    await c.rpush(`${NS}:delayed:${ts}`, ...items);
  }
  await c.zadd(`${NS}:delayed_queue_schedule`, ts, String(ts));
}

async function pastSecond(c) {
  const [s] = await c.time();
  return Number(s) - 5;
}

async function pyresTsRound(redis, n, batchSize) {
  const { Scheduler } = require(path.join(__dirname, '..', 'dist', 'scheduler', 'scheduler'));
  const c = redis.client;
  await c.flushall();
  await seed(c, n, await pastSecond(c));
  const s = new Scheduler({ connection: { url: redis.url }, namespace: NS, batchSize, host: 'bench', interval: 3600 });
  await s.init();
  const t0 = process.hrtime.bigint();
  const r = await s.pass();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const len = await c.llen(`${NS}:queue:sq`);
  await s.stop();
  if (r.moved !== n || len !== n) throw new Error(`pyres-ts moved ${r.moved}, queue holds ${len}, expected ${n}`);
  return ms;
}

async function nodeResqueRound(redis, n) {
  const { Scheduler } = require('node-resque');
  const c = redis.client;
  await c.flushall();
  await seed(c, n, await pastSecond(c));
  const s = new Scheduler({ connection: { host: '127.0.0.1', port: redis.port, namespace: NS }, timeout: 3600_000 });
  s.on('error', () => undefined);
  await s.connect();
  const t0 = process.hrtime.bigint();
  await s.poll();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const len = await c.llen(`${NS}:queue:sq`);
  await s.end();
  if (len !== n) throw new Error(`node-resque moved ${len}, expected ${n}`);
  return ms;
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * ctx: { redis: a bench/lib/redis handle ({ url, port, client }), cfg?: { items, rounds, batchSize, nrItems } }.
 * Returns { items, pyresTs: { ms[], median, perSec }, nodeResque: { items, ms[], median, perSec } }.
 */
async function scenarioScheduler(ctx) {
  const cfg = { items: 100_000, rounds: 3, batchSize: 1000, ...(ctx.cfg || {}) };
  const nrItems = cfg.nrItems || cfg.items;
  const pt = [];
  const nr = [];
  for (let i = 0; i < cfg.rounds; i++) pt.push(await pyresTsRound(ctx.redis, cfg.items, cfg.batchSize));
  for (let i = 0; i < cfg.rounds; i++) nr.push(await nodeResqueRound(ctx.redis, nrItems));
  const perSec = (n, ms) => Math.round((n / ms) * 1000);
  return {
    items: cfg.items,
    batchSize: cfg.batchSize,
    pyresTs: { ms: pt, median: median(pt), perSec: perSec(cfg.items, median(pt)) },
    nodeResque: { items: nrItems, ms: nr, median: median(nr), perSec: perSec(nrItems, median(nr)) },
  };
}

module.exports = { scenarioScheduler };

if (require.main === module) {
  const { startRedis } = require('./lib/redis');
  (async () => {
    const redis = await startRedis('redis-server (scheduler bench)');
    try {
      const items = Number(process.argv[2] || 100_000);
      const rounds = Number(process.argv[3] || 3);
      const r = await scenarioScheduler({ redis, cfg: { items, rounds } });
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(
        `${items} delayed items due at one second: pyres-ts ${r.pyresTs.median.toFixed(0)} ms (${r.pyresTs.perSec}/s), node-resque ${r.nodeResque.median.toFixed(0)} ms (${r.nodeResque.perSec}/s)\n`,
      );
    } finally {
      redis.client.disconnect();
      await redis.stop();
    }
  })().catch(e => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exitCode = 1;
  });
}
