/**
 * resque-pool's and pyres_worker's process conventions for `master` and `worker`: `--daemon`,
 * `--pidfile` (`-p`), `--stdout`/`--stderr`, `--appname`, and for the master `--spawn-delay` and
 * the TERM modes. The flags live here; masterCommand and workerCommand call `prepareProcess`.
 */
import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { DAEMON_CHILD_ENV, DAEMON_DEFAULTS, hasLogKeeper, isDaemonChild, reportDaemonUp, requestLogReopen, startDaemon, takeLogKeeper } from './daemon';
import { type Pidfile, writePidfile } from './pidfile';

/** The flags `processOptions` adds. */
export interface ProcessArgs {
  pidfile?: string | false;
  daemon?: boolean;
  stdout?: string;
  stderr?: string;
}

/** `--pidfile` (pyres_worker's and resque-pool's `-p`), `--daemon`, `--stdout`, `--stderr`. */
export function withProcessOptions<T>(y: Argv<T>) {
  return y
    .option('pidfile', {
      alias: 'p',
      type: 'string',
      describe: `write the pid here (atomically; a live one refuses to start, a stale one is replaced; removed on exit). Default with --daemon: ${DAEMON_DEFAULTS.pidfile}; --no-pidfile for none`,
    })
    .option('daemon', { alias: 'd', type: 'boolean', describe: 'run in the background, detached from the terminal (resque-pool -d)' })
    .option('stdout', {
      alias: 'o',
      type: 'string',
      describe: `with --daemon: append stdout here (default ${DAEMON_DEFAULTS.stdout}); HUP reopens it (logrotate)`,
    })
    .option('stderr', {
      alias: 'e',
      type: 'string',
      describe: `with --daemon: append stderr (the log) here (default ${DAEMON_DEFAULTS.stderr}); HUP reopens it (logrotate)`,
    });
}

/** The TERM behaviours of resque-pool: what a master's children do on the master's TERM. */
export type TermMode = 'immediate' | 'graceful' | 'graceful-wait';

/** The master-only flags. */
export interface MasterProcessArgs extends ProcessArgs {
  'spawn-delay'?: number;
  appname?: string;
  'term-graceful-wait'?: boolean;
  'term-graceful'?: boolean;
  'term-immediate'?: boolean;
}

/** `--spawn-delay`, `--appname` and resque-pool's three TERM modes. */
export function withMasterProcessOptions<T>(y: Argv<T>) {
  return y
    .option('spawn-delay', { alias: 's', type: 'number', describe: 'milliseconds between starting two children (resque-pool -s; default 0)' })
    .option('appname', { alias: 'a', type: 'string', describe: 'a name shown in the process title: pyres_manager[NAME] (resque-pool -a)' })
    .option('term-graceful-wait', { type: 'boolean', describe: 'on TERM, children finish their job; the master waits for them (up to --term-timeout)' })
    .option('term-graceful', { type: 'boolean', describe: 'on TERM, children finish their job, as QUIT does (up to --term-timeout)' })
    .option('term-immediate', { type: 'boolean', describe: "on TERM, children's jobs are aborted (their AbortSignal) (default)" });
}

/** The TERM mode the flags give; more than one is a usage error. */
export function termModeFromArgs(a: MasterProcessArgs): TermMode {
  const given = (['term-graceful-wait', 'term-graceful', 'term-immediate'] as const).filter(k => a[k]);
  if (given.length > 1)
    throw new ConfigError(`give one of --term-graceful-wait, --term-graceful, --term-immediate; got ${given.map(g => `--${g}`).join(' and ')}`);
  return given[0] === 'term-graceful-wait' ? 'graceful-wait' : given[0] === 'term-graceful' ? 'graceful' : 'immediate';
}

/** `--spawn-delay`, checked: milliseconds, 0 or more. */
export function spawnDelayFromArgs(a: MasterProcessArgs): number {
  const v = a['spawn-delay'];
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`--spawn-delay must be milliseconds (0 or more), got ${String(v)}`);
  return v;
}

/** `--appname`, checked (printable, no newline). */
export function appnameFromArgs(a: MasterProcessArgs): string | undefined {
  const v = a.appname;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || /[\u0000-\u001f]/.test(v))
    throw new ConfigError(`--appname must be a printable name, got ${JSON.stringify(v)}`);
  return v.trim();
}

/** What `prepareProcess` did: a `pidfile` to remove at the end, or `detached` when this process only started the daemon. */
export type Prepared = { detached: true; pid: number } | { detached: false; pidfile: Pidfile | null; up(): void };

/**
 * Daemonizes (`--daemon`: this process starts the daemon, waits for it to be up, and returns
 * `detached`), then in the process that stays writes the pidfile. `up()` tells a waiting
 * starter that the daemon is running. `--stdout`/`--stderr` need `--daemon`: Node cannot
 * re-point its own stdout, so in the foreground the shell redirects (`> out.log 2> err.log`).
 */
export async function prepareProcess(a: ProcessArgs, write: (line: string) => void = l => process.stderr.write(l)): Promise<Prepared> {
  const daemon = a.daemon === true;
  if (!daemon && (a.stdout !== undefined || a.stderr !== undefined)) {
    throw new ConfigError(`--${a.stdout !== undefined ? 'stdout' : 'stderr'} needs --daemon (in the foreground redirect with the shell: > out.log 2> err.log)`);
  }
  const pidfilePath = a.pidfile === false ? null : (a.pidfile ?? (daemon ? DAEMON_DEFAULTS.pidfile : null));
  if (pidfilePath === '') throw new ConfigError('--pidfile needs a file name');
  const daemonChild = isDaemonChild();
  // Not passed on: a job that starts `pyres-ts ... --daemon` itself must daemonize.
  delete process.env[DAEMON_CHILD_ENV];
  if (daemon && !daemonChild) {
    const pid = await startDaemon({ stdout: a.stdout ?? DAEMON_DEFAULTS.stdout, stderr: a.stderr ?? DAEMON_DEFAULTS.stderr });
    write(`pyres-ts: daemon started as pid ${pid}${pidfilePath ? ` (pidfile ${pidfilePath})` : ''}\n`);
    return { detached: true, pid };
  }
  if (daemonChild) takeLogKeeper();
  const pidfile = pidfilePath === null ? null : writePidfile(pidfilePath);
  return { detached: false, pidfile, up: daemonChild ? reportDaemonUp : () => undefined };
}

/**
 * In a daemon: HUP also reopens the `--stdout`/`--stderr` files (its log keeper does, see
 * `cli/daemon.ts`), for logrotate's `postrotate kill -HUP`. Installed beside the command's own
 * HUP meaning (a master's reload); a no-op outside a daemon. Returns the uninstaller.
 */
export function reopenLogsOnHup(log: { info(m: string): void; warn(m: string): void }, proc: NodeJS.Process = process): () => void {
  if (!hasLogKeeper()) return () => undefined;
  const h = (): void => {
    const why = requestLogReopen();
    if (why) log.warn(`HUP: cannot reopen the --stdout/--stderr files: ${why}`);
    else log.info('HUP: reopening the --stdout/--stderr files');
  };
  proc.on('SIGHUP', h);
  return () => proc.removeListener('SIGHUP', h);
}
