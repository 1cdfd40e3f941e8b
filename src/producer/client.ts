import {
  Admin,
  type FailedFilter,
  type FailedItem,
  type FailedPage,
  type RetryAllResult,
  type Server,
  type ServerMasters,
  type Settled,
  type WorkerRow,
} from '../admin/admin';
import { DelayedAdmin } from '../admin/delayed';
import { ConfigError } from '../errors';
import type { JobArgs } from '../jobs/define';
import { runAfterHooks, runBeforeHooks } from '../jobs/hooks';
import { JobRegistry, currentJob } from '../jobs/registry';
import type { MasterCommand } from '../master/supervisor';
import { decodeJob, displayClassName, encodeJob, encodeJobArgsText } from '../protocol/job';
import { argsJsonOf, argsTextOf, encodeDelayedItemText, flooredTimestamp } from '../protocol/delayed';
import { decodeWorkingOn } from '../protocol/records';
import { parseResqueTime } from '../protocol/time';
import { parseWorkerId } from '../protocol/workerId';
import type { AdminStore, ResqueStats } from '../store/adminStore';
import type { ConnectionOptions, RedisClient } from '../store/connection';
import { RedisStore } from '../store/redisStore';
import type { SchedulerStore } from '../store/schedulerStore';
import { type StatusPage, checkState, checkUuid, clearStatuses, killStatus, readStatus, statusPage } from '../admin/status';
import { type DecodedStatus, DEFAULT_STATUS_QUEUE, type StatusState, newStatusUuid } from '../protocol/status';
import { StatusStore } from '../store/statusStore';
import { EnqueueCancelledError, WaitAbortedError, type WaitOptions, resultsOf, waitForStatuses } from '../status/wait';

/** Where a Client connects: `connection` options (it opens and closes its own connection) or a caller's ioredis instance. */
export interface ClientOptions {
  /** Connection options; the Client opens one connection and close() quits it. */
  connection?: ConnectionOptions;
  /**
   * An ioredis instance of the caller's (`new Redis(...)`), used instead of opening a connection.
   * The Client never quits it: close() only detaches its listeners. It must have no `keyPrefix`
   * (use `namespace`). Not with `connection`.
   */
  redis?: RedisClient;
  /** @defaultValue 'resque' */
  namespace?: string;
  /**
   * The jobs whose enqueue hooks (`beforeEnqueue`, `afterEnqueue`) `enqueue` and
   * `enqueueArgsText` run, found by class name: a JobRegistry, or a job module's exports
   * (`import * as jobs from './jobs'`). Without it no hook runs (the Client knows no job code).
   */
  jobs?: JobRegistry | Readonly<Record<string, unknown>>;
}

/** A job as `peek` shows it: the payload as stored and, when it decodes, its class and args. */
export interface PeekedJob {
  /** The payload's JSON text, byte for byte as stored. */
  payload: string;
  /** Null when the payload is not a job object. */
  className: string | null;
  args: unknown[] | null;
}

/** What `enqueueAt` / `enqueueIn` did. */
export interface DelayedResult {
  /** The floored timestamp (epoch seconds). */
  ts: number;
  /** The delayed item's bytes (`{"class","args","queue"}`). */
  item: string;
  /** True when the time was not in the future: the job was pushed to its queue at once. */
  enqueuedNow: boolean;
  /** What was written: the queue payload when enqueued now, else the item. */
  payload: string;
}

/** A registered worker as `workers()` reads it (see WorkerRow; `master` is its pyres-ts master, if any). */
export type ClientWorker = Omit<WorkerRow, 'server' | 'serverLabel'>;

/** Which failure list and which record: `list` (default `failed`, or a RedisMultiQueue `<queue>_failed` list or its queue). */
export interface FailureTarget {
  /** `failed` (default), `<queue>_failed`, or `<queue>` when `<queue>_failed` is a failure list. */
  list?: string;
  /**
   * The record's SHA-1 (hex, or a prefix) as `list()` gave it (`item.digest`): the action then
   * applies to that record wherever it now is, or fails if it is gone. Without it, the record
   * now at the index is taken (Ruby's semantics).
   */
  digest?: string;
}

