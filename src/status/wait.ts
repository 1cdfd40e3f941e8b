import { PyresError } from '../errors';
import { currentJob } from '../jobs/registry';
import { type DecodedStatus, decodeDoneNotice, decodeStatus, isFinalState } from '../protocol/status';
import type { StatusStore } from '../store/statusStore';

/** A waited-for job failed: `exception` is its error's class name, `message` its message. */
export class JobFailedError extends PyresError {
  constructor(
    readonly uuid: string,
    readonly exception: string,
    readonly error: string,
  ) {
    super(`${exception}: ${error}`);
    this.name = 'JobFailedError';
  }
}

/** `enqueueAndWait`: a `beforeEnqueue` hook of the class returned false, so nothing was enqueued (Ruby's `create` returns nil). */
export class EnqueueCancelledError extends PyresError {
  constructor(readonly className: string) {
    super(`a beforeEnqueue hook of ${className} cancelled the enqueue: nothing to wait for`);
    this.name = 'EnqueueCancelledError';
  }
}

/** A waited-for job ended `killed`. */
export class JobKilledError extends PyresError {
  constructor(readonly uuid: string) {
    super(`status job ${uuid} was killed`);
    this.name = 'JobKilledError';
  }
}

/** A wait did not see every job end within its timeout (or Redis did not answer in time). */
export class WaitTimeoutError extends PyresError {
  constructor(
    readonly pending: readonly string[],
    seconds: number,
  ) {
    super(
      `timed out after ${seconds} s waiting for ${pending.length} job${pending.length === 1 ? '' : 's'}: ${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''}`,
    );
    this.name = 'WaitTimeoutError';
  }
}

/** A waited-for uuid has no status (never created, removed, or expired). */
export class StatusNotFoundError extends PyresError {
  constructor(readonly uuid: string) {
    super(`no status ${uuid} (never created, removed or expired)`);
    this.name = 'StatusNotFoundError';
  }
}

/**
 * A wait was aborted through its `signal` (inside a job: the job's own signal, on the worker's
 * TERM/INT/USR1, a timeout or a status kill). `name` is 'AbortError', as a DOM abort's; `cause`
 * is the signal's reason; `pending` the uuids not ended yet.
 */
export class WaitAbortedError extends PyresError {
  override readonly cause: unknown;
  constructor(
    readonly pending: readonly string[],
    reason: unknown,
  ) {
    const why = reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
    super(
      `aborted waiting for ${pending.length} job${pending.length === 1 ? '' : 's'}${pending.length ? ': ' : ''}${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''} (${why})`,
    );
    this.name = 'AbortError';
    this.cause = reason;
  }
}

/** Options of a wait. */
export interface WaitOptions {
  /** Seconds to wait at most (the whole wait, Redis silences included). @defaultValue no limit */
  timeout?: number;
  /** Resolve to the jobs' results (`result` of each completed status) instead of their statuses. */
  collectResults?: boolean;
  /**
   * Ends the wait at once when it aborts: it rejects with WaitAbortedError and its BLPOP
   * connection is dropped. @defaultValue inside a job, the job's own signal (`currentJob().signal`:
   * the worker's TERM/INT/USR1 and timeouts, and in a status job its kill); else none
   */
  signal?: AbortSignal;
}

/** One BLPOP's server-side timeout, seconds: short, so each wait is a loop (see waitForStatuses). */
const STEP_SECONDS = 1;
/** How much longer than its own timeout one BLPOP may stay unanswered before the connection counts as silent. */
const SILENT_GRACE_MS = 3000;

const Deadline: unique symbol = Symbol('deadline');
const Aborted: unique symbol = Symbol('aborted');

/** `p`, or Deadline after `ms`, or Aborted as soon as `signal` aborts (whichever comes first). */
function race<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | typeof Deadline | typeof Aborted> {
  if (!Number.isFinite(ms) && !signal) return p;
  if (signal?.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(Aborted);
  }
  return new Promise<T | typeof Deadline | typeof Aborted>((resolve, reject) => {
    const t = Number.isFinite(ms) ? setTimeout(() => finish(() => resolve(Deadline)), Math.max(0, ms)) : undefined;
    const onAbort = (): void => finish(() => resolve(Aborted));
    const finish = (f: () => void): void => {
      if (t) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      v => finish(() => resolve(v)),
      e => finish(() => reject(e)),
    );
  });
}

