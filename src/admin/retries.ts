import { type DelayedItem, decodeDelayedItem } from '../protocol/delayed';
import { retryKey } from '../protocol/retry';
import { RetryAdminStore } from '../store/retryAdminStore';
import { AdminActionError, type Server } from './admin';

/**
 * The retry reads and the remove shared by the dashboard's Retries page and `pyres-ts retries`
 * (resque-web's Retry tab, resque-retry 1.8's server; docs/RETRY.md): pending retries found
 * through the delayed schedule, one row per delayed job whose retry counter
 * `resque-retry:<Class>:<sha1>` or suppressed failure record `failure-resque-retry:*` exists, and
 * remove (`cancel_retry`: the delayed item, its failure record and its counter).
 */

/** The suppressed failure of a retry (`failure-resque-retry:*`), as read back. */
export interface SuppressedRecord {
  /** The value as stored. */
  raw: string;
  exception: string | null;
  error: string | null;
  failedAt: string | null;
  worker: string | null;
}

/** One pending retry (or a broken row: see `problem`). */
export interface RetryRow {
  /** The delayed timestamp (the zset member), when the retry runs next. */
  ts: string;
  /** Epoch seconds of `ts` (the zset score). */
  runAt: number;
  item: DelayedItem;
  /** The counter key (no namespace), null when the item is not a job. */
  key: string | null;
  /** The counter's value as stored (the attempt resque-web shows), null when missing. */
  attempt: string | null;
  failure: SuppressedRecord | null;
  /** Why the row is broken (an item that is not a job, a missing or non-integer counter), or null. */
  problem: string | null;
}

/** A page of the Retries view. */
export interface RetryPage {
  /** Timestamps in the delayed schedule (ZCARD). */
  timestamps: number;
  /** The timestamps looked at (start..start+count-1 of the schedule). */
  start: number;
  count: number;
  rows: RetryRow[];
}

/** Items read per timestamp (resque-web's page size). */
const ITEMS_PER_TIMESTAMP = 20;

function storeOf(s: Server): RetryAdminStore {
  return new RetryAdminStore(s.store.client(), s.namespace);
}

function decodeFailure(raw: string): SuppressedRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { raw, exception: null, error: null, failedAt: null, worker: null };
  }
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const str = (k: string): string | null => (typeof o[k] === 'string' ? (o[k] as string) : null);
  return { raw, exception: str('exception'), error: str('error'), failedAt: str('failed_at'), worker: str('worker') };
}

function keyOf(i: DelayedItem): string | null {
  if (i.problem !== null || i.className === null || i.args === null) return null;
  try {
    return retryKey(i.className, i.args);
  } catch {
    return null;
  }
}

/**
 * The pending retries of `count` delayed timestamps from `start`: per timestamp LLEN + LINDEX 0
 * (with ZCARD, ZRANGE), LRANGE of its first 20 items, then GET of each job's counter and failure
 * record. An item that is not a job is a broken row (it may be a retry nobody can run); a job with
 * neither counter nor record is not a retry and is left to the Delayed page.
 */
export async function retryPage(s: Server, start = 0, count = 20): Promise<RetryPage> {
  const st = storeOf(s);
  const sch = st.scheduler();
  const { total, rows } = await sch.timestampRows(start, count);
  const out: RetryRow[] = [];
  for (const r of rows) {
    const { items } = r.size === 0 ? { items: [] as string[] } : await sch.itemsAt(r.member, 0, ITEMS_PER_TIMESTAMP);
    const decoded = items.map(decodeDelayedItem);
    const keys = decoded.map(keyOf);
    const vals = await st.getMany(keys.flatMap(k => (k === null ? [] : [k, `failure-${k}`])));
    let v = 0;
    decoded.forEach((item, n) => {
      const key = keys[n] ?? null;
      const base = { ts: r.member, runAt: r.ts, item, key };
      if (key === null) {
        out.push({ ...base, attempt: null, failure: null, problem: item.problem ?? 'args are not a JSON array' });
        return;
      }
      const attempt = vals[v++] ?? null;
      const failRaw = vals[v++] ?? null;
      if (attempt === null && failRaw === null) return;
      const problem = attempt === null ? 'retry counter missing' : /^-?[0-9]+$/.test(attempt) ? null : 'retry counter is not an integer';
      out.push({ ...base, attempt, failure: failRaw === null ? null : decodeFailure(failRaw), problem });
    });
  }
  return { timestamps: total, start, count, rows: out };
}

/**
 * Removes one pending retry as resque-web's Retry tab "remove" does (captured w1): `LRANGE
 * delayed:<ts> 0 -1`, then for the item (by its exact bytes) SMEMBERS timestamps:<item>, LREM +
 * SREM, `DEL failure-<key>`, `DEL <key>`. resque-web removes every job of the timestamp; this
 * removes the one chosen (the same commands when the timestamp holds one job).
 */
export async function removeRetry(s: Server, ts: string, raw: string): Promise<{ key: string; removed: number }> {
  if (typeof ts !== 'string' || !/^-?[0-9]+$/.test(ts)) throw new AdminActionError(`not a delayed timestamp: ${JSON.stringify(ts)}`);
  const st = storeOf(s);
  const items = await st.allAt(ts);
  if (!items.includes(raw)) throw new AdminActionError(`no such retry at ${ts} (run, moved or removed already?)`);
  const item = decodeDelayedItem(raw);
  const key = keyOf(item);
  if (key === null)
    throw new AdminActionError(`the item at ${ts} is not a job (${item.problem ?? 'args are not a JSON array'}): remove it on the Delayed page`);
  const removed = await st.cancelRetry(raw, key);
  return { key, removed };
}
