import { execOrThrow } from './pipeline';
import { SchedulerStore } from './schedulerStore';
import { queueWorkerReads, type WorkerDetails, workerDetailsFrom } from './workerDetails';
import type Redis from 'ioredis';
import { ConnectionError, coerceError } from '../errors';
import { DEFAULT_FAILURE_LIST, ResqueKeys } from '../protocol/keys';
import { type ConnectionOptions, type RedisClient, createRedis, describeConnection, timeoutOptions } from './connection';

/**
 * The Redis verbs of the dashboard and the admin CLI: reads of queues, workers, failures,
 * stats and masters, and the failure-list operations resque-web does, made atomic.
 *
 * Unlike RedisStore (built for workers, which wait out outages), an AdminStore fails fast: a
 * command to a server that is down rejects at once (no offline queue) or after
 * `commandTimeout`, so one dead server never blocks a page that shows several. ioredis keeps
 * reconnecting in the background, and the server shows again once it is back.
 */

/** Finds the failed element the caller saw: at ARGV[1] if it is still ARGV[2], else by its bytes. Sets i. */
const LOCATE_FAILED = `
local i = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], i) ~= ARGV[2] then
  local ok, pos = pcall(redis.call, 'LPOS', KEYS[1], ARGV[2])
  if not ok or not pos then return -1 end
  i = pos
end
`;

/**
 * Failure.requeue, atomically and without the index race.
 * KEYS[1] failed, KEYS[2] queues, KEYS[3] queue:<q>
 * ARGV[1] index, ARGV[2] the element the caller read (exact bytes), ARGV[3] the record with
 * retried_at, ARGV[4] queue name, ARGV[5] the job to push.
 * When the element at the index is no longer ARGV[2] (a remove shifted the list), the element is
 * looked up by its bytes (LPOS, Redis >= 6.0.6). Returns the index used, or -1 when it is gone.
 * Commands as Ruby sends them: LSET, SADD, RPUSH.
 */
const RETRY_FAILED = `${LOCATE_FAILED}redis.call('LSET', KEYS[1], i, ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('RPUSH', KEYS[3], ARGV[5])
return i
`;

/**
 * Failure.remove, atomically: Ruby's LSET i "" + LREM 1 "", after checking the element.
 * KEYS[1] failed; ARGV[1] index, ARGV[2] the element the caller read. Returns the index or -1.
 */
const REMOVE_FAILED = `${LOCATE_FAILED}redis.call('LSET', KEYS[1], i, '')
redis.call('LREM', KEYS[1], 1, '')
return i
`;

/**
 * A processed/failed sample for the dashboard's history, at most one per ARGV[4] ms however
 * many dashboards run (a SET NX PX guard). KEYS[1] the history list, KEYS[2] the guard;
 * ARGV[1] the sample (JSON), ARGV[2] the cap, ARGV[3] the interval in ms.
 * Returns 1 when the sample was written, 0 when another dashboard wrote one in this interval.
 */
const SAMPLE_HISTORY = `if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', tonumber(ARGV[3])) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return 1
`;

interface ScriptedRedis extends Redis {
  pyresAdminRetryFailed(numKeys: number, ...args: string[]): Promise<number>;
  pyresAdminRemoveFailed(numKeys: number, ...args: string[]): Promise<number>;
  pyresAdminSampleHistory(numKeys: number, ...args: string[]): Promise<number>;
}

/** One point of the dashboard's processed/failed history (`<ns>:pyres-ts:stats:history`). */
export interface HistorySample {
  /** Epoch milliseconds. */
  t: number;
  /** stat:processed then. */
  processed: number;
  /** stat:failed then. */
  failed: number;
}

/** The key of the dashboard's processed/failed history list, under the namespace. */
export const HISTORY_SUFFIX = 'pyres-ts:stats:history';

export interface AdminStoreOptions {
  connection: ConnectionOptions;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** CLIENT SETNAME. @defaultValue 'pyres-ts:web' */
  name?: string;
  /** Milliseconds before a command to an unresponsive server fails. @defaultValue connection.timeout (--redis-timeout, 5 s) */
  commandTimeout?: number;
  /**
   * A connection to share (RedisStore.adminStore(), a caller's ioredis instance): used as it is
   * (its own timeouts and offline queue), never quit by close(). `connection` is then only
   * used to describe it unless `where` is given.
   */
  client?: RedisClient;
  /** How messages name the server (with `client`). */
  where?: string;
}

