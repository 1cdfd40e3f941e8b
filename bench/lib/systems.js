'use strict';
// How the bench starts, drives and stops each system under test:
//   pyres-ts:    real processes through bin/pyres-ts (`worker`, `master`), jobs from bench/jobs.js
//   node-resque: bench/node-resque-worker.js, one node-resque Worker per process, same jobs
// Both run with stdout/stderr going to files (or stdout to a pipe when the bench reads stamps),
// so no process blocks on a full pipe and the bench pays nothing for their logs.
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { forkTracked, spawnTracked, stopProcess } = require('./procs');
const { waitFor } = require('./util');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'pyres-ts');
const JOBS = path.join(ROOT, 'bench', 'jobs.js');
const NR_RUNNER = path.join(ROOT, 'bench', 'node-resque-worker.js');
const BULL_RUNNER = path.join(ROOT, 'bench', 'bullmq-worker.js');
const PROBE = path.join(__dirname, 'probe.js');

const PT_NS = 'resque';
const NR_NS = 'noderesque';

let tmpRoot = null;
let seq = 0;
function setTmpRoot(dir) {
  tmpRoot = dir;
}
function logPath(label) {
  seq += 1;
  return path.join(tmpRoot, `${String(seq).padStart(3, '0')}-${label.replace(/[^A-Za-z0-9_.-]+/g, '_')}.log`);
}

