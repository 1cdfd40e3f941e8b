'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { childPids, memKb } = require('./procs');
const { commandCalls, diffCalls, startRedis } = require('./redis');
const S = require('./systems');
const { hrNs, hrUs, median, percentile, sleep, uniform } = require('./util');

const NOOP = '{"class":"Noop","args":[]}';
const PRIORITY_QUEUES = ['p10', 'p9', 'p8', 'p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1'];

// ------------------------------------------------------------------------------------------
// Systems as the throughput scenarios drive them: launch (processes up and registered or ready),
// activate / deactivate around each system's rounds, shutdown.

/**
 * pyres-ts: one `worker` process, or one `master --pool N`. Always active (idle = blocked, ~no traffic).
 * `key`/`ns`/`extra`/`label`: a second pyres-ts system beside the first ((w): its own namespace and flags).
 */
function ptSystem(ctx, { queues, pool, probeDir, key = 'pt', ns = S.PT_NS, extra = [], label }) {
  const { redis } = ctx;
  const sys = {
    key,
    label,
    ns,
    procs: [],
    launchMs: null,
    masterReportedMs: null,
    async launch() {
      const t0 = hrNs();
      const probe = probeDir ? { port: redis.port, dir: probeDir } : null;
      const x = ns === S.PT_NS ? extra : ['--namespace', ns, ...extra];
      const p = pool
        ? S.startPtMaster(redis, { queues, pool, probe, extra: x })
        : S.startPtWorker(redis, { queues, probe, extra: x, ...(label ? { label } : {}) });
      sys.procs = [p];
      await S.waitRegistered(redis, ns, pool || 1, sys.procs);
      sys.launchMs = Number(hrNs() - t0) / 1e6;
      if (pool) sys.masterReportedMs = await masterReported(p);
    },
    async activate() {},
    async deactivate() {},
    pids() {
      return sys.procs.flatMap(p => [p.pid, ...childPids(p.pid)]);
    },
    async shutdown() {
      await S.stopAll(sys.procs);
    },
  };
  return sys;
}

/** node-resque: `count` runner processes, each one Worker; started/ended over IPC around its rounds. */
function nrSystem(ctx, { queues, count = 1, timeoutMs, probeDir }) {
  const { redis } = ctx;
  const sys = {
    key: 'nr',
    ns: S.NR_NS,
    procs: [],
    launchMs: null,
    async launch() {
      const probe = probeDir ? { port: redis.port, dir: probeDir } : null;
      const t0 = hrNs();
      sys.procs = await Promise.all(
        Array.from({ length: count }, (_, i) => S.startNr(redis, { queues, timeoutMs, probe, label: `node-resque worker ${i + 1}/${count}` })),
      );
      sys.forkMs = Number(hrNs() - t0) / 1e6;
    },
    async activate() {
      const t0 = hrNs();
      await Promise.all(sys.procs.map(p => p.command('start')));
      await S.waitRegistered(redis, S.NR_NS, count, sys.procs);
      // Spawn -> ready for commands, plus the first start -> registered: one (h) sample.
      if (sys.launchMs === null) sys.launchMs = sys.forkMs + Number(hrNs() - t0) / 1e6;
    },
    async deactivate() {
      await Promise.all(sys.procs.map(p => p.command('end')));
    },
    pids() {
      return sys.procs.map(p => p.pid);
    },
    async shutdown() {
      await S.stopAll(sys.procs);
    },
  };
  return sys;
}

/** The master's own figure from its log: `all children registered N ms after start`. */
async function masterReported(proc) {
  for (let i = 0; i < 100; i++) {
    const m = /all children registered (\d+) ms after start/.exec(fs.readFileSync(proc.logFile, 'utf8'));
    if (m) return Number(m[1]);
    await sleep(10);
  }
  return null;
}

