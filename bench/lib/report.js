'use strict';
// The table, the "where we stand" list and BENCHMARKS.md.
const { fmt, fmtRatio } = require('./util');

const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
const mb = kb => (Number.isFinite(kb) ? kb / 1024 : NaN);
const spread = xs => (xs && xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '');

/** Rows: [scenario, what, pyres-ts, node-resque, ratio pyres-ts/node-resque]. */
function rows(R, cfg) {
  const out = [];
  const push = (sc, what, pt, nr, ratio) => out.push([sc, what, pt, nr, ratio]);
  const thr = (sc, what, r) =>
    push(
      sc,
      what,
      `${fmt(r.pt.median)}${spread(r.pt.rates)}`,
      `${fmt(r.nr.median)}${spread(r.nr.rates)}`,
      `${fmtRatio(r.pt.median / r.nr.median)} [${fmtRatio(r.pairedRatio)}]`,
    );
  if (R.a) thr('a', 'jobs/s: no-op jobs, 1 worker process, 1 queue', R.a);
  if (R.b) thr('b', 'jobs/s: 1 worker, queues p10…p1, all work in p1', R.b);
  if (R.a && R.b) push('b', 'jobs/s (b) ÷ (a), pyres-ts', fmtRatio(R.b.pt.median / R.a.pt.median), fmtRatio(R.b.nr.median / R.a.nr.median), '');
  if (R.c) {
    for (const n of Object.keys(R.c)) {
      thr('c', `jobs/s: \`master --pool ${n}\` vs ${n} node-resque process${n > 1 ? 'es' : ''}`, R.c[n]);
    }
  }
  if (R.d) {
    const lat = x => `${fmt(x.p50)} / ${fmt(x.p99)}`;
    push(
      'd',
      'pickup ms p50 / p99: blocking (default) vs node-resque timeout 5000 ms (default)',
      lat(R.d.ptBlocking),
      lat(R.d.nrDefault),
      `${fmtRatio(R.d.ptBlocking.p50 / R.d.nrDefault.p50)} (p50)`,
    );
    push(
      'd',
      `pickup ms p50 / p99: \`--nonblocking-pop\`, backoff ${cfg.nbBackoffS} s vs node-resque timeout ${cfg.nrSmallTimeoutMs} ms`,
      lat(R.d.ptNonblocking),
      lat(R.d.nrSmall),
      `${fmtRatio(R.d.ptNonblocking.p50 / R.d.nrSmall.p50)} (p50)`,
    );
  }
  for (const [k, label] of [
    ['a', '1 queue'],
    ['b', '10 queues'],
  ]) {
    if (!R[k]) continue;
    const p = R[k].pt.perJob;
    const n = R[k].nr.perJob;
    push(
      'e',
      `Redis commands/job, ${label} (server count, incl. inside scripts)`,
      fmt(p.commandsPerJob),
      fmt(n.commandsPerJob),
      fmtRatio(p.commandsPerJob / n.commandsPerJob),
    );
    push(
      'e',
      `round trips/job, ${label} (requests written to Redis)`,
      fmt(p.requestsPerJob),
      fmt(n.requestsPerJob),
      fmtRatio(p.requestsPerJob / n.requestsPerJob),
    );
  }
  if (R.d && R.d.ptBlockingPerJob) {
    const p = R.d.ptBlockingPerJob;
    push(
      'e',
      'isolated jobs into an idle blocking worker ((d) pattern): commands / round trips per job',
      `${fmt(p.commandsPerJob)} / ${fmt(p.requestsPerJob)}`,
      '',
      '',
    );
  }
  if (R.f) {
    const f = R.f;
    const cs = x => `${fmt(x.commandsPerS)} (${fmt(x.requestsPerS)})`;
    push(
      'f',
      'idle commands/s (requests/s): blocking vs node-resque timeout 5000 ms',
      cs(f.ptBlocking),
      cs(f.nrDefault),
      fmtRatio(f.ptBlocking.commandsPerS / f.nrDefault.commandsPerS),
    );
    push(
      'f',
      `idle commands/s (requests/s): nonblocking, backoff ${cfg.nbBackoffS} s vs node-resque timeout ${cfg.nrSmallTimeoutMs} ms`,
      cs(f.ptNbFast),
      cs(f.nrSmall),
      fmtRatio(f.ptNbFast.commandsPerS / f.nrSmall.commandsPerS),
    );
    push(
      'f',
      'idle commands/s (requests/s): nonblocking, default backoff 1…8 s vs node-resque 5000 ms',
      cs(f.ptNbDefault),
      cs(f.nrDefault),
      fmtRatio(f.ptNbDefault.commandsPerS / f.nrDefault.commandsPerS),
    );
    push('f', 'idle commands/s (requests/s): `master --pool 2`, master + 2 children', cs(f.ptMaster), '', '');
    const m = x => `${fmt(mb(x.rss))} (${fmt(mb(x.private))})`;
    push('g', 'RSS MB (private MB), idle worker process', m(f.ptBlocking.mem), m(f.nrDefault.mem), fmtRatio(f.ptBlocking.mem.rss / f.nrDefault.mem.rss));
    push('g', 'RSS MB (private MB), idle master / each idle child (`--pool 2`)', `${m(f.ptMaster.mem)} / ${f.ptMaster.childMem.map(m).join(', ')}`, '', '');
  }
  if (R.a) {
    const big = xs => xs.reduce((a, b) => (b.rss > a.rss ? b : a));
    const m = x => `${fmt(mb(x.rss))} (${fmt(mb(x.private))})`;
    push('g', 'RSS MB (private MB), worker process after the (a) rounds', m(big(R.a.pt.memAfter)), m(big(R.a.nr.memAfter)), '');
  }
  if (R.h) {
    for (const n of Object.keys(R.h)) {
      const h = R.h[n];
      push(
        'h',
        `ms from spawn to ${n} worker${n > 1 ? 's' : ''} registered: \`master --pool ${n}\` (master's own log) vs ${n} node-resque process${n > 1 ? 'es' : ''}`,
        `${fmt(h.pt)} (${fmt(h.reported)})`,
        fmt(h.nr),
        fmtRatio(h.pt / h.nr),
      );
    }
  }
  if (R.w) {
    push(
      'w',
      'jobs/s: 1 worker, no-op jobs, against a Redis with one replica: `--wait-replicas 1 --wait-timeout 100` (pyres-ts column) vs without (node-resque column: pyres-ts without)',
      `${fmt(R.w.wait.median)}${spread(R.w.wait.rates)}`,
      `${fmt(R.w.plain.median)}${spread(R.w.plain.rates)}`,
      `${fmtRatio(R.w.ratio)} [${fmtRatio(R.w.pairedRatio)}]`,
    );
  }
  return out;
}

