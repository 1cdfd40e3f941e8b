#!/usr/bin/env node
'use strict';
// `npm run bench [-- --quick] [-- --only id,id] [-- --rounds N] [-- --no-write]`
//
// Issue 15's targets, measured side by side in one run against a throwaway redis-server:
// pyres-ts, node-resque (Worker, MultiWorker) and BullMQ (concurrency 1 and 50), in rounds that
// alternate between the systems (paired per-round ratios), with the one-client limit
// (`redis-benchmark -c 1`) and the load average measured in the same run. Writes BENCHMARKS.md
// (unless --only, --quick or --no-write; --write forces it), which says per target: met, or missed
// by how much. Figures only: it never passes or fails on time. Rows are entries of
// bench/lib/targets.js; `--only scheduler,enqueue-and-wait` runs just those entries (ids: --help)
// and prints the table to stdout without touching BENCHMARKS.md. Besides issue 15's rows: the
// scheduler (100,000 items due at one second, pyres-ts vs node-resque 9; --quick 20,000 and says
// so), enqueue-and-wait (round trip p50/p99 vs BullMQ waitUntilFinished) and delayed-pickup.
// The older scenarios (idle traffic, --wait-replicas, ...) are `npm run bench:legacy`.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const procs = require('./lib/procs');
const { setupRun } = require('./lib/runSetup');
const { redisServerVersion, startRedis } = require('./lib/redis');
const S = require('./lib/systems');
const T = require('./lib/targets');
const report = require('./lib/targetReport');

function usage() {
  return [
    'usage: npm run bench [-- --quick] [-- --only ID,ID] [-- --rounds N] [-- --no-write]',
    `  --quick      3 rounds of ~1 s (not the >= 4 s the targets are defined with), fewer samples`,
    `  --only LIST  run only these entries: ${T.REGISTRY.map(e => e.id).join(', ')}`,
    '  --rounds N   rounds per throughput row (default 5, --quick 3)',
    '  --no-write   print, but leave BENCHMARKS.md alone (the default with --only or --quick; --write to override)',
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
      process.stdout.write(`${usage()}\n`);
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
  const ids = T.REGISTRY.map(e => e.id);
  const only = o.only
    ? o.only
        .split(',')
        .map(s => s.trim())
        .filter(Boolean)
    : ids;
  const bad = only.filter(s => !ids.includes(s));
  if (bad.length) {
    process.stderr.write(`bench: unknown entry ${bad.join(',')} (known: ${ids.join(', ')})\n`);
    process.exit(2);
  }
  if (o.write === null) o.write = !o.only && !o.quick;
  o.entries = new Set(only);
  return o;
}

function config(o) {
  const quick = o.quick;
  return {
    quick,
    rounds: o.rounds ?? (quick ? 3 : 5),
    // Warm-up: a drain of warmJobs, then one sized to last warmSeconds; timed rounds are sized
    // from the warm rate to last at least roundSeconds (a shorter one grows the next batches).
    warmJobs: quick ? 300 : 500,
    warmSeconds: quick ? 0.5 : 2,
    roundSeconds: quick ? 1 : 4,
    minJobs: 200,
    maxJobs: 400000,
    latSamples: quick ? 40 : 200,
    // the scheduler row (scenarios-scheduler.js): items due at one second, rounds per system
    schedulerItems: quick ? 20000 : 100000,
    schedulerRounds: 3,
    // the delayed-pickup row: one item due per second, so about this many seconds
    delayedSamples: quick ? 8 : 30,
    // the time-to-ready row (scenarios.js scenarioH)
    startRounds: quick ? 2 : 5,
    nrStartRounds: quick ? 2 : 5,
    // redis-benchmark -n, per command
    limitRequests: quick ? 30000 : 100000,
  };
}

/**
 * The common finish-and-reserve step's five commands in a stub script (a success's two INCRBYs,
 * the MGET of the counter and the pause flag, an LPOP, a SET), on keys of their own; the LPOP
 * finds its list empty, so this is a floor: no payload, no record built.
 */
const FIVE_CALL_STUB = [
  "local r = redis.call('MGET', KEYS[1], KEYS[2])",
  "redis.call('INCRBY', KEYS[3], '1')",
  "redis.call('INCRBY', KEYS[1], '1')",
  "local x = redis.call('LPOP', KEYS[4])",
  "redis.call('SET', KEYS[5], 'x')",
  "return {'job', 1, 'q', x or '', ''}",
].join('\n');
const STUB_KEYS = ['bench:stub:count', 'bench:stub:pause', 'bench:stub:processed', 'bench:stub:queue', 'bench:stub:worker'];

/**
 * `redis-benchmark -c 1 -n N -q` of EVALSHA of `return 1`, of LPOP and of EVALSHA of the
 * five-command stub: requests/s each.
 */
async function oneClientLimit(redis, n) {
  const sha = await redis.client.script('LOAD', 'return 1');
  const stub = await redis.client.script('LOAD', FIVE_CALL_STUB);
  const run = args =>
    new Promise((resolve, reject) => {
      const p = procs.spawnTracked(
        'redis-benchmark',
        ['-h', '127.0.0.1', '-p', String(redis.port), '-c', '1', '-n', String(n), '-q', ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] },
        'redis-benchmark',
      );
      let out = '';
      p.stdout.on('data', d => (out += d));
      p.stderr.on('data', d => (out += d));
      p.once('error', reject);
      p.exited.then(() => {
        const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, '\n'));
        if (m) resolve(Number(m[1]));
        else reject(new Error(`redis-benchmark ${args.join(' ')}: no figure in ${JSON.stringify(out.slice(-300))}`));
      });
    });
  const out = { evalsha: await run(['evalsha', sha, '0']), lpop: await run(['-t', 'lpop']), stub: await run(['evalsha', stub, '5', ...STUB_KEYS]) };
  await redis.client.del(...STUB_KEYS);
  return out;
}

