/**
 * `--daemon` as resque-pool has it, without fork(2): Node cannot fork itself, so the command
 * starts itself again, detached (its own session, no terminal), stdin on /dev/null and
 * stdout/stderr appended to the `--stdout`/`--stderr` files, and the starting process waits
 * until the daemon says it is up (its pidfile written) or exits, then returns. The daemon's
 * own children inherit those files, as resque-pool's do.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors';
import { loaderExecArgv } from '../jobs/load';

/** Set in the daemon's environment: it is the detached copy, and must not daemonize again. */
export const DAEMON_CHILD_ENV = 'PYRES_DAEMON_CHILD';

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

function openAppend(path: string, flag: string): number {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a', 0o644);
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: cannot open for appending (${(e as Error).message})`);
  }
}

/**
 * Starts this command again as a daemon and resolves with its pid once it reports that it is up;
 * rejects with a ConfigError when it exits first (its reason is in the `--stderr` file).
 */
export async function startDaemon(o: { stdout: string; stderr: string; argv?: readonly string[]; timeoutMs?: number }): Promise<number> {
  const out = openAppend(o.stdout, '--stdout');
  const err = openAppend(o.stderr, '--stderr');
  const argv = o.argv ?? process.argv.slice(1);
  const child = spawn(process.execPath, [...loaderExecArgv(process.execArgv), ...argv], {
    detached: true,
    stdio: ['ignore', out, err, 'ipc'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
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
        fail(new ConfigError(`--daemon: pid ${pid} exited (${signal ?? `code ${code}`}) before it was up; see ${o.stderr}`));
      });
    });
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
  return pid;
}

/** In the daemon: tell the starting process that we are up, and let it go. */
export function reportDaemonUp(): void {
  if (typeof process.send !== 'function') return;
  process.send({ daemon: 'up', pid: process.pid }, () => {
    if (process.connected) process.disconnect();
  });
}
