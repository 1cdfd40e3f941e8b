'use strict';
// The throughput engine of `npm run bench`: systems under test behind one interface, filled and
// drained in timed rounds that alternate between them, with paired per-round ratios.
//
// A system: { key, label, launch(), activate(), deactivate(), fill(n), drain(n) -> seconds,
// pids(), shutdown() }. Only the system whose round it is makes traffic: node-resque and BullMQ
// runners are stopped between their rounds; an idle pyres-ts worker is blocked (~1 command per 5 s).
const { childPids, memKb } = require('./procs');
const { commandCalls, diffCalls } = require('./redis');
const S = require('./systems');
const { hrNs, median, sleep } = require('./util');

/** A Resque payload of exactly `bytes` bytes (≥ 26) for class `cls`: `{"class":"Noop","args":["xxx…"]}`. */
function payloadOf(cls, bytes) {
  const bare = `{"class":"${cls}","args":[]}`;
  if (bytes <= bare.length) return bare;
  const pad = bytes - `{"class":"${cls}","args":[""]}`.length;
  return `{"class":"${cls}","args":["${'x'.repeat(Math.max(0, pad))}"]}`;
}

// ------------------------------------------------------------------------------------------
// Resque-protocol systems (pyres-ts, node-resque): jobs go into <ns>:bench:staging (outside every
// queue key, so no worker sees them and no notification fires), then one RENAME moves them into
// the work queue: the clock starts just before the RENAME and stops when the queue is empty and
// stat:processed has grown by n (polled every 5 ms).

async function fillStaging(c, ns, n, payload) {
  const key = `${ns}:bench:staging`;
  await c.del(key);
  const per = Math.max(1, Math.min(1000, Math.floor(4e6 / payload.length)));
  const chunk = new Array(per).fill(payload);
  for (let left = n; left > 0; ) {
    const p = c.pipeline();
    for (let k = 0; k < 20 && left > 0; k++, left -= per) p.rpush(key, ...(left >= per ? chunk : chunk.slice(0, left)));
    await p.exec();
  }
  const len = await c.llen(key);
  if (len !== n) throw new Error(`staging holds ${len} jobs, expected ${n}`);
}

async function drainResque(c, ns, queue, n, procs) {
  const processedKey = `${ns}:stat:processed`;
  const queueKey = `${ns}:queue:${queue}`;
  const base = Number((await c.get(processedKey)) || 0);
  const t0 = hrNs();
  await c.rename(`${ns}:bench:staging`, queueKey);
  const deadline = Date.now() + 300000;
  let polls = 0;
  for (;;) {
    polls += 1;
    const [[, p], [, l]] = await c.pipeline().get(processedKey).llen(queueKey).exec();
    if (Number(p) >= base + n && Number(l) === 0) break;
    S.ensureAlive(procs);
    if (Date.now() > deadline) throw new Error(`drain of ${n} jobs in ${queueKey} not done after 300 s (processed ${Number(p) - base}, left ${l})`);
    await sleep(5);
  }
  return { seconds: Number(hrNs() - t0) / 1e9, polls };
}

/**
 * pyres-ts: `count` `worker` processes (or one `master --pool`), queues in priority order, all
 * work in `workQueue`. `extra`: more CLI flags (e.g. `--concurrency 50`).
 */
function ptSystem(ctx, { key, label, ns, queues, workQueue, count = 1, pool = 0, extra = [], payload, registered, countCommands = false, url }) {
  const { redis } = ctx;
  const c = redis.client;
  const x = ['--namespace', ns, ...extra];
  const sys = {
    key,
    label,
    procs: [],
    countCommands,
    async launch() {
      await c.sadd(`${ns}:queues`, ...queues);
      sys.procs = pool
        ? [S.startPtMaster(redis, { queues, pool, extra: x, label: `pyres-ts ${label}` })]
        : Array.from({ length: count }, (_, i) => S.startPtWorker(redis, { queues, extra: x, url, label: `pyres-ts ${label} ${i + 1}/${count}` }));
      await S.waitRegistered(redis, ns, registered ?? (pool || count), sys.procs);
    },
    async activate() {},
    async deactivate() {},
    fill: n => fillStaging(c, ns, n, payload),
    async drain(n) {
      const before = countCommands ? await commandCalls(c) : null;
      const d = await drainResque(c, ns, workQueue, n, sys.procs);
      if (before) {
        const delta = diffCalls(before, await commandCalls(c));
        // Take out the bench's own commands: the RENAME, the polls (GET + LLEN), the first INFO.
        for (const [k, v] of Object.entries({ rename: 1, get: d.polls, llen: d.polls, info: 1 })) delta[k] = (delta[k] || 0) - v;
        sys.commands = sys.commands || { jobs: 0, calls: {} };
        sys.commands.jobs += n;
        for (const [k, v] of Object.entries(delta)) if (v) sys.commands.calls[k] = (sys.commands.calls[k] || 0) + v;
      }
      return d.seconds;
    },
    pids: () => sys.procs.flatMap(p => [p.pid, ...childPids(p.pid)]),
    shutdown: () => S.stopAll(sys.procs),
  };
  return sys;
}

