import { DEFAULT_FAILURE_LIST } from '../protocol/keys';
import type { HistorySample } from '../store/adminStore';
import {
  type Admin,
  AdminActionError,
  type FailedFilter,
  type FailedItem,
  type FailedPage,
  FILTER_SCAN_BUDGET,
  isRetried,
  scanFailureList,
  type Server,
} from './admin';
import { digest, viewFailure } from './failures';

/**
 * The dashboard's inspection and queue operations beyond resque-web's: failures searched and
 * grouped, one failure or one queued job found by its bytes' SHA-1, one queued job deleted by its
 * exact bytes, and the processed/failed history.
 */

/** What a failure search matches; every field given must match (absent or '' = any). */
export interface FailureSearch {
  /** The payload's class, exactly. */
  className?: string;
  /** The exception's class name, exactly. */
  exception?: string;
  /** The queue the job failed on, exactly. */
  queue?: string;
  /** A substring of the record's bytes, case-insensitive. */
  text?: string;
}

/** A failure search's page, and the exceptions of the matching records with their counts. */
export interface FailureSearchPage extends FailedPage {
  /** Per exception, how many records match the other criteria (class, queue, text, show), most first. */
  groups: Array<{ exception: string; count: number }>;
  /** Records read; less than `total` when the list was longer than the scan budget. */
  scanned: number;
}

const CHUNK = 500;

/** True when `f` names any criterion. */
export function isSearch(f: FailureSearch): boolean {
  return Boolean(f.className || f.exception || f.queue || f.text);
}

/**
 * Scans a failure list from the shown end (newest first for `desc`) and returns the page of
 * records matching `search` and `show`, with the per-exception counts. Reads at most
 * FILTER_SCAN_BUDGET records past the page; beyond that the counts are of the records read.
 */
export async function searchFailures(
  admin: Admin,
  serverId: number | string,
  search: FailureSearch,
  o: { start: number; count: number; order?: 'asc' | 'desc'; show?: FailedFilter; list?: string },
): Promise<FailureSearchPage> {
  const s = admin.server(serverId);
  const list = o.list ?? DEFAULT_FAILURE_LIST;
  if (!(await s.store.isFailureList(list))) throw new AdminActionError(`no failure list ${JSON.stringify(list)} on ${s.label}`);
  const order = o.order ?? 'desc';
  const show = o.show ?? 'all';
  const start = Math.max(0, Math.floor(o.start));
  const count = Math.max(1, Math.min(1000, Math.floor(o.count)));
  const text = search.text ? search.text.toLowerCase() : '';
  const total = await s.store.failedCount(list);
  const items: FailedItem[] = [];
  const groups = new Map<string, number>();
  let matched = 0;
  let retried = 0;
  let scanned = 0;
  let complete = true;
  let hasMore = false;
  for await (const { index, raw } of scanFailureList(s, list, total, order)) {
    if (scanned >= FILTER_SCAN_BUDGET && items.length === count) {
      complete = false;
      hasMore = true;
      break;
    }
    scanned++;
    const r = isRetried(raw);
    if (show !== 'all' && r !== (show === 'retried')) continue;
    if (text && !raw.toLowerCase().includes(text)) continue;
    const v = viewFailure(raw);
    if (search.className && v.className !== search.className) continue;
    if (search.queue && v.queue !== search.queue) continue;
    const exc = v.exception ?? (v.parsed ? '(none)' : '(not parsed)');
    groups.set(exc, (groups.get(exc) ?? 0) + 1);
    if (search.exception && exc !== search.exception) continue;
    if (r) retried++;
    if (matched >= start && items.length < count) items.push({ index, digest: digest(raw), raw, view: v });
    else if (matched >= start + count) hasMore = true;
    matched++;
  }
  return {
    list,
    total,
    start,
    count,
    order,
    show,
    items,
    matched: complete ? matched : null,
    retried: complete ? retried : null,
    hasMore,
    groups: [...groups].map(([exception, n]) => ({ exception, count: n })).sort((a, b) => b.count - a.count || (a.exception < b.exception ? -1 : 1)),
    scanned,
  };
}

/**
 * The element at `index` of a list when its SHA-1 starts with `want`, else the first element
 * whose SHA-1 does (the list moved: a remove shifted it), else null.
 */
