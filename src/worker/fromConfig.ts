/**
 * Builds a Worker from a resolved WorkerConfig (config/worker.ts): the logger, the job
 * modules, the options. Used by the CLI's worker command and by a master's children.
 */
import type { WorkerConfig } from '../config/types';
import { loadJobModules } from '../jobs/load';
import { createLogger, type Logger } from '../logging/logger';
import type { WorkerPool } from './slotPool';
import type { SupervisedBy, Worker, WorkerOptions } from './worker';

// The Worker and the pool are loaded when one is built: a master (which only takes
// loggerFromConfig from here) never loads the job loop, a one-slot worker never the pool.
const workerModule = (): typeof import('./worker') => require('./worker') as typeof import('./worker');
const poolModule = (): typeof import('./slotPool') => require('./slotPool') as typeof import('./slotPool');

export type { SupervisedBy } from './worker';

export interface CreateWorkerExtra {
  /** Default: one built from cfg.logLevel / cfg.logFile. */
  logger?: Logger;
  supervisedBy?: SupervisedBy;
  /** The host in the worker id. @defaultValue os.hostname() */
  hostname?: string;
}

/** The logger a WorkerConfig asks for: its level and format, to its log file or stderr. */
export function loggerFromConfig(cfg: Pick<WorkerConfig, 'logLevel' | 'logFile' | 'logFormat'>): Logger {
  return createLogger({ level: cfg.logLevel, ...(cfg.logFile ? { file: cfg.logFile } : {}), ...(cfg.logFormat ? { format: cfg.logFormat } : {}) });
}

/** Loads cfg.jobs and constructs the Worker (not started). */
export async function createWorker(cfg: WorkerConfig, extra: CreateWorkerExtra = {}): Promise<Worker> {
  const options = await workerOptionsFromConfig(cfg, extra);
  return new (workerModule().Worker)(options);
}

/**
 * What runs cfg: a Worker when cfg.concurrency is absent or 1 (exactly as before), else a
 * WorkerPool of that many job slots (a range autoscales). Not started.
 */
export async function createWorkerOrPool(cfg: WorkerConfig, extra: CreateWorkerExtra = {}): Promise<Worker | WorkerPool> {
  const c = cfg.concurrency;
  const options = await workerOptionsFromConfig(cfg, extra);
  if (!c || (c.min === 1 && c.max === 1)) return new (workerModule().Worker)(options);
  return new (poolModule().WorkerPool)({ ...options, concurrency: c.min === c.max ? c.min : { min: c.min, max: c.max } });
}

/** The WorkerOptions cfg gives (its job modules loaded). */
export async function workerOptionsFromConfig(cfg: WorkerConfig, extra: CreateWorkerExtra = {}): Promise<WorkerOptions> {
  const logger = extra.logger ?? loggerFromConfig(cfg);
  const jobs = await loadJobModules(cfg.jobs, undefined, undefined, (path, names) =>
    logger.info(
      `--jobs ${path}: ${names.join(', ')} ${names.length === 1 ? 'is a plain function, not a job' : 'are plain functions, not jobs'} (declare a job with defineJob() to run it from payloads)`,
    ),
  );
  const options: WorkerOptions = {
    queues: cfg.queues,
    jobs,
    connection: cfg.connection,
    namespace: cfg.namespace,
    nonblockingPop: cfg.nonblockingPop,
    backoffMin: cfg.backoffMin,
    backoffMax: cfg.backoffMax,
    blockTimeout: cfg.blockTimeout,
    drain: cfg.drain,
    termTimeout: cfg.termTimeout,
    heartbeatInterval: cfg.heartbeatInterval,
    pruneInterval: cfg.pruneInterval,
    onDirtyExit: cfg.onDirtyExit,
    losslessArgs: cfg.losslessArgs,
    pyresDates: cfg.pyresDates,
    waitReplicas: cfg.waitReplicas,
    waitTimeout: cfg.waitTimeout,
    failureBackend: cfg.failureBackend,
    logger,
    ...(extra.supervisedBy ? { supervisedBy: extra.supervisedBy } : {}),
    ...(extra.hostname ? { hostname: extra.hostname } : {}),
  };
  return options;
}