/** node-resque: `count` runner processes, each one Worker (or a MultiWorker of 1..multi). */
function nrSystem(ctx, { key, label, ns, queues, workQueue, count = 1, multi = 0, timeoutMs = 5, payload }) {
  const { redis } = ctx;
  const c = redis.client;
  const sys = {
    key,
    label,
    procs: [],
    async launch() {
      await c.sadd(`${ns}:queues`, ...queues);
      sys.procs = await Promise.all(
        Array.from({ length: count }, (_, i) => S.startNr(redis, { queues, timeoutMs, multi, namespace: ns, label: `node-resque ${label} ${i + 1}/${count}` })),
      );
    },
    async activate() {
      await Promise.all(sys.procs.map(p => p.command('start')));
    },
    async deactivate() {
      await Promise.all(sys.procs.map(p => p.command('end')));
    },
    fill: n => fillStaging(c, ns, n, payload),
    drain: async n => (await drainResque(c, ns, workQueue, n, sys.procs)).seconds,
    pids: () => sys.procs.map(p => p.pid),
    shutdown: () => S.stopAll(sys.procs),
  };
  return sys;
}

/**
 * BullMQ: `count` runner processes, each one Worker of `concurrency`. Jobs are added (addBulk,
 * removeOnComplete) while no worker runs; the clock starts just before the runners are told to
 * start and stops when the wait and active lists are both empty (polled every 5 ms).
 */
function bullSystem(ctx, { key, label, queue, count = 1, concurrency = 1, jobName = 'Noop' }) {
  const { redis } = ctx;
  const c = redis.client;
  let q = null;
  const sys = {
    key,
    label,
    procs: [],
    async launch() {
      const { Queue } = require('bullmq');
      q = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
      await q.waitUntilReady();
      sys.procs = await Promise.all(
        Array.from({ length: count }, (_, i) => S.startBull(redis, { queue, concurrency, label: `BullMQ ${label} ${i + 1}/${count}` })),
      );
    },
    async activate() {},
    async deactivate() {
      await Promise.all(sys.procs.map(p => p.command('end')));
    },
    async fill(n) {
      const opts = { removeOnComplete: true, removeOnFail: true };
      for (let left = n; left > 0; left -= 500) {
        await q.addBulk(Array.from({ length: Math.min(500, left) }, () => ({ name: jobName, data: { args: [] }, opts })));
      }
    },
    async drain(n) {
      const t0 = hrNs();
      await Promise.all(sys.procs.map(p => p.command('start')));
      const deadline = Date.now() + 300000;
      for (;;) {
        const [[, w], [, a]] = await c.pipeline().llen(`bull:${queue}:wait`).llen(`bull:${queue}:active`).exec();
        if (Number(w) === 0 && Number(a) === 0) break;
        S.ensureAlive(sys.procs);
        if (Date.now() > deadline) throw new Error(`BullMQ drain of ${n} jobs not done after 300 s (wait ${w}, active ${a})`);
        await sleep(5);
      }
      return Number(hrNs() - t0) / 1e9;
    },
    pids: () => sys.procs.map(p => p.pid),
    async shutdown() {
      await S.stopAll(sys.procs);
      if (q) await q.close();
    },
  };
  return sys;
}

/** Jobs for a round of about `seconds` at `rate`, rounded to 100, within the config's bounds. */
function sizeFor(rate, seconds, cfg) {
  return Math.max(cfg.minJobs, Math.min(cfg.maxJobs, Math.round((rate * seconds * 1.1) / 100) * 100));
}