function machine() {
  let cpu = null;
  try {
    cpu = (/^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || null;
  } catch {
    /* not Linux */
  }
  const { execFileSync } = require('node:child_process');
  let rev = '?';
  try {
    const git = args => execFileSync('git', args, { cwd: S.ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    rev = `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    /* not a checkout */
  }
  const v = name => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return '?';
    }
  };
  return {
    cpu: cpu || (os.cpus()[0] && os.cpus()[0].model) || 'unknown',
    cores: os.cpus().length,
    memGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisServerVersion(),
    versions: { 'node-resque': v('node-resque'), bullmq: v('bullmq'), ioredis: v('ioredis') },
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadBefore: os.loadavg(),
    nodeStart: nodeStartMs(),
    pyresTs: `${require(path.join(S.ROOT, 'package.json')).version} @ ${rev}`,
  };
}

/**
 * A bare Node start here (`node -e 0`, median of 7, ms), as every system's processes start: the
 * start row is a sum of such starts. With NODE_EXTRA_CA_CERTS set (Node parses the file at each
 * start), also without it, so the report can say what the environment costs each process.
 */
function nodeStartMs() {
  const { spawnSync } = require('node:child_process');
  const median = env => {
    const xs = [];
    for (let i = 0; i < 7; i++) {
      const t = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
      xs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return xs.sort((a, b) => a - b)[3];
  };
  const extraCa = Boolean(process.env.NODE_EXTRA_CA_CERTS);
  const { NODE_EXTRA_CA_CERTS: _ca, ...withoutCa } = process.env;
  return { ms: median(process.env), extraCa, withoutCaMs: extraCa ? median(withoutCa) : null };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cfg = config(o);
  const tmp = setupRun();

  const m = machine();
  if (!m.redis) throw new Error('redis-server is not installed (e.g. apt-get install -y redis-server)');
  const has = T.detect();
  const say = s => process.stderr.write(`${s}\n`);
  const t0 = Date.now();
  say(
    `bench: ${cfg.quick ? `QUICK (rounds of ~${cfg.roundSeconds} s, not the >= 4 s of the targets), ` : ''}${cfg.rounds} rounds; ${m.cpu}, ${m.cores} cores, node ${m.node}, redis ${m.redis}; load ${m.loadBefore.map(x => x.toFixed(2)).join(' ')}`,
  );
  say(
    `bench: this build: --concurrency ${has.concurrency ? 'yes' : 'no'}, scheduler ${has.scheduler ? 'yes' : 'no'}, enqueueAndWait ${has.enqueueAndWait ? 'yes' : 'no'}; Ruby Resque: ${has.resqueGem ? 'present, but no row for it yet' : has.ruby ? 'not run (ruby is present, the resque gem is not)' : 'not run (no ruby)'}`,
  );
  // Also on a Unix socket (the unix-socket row); every other row uses TCP loopback.
  const socket = path.join(tmp, 'redis.sock');
  const redis = await startRedis('redis-server (bench)', ['--unixsocket', socket, '--unixsocketperm', '700']);
  redis.socket = socket;
  const ctx = { redis, cfg, say, tmp, has, limit: null };
  const results = [];
  try {
    say('one-client limit (redis-benchmark -c 1), before');
    const before = await oneClientLimit(redis, cfg.limitRequests);
    say(`  EVALSHA of "return 1" ${Math.round(before.evalsha)}/s, LPOP ${Math.round(before.lpop)}/s, the 5-command stub ${Math.round(before.stub)}/s`);
    ctx.limit = { ...before, before };
    for (const e of T.REGISTRY) {
      if (!o.entries.has(e.id)) continue;
      const missing = (e.needs || []).filter(n => !has[n]);
      if (missing.length || e.hook) {
        const why = missing.length ? `not available in this build (no ${missing.join(', ')})` : 'hook: no row written yet';
        say(`(${e.id}) ${e.title}: ${why}`);
        results.push({ entry: e, skipped: why });
        continue;
      }
      const ts = Date.now();
      say(`(${e.id}) ${e.title}`);
      const r = await e.run(ctx);
      results.push({ entry: e, r, seconds: (Date.now() - ts) / 1000 });
      say(`    ${((Date.now() - ts) / 1000).toFixed(1)} s`);
    }
    say('one-client limit (redis-benchmark -c 1), after');
    const after = await oneClientLimit(redis, cfg.limitRequests);
    say(`  EVALSHA of "return 1" ${Math.round(after.evalsha)}/s, LPOP ${Math.round(after.lpop)}/s, the 5-command stub ${Math.round(after.stub)}/s`);
    ctx.limit.after = after;
  } finally {
    await redis.stop();
  }
  // The limit the rows are held against: the mean of the two measurements of this run.
  ctx.limit.evalsha = (ctx.limit.before.evalsha + ctx.limit.after.evalsha) / 2;
  ctx.limit.lpop = (ctx.limit.before.lpop + ctx.limit.after.lpop) / 2;
  ctx.limit.stub = (ctx.limit.before.stub + ctx.limit.after.stub) / 2;
  m.loadAfter = os.loadavg();
  m.elapsedS = (Date.now() - t0) / 1000;
  const commandLine = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const rep = report.build(results, ctx, m);
  process.stdout.write(`\n${rep.table}\n\n${rep.verdicts.map(l => `- ${l}`).join('\n')}\n\n${rep.context.map(l => `- ${l}`).join('\n')}\n`);
  if (o.write) {
    const file = path.join(S.ROOT, 'BENCHMARKS.md');
    fs.writeFileSync(file, report.markdown(rep, ctx, m, commandLine));
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
