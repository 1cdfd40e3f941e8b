import type { Argv } from 'yargs';
import type { WorkerConfigInput } from '../config/worker';
import { DEFAULT_SEMI_SPACE_MB, resolveSemiSpaceMb, resolveWorkerConfig } from '../config/worker';
import { ConfigError } from '../errors';
import { installWorkerSignals, logUnhandledRejections } from '../signals';
import { RESQUE_PROTOCOL_VERSION, VERSION } from '../version';
import { createWorker, createWorkerOrPool, loggerFromConfig } from '../worker/fromConfig';
import type { Worker } from '../worker/worker';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';
import { type ProcessArgs, prepareProcess, reopenLogsOnHup, withProcessOptions } from './processOps';
import { pid1Warning } from './containerInit';
import { capSemiSpace } from './semiSpace';
import { resolveMetricsListen } from '../config/obs';
import type { Logger } from '../logging/logger';
import type { Watched } from '../metrics/watch';
import type { MetricsServer } from './metricsServer';

export interface WorkerArgs extends ConnectionArgs, ProcessArgs {
  queues?: string;
  queuesPositional?: string;
  jobs?: string[];
  'nonblocking-pop': boolean;
  'backoff-min'?: number;
  'backoff-max'?: number;
  interval?: number;
  drain: boolean;
  'term-timeout'?: number;
  'heartbeat-interval'?: number;
  'prune-interval'?: number;
  'on-dirty-exit'?: string;
  'lossless-args'?: boolean;
  'pyres-dates'?: boolean;
  'wait-replicas'?: number;
  'wait-timeout'?: number;
  'failure-backend'?: string;
  'metrics-port'?: string;
  concurrency?: string;
  'max-semi-space-mb'?: number;
}

export function workerBuilder(y: Argv) {
  return withProcessOptions(withConnectionOptions(y))
    .positional('queuesPositional', { type: 'string', describe: 'queues, pyres_worker style (same as --queues)' })
    .option('queues', { alias: 'q', type: 'string', describe: 'queues in priority order: p10,p9 | * | p* | !skip' })
    .option('jobs', { alias: 'j', type: 'string', array: true, describe: 'job module (.js/.cjs/.mjs); repeatable' })
    .option('nonblocking-pop', { alias: 'n', type: 'boolean', default: false, describe: 'LPOP passes with idle backoff instead of blocking' })
    .option('backoff-min', { type: 'number', describe: 'first idle sleep with --nonblocking-pop, seconds (default 1)' })
    .option('backoff-max', { type: 'number', describe: 'longest idle sleep with --nonblocking-pop, seconds (default 8)' })
    .option('interval', {
      alias: 'i',
      type: 'number',
      describe: 'idle poll interval, seconds: a fixed sleep with --nonblocking-pop, the longest wait when blocking',
    })
    .option('drain', { type: 'boolean', default: false, describe: 'exit when every queue is empty' })
    .option('term-timeout', { type: 'number', describe: 'seconds a job gets after TERM/INT/USR1 before a dirty exit is recorded (default 4)' })
    .option('on-dirty-exit', {
      type: 'string',
      describe:
        "a job whose worker died or was killed mid-job: 'fail' (default) = a Resque::DirtyExit failure (retry it in resque-web), 'requeue' = back to the head of its queue (at-least-once)",
    })
    .option('lossless-args', {
      type: 'boolean',
      describe: "decode job args losslessly: integers beyond 2^53-1 arrive as BigInt (a job's own `lossless` property wins; default: plain JSON.parse)",
    })
    .option('pyres-dates', {
      type: 'boolean',
      describe: 'decode pyres "@D:2026-01-02T03:04:05" strings in job args and payload into Dates, in local time (a job\'s own `pyresDates` property wins)',
    })
    .option('wait-replicas', {
      type: 'number',
      describe:
        'after each finish+reserve step, WAIT until this many replicas have it before the job runs (durable across a failover; costs a replica round trip per job; default 0 = off)',
    })
    .option('wait-timeout', { type: 'number', describe: 'milliseconds each WAIT of --wait-replicas may take (default 100)' })
    .option('failure-backend', {
      type: 'string',
      describe:
        "where failure records go, as Ruby's FAILURE_BACKEND: 'redis' (default) = the failed list, 'redis_multi_queue' = <queue>_failed lists named in failed_queues",
    })
    .option('metrics-port', {
      type: 'string',
      describe: 'serve /metrics (Prometheus), /healthz and /readyz on this port (9400, or host:port; 0: any free port); default: off',
    })
    .option('concurrency', {
      type: 'string',
      describe:
        'job slots: this many jobs at once on one event loop, each slot a Resque worker of its own (1..64, default 1); a range 1..64 autoscales by event-loop utilisation',
    })
    .option('max-semi-space-mb', {
      type: 'number',
      describe: `cap each of V8's two young-generation semi-spaces at this many MB (default ${DEFAULT_SEMI_SPACE_MB}; 0: V8's own growth, up to 16 MB; Node's --max-semi-space-size wins); for a master: each child's --max-semi-space-size (default 1)`,
    })
    .option('heartbeat-interval', { type: 'number', describe: "seconds between heartbeats (Ruby's Resque.heartbeat_interval; default 60)" })
    .option('prune-interval', {
      type: 'number',
      describe: "a worker whose heartbeat is older than this many seconds is pruned as dead (Ruby's Resque.prune_interval; default 300)",
    });
}