/**
 * Launches the systems side by side, warms each up (a small drain, then one of about
 * cfg.warmSeconds), then runs cfg.rounds rounds; in each, every system drains its own batch, in
 * an order that alternates round by round. A round that came out shorter than cfg.roundSeconds
 * grows the batch of that system's later rounds. Returns per system { rates, seconds, median,
 * mem } and `paired(a, b)`: the per-round ratios a/b with their median, min and max.
 */
async function throughput(ctx, systems) {
  const { redis, cfg, say } = ctx;
  await redis.client.flushall();
  const res = {};
  try {
    for (const sys of systems) await sys.launch();
    for (const sys of systems) {
      res[sys.key] = { label: sys.label, rates: [], seconds: [], memRounds: [] };
      await sys.activate();
      await sys.fill(cfg.warmJobs);
      let rate = cfg.warmJobs / (await sys.drain(cfg.warmJobs));
      await sys.deactivate();
      if (cfg.warmSeconds > 0) {
        const n2 = sizeFor(rate, cfg.warmSeconds, cfg);
        await sys.activate();
        await sys.fill(n2);
        rate = n2 / (await sys.drain(n2));
        await sys.deactivate();
      }
      res[sys.key].n = sizeFor(rate, cfg.roundSeconds, cfg);
    }
    // Commands are counted over the timed rounds only.
    for (const sys of systems) sys.commands = null;
    for (let r = 0; r < cfg.rounds; r++) {
      const order = r % 2 === 0 ? systems : [...systems].reverse();
      for (const sys of order) {
        const out = res[sys.key];
        // A round shorter than cfg.roundSeconds (the machine got faster) is not kept: it is run
        // again with a batch sized from its rate (up to 3 tries; the last one is kept, and
        // out.seconds shows its length).
        for (let attempt = 1; ; attempt++) {
          await sys.activate();
          await sys.fill(out.n);
          const secs = await sys.drain(out.n);
          await sys.deactivate();
          const short = secs < cfg.roundSeconds && out.n < cfg.maxJobs;
          say(
            `  round ${r + 1}/${cfg.rounds} ${sys.label}: ${out.n} jobs in ${secs.toFixed(2)} s = ${Math.round(out.n / secs)} jobs/s${short && attempt < 3 ? ' (shorter than a round: again, with more jobs)' : ''}`,
          );
          const n = out.n;
          // Half again on top: the rate of a loaded machine swings, and each retry costs a fill.
          if (short) out.n = Math.max(sizeFor(n / secs, cfg.roundSeconds, cfg), Math.min(cfg.maxJobs, Math.round((n * 1.5) / 100) * 100));
          if (!short || attempt >= 3) {
            out.rates.push(n / secs);
            out.seconds.push(secs);
            // RSS right after each kept round: one sample swings by 10 % or more (V8's young
            // generation is grown or not, a GC just ran or not); the row shows the median round.
            out.memRounds.push(Object.values(memKb(sys.pids())));
            break;
          }
        }
      }
    }
    for (const sys of systems) {
      const out = res[sys.key];
      out.median = median(out.rates);
      // Per round, the largest process's RSS; the round at the median of those is the row's.
      const peak = m => Math.max(0, ...m.map(x => x.rss));
      const byPeak = out.memRounds.filter(m => m.length > 0).sort((a, b) => peak(a) - peak(b));
      out.mem = byPeak.length > 0 ? byPeak[Math.floor((byPeak.length - 1) / 2)] : Object.values(memKb(sys.pids()));
      out.memRange = byPeak.length > 0 ? [peak(byPeak[0]) / 1024, peak(byPeak[byPeak.length - 1]) / 1024] : null;
      if (sys.commands) {
        const total = Object.values(sys.commands.calls).reduce((a, b) => a + b, 0);
        out.commandsPerJob = total / sys.commands.jobs;
        out.breakdown = Object.fromEntries(Object.entries(sys.commands.calls).map(([k, v]) => [k, Number((v / sys.commands.jobs).toFixed(3))]));
      }
    }
  } finally {
    await Promise.all(systems.map(s => s.shutdown().catch(() => undefined)));
  }
  res.paired = (a, b) => pairedOf(res[a].rates, res[b].rates);
  return res;
}

/** Per-round ratios xs[i]/ys[i]: { median, min, max, all }. */
function pairedOf(xs, ys) {
  const all = xs.map((x, i) => x / ys[i]).filter(Number.isFinite);
  return { median: median(all), min: Math.min(...all), max: Math.max(...all), all };
}

module.exports = { payloadOf, ptSystem, nrSystem, bullSystem, throughput, pairedOf, fillStaging, drainResque };