/** Options of `failed.list`. */
export interface FailedListOptions {
  /** @defaultValue 0 */
  start?: number;
  /** 1-1000. @defaultValue 20 */
  count?: number;
  /** @defaultValue 'failed' */
  list?: string;
  /** 'asc' (the default, `Resque::Failure.all(start, count)`: start 0 is index 0) or 'desc' (newest first, as resque-web). */
  order?: 'asc' | 'desc';
  /** 'all' (default), 'pending' (not retried) or 'retried'. */
  show?: FailedFilter;
}

/**
 * The failure lists (`Resque::Failure`), over both backends: `failed` (Resque::Failure::Redis) and
 * RedisMultiQueue's `<queue>_failed` lists (members of `failed_queues`). A list name that is
 * neither is refused with an AdminActionError, so no other key is read or deleted as one.
 */
export interface FailedApi {
  /** Every failure list and its length, `failed` first. */
  lists(): Promise<Array<{ list: string; size: number }>>;
  /** LLEN of one list, or (no list) the sum over every failure list. */
  count(list?: string): Promise<number>;
  /** One page of records, each with its index, SHA-1 digest, raw bytes and a parsed view. */
  list(opts?: FailedListOptions): Promise<FailedPage>;
  /** `Failure.requeue`: marks the record `retried_at` (it stays) and pushes its job back to its queue. */
  retry(index: number, opts?: FailureTarget): Promise<{ index: number; queue: string; job: string; list: string }>;
  /** `Failure.remove`: removes the record (checked by digest when given). */
  remove(index: number, opts?: FailureTarget): Promise<{ index: number; list: string }>;
  /** `Failure.clear`: DEL the list, or (no list) every failure list. Returns how many records went. */
  clear(list?: string): Promise<number>;
  /** Retries every record not retried yet (one list, or every list); safe to run twice. */
  retryAll(list?: string): Promise<RetryAllResult>;
  /** `Failure.clear_retried`: removes every record that has `retried_at`. Returns how many. */
  clearRetried(list?: string): Promise<number>;
}

export interface WorkerStatus {
  id: string;
  host: string;
  pid: number | null;
  queues: string[];
  /** Null when idle. */
  job: { queue: string; className: string; runAt: string | null; payload: string } | null;
  started: string | null;
  heartbeat: string | null;
  processed: number;
  failed: number;
}

export interface Status {
  redis: string;
  namespace: string;
  queues: Array<{ queue: string; size: number }>;
  workers: WorkerStatus[];
  /** LLEN failed, as resque-web counts failures. */
  /** Records in every failure list: `failed` plus RedisMultiQueue's `<queue>_failed` lists. */
  failed: number;
  /** Each failure list and its length (`failed` first, then the members of `failed_queues`). */
  failedLists: Array<{ list: string; size: number }>;
  stats: { processed: number; failed: number };
  pausedAll: boolean;
  /** Delayed jobs: timestamps in `delayed_queue_schedule`, and who holds resque-scheduler's lock (`host:pid`, TTL) or null. */
  delayed: { timestamps: number; leader: { value: string; ttl: number } | null };
}

/**
 * The class names a typed Client accepts: every string for an untyped one (`Client<{}>`, the
 * default), else the keys of its job map.
 */
export type JobName<J> = [keyof J] extends [never] ? string : Extract<keyof J, string>;

/** The args `enqueue` takes for `N`: the job's own `perform` parameters in a typed Client. */
export type EnqueueArgs<J, N> = N extends keyof J ? JobArgs<J[N]> : unknown[];

/**
 * A producer and admin for one Redis server: what the CLI does, from code.
 *
 * - enqueue: `enqueue(queue, className, ...args)` writes exactly what `Resque.enqueue` writes;
 *   `enqueueArgsText(queue, className, argsText)` is the same with the args as JSON text. Typed
 *   by a job map, `enqueue` checks the class name and its args at compile time:
 *   `import * as jobs from './jobs'; const c = new Client<typeof jobs>(); c.enqueue('p10', 'Archive', 42)`.
 * - queues: `queues()`, `queueLength(q)`, `peek(q, start, count)`, `removeQueue(q)`, `clearQueue(q)`.
 * - `workers()`, `stats()`, `masters()`, `masterCommand(id, cmd)`, `status()`.
 * - `failed`: the failure lists (see FailedApi).
 *
 * The admin methods are the admin layer's (src/admin/, shared with `pyres-ts web` and the admin
 * commands), over this Client's one connection. A server that is down makes them reject at once
 * with a ConnectionError (`enqueue` waits for the connection instead, like a worker).
 */