function probeEnv(probe) {
  if (!probe) return {};
  fs.mkdirSync(probe.dir, { recursive: true });
  const prev = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${prev}--require ${PROBE}`, BENCH_PROBE_PORT: String(probe.port), BENCH_PROBE_DIR: probe.dir };
}

/** The last lines of a process's log, for error messages. */
function tail(file, n = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

function ensureAlive(procs) {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) {
      throw new Error(`${p.label} (pid ${p.pid}) exited (${p.exitCode ?? p.signalCode}) unexpectedly; its log:\n${tail(p.logFile)}`);
    }
  }
}

/** Reads `STAMP <t0> <t1>` lines from a process's stdout; `wait(t0)` resolves with t1 - t0 in ns. */
function stampReader(proc) {
  const waiting = new Map();
  const early = new Map();
  readline.createInterface({ input: proc.stdout }).on('line', line => {
    const m = /^STAMP (\d+) (\d+)$/.exec(line.trim());
    if (!m) return;
    const lat = Number(BigInt(m[2]) - BigInt(m[1]));
    const w = waiting.get(m[1]);
    if (w) {
      waiting.delete(m[1]);
      w(lat);
    } else early.set(m[1], lat);
  });
  return {
    wait(t0, ms = 20000) {
      const key = String(t0);
      if (early.has(key)) {
        const v = early.get(key);
        early.delete(key);
        return Promise.resolve(v);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`${proc.label}: job pushed at ${key} not picked up within ${ms / 1000}s; log:\n${tail(proc.logFile)}`));
        }, ms);
        waiting.set(key, v => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
  };
}

function openLog(label) {
  const file = logPath(label);
  return { file, fd: fs.openSync(file, 'a') };
}

/**
 * `pyres-ts worker --queues Q --jobs bench/jobs.js --redis URL [extra...]`.
 * opts: { redis, queues: string[], extra: string[], stdout: 'pipe'|'log', probe, label, env: extra variables }
 */
function startPtWorker(redis, opts) {
  const label = opts.label || 'pyres-ts worker';
  const log = openLog(label);
  const url = opts.url || redis.url;
  const args = [BIN, 'worker', '--queues', opts.queues.join(','), '--jobs', JOBS, '--redis', url, ...(opts.extra || [])];
  const proc = spawnTracked(
    process.execPath,
    args,
    { cwd: ROOT, env: { ...process.env, ...probeEnv(opts.probe), ...(opts.env || {}) }, stdio: ['ignore', opts.stdout === 'pipe' ? 'pipe' : log.fd, log.fd] },
    label,
  );
  fs.closeSync(log.fd);
  proc.logFile = log.file;
  proc.commandLine = `pyres-ts ${args
    .slice(1)
    .map(a => (a === JOBS ? 'bench/jobs.js' : a === redis.url ? 'redis://127.0.0.1:P' : a))
    .join(' ')}`;
  return proc;
}

/** `pyres-ts master --queues Q --pool N --jobs bench/jobs.js --redis URL [extra...]`. */
function startPtMaster(redis, opts) {
  const label = opts.label || `pyres-ts master pool ${opts.pool}`;
  const log = openLog(label);
  const args = [BIN, 'master', '--queues', opts.queues.join(','), '--pool', String(opts.pool), '--jobs', JOBS, '--redis', redis.url, ...(opts.extra || [])];
  const proc = spawnTracked(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...probeEnv(opts.probe) }, stdio: ['ignore', log.fd, log.fd] }, label);
  fs.closeSync(log.fd);
  proc.logFile = log.file;
  return proc;
}

/**
 * A node-resque runner. opts: { redis, queues, timeoutMs, autostart, stdout, probe, label }.
 * Resolves once the runner listens for IPC commands.
 */
async function startNr(redis, opts) {
  const label = opts.label || `node-resque ${opts.multi ? `MultiWorker (1..${opts.multi})` : 'worker'} (timeout ${opts.timeoutMs} ms)`;
  return startRunner(NR_RUNNER, label, opts, {
    BENCH_REDIS_PORT: String(redis.port),
    BENCH_NAMESPACE: opts.namespace || NR_NS,
    BENCH_QUEUES: opts.queues.join(','),
    BENCH_TIMEOUT_MS: String(opts.timeoutMs),
    BENCH_AUTOSTART: opts.autostart ? '1' : '0',
    BENCH_MULTI: String(opts.multi || 0),
  });
}

/**
 * A BullMQ runner (bench/bullmq-worker.js). opts: { queue, concurrency, autostart, stdout, label }.
 * Resolves once the runner listens for IPC commands.
 */
async function startBull(redis, opts) {
  const label = opts.label || `BullMQ worker c=${opts.concurrency || 1}`;
  return startRunner(BULL_RUNNER, label, opts, {
    BENCH_REDIS_PORT: String(redis.port),
    BENCH_QUEUE: opts.queue,
    BENCH_CONCURRENCY: String(opts.concurrency || 1),
    BENCH_AUTOSTART: opts.autostart ? '1' : '0',
  });
}

/** Forks a runner that speaks the {cmd} / {ok} IPC protocol; resolves once it announces itself. */
async function startRunner(runner, label, opts, vars) {
  const log = openLog(label);
  const env = { ...process.env, ...probeEnv(opts.probe), ...vars };
  const proc = forkTracked(runner, [], { cwd: ROOT, env, stdio: ['ignore', opts.stdout === 'pipe' ? 'pipe' : log.fd, log.fd, 'ipc'] }, label);
  fs.closeSync(log.fd);
  proc.logFile = log.file;
  const pending = [];
  proc.on('message', m => {
    const p = pending.shift();
    if (!p) return;
    if (m && m.error) p.reject(new Error(`${label}: ${m.error}`));
    else p.resolve(m);
  });
  proc.exited.then(() => {
    for (const p of pending.splice(0)) p.reject(new Error(`${label} exited; log:\n${tail(log.file)}`));
  });
  /** Sends {cmd} and resolves on the runner's reply. */
  proc.command = cmd =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
      proc.send({ cmd }, e => e && reject(e));
    });
  // The runner announces itself once it listens for commands.
  await new Promise((resolve, reject) => pending.push({ resolve, reject }));
  return proc;
}

/** Resolves once SCARD <ns>:workers reaches `n`. */
function waitRegistered(redis, ns, n, procs, what) {
  return waitFor(async () => (await redis.client.scard(`${ns}:workers`)) >= n, {
    ms: 60000,
    every: 5,
    what: what || `${n} workers registered in ${ns}:workers`,
    check: () => ensureAlive(procs),
  });
}

/** pyres-ts: SIGQUIT (finish the job, unregister, exit). node-resque runner: SIGTERM (worker.end(), exit). */
function stopAll(procs) {
  return Promise.all(procs.map(p => stopProcess(p, p.label.startsWith('pyres-ts') ? 'SIGQUIT' : 'SIGTERM', 20000)));
}

/** Does this build's `pyres-ts worker` take `--concurrency N`? (`pyres-ts worker --help`.) */
function ptHasFlag(flag) {
  try {
    const out = require('node:child_process').execFileSync(process.execPath, [BIN, 'worker', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}\\b`).test(out);
  } catch {
    return false;
  }
}

/** Every probe dump in `dir` (one per process that had the probe), as arrays of write times (µs). */
function readProbeDir(dir) {
  const out = [];
  let files = [];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    } catch {
      /* a process killed mid-write: left out */
    }
  }
  return out;
}

/** Number of probed writes falling in any of the [t0, t1] windows (µs). */
function countInWindows(dumps, windows) {
  let n = 0;
  for (const times of dumps) for (const t of times) for (const [a, b] of windows) if (t >= a && t <= b) n += 1;
  return n;
}

module.exports = {
  ROOT,
  BIN,
  JOBS,
  PT_NS,
  NR_NS,
  setTmpRoot,
  startPtWorker,
  startPtMaster,
  startNr,
  startBull,
  ptHasFlag,
  waitRegistered,
  stopAll,
  stampReader,
  ensureAlive,
  readProbeDir,
  countInWindows,
  tail,
};
