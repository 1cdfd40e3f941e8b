/**
 * The one place that installs process signal handlers (used by the CLI and the child entry).
 * Signal semantics as data:
 *   QUIT        finish the current job, then exit
 *   TERM, INT   abort the current job, give it --term-timeout, record a dirty exit, exit;
 *               a second one gives up on the job at once
 *   USR1        abort the current job and carry on
 *   USR2 / CONT pause / resume
 *   HUP         logged and ignored (a worker has no config to reload)
 */
export interface WorkerController {
  stop(opts: { graceful: boolean; reason: string }): Promise<void>;
  abortCurrentJob(reason: string): boolean;
  pause(): void;
  resume(): void;
}

export type SignalAction = 'graceful' | 'abort' | 'abort-job' | 'pause' | 'resume' | 'ignore';

export const WORKER_SIGNALS: Readonly<Record<string, SignalAction>> = {
  SIGQUIT: 'graceful',
  SIGTERM: 'abort',
  SIGINT: 'abort',
  SIGUSR1: 'abort-job',
  SIGUSR2: 'pause',
  SIGCONT: 'resume',
  SIGHUP: 'ignore',
};

export function installWorkerSignals(
  c: WorkerController,
  log: (msg: string) => void,
  onStopRequested: (signal: string) => void = () => undefined,
  proc: NodeJS.Process = process,
): () => void {
  const handlers = new Map<string, () => void>();
  for (const [sig, action] of Object.entries(WORKER_SIGNALS)) {
    const h = (): void => {
      log(`${sig} received: ${describe(action)}`);
      switch (action) {
        case 'graceful':
          onStopRequested(sig);
          void c.stop({ graceful: true, reason: sig });
          break;
        case 'abort':
          onStopRequested(sig);
          void c.stop({ graceful: false, reason: sig });
          break;
        case 'abort-job':
          if (!c.abortCurrentJob(sig)) log('no job is running');
          break;
        case 'pause':
          c.pause();
          break;
        case 'resume':
          c.resume();
          break;
        case 'ignore':
          break;
      }
    };
    handlers.set(sig, h);
    proc.on(sig as NodeJS.Signals, h);
  }
  return () => {
    for (const [sig, h] of handlers) proc.removeListener(sig as NodeJS.Signals, h);
  };
}

function describe(a: SignalAction): string {
  return {
    graceful: 'finishing the current job, then exiting',
    abort: 'aborting the current job and exiting',
    'abort-job': 'aborting the current job',
    pause: 'pausing',
    resume: 'resuming',
    ignore: 'ignored',
  }[a];
}

/** What the master's signals drive. */
export interface MasterController {
  stop(graceful: boolean, reason: string): Promise<void>;
  reload(): void;
  addOne(): void;
  removeOne(): void;
  pause(): void;
  resume(): void;
  scaleToZero(): void;
}

/**
 * Master signals:
 *   QUIT, INT        children finish their jobs; after --term-timeout the rest are killed
 *                    (INT as resque-pool has it: a Ctrl-C lets the running jobs finish)
 *   TERM             children's jobs are aborted (AbortSignal); after --term-timeout, killed;
 *                    with --term-graceful / --term-graceful-wait as QUIT (resque-pool's modes)
 *   HUP              reload the configuration; only changed groups are touched
 *   TTIN, USR1       one more child (first group); TTOU one fewer
 *   USR2, CONT       pause / resume every child
 *   WINCH            scale every group to zero, keep the master (only with --winch: a
 *                    foreground master gets one whenever its terminal is resized)
 */
export const MASTER_SIGNALS: Readonly<Record<string, (m: MasterController, sig: string) => void>> = {
  SIGQUIT: (m, s) => void m.stop(true, s),
  SIGTERM: (m, s) => void m.stop(false, s),
  SIGINT: (m, s) => void m.stop(true, s),
  SIGHUP: m => m.reload(),
  SIGTTIN: m => m.addOne(),
  SIGUSR1: m => m.addOne(),
  SIGTTOU: m => m.removeOne(),
  SIGUSR2: m => m.pause(),
  SIGCONT: m => m.resume(),
  SIGWINCH: m => m.scaleToZero(),
};

/** How the master's signals are read: `termGraceful` makes TERM act as QUIT (--term-graceful, --term-graceful-wait). */
export interface MasterSignalOptions {
  termGraceful?: boolean;
}

export function installMasterSignals(
  m: MasterController,
  log: (msg: string) => void,
  proc: NodeJS.Process = process,
  opts: MasterSignalOptions = {},
): () => void {
  const handlers = new Map<string, () => void>();
  for (const [sig, act] of Object.entries(MASTER_SIGNALS)) {
    const h = (): void => {
      log(`${sig} received`);
      if (sig === 'SIGTERM' && opts.termGraceful) void m.stop(true, sig);
      else act(m, sig);
    };
    handlers.set(sig, h);
    proc.on(sig as NodeJS.Signals, h);
  }
  return () => {
    for (const [sig, h] of handlers) proc.removeListener(sig as NodeJS.Signals, h);
  };
}

/** At most this many unhandled-rejection notes per minute; the rest are counted in the next. */
const REJECTION_NOTES_PER_MINUTE = 10;

/**
 * A promise rejected with no handler (a job's `Promise.reject()` or async call nobody awaited):
 * Node's default ends the process, and a worker died with every slot's job, registered until a
 * prune, the next job waiting for a worker. Installed by the worker and child entries: the
 * rejection is logged (its reason's first stack lines) and the process goes on; the job whose
 * code it was finishes by its own outcome. At most 10 notes a minute, the rest counted.
 * Returns the uninstaller. (An uncaught exception still ends the process: its state is unknown.)
 */
export function logUnhandledRejections(warn: (msg: string) => void, proc: NodeJS.Process = process): () => void {
  let windowStart = 0;
  let inWindow = 0;
  let skipped = 0;
  const h = (reason: unknown): void => {
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (skipped > 0) warn(`${skipped} more unhandled promise rejection(s) in the last minute were not logged`);
      windowStart = now;
      inWindow = 0;
      skipped = 0;
    }
    if (++inWindow > REJECTION_NOTES_PER_MINUTE) {
      skipped++;
      return;
    }
    // The reason is job code's value: a throwing `stack` getter or toString must not make this
    // listener throw (that would be an uncaught exception: the end of the process).
    let text: string;
    try {
      text =
        reason instanceof Error
          ? String(reason.stack ?? `${reason.name}: ${reason.message}`)
              .split('\n')
              .slice(0, 4)
              .join(' | ')
          : `${typeof reason}: ${String(reason)}`;
    } catch {
      text = `a ${typeof reason} that cannot be shown`;
    }
    try {
      warn(`an unhandled promise rejection (a promise no code awaited, a job's most likely): ${text}; the worker goes on`);
    } catch {
      /* a log line is never worth the process */
    }
  };
  proc.on('unhandledRejection', h);
  return () => proc.removeListener('unhandledRejection', h);
}
