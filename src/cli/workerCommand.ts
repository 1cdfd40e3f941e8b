import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { loadJobModules } from '../jobs/load';
import { RESQUE_PROTOCOL_VERSION, VERSION } from '../version';
import { Worker } from '../worker/worker';
import { installWorkerSignals } from '../signals';
import { type ConnectionArgs, connectionFromArgs, loggerFromArgs, positiveNumber, withConnectionOptions } from './options';

export interface WorkerArgs extends ConnectionArgs {
  queues?: string;
  queuesPositional?: string;
  jobs?: string[];
  'nonblocking-pop': boolean;
  'backoff-min'?: number;
  'backoff-max'?: number;
  interval?: number;
  drain: boolean;
  'term-timeout': number;
  'heartbeat-interval': number;
  'on-dirty-exit': 'fail' | 'requeue';
}

export function workerBuilder(y: Argv) {
  return withConnectionOptions(y)
    .positional('queuesPositional', { type: 'string', describe: "queues, pyres_worker style (same as --queues)" })
    .option('queues', { alias: 'q', type: 'string', describe: 'queues in priority order: p10,p9 | * | p* | !skip' })
    .option('jobs', { alias: 'j', type: 'string', array: true, describe: 'job module (.js/.cjs/.mjs); repeatable' })
    .option('nonblocking-pop', { alias: 'n', type: 'boolean', default: false, describe: 'LPOP passes with idle backoff instead of blocking' })
    .option('backoff-min', { type: 'number', describe: 'first idle sleep with --nonblocking-pop, seconds (default 1)' })
    .option('backoff-max', { type: 'number', describe: 'longest idle sleep with --nonblocking-pop, seconds (default 8)' })
    .option('interval', { alias: 'i', type: 'number', describe: 'idle poll interval, seconds: a fixed sleep with --nonblocking-pop, the longest wait when blocking' })
    .option('drain', { type: 'boolean', default: false, describe: 'exit when every queue is empty' })
    .option('term-timeout', { type: 'number', default: 4, describe: 'seconds a job gets after TERM/INT/USR1 before a dirty exit is recorded' })
    .option('on-dirty-exit', {
      choices: ['fail', 'requeue'] as const,
      default: 'fail' as const,
      describe: "a job whose worker died or was killed mid-job: 'fail' = a Resque::DirtyExit failure (retry it in resque-web), 'requeue' = back to the head of its queue (at-least-once)",
    })
    .option('heartbeat-interval', { type: 'number', default: 60, hidden: true });
}

/** Builds the Worker from parsed flags. Exported for the master's children. */
export async function workerFromArgs(a: WorkerArgs): Promise<Worker> {
  const queues = a.queues ?? a.queuesPositional;
  if (!queues) throw new ConfigError('no queues: give --queues p10,p9 (or a positional queue list)');
  if (a.queues && a.queuesPositional) throw new ConfigError('give the queues once: either --queues or the positional list');
  if (!a.jobs || a.jobs.length === 0) throw new ConfigError('no jobs: give --jobs ./jobs.js (a module exporting job classes)');
  const logger = loggerFromArgs(a);
  const jobs = await loadJobModules(a.jobs);
  let backoffMin = positiveNumber('backoff-min', a['backoff-min']);
  let backoffMax = positiveNumber('backoff-max', a['backoff-max']);
  let blockTimeout: number | undefined;
  const interval = positiveNumber('interval', a.interval);
  if (interval !== undefined) {
    if (a['nonblocking-pop']) {
      if (backoffMin !== undefined || backoffMax !== undefined) throw new ConfigError('--interval and --backoff-min/--backoff-max do not go together');
      backoffMin = backoffMax = interval;
    } else blockTimeout = interval;
  }
  if (!a['nonblocking-pop'] && (backoffMin !== undefined || backoffMax !== undefined)) {
    throw new ConfigError('--backoff-min/--backoff-max need --nonblocking-pop');
  }
  return new Worker({
    queues,
    jobs,
    connection: connectionFromArgs(a),
    namespace: a.namespace,
    nonblockingPop: a['nonblocking-pop'],
    ...(backoffMin !== undefined ? { backoffMin } : {}),
    ...(backoffMax !== undefined ? { backoffMax } : {}),
    ...(blockTimeout !== undefined ? { blockTimeout } : {}),
    drain: a.drain,
    termTimeout: a['term-timeout'],
    heartbeatInterval: a['heartbeat-interval'],
    onDirtyExit: a['on-dirty-exit'] ?? 'fail',
    logger,
  });
}

/** The process title Ruby's and pyres' same-host prune recognise as a live worker. */
export function workerTitle(status: string): string {
  return `resque-${RESQUE_PROTOCOL_VERSION} pyres_worker (pyres-ts ${VERSION}): ${status}`;
}

export async function runWorker(a: WorkerArgs): Promise<number> {
  const worker = await workerFromArgs(a);
  const log = loggerFromArgs(a).child(worker.id);
  process.title = workerTitle('Starting');
  worker.on('status', (s: string) => (process.title = workerTitle(s)));
  worker.on('error', (e: Error) => log.error(e.message));
  let hardStop: NodeJS.Timeout | null = null;
  const release = installWorkerSignals(
    worker,
    m => log.info(m),
    sig => {
      if (sig === 'SIGQUIT' || hardStop) return;
      // Last resort when Redis is unreachable during shutdown: exit anyway, and say why.
      hardStop = setTimeout(() => {
        log.error(`still not stopped ${a['term-timeout'] + 10}s after ${sig} (is Redis reachable?); exiting`);
        process.exit(1);
      }, (a['term-timeout'] + 10) * 1000);
      hardStop.unref();
    },
  );
  try {
    await worker.start();
    await worker.stopped;
  } finally {
    release();
    if (hardStop) clearTimeout(hardStop);
  }
  return 0;
}
