'use strict';
// Every process the bench starts goes through here: each is the leader of its own process
// group (detached), is listed with the reaper (lib/reaper.js, which SIGKILLs the groups still
// listed if the bench dies in any way), and is killed by killAllSync() on exit, Ctrl-C or error.
const { spawn, fork, execFileSync } = require('node:child_process');
const path = require('node:path');

const live = new Map(); // pid -> ChildProcess
let reaper = null;

function startReaper() {
  if (reaper) return;
  reaper = spawn(process.execPath, [path.join(__dirname, 'reaper.js')], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  reaper.unref();
  reaper.stdin.on('error', () => undefined);
}

function tell(line) {
  if (reaper && reaper.stdin.writable) reaper.stdin.write(line + '\n');
}

function track(cp, label) {
  if (cp.pid === undefined) throw new Error(`could not start ${label}`);
  cp.label = label;
  cp.exited = new Promise(resolve => {
    cp.once('exit', (code, signal) => {
      live.delete(cp.pid);
      // The group may still hold children (a master's): kill it when its leader is gone.
      try {
        process.kill(-cp.pid, 'SIGKILL');
      } catch {
        /* group already empty */
      }
      tell(`-${cp.pid}`);
      resolve({ code, signal });
    });
  });
  cp.on('error', () => undefined);
  live.set(cp.pid, cp);
  tell(`+${cp.pid}`);
  return cp;
}

/** spawn(), in its own process group, tracked. */
function spawnTracked(cmd, args, opts, label) {
  return track(spawn(cmd, args, { ...opts, detached: true }), label || cmd);
}

/** fork() (IPC channel), in its own process group, tracked. */
function forkTracked(modulePath, args, opts, label) {
  return track(fork(modulePath, args, { ...opts, detached: true }), label || modulePath);
}

/** Sends `signal` to the process, waits up to `ms` for it to exit, then SIGKILLs its group. */
async function stopProcess(cp, signal = 'SIGTERM', ms = 15000) {
  if (!live.has(cp.pid)) return cp.exited;
  try {
    process.kill(cp.pid, signal);
  } catch {
    /* gone */
  }
  let timer;
  const timedOut = new Promise(r => (timer = setTimeout(() => r('timeout'), ms)));
  const r = await Promise.race([cp.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    process.stderr.write(`bench: ${cp.label} (pid ${cp.pid}) did not exit ${ms / 1000}s after ${signal}; killing it\n`);
    try {
      process.kill(-cp.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    return cp.exited;
  }
  return r;
}

/** Last resort, synchronous (usable in an 'exit' handler): SIGKILL every group still alive. */
function killAllSync() {
  for (const pid of live.keys()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  live.clear();
}

function closeReaper() {
  if (reaper && reaper.stdin.writable) reaper.stdin.end();
  reaper = null;
}

/** RSS in kB of each pid (missing pids are left out). */
function rssKb(pids) {
  if (pids.length === 0) return {};
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,rss=', '-p', pids.join(',')], { encoding: 'utf8' });
  } catch (e) {
    out = e.stdout || '';
  }
  const res = {};
  for (const line of out.trim().split('\n')) {
    const [pid, rss] = line.trim().split(/\s+/).map(Number);
    if (pid) res[pid] = rss;
  }
  return res;
}

/**
 * Memory of each pid in kB: rss (what `ps -o rss=` shows), and from /proc/<pid>/smaps_rollup
 * pss (shared pages split among the processes sharing them) and private (pages no other
 * process shares). Node's own code pages are shared by every Node process on the host, so
 * private/pss are closer to what one more child really costs.
 */
function memKb(pids) {
  const rss = rssKb(pids);
  const out = {};
  for (const pid of pids) {
    if (rss[pid] === undefined) continue;
    const m = { rss: rss[pid], pss: null, private: null };
    try {
      const s = require('node:fs').readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const g = k => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s) || [])[1]);
      m.pss = g('Pss');
      m.private = g('Private_Clean') + g('Private_Dirty');
    } catch {
      /* not Linux, or too old a kernel */
    }
    out[pid] = m;
  }
  return out;
}

/** Pids of the direct children of `pid`. */
function childPids(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number)
      .filter(Boolean);
  } catch {
    return [];
  }
}

module.exports = { startReaper, closeReaper, spawnTracked, forkTracked, stopProcess, killAllSync, rssKb, memKb, childPids, live };
