import { AdminActionError } from './admin';
import { type DelayedItem, type DelayedKeys, decodeDelayedItem } from '../protocol/delayed';
import type { LockHolder, SchedulerStore } from '../store/schedulerStore';

/**
 * The delayed-job reads and actions the dashboard's Delayed page and `pyres-ts delayed` share
 * (resque-web's Delayed tab, docs/SCHEDULER.md): timestamps with their counts, a timestamp's
 * items, remove / queue-now of one item by its exact bytes, queue-now of a timestamp, clear, and
 * who holds the scheduler lock.
 */

/** One timestamp of the Delayed page. */
export interface DelayedRow {
  /** Epoch seconds (the zset score). */
  ts: number;
  /** The zset member as stored. */
  member: string;
  size: number;
  /** Its first item, decoded (resque-web shows class and args when a timestamp holds one job). */
  first: DelayedItem | null;
}

/** The Delayed page's data. */
export interface DelayedOverview {
  /** Timestamps in the zset (ZCARD). */
  timestamps: number;
  rows: DelayedRow[];
  /** The scheduler lock's holder (`host:pid` and TTL), or null: no scheduler leads. */
  leader: LockHolder | null;
}

/** One timestamp's items. */
export interface DelayedItems {
  ts: string;
  size: number;
  start: number;
  items: DelayedItem[];
}

/** The scheduler lock's holder and the key it is under. */
export interface LeaderInfo {
  key: string;
  holder: LockHolder | null;
}

/** Delayed-job admin over one server's SchedulerStore. */
export class DelayedAdmin {
  readonly keys: DelayedKeys;

  constructor(
    private readonly store: SchedulerStore,
    /** RESQUE_SCHEDULER_MASTER_LOCK_PREFIX of the schedulers to show. */
    private readonly lockPrefix = '',
  ) {
    this.keys = store.keys;
  }

  /** The leader: who holds `<ns>:<ns>:[prefix:]resque_scheduler_master_lock`. */
  async leader(): Promise<LeaderInfo> {
    const key = this.keys.masterLock(this.lockPrefix);
    return { key, holder: await this.store.lockHolder(key) };
  }

  /** resque-web's /delayed: ZCARD, a page of timestamps with LLEN and the first item, and the leader. */
  async overview(start = 0, count = 20): Promise<DelayedOverview> {
    const [{ total, rows }, leader] = await Promise.all([this.store.timestampRows(start, count), this.leader()]);
    return {
      timestamps: total,
      rows: rows.map(r => ({ ts: r.ts, member: r.member, size: r.size, first: r.first === null ? null : decodeDelayedItem(r.first) })),
      leader: leader.holder,
    };
  }

  /** Every delayed item (`count_all_scheduled_jobs`). */
  itemCount(): Promise<number> {
    return this.store.itemCount();
  }

  /** resque-web's /delayed/<ts>: LLEN + LRANGE of one timestamp. */
  async itemsAt(ts: string, start = 0, count = 20): Promise<DelayedItems> {
    checkTs(ts);
    const { size, items } = await this.store.itemsAt(ts, start, count);
    return { ts, size, start, items: items.map(decodeDelayedItem) };
  }

  /** Removes one item of a timestamp by its exact bytes (any writer's format). */
  async remove(ts: string, raw: string): Promise<void> {
    checkTs(ts);
    const r = await this.store.takeItem(ts, raw, 'remove');
    if (!r.found) throw new AdminActionError(`no such item at ${ts} (moved or removed already?)`);
  }

  /** Pushes one item of a timestamp to its queue now (bytes kept). Returns its queue, or null when it was poison (recorded by the scheduler). */
  async queueNow(ts: string, raw: string, classQueues: Readonly<Record<string, string>> = {}): Promise<string | null> {
    checkTs(ts);
    const r = await this.store.takeItem(ts, raw, 'queue-now', classQueues);
    if (!r.found) throw new AdminActionError(`no such item at ${ts} (moved or removed already?)`);
    return r.queue;
  }

  /** Moves every item of a timestamp to its queue now, as the scheduler does when it is due. */
  async queueNowTimestamp(ts: string, classQueues: Readonly<Record<string, string>> = {}): Promise<{ moved: number; poison: number }> {
    checkTs(ts);
    let moved = 0;
    let poison = 0;
    for (;;) {
      const r = await this.store.moveBatch(1000, classQueues, ts);
      moved += r.moved;
      poison += r.poison;
      if (r.left === 0) return { moved, poison };
    }
  }

  /** `reset_delayed_queue`: every timestamp, its items and their `timestamps:` sets. Returns how many items went. */
  clear(): Promise<number> {
    return this.store.clearAll();
  }
}

function checkTs(ts: string): void {
  if (typeof ts !== 'string' || ts === '' || /[\s*?[\]]/.test(ts)) throw new AdminActionError(`not a delayed timestamp: ${JSON.stringify(ts)}`);
}
