/**
 * The master <-> child protocol, as discriminated unions on `act`. Pure.
 */
export type ChildToMaster =
  | { act: 'ready'; workerId: string }
  | { act: 'job'; queue: string; className: string; since: number; timeout: number | null }
  | { act: 'idle'; processed: number; rss: number }
  | { act: 'rss'; rss: number }
  | { act: 'recycle'; reason: string };

export type MasterToChild =
  | { act: 'stop'; graceful: boolean; reason: string }
  | { act: 'abort-job'; reason: string }
  | { act: 'pause' }
  | { act: 'resume' };

const CHILD_ACTS = new Set(['ready', 'job', 'idle', 'rss', 'recycle']);
const MASTER_ACTS = new Set(['stop', 'abort-job', 'pause', 'resume']);

export function isChildMessage(m: unknown): m is ChildToMaster {
  return typeof m === 'object' && m !== null && CHILD_ACTS.has((m as { act?: unknown }).act as string);
}

export function isMasterMessage(m: unknown): m is MasterToChild {
  return typeof m === 'object' && m !== null && MASTER_ACTS.has((m as { act?: unknown }).act as string);
}

/** What a child needs to build its Worker; passed in the PYRES_CHILD_CONFIG environment variable. */
export interface ChildConfig {
  /** The worker command's flags (as parsed), with this child's queues. */
  workerArgs: Record<string, unknown>;
  masterPid: number;
  maxJobs: number | null;
  maxMemoryMb: number | null;
  workerInit: string | null;
  /** Tell the master of every job as it starts (a --job-timeout is set); otherwise only of jobs running over 100 ms. */
  reportEveryJob: boolean;
}
