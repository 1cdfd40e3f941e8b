import type Redis from 'ioredis';
import { ResqueKeys } from '../protocol/keys';
import { type ConnectionOptions, type RedisClient, createRedis } from './connection';
import { SchedulerStore } from './schedulerStore';

/** Where a RetryStore connects. */
export interface RetryStoreOptions {
  connection?: ConnectionOptions;
  /** A caller's connection instead of an own one (not connected or closed by this store). */
  client?: RedisClient;
  /** @defaultValue 'resque' */
  namespace?: string;
}

/**
 * The Redis verbs of resque-retry 1.8 (PROTOCOL-plugins.md §3, docs/RETRY.md): the attempt
 * counter `resque-retry:<Class>:<id>`, the suppression record `failure-resque-retry:*`, and the
 * re-enqueue (delayed through resque-scheduler's keys, or straight onto the queue). One
 * command per step, in resque-retry's order [captured r1, r2]; keys are given without the namespace.
 */
export class RetryStore {
  private readonly redis: Redis;
  private readonly keys: ResqueKeys;
  private readonly delayed: SchedulerStore;
  private readonly owned: boolean;

  constructor(o: RetryStoreOptions = {}) {
    this.owned = o.client === undefined;
    this.redis = o.client ?? createRedis({ ...(o.connection ?? {}), connectionName: o.connection?.connectionName ?? 'pyres-ts:retry' });
    if (this.owned) this.redis.on('error', () => undefined);
    this.keys = new ResqueKeys(o.namespace ?? 'resque');
    this.delayed = new SchedulerStore(this.redis, o.namespace ?? 'resque');
  }

  private k(key: string): string {
    return `${this.keys.prefix}${key}`;
  }

  /** Opens the connection. */
  async connect(): Promise<void> {
    if (this.owned && this.redis.status === 'wait') await this.redis.connect();
  }

  /** Closes an own connection (never throws); a caller's is left open. */
  async close(): Promise<void> {
    if (!this.owned) return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** before_perform: `SETNX key -1`, `INCR key`; the attempt (0 on a first run). */
  async beginAttempt(key: string): Promise<number> {
    await this.redis.setnx(this.k(key), '-1');
    return this.redis.incr(this.k(key));
  }

  /** `EXPIRE key seconds` (`@expire_retry_key_after`). */
  async expire(key: string, seconds: number): Promise<void> {
    await this.redis.expire(this.k(key), seconds);
  }

  /** `GET key` as a number (the attempt a failure belongs to when before_perform did not run), -1 when unset. */
  async attempt(key: string): Promise<number> {
    const v = await this.redis.get(this.k(key));
    const n = v === null ? Number.NaN : Number(v);
    return Number.isInteger(n) ? n : -1;
  }

  /** `DECR key` (`@ignore_exceptions`: the attempt does not count); the attempt after it. */
  async decr(key: string): Promise<number> {
    return this.redis.decr(this.k(key));
  }

  /**
   * Pyres' `enqueue_at`: `RPUSH delayed:<ts> <item>`, `ZADD delayed_queue_schedule <ts> <ts>`
   * (no `timestamps:` set, as Pyres; capture fixtures/pyres/e2), in one MULTI.
   */
  async schedulePyres(ts: number, item: string): Promise<void> {
    await this.redis
      .multi()
      .rpush(this.k(`delayed:${ts}`), item)
      .zadd(this.k('delayed_queue_schedule'), ts, String(ts))
      .exec();
  }

  /** `SETNX key -1` (try_again). */
  async ensureCounter(key: string): Promise<void> {
    await this.redis.setnx(this.k(key), '-1');
  }

  /** `DEL key`. */
  async del(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }

  /** `EXISTS key`. */
  async exists(key: string): Promise<boolean> {
    return (await this.redis.exists(this.k(key))) === 1;
  }

  /** `SETEX key ttl value`. */
  async setex(key: string, ttlSeconds: number, value: string): Promise<void> {
    await this.redis.setex(this.k(key), ttlSeconds, value);
  }

  /** resque-scheduler's `enqueue_at` of an item (RPUSH delayed:<ts>, SADD timestamps:<item>, ZADD). */
  async scheduleAt(ts: number, item: string): Promise<void> {
    await this.delayed.scheduleItem(ts, item);
  }

  /** `Resque.push`: SADD queues, RPUSH queue:<q>. */
  async pushNow(queue: string, payload: string): Promise<void> {
    await this.delayed.pushNow(queue, payload);
  }
}