async function locate(
  at: (i: number) => Promise<string | null>,
  range: (from: number, n: number) => Promise<{ total: number; items: string[] }>,
  index: number,
  want: string,
): Promise<{ index: number; raw: string } | null> {
  if (!/^[0-9a-f]{6,40}$/.test(want)) throw new AdminActionError(`${JSON.stringify(want)} is not a job digest`);
  if (Number.isInteger(index) && index >= 0) {
    const raw = await at(index);
    if (raw !== null && digest(raw).startsWith(want)) return { index, raw };
  }
  for (let from = 0; ; from += CHUNK) {
    const { total, items } = await range(from, CHUNK);
    const hit = items.findIndex(x => digest(x).startsWith(want));
    if (hit >= 0) return { index: from + hit, raw: items[hit] as string };
    if (from + CHUNK >= total || items.length === 0) return null;
  }
}

/** One failure record, found by its SHA-1 (at `index` or wherever it moved); null when it is gone. */
export async function findFailure(admin: Admin, serverId: number | string, list: string, index: number, want: string): Promise<FailedItem | null> {
  const s = admin.server(serverId);
  if (!(await s.store.isFailureList(list))) throw new AdminActionError(`no failure list ${JSON.stringify(list)} on ${s.label}`);
  const hit = await locate(
    i => s.store.failedAt(i, list),
    (f, n) => s.store.failedRange(f, n, list),
    index,
    want,
  );
  return hit ? { index: hit.index, digest: digest(hit.raw), raw: hit.raw, view: viewFailure(hit.raw) } : null;
}

/** A job waiting in a queue: where it is and its exact bytes. */
export interface QueuedJob {
  server: Server;
  queue: string;
  index: number;
  digest: string;
  raw: string;
}

/** One queued job, found by its SHA-1 (at `index` or wherever it moved); null when it is gone. */
export async function findQueuedJob(admin: Admin, serverId: number | string, queue: string, index: number, want: string): Promise<QueuedJob | null> {
  const s = admin.server(serverId);
  const hit = await locate(
    i => s.store.queueItem(queue, i),
    async (f, n) => {
      const r = await s.store.peekQueue(queue, f, n);
      return { total: r.size, items: r.items };
    },
    index,
    want,
  );
  return hit ? { server: s, queue, index: hit.index, digest: digest(hit.raw), raw: hit.raw } : null;
}

/**
 * Deletes the queued job the caller saw (its SHA-1 `want`): its exact bytes are removed with
 * LREM 1, Resque's `dequeue` verb, so a job that a worker took meanwhile is not mistaken for
 * another. Throws when it is gone.
 */
export async function deleteQueuedJob(admin: Admin, serverId: number | string, queue: string, index: number, want: string): Promise<QueuedJob> {
  const job = await findQueuedJob(admin, serverId, queue, index, want);
  const s = admin.server(serverId);
  if (!job || (await s.store.deleteQueued(queue, job.raw)) === 0)
    throw new AdminActionError(`job ${want.slice(0, 12)} is no longer in ${queue} on ${s.label} (a worker took it, or it was deleted)`);
  return job;
}

/** How the history is sampled: one point per `intervalMs` (whoever writes first), the last `cap` kept. */
export const HISTORY = { intervalMs: 60_000, cap: 1440 } as const;

/**
 * Writes a processed/failed sample to every server's history that has none from the last
 * interval. Returns how many servers got one. A server that is down is skipped.
 */
export async function sampleHistory(admin: Admin, now = Date.now(), o: { intervalMs?: number; cap?: number } = {}): Promise<number> {
  const r = await admin.each(async s => {
    const st = await s.store.stats();
    return s.store.sampleHistory({ t: now, processed: st.processed, failed: st.failedStat }, o.cap ?? HISTORY.cap, o.intervalMs ?? HISTORY.intervalMs);
  });
  return r.filter(x => x.ok && x.value).length;
}

/** Every server's history (oldest first). */
export async function historyOf(admin: Admin): Promise<Array<{ server: Server; ok: boolean; samples: HistorySample[]; error?: string }>> {
  const r = await admin.each(s => s.store.history());
  return r.map(x => (x.ok ? { server: x.server, ok: true, samples: x.value } : { server: x.server, ok: false, samples: [], error: x.error }));
}
