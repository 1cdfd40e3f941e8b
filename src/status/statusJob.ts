import { ConfigError } from '../errors';
import { type Job, type JobSpec, defineJob } from '../jobs/define';
import { type JobHookFields, collectJobHooks, hookKindOf } from '../jobs/hooks';
import { type JobContext, currentJob, runInJobContext } from '../jobs/registry';
import type { PluginResources } from '../jobs/resources';
import { retryKey } from '../protocol/retry';
import {
  completedMessage,
  encodeDoneNotice,
  failedMessage,
  isStatusUuid,
  killedMessage,
  newStatusUuid,
  statusJson,
  statusName,
  statusTime,
  updateFields,
} from '../protocol/status';
import type { ConnectionOptions } from '../store/connection';
import { heldSharedRedis } from '../store/sharedRedis';
import { StatusStore } from '../store/statusStore';

/**
 * resque-status's job mixin (`include Resque::Plugins::Status`) for pyres-ts: `defineStatusJob`
 * wraps a perform so that the payload's args are `[uuid, options]` and the status at
 * `status:<uuid>` goes working → completed / failed / killed around the job's own code, with the
 * bytes resque-status writes (PROTOCOL-plugins.md §2, docs/STATUS.md).
 */

/** Thrown by `progress`/`tick` once a kill was requested (resque-status's `Killed`); the wrapper turns it into `killed`. */
export class StatusKilledError extends Error {
  constructor(readonly uuid: string) {
    super(`status job ${uuid} was killed`);
    this.name = 'StatusKilledError';
  }
}

/** What a status job's perform gets besides its options. */
export interface StatusJobHandle<O> {
  /** The status uuid (32 hex). */
  readonly uuid: string;
  readonly options: O;
  /**
   * Aborts on a kill request (`pyres-ts kill`, `Client.killStatus`, resque-web's Kill, Ruby's
   * `Hash.kill`), seen at every `progress`/`tick` and on a poll, and on the worker's own stop or
   * timeout. `reason` is a StatusKilledError for a kill.
   */
  readonly signal: AbortSignal;
  /** resque-status's `at(num, total, message)`: checks `_kill` (throws StatusKilledError when killed), then merges num/total/message. */
  progress(num: number, total: number, message?: string): Promise<void>;
  /** resque-status's `tick(message)`: checks `_kill`, then merges the message. */
  tick(message?: string): Promise<void>;
  /**
   * resque-status's `completed(*messages)`: a string is the message, an object's fields are merged
   * (`completed('all done', { result: { rows: 3 } })`). Without a message, `Completed at <time>`.
   */
  completed(...payload: Array<string | Readonly<Record<string, unknown>>>): Promise<void>;
  /** Merges any fields into the status (resque-status's `set_status`), e.g. `{ stage: 'upload' }`. */
  set(fields: Readonly<Record<string, unknown>>): Promise<void>;
}

/**
 * What `defineStatusJob` takes: the status options, and the same hooks and `retry` option as
 * `defineJob` (docs/HOOKS.md, docs/RETRY.md). The hooks get the payload's args, `(uuid, options)`,
 * as Ruby's hooks of a resque-status job get them.
 */
export interface StatusJobSpec<O extends Record<string, unknown>, R> extends JobHookFields<[string, O]> {
  /** The job's code: the options hash the status was created with, and the handle. */
  perform(options: O, job: StatusJobHandle<O>): R | Promise<R>;
  /** Keep perform's return value (JSON) in the completed status as `result`. An enqueue may ask for it too. @defaultValue false */
  keepResult?: boolean;
  /** `expire_in`: EXPIRE the status this many seconds after every write (the enqueue side sets its own). */
  expireIn?: number;
  /**
   * Where the statuses are. In a pyres-ts worker the wrapper uses the process's one plugin
   * connection for these options (opened on first use, closed when the last worker stops);
   * outside one it opens a connection per run.
   * @defaultValue the job's worker's connection (`currentJob().redis`: its `--redis`, `--sentinel`),
   * else `{ url: process.env.REDIS_URL }`
   */
  connection?: ConnectionOptions | (() => ConnectionOptions);
  /** @defaultValue the job's worker's namespace (`--namespace`), else 'resque' */
  namespace?: string;
  /** How often `_kill` is polled while the job runs between progress calls, ms. @defaultValue 1000 */
  killPollMs?: number;
  /** Seconds the job may run under a master with job timeouts. */
  timeout?: number;
  /** As defineJob's: the options hash decoded losslessly (big integers as BigInt). */
  lossless?: boolean;
  /** As defineJob's: Pyres `@D:` strings in the options decoded into Dates. */
  pyresDates?: boolean;
  /**
   * As defineJob's (resque-retry 1.8): a failed attempt is enqueued again with the same payload, so
   * the retried job keeps its uuid and status. Between attempts the status is `queued` (with the
   * failed attempt's message), not `failed`, and waiters keep waiting; only the attempt that gives
   * up writes `failed` (docs/STATUS.md, "Retries").
   */
  retry?: JobSpec['retry'];
}

