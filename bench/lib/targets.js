'use strict';
// The scenario registry of `npm run bench`: one entry per row group, most of them one target of
// issue 15. An entry:
//   { id, title, needs?: ['concurrency' | 'scheduler' | 'enqueueAndWait'], run(ctx) -> result,
//     rows(result, ctx) -> [{ what, pt, peer, ratio }], verdicts(result, ctx) -> [{ target, met, text }] }
// An entry whose `needs` this build lacks is not run: its rows say "not available in this build";
// an entry with `hook: true` and no `run` is listed as "no row written yet". To add a row, add an
// entry here; run.js and the report pick it up. The scheduler rows' code is in
// bench/scenarios-scheduler.js and lib/delayedPickup.js, enqueue-and-wait's in lib/statusWait.js.
const path = require('node:path');
const { memKb } = require('./procs');
const S = require('./systems');
const E = require('./engine');
const SC = require('./scenarios');
const { fmt, fmtRatio, hrNs, median, percentile, sleep, uniform } = require('./util');

const NOOP = '{"class":"Noop","args":[]}';
const pct = x => `${(x * 100).toFixed(0)} %`;
const range = xs => (xs && xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '');
const rate = r => `${fmt(r.median)}${range(r.rates)}`;
const paired = p => `${fmtRatio(p.median)} (${fmtRatio(p.min)}–${fmtRatio(p.max)})`;
const rssMb = r => Math.max(...r.mem.map(m => m.rss)) / 1024;
const queuesN = n => Array.from({ length: n }, (_, i) => `p${n - i}`);

/** `met`, or how far off: a value that should be ≥ want (higher is better) or ≤ want. */
function verdict(target, value, want, { higher = true, show = fmt, unit = '' } = {}) {
  if (!Number.isFinite(value)) return { target, met: false, text: 'no figure (n/a)' };
  const met = higher ? value >= want : value <= want;
  const off = higher ? (want - value) / want : (value - want) / want;
  return {
    target,
    met,
    text: met ? `${show(value)}${unit} — **met**` : `${show(value)}${unit} — **missed** by ${(off * 100).toFixed(0)} % (${show(want)}${unit} needed)`,
  };
}

const ptOne = (ctx, key, label, ns, over = {}) =>
  E.ptSystem(ctx, { key, label, ns, queues: ['q'], workQueue: 'q', payload: NOOP, countCommands: true, ...over });

