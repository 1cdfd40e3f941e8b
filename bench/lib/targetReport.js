'use strict';
// The table, the per-target verdicts and BENCHMARKS.md of `npm run bench` (bench/run.js).
const { fmt } = require('./util');

function mdTable(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(3, ...all.map(r => String(r[i]).length)));
  const line = r => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(header), `| ${w.map(n => '-'.repeat(n)).join(' | ')} |`, ...body.map(line)].join('\n');
}

function build(results, ctx, m) {
  const body = [];
  const verdicts = [];
  for (const { entry, r, skipped } of results) {
    if (skipped) {
      body.push([entry.id, entry.title, skipped, '', '']);
      continue;
    }
    for (const row of entry.rows(r, ctx)) body.push([entry.id, row.what, row.pt, row.peer, row.ratio]);
    for (const v of entry.verdicts(r, ctx)) verdicts.push(`${v.target}: ${v.text}`);
  }
  for (const { entry, skipped } of results) {
    if (skipped && !entry.hook) verdicts.push(`${entry.title}: not measured, ${skipped}`);
  }
  const L = ctx.limit;
  const rounds = results.flatMap(({ r }) => (r ? Object.values(r).flatMap(x => (x && Array.isArray(x.seconds) ? x.seconds : [])) : []));
  const lim = x => `EVALSHA ${fmt(x.evalsha)}/s, LPOP ${fmt(x.lpop)}/s${x.stub ? `, the 5-command stub ${fmt(x.stub)}/s` : ''}`;
  const context = [
    `one-client limit (\`redis-benchmark -c 1\`, same run): before ${lim(L.before)}; after ${lim(L.after)}; rows use the mean, EVALSHA ${fmt(L.evalsha)}/s`,
    `load average before ${m.loadBefore.map(x => x.toFixed(2)).join(' ')}, after ${m.loadAfter.map(x => x.toFixed(2)).join(' ')} (${m.cores} cores, shared machine)`,
    m.nodeStart
      ? `a bare Node start (\`node -e 0\`, median of 7): ${fmt(m.nodeStart.ms)} ms${m.nodeStart.extraCa ? `; NODE_EXTRA_CA_CERTS is set here, and every Node process of every system parses it at its start: ${fmt(m.nodeStart.withoutCaMs)} ms without it` : ''}`
      : null,
    ctx.cfg.quick
      ? `QUICK run: ${ctx.cfg.rounds} rounds of ~${ctx.cfg.roundSeconds} s after a short warm-up, NOT the ≥ 4 s rounds the targets are defined with`
      : `${ctx.cfg.rounds} rounds of ≥ ${ctx.cfg.roundSeconds} s per throughput row after a warm-up of ~${ctx.cfg.warmSeconds} s`,
    rounds.length ? `timed rounds kept: ${rounds.length}, lasting ${fmt(Math.min(...rounds))}–${fmt(Math.max(...rounds))} s` : 'no timed rounds',
    `Ruby Resque: ${ctx.has.resqueGem ? 'the resque gem is present, but the bench has no row for it yet' : ctx.has.ruby ? 'not run: ruby is present, the resque gem is not installed' : 'not run: no ruby'}`,
  ].filter(Boolean);
  const table = mdTable(['', 'row (median of rounds; (min–max))', 'pyres-ts', 'peer', 'ratio pyres-ts ÷ peer, per round: median (min–max)'], body);
  return { table, verdicts, context };
}

function markdown(rep, ctx, m, commandLine) {
  const v = m.versions;
  return `# Benchmarks

Produced by \`${commandLine}\` (\`bench/run.js\`, rows from \`bench/lib/targets.js\`); this file is overwritten
by every run that writes it. Issue 15's targets; every figure below comes from this one run.${
    ctx.cfg.quick
      ? `\n\n**A quick run**: ${ctx.cfg.rounds} rounds of ~${ctx.cfg.roundSeconds} s, not the ≥ 4 s rounds the targets are defined with; \`npm run bench\` (no --quick) for the figures that count.`
      : ''
  }

${rep.table}

## Targets

${rep.verdicts.map(l => `- ${l}`).join('\n')}

## Conditions of this run

${rep.context.map(l => `- ${l}`).join('\n')}
- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memGiB.toFixed(1)} GiB; ${m.os}
- Node ${m.node}, redis-server ${m.redis}, node-resque ${v['node-resque']}, BullMQ ${v.bullmq}, ioredis ${v.ioredis}; pyres-ts ${m.pyresTs}
- Date ${m.date}; wall time ${m.elapsedS.toFixed(0)} s

## Method

