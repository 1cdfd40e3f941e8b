import type Redis from 'ioredis';
import { DelayedKeys, delayedMember, timestampOfMember } from '../protocol/delayed';
import { type FailureBackend, ResqueKeys, failureListFor } from '../protocol/keys';
import { execOrThrow } from './pipeline';
import { LOCK_RELEASE, MOVE_DELAYED, RECORD_POISON, TAKE_DELAYED_ITEM, lockAcquireLua, lockRenewLua } from './schedulerScripts';

/**
 * The Redis verbs of delayed jobs (resque-scheduler 5's keys, docs/SCHEDULER.md): the producer's
 * writes (`enqueue_at` and friends, plain commands in Ruby's order), the readers the dashboard and
 * `pyres-ts delayed` share, the scheduler's atomic move and its master lock. It runs on a
 * connection it is given (RedisStore.schedulerStore()); it never opens or closes one.
 */

interface ScriptedRedis extends Redis {
  pyresMoveDelayed(numKeys: number, ...args: string[]): Promise<[number, number, number, string, string, string]>;
  pyresTakeDelayedItem(numKeys: number, ...args: string[]): Promise<[number, string, number]>;
  pyresRecordPoison(numKeys: number, ...args: Array<string | Buffer>): Promise<number>;
  pyresLockRelease(numKeys: number, ...args: string[]): Promise<number>;
  [name: string]: unknown;
}

/** One call of the move script (see MOVE_DELAYED). */
export interface MoveResult {
  /** Items pushed to their queues. */
  moved: number;
  /** Items parked as poison (their failure records are written by recordParkedPoison). */
  poison: number;
  /** Items left in that timestamp's list (more batches to go). */
  left: number;
  /** Redis TIME at the call, in milliseconds. */
  nowMs: number;
  /** The timestamp handled, or null when nothing was due. */
  ts: string | null;
}

/** A timestamp of the zset with its size and first item (resque-web's Delayed tab). */
export interface TimestampRow {
  ts: number;
  /** The zset member as stored (a decimal string, or whatever a foreign writer put). */
  member: string;
  size: number;
  first: string | null;
}

/** Who holds the scheduler lock: its `host:pid` value and the seconds left, or null. */
export interface LockHolder {
  value: string;
  ttl: number;
}

export class SchedulerStore {
  readonly keys: DelayedKeys;
  private readonly resque: ResqueKeys;
  private readonly redis: ScriptedRedis;
  private readonly defined = new Set<number>();

  constructor(client: unknown, namespace = 'resque') {
    this.keys = new DelayedKeys(namespace);
    this.resque = new ResqueKeys(namespace);
    this.redis = client as ScriptedRedis;
    this.redis.defineCommand('pyresMoveDelayed', { lua: MOVE_DELAYED });
    this.redis.defineCommand('pyresTakeDelayedItem', { lua: TAKE_DELAYED_ITEM });
    this.redis.defineCommand('pyresRecordPoison', { lua: RECORD_POISON });
    this.redis.defineCommand('pyresLockRelease', { lua: LOCK_RELEASE });
  }