/**
 * Waits for status jobs to end, without polling: each job's wrapper LPUSHes a notice to
 * `pyres-ts:done:<uuid>` when it ends, and this BLPOPs those lists on the store's own waiter
 * connection in short steps. The statuses are read first, so a job that ended before the wait
 * began is not missed; after every quiet step the pending statuses are read again (one MGET a
 * second), which also covers jobs run by Ruby's resque-status, which pushes no notice.
 * Every step is bounded: a Redis that stops answering makes the wait reject with WaitTimeoutError
 * at its timeout. A failed job rejects with JobFailedError (its class and message), a killed one
 * with JobKilledError, a missing status with StatusNotFoundError.
 */
export async function waitForStatuses(
  store: StatusStore,
  uuids: readonly string[],
  opts: WaitOptions & {
    /** The statuses were just created (queued, as enqueueAndWait knows): the first read is skipped. */
    fresh?: boolean;
  } = {},
): Promise<DecodedStatus[]> {
  const seconds = opts.timeout ?? Number.POSITIVE_INFINITY;
  if (!(seconds > 0)) throw new RangeError(`timeout must be a number of seconds > 0, got ${JSON.stringify(opts.timeout)}`);
  const signal = opts.signal ?? currentJob()?.signal;
  const deadline = Date.now() + seconds * 1000;
  const done = new Map<string, DecodedStatus>();
  const pending = new Set(uuids);
  if (signal?.aborted) throw new WaitAbortedError([...pending], signal.reason);
  const left = (): number => deadline - Date.now();
  const timedOut = (): never => {
    store.dropWaiter();
    throw new WaitTimeoutError([...pending], seconds);
  };
  const aborted = (): WaitAbortedError => new WaitAbortedError([...pending], signal?.reason);
  /** `p` within the deadline and the signal, else the wait's end (timeout or abort). */
  const bounded = async <T>(p: Promise<T>): Promise<T> => {
    const r = await race(p, left(), signal);
    if (r === Deadline) timedOut();
    if (r === Aborted) throw aborted();
    return r as T;
  };

  const settle = async (uuid: string, text: string | null, noticeText: string | null): Promise<void> => {
    if (text === null) throw new StatusNotFoundError(uuid);
    const st = decodeStatus(uuid, text);
    if (!isFinalState(st.state)) return;
    if (st.state === 'failed') {
      const n = decodeDoneNotice(noticeText ?? (await store.doneNotice(uuid)) ?? '');
      const fallback = (st.message ?? '').replace(/^The task failed because of an error: /, '');
      throw new JobFailedError(uuid, n?.exception ?? 'Error', n?.error ?? fallback);
    }
    if (st.state === 'killed') throw new JobKilledError(uuid);
    done.set(uuid, st);
    pending.delete(uuid);
  };

  const readPending = async (): Promise<void> => {
    const ids = [...pending];
    const texts = await bounded(store.mget(ids));
    for (const [i, id] of ids.entries()) await settle(id, texts[i] ?? null, null);
  };

  // A status just created (enqueueAndWait) is known to be queued: no first read.
  if (!opts.fresh) await readPending();
  while (pending.size > 0) {
    const ms = left();
    if (ms <= 0) timedOut();
    const step = Math.max(0.05, Math.min(STEP_SECONDS, ms / 1000));
    let r: Awaited<ReturnType<StatusStore['popDone']>> | typeof Deadline | typeof Aborted;
    const stuck = new AbortController();
    try {
      r = await race(store.popDone([...pending], Number(step.toFixed(3)), stuck.signal), Math.min(ms, step * 1000 + SILENT_GRACE_MS), signal);
    } catch {
      // The waiter connection was dropped or errored (popDone dropped it): a new one next step.
      r = null;
    }
    if (r === Aborted) {
      stuck.abort(); // the BLPOP's connection is dropped (never returned to the idle ones)
      throw aborted();
    }
    if (r === Deadline) {
      stuck.abort(); // silent: this step's connection is dropped, the next step takes a new one
      if (left() <= 0) timedOut();
      continue;
    }
    if (r === null) {
      await readPending();
      continue;
    }
    await settle(r.uuid, r.text, r.notice);
  }
  return uuids.map(u => done.get(u)!);
}

/** The `result` field of each status (undefined where there is none). */
export function resultsOf(statuses: readonly DecodedStatus[]): unknown[] {
  return statuses.map(s => (Object.hasOwn(s.fields, 'result') ? s.fields['result'] : undefined));
}