- **One redis-server** on a free loopback port (\`--save '' --appendonly no\`), TCP, shared by every system;
  each system has its own namespace or queue, and only the system whose round it is makes traffic
  (node-resque and BullMQ runners are stopped between their rounds; an idle pyres-ts worker is blocked
  and sends ~1 command per 5 s).
- **Rounds.** Each row's systems are launched side by side and warmed up (a small drain, then one of
  ~${ctx.cfg.warmSeconds} s), then run ${ctx.cfg.rounds} rounds, the order alternating round by round. A round's batch is
  sized from the warm rate to last ≥ ${ctx.cfg.roundSeconds} s; a round that came out shorter is run again with more jobs
  (up to 3 tries, the last kept: see "timed rounds kept" above for the lengths). The ratio
  column is the median of the per-round ratios (both systems ran back to back in that round), with
  their min–max: less sensitive to the shared machine's load than the ratio of medians.
- **Timing.** Resque systems: jobs are pushed into \`<ns>:bench:staging\` (outside every queue key), then
  one RENAME moves them into the work queue; the clock runs from just before the RENAME to the poll
  (every 5 ms) that finds the queue empty and \`stat:processed\` grown by the batch. BullMQ: jobs are
  added (\`addBulk\`, \`removeOnComplete\`) while no worker runs; the clock runs from just before the
  runners are told to start to the poll that finds \`wait\` and \`active\` empty (BullMQ's figure thus
  includes its Worker's start, a few ms per ≥ ${ctx.cfg.roundSeconds} s round).
- **The one-client limit** is \`redis-benchmark -c 1 -n ${ctx.cfg.limitRequests} -q\` of \`EVALSHA\` of \`return 1\` and of
  \`LPOP\`, run before the first row and after the last; rows use the mean of the two. Also of
  \`EVALSHA\` of a stub script making the common step's five commands (MGET, INCRBY, INCRBY, LPOP
  of an empty list, SET; bench/run.js): each \`redis.call\` costs Redis 7.0 a few us of its own, so
  where the round trip is short (a fast host) a larger part of one slot's step is the five
  commands, not the trip; the stub's limit is what one connection could do with them and nothing
  else (no payload popped, no record built, no client work).
- **Commands/job**: \`INFO commandstats\` deltas over the timed rounds, minus the bench's own commands
  (RENAME, the polls' GET + LLEN, INFO), divided by the jobs; includes the commands a script runs.
- **Payload size** (the payload row): a payload crosses the socket once (the reserve step's reply; a
  success's finish step does not send it back), is decoded once (UTF-8, then the args' JSON.parse) and enters Redis'
  Lua once (the pop's reply). Redis' Lua hashes every byte of every string it creates (its
  \`lstring.c\` hashes with step 1), ~2 ns per byte: \`EVAL "redis.call('GET', KEYS[1])"\` of a
  100 B value takes ~2.6 us, of a 10 KB value ~21 us (INFO commandstats). A reserve that pops and
  records the job atomically in Lua cannot avoid that trip, so 10 KB costs ~20 us more per job in
  Redis alone, before the copies and the worker's decode.
- **Pickup latency**: one job pushed into an idle worker (pyres-ts: Resque's SADD + RPUSH; BullMQ:
  \`Queue.add\`), latency = the job's start (\`process.hrtime\`, CLOCK_MONOTONIC) minus the instant just
  before the push; gaps of 5–40 ms between samples.
- **Time to ready**: spawn to N workers in \`<ns>:workers\` (\`master --pool 4\`; 4 node-resque
  processes, each \`Worker.start()\`); in brackets the master's own log figure. On 2 cores the row is
  a sum of CPU: at the registration (\`/proc/<pid>/stat\`, without NODE_EXTRA_CA_CERTS) the master has
  used ~230 ms, its module check ~40 ms and each child ~200 ms (~1,100 ms in all, so >= ~550 ms of
  wall), 4 node-resque processes ~110 ms each. A child's \`require\` of the worker is ~75 ms of
  CPU, as \`require('node-resque')\` is (ioredis is most of both). Tried and not used: a V8 code cache
  (v8-compile-cache on Node 20: the same 80 ms for Node + the worker's modules), one bundled file (no
  faster), and a Node 20 user-land startup snapshot of the bundled worker (\`--build-snapshot\` fails on
  ioredis' net/tls bindings: "Unknown external reference"). Measured on 2 cores (medians of 7 starts,
  an experiment on dist/, not in the build): the module check, a process of its own competing with
  the 4 booting children, passes ~860 ms after the spawn, and the children's 'go' waits for it; with
  the check taken out the row is ~11 % shorter, with the liveness threads' boot (~117 ms of CPU
  each: a worker isolate ~54 ms, its own ioredis ~63 ms) deferred too, ~19 %: still ~2× the 4
  node-resque processes, as a master makes 6 Node processes (each parsing NODE_EXTRA_CA_CERTS,
  ~80 ms of CPU here) where node-resque makes 4.
- **Scheduler**: N items (Ruby's bytes, \`{"class","args","queue"}\`) RPUSHed to one \`delayed:<ts>\` a few
  seconds in the past, then timed: pyres-ts \`Scheduler.pass()\` (dist/, one Lua step per batch) vs
  node-resque 9 \`Scheduler.poll()\` (per item), rounds alternating per system, the queue length checked
  after each. --quick moves ${ctx.cfg.schedulerItems.toLocaleString('en-US')} items (the row says so), a full run 100,000.
- **Enqueue and wait**: sequential round trips after 20 warm-up ones, gaps of 5–40 ms: pyres-ts
  \`Client.enqueueAndWait\` of a status job returning its option (bench/jobs-status.js) into one idle
  \`pyres-ts worker\`; BullMQ \`Queue.add\` + \`job.waitUntilFinished(QueueEvents)\` into one idle Worker
  (concurrency 1); every result checked.
- **Delayed pickup**: items due at consecutive whole seconds (\`enqueueAt\`), moved by
  \`pyres-ts scheduler --interval 1\`, worked by an idle worker; job start (wall clock) minus the due second.
- **Rows "not available in this build"** need a feature this build lacks (\`--concurrency\`, detected
  with \`pyres-ts worker --help\`; the scheduler; \`Client#enqueueAndWait\`). Hooks are registry
  entries without a \`run\` yet.
- **Processes** each lead their own process group and are listed with a reaper process that SIGKILLs
  every group still listed when the bench exits in any way (bench/lib/procs.js, reaper.js).
`;
}

module.exports = { build, markdown };
