#!/usr/bin/env node
'use strict';
/**
 * The chaos soak: `npm run chaos [-- --quick | --jobs N | --seconds S | --seed X ...]`.
 *
 * Starts its own redis-server (append-only file, appendfsync always, so what Redis acknowledged
 * survives a restart or a SIGKILL), enqueues N jobs with unique ids over three priority queues,
 * and runs `pyres-ts master --workers 'c3,c2,c1=3'` in two phases: blocking mode with
 * `--on-dirty-exit fail`, then `--nonblocking-pop --backoff-min 0.05 --backoff-max 0.2` with
 * `--on-dirty-exit requeue`. While it works, at random moments, it:
 *
 *   child-kill     SIGKILLs a child of the master
 *   child-stop     SIGSTOPs a child, SIGCONTs it 0.2-2.5 s later
 *   orphan-kill    SIGKILLs a child whose master was killed (nobody watches it)
 *   master-kill    SIGKILLs the master (its children finish their job and exit); a new master
 *                  is started 0.2-1.5 s later
 *   redis-restart  restarts redis-server (SIGTERM or SIGKILL; down 0.1-1.5 s)
 *   client-kill    CLIENT KILL TYPE normal (or pubsub): drops every worker and master connection
 *
 * At the end of a phase it waits for the queues to drain, stops the master with TERM, waits for
 * every process it started, runs one final prune pass (`pyres-ts worker --drain`) and accounts
 * for every id: performed (the ledger each job appends its id to), in `failed`, still queued,
 * or still held in a `worker:<id>` record. lost = enqueued - all of those; duplicated = ids
 * performed more than once. Prints a table; exits 1 when anything was lost.
 *
 * That is the `mixed` class. The other fault classes each run as a phase of their own, with
 * their own ids, master and accounting, so that every figure belongs to one fault (jobs are
 * ChaosStep, fixtures/jobs/chaos-steps.js: it writes `<id>` at its side effect and `done <id>`
 * when it returns). None of these faults kills a job, so any failure record is a false one:
 *
 *   pidns        a neighbour worker on the same host and queues in its own PID namespace
 *                (`unshare --pid --fork --mount-proc pyres-ts worker`), started again and again,
 *                the prune lock cleared before each start so that its start-up prune runs;
 *                skipped, with the reason, where unshare is not permitted
 *   blockjobs    master with `--heartbeat-interval 1 --prune-interval 3`; some jobs block the
 *                event loop ~5 s (execFileSync('sleep') or a CPU loop) while neighbour workers
 *                (same namespace, same intervals) keep starting and pruning
 *   redis-stop   SIGSTOP redis-server for 1-6 s, then SIGCONT (master with --job-timeout 5)
 *   master-stop  SIGSTOP the master for 3-15 s, then SIGCONT (--job-timeout 5; most jobs ~1 s)
 *   ctrl-c       the master runs as its own process-group leader; SIGINT to -pgid (a terminal's
 *                Ctrl-C), wait for it to exit, start a new master
 *   blackhole    the master (and so its children and their liveness threads) reaches Redis
 *                through a loopback TCP proxy (test/support/blackholeProxy.js); at random
 *                moments for 1-6 s either the connections open now go silent for good (every
 *                byte dropped both ways, new connections pass: a lost conntrack entry), or
 *                every connection, new ones too, goes silent and the partition then heals
 *                (held bytes delivered, as TCP would). Master with --redis-timeout 1 and
 *                --job-timeout 5
 *   failover     a Sentinel set of its own per phase (a redis-server master, one replica, three
 *                redis-sentinels, quorum 2); the master works over `redis+sentinel://`, and
 *                `SENTINEL FAILOVER` goes out at random moments (each once the set has settled:
 *                the demoted master back as a replica). Two phases: without and with
 *                `--wait-replicas 1 --wait-timeout 100`. Jobs are enqueued with `WAIT 1` (a batch
 *                a failover took back is sent again), so a lost enqueue is not counted as a lost
 *                job. Reports duplicated per failover and the children mid-job at each failover;
 *                duplicates fail the run only with --wait-replicas, and only past those mid-job
 *                at a failover
 *
 *   slots        job slots (`--concurrency`, issue 15): a master `--workers 'c3,c2,c1=2x8'` and a
 *                standalone `worker --concurrency 8` on the same queues, async ChaosStep jobs of
 *                20-800 ms (a third honour their AbortSignal). Faults: SIGKILL of the child with
 *                the most jobs in flight, SIGKILL of the standalone worker (restarted with the
 *                prune lock cleared: its start-up prune must leave a DirtyExit for every slot's
 *                job), SIGTERM to a busy child (the master starts a new one), SIGSTOP/SIGCONT of
 *                redis-server (1-4 s), SIGUSR1 to a child or the standalone (every slot's job
 *                aborted). After each kill every job its slots held must get its DirtyExit record
 *                and no `workers` entry of the dead pid may remain (slotsUnaccounted,
 *                staleSlotsAfterKill). Two phases: fixed slots, then autoscaled (`2x1..16`,
 *                `--concurrency 1..16`; a third of its jobs, in runs, first hold the event loop
 *                80-200 ms, so that the slots shrink mid-job as well as grow). --on-dirty-exit
 *                fail: a DirtyExit record is the outcome of a kill or an abort; any other record,
 *                or a DirtyExit for a job that completed and was not held by a killed process, is
 *                false; a job with two failure records, or a stale `workers` entry or
 *                `workers:heartbeat` field at the end, breaks the run.
 *
 * Two classes plant failures (a quarter of the jobs throw after `done <id>`), whose failure
 * records are outcomes: a planned failure that ran to its end without its record counts as lost.
 *
 *   log-faults   the master logs with -f to a file and its stdout/stderr are pipes read by the
 *                soak; per master life, remove the file's directory and/or close the pipes (the
 *                reader dies: EPIPE in the master and every child), work on 2-5 s, restart the
 *                master with QUIT. A master that exits by itself breaks the run.
 *   redis-wipe   bursts of one long job per child; once none is queued, SIGKILL redis-server,
 *                delete its data and start it empty (no persistence, a failover to an empty
 *                replica); sometimes SIGKILL a busy child right after (its requeue, or with
 *                --policy fail its DirtyExit record, meets the wiped state). Duplicates up to the
 *                number of such kills are expected under requeue.
 *
 * For every phase: lost, duplicated (performed more than once), falsely failed (a failure
 * record for a job that completed, or in the classes above any failure record at all).
 *
 * Options: --quick (3000 jobs, ~1 min for mixed; ~1 min per other class), --jobs N, --seconds S
 * (mixed fault window, total over both phases), --classes LIST (default
 * mixed,pidns,blockjobs,redis-stop,master-stop,ctrl-c,log-faults,redis-wipe,failover,blackhole,slots), --class-jobs N, --class-seconds S (jobs
 * and fault window of each other class), --seed X, --children N, --phases blocking,nonblocking
 * (of mixed), --policy fail|requeue|mixed (mixed: the mixed class alternates, the others use
 * their own default), --fault-every MS (mean gap between mixed faults), --keep (keep the temp
 * dir), --json FILE, --no-reaper (do not run under the python3 subreaper of src/cli/containerInit.ts), --strict (exit 3 when a
 * problem other than a lost job was seen: queues that did not drain, processes that did not
 * exit), -v. Exit 1 when a job was lost, or, in a class other than mixed, duplicated, falsely
 * failed or interrupted, or a live worker was pruned.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'pyres-ts');
const JOBS = path.join(__dirname, 'jobs.js');
const QUEUES = ['c3', 'c2', 'c1'];
const CLASSES = ['mixed', 'pidns', 'blockjobs', 'redis-stop', 'master-stop', 'ctrl-c', 'log-faults', 'redis-wipe', 'failover', 'blackhole', 'slots'];
/** Classes with planned job failures, whose failure records are outcomes to account for. */
const OUTCOME_CLASSES = new Set(['log-faults', 'redis-wipe']);
/** Each class's --on-dirty-exit: where a false prune or abort would show as a duplicate (requeue) or a false record (fail). */
const CLASS_POLICY = {
  pidns: 'fail',
  blockjobs: 'requeue',
  'redis-stop': 'fail',
  'master-stop': 'fail',
  'ctrl-c': 'requeue',
  'log-faults': 'fail',
  'redis-wipe': 'requeue',
  failover: 'fail',
  blackhole: 'fail',
  slots: 'fail',
};
/** The slots class: children of the master, slots per child, and the standalone worker's slots. */
const SLOTS_CHILDREN = 2;
const SLOTS_PER_CHILD = 8;
const SLOTS_STANDALONE = 8;
const SLOTS_AUTOSCALE = '1..16';
const { BlackholeProxy } = require('../test/support/blackholeProxy.js');
const NS = 'resque';
const k = s => `${NS}:${s}`;

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    quick: false,
    jobs: null,
    seconds: null,
    seed: null,
    children: 3,
    phases: ['blocking', 'nonblocking'],
    classes: CLASSES.slice(),
    classJobs: null,
    classSeconds: null,
    policy: 'mixed',
    faultEvery: null,
    keep: false,
    json: null,
    reaper: true,
    verbose: false,
    strict: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) die(`${a} needs a value`);
      return v;
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--quick':
        o.quick = true;
        break;
      case '--jobs':
        o.jobs = posInt(name, val());
        break;
      case '--seconds':
        o.seconds = posNum(name, val());
        break;
      case '--seed':
        o.seed = val();
        break;
      case '--children':
        o.children = posInt(name, val());
        break;
      case '--phases':
        o.phases = val()
          .split(',')
          .map(s => s.trim())
          .filter(Boolean);
        for (const p of o.phases) if (p !== 'blocking' && p !== 'nonblocking') die(`--phases: ${p} is not blocking or nonblocking`);
        break;
      case '--classes':
        o.classes = val()
          .split(',')
          .map(s => s.trim())
          .filter(Boolean);
        for (const c of o.classes) if (!CLASSES.includes(c)) die(`--classes: ${c} is not one of ${CLASSES.join(', ')}`);
        break;
      case '--class-jobs':
        o.classJobs = posInt(name, val());
        break;
      case '--class-seconds':
        o.classSeconds = posNum(name, val());
        break;
      case '--policy':
        o.policy = val();
        if (!['fail', 'requeue', 'mixed'].includes(o.policy)) die('--policy must be fail, requeue or mixed');
        break;
      case '--fault-every':
        o.faultEvery = posNum(name, val());
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--json':
        o.json = path.resolve(val());
        break;
      case '--strict':
        o.strict = true;
        break;
      case '--no-reaper':
        o.reaper = false;
        break;
      case '--verbose':
      case '-v':
        o.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          fs
            .readFileSync(__filename, 'utf8')
            .split('*/')[0]
            .replace(/^[\s\S]*?\/\*\*/, '') + '\n',
        );
        process.exit(0);
        break;
      default:
        die(`unknown option ${a} (see --help)`);
    }
  }
  if (o.jobs === null) o.jobs = o.quick ? 3000 : 20000;
  if (o.seconds === null) o.seconds = o.quick ? 40 : Math.max(60, Math.round(o.jobs / 45));
  if (o.faultEvery === null) o.faultEvery = o.quick ? 600 : 900;
  if (o.classJobs === null) o.classJobs = o.quick ? 800 : 4000;
  if (o.classSeconds === null) o.classSeconds = o.quick ? 30 : 120;
  if (o.seed === null) o.seed = String(Date.now() % 1e9);
  return o;
}