// ------------------------------------------------------------------------------------------
// Filling and draining. Jobs are pushed into <ns>:bench:staging (outside every queue key, so no
// worker sees them and no queue notification fires), then moved into the work queue with one
// RENAME: the clock starts just before the RENAME and stops when the queue is empty and
// stat:processed has grown by N (polled every 5 ms).

async function fillStaging(c, ns, n) {
  const key = `${ns}:bench:staging`;
  await c.del(key);
  const chunk = new Array(1000).fill(NOOP);
  const p = c.pipeline();
  for (let left = n; left > 0; left -= 1000) p.rpush(key, ...(left >= 1000 ? chunk : chunk.slice(0, left)));
  await p.exec();
  const len = await c.llen(key);
  if (len !== n) throw new Error(`staging holds ${len} jobs, expected ${n}`);
}

/** Returns { seconds, jobs, window: [t0us, t1us], bench: {cmd: calls} (the bench's own commands) }. */
async function drain(c, ns, queue, n, procs) {
  const processedKey = `${ns}:stat:processed`;
  const queueKey = `${ns}:queue:${queue}`;
  const base = Number((await c.get(processedKey)) || 0);
  const t0 = hrNs();
  const t0us = hrUs();
  await c.rename(`${ns}:bench:staging`, queueKey);
  let polls = 0;
  const deadline = Date.now() + 180000;
  for (;;) {
    polls += 1;
    const [[, p], [, l]] = await c.pipeline().get(processedKey).llen(queueKey).exec();
    if (Number(p) >= base + n && Number(l) === 0) break;
    S.ensureAlive(procs);
    if (Date.now() > deadline) throw new Error(`drain of ${n} jobs in ${queueKey} not done after 180 s (processed ${Number(p) - base}, left ${l})`);
    await sleep(5);
  }
  const t1 = hrNs();
  const t1us = hrUs();
  return { seconds: Number(t1 - t0) / 1e9, jobs: n, window: [t0us, t1us], bench: { rename: 1, get: polls, llen: polls } };
}

/** Sizes N so a timed drain lasts about `seconds` at the warm-up rate. */
function sizeFor(rate, seconds, cfg) {
  return Math.max(cfg.minJobs, Math.min(cfg.maxJobs, Math.round((rate * seconds) / 100) * 100));
}

/**
 * One throughput scenario: both systems launched side by side (different namespaces), each
 * warmed up, then `rounds` rounds, alternating which system goes first; only the system whose
 * round it is makes traffic (node-resque's Worker is ended between its rounds; an idle pyres-ts
 * worker is blocked and makes ~1 command per 5 s).
 */