/**
 * One run of a status job, seen by its onFailure hook: where its status is and whether the
 * wrapper already wrote its final state (keyed by the worker's job context).
 */
interface RunState {
  uuid: string;
  name: string;
  base: { now: number; expireIn?: number };
  /** completed, failed or killed written (by the wrapper or the hook). */
  final: boolean;
  /** The job's own error, when the wrapper left the failed/queued write to the onFailure hook (retry). */
  error: unknown;
  hasError: boolean;
  store: () => Promise<{ store: StatusStore; done: () => Promise<void> }>;
}
const runs = new WeakMap<JobContext, RunState>();

const specs = new WeakMap<object, { keepResult: boolean; expireIn: number | undefined }>();

function errorText(e: unknown): { exception: string; error: string } {
  if (e instanceof Error) return { exception: e.name || e.constructor?.name || 'Error', error: e.message };
  return { exception: 'Error', error: String(e) };
}

function mergeMessages(parts: ReadonlyArray<string | Readonly<Record<string, unknown>>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) {
    if (typeof p === 'string') out['message'] = p;
    else if (p && typeof p === 'object') Object.assign(out, p);
  }
  return out;
}

/**
 * Declares a status job (resque-status's `include Resque::Plugins::Status`). Enqueue it with
 * `client.enqueueStatus(queue, 'Name', options)` (or Ruby's `Name.create(options)`): the payload is
 * `{"class":"Name","args":["<uuid>",{options}]}`.
 *
 * ```ts
 * export const Import = defineStatusJob<{ rows: number }, number>({
 *   keepResult: true,
 *   async perform({ rows }, job) {
 *     for (let i = 1; i <= rows; i++) await job.progress(i, rows, `row ${i} of ${rows}`);
 *     return rows;
 *   },
 * });
 * ```
 *
 * A kill ends the job as `killed` and the worker counts it as processed (no failure record), as
 * Ruby does; an error marks `failed` ("The task failed because of an error: …") and is rethrown, so
 * the worker writes its failure record.
 */
