import type { Argv } from 'yargs';
import { resolveSchedulerConfig } from '../config/scheduler';
import type { Logger } from '../logging/logger';
import type { FailureBackend } from '../protocol/keys';
import type { Scheduler, SchedulerExtension } from '../scheduler/scheduler';
import { VERSION } from '../version';
import { type ConnectionArgs, connectionFromArgs, loggerFromArgs, withConnectionOptions } from './options';
import { recurringFromArgv, type ScheduleArgs, scheduleOptions } from './scheduleCommand';

/**
 * `pyres-ts scheduler`: the delayed-job scheduler as a process (docs/SCHEDULER.md). TERM, INT
 * and QUIT finish the pass, release the lock and exit 0.
 */

export interface SchedulerArgs extends ConnectionArgs, ScheduleArgs {
  interval?: number;
  'lock-timeout'?: number;
  'lock-prefix'?: string;
  'batch-size'?: number;
  'class-queue'?: string[];
  'failure-backend'?: string;
}

/** The scheduler's own flags (shared with `master --scheduler`, where --interval is the worker's). */
export function withSchedulerOptions<T>(y: Argv<T>, intervalFlag = 'interval') {
  return scheduleOptions(y)
    .option(intervalFlag, {
      type: 'number',
      describe: 'seconds between scheduler passes (RESQUE_SCHEDULER_INTERVAL; default 5)',
    })
    .option('lock-timeout', {
      type: 'number',
      describe: "seconds the scheduler lock lives unless renewed, resque-scheduler's LOCK_TIMEOUT (default 180): the longest hand-over after a leader dies",
    })
    .option('lock-prefix', { type: 'string', describe: 'RESQUE_SCHEDULER_MASTER_LOCK_PREFIX: schedulers with another prefix elect apart' })
    .option('batch-size', { type: 'number', describe: 'delayed items moved per atomic step (DELAYED_REQUEUE_BATCH_SIZE; default 1000)' })
    .option('class-queue', {
      type: 'string',
      array: true,
      describe: "Class=queue: the queue of delayed items that carry none (Ruby uses the class's @queue); repeatable",
    });
}

export function schedulerBuilder(y: Argv) {
  return withSchedulerOptions(withConnectionOptions(y)).option('failure-backend', {
    type: 'string',
    describe: "where poison delayed items' failure records go: 'redis' (default, the failed list) or 'redis_multi_queue'",
  });
}

/**
 * EXTENSIONS: the one place where SchedulerExtensions from other modules are added to every
 * scheduler the CLI starts (`pyres-ts scheduler` and `master --scheduler`), each with what closes
 * it at exit.
 *
 * - Recurring schedules (docs/SCHEDULE.md), always: whoever leads fires the persistent
 *   schedules (Ruby's `set_schedule`, `pyres-ts schedule set`), so a pyres-ts scheduler that wins
 *   the election from a Ruby one keeps the Ruby app's dynamic schedules firing; `--schedule FILE`
 *   adds a static schedule, `--dynamic` follows `schedules_changed`.
 */
export function schedulerExtensionsFromArgs(a: SchedulerArgs, log: Logger): { extensions: SchedulerExtension[]; close: () => Promise<void> } {
  const recurring = recurringFromArgv(a, log);
  return { extensions: [recurring], close: () => recurring.close() };
}

/** A Scheduler from parsed flags (validated: a bad flag is one line naming it). */
export function schedulerFromArgs(a: SchedulerArgs, logger: Logger, interval: number | undefined = a.interval): Scheduler {
  const cfg = resolveSchedulerConfig({
    interval,
    lockTimeout: a['lock-timeout'],
    lockPrefix: a['lock-prefix'],
    batchSize: a['batch-size'],
    classQueue: a['class-queue'],
  });
  let failureBackend: FailureBackend = 'redis';
  if (a['failure-backend'] !== undefined) {
    const { resolveFailureBackend } = require('../config/worker') as typeof import('../config/worker');
    failureBackend = resolveFailureBackend(a['failure-backend']);
  }
  const ext = schedulerExtensionsFromArgs(a, logger);
  // Loaded here: `master` imports this module for its flags, and needs no store before its fork.
  const { Scheduler: SchedulerClass } = require('../scheduler/scheduler') as typeof import('../scheduler/scheduler');
  const scheduler = new SchedulerClass({
    connection: connectionFromArgs(a),
    namespace: a.namespace,
    ...cfg,
    failureBackend,
    logger: logger.child('scheduler'),
    extensions: ext.extensions,
  });
  void scheduler.stopped.then(ext.close).catch(() => undefined);
  return scheduler;
}

export function schedulerTitle(status: string): string {
  return `pyres-ts scheduler (pyres-ts ${VERSION}): ${status}`;
}

export async function runScheduler(a: SchedulerArgs): Promise<number> {
  const logger = loggerFromArgs(a);
  const s = schedulerFromArgs(a, logger);
  process.title = schedulerTitle('Starting');
  s.on('leader', (l: boolean) => (process.title = schedulerTitle(l ? 'Master scheduler' : 'Child scheduler')));
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  let asked = false;
  // HUP (the terminal or ssh session went away) stops it like TERM: the lock is released, not
  // held for --lock-timeout by a process that died of the signal's default action.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const) {
    const h = (): void => {
      if (asked) {
        logger.warn(`${sig} again: exiting without waiting`);
        process.exit(1);
      }
      asked = true;
      logger.info(`${sig} received: finishing the pass, releasing the lock, exiting`);
      // Last resort when Redis is unreachable during shutdown.
      setTimeout(() => {
        logger.error(`still not stopped 30 s after ${sig} (is Redis reachable?); exiting`);
        process.exit(1);
      }, 30_000).unref();
      void s.stop();
    };
    handlers.push([sig, h]);
    process.on(sig, h);
  }
  // USR1 and USR2 are resque-scheduler's "log the schedule" and "reload the schedule". Handled,
  // never Node's default for USR1 (an inspector on 127.0.0.1:9229, through which any local user
  // could run code as this process) nor USR2's (death by signal, the lock held).
  const usr = (sig: 'SIGUSR1' | 'SIGUSR2') => (): void =>
    logger.info(
      `${sig} received: this scheduler ${s.isLeader ? 'leads' : 'follows'}; ${sig === 'SIGUSR2' ? 'nothing to reload: the persistent schedules are read from Redis at every pass, a --schedule file at start' : 'its schedules are listed by `pyres-ts schedule list`'}`,
    );
  for (const sig of ['SIGUSR1', 'SIGUSR2'] as const) {
    const h = usr(sig);
    handlers.push([sig, h]);
    process.on(sig, h);
  }
  try {
    await s.start();
    if (!s.isLeader && process.title === schedulerTitle('Starting')) process.title = schedulerTitle('Child scheduler');
    await s.stopped;
  } finally {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  }
  return 0;
}