async function throughput(ctx, { queues, workQueue, systems, seconds }) {
  const { redis, cfg, say } = ctx;
  const c = redis.client;
  await c.flushall();
  for (const sys of systems) await c.sadd(`${sys.ns}:queues`, ...queues);
  for (const sys of systems) await sys.launch();
  const res = {};
  for (const sys of systems) {
    res[sys.key] = { rates: [], jobs: 0, calls: {}, windows: [], n: 0 };
    await sys.activate();
    await fillStaging(c, sys.ns, cfg.warmJobs);
    const w1 = await drain(c, sys.ns, workQueue, cfg.warmJobs, sys.procs);
    let rate = cfg.warmJobs / w1.seconds;
    if (cfg.warmSeconds > 0) {
      const n2 = sizeFor(rate, cfg.warmSeconds, cfg);
      await fillStaging(c, sys.ns, n2);
      rate = n2 / (await drain(c, sys.ns, workQueue, n2, sys.procs)).seconds;
    }
    res[sys.key].n = sizeFor(rate, seconds, cfg);
    await sys.deactivate();
  }
  for (let r = 0; r < cfg.rounds; r++) {
    const order = r % 2 === 0 ? systems : [...systems].reverse();
    for (const sys of order) {
      const out = res[sys.key];
      await sys.activate();
      await fillStaging(c, sys.ns, out.n);
      const before = await commandCalls(c);
      const d = await drain(c, sys.ns, workQueue, out.n, sys.procs);
      const after = await commandCalls(c);
      const delta = diffCalls(before, after);
      // Take out the bench's own commands: the RENAME, the polls, and the first INFO.
      for (const [k, v] of Object.entries({ ...d.bench, info: 1 })) delta[k] = (delta[k] || 0) - v;
      for (const [k, v] of Object.entries(delta)) if (v) out.calls[k] = (out.calls[k] || 0) + v;
      out.jobs += d.jobs;
      out.windows.push(d.window);
      out.rates.push(d.jobs / d.seconds);
      say(
        `  round ${r + 1}/${cfg.rounds} ${sys.label || (sys.key === 'pt' ? 'pyres-ts' : 'node-resque')}: ${d.jobs} jobs in ${d.seconds.toFixed(3)} s = ${Math.round(d.jobs / d.seconds)} jobs/s`,
      );
      await sys.deactivate();
    }
  }
  for (const sys of systems) {
    res[sys.key].memAfter = Object.values(memKb(sys.pids()));
    res[sys.key].launchMs = sys.launchMs ?? null;
    res[sys.key].masterReportedMs = sys.masterReportedMs ?? null;
  }
  await Promise.all(systems.map(s => s.shutdown()));
  for (const sys of systems) res[sys.key].median = median(res[sys.key].rates);
  // Each round runs both systems back to back, so the per-round ratio cancels slow drifts in
  // the machine's load; its median is shown beside the ratio of the medians.
  if (res.pt && res.nr) res.pairedRatio = median(res.pt.rates.map((x, i) => x / res.nr.rates[i]));
  return res;
}

/** (e) from a throughput result: commands/job, script calls/job, requests (≈ round trips)/job. */
function perJob(out, probeDir) {
  const total = Object.values(out.calls).reduce((a, b) => a + b, 0);
  const scripts = (out.calls.evalsha || 0) + (out.calls.eval || 0);
  let requests = null;
  if (probeDir) requests = S.countInWindows(S.readProbeDir(probeDir), out.windows);
  return {
    jobs: out.jobs,
    commandsPerJob: total / out.jobs,
    scriptsPerJob: scripts / out.jobs,
    requestsPerJob: requests === null ? null : requests / out.jobs,
    breakdown: Object.fromEntries(
      Object.entries(out.calls)
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, Number((v / out.jobs).toFixed(3))]),
    ),
  };
}

// ------------------------------------------------------------------------------------------
// (a), (b), (c)

async function scenarioA(ctx) {
  const probeDir = path.join(ctx.tmp, 'probe-a');
  const pt = ptSystem(ctx, { queues: ['q'], probeDir: path.join(probeDir, 'pt') });
  const nr = nrSystem(ctx, { queues: ['q'], timeoutMs: ctx.cfg.nrBusyTimeoutMs, probeDir: path.join(probeDir, 'nr') });
  const res = await throughput(ctx, { queues: ['q'], workQueue: 'q', systems: [pt, nr], seconds: ctx.cfg.roundSeconds });
  res.pt.perJob = perJob(res.pt, path.join(probeDir, 'pt'));
  res.nr.perJob = perJob(res.nr, path.join(probeDir, 'nr'));
  return res;
}

async function scenarioB(ctx) {
  const probeDir = path.join(ctx.tmp, 'probe-b');
  const pt = ptSystem(ctx, { queues: PRIORITY_QUEUES, probeDir: path.join(probeDir, 'pt') });
  const nr = nrSystem(ctx, { queues: PRIORITY_QUEUES, timeoutMs: ctx.cfg.nrBusyTimeoutMs, probeDir: path.join(probeDir, 'nr') });
  const res = await throughput(ctx, { queues: PRIORITY_QUEUES, workQueue: 'p1', systems: [pt, nr], seconds: ctx.cfg.roundSeconds });
  res.pt.perJob = perJob(res.pt, path.join(probeDir, 'pt'));
  res.nr.perJob = perJob(res.nr, path.join(probeDir, 'nr'));
  return res;
}

