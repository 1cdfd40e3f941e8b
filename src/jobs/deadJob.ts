/**
 * The onFailure hooks of a job whose worker is gone (a master's SIGKILLed child, a worker found
 * dead by prune), run by the process that records its Resque::DirtyExit, as Ruby's parent runs
 * `on_failure` (resque-retry's included: it reads the attempt with GET and re-enqueues the job).
 * The hooks get a job context naming the dead worker, its queue and the Redis it worked on.
 */
import { rawArgsOf } from '../protocol/args';
import type { Logger } from '../logging/logger';
import { isFailureSuppressed } from '../retry/suppression';
import type { ConnectionOptions } from '../store/connection';
import { runFailureHooks, type JobHooks } from './hooks';
import { type JobContext, runInJobContext } from './registry';
import type { PluginResources } from './resources';

/** The dead worker's job, as its working record held it. */
export interface DeadJob {
  /** The payload text as held in worker:<id>. */
  raw: string;
  queue: string;
  /** The dead worker's id (the job's worker, as Ruby's Job#worker). */
  workerId: string;
  redis?: { readonly connection: ConnectionOptions; readonly namespace: string };
  resources?: PluginResources;
  logger: Logger;
}

/** What to record: the error (Resque's RuntimeError when a hook threw), and whether a retry policy suppressed the record. */
export interface DeadJobOutcome {
  error: Error;
  suppressed: boolean;
  hooksRan: number;
}

/** Runs `hooks.onFailure` for a dead worker's job, in a job context; never throws. */
export async function runDeadJobFailureHooks(hooks: JobHooks, job: DeadJob, error: Error): Promise<DeadJobOutcome> {
  if (hooks.onFailure.length === 0) return { error, suppressed: false, hooksRan: 0 };
  let payload: Record<string, unknown> = {};
  try {
    const p = JSON.parse(job.raw) as unknown;
    if (p && typeof p === 'object' && !Array.isArray(p)) payload = p as Record<string, unknown>;
  } catch {
    /* not JSON: no args */
  }
  const className = typeof payload['class'] === 'string' ? payload['class'] : '';
  const args = Array.isArray(payload['args']) ? (payload['args'] as unknown[]) : [];
  let rawArgs: string | null = null;
  const signal = new AbortController().signal;
  const ctx: JobContext = {
    queue: job.queue,
    workerId: job.workerId,
    className,
    payload,
    raw: job.raw,
    get rawArgs(): string {
      if (rawArgs === null) {
        try {
          rawArgs = rawArgsOf(job.raw);
        } catch {
          rawArgs = JSON.stringify(args);
        }
      }
      return rawArgs;
    },
    signal,
    logger: job.logger,
    ...(job.redis ? { redis: job.redis } : {}),
    ...(job.resources ? { resources: job.resources } : {}),
  };
  const recorded = await runInJobContext(ctx, () => runFailureHooks(hooks, error, args, className)).catch(() => error);
  return { error: recorded, suppressed: recorded === error && isFailureSuppressed(error), hooksRan: hooks.onFailure.length };
}