  /** Redis TIME in milliseconds. */
  async timeMs(): Promise<number> {
    const [s, us] = (await this.redis.time()) as [string | number, string | number];
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  // ---- producer ------------------------------------------------------------------------------

  /**
   * `enqueue_at`: `RPUSH delayed:<ts> <item>`, `SADD timestamps:<item> delayed:<ts>`, `ZADD
   * delayed_queue_schedule <ts> <ts>`, Ruby's three commands in its order [captured s1], sent as one
   * MULTI so no reader sees a zset member without its item.
   */
  async scheduleItem(ts: number, item: string): Promise<void> {
    const k = this.keys;
    await execOrThrow(this.redis.multi().rpush(k.list(ts), item).sadd(k.timestamps(item), delayedMember(ts)).zadd(k.schedule, ts, String(ts)));
  }

  /** `Resque.push`: SADD queues + RPUSH queue:<q> (the immediate enqueue of a time already past). */
  async pushNow(queue: string, payload: string): Promise<void> {
    await execOrThrow(this.redis.pipeline().sadd(this.keys.queues, queue).rpush(this.keys.queue(queue), payload));
  }

  /**
   * `remove_delayed`: `SMEMBERS timestamps:<item>`, then per member `LREM delayed:<ts> 0 <item>`
   * + `SREM` (pipelined) [captured s1]. Returns the LREM total. Like Ruby it leaves emptied
   * timestamps in the zset (the scheduler removes them on its next pass).
   */
  async removeDelayed(item: string): Promise<number> {
    const members = await this.redis.smembers(this.keys.timestamps(item));
    if (members.length === 0) return 0;
    const p = this.redis.pipeline();
    for (const m of members) p.lrem(`${this.keys.prefix}${m}`, 0, item).srem(this.keys.timestamps(item), m);
    const res = await execOrThrow(p);
    return res.filter((_, i) => i % 2 === 0).reduce((n: number, v) => n + Number(v), 0);
  }

  /** `scheduled_at`: the timestamps of `timestamps:<item>`, sorted. */
  async scheduledAt(item: string): Promise<number[]> {
    const members = await this.redis.smembers(this.keys.timestamps(item));
    return members
      .map(timestampOfMember)
      .filter((t): t is number => t !== null)
      .sort((a, b) => a - b);
  }

  /** `delayed_queue_schedule_size`: ZCARD (timestamps, not jobs). */
  async timestampCount(): Promise<number> {
    return this.redis.zcard(this.keys.schedule);
  }

  /** `count_all_scheduled_jobs`: ZRANGE 0 -1 + LLEN per timestamp. */
  async itemCount(): Promise<number> {
    const members = await this.redis.zrange(this.keys.schedule, 0, -1);
    if (members.length === 0) return 0;
    const p = this.redis.pipeline();
    for (const m of members) p.llen(this.keys.list(m));
    return (await execOrThrow(p)).reduce((n: number, v) => n + Number(v), 0);
  }

  /** `delayed_queue_peek(start, count)`: ZRANGE start start+count-1, as integers (non-numeric members skipped). */
  async peekTimestamps(start: number, count: number): Promise<number[]> {
    const members = await this.redis.zrange(this.keys.schedule, start, start + count - 1);
    return members.map(Number).filter(Number.isFinite);
  }

  /** resque-web's /delayed: ZRANGE start..start+count-1 with scores, then LLEN + LINDEX 0 per timestamp. */
  async timestampRows(start: number, count: number): Promise<{ total: number; rows: TimestampRow[] }> {
    const [total, flat] = (await execOrThrow(
      this.redis
        .pipeline()
        .zcard(this.keys.schedule)
        .zrange(this.keys.schedule, start, start + count - 1, 'WITHSCORES'),
    )) as [number, string[]];
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
    if (pairs.length === 0) return { total, rows: [] };
    const p = this.redis.pipeline();
    for (const [m] of pairs) p.llen(this.keys.list(m)).lindex(this.keys.list(m), 0);
    const res = await execOrThrow(p);
    return {
      total,
      rows: pairs.map(([member, score], i) => ({ ts: score, member, size: Number(res[2 * i]), first: (res[2 * i + 1] as string | null) ?? null })),
    };
  }

  /** `delayed_timestamp_peek`: LLEN + LRANGE of one timestamp's items. */
  async itemsAt(ts: string, start: number, count: number): Promise<{ size: number; items: string[] }> {
    const [size, items] = (await execOrThrow(
      this.redis
        .pipeline()
        .llen(this.keys.list(ts))
        .lrange(this.keys.list(ts), start, start + count - 1),
    )) as [number, string[]];
    return { size, items };
  }

  /**
   * `reset_delayed_queue`: per timestamp LRANGE then DEL the list and its items' `timestamps:`
   * sets, then DEL the zset [captured s1]. Returns how many items went.
   */
  async clearAll(): Promise<number> {
    const members = await this.redis.zrange(this.keys.schedule, 0, -1);
    let n = 0;
    for (const m of members) {
      const items = await this.redis.lrange(this.keys.list(m), 0, -1);
      n += items.length;
      const keys = [this.keys.list(m), ...new Set(items.map(i => this.keys.timestamps(i)))];
      for (let i = 0; i < keys.length; i += 500) await this.redis.del(...keys.slice(i, i + 500));
    }
    await this.redis.del(this.keys.schedule);
    return n;
  }

  // ---- moves ---------------------------------------------------------------------------------

  /**
   * One call of the move script: up to `batch` items of the first due timestamp (by Redis TIME),
   * or of `ts` whatever its time.
   */
  async moveBatch(batch: number, classQueues: Readonly<Record<string, string>>, ts?: string): Promise<MoveResult> {
    const k = this.keys;
    const r = await this.redis.pyresMoveDelayed(3, k.schedule, k.queues, k.poisonHolding, k.prefix, String(batch), JSON.stringify(classQueues), ts ?? '');
    return {
      moved: Number(r[0]),
      poison: Number(r[1]),
      left: Number(r[2]),
      nowMs: Number(r[3]) * 1000 + Math.floor(Number(r[4]) / 1000),
      ts: r[5] === '' ? null : String(r[5]),
    };
  }

  /**
   * One item of a timestamp by its exact bytes: removed, or pushed to its queue now ('queue-now').
   * Returns whether it was found and, for queue-now, its queue (or poison: parked as a failure).
   */
  async takeItem(
    ts: string,
    raw: string,
    action: 'remove' | 'queue-now',
    classQueues: Readonly<Record<string, string>> = {},
  ): Promise<{ found: boolean; queue: string | null; poison: boolean }> {
    const k = this.keys;
    const r = await this.redis.pyresTakeDelayedItem(
      3,
      k.schedule,
      k.queues,
      k.poisonHolding,
      k.prefix,
      ts,
      action === 'queue-now' ? '1' : '0',
      raw,
      JSON.stringify(classQueues),
    );
    return { found: Number(r[0]) === 1, queue: r[1] === '' ? null : String(r[1]), poison: Number(r[2]) === 1 };
  }

  /** The parked poison entries (raw bytes), oldest first. */
  async parkedPoison(max = 1000): Promise<Buffer[]> {
    return this.redis.lrangeBuffer(this.keys.poisonHolding, 0, max - 1);
  }

  /**
   * Writes a parked entry's failure record and removes the entry, atomically (once only).
   * Returns false when the entry was already gone (another scheduler recorded it).
   */
  async recordParkedPoison(entry: Buffer, record: string, queue: string, backend: FailureBackend): Promise<boolean> {
    const list = failureListFor(backend, queue);
    const keys = [this.keys.poisonHolding, this.resque.failureList(list)];
    if (backend === 'redis_multi_queue' && list !== 'failed') keys.push(this.resque.failedQueues);
    return (await this.redis.pyresRecordPoison(keys.length, ...keys, entry, record, list)) === 1;
  }

  // ---- the master lock -----------------------------------------------------------------------

  private lockCommands(timeout: number): { acquire: string; renew: string } {
    const acquire = `pyresSchedLockAcquire${timeout}`;
    const renew = `pyresSchedLockRenew${timeout}`;
    if (!this.defined.has(timeout)) {
      this.redis.defineCommand(acquire, { numberOfKeys: 1, lua: lockAcquireLua(timeout) });
      this.redis.defineCommand(renew, { numberOfKeys: 1, lua: lockRenewLua(timeout) });
      this.defined.add(timeout);
    }
    return { acquire, renew };
  }

  /**
   * resque-scheduler's `master?`: the acquire script (SETNX + EXPIRE), else the `locked?` script
   * (GET == value -> EXPIRE -> GET == value), both Ruby's exact Lua [captured s2, s5]. True when
   * `value` holds the lock, its TTL re-armed to `timeout`.
   */
  async acquireOrRenewLock(lockKey: string, value: string, timeout: number): Promise<boolean> {
    const { acquire, renew } = this.lockCommands(timeout);
    const call = (name: string): Promise<number> => (this.redis[name] as (k: string, v: string) => Promise<number>).call(this.redis, lockKey, value);
    if ((await call(acquire)) === 1) return true;
    return (await call(renew)) === 1;
  }

  /** Deletes the lock if `value` holds it. */
  async releaseLock(lockKey: string, value: string): Promise<boolean> {
    return (await this.redis.pyresLockRelease(1, lockKey, value)) === 1;
  }

  /** GET + TTL of the lock (resque-web's "Current master"). */
  async lockHolder(lockKey: string): Promise<LockHolder | null> {
    const [value, ttl] = (await execOrThrow(this.redis.pipeline().get(lockKey).ttl(lockKey))) as [string | null, number];
    return value === null ? null : { value, ttl: Number(ttl) };
  }
}