async function scenarioC(ctx) {
  const out = {};
  for (const n of ctx.cfg.pools) {
    ctx.say(` pool ${n}`);
    const pt = ptSystem(ctx, { queues: ['q'], pool: n });
    const nr = nrSystem(ctx, { queues: ['q'], count: n, timeoutMs: ctx.cfg.nrBusyTimeoutMs });
    out[n] = await throughput(ctx, { queues: ['q'], workQueue: 'q', systems: [pt, nr], seconds: ctx.cfg.roundSeconds });
    // The master started above is one (h) sample: spawn -> all children registered.
    ctx.startSamples[n] = { pt: [pt.launchMs], reported: [pt.masterReportedMs], nr: [nr.launchMs] };
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// (d) pickup latency: one job pushed (SADD queues + RPUSH, one pipeline, as Resque.push) into an
// idle worker; latency = the job's perform start minus the instant just before the push
// (both CLOCK_MONOTONIC). Samples are spaced by random gaps so the push lands at a random
// phase of any poll timer.

async function sampleLatency(c, ns, queue, reader, { samples, gapMs, procs }) {
  const lat = [];
  while (lat.length < samples) {
    await sleep(uniform(gapMs[0], gapMs[1]));
    const t0 = hrNs();
    const payload = `{"class":"Stamp","args":["${t0}"]}`;
    await c.pipeline().sadd(`${ns}:queues`, queue).rpush(`${ns}:queue:${queue}`, payload).exec();
    S.ensureAlive(procs);
    lat.push((await reader.wait(t0)) / 1e6);
  }
  return lat;
}

/** Pickups slower than this count as stalls (a missed wake-up waits for the next poll). */
const STALL_MS = 1000;

function latStats(lat) {
  return { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), stalls: lat.filter(x => x > STALL_MS).length };
}

async function scenarioD(ctx) {
  const { redis, cfg, say } = ctx;
  const c = redis.client;
  await c.flushall();
  const out = {};
  const settle = () => sleep(300);

  {
    // Also counts what each isolated job costs in Redis traffic (probe + commandstats).
    const probeDir = path.join(ctx.tmp, 'probe-d-blocking');
    const p = S.startPtWorker(redis, {
      queues: ['lat'],
      stdout: 'pipe',
      label: 'pyres-ts worker (latency, blocking)',
      probe: { port: redis.port, dir: probeDir },
    });
    const reader = S.stampReader(p);
    await S.waitRegistered(redis, S.PT_NS, 1, [p]);
    await settle();
    const before = await commandCalls(c);
    const t0 = hrUs();
    const lat = await sampleLatency(c, S.PT_NS, 'lat', reader, { samples: cfg.latSamplesFast, gapMs: [5, 40], procs: [p] });
    await sleep(40);
    const t1 = hrUs();
    const d = diffCalls(before, await commandCalls(c));
    out.ptBlocking = latStats(lat);
    say(`  pyres-ts blocking: p50 ${out.ptBlocking.p50.toFixed(2)} ms, p99 ${out.ptBlocking.p99.toFixed(2)} ms (n=${out.ptBlocking.n})`);
    await S.stopAll([p]);
    // Take out the bench's own commands: SADD + RPUSH per sample, the first INFO.
    for (const [k, v] of Object.entries({ sadd: lat.length, rpush: lat.length, info: 1 })) d[k] = (d[k] || 0) - v;
    const total = Object.values(d).reduce((a, b) => a + b, 0);
    out.ptBlockingPerJob = {
      jobs: lat.length,
      commandsPerJob: total / lat.length,
      scriptsPerJob: ((d.evalsha || 0) + (d.eval || 0)) / lat.length,
      requestsPerJob: S.countInWindows(S.readProbeDir(probeDir), [[t0, t1]]) / lat.length,
      breakdown: Object.fromEntries(
        Object.entries(d)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => [k, Number((v / lat.length).toFixed(3))]),
      ),
    };
  }
  {
    const extra = ['--nonblocking-pop', '--backoff-min', String(cfg.nbBackoffS), '--backoff-max', String(cfg.nbBackoffS)];
    const p = S.startPtWorker(redis, { queues: ['lat'], extra, stdout: 'pipe', label: 'pyres-ts worker (latency, nonblocking)' });
    const reader = S.stampReader(p);
    await S.waitRegistered(redis, S.PT_NS, 1, [p]);
    await settle();
    out.ptNonblocking = latStats(
      await sampleLatency(c, S.PT_NS, 'lat', reader, { samples: cfg.latSamplesPoll, gapMs: [0, cfg.nbBackoffS * 1000], procs: [p] }),
    );
    say(`  pyres-ts --nonblocking-pop: p50 ${out.ptNonblocking.p50.toFixed(1)} ms, p99 ${out.ptNonblocking.p99.toFixed(1)} ms (n=${out.ptNonblocking.n})`);
    await S.stopAll([p]);
  }
  {
    const p = await S.startNr(redis, { queues: ['lat'], timeoutMs: cfg.nrSmallTimeoutMs, autostart: true, stdout: 'pipe' });
    const reader = S.stampReader(p);
    await S.waitRegistered(redis, S.NR_NS, 1, [p]);
    await settle();
    out.nrSmall = latStats(await sampleLatency(c, S.NR_NS, 'lat', reader, { samples: cfg.latSamplesPoll, gapMs: [0, cfg.nrSmallTimeoutMs], procs: [p] }));
    say(`  node-resque timeout ${cfg.nrSmallTimeoutMs} ms: p50 ${out.nrSmall.p50.toFixed(1)} ms, p99 ${out.nrSmall.p99.toFixed(1)} ms (n=${out.nrSmall.n})`);
    await S.stopAll([p]);
  }
  return out;
}