// biome-ignore lint/complexity/noBannedTypes: `{}` is "no job map": enqueue then takes any class name and args
export class Client<J extends object = {}> {
  readonly store: RedisStore;
  /** The failure lists (`Resque::Failure`): list, count, retry, remove, clear, retryAll, clearRetried, lists. */
  readonly failed: FailedApi;
  private readonly adminStore: AdminStore;
  private readonly admin: Admin;
  /** Where enqueue hooks are found (ClientOptions.jobs), or null. */
  private readonly hookJobs: JobRegistry | null;
  private readonly sched: SchedulerStore;
  /** The Delayed page's reads and actions (timestamps, items, remove, queue now, clear, the scheduler leader). */
  readonly delayed: DelayedAdmin;
  private statusStoreCache: StatusStore | null = null;

  constructor(opts: ClientOptions = {}) {
    if (opts.redis !== undefined && opts.connection !== undefined) {
      throw new ConfigError('Client: give either `redis` (an ioredis instance) or `connection` (options), not both');
    }
    const namespace = opts.namespace ?? 'resque';
    this.hookJobs = opts.jobs === undefined ? null : opts.jobs instanceof JobRegistry ? opts.jobs : new JobRegistry();
    if (opts.jobs !== undefined && !(opts.jobs instanceof JobRegistry)) this.hookJobs!.registerModule(opts.jobs as Record<string, unknown>);
    this.store = new RedisStore({
      connection: opts.connection ?? {},
      namespace,
      name: 'pyres-ts:client',
      ...(opts.redis !== undefined ? { client: opts.redis } : {}),
    });
    this.adminStore = this.store.adminStore();
    this.sched = this.store.schedulerStore();
    this.delayed = new DelayedAdmin(this.sched);
    const server: Server = { id: 0, label: this.store.where, namespace, store: this.adminStore };
    this.admin = new Admin([server]);
    const a = this.admin;
    this.failed = {
      lists: () => this.adminStore.failureLists(),
      count: async list =>
        list === undefined ? (await this.adminStore.failureLists()).reduce((n, l) => n + l.size, 0) : (await a.failed(0, 0, 1, 'asc', 'all', list)).total,
      list: (o = {}) => a.failed(0, o.start ?? 0, o.count ?? 20, o.order ?? 'asc', o.show ?? 'all', o.list),
      retry: (index, o = {}) => a.retryFailed(0, index, o.digest, o.list),
      remove: (index, o = {}) => a.removeFailed(0, index, o.digest, o.list),
      clear: list => a.clearFailed(0, list),
      retryAll: list => a.retryAll(0, list),
      clearRetried: list => a.clearRetried(0, list),
    };
  }

  async connect(): Promise<this> {
    // A producer runs no script: a user with Ruby Resque's commands may enqueue.
    await this.store.connect({ scripts: false });
    return this;
  }

  /**
   * `Resque.enqueue`: SADD queues + RPUSH `{"class":...,"args":[...]}`. Returns the payload.
   * With `jobs` (ClientOptions), the class's `beforeEnqueue` hooks run first: one returning
   * `false` cancels (nothing is written, and this returns null, as Resque returns nil), and the
   * `afterEnqueue` hooks run after the push; a hook's error rejects the call.
   */
  async enqueue<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<string | null> {
    checkQueue(queue);
    const payload = encodeJob(className, args);
    const hooks = this.hookJobs?.hooksFor(className);
    if (hooks && !(await runBeforeHooks(hooks.beforeEnqueue, args))) return null;
    await this.store.enqueue(queue, payload);
    if (hooks) await runAfterHooks(hooks.afterEnqueue, args);
    return payload;
  }

  /**
   * `enqueue` with the args given as JSON text (an array, e.g. `'[9007199254740993,1.0]'`):
   * pushed as written, only compacted, so big integers, `1.0` and key order reach the job as
   * the caller wrote them. Returns the payload.
   */
  async enqueueArgsText(queue: string, className: string, argsText: string): Promise<string> {
    checkQueue(queue);
    const payload = encodeJobArgsText(className, argsText);
    await this.store.enqueue(queue, payload);
    return payload;
  }

  // ---- delayed jobs (resque-scheduler 5's layout, docs/SCHEDULER.md) ------------------------