function posInt(n, v) {
  const x = Number(v);
  if (!Number.isInteger(x) || x <= 0) die(`${n} must be a whole number > 0, got ${v}`);
  return x;
}
function posNum(n, v) {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) die(`${n} must be a number > 0, got ${v}`);
  return x;
}
function die(msg) {
  process.stderr.write(`chaos: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// small utilities
// ---------------------------------------------------------------------------------------------

const sleep = ms => new Promise(r => setTimeout(r, ms));
const t0 = Date.now();
let verbose = false;
function log(msg) {
  process.stdout.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}
function vlog(msg) {
  if (verbose) log(msg);
}

/** mulberry32: a small seeded PRNG, so a run can be repeated with --seed. */
function rng(seedText) {
  let h = 1779033703 ^ seedText.length;
  for (let i = 0; i < seedText.length; i++) {
    h = Math.imul(h ^ seedText.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: arr => arr[Math.floor(next() * arr.length)],
    weighted(table) {
      const total = table.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [v, w] of table) if ((x -= w) < 0) return v;
      return table[table.length - 1][0];
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One raw PING; resolves 'PONG', 'LOADING', or null. */
function ping(port, timeoutMs = 500) {
  return new Promise(resolve => {
    let data = '';
    const sock = net.createConnection({ host: '127.0.0.1', port });
    const done = v => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', c => {
      data += c.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG') ? 'PONG' : /^-LOADING/.test(data) ? 'LOADING' : null);
    });
    sock.once('error', () => done(null));
  });
}

// ---------------------------------------------------------------------------------------------
// processes (through /proc: no `ps`, so no extra processes and no pid churn)
// ---------------------------------------------------------------------------------------------

function readProc(pid, file) {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null;
  }
}

/** {ppid, state} of a pid, or null when gone. */
function procStat(pid) {
  const s = readProc(pid, 'stat');
  if (!s) return null;
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}

function running(pid) {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Every pid taggedProcesses() ever saw (a zombie's environ is empty, so it is found only here). */
const seenPids = new Set();

/** Every live process that carries our tag in its environment: {pid, ppid, state, kind}. */
function taggedProcesses(tag) {
  const needle = `PYRES_CHAOS_TAG=${tag}\0`;
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid) continue;
    const env = readProc(pid, 'environ');
    if (!env || !env.includes(needle)) continue;
    const st = procStat(pid);
    if (!st) continue;
    seenPids.add(pid);
    const cmd = (readProc(pid, 'cmdline') || '').split('\0');
    // A child's process title (which replaces its argv) says what it is doing.
    const title = cmd.join(' ');
    const kind =
      /pyres_worker .* child of \d+/.test(title) || cmd.some(c => c.endsWith('childMain.js'))
        ? 'child'
        : cmd.includes('master') || /pyres_manager/.test(title)
          ? 'master'
          : 'other';
    out.push({ pid, ppid: st.ppid, pgrp: st.pgrp, state: st.state, kind, busy: /: Processing /.test(title), cmd });
  }
  return out;
}

/** The text of a file from a byte offset ('' when it is missing). */
function readFrom(file, offset) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// redis-server with an append-only file
// ---------------------------------------------------------------------------------------------

class RedisServer {
  /** `extra`: more redis-server arguments; `sentinelConf`: run as a sentinel with this config body. */
  constructor(dir, port, extra = [], sentinelConf = null) {
    this.dir = dir;
    this.port = port;
    this.proc = null;
    this.extra = extra;
    this.sentinelConf = sentinelConf;
    this.logFile = path.join(dir, 'redis-server.log');
  }

  args() {
    if (this.sentinelConf !== null) {
      const conf = path.join(this.dir, 'sentinel.conf');
      if (!fs.existsSync(conf)) fs.writeFileSync(conf, `port ${this.port}\nbind 127.0.0.1\ndir ${this.dir}\n${this.sentinelConf}\n`);
      return [conf, '--sentinel', '--loglevel', 'notice'];
    }
    return [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'notice',
      ...this.extra,
    ];
  }

  async start() {
    for (let attempt = 1; ; attempt++) {
      const fd = fs.openSync(this.logFile, 'a');
      const proc = spawn('redis-server', this.args(), { stdio: ['ignore', fd, fd], cwd: this.dir });
      fs.closeSync(fd);
      let exited = false;
      proc.once('exit', () => (exited = true));
      proc.on('error', e => {
        exited = true;
        if (e.code === 'ENOENT') die('redis-server not found: apt-get install -y redis-server');
      });
      const deadline = Date.now() + 30000;
      while (!exited && Date.now() < deadline) {
        if ((await ping(this.port)) === 'PONG') {
          this.proc = proc;
          return;
        }
        await sleep(30);
      }
      if (!exited) proc.kill('SIGKILL');
      if (attempt >= 20) throw new Error(`redis-server would not start on port ${this.port}; see ${this.logFile}`);
      await sleep(250);
    }
  }

  async stop(sig = 'SIGTERM') {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    signal(p.pid, 'SIGCONT'); // a SIGSTOPped server (the redis-stop class) would not act on TERM
    await new Promise(resolve => {
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
      }, 10000);
      p.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      p.kill(sig);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// the soak
// ---------------------------------------------------------------------------------------------

const ENQUEUE_LUA = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('RPUSH', KEYS[3], ARGV[3])
  return 1
end
return 0`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  verbose = o.verbose;

  // Orphans must be reaped for Resque's same-host prune to see them dead: run under a subreaper.
  if (o.reaper && process.platform === 'linux' && !process.env.PYRES_CHAOS_REAPED) {
    const py = spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' });
    const init = path.join(ROOT, 'dist', 'cli', 'containerInit.js');
    if (py.status === 0 && fs.existsSync(init)) {
      // The python3 subreaper that `pyres-ts` uses as PID 1 without its native reaper.
      const { PYTHON_SUBREAPER } = require(init);
      const signals = 'SIGINT,SIGTERM,SIGHUP,SIGQUIT';
      const r = spawnSync('python3', ['-c', PYTHON_SUBREAPER, signals, process.execPath, __filename, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, PYRES_CHAOS_REAPED: '1' },
      });
      process.exit(r.status ?? 1);
    } else log('python3 (or dist/) not found: running without a subreaper (a SIGKILLed orphan may stay a zombie, which prune takes for alive)');
  }

  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) die('dist/ is missing: run `npm run build` (npm run chaos does)');
  const Redis = require(require.resolve('ioredis', { paths: [ROOT] }));
  const rand = rng(o.seed);
  const tag = `${process.pid}-${Date.now()}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-chaos-'));
  const ledger = path.join(tmp, 'ledger.txt');
  fs.writeFileSync(ledger, '');
  const port = await freePort();
  const server = new RedisServer(tmp, port);
  await server.start();
  const url = `redis://127.0.0.1:${port}/0`;
  const redis = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: n => Math.min(50 * n, 500), lazyConnect: false });
  redis.on('error', () => undefined);
  redis.defineCommand('chaosEnqueue', { numberOfKeys: 3, lua: ENQUEUE_LUA });

  // The phases: the mixed class (one per --phases entry), then one per other class.
  const specs = [];
  const skipped = [];
  if (o.classes.includes('mixed')) {
    const perPhase = Math.floor(o.jobs / o.phases.length);
    o.phases.forEach((mode, i) => {
      specs.push({
        cls: 'mixed',
        mode,
        policy: o.policy === 'mixed' ? (i % 2 === 0 ? 'fail' : 'requeue') : o.policy,
        jobs: i === o.phases.length - 1 ? o.jobs - perPhase * (o.phases.length - 1) : perPhase,
        seconds: o.seconds / o.phases.length,
      });
    });
  }
  for (const cls of CLASSES.slice(1)) {
    if (!o.classes.includes(cls)) continue;
    if (cls === 'pidns') {
      const why = unshareUnavailable();
      if (why) {
        skipped.push({ cls, why });
        log(`pidns: skipped: ${why}`);
        continue;
      }
    }
    const seconds = cls === 'ctrl-c' || cls === 'master-stop' || cls === 'failover' ? o.classSeconds * 1.5 : o.classSeconds;
    if (cls === 'failover') {
      // Without, then with --wait-replicas 1: the same fault, each with its own Sentinel set.
      for (const wait of [false, true])
        specs.push({ cls, mode: 'blocking', policy: o.policy === 'mixed' ? CLASS_POLICY[cls] : o.policy, jobs: o.classJobs * 3, seconds, wait });
      continue;
    }
    if (cls === 'slots') {
      // Fixed slots, then autoscaled: 24 slots at ~0.4 s a job work ~50 a second.
      for (const autoscale of [false, true])
        specs.push({
          cls,
          mode: 'blocking',
          policy: o.policy === 'mixed' ? CLASS_POLICY[cls] : o.policy,
          jobs: Math.max(1, Math.min(o.classJobs, Math.round(seconds * 35))),
          seconds,
          autoscale,
        });
      continue;
    }
    specs.push({
      cls,
      mode: 'blocking',
      policy: o.policy === 'mixed' ? CLASS_POLICY[cls] : o.policy,
      // master-stop's jobs take ~1 s: three children work about 3.5 a second.
      jobs:
        cls === 'master-stop'
          ? Math.max(1, Math.min(Math.round(o.classJobs * 0.25), Math.round(seconds * 4.5)))
          : cls === 'redis-wipe'
            ? // bursts of one job per child, ~2.5 s each
              Math.max(o.children, Math.min(o.classJobs, Math.round(seconds / 2.5) * o.children))
            : o.classJobs,
      seconds,
    });
  }
  if (!specs.length) die('nothing to run (every class chosen was skipped)');

  log(
    `seed ${o.seed}; ${o.children} children on ${QUEUES.join(',')}; classes ${[...new Set(specs.map(x => x.cls))].join(', ')}; ` +
      `mixed: ${o.jobs} jobs, phases ${o.phases.join(', ')}, fault window ${o.seconds}s, a fault every ~${o.faultEvery} ms; ` +
      `other classes: ${o.classJobs} jobs, ${o.classSeconds}s each; redis ${url} (appendonly, appendfsync always); dir ${tmp}`,
  );

  const phases = [];
  const everything = { server, redis, tag, tmp };
  const onSignal = sig => {
    log(`${sig}: cleaning up`);
    void cleanup(everything).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    for (let i = 0; i < specs.length; i++) {
      const ph = await runPhase({
        index: i + 1,
        ...specs[i],
        o,
        rand,
        tag,
        tmp,
        ledger,
        url,
        port,
        server,
        redis,
      });
      phases.push(ph);
    }
  } finally {
    await cleanup(everything);
  }

  const total = sumPhases(phases);
  printSummary(phases, total, o, Date.now() - t0, skipped);
  const report = { seed: o.seed, jobs: o.jobs, children: o.children, seconds: o.seconds, elapsedMs: Date.now() - t0, phases, skipped, total, dir: tmp };
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
  // Exit 1 when a job was lost, or (outside mixed, where no fault kills a job) run twice or
  // falsely failed. The problems listed (stuck queues, orphans that never exit, zombies) are
  // findings too, but no job loss: they fail the run only with --strict.
  const bad = total.lost > 0 || total.broken > 0;
  const ok = !bad && total.harnessProblems.length === 0;
  if (ok && !o.keep) fs.rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp} (master.log, redis-server.log, ledger.txt, phase-*.final-worker.log, phase-*.neighbours.log)`);
  process.exit(bad ? 1 : !ok && o.strict ? 3 : 0);
}

/** Why `unshare --pid --fork --mount-proc` cannot run here, or null when it can. */
function unshareUnavailable() {
  if (process.platform !== 'linux') return 'PID namespaces are Linux only';
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8', timeout: 10000 });
  if (r.error) return `unshare cannot run (${r.error.code || r.error.message})`;
  if (r.status !== 0) return `unshare --pid --fork --mount-proc is not permitted here (${(r.stderr || '').trim().split('\n')[0] || `exit ${r.status}`})`;
  return null;
}

async function cleanup({ server, redis, tag }) {
  for (const p of taggedProcesses(tag)) signal(p.pid, 'SIGCONT');
  for (const p of taggedProcesses(tag)) signal(p.pid, 'SIGKILL');
  redis.disconnect();
  for (const set of liveSentinelSets) await set.stop();
  await server.stop('SIGTERM');
}

/** The failover class's Sentinel sets still running (stopped by their phase, or by cleanup on a signal). */
const liveSentinelSets = new Set();

async function runPhase(ctx) {
  const { index, cls, mode, policy, jobs, seconds, o, rand, tag, tmp, ledger, server, wait, autoscale } = ctx;
  let { url, redis } = ctx;
  const phaseT0 = Date.now();
  const prefix = `p${index}-`;
  // failover: this phase's own Sentinel set; `url` and `redis` go through its sentinels.
  const sentinelSet = cls === 'failover' ? await startSentinelSet(path.join(tmp, `phase-${index}-sentinel`)) : null;
  if (sentinelSet) {
    url = sentinelSet.url;
    redis = sentinelSet.client();
    redis.defineCommand('chaosEnqueue', { numberOfKeys: 3, lua: ENQUEUE_LUA });
  }
  const ids = [];
  for (let i = 0; i < jobs; i++) ids.push(`${prefix}${String(i).padStart(6, '0')}`);
  log(
    `phase ${index}: class ${cls}, ${mode} mode, --on-dirty-exit ${policy}, ${jobs} jobs, fault window ${seconds.toFixed(0)}s` +
      (cls === 'slots' ? (autoscale ? `, slots autoscaled ${SLOTS_AUTOSCALE}` : `, ${SLOTS_CHILDREN}x${SLOTS_PER_CHILD} + ${SLOTS_STANDALONE} slots`) : ''),
  );

  const faults =
    cls === 'mixed'
      ? {
          'child-kill': 0,
          'child-stop': 0,
          'orphan-kill': 0,
          'master-kill': 0,
          'redis-restart-term': 0,
          'redis-restart-kill': 0,
          'client-kill-normal': 0,
          'client-kill-pubsub': 0,
        }
      : cls === 'pidns'
        ? { 'pidns-neighbour': 0 }
        : cls === 'blockjobs'
          ? { 'blocking-job': 0, neighbour: 0 }
          : cls === 'redis-stop'
            ? { 'redis-stop': 0 }
            : cls === 'master-stop'
              ? { 'master-stop': 0 }
              : cls === 'log-faults'
                ? { 'log-dir-removed': 0, 'stderr-closed': 0, 'master-restart': 0 }
                : cls === 'redis-wipe'
                  ? { 'redis-wipe': 0, 'wipe-then-child-kill': 0 }
                  : cls === 'failover'
                    ? { failover: 0 }
                    : cls === 'blackhole'
                      ? { 'blackhole-current': 0, partition: 0 }
                      : cls === 'slots'
                        ? { 'slots-child-kill': 0, 'slots-worker-kill': 0, 'slots-child-term': 0, 'redis-stop': 0, 'slots-usr1': 0 }
                        : { 'ctrl-c': 0 };
  // What the class-specific fault loops measured besides the faults (see the summary table).
  const extra = {};
  const problems = [];
  const masterLog = path.join(tmp, 'master.log');
  // log-faults: the master logs to this file (-f) and its stdout/stderr are pipes read here.
  const logDir = path.join(tmp, `phase-${index}.logs`);
  const logFile = path.join(logDir, 'pyres.log');
  // blackhole: the master and its children reach Redis through the proxy.
  const proxy = cls === 'blackhole' ? new BlackholeProxy({ targetPort: ctx.port }) : null;
  const masterUrl = proxy ? `redis://127.0.0.1:${await proxy.listen()}/0` : url;
  const masterArgs = [
    BIN,
    'master',
    '--workers',
    cls === 'slots' ? `${QUEUES.join(',')}=${SLOTS_CHILDREN}x${autoscale ? SLOTS_AUTOSCALE : SLOTS_PER_CHILD}` : `${QUEUES.join(',')}=${o.children}`,
    '--jobs',
    JOBS,
    '--redis',
    masterUrl,
    '--term-timeout',
    '5',
    '--on-dirty-exit',
    policy,
    ...(mode === 'nonblocking' ? ['--nonblocking-pop', '--backoff-min', '0.05', '--backoff-max', '0.2'] : []),
    ...(cls === 'blockjobs' ? ['--heartbeat-interval', '1', '--prune-interval', '3'] : []),
    ...(cls === 'redis-stop' || cls === 'master-stop' || cls === 'blackhole' ? ['--job-timeout', '5'] : []),
    ...(cls === 'blackhole' ? ['--redis-timeout', '1'] : []),
    ...(cls === 'log-faults' ? ['-f', logFile] : []),
    ...(wait ? ['--wait-replicas', '1', '--wait-timeout', '100'] : []),
  ];
  const childEnv = { ...process.env, PYRES_CHAOS_TAG: tag, PYRES_CHAOS_LEDGER: ledger };
  // Children the master runs (a slots child registers one id per slot: count pids).
  const nChildren = cls === 'slots' ? SLOTS_CHILDREN : o.children;
  delete childEnv.REDIS_URL;

  let master = null;
  let masterStarts = 0;
  const masterExits = [];
  const startMaster = () => {
    const fd = fs.openSync(masterLog, 'a');
    fs.writeSync(fd, `\n===== chaos: phase ${index} master start #${masterStarts + 1} at +${((Date.now() - t0) / 1000).toFixed(1)}s =====\n`);
    // ctrl-c: the master leads its own process group (and session), as under a terminal.
    const piped = cls === 'log-faults';
    if (piped) fs.mkdirSync(logDir, { recursive: true });
    const p = spawn(process.execPath, masterArgs, {
      cwd: ROOT,
      env: childEnv,
      stdio: piped ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
      detached: cls === 'ctrl-c',
    });
    if (piped) {
      // Our copy of what reaches its stdout/stderr; closeStdio() is the reader dying (EPIPE there).
      for (const s of [p.stdout, p.stderr]) {
        s.on('data', d => fs.writeSync(fd, d));
        s.on('error', () => undefined);
      }
      p.once('exit', () => fs.closeSync(fd));
    } else fs.closeSync(fd);
    masterStarts += 1;
    const m = {
      proc: p,
      pid: p.pid,
      killedByUs: false,
      exited: false,
      code: null,
      signal: null,
      closeStdio: () => {
        if (!piped) return;
        p.stdout.destroy();
        p.stderr.destroy();
      },
    };
    p.on('exit', (code, sig) => {
      m.exited = true;
      m.code = code;
      m.signal = sig;
      masterExits.push({ pid: m.pid, code, signal: sig, killedByUs: m.killedByUs });
      if (!m.killedByUs && !stoppingMaster) problems.push(`master ${m.pid} exited by itself (code ${code}, signal ${sig}): see master.log`);
    });
    master = m;
    vlog(`master ${p.pid} started`);
    return m;
  };
  let stoppingMaster = false;

  // --- enqueue: 30% up front, the rest trickled in over 80% of the fault window ---
  const enqueued = new Set();
  const queueOf = new Map();
  // blockjobs: every step-th id blocks its worker's event loop ~5 s (sleep and cpu in turn).
  const blockStep = cls === 'blockjobs' ? Math.max(1, Math.floor(jobs / Math.max(4, Math.round(seconds * 0.45)))) : 0;
  const payloads = new Map(); // id -> payload, made once (an enqueue batch may be resent)
  const plannedFail = new Set(); // OUTCOME_CLASSES: ids whose job throws after `done <id>`
  const payloadOf = id => {
    if (!payloads.has(id)) payloads.set(id, makePayload(id));
    return payloads.get(id);
  };
  const makePayload = id => {
    if (cls === 'mixed') {
      const slow = rand.next() < 0.01;
      const pre = slow ? rand.int(150, 600) : rand.int(5, 35);
      const post = slow ? rand.int(50, 300) : rand.int(0, 8);
      return `{"class":"ChaosJob","args":[${JSON.stringify(id)},${pre},${post}]}`;
    }
    const n = Number(id.slice(prefix.length));
    let pre = rand.int(5, 35);
    let post = rand.int(0, 8);
    let blockKind = null;
    let blockMs = 0;
    const x = rand.next();
    if (cls === 'blockjobs' && n % blockStep === Math.floor(blockStep / 2)) {
      blockKind = Math.floor(n / blockStep) % 2 === 0 ? 'sleep' : 'cpu';
      blockMs = rand.int(4500, 5500);
      faults['blocking-job']++;
    } else if (cls === 'master-stop' && x < 0.9) {
      // Mostly ~1 s jobs, so that every child is mid-job when the master wakes up.
      pre = rand.int(500, 1500);
      post = rand.int(0, 200);
    } else if (cls === 'pidns' && x < 0.1) {
      // Some longer jobs, so that a neighbour's prune finds busy children too.
      pre = rand.int(300, 1500);
      post = rand.int(0, 300);
    } else if (OUTCOME_CLASSES.has(cls)) {
      // A quarter fail on purpose (after `done <id>`): their failure records are outcomes that
      // a log fault or a wiped Redis must not cost. redis-wipe's jobs are long, to be in flight.
      if (cls === 'redis-wipe') {
        pre = rand.int(600, 1500);
        post = rand.int(0, 200);
      }
      const fail = rand.next() < 0.25;
      if (fail) plannedFail.add(id);
      return `{"class":"ChaosStep","args":[${JSON.stringify(id)},${pre},${post},null,0,false,${fail}]}`;
    } else if (cls === 'slots') {
      // Async jobs of random length; a third end at once on an abort (before their side effect).
      pre = rand.int(20, 800);
      post = rand.int(0, 100);
      const honour = rand.next() < 0.33;
      // Autoscaled: a third of the ids, in runs of 100, first hold the event loop 80-200 ms
      // (a CPU loop), so that it saturates and the slots shrink mid-job, then grow again.
      const cpu = autoscale && n % 300 < 100;
      const tail = cpu ? `,"cpu",${rand.int(80, 200)},${honour}` : honour ? ',null,0,true' : '';
      return `{"class":"ChaosStep","args":[${JSON.stringify(id)},${pre},${post}${tail}]}`;
    } else if (cls === 'ctrl-c' && x < 0.05) {
      pre = rand.int(500, 2500);
      post = rand.int(0, 300);
    } else if (x < 0.01) {
      pre = rand.int(150, 600);
      post = rand.int(50, 300);
    }
    // redis-stop, master-stop: the jobs honour their AbortSignal, so a false timeout abort fails one.
    const honour = cls === 'redis-stop' || cls === 'master-stop' || cls === 'blackhole';
    const tail = blockKind || honour ? `,${blockKind ? `"${blockKind}"` : 'null'},${blockMs}${honour ? ',true' : ''}` : '';
    return `{"class":"ChaosStep","args":[${JSON.stringify(id)},${pre},${post}${tail}]}`;
  };
  const enqueueBatch = async batch => {
    for (;;) {
      try {
        const p = redis.pipeline();
        for (const id of batch) {
          const q = rand.weighted([
            ['c3', 1],
            ['c2', 2],
            ['c1', 3],
          ]);
          queueOf.set(id, q);
          const payload = payloadOf(id);
          p.chaosEnqueue('chaos:enqueued', k('queues'), k(`queue:${q}`), id, q, payload);
        }
        const res = await p.exec();
        for (const [err] of res) if (err) throw err;
        // failover: only a batch on the replica counts (a failover could take it back); resent otherwise.
        if (sentinelSet && Number(await redis.call('WAIT', '1', '1000')) < 1) throw new Error('WAIT 1: not on the replica yet');
        for (const id of batch) enqueued.add(id);
        return;
      } catch (e) {
        vlog(`enqueue batch failed (${e.message}); resending (the script is idempotent)`);
        await sleep(200);
      }
    }
  };
  // redis-wipe enqueues its own bursts (a wipe must find no queued job: only jobs in flight).
  const upfront = cls === 'redis-wipe' ? 0 : Math.floor(jobs * 0.3);
  for (let i = 0; i < upfront; i += 500) await enqueueBatch(ids.slice(i, Math.min(upfront, i + 500)));

  startMaster();
  const windowMs = seconds * 1000;
  const faultEnd = Date.now() + windowMs;
  const trickle = (async () => {
    const rest = cls === 'redis-wipe' ? [] : ids.slice(upfront);
    const span = windowMs * 0.8;
    const start = Date.now();
    let i = 0;
    while (i < rest.length) {
      const due = Math.min(rest.length, Math.ceil(((Date.now() - start) / span) * rest.length));
      if (due > i) {
        await enqueueBatch(rest.slice(i, due));
        i = due;
      }
      await sleep(100);
    }
  })();

  // --- faults ---
  const stopped = new Map(); // pid -> timer
  let lastRedisRestart = 0;
  let masterDownUntil = 0;
  const children = () => (master && !master.exited ? taggedProcesses(tag).filter(p => p.kind === 'child' && p.ppid === master.pid && p.state !== 'Z') : []);
  const orphans = () => taggedProcesses(tag).filter(p => p.kind === 'child' && (!master || p.ppid !== master.pid) && p.state !== 'Z');
  const mixedFaults = async () => {
    while (Date.now() < faultEnd) {
      await sleep(rand.int(Math.round(o.faultEvery * 0.3), Math.round(o.faultEvery * 1.7)));
      if (Date.now() >= faultEnd) break;
      if (master && master.exited && Date.now() >= masterDownUntil) startMaster();
      // Pick among the faults that can happen right now, so no pick is wasted.
      const kids = children();
      const orph = orphans();
      const free = kids.filter(p => !stopped.has(p.pid));
      const table = [
        ['child-kill', kids.length ? 30 : 0],
        ['child-stop', free.length ? 18 : 0],
        ['orphan-kill', orph.length ? 8 : 0],
        ['master-kill', master && !master.exited ? 7 : 0],
        ['redis-restart', Date.now() - lastRedisRestart >= 3000 ? 10 : 0],
        ['client-kill', 18],
      ].filter(([, w]) => w > 0);
      const kind = rand.weighted(table);
      try {
        if (kind === 'child-kill') {
          // Mostly a child in the middle of a job: that is where a kill can lose one.
          const busy = kids.filter(p => p.busy);
          const v = rand.pick(busy.length && rand.next() < 0.85 ? busy : kids);
          if (signal(v.pid, 'SIGKILL')) faults['child-kill']++;
          vlog(`SIGKILL child ${v.pid}`);
        } else if (kind === 'child-stop') {
          const v = rand.pick(free);
          if (!signal(v.pid, 'SIGSTOP')) continue;
          faults['child-stop']++;
          const ms = rand.int(200, 2500);
          vlog(`SIGSTOP child ${v.pid} for ${ms} ms`);
          stopped.set(
            v.pid,
            setTimeout(() => {
              stopped.delete(v.pid);
              signal(v.pid, 'SIGCONT');
            }, ms),
          );
        } else if (kind === 'orphan-kill') {
          const busy = orph.filter(p => p.busy);
          const v = rand.pick(busy.length && rand.next() < 0.85 ? busy : orph);
          if (signal(v.pid, 'SIGKILL')) faults['orphan-kill']++;
          vlog(`SIGKILL orphan ${v.pid}`);
        } else if (kind === 'master-kill') {
          master.killedByUs = true;
          signal(master.pid, 'SIGKILL');
          faults['master-kill']++;
          const down = rand.int(200, 1500);
          masterDownUntil = Date.now() + down;
          vlog(`SIGKILL master ${master.pid}; a new one in ${down} ms`);
          setTimeout(() => {
            if (Date.now() < faultEnd + 1000 && master && master.exited) startMaster();
          }, down);
        } else if (kind === 'redis-restart') {
          const sig = rand.next() < 0.5 ? 'SIGTERM' : 'SIGKILL';
          const down = rand.int(100, 1500);
          vlog(`redis-server restart (${sig}, down ${down} ms)`);
          await server.stop(sig);
          faults[sig === 'SIGTERM' ? 'redis-restart-term' : 'redis-restart-kill']++;
          await sleep(down);
          await server.start();
          lastRedisRestart = Date.now();
        } else if (kind === 'client-kill') {
          const type = rand.next() < 0.75 ? 'normal' : 'pubsub';
          await Promise.race([redis.call('CLIENT', 'KILL', 'TYPE', type, 'SKIPME', 'yes'), sleep(3000)]);
          faults[`client-kill-${type}`]++;
          vlog(`CLIENT KILL TYPE ${type}`);
        }
      } catch (e) {
        problems.push(`fault ${kind}: ${e.message}`);
      }
    }
  };

  // --- neighbours (pidns, blockjobs): a standalone worker on the same host and queues, started
  // again and again; before each start the prune lock is cleared (standing in for its 60 s
  // expiring), so that every start runs Resque's start-up prune. One at a time: in a PID
  // namespace each is pid 1, so two at once would share a worker id. It is stopped with QUIT
  // (finish the current job), so none of its jobs is interrupted either.
  const neighbourLog = path.join(tmp, `phase-${index}.neighbours.log`);
  const neighbourArgs = [
    BIN,
    'worker',
    '--queues',
    QUEUES.join(','),
    '--jobs',
    JOBS,
    '--redis',
    url,
    '--on-dirty-exit',
    policy,
    '--term-timeout',
    '10',
    '--log-level',
    'debug',
  ];
  if (cls === 'blockjobs') neighbourArgs.push('--heartbeat-interval', '1', '--prune-interval', '3');
  if (cls === 'pidns' || cls === 'blockjobs') Object.assign(extra, { neighbourStarts: 0, neighbourPrunes: 0, neighbourSlowStops: 0 });
  if (cls === 'blockjobs') extra.prunesDuringLongBlock = 0;
  const lockKey = k('pruning_dead_workers_in_progress');
  /** One neighbour: start it (prune lock cleared), wait for it to register, let it live a little, QUIT it. */
  const runNeighbour = async (pidns, lifeMs) => {
    const kind = pidns ? 'pidns-neighbour' : 'neighbour';
    const n = ++extra.neighbourStarts;
    const nlog = path.join(tmp, `phase-${index}.neighbour-${n}.log`);
    await redis.del(lockKey);
    const fd = fs.openSync(nlog, 'a');
    const p = pidns
      ? spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, ...neighbourArgs], {
          cwd: ROOT,
          env: childEnv,
          stdio: ['ignore', fd, fd],
        })
      : spawn(process.execPath, neighbourArgs, { cwd: ROOT, env: childEnv, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    let exited = false;
    p.once('exit', () => (exited = true));
    p.once('error', e => {
      exited = true;
      problems.push(`neighbour #${n}: ${e.message}`);
    });
    faults[kind]++;
    // Registered (its log says so) means its start-up prune has run; the lock then holds its id.
    const regT0 = Date.now();
    let registered = false;
    while (!exited && Date.now() - regT0 < 20000) {
      if (/registered; /.test(readFrom(nlog, 0))) {
        registered = true;
        break;
      }
      await sleep(50);
    }
    if (registered) {
      const selfId = `${os.hostname()}:${pidns ? 1 : p.pid}:${QUEUES.join(',')}`;
      if ((await redis.get(lockKey)) === selfId) {
        extra.neighbourPrunes++;
        // Did that prune see a worker whose job had blocked its event loop past --prune-interval (3 s)?
        if (cls === 'blockjobs' && (await longBlockedWorkers(redis, 3)) > 0) extra.prunesDuringLongBlock++;
      }
    } else if (!exited) problems.push(`neighbour #${n} did not register within 20 s`);
    await sleep(Math.max(0, Math.min(lifeMs, faultEnd - Date.now())));
    // The worker itself: in a PID namespace, the child of unshare.
    const workerPid = () => (pidns ? taggedProcesses(tag).find(x => x.ppid === p.pid && x.state !== 'Z')?.pid : p.pid);
    const stopT0 = Date.now();
    let sent = null;
    while (!exited && Date.now() - stopT0 < 30000) {
      const w = workerPid();
      const want = Date.now() - stopT0 < 20000 ? 'SIGQUIT' : 'SIGTERM';
      if (w && sent !== want) {
        signal(w, want);
        sent = want;
      }
      await sleep(50);
    }
    if (!exited) {
      problems.push(`neighbour #${n} did not exit within 30 s of QUIT; SIGKILLed`);
      signal(p.pid, 'SIGKILL');
      const w = workerPid();
      if (w) signal(w, 'SIGKILL');
      while (!exited) await sleep(50);
    } else if (Date.now() - stopT0 > 8000) extra.neighbourSlowStops++;
    fs.appendFileSync(neighbourLog, `\n===== chaos: phase ${index} neighbour #${n} (${kind}) =====\n` + readFrom(nlog, 0));
    fs.rmSync(nlog, { force: true });
  };
  // pidns: one at a time (each is pid 1 in its namespace: two would share a worker id);
  // blockjobs: a new one every 1-2.5 s, up to 3 at once, each living 0.5-3 s.
  const neighbourFaults = async pidns => {
    const live = new Set();
    while (Date.now() < faultEnd - 1500) {
      if (pidns) {
        await runNeighbour(true, rand.int(1000, 4000));
        await sleep(rand.int(100, 800));
        continue;
      }
      if (live.size < 3) {
        const t = runNeighbour(false, rand.int(500, 3000)).finally(() => live.delete(t));
        live.add(t);
      }
      await sleep(rand.int(1000, 2500));
    }
    await Promise.all([...live]);
  };

  // --- redis-stop: SIGSTOP redis-server 1-6 s, then SIGCONT ---
  const redisStopFaults = async () => {
    Object.assign(extra, { redisStoppedMs: 0, busyAtFault: 0 });
    while (Date.now() < faultEnd) {
      await sleep(rand.int(1000, 3000));
      if (Date.now() >= faultEnd - 1000 || !server.proc) break;
      const ms = rand.int(1000, 6000);
      vlog(`SIGSTOP redis-server for ${ms} ms`);
      const busy = children().filter(x => x.busy).length;
      if (!signal(server.proc.pid, 'SIGSTOP')) continue;
      faults['redis-stop']++;
      extra.busyAtFault += busy;
      extra.redisStoppedMs += ms;
      await sleep(ms);
      signal(server.proc.pid, 'SIGCONT');
    }
  };

  // --- master-stop: SIGSTOP the master 3-15 s (past --job-timeout 5 + grace 5), then SIGCONT ---
  const masterStopFaults = async () => {
    Object.assign(extra, { masterStoppedMs: 0, busyAtFault: 0 });
    while (Date.now() < faultEnd) {
      await sleep(rand.int(500, 2000));
      if (Date.now() >= faultEnd - 2000) break;
      const m = master;
      if (!m || m.exited) continue;
      const ms = rand.int(3000, 15000);
      vlog(`SIGSTOP master ${m.pid} for ${ms} ms`);
      if (!signal(m.pid, 'SIGSTOP')) continue;
      faults['master-stop']++;
      extra.masterStoppedMs += ms;
      await sleep(ms);
      // The children worked on meanwhile: what is mid-job now is what a stale deadline would hit.
      extra.busyAtFault += children().filter(x => x.busy).length;
      signal(m.pid, 'SIGCONT');
    }
  };

  // --- blackhole: the current connections silent for good, or a 1-6 s partition that heals ---
  const blackholeFaults = async () => {
    Object.assign(extra, { blackholedConnections: 0, partitionMs: 0, busyAtFault: 0 });
    while (Date.now() < faultEnd) {
      await sleep(rand.int(1000, 3000));
      if (Date.now() >= faultEnd - 1000) break;
      const ms = rand.int(1000, 6000);
      extra.busyAtFault += children().filter(x => x.busy).length;
      if (rand.next() < 0.5) {
        const n = proxy.blackholeCurrent();
        vlog(`blackholed the ${n} open connections (new ones pass); next fault in >= ${ms} ms`);
        faults['blackhole-current']++;
        extra.blackholedConnections += n;
        await sleep(ms);
      } else {
        vlog(`partition for ${ms} ms`);
        proxy.partition();
        faults.partition++;
        extra.partitionMs += ms;
        await sleep(ms);
        proxy.heal();
      }
    }
  };

  // --- ctrl-c: SIGINT to the master's process group, wait for it to exit, start a new one ---
  const ctrlCFaults = async () => {
    Object.assign(extra, { busyAtFault: 0, ctrlCMaxStopMs: 0, ctrlCSlowStops: 0, childrenInMasterGroup: 0, childrenLeftAfterMaster: 0 });
    const termTimeout = 5;
    while (Date.now() < faultEnd - 3000) {
      // A master that has not yet installed its handlers would die of the default action.
      const m = await readyMaster();
      await sleep(rand.int(500, 4000));
      if (Date.now() >= faultEnd - 1000) break;
      const st = procStat(m.pid);
      if (st && st.pgrp !== m.pid) problems.push(`ctrl-c: master ${m.pid} is not its own process-group leader (pgrp ${st.pgrp})`);
      const kids = taggedProcesses(tag).filter(x => x.kind === 'child' && x.ppid === m.pid && x.state !== 'Z');
      extra.busyAtFault += kids.filter(x => x.busy).length;
      extra.childrenInMasterGroup += kids.filter(x => x.pgrp === m.pid).length;
      m.killedByUs = true;
      try {
        process.kill(-m.pid, 'SIGINT');
      } catch (e) {
        problems.push(`ctrl-c: kill(-${m.pid}, SIGINT): ${e.message}`);
        continue;
      }
      faults['ctrl-c']++;
      const sT0 = Date.now();
      while (!m.exited && Date.now() - sT0 < 30000) await sleep(20);
      const took = Date.now() - sT0;
      extra.ctrlCMaxStopMs = Math.max(extra.ctrlCMaxStopMs, took);
      if (took > (termTimeout + 2) * 1000) extra.ctrlCSlowStops++;
      if (!m.exited) {
        problems.push(`ctrl-c: master ${m.pid} still running 30 s after SIGINT to its group; SIGKILLed`);
        signal(m.pid, 'SIGKILL');
        while (!m.exited) await sleep(50);
      } else if (m.code !== 0) problems.push(`ctrl-c: master ${m.pid} exited with code ${m.code}, signal ${m.signal} after Ctrl-C`);
      const kT0 = Date.now();
      let left = kids.filter(x => running(x.pid));
      while (left.length && Date.now() - kT0 < 3000) {
        await sleep(100);
        left = left.filter(x => running(x.pid));
      }
      extra.childrenLeftAfterMaster += left.length;
      await sleep(rand.int(200, 1000));
      if (Date.now() < faultEnd) startMaster();
    }
  };

  // --- failover: SENTINEL FAILOVER once the set has settled (the demoted master back as a replica) ---
  const failoverFaults = async () => {
    Object.assign(extra, { busyAtFault: 0, switchMs: [] });
    while (Date.now() < faultEnd - 6000) {
      await sleep(rand.int(1000, 4000));
      // Under way: every child registered and the set settled.
      if (!master || master.exited || !(await childrenRegistered(master, 30000))) continue;
      if (!(await sentinelSet.settled())) continue;
      if (Date.now() >= faultEnd - 6000) break;
      const from = await sentinelSet.masterPort();
      const kids = children();
      const busy = kids.filter(x => x.busy).length;
      const fT0 = Date.now();
      const res = await sentinelSet.sentinelCall(0, 'failover', 'mymaster');
      if (res !== 'OK') {
        vlog(`SENTINEL FAILOVER: ${res}`);
        continue;
      }
      faults.failover++;
      extra.busyAtFault += busy;
      vlog(`SENTINEL FAILOVER (master ${from}, ${busy} children mid-job)`);
      // Detection: every child connected to the new master.
      let to = from;
      while (Date.now() - fT0 < 30000) {
        to = await sentinelSet.masterPort();
        if (to && to !== from) {
          const on = await sentinelSet.workerPidsOn(to);
          if (kids.every(x => !running(x.pid) || on.includes(x.pid))) break;
        }
        await sleep(50);
      }
      extra.switchMs.push(Date.now() - fT0);
      vlog(`children on the new master ${to} ${Date.now() - fT0} ms after SENTINEL FAILOVER`);
    }
  };

  /** The running master (started if there is none), once its children are registered. */
  const readyMaster = async () => {
    if (!master || master.exited) startMaster();
    const m = master;
    await childrenRegistered(m, 30000);
    return m;
  };

  const childrenRegistered = async (m, ms) => {
    const T0 = Date.now();
    while (!m.exited && Date.now() - T0 < ms) {
      const wids = await redis.smembers(k('workers'));
      if (new Set(wids.map(id => Number(id.split(':')[1])).filter(pid => procStat(pid)?.ppid === m.pid)).size >= nChildren) return true;
      await sleep(100);
    }
    return false;
  };

  // --- log-faults: per master life, remove the -f file's directory and/or close the master's
  // stdout/stderr pipes (its reader dies: EPIPE in the master and every child), let it work on
  // 2-5 s, then restart it gracefully (QUIT: children finish their job) to get fresh pipes.
  const logFaultLoop = async () => {
    Object.assign(extra, { busyAtFault: 0 });
    while (Date.now() < faultEnd - 3000) {
      const m = await readyMaster();
      await sleep(rand.int(300, 1500));
      extra.busyAtFault += children().filter(x => x.busy).length;
      const which = rand.weighted([
        ['dir', 1],
        ['stderr', 1],
        ['both', 1],
      ]);
      if (which !== 'stderr') {
        fs.rmSync(logDir, { recursive: true, force: true });
        faults['log-dir-removed']++;
        vlog(`removed ${logDir}`);
      }
      if (which !== 'dir') {
        m.closeStdio();
        faults['stderr-closed']++;
        vlog(`closed master ${m.pid}'s stdout/stderr pipes`);
      }
      await sleep(rand.int(2000, 5000));
      if (Date.now() >= faultEnd - 1000) break;
      m.killedByUs = true;
      signal(m.pid, 'SIGQUIT');
      const sT0 = Date.now();
      while (!m.exited && Date.now() - sT0 < 30000) await sleep(20);
      if (!m.exited) {
        problems.push(`log-faults: master ${m.pid} still running 30 s after QUIT; SIGKILLed`);
        signal(m.pid, 'SIGKILL');
        while (!m.exited) await sleep(50);
      } else if (m.code !== 0) problems.push(`log-faults: master ${m.pid} exited with code ${m.code}, signal ${m.signal} after QUIT`);
      faults['master-restart']++;
      startMaster();
    }
  };

  // --- redis-wipe: a burst of one long job per child; once every job of it is reserved (no job
  // queued, so the wipe can only cost an outcome, not a queued item), SIGKILL redis-server,
  // delete its data and start it empty (a cache-configured Redis restarting, a failover to an
  // empty replica). Sometimes a busy child is SIGKILLed after the wipe, so that the dirty-exit
  // requeue meets the wiped state too. Then wait for the burst to end.
  const wipedRecords = new Map(); // redis-wipe: id -> exceptions of the records a wipe erased
  const wipeFaults = async () => {
    Object.assign(extra, { busyAtFault: 0, wipeSkipped: 0 });
    let next = 0;
    const depth = async () => (await Promise.all(QUEUES.map(q => redis.llen(k(`queue:${q}`))))).reduce((a, b) => a + b, 0);
    while (Date.now() < faultEnd && next < ids.length) {
      if (!master || master.exited) startMaster();
      await childrenRegistered(master, 30000);
      const burst = ids.slice(next, next + o.children);
      next += burst.length;
      await enqueueBatch(burst);
      const wT0 = Date.now();
      let ready = false;
      while (Date.now() - wT0 < 10000) {
        if ((await depth()) === 0 && children().filter(x => x.busy).length > 0) {
          ready = true;
          break;
        }
        await sleep(20);
      }
      if (ready && rand.next() < 0.85) {
        await sleep(rand.int(0, 300));
        const busy = children().filter(x => x.busy);
        if ((await depth()) === 0) {
          extra.busyAtFault += busy.length;
          vlog(`wiping redis-server (${busy.length} jobs in flight)`);
          // What the wipe erases is not the workers' loss: keep the failure records written so
          // far. Writes are paused meanwhile, so none lands between this read and the kill.
          await redis.call('CLIENT', 'PAUSE', '2000', 'WRITE');
          for (const [id, ex] of (await snapshot(redis, prefix)).failedById) wipedRecords.set(id, ex);
          await server.stop('SIGKILL');
          for (const f of fs.readdirSync(tmp))
            if (/^(appendonlydir|appendonly\.aof|dump\.rdb)/.test(f)) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
          await server.start();
          faults['redis-wipe']++;
          if (busy.length && rand.next() < 0.4) {
            // Once the children are back (re-registered: a killed job's record is restored by
            // then). Before that, a killed job exists only in the dead process: see RELIABILITY.md.
            await childrenRegistered(master, 5000);
            await sleep(rand.int(0, 300));
            const v = rand.pick(children().filter(x => x.busy).length ? children().filter(x => x.busy) : busy);
            if (signal(v.pid, 'SIGKILL')) faults['wipe-then-child-kill']++;
            vlog(`SIGKILL child ${v.pid} after the wipe`);
          }
        } else extra.wipeSkipped++;
      } else extra.wipeSkipped++;
      // The burst is over when each of its jobs completed, has a failure record or is queued again.
      const bT0 = Date.now();
      while (Date.now() - bT0 < 15000) {
        const ledgerText = readFrom(ledger, 0);
        const snap = await snapshot(redis, prefix).catch(() => null);
        if (snap && burst.every(id => ledgerText.includes(`done ${id}\n`) || snap.failedById.has(id) || snap.queued.has(id))) break;
        await sleep(100);
      }
    }
    if (next < ids.length) await enqueueBatch(ids.slice(next));
  };

  // --- slots: a master whose children run job slots, plus a standalone `worker --concurrency`.
  // After every kill, each job the dead process's slots held must get its DirtyExit record (the
  // master's for a child, a prune by the restarted standalone for the standalone) and no
  // `workers` entry of the dead pid may stay.
  const killHeld = new Set(); // ids held by a process when we SIGKILLed it (a DirtyExit on them is the kill's)
  const killedPids = new Set(); // pids we SIGKILLed: a prune of their slots is no live prune
  const standaloneLog = path.join(tmp, `phase-${index}.standalone.log`);
  const standaloneArgs = [
    BIN,
    'worker',
    '--queues',
    QUEUES.join(','),
    '--jobs',
    JOBS,
    '--redis',
    url,
    '--concurrency',
    autoscale ? SLOTS_AUTOSCALE : String(SLOTS_STANDALONE),
    '--on-dirty-exit',
    policy,
    '--term-timeout',
    '5',
  ];
  let standalone = null;
  const startStandalone = async () => {
    // Its start-up prune must run (the lock stands in for one that ran less than 60 s ago).
    await redis.del(k('pruning_dead_workers_in_progress'));
    const fd = fs.openSync(standaloneLog, 'a');
    fs.writeSync(fd, `\n===== chaos: phase ${index} standalone start at +${((Date.now() - t0) / 1000).toFixed(1)}s =====\n`);
    const p = spawn(process.execPath, standaloneArgs, { cwd: ROOT, env: childEnv, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const w = { proc: p, pid: p.pid, exited: false, killedByUs: false, code: null, signal: null };
    p.once('exit', (code, sig) => {
      Object.assign(w, { exited: true, code, signal: sig });
      if (!w.killedByUs) problems.push(`standalone worker ${w.pid} exited by itself (code ${code}, signal ${sig}): see ${path.basename(standaloneLog)}`);
    });
    extra.standaloneStarts++;
    standalone = w;
    return w;
  };
  /** job id -> slot id of every job the slots of `pid` hold now (their worker:<id> records). */
  const heldByPid = async pid => {
    const held = new Map();
    for (const wid of await redis.smembers(k('workers'))) {
      if (Number(wid.split(':')[1]) !== pid) continue;
      const v = await redis.get(k(`worker:${wid}`));
      try {
        const a = v && JSON.parse(v).payload.args[0];
        if (typeof a === 'string' && a.startsWith(prefix)) held.set(a, wid);
      } catch {
        /* not ours */
      }
    }
    return held;
  };
  /** After a SIGKILL of pid: every held job gets a record (or had completed), and pid's slots leave `workers`. */
  const killChecks = [];
  const checkAfterKill = (pid, held, what) =>
    killChecks.push(
      (async () => {
        const T0 = Date.now();
        let missing = [...held.keys()];
        let stale = [];
        while (Date.now() - T0 < 20000) {
          try {
            const snap = await snapshot(redis, prefix);
            const ledgerText = readFrom(ledger, 0);
            missing = [...held.keys()].filter(id => !snap.failedById.has(id) && !ledgerText.includes(`done ${id}\n`));
            stale = (await redis.smembers(k('workers'))).filter(wid => Number(wid.split(':')[1]) === pid);
            if (!missing.length && !stale.length) break;
          } catch {
            /* redis stopped by a fault: next round */
          }
          await sleep(300);
        }
        extra.slotsHeldAtKill += held.size;
        extra.slotsUnaccounted += missing.length;
        extra.staleSlotsAfterKill += stale.length;
        if (missing.length)
          problems.push(
            `slots: ${what} ${pid}: ${missing.length} of its ${held.size} jobs got no DirtyExit record within 20 s (${missing.slice(0, 5).join(' ')})`,
          );
        if (stale.length)
          problems.push(`slots: ${what} ${pid}: ${stale.length} of its slots still in \`workers\` 20 s after the kill (${stale.slice(0, 3).join(' ')})`);
      })(),
    );
  const slotsFaults = async () => {
    Object.assign(extra, {
      busyAtFault: 0,
      slotsHeldAtKill: 0,
      slotsUnaccounted: 0,
      staleSlotsAfterKill: 0,
      maxSlotsBusy: 0,
      redisStoppedMs: 0,
      standaloneStarts: 0,
    });
    let lastRedisStop = 0;
    await startStandalone();
    while (Date.now() < faultEnd) {
      await sleep(rand.int(800, 2500));
      if (Date.now() >= faultEnd - 1000) break;
      if (!standalone || standalone.exited) await startStandalone();
      const kids = children();
      const table = [
        ['slots-child-kill', kids.length ? 25 : 0],
        ['slots-worker-kill', standalone && !standalone.exited ? 20 : 0],
        ['slots-child-term', kids.length ? 15 : 0],
        ['redis-stop', server.proc && Date.now() - lastRedisStop > 4000 ? 12 : 0],
        ['slots-usr1', 20],
      ].filter(([, w]) => w > 0);
      const kind = rand.weighted(table);
      try {
        // The child with the most jobs in flight.
        const busiest = async () => {
          let best = null;
          for (const c of kids) {
            const held = await heldByPid(c.pid);
            if (!best || held.size > best.held.size) best = { pid: c.pid, held };
          }
          return best;
        };
        if (kind === 'slots-child-kill') {
          const v = await busiest();
          if (!v) continue;
          extra.maxSlotsBusy = Math.max(extra.maxSlotsBusy, v.held.size);
          if (!signal(v.pid, 'SIGKILL')) continue;
          killedPids.add(v.pid);
          faults[kind]++;
          extra.busyAtFault += v.held.size;
          for (const id of v.held.keys()) killHeld.add(id);
          vlog(`SIGKILL child ${v.pid} (${v.held.size} jobs in flight)`);
          checkAfterKill(v.pid, v.held, 'child');
        } else if (kind === 'slots-worker-kill') {
          const w = standalone;
          const held = await heldByPid(w.pid);
          extra.maxSlotsBusy = Math.max(extra.maxSlotsBusy, held.size);
          w.killedByUs = true;
          if (!signal(w.pid, 'SIGKILL')) continue;
          killedPids.add(w.pid);
          faults[kind]++;
          extra.busyAtFault += held.size;
          for (const id of held.keys()) killHeld.add(id);
          vlog(`SIGKILL standalone worker ${w.pid} (${held.size} jobs in flight); restarting it`);
          while (!w.exited) await sleep(20);
          await sleep(rand.int(100, 1000));
          // The new one's start-up prune (another pid, same host and queues) must free the slots.
          await startStandalone();
          checkAfterKill(w.pid, held, 'standalone worker');
        } else if (kind === 'slots-child-term') {
          const v = await busiest();
          if (!v) continue;
          if (!signal(v.pid, 'SIGTERM')) continue;
          faults[kind]++;
          extra.busyAtFault += v.held.size;
          vlog(`SIGTERM child ${v.pid} (${v.held.size} jobs in flight)`);
        } else if (kind === 'redis-stop') {
          const ms = rand.int(1000, 4000);
          if (!signal(server.proc.pid, 'SIGSTOP')) continue;
          faults[kind]++;
          extra.redisStoppedMs += ms;
          vlog(`SIGSTOP redis-server for ${ms} ms`);
          await sleep(ms);
          signal(server.proc.pid, 'SIGCONT');
          lastRedisStop = Date.now();
        } else if (kind === 'slots-usr1') {
          const targets = [...kids.map(c => c.pid), ...(standalone && !standalone.exited ? [standalone.pid] : [])];
          if (!targets.length) continue;
          const pid = rand.pick(targets);
          if (!signal(pid, 'SIGUSR1')) continue;
          faults[kind]++;
          vlog(`SIGUSR1 ${pid}`);
        }
      } catch (e) {
        problems.push(`fault ${kind}: ${e.message}`);
      }
    }
    await Promise.all(killChecks);
  };

  const faultLoop =
    cls === 'mixed'
      ? mixedFaults()
      : cls === 'pidns'
        ? neighbourFaults(true)
        : cls === 'blockjobs'
          ? neighbourFaults(false)
          : cls === 'redis-stop'
            ? redisStopFaults()
            : cls === 'master-stop'
              ? masterStopFaults()
              : cls === 'log-faults'
                ? logFaultLoop()
                : cls === 'redis-wipe'
                  ? wipeFaults()
                  : cls === 'failover'
                    ? failoverFaults()
                    : cls === 'blackhole'
                      ? blackholeFaults()
                      : cls === 'slots'
                        ? slotsFaults()
                        : ctrlCFaults();

  // --- starvation watch: a live worker that takes no job for 20 s while the others work ---
  const starved = new Map(); // id -> description
  const watch = (async () => {
    const seen = new Map(); // id -> {count, since, globalAtSince}
    while (Date.now() < faultEnd) {
      await sleep(2000);
      // A slot that took no job while the others did is no unfairness (whichever parked first is served).
      if (cls === 'slots') continue;
      try {
        const globalNow = Number(await redis.get(k('stat:processed'))) || 0;
        for (const id of await redis.smembers(k('workers'))) {
          const pid = Number(id.split(':')[1]);
          const st = procStat(pid);
          if (!st || st.state === 'Z' || st.state === 'T' || !(readProc(pid, 'environ') || '').includes(`PYRES_CHAOS_TAG=${tag}\0`)) {
            seen.delete(id);
            continue;
          }
          const count = Number(await redis.get(k(`stat:processed:${id}`))) || 0;
          const prev = seen.get(id);
          if (!prev || prev.count !== count) {
            seen.set(id, { count, since: Date.now(), globalAtSince: globalNow });
            continue;
          }
          if (!starved.has(id) && Date.now() - prev.since >= 20000 && globalNow - prev.globalAtSince >= 200) {
            const orphan = master && st.ppid !== master.pid;
            starved.set(
              id,
              `${id} (pid ${pid}${orphan ? ', orphan' : ''}) took no job for ${Math.round((Date.now() - prev.since) / 1000)} s while the others took ${globalNow - prev.globalAtSince}`,
            );
            log(`starved worker: ${starved.get(id)}`);
          }
        }
      } catch {
        /* Redis restarting: next round */
      }
    }
  })();

  await Promise.all([trickle, faultLoop, watch]);
  for (const d of starved.values()) problems.push(`starved worker: ${d}`);
  log(`phase ${index}: fault window over (${Object.values(faults).reduce((a, b) => a + b, 0)} faults); draining`);

  // --- drain ---
  for (const [pid, t] of stopped) {
    clearTimeout(t);
    signal(pid, 'SIGCONT');
  }
  stopped.clear();
  for (const p of taggedProcesses(tag)) if (p.state === 'T') signal(p.pid, 'SIGCONT');
  if (!server.proc) await server.start();
  if (!master || master.exited) startMaster();
  const drainT0 = Date.now();
  let drained = false;
  while (Date.now() - drainT0 < 180000) {
    const depth = (await Promise.all(QUEUES.map(q => redis.llen(k(`queue:${q}`))))).reduce((a, b) => a + b, 0);
    const busy = await busyLiveWorkers(redis, tag);
    if (depth === 0 && busy === 0) {
      drained = true;
      break;
    }
    if (master.exited) startMaster();
    await sleep(250);
  }
  const drainMs = Date.now() - drainT0;
  if (!drained) problems.push(`phase ${index}: queues did not drain within 180 s after the fault window (stuck workers?)`);
  log(`phase ${index}: ${drained ? 'drained' : 'NOT drained'} in ${(drainMs / 1000).toFixed(1)}s; stopping the master with TERM`);

  // --- stop everything we started ---
  // A master just (re)started has not installed its signal handlers yet: give it time to get
  // its children registered, so TERM is the graceful stop and not the default action.
  const readyT0 = Date.now();
  while (Date.now() - readyT0 < 20000) {
    const ids = await redis.smembers(k('workers'));
    const mine = new Set(ids.map(id => Number(id.split(':')[1])).filter(pid => procStat(pid)?.ppid === master.pid));
    if (mine.size >= nChildren) break;
    await sleep(100);
  }
  if (standalone) {
    // The standalone worker first (TERM: its slots abort their jobs, which get --term-timeout 5).
    const w = standalone;
    w.killedByUs = true;
    signal(w.pid, 'SIGTERM');
    const wT0 = Date.now();
    while (!w.exited && Date.now() - wT0 < 30000) await sleep(50);
    if (!w.exited) {
      problems.push(`phase ${index}: standalone worker ${w.pid} did not exit within 30 s of TERM; SIGKILLed`);
      signal(w.pid, 'SIGKILL');
      while (!w.exited) await sleep(50);
    } else if (w.code !== 0) problems.push(`phase ${index}: standalone worker exited with code ${w.code}, signal ${w.signal} after TERM`);
  }
  stoppingMaster = true;
  const m = master;
  signal(m.pid, 'SIGTERM');
  const stopT0 = Date.now();
  while (!m.exited && Date.now() - stopT0 < 30000) await sleep(50);
  if (!m.exited) {
    problems.push(`phase ${index}: master ${m.pid} did not exit within 30 s of TERM; SIGKILLed`);
    signal(m.pid, 'SIGKILL');
    while (!m.exited) await sleep(50);
  } else if (m.code !== 0) problems.push(`phase ${index}: master exited with code ${m.code}, signal ${m.signal} after TERM`);
  // Orphans of killed masters finish their job (at most ~1 s here) and exit by themselves.
  const orphT0 = Date.now();
  let left = taggedProcesses(tag).filter(p => p.state !== 'Z');
  while (left.length && Date.now() - orphT0 < 10000) {
    await sleep(100);
    left = taggedProcesses(tag).filter(p => p.state !== 'Z');
  }
  if (left.length) {
    problems.push(`phase ${index}: ${left.length} process(es) still running 10 s after the master stopped (pids ${left.map(p => p.pid).join(',')}); SIGKILLed`);
    for (const p of left) signal(p.pid, 'SIGKILL');
    await sleep(500);
  }
  const zombies = [...seenPids].filter(pid => procStat(pid)?.state === 'Z');
  if (proxy) {
    extra.proxyAccepted = proxy.stats.accepted;
    await proxy.close();
  }

  // --- before the final prune: what is only held in worker:<id> records ---
  const before = await snapshot(redis, prefix);
  const lockTtl = await redis.ttl(k('pruning_dead_workers_in_progress'));
  const staleWorkers = await redis.smembers(k('workers'));
  // Every worker is stopped: any heartbeat field left is one that no unregister removed.
  const staleHeartbeats = await redis.hkeys(k('workers:heartbeat'));

  // --- the final prune pass ---
  if (lockTtl > 0) {
    // Every worker is stopped, so no prune can be running: the lock only says one ran less than
    // 60 s ago. A worker started after it expires would prune; we do not wait the minute out.
    await redis.del(k('pruning_dead_workers_in_progress'));
  }
  const finalLog = path.join(tmp, `phase-${index}.final-worker.log`);
  const fd = fs.openSync(finalLog, 'a');
  const fin = spawnSync(process.execPath, [BIN, 'worker', '--queues', QUEUES.join(','), '--jobs', JOBS, '--redis', url, '--drain', '--on-dirty-exit', policy], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', fd, fd],
    timeout: 120000,
  });
  fs.closeSync(fd);
  if (fin.status !== 0) problems.push(`phase ${index}: the final prune worker exited with ${fin.status} (${fin.signal ?? ''}); see ${finalLog}`);
  const finalText = fs.readFileSync(finalLog, 'utf8');
  const prunedFinal = (finalText.match(/pruned dead worker/g) || []).length;

  // --- accounting ---
  const after = await snapshot(redis, prefix);
  for (const [id, ex] of wipedRecords) after.failedById.set(id, [...ex, ...(after.failedById.get(id) || [])]);
  const performed = new Map();
  const completed = new Map(); // ChaosStep's `done <id>`: the job's function returned
  for (const line of fs.readFileSync(ledger, 'utf8').split('\n')) {
    if (line.startsWith(prefix)) performed.set(line, (performed.get(line) || 0) + 1);
    else if (line.startsWith(`done ${prefix}`)) completed.set(line.slice(5), (completed.get(line.slice(5)) || 0) + 1);
  }
  const enqueuedInRedis = await redis.scard('chaos:enqueued');
  let lost = 0;
  const lostIds = [];
  let duplicated = 0;
  let dupExtra = 0;
  let performedAndDirty = 0;
  let dirtyOnly = 0;
  // Falsely failed: a failure record for a job that completed; outside mixed (where no fault
  // kills a job) any failure record; in mixed any record but a dirty exit (the kills' own).
  let falselyFailed = 0;
  const falselyFailedIds = [];
  let interrupted = 0; // performed, never completed (ChaosStep only)
  let multiRecords = 0; // ids with more than one failure record (a kill recorded twice: the master's and a prune's)
  // OUTCOME_CLASSES: a planned failure whose job ran to its end but left no failure record.
  let outcomeLost = 0;
  const outcomeLostIds = [];
  for (const id of ids) {
    const n = performed.get(id) || 0;
    const recs = after.failedById.get(id);
    const planned = plannedFail.has(id);
    const killed = (OUTCOME_CLASSES.has(cls) || cls === 'slots') && recs?.some(e => /DirtyExit/.test(e));
    if (OUTCOME_CLASSES.has(cls)) {
      // A record is false when it is not the planned failure and not a dirty exit of a child
      // killed here; a planned failure that ran to its end with no record lost its outcome.
      const falseRecs = (recs || []).filter(e => !/DirtyExit/.test(e) && !(planned && e === 'Error'));
      if (falseRecs.length) {
        falselyFailed++;
        if (falselyFailedIds.length < 20) falselyFailedIds.push(`${id} (${recs.join(', ')})`);
      }
      if (planned && (completed.get(id) || 0) > 0 && !(recs || []).includes('Error')) {
        outcomeLost++;
        if (outcomeLostIds.length < 20) outcomeLostIds.push(id);
      }
    } else if (cls === 'slots') {
      // A DirtyExit is a kill's or an abort's (USR1, TERM); on a completed job only when a killed
      // process held it (killed between its `done` and its finish). Any other record is false.
      if (recs && (recs.some(e => !/DirtyExit/.test(e)) || ((completed.get(id) || 0) > 0 && !killHeld.has(id)))) {
        falselyFailed++;
        if (falselyFailedIds.length < 20) falselyFailedIds.push(`${id} (${recs.join(', ')})`);
      }
    } else if (recs && ((completed.get(id) || 0) > 0 || cls !== 'mixed' || recs.some(e => !/DirtyExit/.test(e)))) {
      falselyFailed++;
      if (falselyFailedIds.length < 20) falselyFailedIds.push(`${id} (${recs.join(', ')})`);
    }
    if (cls !== 'mixed' && n > 0 && !(completed.get(id) > 0) && !killed) interrupted++;
    if (recs && recs.length > 1) multiRecords++;
    if (n > 1) {
      duplicated++;
      dupExtra += n - 1;
    }
    const dirty = after.failedById.get(id)?.some(e => e === 'Resque::DirtyExit' || e === 'Resque::PruneDeadWorkerDirtyExit');
    if (n > 0 && dirty) performedAndDirty++;
    if (n === 0 && dirty) dirtyOnly++;
    if (n === 0 && !after.failedById.has(id) && !after.queued.has(id) && !after.held.has(id)) {
      lost++;
      if (lostIds.length < 20) lostIds.push(id);
    }
  }
  const heldOnlyBefore = [...before.held.keys()].filter(id => !(performed.get(id) > 0) && !before.failedById.has(id) && !before.queued.has(id));
  const masterLogText = fs.existsSync(masterLog) ? fs.readFileSync(masterLog, 'utf8') : '';
  const phaseLog = masterLogText.slice(masterLogText.lastIndexOf(`===== chaos: phase ${index} master start #1 `));
  const neighbourText = fs.existsSync(neighbourLog) ? fs.readFileSync(neighbourLog, 'utf8') : '';
  const reregRe = /this live worker was missing from `workers`/g;
  const ph = {
    phase: index,
    cls,
    mode,
    policy,
    jobs,
    enqueued: enqueued.size,
    performed: [...performed.values()].filter(n => n > 0).length,
    performedRuns: [...performed.values()].reduce((a, b) => a + b, 0),
    failedDirtyExit: [...after.failedById.values()].filter(es => es.some(e => /DirtyExit/.test(e))).length,
    failedOther: after.failedOther,
    failedExceptions: after.exceptions,
    failureRecordsInvalid: after.invalidRecords,
    stillQueued: after.queued.size,
    heldInWorkerRecordBeforeFinalPrune: heldOnlyBefore.length,
    heldInWorkerRecordAfterFinalPrune: after.held.size,
    prunedByFinalPass: prunedFinal,
    pruneLockTtlAtEnd: lockTtl,
    staleWorkersBeforeFinalPrune: staleWorkers.length,
    staleHeartbeatsBeforeFinalPrune: staleHeartbeats.length,
    zombies: zombies.length,
    orphansThatDidNotExit: left.length,
    starvedWorkers: starved.size,
    // In the classes with planned failures, a planned failure without its record is lost too.
    lost: lost + outcomeLost,
    lostIds: [...lostIds, ...outcomeLostIds].slice(0, 20),
    outcomeLost: OUTCOME_CLASSES.has(cls) ? outcomeLost : undefined,
    plannedFailures: OUTCOME_CLASSES.has(cls) ? plannedFail.size : undefined,
    duplicated,
    duplicateExtraRuns: dupExtra,
    performedAndDirtyExit: performedAndDirty,
    dirtyExitNotPerformed: dirtyOnly,
    completed: [...completed.values()].filter(n => n > 0).length,
    falselyFailed,
    falselyFailedIds,
    interrupted,
    // Outside mixed no worker dies, so any prune during the run took a live worker for dead.
    livePruned: cls === 'mixed' ? 0 : (neighbourText.match(/pruned dead worker/g) || []).length + (phaseLog.match(/pruned dead worker/g) || []).length,
    broken: 0,
    ...extra,
    prunedByNeighbours: cls === 'pidns' || cls === 'blockjobs' ? (neighbourText.match(/pruned dead worker/g) || []).length : undefined,
    neighbourSkipsOtherNamespace: cls === 'pidns' ? (neighbourText.match(/runs in another PID namespace/g) || []).length : undefined,
    reregisteredAfterPrune: (phaseLog.match(reregRe) || []).length + (neighbourText.match(reregRe) || []).length,
    neighbourStackTraceLines: (neighbourText.match(/^\s+at .+\(.+:\d+:\d+\)$/gm) || []).length,
    faults,
    faultsTotal: Object.values(faults).reduce((a, b) => a + b, 0),
    masterStarts,
    masterExitsUnexpected: masterExits.filter(e => !e.killedByUs).length - 1,
    connectionLostLines: (phaseLog.match(/Redis connection lost/g) || []).length,
    stackTraceLines: (phaseLog.match(/^\s+at .+\(.+:\d+:\d+\)$/gm) || []).length,
    childCrashLines: (phaseLog.match(/while working on/g) || []).length,
    prunedDuringRun: (phaseLog.match(/pruned dead worker/g) || []).length,
    drainMs,
    elapsedMs: Date.now() - phaseT0,
    enqueuedSetSize: enqueuedInRedis,
    harnessProblems: problems,
  };
  if (ph.masterExitsUnexpected < 0) ph.masterExitsUnexpected = 0;
  if (cls === 'slots') {
    // Prunes are expected here (the standalone's slots after its SIGKILL): a live one is not.
    const standaloneText = fs.existsSync(standaloneLog) ? fs.readFileSync(standaloneLog, 'utf8') : '';
    const prunedIds = [...(phaseLog + standaloneText).matchAll(/pruned dead worker (\S+)/g)].map(x => x[1]);
    ph.prunedDuringRun = prunedIds.length;
    ph.livePruned = prunedIds.filter(wid => !killedPids.has(Number(wid.split(':')[1]))).length;
    ph.stackTraceLines += (standaloneText.match(/^\s+at .+\(.+:\d+:\d+\)$/gm) || []).length;
  }
  if (cls !== 'mixed') ph.broken = duplicated + falselyFailed + interrupted + ph.livePruned;
  if (cls === 'slots') ph.multiRecords = multiRecords;
  if (cls === 'slots')
    ph.broken += multiRecords + staleWorkers.length + staleHeartbeats.length + (extra.slotsUnaccounted || 0) + (extra.staleSlotsAfterKill || 0) + left.length;
  if (OUTCOME_CLASSES.has(cls)) {
    // A child SIGKILLed after a wipe may have passed its side effect: under requeue it runs again.
    const allowance = faults['wipe-then-child-kill'] || 0;
    ph.broken = Math.max(0, duplicated - allowance) + falselyFailed + interrupted + ph.livePruned + ph.masterExitsUnexpected;
  }
  if (cls === 'failover') {
    // Without --wait-replicas duplicates are what this class measures; with it, only those past
    // the children mid-job at a failover count against the run.
    ph.waitReplicas = wait ? 1 : 0;
    ph.duplicatedPerFailover = faults.failover ? +(duplicated / faults.failover).toFixed(1) : 0;
    const sw = [...(extra.switchMs || [])].sort((a, b) => a - b);
    ph.switchMsMedian = sw.length ? sw[Math.floor(sw.length / 2)] : 0;
    ph.switchMsMax = sw.length ? sw[sw.length - 1] : 0;
    delete ph.switchMs;
    ph.broken = falselyFailed + interrupted + ph.livePruned + (wait ? Math.max(0, duplicated - (extra.busyAtFault || 0)) : 0);
  }
  if (after.held.size)
    problems.push(
      `phase ${index}: ${after.held.size} job(s) still held in worker:<id> records after the final prune (their pid looks alive: a zombie or a reused pid; only the 300 s heartbeat prune would free them)`,
    );
  if (zombies.length)
    problems.push(`phase ${index}: ${zombies.length} zombie process(es) (nothing reaps orphans here; run with python3 available so the subreaper can)`);
  log(
    `phase ${index} (${cls}): lost ${ph.lost}, duplicated ${duplicated}, falsely failed ${falselyFailed}, performed ${ph.performed}/${jobs}, DirtyExit ${ph.failedDirtyExit}, ` +
      `queued ${ph.stillQueued}, held-before-final-prune ${ph.heldInWorkerRecordBeforeFinalPrune}, ${(ph.elapsedMs / 1000).toFixed(1)}s`,
  );
  for (const p of problems) log(`  problem: ${p}`);
  if (sentinelSet) {
    redis.disconnect();
    await sentinelSet.stop();
  }
  return ph;
}

/**
 * The failover class's Sentinel set: a redis-server master (append-only, as the main one), one
 * replica of it, and three sentinels (quorum 2) that know of each other and of the replica.
 */
async function startSentinelSet(dir) {
  const Redis = require(require.resolve('ioredis', { paths: [ROOT] }));
  fs.mkdirSync(dir, { recursive: true });
  const mk = (name, ...a) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    return new RedisServer(path.join(dir, name), ...a);
  };
  const [pa, pb, ...ps] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const a = mk('a', pa);
  const b = mk('b', pb, ['--replicaof', '127.0.0.1', String(pa)]);
  const conf = [
    `sentinel monitor mymaster 127.0.0.1 ${pa} 2`,
    'sentinel down-after-milliseconds mymaster 5000',
    'sentinel failover-timeout mymaster 10000',
  ].join('\n');
  const sentinels = ps.map((p, i) => mk(`s${i + 1}`, p, [], conf));
  for (const x of [a, b, ...sentinels]) await x.start();
  const quick = port => {
    const c = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      enableOfflineQueue: false,
    });
    c.on('error', () => undefined);
    return c;
  };
  const call = async (port, ...args) => {
    const c = quick(port);
    try {
      await c.connect();
      return await c.call(...args);
    } catch (e) {
      return `ERR ${e.message}`;
    } finally {
      c.disconnect();
    }
  };
  const field = (arr, f) => (Array.isArray(arr) ? arr[arr.indexOf(f) + 1] : undefined);
  const set = {
    url: `redis+sentinel://${ps.map(p => `127.0.0.1:${p}`).join(',')}/mymaster`,
    client: () => {
      const c = new Redis({
        sentinels: ps.map(port => ({ host: '127.0.0.1', port })),
        name: 'mymaster',
        failoverDetector: true,
        reconnectOnError: e => (/READONLY/.test(e.message) ? 2 : false),
        maxRetriesPerRequest: null,
        retryStrategy: n => Math.min(50 * n, 500),
      });
      c.on('error', () => undefined);
      return c;
    },
    sentinelCall: (i, ...args) => call(ps[i], 'SENTINEL', ...args),
    masterPort: async () => {
      const r = await call(ps[0], 'SENTINEL', 'get-master-addr-by-name', 'mymaster');
      return Array.isArray(r) ? Number(r[1]) : null;
    },
    /** Every sentinel agrees on the master and knows the others; the master has its replica online, and the sentinels see it healthy. */
    settled: async () => {
      const views = await Promise.all(ps.map(p => call(p, 'SENTINEL', 'master', 'mymaster')));
      if (!views.every(v => Array.isArray(v) && field(v, 'flags') === 'master' && field(v, 'port') === field(views[0], 'port'))) return false;
      if (views.some(v => Number(field(v, 'num-other-sentinels')) < 2)) return false;
      const reps = await call(ps[0], 'SENTINEL', 'replicas', 'mymaster');
      if (!Array.isArray(reps) || !reps.some(r => field(r, 'flags') === 'slave' && field(r, 'master-link-status') === 'ok')) return false;
      const info = String(await call(Number(field(views[0], 'port')), 'INFO', 'replication'));
      return /connected_slaves:[1-9]/.test(info) && /slave0:.*state=online/.test(info);
    },
    /** pids of pyres-ts worker connections (CLIENT SETNAME pyres-ts:worker:<pid>) on a server. */
    workerPidsOn: async port => [...String(await call(port, 'CLIENT', 'LIST')).matchAll(/name=pyres-ts:worker:(\d+)\s/g)].map(m => Number(m[1])),
    stop: async () => {
      liveSentinelSets.delete(set);
      for (const x of [...sentinels, a, b]) await x.stop('SIGTERM');
    },
  };
  liveSentinelSets.add(set);
  const T0 = Date.now();
  while (!(await set.settled())) {
    if (Date.now() - T0 > 60000) throw new Error(`the Sentinel set in ${dir} did not settle within 60 s`);
    await sleep(250);
  }
  return set;
}

