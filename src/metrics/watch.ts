/**
 * Feeds a ProcessMetrics from a Worker's or a Master's events, and answers their readiness.
 */
import { performance } from 'node:perf_hooks';
import type { Master } from '../master/master';
import { WorkerPool } from '../worker/slotPool';
import type { JobEvent, JobFailureEvent, Worker } from '../worker/worker';
import { type JobOutcome, ProcessMetrics } from './processMetrics';

/** The exception of a job whose process died or was killed mid-job. */
const DIRTY_EXIT = 'Resque::DirtyExit';

/** How long a readiness probe waits for Redis to answer. */
export const READY_PROBE_MS = 1000;

/** A readiness answer: ready or not, and why not. */
export interface Readiness {
  ready: boolean;
  reason: string;
}

/** The outcome label of a failure event. */
export function outcomeOf(e: JobFailureEvent): JobOutcome {
  return e.exception === DIRTY_EXIT ? 'dirty_exit' : 'failure';
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

async function redisAnswers(store: { serverTime(): Promise<number> }): Promise<string | null> {
  try {
    await bounded(store.serverTime(), READY_PROBE_MS);
    return null;
  } catch (e) {
    return `Redis does not answer (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** A process's metrics and readiness check. */
export interface Watched {
  metrics: ProcessMetrics;
  /** Registered and Redis answering (a bounded round trip). */
  readiness(): Promise<Readiness>;
}

/** Counts a Worker's jobs by outcome, times them, and counts its Redis connection losses. */
export function watchWorker(w: Worker | WorkerPool, o: { defaultMetrics?: boolean } = {}): Watched {
  let lastReady = false;
  // A pool (--concurrency) counts its running slots; each slot's job events carry `slot`, and
  // seq numbers are per slot.
  const pool = w instanceof WorkerPool ? w : null;
  const metrics = new ProcessMetrics(
    {
      slots: () => (pool ? pool.concurrency : 1),
      busySlots: () => (pool ? pool.workers.filter(s => s.state === 'working').length : w.state === 'working' ? 1 : 0),
      ready: () => lastReady,
    },
    o,
  );
  const started = new Map<string, number>();
  const keyOf = (e: JobEvent): string => `${(e as JobEvent & { slot?: number }).slot ?? 0}:${e.seq}`;
  const events = w as unknown as {
    on(ev: 'job' | 'success', fn: (e: JobEvent) => void): unknown;
    on(ev: 'failure', fn: (e: JobFailureEvent) => void): unknown;
  };
  events.on('job', e => started.set(keyOf(e), performance.now()));
  const done = (e: JobEvent, outcome: JobOutcome): void => {
    const t0 = started.get(keyOf(e));
    started.delete(keyOf(e));
    metrics.jobDone(e.className, e.queue, outcome, t0 === undefined ? null : (performance.now() - t0) / 1000);
  };
  events.on('success', e => done(e, 'success'));
  events.on('failure', e => done(e, outcomeOf(e)));
  w.store.on('connection-error', () => metrics.redisError());
  return {
    metrics,
    async readiness() {
      let r: Readiness;
      if (!['idle', 'working', 'paused'].includes(w.state)) r = { ready: false, reason: `worker is ${w.state}` };
      else {
        const why = await redisAnswers(w.store);
        r = why ? { ready: false, reason: why } : { ready: true, reason: `registered as ${w.id}` };
      }
      lastReady = r.ready;
      return r;
    },
  };
}

/**
 * A master's metrics: its children's jobs and Redis errors (reported over IPC, see
 * `reportOutcomes`), its own Redis errors, and its children by state from its own view.
 */
export function watchMaster(m: Master, o: { defaultMetrics?: boolean } = {}): Watched {
  let lastReady = false;
  const metrics = new ProcessMetrics(
    {
      slots: () => m.info().children.length,
      busySlots: () => m.info().children.filter(c => c.job !== null).length,
      children: () => {
        const by: Record<string, number> = {};
        for (const c of m.info().children) by[c.state ?? 'unknown'] = (by[c.state ?? 'unknown'] ?? 0) + 1;
        return by;
      },
      ready: () => lastReady,
    },
    o,
  );
  m.on('child-event', (_pid, e) => {
    if (e.act === 'outcome') metrics.jobDone(e.className, e.queue, e.outcome, e.ms / 1000);
    else if (e.act === 'redis-error') metrics.redisError();
  });
  m.store.on('connection-error', () => metrics.redisError());
  return {
    metrics,
    async readiness() {
      const info = m.info();
      const desired = info.groups.reduce((n, g) => n + g.desired, 0);
      let r: Readiness;
      if (info.stopping) r = { ready: false, reason: 'master is stopping' };
      else if (m.readyCount < desired) r = { ready: false, reason: `${m.readyCount} of ${desired} children registered` };
      else {
        const why = await redisAnswers(m.store);
        r = why ? { ready: false, reason: why } : { ready: true, reason: `${m.readyCount} of ${desired} children registered` };
      }
      lastReady = r.ready;
      return r;
    },
  };
}
