/**
 * `--daemon` as resque-pool has it, without fork(2): Node cannot fork itself, so the command
 * starts itself again, detached (its own session, no terminal), stdin on /dev/null, and the
 * starting process waits until the daemon says it is up (its pidfile written) or exits, then
 * returns.
 *
 * stdout/stderr go to the `--stdout`/`--stderr` files through a log keeper
 * (`cli/logKeeperMain.ts`), a small process of its own that owns the files: the daemon's fd 1
 * and 2 are pipes to it, which the daemon's children (and their jobs) inherit, as resque-pool's
 * inherit its files. Node has no dup2(2), so this is how a HUP can reopen them for logrotate
 * (resque-pool reopens its files on HUP): the daemon asks the keeper (`requestLogReopen`), and
 * every process writing to the pipes is in the new files from the next line, none restarted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { builtEntry } from '../builtEntry';
import { ConfigError } from '../errors';
import { loaderExecArgv } from '../jobs/load';
import { LOG_KEEPER_SPEC_ENV } from './logKeeperSpec';

/** Set in the daemon's environment: it is the detached copy, and must not daemonize again. */
export const DAEMON_CHILD_ENV = 'PYRES_DAEMON_CHILD';
/** Set in the daemon's environment: the fd of its log keeper's control channel. */
export const LOG_KEEPER_FD_ENV = 'PYRES_LOG_KEEPER_FD';
/** The daemon's fd of the keeper's control channel (0-2 are stdio, 3 the starter's IPC). */
const CONTROL_FD = 4;

/** resque-pool's defaults in daemon mode (relative to the working directory). */
export const DAEMON_DEFAULTS = {
  pidfile: 'tmp/pids/resque-pool.pid',
  stdout: 'log/resque-pool.stdout.log',
  stderr: 'log/resque-pool.stderr.log',
} as const;

/** Is this process the detached daemon started by `startDaemon`? */
export function isDaemonChild(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[DAEMON_CHILD_ENV] === '1';
}

function checkAppend(path: string, flag: string): string {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
    closeSync(openSync(file, 'a', 0o644));
    return file;
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: cannot open for appending (${(e as Error).message})`);
  }
}

function exited(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise(done => {
    const t = setTimeout(done, ms);
    p.once('exit', () => (clearTimeout(t), done()));
  });
}

/** Starts the log keeper over the two files: its pipes are what the daemon gets as stdout and stderr. */
function startKeeper(stdout: string, stderr: string): ChildProcess {
  const keeper = spawn(process.execPath, [builtEntry('cli/logKeeperMain.js')], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, [LOG_KEEPER_SPEC_ENV]: JSON.stringify({ stdout, stderr }) },
  });
  if (keeper.pid === undefined) throw new ConfigError('--daemon: could not start the log keeper process');
  return keeper;
}

/**
 * Starts this command again as a daemon and resolves with its pid once it reports that it is up;
 * rejects with a ConfigError when it exits first (its reason is in the `--stderr` file).
 */
export async function startDaemon(o: { stdout: string; stderr: string; argv?: readonly string[]; timeoutMs?: number }): Promise<number> {
  const outFile = checkAppend(o.stdout, '--stdout');
  const errFile = checkAppend(o.stderr, '--stderr');
  const keeper = startKeeper(outFile, errFile);
  const ends = [keeper.stdin, keeper.stdio[3], keeper.stdio[4]] as Socket[];
  const argv = o.argv ?? process.argv.slice(1);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...loaderExecArgv(process.execArgv), ...argv], {
      detached: true,
      stdio: ['ignore', ends[0]!, ends[1]!, 'ipc', ends[2]!],
      env: { ...process.env, [DAEMON_CHILD_ENV]: '1', [LOG_KEEPER_FD_ENV]: String(CONTROL_FD) },
    });
  } finally {
    // The daemon (and its children) hold the write ends now; ours would keep the keeper waiting.
    for (const e of ends) e.destroy();
    keeper.unref();
  }
  const pid = child.pid;
  if (pid === undefined) throw new ConfigError('--daemon: could not start the daemon process');
  try {
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(
        () =>
          fail(
            new ConfigError(
              `--daemon: pid ${pid} is running but not up within ${(o.timeoutMs ?? 60000) / 1000}s (waiting for Redis, or a slow --worker-init?); see ${o.stderr}`,
            ),
          ),
        o.timeoutMs ?? 60000,
      );
      child.once('message', () => {
        clearTimeout(timer);
        ok();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // Its last words are in the keeper's hands: let it write them before saying where to look.
        void exited(keeper, 5000).then(() =>
          fail(new ConfigError(`--daemon: pid ${pid} exited (${signal ?? `code ${code}`}) before it was up; see ${o.stderr}`)),
        );
      });
    });
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
  return pid;
}

/** Taken by the daemon at start (and dropped from the environment its children see). */
let keeperFd: number | null = null;

/** In the daemon: takes the keeper's control channel from the environment (once). */
export function takeLogKeeper(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[LOG_KEEPER_FD_ENV];
  delete env[LOG_KEEPER_FD_ENV];
  if (v !== undefined && /^\d+$/.test(v)) keeperFd = Number(v);
  return keeperFd !== null;
}

/** Is this process a daemon whose stdout/stderr go through a log keeper? */
export function hasLogKeeper(): boolean {
  return keeperFd !== null;
}

/**
 * In the daemon (HUP): asks the log keeper to reopen the `--stdout`/`--stderr` files. Returns
 * null when asked, or why not (no keeper: not a daemon; the keeper gone). Never throws.
 */
export function requestLogReopen(): string | null {
  if (keeperFd === null) return 'no --stdout/--stderr files (not a daemon)';
  try {
    writeSync(keeperFd, 'reopen\n');
    return null;
  } catch (e) {
    return `the log keeper does not answer (${(e as Error).message})`;
  }
}

/** In the daemon: tell the starting process that we are up, and let it go. */
export function reportDaemonUp(): void {
  if (typeof process.send !== 'function') return;
  process.send({ daemon: 'up', pid: process.pid }, () => {
    if (process.connected) process.disconnect();
  });
}