/** worker:<id> records of a ChaosStep job that blocks the event loop and started more than `seconds` ago. */
async function longBlockedWorkers(redis, seconds) {
  let n = 0;
  const now = Date.now();
  for (const id of await redis.smembers(k('workers'))) {
    const v = await redis.get(k(`worker:${id}`));
    if (!v) continue;
    try {
      const w = JSON.parse(v);
      const args = w.payload && w.payload.args;
      if (Array.isArray(args) && (args[3] === 'sleep' || args[3] === 'cpu') && now - Date.parse(w.run_at) > seconds * 1000) n++;
    } catch {
      /* not ours */
    }
  }
  return n;
}

/** Workers whose worker:<id> record exists and whose pid is a running process of ours. */
async function busyLiveWorkers(redis, tag) {
  const ids = await redis.smembers(k('workers'));
  let n = 0;
  for (const id of ids) {
    const pid = Number(id.split(':')[1]);
    if (!running(pid)) continue;
    const env = readProc(pid, 'environ');
    if (!env || !env.includes(`PYRES_CHAOS_TAG=${tag}\0`)) continue;
    if (await redis.exists(k(`worker:${id}`))) n++;
  }
  return n;
}

/** Ids of this phase in failed (with their exceptions), in the queues, and in worker:<id> records. */
async function snapshot(redis, prefix) {
  const idOf = payload => {
    const a = payload && Array.isArray(payload.args) ? payload.args[0] : undefined;
    return typeof a === 'string' && a.startsWith(prefix) ? a : null;
  };
  const failedById = new Map();
  const exceptions = {};
  let failedOther = 0;
  let invalidRecords = 0;
  const n = await redis.llen(k('failed'));
  for (let i = 0; i < n; i += 1000) {
    for (const raw of await redis.lrange(k('failed'), i, i + 999)) {
      let rec;
      try {
        rec = JSON.parse(raw);
      } catch {
        invalidRecords++;
        continue;
      }
      if (typeof rec.failed_at !== 'string' || typeof rec.worker !== 'string' || typeof rec.exception !== 'string' || !Array.isArray(rec.backtrace))
        invalidRecords++;
      const id = idOf(rec.payload);
      if (!id) continue;
      if (!failedById.has(id)) failedById.set(id, []);
      failedById.get(id).push(rec.exception);
      exceptions[rec.exception] = (exceptions[rec.exception] || 0) + 1;
      if (!/DirtyExit/.test(rec.exception)) failedOther++;
    }
  }
  const queued = new Set();
  for (const q of QUEUES) {
    for (const raw of await redis.lrange(k(`queue:${q}`), 0, -1)) {
      try {
        const id = idOf(JSON.parse(raw));
        if (id) queued.add(id);
      } catch {
        /* not ours */
      }
    }
  }
  const held = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', k('worker:*'), 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      if (key.endsWith(':started')) continue;
      const v = await redis.get(key);
      try {
        const id = idOf(JSON.parse(v).payload);
        if (id) held.set(id, key.slice(k('worker:').length));
      } catch {
        /* not ours */
      }
    }
  } while (cursor !== '0');
  return { failedById, exceptions, failedOther, invalidRecords, queued, held };
}