/**
 * (d), node-resque's default 5 s timeout: a sample takes ~5 s (a gap uniform over one poll
 * period, so the push lands at a random phase of the poll timer, then the wait: together about
 * one period), so several idle workers (one queue each) are sampled in parallel, a fixed number
 * of samples each (a time limit would drop the long gaps near its end and bias the result). Nothing here is sensitive to a millisecond
 * of CPU contention, so run.js runs it while (f) counts idle traffic on other redis-servers.
 */
async function nrDefaultLatency(ctx) {
  const { redis, cfg, say } = ctx;
  const c = redis.client;
  const k = cfg.nrDefaultSamplers;
  const procs = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      S.startNr(redis, {
        queues: [`lat${i}`],
        timeoutMs: 5000,
        autostart: true,
        stdout: 'pipe',
        label: `node-resque worker (latency, timeout 5000 ms) ${i + 1}/${k}`,
      }),
    ),
  );
  const readers = procs.map(p => S.stampReader(p));
  await S.waitRegistered(redis, S.NR_NS, k, procs);
  await sleep(300);
  const lists = await Promise.all(
    procs.map((p, i) => sampleLatency(c, S.NR_NS, `lat${i}`, readers[i], { samples: cfg.nrDefaultSamplesEach, gapMs: [0, 5000], procs: [p] })),
  );
  const out = latStats(lists.flat());
  say(`  node-resque timeout 5000 ms: p50 ${out.p50.toFixed(0)} ms, p99 ${out.p99.toFixed(0)} ms (n=${out.n})`);
  // node-resque's end() waits a whole `timeout` (5 s) if it lands while the last job is being
  // completed; let that finish first.
  await sleep(300);
  await S.stopAll(procs);
  return out;
}