function mdTable(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map(r => String(r[i]).length)));
  const line = r => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(header), `| ${w.map(x => '-'.repeat(x)).join(' | ')} |`, ...body.map(line)].join('\n');
}

function table(R, cfg) {
  return mdTable(['', 'scenario (median of rounds; (min–max))', 'pyres-ts', 'node-resque', 'pyres-ts / node-resque [per round]'], rows(R, cfg));
}

const pct = x => `${(x * 100).toFixed(0)}%`;

/** The "where we stand" list, one line per target. */
function standings(R, cfg) {
  const L = [];
  const verdict = ok => (ok ? '**met**' : '**missed**');
  if (R.a) {
    const r = R.a.pt.median / R.a.nr.median;
    L.push(
      `(a) ≥ 3× node-resque, one queue: ${fmtRatio(r)} (per-round median ${fmtRatio(R.a.pairedRatio)}) — ${verdict(r >= 3)}${
        r >= 3 ? '' : ` (${fmt(3 * R.a.nr.median)} jobs/s needed, ${pct(1 - r / 3)} short)`
      }`,
    );
  }
  if (R.b) {
    const r = R.b.pt.median / R.b.nr.median;
    L.push(
      `(b) ≥ 10× node-resque, ten queues: ${fmtRatio(r)} (per-round median ${fmtRatio(R.b.pairedRatio)}) — ${verdict(r >= 10)}${
        r >= 10 ? '' : ` (${fmt(10 * R.b.nr.median)} jobs/s needed, ${pct(1 - r / 10)} short)`
      }`,
    );
  }
  if (R.a && R.b) {
    const d = R.b.pt.median / R.a.pt.median - 1;
    L.push(`(b) within 15% of (a): ten queues run ${d >= 0 ? '+' : ''}${pct(d)} against one queue — ${verdict(d >= -0.15)}`);
  }
  for (const [k, label] of [
    ['a', 'one queue'],
    ['b', 'ten queues'],
  ]) {
    if (!R[k]) continue;
    const p = R[k].pt.perJob;
    L.push(
      `(e) ≤ 1.5 Redis round trips per job in steady state, ${label}: ${fmt(p.requestsPerJob)} requests/job (script calls/job ${fmt(p.scriptsPerJob)}; commands/job counted by Redis ${fmt(p.commandsPerJob)}) — ${verdict(p.requestsPerJob <= 1.5)}`,
    );
  }
  if (R.d) {
    const p50 = R.d.ptBlocking.p50;
    const st = R.d.ptBlocking.stalls;
    L.push(
      `(d) blocking pickup p50 < 2 ms: ${fmt(p50)} ms (p99 ${fmt(R.d.ptBlocking.p99)} ms) — ${verdict(p50 < 2)}${
        st
          ? `; ${st} of ${R.d.ptBlocking.n} pickups took over 1 s (max ${fmt(R.d.ptBlocking.max)} ms): a missed wake-up, picked up only by the 5 s fallback pass`
          : ''
      }`,
    );
    L.push(
      `(d) nonblocking pickup is bounded by the backoff (${cfg.nbBackoffS * 1000} ms): p50 ${fmt(R.d.ptNonblocking.p50)} ms, p99 ${fmt(R.d.ptNonblocking.p99)} ms — ${verdict(R.d.ptNonblocking.p99 <= cfg.nbBackoffS * 1000 * 1.2 + 5)}`,
    );
  }
  if (R.f) {
    const b = R.f.ptBlocking;
    const per5 = b.requestsPerS * 5;
    L.push(
      `(f) idle blocking worker ≤ 1 command per 5 s: ${fmt(per5)} requests per 5 s (${fmt(b.commandsPerS * 5)} commands per 5 s counted by Redis, which includes the ones run inside the reserve script) — ${verdict(per5 <= 1.05)}`,
    );
    const n = R.f.ptNbFast;
    const perStep = n.passesPerS * cfg.nbBackoffS;
    L.push(`(f) idle nonblocking worker ≤ 1 pass per backoff step (${cfg.nbBackoffS} s): ${fmt(perStep)} passes per step — ${verdict(perStep <= 1.05)}`);
  }
  if (R.f) {
    const worst = R.f.ptMaster.childMem.reduce((a, b) => (b.rss > a.rss ? b : a));
    const w = R.f.ptBlocking.mem;
    L.push(
      `(g) idle child < 60 MB RSS: ${fmt(mb(worst.rss))} MB (largest idle child of \`master --pool 2\`; ${fmt(mb(worst.private))} MB of it private, the rest Node's shared pages) — ${verdict(mb(worst.rss) < 60)}. ` +
        `A standalone \`pyres-ts worker\` (the CLI, with yargs loaded and default V8 heap settings) holds ${fmt(mb(w.rss))} MB`,
    );
  }
  return L;
}