function sumPhases(phases) {
  const t = {
    jobs: 0,
    performed: 0,
    lost: 0,
    duplicated: 0,
    duplicateExtraRuns: 0,
    failedDirtyExit: 0,
    failedOther: 0,
    stillQueued: 0,
    heldInWorkerRecordBeforeFinalPrune: 0,
    heldInWorkerRecordAfterFinalPrune: 0,
    performedAndDirtyExit: 0,
    falselyFailed: 0,
    interrupted: 0,
    livePruned: 0,
    plannedFailures: 0,
    outcomeLost: 0,
    broken: 0,
    faults: {},
    faultsTotal: 0,
    harnessProblems: [],
  };
  for (const p of phases) {
    for (const key of Object.keys(t)) {
      if (typeof t[key] === 'number') t[key] += p[key] ?? 0;
    }
    for (const [f, n] of Object.entries(p.faults)) t.faults[f] = (t.faults[f] || 0) + n;
    t.harnessProblems.push(...p.harnessProblems);
  }
  return t;
}

const FAULT_LABELS = {
  'child-kill': 'child SIGKILL',
  'child-stop': 'child SIGSTOP/CONT',
  'orphan-kill': 'orphan SIGKILL',
  'master-kill': 'master SIGKILL',
  'redis-restart-term': 'redis restart (TERM)',
  'redis-restart-kill': 'redis restart (KILL)',
  'client-kill-normal': 'CLIENT KILL normal',
  'client-kill-pubsub': 'CLIENT KILL pubsub',
  'pidns-neighbour': 'PID-namespace neighbour starts',
  'blocking-job': 'jobs blocking the loop ~5 s',
  neighbour: 'neighbour starts (same namespace)',
  'redis-stop': 'redis-server SIGSTOP/CONT',
  'master-stop': 'master SIGSTOP/CONT',
  'ctrl-c': 'SIGINT to the master process group',
  'slots-child-kill': 'SIGKILL of the busiest slots child',
  'slots-worker-kill': 'SIGKILL of the standalone slots worker',
  'slots-child-term': 'SIGTERM to the busiest slots child',
  'slots-usr1': 'SIGUSR1 (every slot aborts its job)',
  failover: 'SENTINEL FAILOVER',
  'blackhole-current': 'open connections blackholed (new pass)',
  partition: 'partitions (all silent), healed',
};

