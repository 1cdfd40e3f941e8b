export { Worker, type WorkerOptions, type WorkerState, type JobEvent } from './worker/worker';
export { backoffDelay } from './worker/backoff';
export { JobRegistry, currentJob, type JobContext, type JobDefinition, type ResolvedJob } from './jobs/registry';
export { loadJobModules, verifyModules } from './jobs/load';
export { defineJob, isDeclaredJob, JOB_MARK, type Job, type JobSpec, type JobArgs, type JobResult } from './jobs/define';
export { Client, type ClientOptions, type Status, type WorkerStatus } from './producer/client';
export { RedisStore, type StoreOptions } from './store/redisStore';
export { type ConnectionOptions, redactUrl } from './store/connection';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logging/logger';
export * from './errors';
export { ResqueKeys } from './protocol/keys';
export { encodeJob, encodeJobArgsText, compactJsonText, decodeJob, type DecodedJob } from './protocol/job';
export { decodeArgs, parseLossless, pyresDate, revivePyresDates, type ArgsDecoding } from './protocol/args';
export { encodeWorkingOn, decodeWorkingOn, encodeFailure, type FailureInput, type WorkingOn } from './protocol/records';
export { formatWorkerId, parseWorkerId } from './protocol/workerId';
export { formatRunAt, formatStarted, formatFailedAt, formatHeartbeat, parseResqueTime } from './protocol/time';
export { parseQueueList, resolveQueues, type QueueSpec } from './protocol/queues';
export { VERSION, RESQUE_PROTOCOL_VERSION } from './version';

import { Client, type ClientOptions } from './producer/client';

/** Connects, enqueues one job as `Resque.enqueue` does, disconnects. For many jobs keep a Client. */
export async function enqueue(queue: string, className: string, args: unknown[] = [], opts: ClientOptions = {}): Promise<string> {
  const c = new Client(opts);
  try {
    await c.connect();
    return await c.enqueue(queue, className, ...args);
  } finally {
    await c.close();
  }
}

export { Master, type MasterOptions, type MasterInfo, type MasterCommand, type AutoscaleOptions } from './master/master';
export { parseWorkersSpec, parsePoolYaml, loadPoolFile, describeGroups, type GroupSpec } from './config/groups';
export type { WorkerConfig, MasterConfig, AutoscaleConfig, ChildSpec, FailureBackend } from './config/types';
export { resolveWorkerConfig, type WorkerConfigInput } from './config/worker';
export { resolveMasterConfig, type MasterConfigInput } from './config/master';
export { createWorker, type SupervisedBy } from './worker/fromConfig';
export { pruneDeadWorkers, unregisterDeadWorker, pidAlive, type PruneOptions } from './worker/prune';
export type { DirtyExitPolicy } from './store/redisStore';
// Types that appear in the signatures above (so the API docs, and callers, can name them).
export type { WorkerIdParts } from './protocol/workerId';
export type { ConsoleLoggerOptions } from './logging/logger';
export type { CreateWorkerExtra } from './worker/fromConfig';
export type { EnqueueArgs } from './producer/client';
export type { WaitSpec, WaitResult, MasterCheck, ReserveNote, ReserveResult, FinishMode, FinishSpec, ReserveSpec } from './store/redisStore';
export type { WorkerDetails } from './store/workerDetails';