/** The worker settings the flags give (the queues are left to the caller). */
export function workerInputFromArgs(a: WorkerArgs): WorkerConfigInput {
  return {
    ...(a.jobs !== undefined ? { jobs: a.jobs } : {}),
    connection: connectionFromArgs(a),
    namespace: a.namespace,
    nonblockingPop: a['nonblocking-pop'],
    backoffMin: a['backoff-min'],
    backoffMax: a['backoff-max'],
    interval: a.interval,
    termTimeout: a['term-timeout'],
    heartbeatInterval: a['heartbeat-interval'],
    pruneInterval: a['prune-interval'],
    onDirtyExit: a['on-dirty-exit'],
    losslessArgs: a['lossless-args'],
    pyresDates: a['pyres-dates'],
    waitReplicas: a['wait-replicas'],
    waitTimeout: a['wait-timeout'],
    failureBackend: a['failure-backend'],
    ...(a.concurrency !== undefined ? { concurrency: /^\s*\d+\s*$/.test(a.concurrency) ? Number(a.concurrency) : a.concurrency } : {}),
    logLevel: a['log-level'],
    logFile: a['log-file'] ?? null,
    ...(a['log-format'] !== undefined ? { logFormat: a['log-format'] } : {}),
  };
}

/** The queue list from --queues or the positional list (not both). */
export function queuesFromArgs(a: { queues?: string; queuesPositional?: string }): string | undefined {
  if (a.queues !== undefined && a.queuesPositional !== undefined) throw new ConfigError('give the queues once: either --queues or the positional list');
  return a.queues ?? a.queuesPositional;
}

/** The worker command's configuration from its flags (validated). */
export function workerConfigFromArgs(a: WorkerArgs) {
  resolveMetricsListen(a['metrics-port']);
  const queues = queuesFromArgs(a);
  if (queues === undefined) throw new ConfigError('queues (--queues) is required: give --queues p10,p9 (or a positional queue list)');
  return resolveWorkerConfig({ ...workerInputFromArgs(a), queues, drain: a.drain });
}

/** Builds the Worker from parsed flags. */
export async function workerFromArgs(a: WorkerArgs): Promise<Worker> {
  return createWorker(workerConfigFromArgs(a));
}

/** The process title Ruby's and pyres' same-host prune recognise as a live worker. */
export function workerTitle(status: string): string {
  return `resque-${RESQUE_PROTOCOL_VERSION} pyres_worker (pyres-ts ${VERSION}): ${status}`;
}

export async function runWorker(a: WorkerArgs): Promise<number> {
  // A process setting, not a worker's (a library Worker has none): checked here, once.
  const semiSpaceMb = resolveSemiSpaceMb(a['max-semi-space-mb']);
  const cfg = workerConfigFromArgs(a);
  const proc = await prepareProcess(a);
  if (proc.detached) return 0;
  const semiSpace = capSemiSpace(semiSpaceMb);
  const logger = loggerFromConfig(cfg);
  if (semiSpace.inactive && a['max-semi-space-mb'] !== undefined && semiSpaceMb > 0) {
    logger.warn(`--max-semi-space-mb ${semiSpaceMb} has no effect: ${semiSpace.inactive}`);
  } else {
    logger.debug(
      semiSpace.inactive ? `young generation: V8's own sizing (${semiSpace.inactive})` : `young generation: semi-spaces capped at ${semiSpaceMb} MB`,
    );
  }
  const pid1 = pid1Warning();
  if (pid1) logger.warn(pid1);
  const worker = await createWorkerOrPool(cfg, { logger });
  semiSpace.watchJobs(worker);
  const log = logger.child(worker.id, { workerId: worker.id });
  const metrics = await metricsFor(a, () => metricsModules().watch.watchWorker(worker), log);
  process.title = workerTitle('Starting');
  worker.on('status', (s: string) => (process.title = workerTitle(s)));
  worker.on('error', (e: Error) => log.error(e.message));
  const releaseRejections = logUnhandledRejections(m => log.warn(m));
  let hardStop: NodeJS.Timeout | null = null;
  const release = installWorkerSignals(
    worker,
    m => log.info(m),
    sig => {
      if (sig === 'SIGQUIT' || hardStop) return;
      // Last resort when Redis is unreachable during shutdown: exit anyway, and say why.
      hardStop = setTimeout(
        () => {
          log.error(`still not stopped ${cfg.termTimeout + 10}s after ${sig} (is Redis reachable?); exiting`);
          process.exit(1);
        },
        (cfg.termTimeout + 10) * 1000,
      );
      hardStop.unref();
    },
  );
  // --daemon: HUP (otherwise ignored by a worker) reopens the --stdout/--stderr files.
  const releaseHup = reopenLogsOnHup(log);
  try {
    await worker.start();
    proc.up();
    await worker.stopped;
  } finally {
    release();
    releaseHup();
    releaseRejections();
    proc.pidfile?.remove();
    if (hardStop) clearTimeout(hardStop);
    await metrics?.close();
    semiSpace.close();
  }
  return 0;
}

/** The metrics code (prom-client, http), loaded only with --metrics-port: a worker without it never pays for it (~20-50 ms, ~5 MB). */
export function metricsModules(): { watch: typeof import('../metrics/watch'); server: typeof import('./metricsServer') } {
  return {
    watch: require('../metrics/watch') as typeof import('../metrics/watch'),
    server: require('./metricsServer') as typeof import('./metricsServer'),
  };
}

/** The `--metrics-port` server, when the flag is given (validated: a bad value is one line naming it). */
export async function metricsFor(a: { 'metrics-port'?: string | number }, watch: () => Watched, log: Logger): Promise<MetricsServer | null> {
  const listen = resolveMetricsListen(a['metrics-port']);
  return listen ? metricsModules().server.startMetricsServer(watch(), listen, log) : null;
}