function machineLines(m) {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores (as the OS reports them)`,
    `- Memory: ${m.memGiB.toFixed(1)} GiB`,
    `- OS: ${m.os}`,
    `- Node ${m.node}, redis-server ${m.redis}, node-resque ${nodeResqueVersion()}, ioredis ${ioredisVersion()}; pyres-ts ${m.pyresTs}`,
    `- Date: ${m.date}; load average before ${m.loadBefore.map(x => x.toFixed(2)).join(' ')}, after ${m.loadAfter.map(x => x.toFixed(2)).join(' ')} (the machine is shared; other work may have been running)`,
    `- Wall time of the bench: ${m.elapsedS.toFixed(0)} s`,
  ];
}

function nodeResqueVersion() {
  try {
    return require('node-resque/package.json').version;
  } catch {
    return '?';
  }
}
function ioredisVersion() {
  try {
    return require('ioredis/package.json').version;
  } catch {
    return '?';
  }
}

function detail(R) {
  const L = [];
  for (const [k, label] of [
    ['a', '(a) one queue'],
    ['b', '(b) ten queues'],
  ]) {
    if (!R[k]) continue;
    for (const sys of ['pt', 'nr']) {
      const p = R[k][sys].perJob;
      const name = sys === 'pt' ? 'pyres-ts' : 'node-resque';
      L.push(
        `- ${label}, ${name}: ${p.jobs} jobs timed; per job: ${Object.entries(p.breakdown)
          .map(([c, v]) => `${c} ${v}`)
          .join(', ')}`,
      );
    }
  }
  if (R.d && R.d.ptBlockingPerJob) {
    const p = R.d.ptBlockingPerJob;
    L.push(
      `- (d) pyres-ts blocking, ${p.jobs} jobs each pushed into an idle worker; per job: ${Object.entries(p.breakdown)
        .map(([c, v]) => `${c} ${v}`)
        .join(', ')}; ${fmt(p.requestsPerJob)} requests`,
    );
  }
  if (R.f) {
    for (const x of Object.values(R.f)) {
      const b = Object.entries(x.breakdown)
        .filter(([, v]) => v)
        .map(([c, v]) => `${c} ${v}`)
        .join(', ');
      L.push(`- idle ${x.what}: ${x.seconds.toFixed(1)} s window: ${b || 'no commands'}`);
    }
  }
  if (R.d) {
    for (const [k, x] of Object.entries(R.d)) {
      if (x.p50 === undefined) continue;
      L.push(`- latency ${k}: n=${x.n}, p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms, max ${fmt(x.max)} ms${k.startsWith('pt') ? `, ${x.stalls} over 1 s` : ''}`);
    }
  }
  if (R.w) {
    L.push(
      `- (w) --wait-replicas 1 --wait-timeout 100 with one replica: ${fmt(R.w.wait.median)} jobs/s against ${fmt(R.w.plain.median)} without = ${fmtRatio(R.w.ratio)} (per-round median ${fmtRatio(R.w.pairedRatio)}); no-op jobs, so the worst case`,
    );
  }
  if (R.h) {
    for (const [n, h] of Object.entries(R.h)) {
      L.push(
        `- start, pool ${n}: pyres-ts master ${h.ptAll.map(x => fmt(x)).join(', ')} ms (own log: ${h.reportedAll.map(x => fmt(x)).join(', ')}); node-resque ${n} process${n > 1 ? 'es' : ''} ${h.nrAll.map(x => fmt(x)).join(', ')} ms`,
      );
    }
  }
  return L;
}

function markdown(R, cfg, m, commandLine) {
  return `# Benchmarks

Produced by \`${commandLine}\` (\`bench/run.js\`); this file is overwritten on every run.
Medians over ${cfg.rounds} rounds${cfg.quick ? ' (--quick: short rounds; use the full run for figures to quote)' : ''}; (min–max) of the rounds in brackets.
Ratios are pyres-ts ÷ node-resque: above 1 is better for jobs/s, below 1 is better for latency,
commands, round trips, idle traffic, memory and start time. For jobs/s the ratio is that of the medians;
in square brackets, the median of the per-round ratios (both systems run back to back in every round, so
this one is less sensitive to other load on the machine).

${table(R, cfg)}

## Where we stand

${standings(R, cfg)
  .map(l => `- ${l}`)
  .join('\n')}

## Machine

${machineLines(m).join('\n')}

## Method

- **Processes.** pyres-ts runs as real processes through \`bin/pyres-ts\` (\`worker --queues … --jobs bench/jobs.js\`,
  \`master --queues q --pool N --jobs bench/jobs.js\`), with its defaults (blocking mode, log level \`info\`,
  so one log line per job, written to a file). node-resque ${nodeResqueVersion()} runs in
  \`bench/node-resque-worker.js\`: one \`Worker\` per process, the same \`bench/jobs.js\` functions. All against
  one throwaway \`redis-server\` on 127.0.0.1 (\`--save '' --appendonly no\`) started by the bench; the two systems use
  different key namespaces (\`resque\`, \`noderesque\`) so neither sees the other's keys.
- **Throughput (a, b, c).** Jobs (\`{"class":"Noop","args":[]}\`) are pre-filled with pipelined RPUSH into a
  staging list outside every queue key; the clock starts just before one \`RENAME\` moves them into the work
  queue and stops when the queue is empty and \`stat:processed\` has grown by N (polled every 5 ms). Nothing
  is subtracted. Worker start-up is not in the timed window (it is measured in (h)). Each system gets
  warm-up drains first (${cfg.warmJobs} jobs${cfg.warmSeconds > 0 ? `, then ~${cfg.warmSeconds} s worth` : ''}), which also size N so a round lasts ~${cfg.roundSeconds} s. Rounds alternate which system
  goes first. Between its rounds a node-resque runner ends its Worker (no traffic); an idle pyres-ts
  worker is blocked waiting for queue notifications (one reserve script call per 5 s).
  node-resque uses \`timeout: ${cfg.nrBusyTimeoutMs}\` ms (its sleep after an empty pass; it is also its ping
  interval), so it never sleeps long while work is queued. (b): both watch p10…p1 in that order with all work in p1.
  (c): \`pyres-ts master --pool N\` (N child processes) against N node-resque processes with one Worker each — the
  same shape (N processes, one job at a time each); node-resque's MultiWorker would put N workers on one
  event loop, which is a different thing.
- **Redis commands and round trips (e)**, from the timed rounds of (a) and (b): *commands/job* is the
  \`INFO commandstats\` delta over the timed drains, minus the bench's own commands (its RENAME, its
  polling GET/LLEN and one INFO), divided by the jobs. Redis counts commands run inside Lua scripts there too,
  so it is the server's work per job. *Round trips/job* is counted on the client side: the worker processes
  run with \`bench/lib/probe.js\` preloaded (\`NODE_OPTIONS=--require\`), which counts socket writes to the
  Redis port inside the timed windows. ioredis writes one request per command and one per pipeline or MULTI
  block, so this is the number of requests, i.e. round trips (an upper bound: two requests sent without
  waiting for the first reply count twice). An idle pyres-ts worker's reserve call every 5 s may fall
  into node-resque's windows (at most a few commands per round).
- **Pickup latency (d).** One job at a time is pushed (SADD queues + RPUSH, one pipeline) into an idle worker
  after a random gap; latency = the job's \`perform\` start minus the instant just before the push, both
  \`process.hrtime\` (CLOCK_MONOTONIC, shared by all processes on the host); the job writes its time to stdout.
  pyres-ts blocking: gaps 5–40 ms, ${cfg.latSamplesFast} samples; the same run counts the Redis traffic of each such isolated job
  (the (e) row "isolated jobs", commandstats and probe as above). \`--nonblocking-pop --backoff-min ${cfg.nbBackoffS} --backoff-max ${cfg.nbBackoffS}\`
  and node-resque \`timeout: ${cfg.nrSmallTimeoutMs}\`: gaps uniform over one poll period, ${cfg.latSamplesPoll} samples, so both are
  bounded by a ${cfg.nbBackoffS * 1000} ms poll. node-resque default \`timeout: 5000\`: gaps uniform over 0–5 s, ${cfg.nrDefaultSamplers} idle workers (one queue each) sampled
  in parallel, ${plural(cfg.nrDefaultSamplesEach, 'sample')} each, while (f) runs (seconds-long waits do not notice a little CPU contention, and (f) only
  counts commands on its own servers). Percentiles are nearest-rank; with few samples p99 is close to the maximum.
- **Idle traffic and memory (f, g).** Each idle setup gets its own redis-server, so they idle side by side and
  each server's \`INFO commandstats\` delta over ${cfg.idleWindowS} s (after ${cfg.idleSettleS} s of settling; the first INFO is
  subtracted) is that setup's traffic alone. *commands/s* counts commands run inside scripts, *requests/s*
  is what the processes wrote (probe as in (e)). A nonblocking "pass" is one reserve script call (pyres-ts)
  or one EVALSHA per queue (node-resque). The pyres-ts worker's 60 s heartbeat (TIME + HSET) may or may not fall
  in the window. Memory is taken at the end of the idle window: RSS as \`ps -o rss=\` reports it, and in brackets
  the private part (Private_Clean + Private_Dirty from /proc/<pid>/smaps_rollup): RSS includes Node's own code
  pages, which every Node process on the host shares, so private memory is what one more child really costs.
  The after-work figures are taken right after the (a) rounds.
- **Start (h).** From spawning the process(es) to \`SCARD <ns>:workers\` = N (polled every 5 ms), median of ${plural(cfg.startRounds, 'start')}
  (the ones made for (c) are among them; node-resque: ${plural(cfg.nrStartRounds, 'start')} of N processes, each one Worker; for (c)'s
  start, spawn to ready for commands plus its first start command to registered); in brackets the master's own log line "all children registered N ms after start",
  which starts its clock after Node and the CLI have loaded.
- **What is measured.** \`npm run bench\` builds first, so the figures are for the working tree as it was
  (the revision is under Machine). Nothing here passes or fails: the "where we stand" list only compares.

## Details

${detail(R).join('\n')}
`;
}

module.exports = { table, standings, markdown, rows };