function printSummary(phases, total, o, elapsed, skipped = []) {
  const col = (f, t = '') => [...phases.map(f), t];
  const has = key => phases.some(p => p[key] !== undefined);
  const opt = (label, key, fmt = v => v) => (has(key) ? [[label, ...col(p => (p[key] === undefined ? '' : fmt(p[key])))]] : []);
  const faultKinds = [...new Set(phases.flatMap(p => Object.keys(p.faults)))];
  const rows = [
    ['', ...phases.map(p => `phase ${p.phase}`), 'total'],
    ['fault class', ...col(p => p.cls)],
    ['mode', ...col(p => p.mode)],
    ['--on-dirty-exit', ...col(p => p.policy)],
    ['jobs enqueued', ...col(p => p.enqueued, total.jobs)],
    ['performed (ledger)', ...col(p => p.performed, total.performed)],
    ['completed (ChaosStep done mark)', ...col(p => (p.cls === 'mixed' ? '-' : p.completed))],
    ['failed: DirtyExit', ...col(p => p.failedDirtyExit, total.failedDirtyExit)],
    ['failed: other', ...col(p => p.failedOther, total.failedOther)],
    ['still queued', ...col(p => p.stillQueued, total.stillQueued)],
    ['LOST-IN-WORKER-RECORD (before final prune)', ...col(p => p.heldInWorkerRecordBeforeFinalPrune, total.heldInWorkerRecordBeforeFinalPrune)],
    ['held in worker records (after final prune)', ...col(p => p.heldInWorkerRecordAfterFinalPrune, total.heldInWorkerRecordAfterFinalPrune)],
    ['LOST', ...col(p => p.lost, total.lost)],
    ['duplicated (performed > 1x)', ...col(p => p.duplicated, total.duplicated)],
    ['FALSELY FAILED', ...col(p => p.falselyFailed, total.falselyFailed)],
    ['LIVE WORKERS PRUNED (outside mixed)', ...col(p => (p.cls === 'mixed' ? '-' : p.livePruned))],
    ['planned failures (log-faults, redis-wipe)', ...col(p => p.plannedFailures ?? '-', total.plannedFailures)],
    ['  of them without a record (in LOST)', ...col(p => p.outcomeLost ?? '-', total.outcomeLost)],
    ['interrupted (performed, not completed)', ...col(p => (p.cls === 'mixed' ? '-' : p.interrupted), total.interrupted)],
    ['performed and DirtyExit', ...col(p => p.performedAndDirtyExit, total.performedAndDirtyExit)],
    ...faultKinds.map(f => [`faults: ${FAULT_LABELS[f] || f}`, ...col(p => p.faults[f] ?? '', total.faults[f])]),
    ...opt('neighbour start-up prunes run', 'neighbourPrunes'),
    ...opt('neighbour prune skips: other PID namespace', 'neighbourSkipsOtherNamespace'),
    ...opt('prunes while a job had blocked its loop > 3 s', 'prunesDuringLongBlock'),
    ...opt('workers pruned by neighbours', 'prunedByNeighbours'),
    ...opt('live workers re-registered after a prune', 'reregisteredAfterPrune'),
    ...opt('neighbours slow to stop (> 8 s after QUIT)', 'neighbourSlowStops'),
    ...opt('children mid-job at STOP (redis) / CONT (master) / SIGINT / FAILOVER', 'busyAtFault'),
    ...opt('--wait-replicas', 'waitReplicas'),
    ...opt('duplicated per failover', 'duplicatedPerFailover'),
    ...opt('failover: children on the new master, median (ms)', 'switchMsMedian'),
    ...opt('failover: children on the new master, max (ms)', 'switchMsMax'),
    ...opt('redis-server stopped (s, total)', 'redisStoppedMs', v => (v / 1000).toFixed(1)),
    ...opt('master stopped (s, total)', 'masterStoppedMs', v => (v / 1000).toFixed(1)),
    ...opt('slots: jobs held by killed processes', 'slotsHeldAtKill'),
    ...opt('slots: most jobs in flight in one killed process', 'maxSlotsBusy'),
    ...opt('SLOTS: HELD JOBS WITHOUT A DIRTYEXIT AFTER A KILL', 'slotsUnaccounted'),
    ...opt('SLOTS: DEAD SLOTS STILL IN `workers` 20 S AFTER A KILL', 'staleSlotsAfterKill'),
    ...opt('SLOTS: JOBS WITH MORE THAN ONE FAILURE RECORD', 'multiRecords'),
    ...opt('slots: standalone worker starts', 'standaloneStarts'),
    ...opt('connections blackholed', 'blackholedConnections'),
    ...opt('partitioned (s, total)', 'partitionMs', v => (v / 1000).toFixed(1)),
    ...opt('connections through the proxy', 'proxyAccepted'),
    ...opt('Ctrl-C: longest master exit (s)', 'ctrlCMaxStopMs', v => (v / 1000).toFixed(1)),
    ...opt('Ctrl-C: exits past --term-timeout + 2 s', 'ctrlCSlowStops'),
    ...opt("Ctrl-C: children in the master's group", 'childrenInMasterGroup'),
    ...opt('Ctrl-C: children left 3 s after master exit', 'childrenLeftAfterMaster'),
    ['masters started', ...col(p => p.masterStarts)],
    ['orphans still running 10 s after stop', ...col(p => p.orphansThatDidNotExit)],
    ['starved workers (no job in 20 s, others busy)', ...col(p => p.starvedWorkers)],
    ['"connection lost" log lines', ...col(p => p.connectionLostLines)],
    ['stack-trace lines in logs', ...col(p => p.stackTraceLines + (p.neighbourStackTraceLines || 0))],
    ['prune lock TTL at end (s)', ...col(p => p.pruneLockTtlAtEnd)],
    ['stale workers before final prune', ...col(p => p.staleWorkersBeforeFinalPrune)],
    ['stale heartbeat fields before final prune', ...col(p => p.staleHeartbeatsBeforeFinalPrune)],
    ['dead workers pruned during the run', ...col(p => p.prunedDuringRun)],
    ['pruned by the final pass', ...col(p => p.prunedByFinalPass)],
    ['drain after faults (s)', ...col(p => (p.drainMs / 1000).toFixed(1))],
    ['phase time (s)', ...col(p => (p.elapsedMs / 1000).toFixed(1), (elapsed / 1000).toFixed(1))],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => String(r[c] ?? '').length)));
  process.stdout.write('\n');
  for (const r of rows) process.stdout.write(r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v ?? '').padStart(widths[c]))).join('  ') + '\n');
  process.stdout.write('\n');
  for (const sk of skipped) process.stdout.write(`skipped: ${sk.cls}: ${sk.why}\n`);
  for (const p of phases) if (p.lostIds.length) process.stdout.write(`phase ${p.phase} lost ids (first ${p.lostIds.length}): ${p.lostIds.join(' ')}\n`);
  for (const p of phases)
    if (p.falselyFailedIds.length)
      process.stdout.write(`phase ${p.phase} falsely failed (first ${p.falselyFailedIds.length}): ${p.falselyFailedIds.join('; ')}\n`);
  for (const pr of total.harnessProblems) process.stdout.write(`problem: ${pr}\n`);
  const verdict =
    total.lost > 0 ? 'LOST JOBS' : total.broken > 0 ? 'DUPLICATED, FALSELY FAILED OR INTERRUPTED JOBS, OR LIVE WORKERS PRUNED (outside mixed)' : 'OK';
  process.stdout.write(
    `chaos: seed ${o.seed}: ${total.jobs} jobs, ${total.faultsTotal} faults, lost ${total.lost}, duplicated ${total.duplicated}, ` +
      `falsely failed ${total.falselyFailed}, ${(elapsed / 1000).toFixed(1)}s -> ${verdict}\n`,
  );
}

main().catch(e => {
  process.stderr.write(`chaos: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