  /**
   * `Resque.enqueue_at_with_queue`: delays a job to `time` (a Date, or epoch seconds), floored to
   * the second. Writes resque-scheduler's exact bytes (`{"class","args","queue"}` RPUSHed to
   * `delayed:<ts>`, the `timestamps:` set, the zset). A time not after now (Redis TIME) is
   * enqueued at once, as Ruby does. A `pyres-ts scheduler` (or Ruby's) moves it when due.
   */
  async enqueueAt<N extends JobName<J>>(time: Date | number, queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<DelayedResult> {
    checkQueue(queue);
    return this.delay(flooredTimestamp(time), queue, className, argsJsonOf(args));
  }

  /** `enqueue_in_with_queue`: `enqueueAt` at Redis TIME + `seconds`. */
  async enqueueIn<N extends JobName<J>>(seconds: number, queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<DelayedResult> {
    checkQueue(queue);
    const argsJson = argsJsonOf(args);
    return this.delay(await this.inSeconds(seconds), queue, className, argsJson);
  }

  /** `enqueueAt` with the args as JSON text (an array): pushed as written, compacted only (see enqueueArgsText). */
  async enqueueAtArgsText(time: Date | number, queue: string, className: string, argsText: string): Promise<DelayedResult> {
    checkQueue(queue);
    return this.delay(flooredTimestamp(time), queue, className, argsTextOf(argsText));
  }

  /** `enqueueIn` with the args as JSON text. */
  async enqueueInArgsText(seconds: number, queue: string, className: string, argsText: string): Promise<DelayedResult> {
    checkQueue(queue);
    const argsJson = argsTextOf(argsText);
    return this.delay(await this.inSeconds(seconds), queue, className, argsJson);
  }

  private async inSeconds(seconds: number): Promise<number> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new TypeError(`seconds must be a finite number, got ${JSON.stringify(seconds)}`);
    await this.store.connect({ scripts: false });
    return Math.floor((await this.sched.timeMs()) / 1000 + seconds);
  }

  private async delay(ts: number, queue: string, className: string, argsJson: string): Promise<DelayedResult> {
    const item = encodeDelayedItemText(className, argsJson, queue);
    const now = Math.floor((await this.sched.timeMs()) / 1000);
    if (ts <= now) {
      const payload = `{"class":${JSON.stringify(className)},"args":${argsJson}}`;
      await this.sched.pushNow(queue, payload);
      return { ts, item, enqueuedNow: true, payload };
    }
    await this.sched.scheduleItem(ts, item);
    return { ts, item, enqueuedNow: false, payload: item };
  }

  /**
   * `remove_delayed_in_queue`: removes every delayed copy of this job (found through its
   * `timestamps:` set, so only items with resque-scheduler's exact bytes). Returns how many went.
   */
  async removeDelayed<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<number> {
    checkQueue(queue);
    return this.sched.removeDelayed(encodeDelayedItemText(className, argsJsonOf(args), queue));
  }

  /** `scheduled_at`: the timestamps this job is delayed to, ascending. */
  async scheduledAt<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<number[]> {
    checkQueue(queue);
    return this.sched.scheduledAt(encodeDelayedItemText(className, argsJsonOf(args), queue));
  }

  /** `count_all_scheduled_jobs`: the delayed items over every timestamp (not the timestamps: see delayedPeek). */
  delayedCount(): Promise<number> {
    return this.sched.itemCount();
  }

  /** `delayed_queue_peek(start, count)`: timestamps (epoch seconds) in time order. */
  async delayedPeek(start = 0, count = 10): Promise<number[]> {
    checkRange('start', start, 0);
    checkRange('count', count, 1);
    return this.sched.peekTimestamps(start, count);
  }

  /**
   * `enqueue_delayed`: removes this job's delayed copies and enqueues it now, once per copy
   * removed. Returns that count.
   */
  async enqueueDelayedNow<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<number> {
    checkQueue(queue);
    const argsJson = argsJsonOf(args);
    const n = await this.sched.removeDelayed(encodeDelayedItemText(className, argsJson, queue));
    for (let i = 0; i < n; i++) await this.sched.pushNow(queue, `{"class":${JSON.stringify(className)},"args":${argsJson}}`);
    return n;
  }

  /**
   * Moves every item of one timestamp to its queue now, as the scheduler would when it is due
   * (bytes kept; poison items parked for the scheduler to record as failures). Runs a Lua script.
   */
  async enqueueDelayedTimestampNow(ts: number): Promise<{ moved: number; poison: number }> {
    checkRange('ts', ts, 0);
    let moved = 0;
    let poison = 0;
    for (;;) {
      const r = await this.sched.moveBatch(1000, {}, String(ts));
      moved += r.moved;
      poison += r.poison;
      if (r.left === 0) return { moved, poison };
    }
  }

  // ---- queues ------------------------------------------------------------------------------

  /** `Resque.queues` with sizes: every queue in `queues`, sorted by name, and its LLEN. */
  queues(): Promise<Array<{ queue: string; size: number }>> {
    return this.adminStore.queueSizes();
  }

  /** `Resque.size(queue)`: LLEN queue:<queue> (0 for a queue that does not exist). */
  async queueLength(queue: string): Promise<number> {
    checkQueue(queue);
    return this.adminStore.queueSize(queue);
  }

  /**
   * `Resque.peek(queue, start, count)`: up to `count` jobs from `start` (0 = the next to run),
   * without taking them. Payloads are returned as stored, with class and args when they decode.
   */
  async peek(queue: string, start = 0, count = 1): Promise<PeekedJob[]> {
    checkQueue(queue);
    checkRange('start', start, 0);
    checkRange('count', count, 1);
    const { items } = await this.adminStore.peekQueue(queue, start, count);
    return items.map(payload => {
      try {
        const d = decodeJob(payload);
        return { payload, className: d.className, args: d.args };
      } catch {
        return { payload, className: null, args: null };
      }
    });
  }

  /**
   * `Resque.dequeue(klass, *args)`: removes every job in queue:<queue> whose payload is exactly
   * `{"class":className,"args":args}` (as enqueue writes it). With `jobs` (ClientOptions) the
   * class's `beforeDequeue` hooks run first (one returning `false`: nothing is removed, returns
   * null) and its `afterDequeue` hooks after. Returns how many were removed.
   */
  async dequeue<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<number | null> {
    checkQueue(queue);
    const payload = encodeJob(className, args);
    const hooks = this.hookJobs?.hooksFor(className);
    if (hooks && !(await runBeforeHooks(hooks.beforeDequeue, args))) return null;
    let removed = 0;
    while ((await this.adminStore.deleteQueued(queue, payload)) > 0) removed++;
    if (hooks) await runAfterHooks(hooks.afterDequeue, args);
    return removed;
  }

  /** `Resque.remove_queue`: DEL queue:<queue> + SREM queues <queue>. Returns how many jobs it held. */
  async removeQueue(queue: string): Promise<number> {
    checkQueue(queue);
    return this.admin.removeQueue(0, queue);
  }

  /** Empties a queue (DEL queue:<queue>); it stays listed in `queues`. Returns how many jobs it held. */
  async clearQueue(queue: string): Promise<number> {
    checkQueue(queue);
    return this.admin.clearQueue(0, queue);
  }

  // ---- workers, stats, masters --------------------------------------------------------------

  /** Every registered worker (`workers` set), sorted by id, with its job, stats and master. */
  async workers(): Promise<ClientWorker[]> {
    const { perServer } = await this.admin.workers();
    return unwrap(perServer).map(({ server: _s, serverLabel: _l, ...w }) => w);
  }

  /** `Resque.info`'s counts: stat:processed, stat:failed, the failure records, queues, workers, pause. */
  stats(): Promise<ResqueStats> {
    return this.adminStore.stats();
  }

  /** The advertised pyres-ts masters (and records that do not read as one, with why). */
  async masters(): Promise<ServerMasters> {
    return unwrap(await this.admin.masters());
  }

  /** Sends a command to an advertised master, as `pyres-ts ctl` does (`{ cmd: 'pause' }`, `{ cmd: 'scale', queues, count }`...). */
  masterCommand(masterId: string, cmd: MasterCommand): Promise<void> {
    return this.admin.masterCommand(0, masterId, cmd);
  }

  /** Everything `pyres-ts status` shows, in one call. */
  async status(): Promise<Status> {
    const s = this.store;
    const [queues, ids, failedLists, processedStat, failedStat, pausedAll] = await Promise.all([
      s.queueSizes(),
      s.listWorkers(),
      s.failureLists(),
      s.stat('processed'),
      s.stat('failed'),
      s.isPausedGlobally(),
    ]);
    const details = await s.workerDetails(ids);
    const [delayedTimestamps, leader] = await Promise.all([this.sched.timestampCount(), this.delayed.leader()]);
    const workers = details.map((d): WorkerStatus => {
      const parts = parseWorkerId(d.id);
      let job: WorkerStatus['job'] = null;
      if (d.working) {
        const w = decodeWorkingOn(d.working);
        const className = displayClassName(w?.rawPayload ?? '') ?? '?';
        job = { queue: w?.queue ?? '', className, runAt: w?.runAt?.toISOString() ?? null, payload: w?.rawPayload ?? d.working };
      }
      return {
        id: d.id,
        host: parts?.host ?? d.id.split(':')[0] ?? '',
        pid: parts?.pid ?? null,
        queues: parts?.queues ?? [],
        job,
        started: d.started ? (parseResqueTime(d.started)?.toISOString() ?? d.started) : null,
        heartbeat: d.heartbeat ? (parseResqueTime(d.heartbeat)?.toISOString() ?? d.heartbeat) : null,
        processed: d.processed,
        failed: d.failed,
      };
    });
    return {
      redis: s.where,
      namespace: s.keys.namespace,
      queues,
      workers,
      failed: failedLists.reduce((n, l) => n + l.size, 0),
      failedLists,
      stats: { processed: processedStat, failed: failedStat },
      pausedAll,
      delayed: { timestamps: delayedTimestamps, leader: leader.holder },
    };
  }

  // ---- job statuses (resque-status 0.5; docs/STATUS.md) -----------------------------------------

  /** The status keys' store, over this Client's connection (its waits use a connection of their own). */
  private statusStore(): StatusStore {
    this.statusStoreCache ??= new StatusStore({ client: this.adminStore.client(), namespace: this.store.keys.namespace });
    return this.statusStoreCache;
  }

  /**
   * resque-status's `Class.create(options)`: writes the queued status (`status:<uuid>`, `_statuses`)
   * and enqueues `{"class":K,"args":["<uuid>",{options}]}` in one MULTI. Returns the uuid.
   * `keepResult` asks the job to keep its return value in the status (a `keep_result` field);
   * `expireIn` sets resque-status's `expire_in` for the create (the job's definition sets it for its writes).
   * With `jobs` (ClientOptions), the class's `beforeEnqueue` hooks run first with `(uuid, options)`:
   * one returning `false` cancels (no status, nothing enqueued; this returns null, as Ruby's
   * `create` returns nil after removing the status it wrote), and `afterEnqueue` runs after.
   */
  async enqueueStatus(
    queue: string,
    className: string,
    options: Readonly<Record<string, unknown>> = {},
    opts: EnqueueStatusOptions = {},
  ): Promise<string | null> {
    checkQueue(queue || DEFAULT_STATUS_QUEUE);
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new TypeError('status job options must be a plain object (a Ruby Hash)');
    if (opts.expireIn !== undefined && !(Number.isInteger(opts.expireIn) && opts.expireIn > 0))
      throw new TypeError(`expireIn must be a positive integer of seconds, got ${JSON.stringify(opts.expireIn)}`);
    const uuid = newStatusUuid();
    const hooks = this.hookJobs?.hooksFor(className);
    const args = [uuid, options];
    if (hooks && !(await runBeforeHooks(hooks.beforeEnqueue, args))) return null;
    await this.statusStore().create(queue || DEFAULT_STATUS_QUEUE, className, uuid, options, {
      ...(opts.expireIn ? { expireIn: opts.expireIn } : {}),
      ...(opts.keepResult ? { extra: { keep_result: true } } : {}),
    });
    if (hooks) await runAfterHooks(hooks.afterEnqueue, args);
    return uuid;
  }

  /** `Hash.get(uuid)`: the status, decoded (raw bytes kept), or null. */
  getStatus(uuid: string): Promise<DecodedStatus | null> {
    return readStatus(this.statusStore(), uuid);
  }

  /** `Hash.statuses`: a page of statuses, newest first, optionally of one state. */
  listStatuses(opts: { start?: number; count?: number; state?: StatusState } = {}): Promise<StatusPage> {
    return statusPage(this.statusStore(), opts.start ?? 0, opts.count ?? 50, opts.state === undefined ? undefined : checkState(opts.state));
  }

  /** `Hash.kill(uuid)`: `SADD _kill <uuid>`; the job ends `killed` at its next progress call or kill poll. */
  async killStatus(uuid: string): Promise<void> {
    await killStatus(this.statusStore(), uuid);
  }

  /** `Hash.clear` / `clear_completed` / `clear_failed`: removes the statuses (of a state). Returns their uuids. */
  clearStatuses(state?: StatusState): Promise<string[]> {
    return clearStatuses(this.statusStore(), state === undefined ? undefined : checkState(state));
  }

  /**
   * Enqueues a status job and waits for it: resolves to its result (the job's return value, kept
   * for this enqueue), rejects with JobFailedError (class and message) if it fails, JobKilledError
   * if killed, EnqueueCancelledError if a `beforeEnqueue` hook refused it, WaitTimeoutError after `timeout` seconds, WaitAbortedError (name 'AbortError') as soon
   * as `signal` aborts; inside a job `signal` defaults to the job's own, so a worker's TERM ends the
   * wait at once (an aborted signal enqueues nothing). From inside a job this holds the worker:
   * see docs/STATUS.md ("Waiting from a job").
   */
  async enqueueAndWait(
    queue: string,
    className: string,
    options: Readonly<Record<string, unknown>> = {},
    opts: EnqueueStatusOptions & Pick<WaitOptions, 'timeout' | 'signal'> = {},
  ): Promise<unknown> {
    const signal = opts.signal ?? currentJob()?.signal;
    if (signal?.aborted) throw new WaitAbortedError([], signal.reason);
    const { timeout, signal: _s, ...enqueueOpts } = opts;
    const uuid = await this.enqueueStatus(queue, className, options, { ...enqueueOpts, keepResult: true });
    if (uuid === null) throw new EnqueueCancelledError(className);
    // Just created, so known to be queued: the wait blocks at once, without a first read.
    const [st] = resultsOf(
      await waitForStatuses(this.statusStore(), [uuid], { ...(timeout !== undefined ? { timeout } : {}), ...(signal ? { signal } : {}), fresh: true }),
    );
    return st;
  }

  /**
   * Waits until every status job given has ended (see waitForStatuses: notifications, no polling,
   * bounded by `timeout`). Resolves to their results with `collectResults` (in the order given;
   * a result is kept when the job or its enqueue asked for it), else to their statuses. Rejects
   * with the first failure (JobFailedError), kill (JobKilledError) or a missing status, and with
   * WaitAbortedError at once when `signal` aborts (inside a job: the job's own signal by default).
   */
  async waitForJobs(uuids: readonly string[], opts: WaitOptions & { collectResults: true }): Promise<unknown[]>;
  async waitForJobs(uuids: readonly string[], opts?: WaitOptions): Promise<DecodedStatus[] | unknown[]>;
  async waitForJobs(uuids: readonly string[], opts: WaitOptions = {}): Promise<DecodedStatus[] | unknown[]> {
    for (const u of uuids) checkUuid(u);
    const statuses = await waitForStatuses(this.statusStore(), uuids, opts);
    return opts.collectResults ? resultsOf(statuses) : statuses;
  }

  /** Quits the connection this Client opened; a caller's `redis` instance is left open. */
  async close(): Promise<void> {
    await this.statusStoreCache?.close();
    await this.adminStore.close();
    await this.store.close();
  }
}

/** Options of `enqueueStatus` / `enqueueAndWait`. */
export interface EnqueueStatusOptions {
  /** resque-status's `expire_in` (seconds) for the created status. */
  expireIn?: number;
  /** Keep the job's return value in its completed status (`result`). `enqueueAndWait` always does. */
  keepResult?: boolean;
}

function unwrap<T>(r: Array<Settled<T>>): T {
  const x = r[0] as Settled<T>;
  if (x.ok) return x.value;
  throw x.cause ?? new Error(x.error);
}

function checkRange(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new TypeError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

export type { FailedFilter, FailedItem, FailedPage, RetryAllResult, ServerMasters, ResqueStats };

function checkQueue(queue: string): void {
  if (typeof queue !== 'string' || queue === '' || queue.includes(',') || queue.includes(':')) {
    throw new TypeError(`queue ${JSON.stringify(queue)} must be a non-empty name without ',' or ':'`);
  }
}
