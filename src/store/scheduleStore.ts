import type Redis from 'ioredis';
import { ResqueKeys } from '../protocol/keys';
import { type ScheduleKeys, scheduleKeys } from '../protocol/schedule';
import { type ConnectionOptions, type RedisClient, createRedis } from './connection';
import { execOrThrow } from './pipeline';

/**
 * The Redis verbs of recurring schedules, on resque-scheduler 5's keys (PROTOCOL-plugins.md §1.5):
 * `persistent_schedules` (hash: name -> JSON config), `schedules_changed` (set of names) and
 * `delayed:last_enqueued_at` (hash: name -> Ruby `Time#to_s`). Command order as captured (s3, s4, w1).
 */

/**
 * A firing, compare-and-set on last_enqueued_at so that a schedule's due time fires at most once
 * whoever ticks (a leader that has not yet noticed it lost the lock, a hand-over).
 * KEYS[1] delayed:last_enqueued_at, KEYS[2] queues, KEYS[3] queue:<q>
 * ARGV[1] name, ARGV[2] '1' when ARGV[3] is the value expected, '0' when the field must be absent,
 * ARGV[3] expected value, ARGV[4] the new value, ARGV[5] queue, ARGV[6] the job.
 * Commands as resque-scheduler sends them when it fires (s3): SADD queues, RPUSH, HSET. Returns 1, or 0 when
 * last_enqueued_at was not what the caller read (someone fired meanwhile: nothing written).
 */
const FIRE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if cur ~= ARGV[3] then return 0 end
elseif cur then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('RPUSH', KEYS[3], ARGV[6])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
`;

interface ScriptedRedis extends Redis {
  pyresScheduleFire(numKeys: number, ...args: string[]): Promise<number>;
}

/** Where a ScheduleStore talks: its own connection, or a caller's (not closed by close()). */
export interface ScheduleStoreOptions {
  connection?: ConnectionOptions;
  client?: RedisClient;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** CLIENT SETNAME of an own connection. @defaultValue 'pyres-ts:scheduler' */
  name?: string;
}

/** What one read of the schedule keys returns. */
export interface ScheduleSnapshot {
  /** `persistent_schedules`: name -> stored JSON text. */
  persistent: Record<string, string>;
  /** `delayed:last_enqueued_at`: name -> stored time text. */
  lastEnqueuedAt: Record<string, string>;
}

/** The schedule keys' verbs (see the module comment). */
export class ScheduleStore {
  readonly keys: ResqueKeys;
  readonly sk: ScheduleKeys;
  private readonly redis: ScriptedRedis;
  private readonly owned: boolean;
  private closed = false;

  constructor(o: ScheduleStoreOptions) {
    this.keys = new ResqueKeys(o.namespace ?? 'resque');
    this.sk = scheduleKeys(this.keys);
    this.owned = o.client === undefined;
    this.redis = (o.client ??
      createRedis({ ...(o.connection ?? {}), connectionName: o.name ?? o.connection?.connectionName ?? 'pyres-ts:scheduler' })) as ScriptedRedis;
    if (this.owned) this.redis.on('error', () => undefined);
    this.redis.defineCommand('pyresScheduleFire', { lua: FIRE });
  }

  /** Connects an own connection (a shared one is the caller's). */
  async connect(): Promise<void> {
    if (this.owned && this.redis.status === 'wait') await this.redis.connect();
  }

  /** Quits an own connection. */
  async close(): Promise<void> {
    if (this.closed || !this.owned) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Redis `TIME` in epoch ms. */
  async timeMs(): Promise<number> {
    const [s, us] = (await this.redis.time()) as [string | number, string | number];
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /** `HGETALL persistent_schedules`. */
  async persistentSchedules(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.sk.persistent);
  }

  /** `HGET persistent_schedules <name>`. */
  async persistentSchedule(name: string): Promise<string | null> {
    return this.redis.hget(this.sk.persistent, name);
  }

  /** `HGETALL delayed:last_enqueued_at`. */
  async lastEnqueuedAt(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.sk.lastEnqueuedAt);
  }

  /** Both hashes in one round trip (the Schedule page, `schedule list`). */
  async snapshot(): Promise<ScheduleSnapshot> {
    const [persistent, lastEnqueuedAt] = await execOrThrow(this.redis.pipeline().hgetall(this.sk.persistent).hgetall(this.sk.lastEnqueuedAt));
    return { persistent: persistent as Record<string, string>, lastEnqueuedAt: lastEnqueuedAt as Record<string, string> };
  }

  /**
   * `set_schedule(name, config.merge(persist: true))`: `HSET persistent_schedules <name> <json>`, `SADD
   * schedules_changed <name>` (s4), in one MULTI. Several at once for `schedule load`.
   */
  async setSchedules(entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (entries.length === 0) return;
    const m = this.redis.multi();
    for (const [name, json] of entries) m.hset(this.sk.persistent, name, json).sadd(this.sk.changed, name);
    await execOrThrow(m);
  }

  /** `remove_schedule(name)`: `HDEL persistent_schedules <name>`, `SADD schedules_changed <name>` (s4, w1). True when it was there. */
  async removeSchedule(name: string): Promise<boolean> {
    const [n] = await execOrThrow(this.redis.multi().hdel(this.sk.persistent, name).sadd(this.sk.changed, name));
    return Number(n) === 1;
  }

  /** `DEL schedules_changed` (a dynamic scheduler's load). */
  async clearChanged(): Promise<void> {
    await this.redis.del(this.sk.changed);
  }

  /** `SCARD schedules_changed` (every pass of a dynamic scheduler). */
  async changedCount(): Promise<number> {
    return this.redis.scard(this.sk.changed);
  }

  /** `SPOP schedules_changed`: the next changed name, or null. */
  async popChanged(): Promise<string | null> {
    return this.redis.spop(this.sk.changed);
  }

  /**
   * Fires a schedule (see FIRE): pushes `job` to `queue` and records `lastValue`, only if
   * last_enqueued_at of `name` is still `expected` (null: absent). True when it fired.
   */
  async fire(name: string, expected: string | null, lastValue: string, queue: string, job: string): Promise<boolean> {
    const r = await this.redis.pyresScheduleFire(
      3,
      this.sk.lastEnqueuedAt,
      this.keys.queues,
      this.keys.queue(queue),
      name,
      expected === null ? '0' : '1',
      expected ?? '',
      lastValue,
      queue,
      job,
    );
    return Number(r) === 1;
  }

  /**
   * resque-web's "Queue now" (POST /schedule/requeue, w1): `SADD queues`, `RPUSH queue:<q>`;
   * last_enqueued_at is not touched, as in Ruby.
   */
  async enqueueNow(queue: string, job: string): Promise<void> {
    await execOrThrow(this.redis.multi().sadd(this.keys.queues, queue).rpush(this.keys.queue(queue), job));
  }
}
