export { Worker, type WorkerOptions, type WorkerState, type JobEvent, type JobFailureEvent, type WorkerEvents } from './worker/worker';
export type { SlotHooks } from './worker/worker';
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolEvents, type SlotJobEvent } from './worker/slotPool';
export {
  decideSlots,
  initialSlotScaleState,
  SLOT_SCALE_DEFAULTS,
  type SlotScaleConfig,
  type SlotScaleSample,
  type SlotScaleState,
  type SlotScaleDecision,
} from './worker/slotScale';
export { backoffDelay } from './worker/backoff';
export { JobRegistry, currentJob, type JobContext, type JobDefinition, type ResolvedJob } from './jobs/registry';
export { loadJobModules, verifyModules } from './jobs/load';
export { defineJob, isDeclaredJob, JOB_MARK, type Job, type JobSpec, type JobArgs, type JobResult } from './jobs/define';
export {
  DontPerform,
  isDontPerform,
  defineWorkerHooks,
  isWorkerHooks,
  collectJobHooks,
  JOB_HOOK_KINDS,
  WORKER_HOOK_KINDS,
  type HookSet,
  type JobHooks,
  type JobHookKind,
  type JobHookFields,
  type AroundHook,
  type ArgsHook,
  type BeforeEnqueueHook,
  type FailureHook,
  type WorkerHookSpec,
  type WorkerHooks,
  type WorkerHookInfo,
  type WorkerHookLists,
} from './jobs/hooks';
export { pyresHooks, type PyresMetadata } from './jobs/pyresHooks';
export {
  type RetryOptions,
  type ExceptionMatcher,
  type ExceptionDelay,
  type RetryExceptionDelays,
  type RetryCriteriaCheck,
  isFailureSuppressed,
} from './retry/index';
export {
  Client,
  type ClientOptions,
  type Status,
  type WorkerStatus,
  type PeekedJob,
  type ClientWorker,
  type FailedApi,
  type FailureTarget,
  type FailedListOptions,
  type FailedFilter,
  type FailedItem,
  type FailedPage,
  type RetryAllResult,
  type ServerMasters,
  type ResqueStats,
  type JobName,
  type EnqueueArgs,
  type DelayedResult,
} from './producer/client';
export { Scheduler, type SchedulerExtension, type SchedulerOptions, type PassResult } from './scheduler/scheduler';
export { DelayedAdmin, type DelayedOverview, type DelayedRow, type DelayedItems, type LeaderInfo } from './admin/delayed';
export { DelayedKeys, encodeDelayedItem, decodeDelayedItem, flooredTimestamp, type DelayedItem } from './protocol/delayed';
export {
  Admin,
  AdminActionError,
  type ServerSpec,
  type Server,
  type Settled,
  type WorkerRow,
  type QueueRow,
  type JobInfo,
  type LiveStats,
} from './admin/admin';
export type { AdminStore } from './store/adminStore';
export type { HistorySample } from './store/adminStore';
export { sampleHistory } from './admin/inspect';
export type { FailureView } from './admin/failures';
export type { RedisClient } from './store/connection';
export { RedisStore, type StoreOptions } from './store/redisStore';
export { type ConnectionOptions, redactUrl } from './store/connection';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logging/logger';
export * from './errors';
export { ResqueKeys } from './protocol/keys';
export { encodeJob, encodeJobArgsText, compactJsonText, decodeJob, type DecodedJob } from './protocol/job';
export { decodeArgs, parseLossless, pyresDate, revivePyresDates, type ArgsDecoding } from './protocol/args';
export { encodeWorkingOn, decodeWorkingOn, encodeFailure, type FailureInput, type WorkingOn } from './protocol/records';
export { formatWorkerId, parseWorkerId } from './protocol/workerId';
export { formatSlotWorkerId, slotHostOf, MAX_SLOTS } from './protocol/workerId';
export { formatRunAt, formatStarted, formatFailedAt, formatHeartbeat, parseResqueTime } from './protocol/time';
export { parseQueueList, resolveQueues, type QueueSpec } from './protocol/queues';
export { VERSION, RESQUE_PROTOCOL_VERSION } from './version';

import { Client, type ClientOptions } from './producer/client';

/**
 * One-off `Resque.enqueue`: connects, pushes, disconnects (for many jobs keep a Client). The same
 * form as `Client.enqueue`, `(queue, className, ...args)`, optionally preceded by ClientOptions:
 *
 * - `enqueue('p10', 'Archive', 42, { deep: true })`: to 127.0.0.1:6379, namespace `resque`;
 * - `enqueue({ connection: { url } }, 'p10', 'Archive', 42)`: anywhere else.
 *
 * Returns the payload pushed (null when a `beforeEnqueue` hook of `opts.jobs` cancelled it).
 */