/** What Redis holds about one registered worker. */
export type RawWorker = WorkerDetails;

export interface ResqueStats {
  processed: number;
  /** stat:failed (jobs that raised). */
  failedStat: number;
  /** LLEN failed plus every `<queue>_failed` list in `failed_queues` (RedisMultiQueue). */
  failedList: number;
  queues: number;
  workers: number;
  pausedAll: boolean;
}

export class AdminStore {
  readonly keys: ResqueKeys;
  readonly where: string;
  private readonly redis: ScriptedRedis;
  private lastError: Error | null = null;
  private closed = false;
  private readonly owned: boolean;
  private readonly detach: Array<() => void> = [];

  constructor(o: AdminStoreOptions) {
    this.keys = new ResqueKeys(o.namespace ?? 'resque');
    const connection = { ...o.connection, connectionName: o.name ?? o.connection.connectionName ?? 'pyres-ts:web' };
    this.where = o.where ?? describeConnection(connection);
    this.owned = o.client === undefined;
    this.redis = (o.client ??
      createRedis(connection, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: Math.min(3000, timeoutOptions(connection.timeout).connectTimeout ?? 3000),
        // A socket to a server that went away must not hold the process for 2 s on close.
        disconnectTimeout: 200,
        commandTimeout: o.commandTimeout ?? timeoutOptions(connection.timeout).socketTimeout ?? 5000,
        retryStrategy: (times: number) => Math.min(200 * times, 3000),
      })) as ScriptedRedis;
    this.redis.defineCommand('pyresAdminRetryFailed', { lua: RETRY_FAILED });
    this.redis.defineCommand('pyresAdminRemoveFailed', { lua: REMOVE_FAILED });
    this.redis.defineCommand('pyresAdminSampleHistory', { lua: SAMPLE_HISTORY });
    const onError = (e: Error): void => {
      this.lastError = e;
    };
    const onReady = (): void => {
      this.lastError = null;
    };
    this.redis.on('error', onError);
    this.redis.on('ready', onReady);
    this.detach.push(
      () => this.redis.off('error', onError),
      () => this.redis.off('ready', onReady),
    );
  }

  /** True when the connection is up. */
  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /** Why the server is unreachable, when it is. */
  get error(): string | null {
    if (this.ready) return null;
    return this.lastError?.message ?? `not connected (${this.redis.status})`;
  }

  /** Starts connecting; resolves true when connected, false when the first attempt failed (retries go on). */
  async connect(): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      else await this.waitReady(3000);
      return this.ready;
    } catch (e) {
      this.lastError = this.lastError ?? coerceError(e);
      return false;
    }
  }

  private waitReady(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.redis.removeListener('ready', onReady);
        reject(new ConnectionError(`no answer from ${this.where} within ${ms} ms`));
      }, ms);
      const onReady = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  /** The delayed-job verbs (resque-scheduler's keys) over this store's connection. */
  schedulerStore(): SchedulerStore {
    return new SchedulerStore(this.redis, this.keys.namespace);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.detach.splice(0)) d();
    if (!this.owned) return;
    // A QUIT to a silent server ends in a socket timeout: an 'error' nobody listens to any more
    // would be printed by ioredis as an "Unhandled error event" at the stop.
    this.redis.on('error', () => undefined);
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
      else this.redis.disconnect();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Throws a ConnectionError naming the server when it is down, before any command. */
  private up(): Redis {
    if (this.redis.status !== 'ready') throw new ConnectionError(`Redis at ${this.where} is unreachable: ${this.error ?? 'not connected'}`);
    return this.redis;
  }

  /**
   * The connection, for the admin layer's other stores over the same server (the schedule
   * store, issue 11). Throws a ConnectionError naming the server when it is down.
   */
  client(): RedisClient {
    return this.up();
  }

  private exec(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    return execOrThrow(p);
  }

  // ---- queues -------------------------------------------------------------------------------

  /** `Resque.queue_sizes`: SMEMBERS queues, then LLEN of each (sorted by name). */
  async queueSizes(): Promise<Array<{ queue: string; size: number }>> {
    const r = this.up();
    const names = (await r.smembers(this.keys.queues)).sort();
    if (names.length === 0) return [];
    const p = r.pipeline();
    for (const q of names) p.llen(this.keys.queue(q));
    const res = await this.exec(p);
    return names.map((queue, i) => ({ queue, size: Number(res[i]) }));
  }

  /** `Resque.peek(q, start, count)` (LRANGE) plus the queue's length. */
  async peekQueue(queue: string, start: number, count: number): Promise<{ size: number; known: boolean; items: string[] }> {
    const r = this.up();
    const [size, items, known] = await this.exec(
      r
        .pipeline()
        .llen(this.keys.queue(queue))
        .lrange(this.keys.queue(queue), start, start + count - 1)
        .sismember(this.keys.queues, queue),
    );
    return { size: Number(size), items: items as string[], known: Number(known) === 1 };
  }

  /** `Resque.size`: LLEN queue:<q>. */
  async queueSize(queue: string): Promise<number> {
    return this.up().llen(this.keys.queue(queue));
  }

  /** Resque's `remove_queue`: MULTI LLEN + DEL queue:<q> + SREM queues <q>. Returns the LLEN. */
  async removeQueue(queue: string): Promise<number> {
    const r = this.up();
    const [n] = await this.exec(r.multi().llen(this.keys.queue(queue)).del(this.keys.queue(queue)).srem(this.keys.queues, queue));
    return Number(n);
  }

  /** Empties a queue (MULTI LLEN + DEL queue:<q>); it stays in `queues`. Returns the LLEN. */
  async clearQueue(queue: string): Promise<number> {
    const r = this.up();
    const [n] = await this.exec(r.multi().llen(this.keys.queue(queue)).del(this.keys.queue(queue)));
    return Number(n);
  }

  /** LINDEX queue:<q> index (null when there is none). */
  async queueItem(queue: string, index: number): Promise<string | null> {
    return this.up().lindex(this.keys.queue(queue), index);
  }

  /** Removes one job equal to `raw` from queue:<q> (LREM 1, Resque's `dequeue` verb). Returns 1, or 0 when none is left. */
  async deleteQueued(queue: string, raw: string): Promise<number> {
    return Number(await this.up().lrem(this.keys.queue(queue), 1, raw));
  }

  // ---- history -----------------------------------------------------------------------------

  /** The history list's key (`<ns>:pyres-ts:stats:history`). */
  get historyKey(): string {
    return this.keys.key(HISTORY_SUFFIX);
  }

  /**
   * Appends a processed/failed sample unless one was written less than `intervalMs` ago (by
   * this or another dashboard); the list keeps the last `cap`. Returns whether it wrote.
   */
  async sampleHistory(sample: HistorySample, cap: number, intervalMs: number): Promise<boolean> {
    const r = this.up() as ScriptedRedis;
    const wrote = await r.pyresAdminSampleHistory(2, this.historyKey, `${this.historyKey}:guard`, JSON.stringify(sample), String(cap), String(intervalMs));
    return Number(wrote) === 1;
  }

  /** The history, oldest first; elements that are not samples are skipped. */
  async history(): Promise<HistorySample[]> {
    const items = await this.up().lrange(this.historyKey, 0, -1);
    const out: HistorySample[] = [];
    for (const raw of items) {
      try {
        const v = JSON.parse(raw) as Partial<HistorySample>;
        if (typeof v.t === 'number' && typeof v.processed === 'number' && typeof v.failed === 'number')
          out.push({ t: v.t, processed: v.processed, failed: v.failed });
      } catch {
        /* not a sample: skipped */
      }
    }
    return out;
  }

  // ---- workers -----------------------------------------------------------------------------

  async workers(): Promise<RawWorker[]> {
    const r = this.up();
    const ids = (await r.smembers(this.keys.workers)).sort();
    if (ids.length === 0) return [];
    const p = r.pipeline();
    queueWorkerReads(p, this.keys, ids);
    return workerDetailsFrom(ids, await this.exec(p));
  }

  // ---- failures ----------------------------------------------------------------------------

  // Every method takes the failure list's name: `failed` (Resque::Failure::Redis, the default)
  // or a `<queue>_failed` list of Resque::Failure::RedisMultiQueue (named in `failed_queues`).

  /**
   * Every failure list and its length, whichever backend wrote it: `failed` first, then the
   * members of `failed_queues`, sorted (a member whose list is gone shows with size 0, as in
   * resque-web).
   */
  async failureLists(): Promise<Array<{ list: string; size: number }>> {
    const r = this.up();
    const names = [DEFAULT_FAILURE_LIST, ...(await r.smembers(this.keys.failedQueues)).filter(n => n !== DEFAULT_FAILURE_LIST).sort()];
    const p = r.pipeline();
    for (const n of names) p.llen(this.keys.failureList(n));
    const res = await this.exec(p);
    return names.map((list, i) => ({ list, size: Number(res[i]) }));
  }

  /** Is `list` a failure list: `failed`, or a member of `failed_queues`? */
  async isFailureList(list: string): Promise<boolean> {
    return list === DEFAULT_FAILURE_LIST || (await this.up().sismember(this.keys.failedQueues, list)) === 1;
  }

  async failedCount(list: string = DEFAULT_FAILURE_LIST): Promise<number> {
    return this.up().llen(this.keys.failureList(list));
  }

  /** LRANGE <list> start start+count-1, with the list length read in the same round trip. */
  async failedRange(start: number, count: number, list: string = DEFAULT_FAILURE_LIST): Promise<{ total: number; items: string[] }> {
    const r = this.up();
    const key = this.keys.failureList(list);
    const [total, items] = await this.exec(
      r
        .pipeline()
        .llen(key)
        .lrange(key, start, start + count - 1),
    );
    return { total: Number(total), items: items as string[] };
  }

  async failedAt(index: number, list: string = DEFAULT_FAILURE_LIST): Promise<string | null> {
    return this.up().lindex(this.keys.failureList(list), index);
  }

  /** Applies a requeue computed from `expected` (see RETRY_FAILED). Returns the index, or -1 when the record is gone. */
  async retryFailed(index: number, expected: string, newRecord: string, queue: string, job: string, list: string = DEFAULT_FAILURE_LIST): Promise<number> {
    const r = this.up() as ScriptedRedis;
    return Number(
      await r.pyresAdminRetryFailed(3, this.keys.failureList(list), this.keys.queues, this.keys.queue(queue), String(index), expected, newRecord, queue, job),
    );
  }

  /** Removes the element `expected` (at `index`, or wherever it moved). Returns the index, or -1 when gone. */
  async removeFailed(index: number, expected: string, list: string = DEFAULT_FAILURE_LIST): Promise<number> {
    const r = this.up() as ScriptedRedis;
    return Number(await r.pyresAdminRemoveFailed(1, this.keys.failureList(list), String(index), expected));
  }

  /**
   * `Failure.clear`: DEL <list>. Returns how many records there were. As Ruby's
   * RedisMultiQueue.clear, a `<queue>_failed` list stays a member of `failed_queues`.
   */
  async clearFailed(list: string = DEFAULT_FAILURE_LIST): Promise<number> {
    const r = this.up();
    const key = this.keys.failureList(list);
    const [n] = await this.exec(r.multi().llen(key).del(key));
    return Number(n);
  }

  // ---- stats, masters ----------------------------------------------------------------------

  async stats(): Promise<ResqueStats> {
    const r = this.up();
    const lists = await this.failureLists();
    const [processed, failed, queues, workers, pause] = await this.exec(
      r.pipeline().get(this.keys.stat('processed')).get(this.keys.stat('failed')).scard(this.keys.queues).scard(this.keys.workers).get(this.keys.pauseAll),
    );
    return {
      processed: Number(processed ?? 0) || 0,
      failedStat: Number(failed ?? 0) || 0,
      failedList: lists.reduce((n, l) => n + l.size, 0),
      queues: Number(queues),
      workers: Number(workers),
      pausedAll: typeof pause === 'string' && pause.trim().toLowerCase() === 'true',
    };
  }

  /** A few INFO fields (redis_version, uptime_in_seconds, connected_clients, used_memory_human...). */
  async serverInfo(): Promise<Record<string, string>> {
    const text = await this.up().info();
    const out: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const m = /^([a-z_]+):(.*)$/.exec(line);
      if (m) out[m[1] as string] = m[2] as string;
    }
    return out;
  }

  /** Every advertised pyres-ts master's info JSON. Read-only: expired entries are skipped, not removed. */
  async masters(): Promise<Array<{ id: string; info: string }>> {
    const r = this.up();
    const ids = (await r.smembers(this.keys.masters)).sort();
    if (ids.length === 0) return [];
    const infos = await r.mget(...ids.map(id => this.keys.master(id)));
    return ids.flatMap((id, i) => (infos[i] ? [{ id, info: infos[i] as string }] : []));
  }

  async pushMasterCommand(id: string, command: string): Promise<void> {
    await this.up().rpush(this.keys.masterCommands(id), command);
  }
}