// ------------------------------------------------------------------------------------------
// (f) idle traffic and (g) idle RSS. Every setup gets its own throwaway redis-server, so all idle
// at the same time and each server's INFO commandstats delta is that setup's traffic alone.

async function scenarioFG(ctx) {
  const { cfg, say, tmp } = ctx;
  const nb = String(cfg.nbBackoffS);
  const setups = [
    { key: 'ptBlocking', what: 'pyres-ts worker, blocking (default)', pt: { extra: [] }, queues: 1 },
    {
      key: 'ptNbFast',
      what: `pyres-ts worker --nonblocking-pop --backoff-min ${nb} --backoff-max ${nb}`,
      pt: { extra: ['-n', '--backoff-min', nb, '--backoff-max', nb] },
      queues: 1,
      stepS: cfg.nbBackoffS,
    },
    { key: 'ptNbDefault', what: 'pyres-ts worker --nonblocking-pop (backoff 1, 2, 4, 8, 8 … s)', pt: { extra: ['-n'] }, queues: 1 },
    { key: 'ptMaster', what: 'pyres-ts master --pool 2 (blocking children)', master: 2, queues: 1 },
    { key: 'nrDefault', what: 'node-resque Worker, timeout 5000 ms (default)', nr: 5000, queues: 1 },
    { key: 'nrSmall', what: `node-resque Worker, timeout ${cfg.nrSmallTimeoutMs} ms`, nr: cfg.nrSmallTimeoutMs, queues: 1 },
  ];
  const servers = [];
  try {
    await Promise.all(
      setups.map(async s => {
        s.redis = await startRedis(`redis-server (idle: ${s.key})`);
        servers.push(s.redis);
      }),
    );
    for (const s of setups) {
      s.probeDir = path.join(tmp, `probe-idle-${s.key}`);
      const probe = { port: s.redis.port, dir: s.probeDir };
      if (s.pt) s.procs = [S.startPtWorker(s.redis, { queues: ['q'], extra: s.pt.extra, probe, label: `pyres-ts worker (idle ${s.key})` })];
      else if (s.master) s.procs = [S.startPtMaster(s.redis, { queues: ['q'], pool: s.master, probe, label: 'pyres-ts master (idle)' })];
      else s.procs = [await S.startNr(s.redis, { queues: ['q'], timeoutMs: s.nr, autostart: true, probe })];
    }
    await Promise.all(setups.map(s => S.waitRegistered(s.redis, s.nr ? S.NR_NS : S.PT_NS, s.master || 1, s.procs)));
    say(`  all idle; settling ${cfg.idleSettleS} s, then counting for ${cfg.idleWindowS} s`);
    await sleep(cfg.idleSettleS * 1000);
    for (const s of setups) {
      s.before = await commandCalls(s.redis.client);
      s.t0 = hrUs();
    }
    await sleep(cfg.idleWindowS * 1000);
    for (const s of setups) {
      s.after = await commandCalls(s.redis.client);
      s.t1 = hrUs();
    }
    for (const s of setups) {
      s.pids = s.procs.flatMap(p => [p.pid, ...childPids(p.pid)]);
      s.mem = memKb(s.pids);
    }
    await Promise.all(setups.map(s => S.stopAll(s.procs)));
  } finally {
    await Promise.all(servers.map(r => r.stop()));
  }
  const out = {};
  for (const s of setups) {
    const seconds = (s.t1 - s.t0) / 1e6;
    const d = diffCalls(s.before, s.after);
    d.info = (d.info || 0) - 1; // the first INFO is counted by the second
    const total = Object.values(d).reduce((a, b) => a + b, 0);
    const scripts = (d.evalsha || 0) + (d.eval || 0);
    const requests = S.countInWindows(S.readProbeDir(s.probeDir), [[s.t0, s.t1]]);
    const master = s.master ? s.procs[0].pid : null;
    out[s.key] = {
      what: s.what,
      seconds,
      commandsPerS: total / seconds,
      requestsPerS: requests / seconds,
      scriptCalls: scripts,
      passesPerS: (s.nr ? (d.evalsha || 0) / s.queues : scripts) / seconds,
      stepS: s.stepS ?? null,
      breakdown: d,
      mem: master ? s.mem[master] : s.mem[s.pids[0]],
      childMem: master
        ? s.pids
            .filter(p => p !== master)
            .map(p => s.mem[p])
            .filter(Boolean)
        : [],
    };
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// (h) master start → all children registered, and node-resque N processes start → registered.

async function scenarioH(ctx) {
  const { redis, cfg } = ctx;
  const c = redis.client;
  const out = {};
  for (const n of cfg.pools) {
    const have = ctx.startSamples[n] || { pt: [], reported: [], nr: [] };
    const pt = [...have.pt];
    const reported = [...have.reported];
    const nr = [...have.nr];
    while (pt.length < cfg.startRounds) {
      await c.flushall();
      const t0 = hrNs();
      const m = S.startPtMaster(redis, { queues: ['q'], pool: n, label: `pyres-ts master pool ${n} (start)` });
      await S.waitRegistered(redis, S.PT_NS, n, [m]);
      pt.push(Number(hrNs() - t0) / 1e6);
      reported.push(await masterReported(m));
      await S.stopAll([m]);
    }
    while (nr.length < cfg.nrStartRounds) {
      await c.flushall();
      const t0 = hrNs();
      const procs = [];
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          S.startNr(redis, { queues: ['q'], timeoutMs: 5000, autostart: true, label: `node-resque worker ${i + 1}/${n} (start)` }).then(p => procs.push(p)),
        ),
      );
      await S.waitRegistered(redis, S.NR_NS, n, procs);
      nr.push(Number(hrNs() - t0) / 1e6);
      await S.stopAll(procs);
    }
    out[n] = { pt: median(pt), ptAll: pt, reported: median(reported.filter(x => x !== null)), reportedAll: reported, nr: median(nr), nrAll: nr };
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// (w) the cost of --wait-replicas: one pyres-ts worker without it and one with
// `--wait-replicas 1 --wait-timeout 100` (own namespaces, the same run, rounds alternating), no-op
// jobs on one queue, against a redis-server with one replica (a second redis-server on this host,
// `--replicaof` the first). No-op jobs are the worst case: the WAIT's replica round trip is added to
// a job that costs nothing itself.

async function scenarioW(ctx) {
  const replica = await startRedis('redis-server (bench replica)', ['--replicaof', '127.0.0.1', String(ctx.redis.port), '--dir', ctx.tmp]);
  try {
    const deadline = Date.now() + 20000;
    while (!/slave0:.*state=online/.test(await ctx.redis.client.info('replication'))) {
      if (Date.now() > deadline) throw new Error('(w): the replica did not come online within 20 s');
      await sleep(50);
    }
    const plain = ptSystem(ctx, { queues: ['q'], key: 'plain', label: 'pyres-ts' });
    const waiting = ptSystem(ctx, {
      queues: ['q'],
      key: 'wait',
      ns: 'benchwait',
      extra: ['--wait-replicas', '1', '--wait-timeout', '100'],
      label: 'pyres-ts --wait-replicas 1',
    });
    const res = await throughput(ctx, { queues: ['q'], workQueue: 'q', systems: [plain, waiting], seconds: ctx.cfg.roundSeconds });
    res.ratio = res.wait.median / res.plain.median;
    res.pairedRatio = median(res.wait.rates.map((x, i) => x / res.plain.rates[i]));
    return res;
  } finally {
    await replica.stop();
  }
}

module.exports = { STALL_MS, scenarioW, scenarioA, scenarioB, scenarioC, scenarioD, nrDefaultLatency, scenarioFG, scenarioH, PRIORITY_QUEUES };