const REGISTRY = [
  {
    id: 'one-slot',
    title: 'one slot, no-op jobs, one queue: pyres-ts worker vs node-resque Worker vs BullMQ c=1',
    async run(ctx) {
      return E.throughput(ctx, [
        ptOne(ctx, 'pt', 'worker', 'resque'),
        E.nrSystem(ctx, { key: 'nr', label: 'Worker (timeout 5 ms)', ns: 'noderesque', queues: ['q'], workQueue: 'q', payload: NOOP, timeoutMs: 5 }),
        E.bullSystem(ctx, { key: 'bull', label: 'c=1', queue: 'one', concurrency: 1 }),
      ]);
    },
    rows: (r, ctx) => [
      { what: 'jobs/s: pyres-ts worker, 1 queue', pt: rate(r.pt), peer: '', ratio: '' },
      { what: `… ÷ the one-client EVALSHA limit (${fmt(ctx.limit.evalsha)}/s)`, pt: pct(r.pt.median / ctx.limit.evalsha), peer: '', ratio: '' },
      ...(ctx.limit.stub
        ? [
            {
              what: `… ÷ the one-client limit of a stub script making the step's 5 commands (${fmt(ctx.limit.stub)}/s)`,
              pt: pct(r.pt.median / ctx.limit.stub),
              peer: '',
              ratio: '',
            },
          ]
        : []),
      { what: 'jobs/s: node-resque Worker (timeout 5 ms)', pt: '', peer: rate(r.nr), ratio: paired(r.paired('pt', 'nr')) },
      { what: 'jobs/s: BullMQ Worker, concurrency 1', pt: '', peer: rate(r.bull), ratio: paired(r.paired('pt', 'bull')) },
      { what: 'Redis commands/job, pyres-ts, 1 queue (INFO commandstats, incl. inside the script)', pt: fmt(r.pt.commandsPerJob), peer: '', ratio: '' },
    ],
    verdicts: (r, ctx) => [
      verdict('one slot, no-op, one queue ≥ 60 % of the one-client EVALSHA limit', r.pt.median / ctx.limit.evalsha, 0.6, { show: pct }),
      verdict('one slot, no-op, one queue ≥ 3× node-resque (median of per-round ratios)', r.paired('pt', 'nr').median, 3, { show: fmtRatio }),
    ],
  },
  {
    id: 'queues',
    title: 'one slot, no-op: 10 and 100 queues (all work in the last) vs 1 queue, pyres-ts',
    async run(ctx) {
      return E.throughput(ctx, [
        ptOne(ctx, 'q1', '1 queue', 'pq1'),
        ptOne(ctx, 'q10', '10 queues', 'pq10', { queues: queuesN(10), workQueue: 'p1' }),
        ptOne(ctx, 'q100', '100 queues', 'pq100', { queues: queuesN(100), workQueue: 'p1' }),
      ]);
    },
    rows: r => [
      { what: 'jobs/s: 1 queue', pt: rate(r.q1), peer: '', ratio: '' },
      { what: 'jobs/s: 10 queues p10…p1, work in p1 (÷ 1 queue, per round)', pt: rate(r.q10), peer: '', ratio: paired(r.paired('q10', 'q1')) },
      { what: 'jobs/s: 100 queues p100…p1, work in p1 (÷ 1 queue, per round)', pt: rate(r.q100), peer: '', ratio: paired(r.paired('q100', 'q1')) },
      { what: 'Redis commands/job: 1 / 10 / 100 queues', pt: [r.q1, r.q10, r.q100].map(x => fmt(x.commandsPerJob)).join(' / '), peer: '', ratio: '' },
    ],
    verdicts: r => [
      verdict('ten queues within 10 % of one queue', r.paired('q10', 'q1').median, 0.9, { show: fmtRatio }),
      verdict('100 queues within 25 % of one queue', r.paired('q100', 'q1').median, 0.75, { show: fmtRatio }),
    ],
  },
  {
    id: 'payload',
    title: 'one slot, no-op, one queue: 10 KB payloads vs 100 B, pyres-ts',
    async run(ctx) {
      return E.throughput(ctx, [
        ptOne(ctx, 'small', '100 B payloads', 'p100b', { payload: E.payloadOf('Noop', 100) }),
        ptOne(ctx, 'big', '10 KB payloads', 'p10kb', { payload: E.payloadOf('Noop', 10240) }),
      ]);
    },
    rows: r => [
      { what: 'jobs/s: 100 B payloads', pt: rate(r.small), peer: '', ratio: '' },
      { what: 'jobs/s: 10 KB payloads (÷ 100 B, per round)', pt: rate(r.big), peer: '', ratio: paired(r.paired('big', 'small')) },
    ],
    verdicts: r => [verdict('10 KB payloads within 15 % of 100 B', r.paired('big', 'small').median, 0.85, { show: fmtRatio })],
  },
  {
    id: 'unix-socket',
    title: 'one slot, no-op, one queue: pyres-ts over a Unix socket vs TCP loopback, 100 B and 10 KB payloads',
    async run(ctx) {
      const url = `redis+unix://${ctx.redis.socket}`;
      const small = E.payloadOf('Noop', 100);
      const big = E.payloadOf('Noop', 10240);
      return E.throughput(ctx, [
        ptOne(ctx, 'tcp', 'TCP, 100 B', 'ut100', { payload: small }),
        ptOne(ctx, 'unix', 'Unix socket, 100 B', 'uu100', { payload: small, url }),
        ptOne(ctx, 'tcpBig', 'TCP, 10 KB', 'ut10k', { payload: big }),
        ptOne(ctx, 'unixBig', 'Unix socket, 10 KB', 'uu10k', { payload: big, url }),
      ]);
    },
    rows: (r, ctx) => [
      { what: 'jobs/s, 100 B: TCP', pt: rate(r.tcp), peer: '', ratio: '' },
      { what: 'jobs/s, 100 B: Unix socket (÷ TCP, per round)', pt: rate(r.unix), peer: '', ratio: paired(r.paired('unix', 'tcp')) },
      {
        what: `… Unix socket ÷ the one-client EVALSHA limit (TCP, ${fmt(ctx.limit.evalsha)}/s)`,
        pt: pct(r.unix.median / ctx.limit.evalsha),
        peer: '',
        ratio: '',
      },
      { what: 'jobs/s, 10 KB: TCP', pt: rate(r.tcpBig), peer: '', ratio: '' },
      { what: 'jobs/s, 10 KB: Unix socket (÷ TCP, per round)', pt: rate(r.unixBig), peer: '', ratio: paired(r.paired('unixBig', 'tcpBig')) },
      { what: 'jobs/s, Unix socket: 10 KB ÷ 100 B, per round', pt: '', peer: '', ratio: paired(r.paired('unixBig', 'unix')) },
    ],
    verdicts: () => [],
  },
  {
    id: 'async-c50',
    needs: ['concurrency'],
    title: 'one process, 20 ms async jobs: pyres-ts --concurrency 50 vs BullMQ c=50 vs node-resque MultiWorker (1..50)',
    async run(ctx) {
      const payload = E.payloadOf('Sleep20', 0);
      return E.throughput(ctx, [
        ptOne(ctx, 'pt', 'worker --concurrency 50', 'resque', { payload, extra: ['--concurrency', '50'], registered: 50 }),
        E.bullSystem(ctx, { key: 'bull', label: 'c=50', queue: 'async', concurrency: 50, jobName: 'Sleep20' }),
        E.nrSystem(ctx, { key: 'nr', label: 'MultiWorker 1..50', ns: 'noderesque', queues: ['q'], workQueue: 'q', payload, multi: 50, timeoutMs: 5 }),
      ]);
    },
    rows: r => [
      { what: 'jobs/s, 20 ms jobs: pyres-ts --concurrency 50 (ideal 2,500)', pt: rate(r.pt), peer: '', ratio: '' },
      { what: 'jobs/s, 20 ms jobs: BullMQ concurrency 50', pt: '', peer: rate(r.bull), ratio: paired(r.paired('pt', 'bull')) },
      { what: 'jobs/s, 20 ms jobs: node-resque MultiWorker 1..50', pt: '', peer: rate(r.nr), ratio: paired(r.paired('pt', 'nr')) },
      {
        what: 'RSS MB after each round, median (min–max): pyres-ts / BullMQ / node-resque',
        pt: `${fmt(rssMb(r.pt))}${r.pt.memRange ? ` (${fmt(r.pt.memRange[0])}–${fmt(r.pt.memRange[1])})` : ''}`,
        peer: `${fmt(rssMb(r.bull))} / ${fmt(rssMb(r.nr))}`,
        ratio: '',
      },
    ],
    verdicts: r => [
      verdict('--concurrency 50, 20 ms jobs ≥ 2,200 jobs/s', r.pt.median, 2200, { unit: ' jobs/s' }),
      verdict('--concurrency 50, 20 ms jobs ahead of BullMQ c=50 (per-round ratio)', r.paired('pt', 'bull').median, 1, { show: fmtRatio }),
      verdict('--concurrency 50 under 100 MB RSS', rssMb(r.pt), 100, { higher: false, unit: ' MB' }),
    ],
  },
  {
    id: 'noop-high',
    needs: ['concurrency'],
    title: 'one process, high concurrency, no-op: pyres-ts --concurrency 50 vs BullMQ c=50',
    async run(ctx) {
      return E.throughput(ctx, [
        ptOne(ctx, 'pt', 'worker --concurrency 50', 'resque', { extra: ['--concurrency', '50'], registered: 50 }),
        E.bullSystem(ctx, { key: 'bull', label: 'c=50', queue: 'high', concurrency: 50 }),
      ]);
    },
    rows: r => [
      { what: 'jobs/s, no-op: pyres-ts --concurrency 50', pt: rate(r.pt), peer: '', ratio: '' },
      { what: 'jobs/s, no-op: BullMQ concurrency 50', pt: '', peer: rate(r.bull), ratio: paired(r.paired('pt', 'bull')) },
    ],
    verdicts: r => [
      verdict('one process, high concurrency, no-op ≥ 12,000 jobs/s', r.pt.median, 12000, { unit: ' jobs/s' }),
      verdict('one process, high concurrency, no-op ahead of BullMQ c=50', r.paired('pt', 'bull').median, 1, { show: fmtRatio }),
    ],
  },
  {
    id: 'two-procs',
    title: 'two processes, no-op: two pyres-ts workers (--concurrency 50 where the build has it) vs two BullMQ c=50',
    async run(ctx) {
      const c = ctx.has.concurrency;
      const r = await E.throughput(ctx, [
        ptOne(ctx, 'pt', c ? '2 workers --concurrency 50' : '2 workers (one slot each)', 'resque', {
          count: 2,
          ...(c ? { extra: ['--concurrency', '50'], registered: 100 } : {}),
        }),
        E.bullSystem(ctx, { key: 'bull', label: '2 × c=50', queue: 'two', concurrency: 50, count: 2 }),
      ]);
      r.slots = c ? 50 : 1;
      return r;
    },
    rows: r => [
      {
        what: `jobs/s, no-op: 2 pyres-ts worker processes${r.slots > 1 ? ', --concurrency 50 each' : ', one slot each (no --concurrency in this build)'}`,
        pt: rate(r.pt),
        peer: '',
        ratio: '',
      },
      { what: 'jobs/s, no-op: 2 BullMQ processes, concurrency 50 each', pt: '', peer: rate(r.bull), ratio: paired(r.paired('pt', 'bull')) },
    ],
    verdicts: r => [
      verdict(
        `two processes ahead of two BullMQ processes${r.slots > 1 ? '' : ' (measured with one slot each: --concurrency is not in this build)'}`,
        r.paired('pt', 'bull').median,
        1,
        { show: fmtRatio },
      ),
    ],
  },
  {
    id: 'start',
    title: '`master --pool 4` to 4 registered workers vs 4 node-resque processes (spawn to registered)',
    async run(ctx) {
      const cfg = { ...ctx.cfg, pools: [4] };
      const out = await SC.scenarioH({ ...ctx, cfg, startSamples: {} });
      return out[4];
    },
    rows: r => [
      {
        what: 'ms, spawn to 4 workers registered: `master --pool 4` (master’s own log) vs 4 node-resque processes',
        pt: `${fmt(r.pt)}${range(r.ptAll)} (${fmt(r.reported)})`,
        peer: `${fmt(r.nr)}${range(r.nrAll)}`,
        ratio: fmtRatio(r.pt / r.nr),
      },
    ],
    verdicts: r => [verdict('`master --pool 4` to 4 registered no slower than 4 node-resque processes', r.pt, r.nr, { higher: false, unit: ' ms' })],
  },
  {
    id: 'pickup',
    title: 'pickup latency of one job pushed into an idle worker: pyres-ts (blocking, default) vs BullMQ c=1',
    async run(ctx) {
      const { redis, cfg } = ctx;
      const c = redis.client;
      await c.flushall();
      const out = { pt: [], bull: [] };
      // Both workers idle at once; the samples alternate between them in a random order, so a
      // change in the machine's load falls on both alike (the load drifts over a run).
      const { Queue } = require('bullmq');
      const q = new Queue('lat', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
      const procs = [];
      try {
        const pt = S.startPtWorker(redis, { queues: ['lat'], stdout: 'pipe', label: 'pyres-ts worker (pickup)' });
        procs.push(pt);
        const bull = await S.startBull(redis, { queue: 'lat', concurrency: 1, autostart: true, stdout: 'pipe', label: 'BullMQ worker c=1 (pickup)' });
        procs.push(bull);
        const ptReader = S.stampReader(pt);
        const bullReader = S.stampReader(bull);
        await S.waitRegistered(redis, S.PT_NS, 1, [pt]);
        await q.waitUntilReady();
        await sleep(500);
        const push = {
          pt: async () => {
            const t0 = hrNs();
            await c.pipeline().sadd('resque:queues', 'lat').rpush('resque:queue:lat', `{"class":"Stamp","args":["${t0}"]}`).exec();
            return (await ptReader.wait(t0)) / 1e6;
          },
          bull: async () => {
            const t0 = hrNs();
            await q.add('Stamp', { args: [String(t0)] }, { removeOnComplete: true, removeOnFail: true });
            return (await bullReader.wait(t0)) / 1e6;
          },
        };
        while (out.pt.length < cfg.latSamples) {
          for (const key of Math.random() < 0.5 ? ['pt', 'bull'] : ['bull', 'pt']) {
            await sleep(uniform(5, 40));
            out[key].push(await push[key]());
          }
        }
      } finally {
        await S.stopAll(procs);
        await q.close();
      }
      ctx.say(`  p50 pyres-ts ${fmt(percentile(out.pt, 50))} ms, BullMQ ${fmt(percentile(out.bull, 50))} ms (n=${out.pt.length} each, interleaved)`);
      return out;
    },
    rows: r => [
      {
        what: `pickup ms p50 / p99 (n=${r.pt.length} each, interleaved): pyres-ts blocking worker vs BullMQ c=1`,
        pt: `${fmt(percentile(r.pt, 50))} / ${fmt(percentile(r.pt, 99))}`,
        peer: `${fmt(percentile(r.bull, 50))} / ${fmt(percentile(r.bull, 99))}`,
        ratio: `${fmtRatio(percentile(r.pt, 50) / percentile(r.bull, 50))} (p50)`,
      },
    ],
    verdicts: r => [verdict('pickup latency p50 ≤ BullMQ’s', percentile(r.pt, 50), percentile(r.bull, 50), { higher: false, unit: ' ms' })],
  },
  {
    id: 'slot-memory',
    needs: ['concurrency'],
    title: 'memory per slot: idle `worker --concurrency 50` vs `--concurrency 1` (RSS)',
    async run(ctx) {
      const { redis } = ctx;
      await redis.client.flushall();
      const one = S.startPtWorker(redis, { queues: ['q'], extra: ['--namespace', 'm1', '--concurrency', '1'], label: 'pyres-ts worker c=1 (memory)' });
      const many = S.startPtWorker(redis, { queues: ['q'], extra: ['--namespace', 'm50', '--concurrency', '50'], label: 'pyres-ts worker c=50 (memory)' });
      try {
        await S.waitRegistered(redis, 'm1', 1, [one]);
        await S.waitRegistered(redis, 'm50', 50, [many]);
        await sleep(1000);
        const m = memKb([one.pid, many.pid]);
        return { one: m[one.pid].rss / 1024, many: m[many.pid].rss / 1024 };
      } finally {
        await S.stopAll([one, many]);
      }
    },
    rows: r => [
      { what: 'RSS MB idle: --concurrency 1 / --concurrency 50', pt: `${fmt(r.one)} / ${fmt(r.many)}`, peer: '', ratio: '' },
      { what: 'MB per extra slot ((c=50 − c=1) ÷ 49)', pt: fmt((r.many - r.one) / 49), peer: '', ratio: '' },
    ],
    verdicts: () => [],
  },
  {
    id: 'scheduler',
    needs: ['scheduler'],
    title: 'scheduler: N delayed items due at one second moved to their queue, pyres-ts Scheduler vs node-resque 9 Scheduler',
    async run(ctx) {
      const { scenarioScheduler } = require('../scenarios-scheduler');
      // --quick: fewer items (the row says so); the figure that counts is 100,000 (issue 11).
      const items = ctx.cfg.schedulerItems;
      const r = await scenarioScheduler({ redis: ctx.redis, cfg: { items, rounds: ctx.cfg.schedulerRounds } });
      ctx.say(`  ${fmt(items)} items: pyres-ts ${fmt(r.pyresTs.median)} ms, node-resque ${fmt(r.nodeResque.median)} ms (median of ${r.pyresTs.ms.length})`);
      return r;
    },
    rows: r => {
      const few = r.items < 100000 ? ` — QUICK: ${fmt(r.items)} items, not the 100,000 of issue 11` : '';
      const ms = x => `${fmt(x.median)} ms${range(x.ms)}`;
      return [
        {
          what: `ms to move ${fmt(r.items)} items due at one second (batch ${fmt(r.batchSize)}): pyres-ts Scheduler.pass() vs node-resque Scheduler.poll()${few}`,
          pt: ms(r.pyresTs),
          peer: ms(r.nodeResque),
          ratio: `${fmtRatio(r.pyresTs.median / r.nodeResque.median)} (time, median)`,
        },
        {
          what: 'items/s moved: pyres-ts vs node-resque (÷ node-resque)',
          pt: fmt(r.pyresTs.perSec),
          peer: fmt(r.nodeResque.perSec),
          ratio: fmtRatio(r.pyresTs.perSec / r.nodeResque.perSec),
        },
      ];
    },
    verdicts: r =>
      r.items >= 100000
        ? [
            verdict('issue 11: 100,000 items due at one second moved within a few seconds (≤ 5 s taken as the bar)', r.pyresTs.median / 1000, 5, {
              higher: false,
              unit: ' s',
            }),
          ]
        : [],
  },
  {
    id: 'enqueue-and-wait',
    needs: ['enqueueAndWait'],
    title: 'enqueueAndWait round trip (enqueue to result) into one idle pyres-ts worker vs BullMQ add + waitUntilFinished into an idle Worker c=1',
    async run(ctx) {
      const { scenarioEnqueueAndWait } = require('./statusWait');
      const r = await scenarioEnqueueAndWait({ redis: ctx.redis, n: ctx.cfg.latSamples });
      ctx.say(`  p50 pyres-ts ${fmt(percentile(r.pt, 50))} ms, BullMQ ${fmt(percentile(r.bull, 50))} ms (n=${r.pt.length} each)`);
      return r;
    },
    rows: r => [
      {
        what: `round trip ms p50 / p99 (n=${r.pt.length} each): Client.enqueueAndWait (status job) vs BullMQ Queue.add + job.waitUntilFinished`,
        pt: `${fmt(percentile(r.pt, 50))} / ${fmt(percentile(r.pt, 99))}`,
        peer: `${fmt(percentile(r.bull, 50))} / ${fmt(percentile(r.bull, 99))}`,
        ratio: `${fmtRatio(percentile(r.pt, 50) / percentile(r.bull, 50))} (p50)`,
      },
    ],
    verdicts: () => [],
  },
  {
    id: 'delayed-pickup',
    needs: ['scheduler'],
    title: 'delayed-job pickup: enqueueAt(second T) → `pyres-ts scheduler --interval 1` → idle worker, job start minus T',
    async run(ctx) {
      const { scenarioDelayedPickup } = require('./delayedPickup');
      const r = await scenarioDelayedPickup({ redis: ctx.redis, tmp: ctx.tmp, n: ctx.cfg.delayedSamples });
      ctx.say(`  p50 ${fmt(percentile(r.ms, 50))} ms (n=${r.ms.length})`);
      return r;
    },
    rows: r => [
      {
        what: `ms from the due second to the job's start, p50 / p99 / max (n=${r.ms.length}; one scheduler, --interval ${r.interval} s: its pass phase against the second, 0–1 s, fixed per run, plus move and pickup); no peer run`,
        pt: `${fmt(percentile(r.ms, 50))} / ${fmt(percentile(r.ms, 99))} / ${fmt(Math.max(...r.ms))}`,
        peer: '',
        ratio: '',
      },
    ],
    verdicts: () => [],
  },
];

/** What this build has: `--concurrency`, a `scheduler` command, `Client#enqueueAndWait`; Ruby Resque. */
function detect() {
  const { execFileSync } = require('node:child_process');
  const ok = (cmd, args) => {
    try {
      execFileSync(cmd, args, { cwd: S.ROOT, stdio: 'ignore', timeout: 20000 });
      return true;
    } catch {
      return false;
    }
  };
  // `pyres-ts <unknown> --help` prints the general help and exits 0: read the command list.
  const listsCommand = name => {
    try {
      const out = execFileSync(process.execPath, [S.BIN, '--help'], { cwd: S.ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
      return new RegExp(`^\\s*pyres-ts ${name}\\b`, 'm').test(out);
    } catch {
      return false;
    }
  };
  let enqueueAndWait = false;
  try {
    const lib = require(path.join(S.ROOT, 'dist', 'index.js'));
    enqueueAndWait = typeof (lib.Client && lib.Client.prototype.enqueueAndWait) === 'function';
  } catch {
    /* not built */
  }
  const ruby = ok('ruby', ['--version']);
  return {
    concurrency: S.ptHasFlag('--concurrency'),
    scheduler: listsCommand('scheduler'),
    enqueueAndWait,
    ruby,
    resqueGem: ruby && ok('ruby', ['-e', 'require "resque"']),
  };
}

/** Median of a list of one-client limits. */
const limitOf = xs => median(xs);

module.exports = { REGISTRY, detect, verdict, limitOf };
