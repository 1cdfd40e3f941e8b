/**
 * The master <-> child protocol, as discriminated unions on `act`. Pure.
 *
 * Every job a child reports carries `seq`, the child's own job counter (1, 2, ...). An abort
 * names the `seq` it targets: a child whose current job has another seq ignores it, so a
 * master that was stopped or slow never aborts the job after the one it meant. A child with job
 * slots (`--concurrency`) numbers jobs per slot and names the slot in every job message.
 */
export type ChildToMaster =
  | { act: 'ready'; workerId: string }
  /** `slot`: the job slot (`--concurrency`); absent = 0. */
  | { act: 'job'; seq: number; queue: string; className: string; timeout: number | null; slot?: number }
  | { act: 'idle'; seq: number; processed: number; slot?: number }
  | { act: 'recycle'; reason: string }
  /** The child cannot start (a job module, --worker-init, a refused password): the reason, then it exits. */
  | { act: 'fatal'; reason: string }
  /**
   * The module check, from the first child forked gated with CHILD_GATE_CHECK: its `--jobs` and
   * `--worker-init` (imported, not called) loaded before its 'go', as the check process loads them.
   */
  | { act: 'checked'; ok: true; jobs: string[]; failureHooks: string[] }
  | { act: 'checked'; ok: false; message: string }
  | ChildObservation;

/**
 * The child messages that are observations for the master's metrics, not supervision (sent
 * only with `ChildSpec.reportOutcomes`, i.e. a master with --metrics-port): a job's outcome
 * and how long it ran (`ms`), or a lost Redis connection.
 */
export type ChildObservation =
  | { act: 'outcome'; seq: number; slot?: number; queue: string; className: string; outcome: 'success' | 'failure' | 'dirty_exit'; ms: number }
  | { act: 'redis-error' };

/** Why a job is aborted: its outcome is then the job's own failure, never a dirty exit. */
export type AbortKind = 'timeout' | 'memory';

export type MasterToChild =
  | { act: 'stop'; graceful: boolean; reason: string }
  /** A child forked gated (CHILD_GATE_ENV) goes on: job code, Redis, registration. */
  | { act: 'go' }
  /** `slot`: the job slot whose job `seq` is meant (absent = 0: a child without slots). */
  | { act: 'abort-job'; seq: number; kind: AbortKind; reason: string; slot?: number }
  | { act: 'pause' }
  | { act: 'resume' };

const CHILD_ACTS = new Set(['ready', 'job', 'idle', 'recycle', 'fatal', 'checked', 'outcome', 'redis-error']);
const MASTER_ACTS = new Set(['stop', 'go', 'abort-job', 'pause', 'resume']);

/**
 * Set in the environment of a child forked while the master's module check still runs: it boots
 * (Node, the worker's own modules), then waits for `{ act: 'go' }` before it loads any job code.
 */
export const CHILD_GATE_ENV = 'PYRES_CHILD_GATE';

/**
 * CHILD_GATE_ENV's value for the one gated child that is also the master's module check: before
 * it waits for its 'go' it loads the job modules (with MODULE_CHECK_ENV set meanwhile) and
 * reports `{ act: 'checked' }`. One Node process fewer at the start than a check of its own.
 */
export const CHILD_GATE_CHECK = 'check';

export function isChildMessage(m: unknown): m is ChildToMaster {
  return typeof m === 'object' && m !== null && CHILD_ACTS.has((m as { act?: unknown }).act as string);
}

export function isMasterMessage(m: unknown): m is MasterToChild {
  return typeof m === 'object' && m !== null && MASTER_ACTS.has((m as { act?: unknown }).act as string);
}
