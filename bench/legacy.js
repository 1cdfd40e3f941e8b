#!/usr/bin/env node
'use strict';
// `npm run bench:legacy [-- --quick] [-- --only a,b,...] [-- --no-write]` (was `npm run bench`
// before issue 15's target bench, bench/run.js; kept for its idle-traffic, (d)/(e)/(f)/(g)/(w) rows).
//
// Runs pyres-ts and node-resque on the same scenarios, in the same run, against a throwaway
// redis-server, and prints a table of medians with pyres-ts/node-resque ratios; writes it to
// BENCHMARKS.md with the machine description. Figures only: it never passes or fails on time.
// See BENCHMARKS.md ("Method") for what each scenario measures and how.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setupRun } = require('./lib/runSetup');
const { redisServerVersion, startRedis } = require('./lib/redis');
const S = require('./lib/systems');
const SC = require('./lib/scenarios');
const report = require('./lib/report');

const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'w'];

function usage() {
  return [
    'usage: npm run bench:legacy [-- --quick] [-- --only a,b,c,d,e,f,g,h,w] [-- --rounds N] [-- --no-write]',
    '  --quick      3 rounds and short rounds; finishes in under a minute',
    '  --only LIST  run only these scenarios (e comes with a and b, g with f)',
    '  --rounds N   rounds per throughput scenario (default 5, --quick 3)',
    '  --no-write   print the table but leave BENCHMARKS.md alone (the default with --only; --write to override)',
  ].join('\n');
}