export function enqueue(queue: string, className: string, ...args: unknown[]): Promise<string | null>;
export function enqueue(opts: ClientOptions, queue: string, className: string, ...args: unknown[]): Promise<string | null>;
export async function enqueue(...all: unknown[]): Promise<string | null> {
  const opts = (typeof all[0] === 'object' && all[0] !== null ? all.shift() : {}) as ClientOptions;
  const [queue, className, ...args] = all as [string, string, ...unknown[]];
  if (typeof className !== 'string') throw new TypeError(`enqueue(queue, className, ...args): className must be a string, got ${JSON.stringify(className)}`);
  const c = new Client(opts);
  try {
    await c.connect();
    return await c.enqueue(queue, className, ...args);
  } finally {
    await c.close();
  }
}

/** One-off `Client.enqueueArgsText`: `(queue, className, argsText)`, optionally preceded by ClientOptions. */
export function enqueueArgsText(queue: string, className: string, argsText: string): Promise<string>;
export function enqueueArgsText(opts: ClientOptions, queue: string, className: string, argsText: string): Promise<string>;
export async function enqueueArgsText(...all: unknown[]): Promise<string> {
  const opts = (typeof all[0] === 'object' && all[0] !== null ? all.shift() : {}) as ClientOptions;
  const [queue, className, argsText] = all as [string, string, string];
  const c = new Client(opts);
  try {
    await c.connect();
    return await c.enqueueArgsText(queue, className, argsText);
  } finally {
    await c.close();
  }
}

export { Master, type MasterOptions, type MasterInfo, type MasterCommand, type AutoscaleOptions, type MasterEvents } from './master/master';
export { parseWorkersSpec, parsePoolYaml, loadPoolFile, describeGroups, type GroupSpec } from './config/groups';
export type { WorkerConfig, MasterConfig, AutoscaleConfig, ChildSpec, FailureBackend } from './config/types';
export { resolveWorkerConfig, type WorkerConfigInput } from './config/worker';
export { resolveMasterConfig, type MasterConfigInput } from './config/master';
export { createWorker, type SupervisedBy } from './worker/fromConfig';
export { createWorkerOrPool } from './worker/fromConfig';
export type { SlotRange } from './config/types';
export { pruneDeadWorkers, unregisterDeadWorker, pidAlive, type PruneOptions, type DeadJobHooks } from './worker/prune';
export type { DirtyExitPolicy } from './store/redisStore';
// Types that appear in the signatures above (so the API docs, and callers, can name them).
export type { WorkerIdParts } from './protocol/workerId';
export type { ConsoleLoggerOptions } from './logging/logger';
export type { LogFields, LogFormat } from './logging/logger';
export { LogRing } from './logging/ring';
export type { ChildObservation } from './master/ipc';
export type { CreateWorkerExtra } from './worker/fromConfig';
export type { WaitSpec, WaitResult, MasterCheck, ReserveNote, ReserveResult, FinishMode, FinishSpec, ReserveSpec } from './store/redisStore';
export type { WorkerDetails } from './store/workerDetails';

// ---- the dashboard (`pyres-ts web`) from code ---------------------------------------------------
import type { Hono } from 'hono';
import type { WebAppOptions } from './web/app';
import type { WebServer, WebServerOptions } from './web/server';
export type { WebAppOptions, WebServer, WebServerOptions };
export { parseDsnList, type DsnDefaults } from './web/dsn';

/**
 * Serves the dashboard `pyres-ts web` serves, over an Admin (`new Admin(parseDsnList(dsn, { namespace }))`):
 * the same pages, CSRF-checked actions, optional basic auth, and Host checks (`bind`,
 * `allowedHosts`). `port` 0 picks a free one (default 5678). `close()` stops it and closes the
 * Admin. The web stack (hono) is loaded on the first call, not by `require('pyres-ts')`.
 */
export function startWebServer(o: WebServerOptions): Promise<WebServer> {
  return (require('./web/server') as typeof import('./web/server')).startWebServer(o);
}

/** The dashboard as a Hono app (`app.fetch`), to mount in a server of your own. See startWebServer. */
export function createWebApp(o: WebAppOptions): Hono {
  return (require('./web/app') as typeof import('./web/app')).createWebApp(o);
}
// Job status, results and waiting (resque-status 0.5 compatible; docs/STATUS.md).
export {
  defineStatusJob,
  StatusKilledError,
  EnqueueCancelledError,
  JobFailedError,
  JobKilledError,
  StatusNotFoundError,
  WaitAbortedError,
  WaitTimeoutError,
  type StatusJobHandle,
  type StatusJobSpec,
  type WaitOptions,
} from './status/index';
export type { EnqueueStatusOptions } from './producer/client';
export type { StatusPage } from './admin/status';
export {
  decodeStatus,
  statusKeys,
  STATUS_STATES,
  type DecodedStatus,
  type StatusState,
} from './protocol/status';
export { retryKey, retryIdentifier, failureRetryKey, encodeSuppressedFailure, type SuppressedFailure } from './protocol/retry';
export type { ManyReserved } from './store/redisStore';
export type { LockHolder, MoveResult, SchedulerStore, TimestampRow } from './store/schedulerStore';
export type { StatusKeys } from './protocol/status';
export type { Liveness, LivenessSlot, LivenessStateName } from './worker/liveness';
export type { HookFn } from './jobs/hooks';
export type { PluginResources } from './jobs/resources';
