import type Redis from 'ioredis';
import type { DelayedKeys } from '../protocol/delayed';
import { execOrThrow } from './pipeline';
import { SchedulerStore } from './schedulerStore';

/**
 * The reads and the remove of resque-web's Retry tab (resque-retry 1.8's server, captured w1) over
 * an existing connection (the admin layer's): a timestamp's items, the `resque-retry:*` counters
 * and `failure-resque-retry:*` records, and `cancel_retry`. Keys are given without the namespace.
 */
export class RetryAdminStore {
  private readonly redis: Redis;
  private readonly delayed: SchedulerStore;
  /** The delayed keys of this namespace. */
  readonly keys: DelayedKeys;

  constructor(client: unknown, namespace = 'resque') {
    this.redis = client as Redis;
    this.delayed = new SchedulerStore(client, namespace);
    this.keys = this.delayed.keys;
  }

  /** The scheduler store over the same connection (timestamp rows, items). */
  scheduler(): SchedulerStore {
    return this.delayed;
  }

  /** `GET` of each key (pipelined), null where unset. */
  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.get(`${this.keys.prefix}${k}`);
    return (await execOrThrow(p)) as Array<string | null>;
  }

  /** `LRANGE delayed:<ts> 0 -1` (`delayed_timestamp_peek(ts, 0, 0)`). */
  async allAt(ts: string): Promise<string[]> {
    return this.redis.lrange(this.keys.list(ts), 0, -1);
  }

  /**
   * resque-retry's `cancel_retry` of one item: `remove_delayed` (SMEMBERS timestamps:<item>, LREM +
   * SREM per timestamp), then `DEL failure-<key>`, `DEL <key>` [captured w1 POST /retry/<ts>/remove].
   * Returns how many copies LREM removed.
   */
  async cancelRetry(item: string, retryKey: string): Promise<number> {
    const n = await this.delayed.removeDelayed(item);
    await this.redis.del(`${this.keys.prefix}failure-${retryKey}`);
    await this.redis.del(`${this.keys.prefix}${retryKey}`);
    return n;
  }
}