function parseArgs(argv) {
  const o = { quick: false, only: null, rounds: null, write: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick' || a === '-q') o.quick = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--write') o.write = true;
    else if (a === '--only') o.only = String(argv[++i] || '');
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a.startsWith('--rounds=')) o.rounds = Number(a.slice(9));
    else if (a === '--help' || a === '-h') {
      process.stdout.write(usage() + '\n');
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${JSON.stringify(a)}\n${usage()}\n`);
      process.exit(2);
    }
  }
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) {
    process.stderr.write('bench: --rounds must be a whole number of 1 or more\n');
    process.exit(2);
  }
  const only = o.only
    ? o.only
        .split(',')
        .map(s => s.trim().toLowerCase())
        .filter(Boolean)
    : ALL;
  const bad = only.filter(s => !ALL.includes(s));
  if (bad.length) {
    process.stderr.write(`bench: unknown scenario ${bad.join(',')} (known: ${ALL.join(',')})\n`);
    process.exit(2);
  }
  // A partial run leaves the full figures in BENCHMARKS.md alone unless told otherwise.
  // Never BENCHMARKS.md by default: that file belongs to bench/run.js now (--write to override).
  if (o.write === null) o.write = false;
  if (only.includes('e')) only.push('a', 'b');
  if (only.includes('g')) only.push('f');
  o.scenarios = new Set(only);
  return o;
}

function config(o) {
  const quick = o.quick;
  return {
    quick,
    rounds: o.rounds ?? (quick ? 3 : 5),
    // Throughput: a warm-up drain of warmJobs, then one sized to last warmSeconds; timed rounds
    // are sized from that rate to last roundSeconds (within minJobs..maxJobs).
    warmJobs: quick ? 200 : 300,
    warmSeconds: quick ? 0 : 0.5,
    roundSeconds: quick ? 0.3 : 1.5,
    minJobs: 200,
    maxJobs: 200000,
    pools: [1, 2, 4],
    // node-resque's `timeout` (sleep after an empty pass, also its ping interval) in the
    // throughput scenarios: small, as node-resque is tuned for busy queues.
    nrBusyTimeoutMs: 5,
    // (d): nonblocking pyres-ts backoff (s) and the node-resque timeout it is compared with.
    nbBackoffS: 0.1,
    nrSmallTimeoutMs: 100,
    latSamplesFast: quick ? 80 : 400,
    latSamplesPoll: quick ? 20 : 150,
    nrDefaultSamplers: quick ? 10 : 12,
    nrDefaultSamplesEach: quick ? 1 : 4,
    // (f)/(g)
    idleSettleS: quick ? 1.5 : 3,
    idleWindowS: quick ? 5 : 10,
    // (h)
    // (h): the master started by (c) counts as one start (--quick: the only one).
    startRounds: quick ? 1 : 5,
    nrStartRounds: quick ? 1 : 3,
  };
}

function machine() {
  let cpu = null;
  try {
    cpu = (/^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || null;
  } catch {
    /* not Linux */
  }
  return {
    cpu: cpu || (os.cpus()[0] && os.cpus()[0].model) || 'unknown',
    cores: os.cpus().length,
    memGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisServerVersion(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadBefore: os.loadavg(),
    pyresTs: pyresTsRevision(),
  };
}

/** `0.1.0 @ abc1234 (+ uncommitted changes in src/)`, as far as git can tell. */
function pyresTsRevision() {
  const { execFileSync } = require('node:child_process');
  let v = '?';
  try {
    v = require(path.join(S.ROOT, 'package.json')).version;
  } catch {
    /* keep ? */
  }
  try {
    const git = args => execFileSync('git', args, { cwd: S.ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const rev = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
    return `${v} @ ${rev}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return v;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cfg = config(o);
  const tmp = setupRun();

  const m = machine();
  if (!m.redis) throw new Error('redis-server is not installed (e.g. apt-get install -y redis-server)');
  const t0 = Date.now();
  const say = s => process.stderr.write(s + '\n');
  say(
    `bench: ${cfg.quick ? 'quick, ' : ''}${cfg.rounds} rounds; ${m.cpu}, ${m.cores} cores, node ${m.node}, redis ${m.redis}; load ${m.loadBefore.map(x => x.toFixed(2)).join(' ')}`,
  );
  const redis = await startRedis('redis-server (bench)');
  const ctx = { redis, cfg, say, tmp, startSamples: {} };
  const R = {};
  const step = async (key, title, fn) => {
    const ts = Date.now();
    say(`(${key}) ${title}`);
    R[key] = await fn();
    say(`    ${((Date.now() - ts) / 1000).toFixed(1)} s`);
  };
  try {
    const want = o.scenarios;
    if (want.has('a')) await step('a', 'no-op jobs, one worker, one queue', () => SC.scenarioA(ctx));
    if (want.has('b')) await step('b', 'ten queues p10…p1, all work in p1', () => SC.scenarioB(ctx));
    if (want.has('c')) await step('c', 'master --pool 1/2/4 vs node-resque 1/2/4 processes', () => SC.scenarioC(ctx));
    if (want.has('d')) await step('d', 'pickup latency of one job pushed into an idle worker', () => SC.scenarioD(ctx));
    if (want.has('f') && want.has('d')) {
      // node-resque's 5 s-timeout latency takes seconds per sample and is insensitive to a
      // little CPU contention; (f) counts commands on its own redis-servers: run them together.
      await step('f', 'idle workers: Redis commands per second and memory (one redis-server each); meanwhile (d) node-resque timeout 5000 ms', async () => {
        const [lat, fg] = await Promise.all([SC.nrDefaultLatency(ctx), SC.scenarioFG(ctx)]);
        R.d.nrDefault = lat;
        return fg;
      });
    } else if (want.has('f')) await step('f', 'idle workers: Redis commands per second and memory (one redis-server each)', () => SC.scenarioFG(ctx));
    else if (want.has('d')) R.d.nrDefault = await SC.nrDefaultLatency(ctx);
    if (want.has('h')) await step('h', 'start to all workers registered', () => SC.scenarioH(ctx));
    if (want.has('w')) await step('w', 'with a replica: --wait-replicas 1 --wait-timeout 100 vs without', () => SC.scenarioW(ctx));
  } finally {
    await redis.stop();
  }
  m.loadAfter = os.loadavg();
  m.elapsedS = (Date.now() - t0) / 1000;
  const commandLine = `npm run bench:legacy${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const table = report.table(R, cfg);
  process.stdout.write(
    '\n' +
      table +
      '\n\n' +
      report
        .standings(R, cfg)
        .map(l => `- ${l}`)
        .join('\n') +
      '\n',
  );
  if (o.write) {
    const file = path.join(S.ROOT, 'BENCHMARKS.md');
    fs.writeFileSync(file, report.markdown(R, cfg, m, commandLine));
    say(`\nbench: wrote ${path.relative(process.cwd(), file) || file} (${m.elapsedS.toFixed(0)} s)`);
  }
}

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