export function defineStatusJob<O extends Record<string, unknown> = Record<string, unknown>, R = unknown>(spec: StatusJobSpec<O, R>): Job<[string, O], void> {
  if (spec === null || typeof spec !== 'object' || typeof spec.perform !== 'function')
    throw new ConfigError('defineStatusJob needs an object with a perform(options, job) function');
  if (spec.expireIn !== undefined && !(Number.isInteger(spec.expireIn) && spec.expireIn > 0)) {
    throw new ConfigError(`defineStatusJob: expireIn must be a positive integer of seconds, got ${JSON.stringify(spec.expireIn)}`);
  }
  if (spec.killPollMs !== undefined && !(Number.isFinite(spec.killPollMs) && spec.killPollMs >= 10)) {
    throw new ConfigError(`defineStatusJob: killPollMs must be a number >= 10, got ${JSON.stringify(spec.killPollMs)}`);
  }
  const userPerform = spec.perform;
  const retrying = spec.retry !== undefined;
  const resolveConn = (ctx: JobContext | undefined): { conn: ConnectionOptions; namespace: string } => ({
    // The worker's own Redis and namespace (--redis, --sentinel, --namespace) unless the job says otherwise.
    conn: typeof spec.connection === 'function' ? spec.connection() : (spec.connection ?? ctx?.redis?.connection ?? { url: process.env['REDIS_URL'] }),
    namespace: spec.namespace ?? ctx?.redis?.namespace ?? 'resque',
  });
  /** The status store of a run: the process's shared one in a worker, else a connection of its own (closed by done). */
  const storeFor = async (ctx: JobContext | undefined): Promise<{ store: StatusStore; done: () => Promise<void> }> => {
    const { conn, namespace } = resolveConn(ctx);
    // In a worker: the process's one plugin connection for these options, held until the worker stops.
    const shared = ctx?.resources ? sharedStatusStore(ctx.resources, conn, namespace) : null;
    if (shared) return { store: shared, done: async () => undefined };
    const store = new StatusStore({ connection: { ...conn, connectionName: 'pyres-ts:status-job' }, namespace });
    try {
      await store.connect();
    } catch (e) {
      await store.close();
      throw e;
    }
    return { store, done: () => store.close() };
  };

  // The hooks and options defineJob takes, passed through; the retry option's own hooks come from
  // defineJob itself (whatever it adds for `retry`), so they follow the retry layer.
  const hookProps: Record<string, unknown> = {};
  const props = spec as unknown as Record<string, unknown>;
  for (const k of Object.keys(props)) if (hookKindOf(k) && props[k] !== undefined) hookProps[k] = props[k];
  const withRetry = retrying
    ? (defineJob({ perform: () => undefined, retry: spec.retry!, ...hookProps } as JobSpec) as unknown as Record<string, unknown>)
    : hookProps;
  const others: Record<string, unknown> = {};
  const failureHooks: Record<string, unknown> = {};
  for (const k of Object.keys(withRetry)) {
    const kind = hookKindOf(k);
    if (!kind || withRetry[k] === undefined) continue;
    (kind === 'onFailure' ? failureHooks : others)[k] = withRetry[k];
  }
  // Every onFailure hook (the job's and the retry's) in their order, inside one: after them, the
  // status is settled (failed, or queued when the retry re-enqueued the job), also when one threw.
  const inner = collectJobHooks(failureHooks).onFailure;
  const onFailure = async (error: Error, ...args: unknown[]): Promise<void> => {
    const ctx = currentJob();
    try {
      for (const h of inner) await h(error, ...args);
    } finally {
      if (ctx) await settleFailure(ctx, error, args, retrying ? ctx.className : null).catch(() => undefined);
    }
  };

  const job = defineJob<[string, O], void>({
    ...(others as JobHookFields<[string, O]>),
    onFailure,
    ...(spec.timeout !== undefined ? { timeout: spec.timeout } : {}),
    ...(spec.lossless !== undefined ? { lossless: spec.lossless } : {}),
    ...(spec.pyresDates !== undefined ? { pyresDates: spec.pyresDates } : {}),
    async perform(first: unknown, second?: unknown): Promise<void> {
      const ctx = currentJob();
      const className = ctx?.className ?? 'StatusJob';
      const { store, done } = await storeFor(ctx);
      try {
        await runStatus(store, spec, userPerform, className, first, second, ctx, retrying, () => storeFor(ctx));
      } finally {
        await done();
      }
    },
  });
  specs.set(job, { keepResult: spec.keepResult === true, expireIn: spec.expireIn });
  if (!retrying) return job;
  // The `retry` option stays readable on the job, as defineJob's (its hooks are already in).
  const out = Object.freeze({ ...job, retry: Object.freeze({ ...spec.retry! }) }) as unknown as Job<[string, O], void>;
  specs.set(out, { keepResult: spec.keepResult === true, expireIn: spec.expireIn });
  return out;
}

/**
 * After a failed run's onFailure hooks: writes the status the wrapper left (a retried job's,
 * or one whose perform never returned: TERM's deadline, a master's timeout). With a retry policy
 * the job is `queued` again when the retry kept its resque-retry counter (it re-enqueued the job:
 * the test MultipleWithRetrySuppression makes), else `failed` with the done notice.
 */
async function settleFailure(ctx: JobContext, error: Error, args: unknown[], retryClass: string | null): Promise<void> {
  const st = runs.get(ctx);
  if (!st || st.final) return;
  st.final = true;
  const { store, done } = await st.store();
  try {
    const cause = st.hasError ? st.error : error;
    const { exception, error: message } = errorText(cause);
    const now = statusTime(new Date());
    if (retryClass !== null && (await store.exists(retryKey(retryClass, args)))) {
      await store.update(st.uuid, { ...st.base, now, fields: updateFields({ name: st.name, status: 'queued', message: failedMessage(message) }) });
      return;
    }
    await store.update(st.uuid, {
      ...st.base,
      now,
      fields: updateFields({ name: st.name, status: 'failed', message: failedMessage(message) }),
      notice: encodeDoneNotice({ status: 'failed', exception, error: message }),
    });
  } finally {
    await done();
  }
}

/** The worker's StatusStore over the shared plugin connection, or null once the worker stopped (the caller opens its own). */
function sharedStatusStore(resources: PluginResources, conn: ConnectionOptions, namespace: string): StatusStore | null {
  try {
    const { client, key } = heldSharedRedis(resources, conn);
    return resources.use(
      `pyres-ts:status-store ${namespace} ${key}`,
      () => new StatusStore({ client, namespace }),
      async () => undefined,
    );
  } catch {
    return null;
  }
}

async function runStatus<O extends Record<string, unknown>, R>(
  store: StatusStore,
  spec: StatusJobSpec<O, R>,
  userPerform: StatusJobSpec<O, R>['perform'],
  className: string,
  first: unknown,
  second: unknown,
  ctx: JobContext | undefined,
  retrying: boolean,
  reopen: RunState['store'],
): Promise<void> {
  const workerSignal = ctx?.signal;
  const now = (): number => statusTime(new Date());
  let uuid: string;
  let options: O;
  if (isStatusUuid(first)) {
    uuid = first;
    options = (second !== null && typeof second === 'object' && !Array.isArray(second) ? second : {}) as O;
  } else {
    // Through a Ruby scheduler that could not load the class: args are [options], no uuid yet (§2.5.5).
    uuid = newStatusUuid();
    options = (first !== null && typeof first === 'object' && !Array.isArray(first) ? first : {}) as O;
    await store.createStatusOnly(uuid, options, spec.expireIn ? { expireIn: spec.expireIn } : {});
  }
  const name = statusName(className, options);
  const expireIn = spec.expireIn;
  const kill = new AbortController();
  const signal = workerSignal ? AbortSignal.any([workerSignal, kill.signal]) : kill.signal;
  const base = { now: now(), ...(expireIn ? { expireIn } : {}) };
  const killedFields = (): { killedMessageJson: string; killedNotice: string } => ({
    killedMessageJson: statusJson(killedMessage(new Date())),
    killedNotice: encodeDoneNotice({ status: 'killed' }),
  });
  let killedWritten = false;
  const markKilled = (): void => {
    if (!kill.signal.aborted) kill.abort(new StatusKilledError(uuid));
  };
  const write = async (fields: Record<string, unknown>, checkKill: boolean): Promise<string> => {
    // Once killed, nothing more is written over the kill (the end writes killed, if not yet).
    if (kill.signal.aborted) throw new StatusKilledError(uuid);
    const r = await store.update(uuid, {
      ...base,
      now: now(),
      fields: updateFields({ name, ...fields }),
      ...(checkKill ? { kill: 'check' as const, ...killedFields() } : {}),
    });
    if (r.killed) {
      killedWritten = true;
      markKilled();
      throw new StatusKilledError(uuid);
    }
    return r.text;
  };

  // What the onFailure hook needs to settle this run (a worker's job only: hooks run there).
  const run: RunState | null = ctx ? { uuid, name, base, final: false, error: undefined, hasError: false, store: reopen } : null;
  if (ctx && run) runs.set(ctx, run);
  // `working` is written before the job's code runs, as Ruby's safe_perform!, but not awaited: the
  // perform starts at once and every later write of this run follows it on the same connection, in
  // order (one round trip less per job). Its reply is read only for a result that is not JSON.
  const startedP = write({ status: 'working' }, false);
  startedP.catch(() => undefined);
  const keepAsked = async (): Promise<boolean> => {
    if (spec.keepResult === true) return true;
    try {
      return (JSON.parse(await startedP) as Record<string, unknown>)['keep_result'] === true;
    } catch (e) {
      if (e instanceof SyntaxError) return false; // a status that is not JSON was replaced by the merge
      throw e;
    }
  };
  let completedFields: Record<string, unknown> | null = null;
  const handle: StatusJobHandle<O> = {
    uuid,
    options,
    signal,
    async progress(num, total, message) {
      if (typeof num !== 'number' || typeof total !== 'number' || !(total > 0))
        throw new RangeError(`progress: total must be a number > 0, got ${JSON.stringify(total)}`);
      await write({ status: 'working', num, total, ...(message !== undefined ? { message } : {}) }, true);
    },
    async tick(message) {
      await write({ status: 'working', ...(message !== undefined ? { message } : {}) }, true);
    },
    async completed(...payload) {
      completedFields = mergeMessages(payload);
    },
    async set(fields) {
      await write({ ...fields }, false);
    },
  };

  // The bounded poll of _kill between progress calls.
  const pollMs = spec.killPollMs ?? 1000;
  const timer = setInterval(() => {
    store.isKillRequested(uuid).then(
      yes => (yes ? markKilled() : undefined),
      () => undefined,
    );
  }, pollMs);
  timer.unref();

  let result: R | undefined;
  let failure: unknown = null;
  // The job's code sees the handle's signal (kill, worker stop, timeout) as currentJob().signal too,
  // so a wait inside it (Client.waitForJobs, enqueueAndWait) ends on a kill as on a TERM.
  const inner = ctx ? (Object.create(ctx, { signal: { value: signal, enumerable: true } }) as JobContext) : undefined;
  try {
    result = await (inner ? runInJobContext(inner, () => userPerform(options, handle)) : userPerform(options, handle));
  } catch (e) {
    failure = e;
  } finally {
    clearInterval(timer);
  }

  // The onFailure hook settled this run already (its perform outlived TERM's deadline): nothing more.
  if (run?.final) {
    if (failure !== null) throw failure;
    return;
  }
  if (kill.signal.aborted || failure instanceof StatusKilledError) {
    // Killed: written as killed (maybe already by the progress call that saw it), SREM _kill, no failure.
    if (run) run.final = true;
    if (!killedWritten) await store.update(uuid, { ...base, now: now(), fields: [], kill: 'now', ...killedFields() });
    return;
  }
  if (failure !== null && retrying && run) {
    // A retry policy decides in the onFailure hooks, which run next: the hook writes failed or queued.
    run.error = failure;
    run.hasError = true;
    throw failure;
  }
  if (run) run.final = true;
  if (failure !== null) {
    const { exception, error } = errorText(failure);
    await store.update(uuid, {
      ...base,
      now: now(),
      fields: updateFields({ name, status: 'failed', message: failedMessage(error) }),
      notice: encodeDoneNotice({ status: 'failed', exception, error }),
    });
    throw failure;
  }
  const done: Record<string, unknown> = { name, status: 'completed', message: completedMessage(new Date()), ...(completedFields ?? {}) };
  const notJson = async (e: unknown): Promise<never> => {
    // A result that is not JSON: the job failed to report it.
    const msg = `the result is not JSON: ${(e as Error).message}`;
    await store.update(uuid, {
      ...base,
      now: now(),
      fields: updateFields({ name, status: 'failed', message: failedMessage(msg) }),
      notice: encodeDoneNotice({ status: 'failed', exception: 'TypeError', error: msg }),
    });
    throw new TypeError(msg);
  };
  // The result is kept when the definition says so, or (decided in the merge script, so this write
  // need not wait for the `working` reply) when the status holds the enqueue's keep_result.
  let ifKeepResult: Array<[string, string]> | undefined;
  if (result !== undefined && spec.keepResult === true) done['result'] = result;
  else if (result !== undefined) {
    try {
      ifKeepResult = updateFields({ result });
    } catch (e) {
      if (await keepAsked()) await notJson(e);
    }
  }
  let fields: Array<[string, string]>;
  try {
    fields = updateFields(done);
  } catch (e) {
    return notJson(e);
  }
  await store.update(uuid, { ...base, now: now(), fields, ...(ifKeepResult ? { ifKeepResult } : {}), notice: encodeDoneNotice({ status: 'completed' }) });
}

/** The status options of a job made by defineStatusJob, or null for another job. */
export function statusSpecOf(job: unknown): { keepResult: boolean; expireIn: number | undefined } | null {
  if (job === null || (typeof job !== 'object' && typeof job !== 'function')) return null;
  return specs.get(job) ?? null;
}
