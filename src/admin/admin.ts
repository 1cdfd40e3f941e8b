import { PyresError, coerceError } from '../errors';
import type { MasterCommand, MasterInfo } from '../master/master';
import { displayClassName } from '../protocol/job';
import { decodeWorkingOn } from '../protocol/records';
import { DEFAULT_FAILURE_LIST } from '../protocol/keys';
import { formatFailedAt, formatRetriedAtMultiQueue, parseResqueTime } from '../protocol/time';
import { parseWorkerId } from '../protocol/workerId';
import { AdminStore, type ResqueStats } from '../store/adminStore';
import type { ConnectionOptions } from '../store/connection';
import { readMasterRecord } from '../master/masterRecord';
import { type FailureView, digest, markRetried, objectMembers, requeueJob, viewFailure } from './failures';

/**
 * The admin layer: the operations of `pyres-ts web`, the admin commands and `Client`'s admin
 * methods, over one or more Redis servers.
 * Reads are done on every server at once and each server's result stands alone: a server
 * that is down gives `{ ok: false, error }` and the others still show.
 */

/** An action that cannot be done (unknown server, a record that is gone or not retryable). */
export class AdminActionError extends PyresError {}

export interface Server {
  id: number;
  label: string;
  namespace: string;
  store: AdminStore;
}

/** A server's result: its value, or why it failed (`error`, a message naming the server; `cause`, what was thrown). */
export type Settled<T> = { server: Server; ok: true; value: T } | { server: Server; ok: false; error: string; cause?: unknown };

export interface JobInfo {
  queue: string;
  className: string;
  /** run_at as stored. */
  runAt: string | null;
  runAtIso: string | null;
  payload: string;
}

export interface WorkerRow {
  server: number;
  serverLabel: string;
  id: string;
  host: string;
  pid: number | null;
  queues: string[];
  started: string | null;
  startedIso: string | null;
  heartbeat: string | null;
  heartbeatIso: string | null;
  job: JobInfo | null;
  processed: number;
  failed: number;
  /** The pyres-ts master (host:pid) whose child this worker is, if any. */
  master: string | null;
}

export interface QueueRow {
  queue: string;
  total: number;
  /** Size per server id; absent where the server does not list the queue (or is down). */
  sizes: Record<number, number>;
}

export interface FailedItem {
  index: number;
  digest: string;
  raw: string;
  view: FailureView;
}

/** A server's master records: the ones that read as a master's status, and the others. */
export interface ServerMasters {
  masters: MasterInfo[];
  /** Records skipped, with why (see readMasterRecord). */
  unreadable: Array<{ id: string; reason: string }>;
}

export type FailedFilter = 'all' | 'pending' | 'retried';

export interface FailedPage {
  /** The failure list shown: `failed` or a RedisMultiQueue `<queue>_failed` list. */
  list: string;
  /** LLEN of that list. */
  total: number;
  start: number;
  count: number;
  order: 'asc' | 'desc';
  show: FailedFilter;
  items: FailedItem[];
  /** How many records pass the filter; null when the list was too long to count. */
  matched: number | null;
  /** How many records have been retried, when a filtered scan counted them all. */
  retried: number | null;
  /** More records pass the filter after this page. */
  hasMore: boolean;
}

export interface RetryAllResult {
  retried: number;
  alreadyRetried: number;
  notRetryable: number;
  gone: number;
}

export interface LiveStats {
  t: number;
  processed: number;
  failed: number;
  servers: Array<{ id: number; label: string; ok: boolean; processed: number; failed: number; error?: string }>;
}

const SCAN_CHUNK = 500;
/** A filtered failed page counts at most this many records (after filling the page). */
export const FILTER_SCAN_BUDGET = 10_000;

/**
 * The records of failure list `list` (of `total` elements) in the order a page shows them:
 * oldest first for `asc`, newest first for `desc`, read SCAN_CHUNK at a time. Stops early when
 * the caller breaks out.
 */
export async function* scanFailureList(s: Server, list: string, total: number, order: 'asc' | 'desc'): AsyncGenerator<{ index: number; raw: string }> {
  for (let k = 0; k * SCAN_CHUNK < total; k++) {
    const from = order === 'desc' ? Math.max(0, total - (k + 1) * SCAN_CHUNK) : k * SCAN_CHUNK;
    const upto = order === 'desc' ? total - k * SCAN_CHUNK - 1 : Math.min(total, (k + 1) * SCAN_CHUNK) - 1;
    const { items: chunk } = await s.store.failedRange(from, upto - from + 1, list);
    const idx = chunk.map((_, i) => i);
    if (order === 'desc') idx.reverse();
    for (const i of idx) yield { index: from + i, raw: chunk[i] as string };
  }
}

/** ` in foo_failed` for messages about a per-queue list; nothing for `failed`. */
function onList(list: string): string {
  return list === DEFAULT_FAILURE_LIST ? '' : ` in ${list}`;
}

function item(index: number, raw: string): FailedItem {
  return { index, digest: digest(raw), raw, view: viewFailure(raw) };
}

/** One Redis server of an Admin (`--dsn` entries parse to these; see web/dsn.ts). */
export interface ServerSpec {
  /** Position in --dsn; pages and forms name servers by it. */
  id: number;
  label: string;
  connection: ConnectionOptions;
  namespace: string;
}

export class Admin {
  readonly servers: Server[];

  /**
   * Over the servers given: specs (an AdminStore is opened for each) or ready Servers (their
   * stores are used as they are, e.g. a Client's, and closed by close() all the same).
   */
  constructor(specs: ReadonlyArray<ServerSpec | Server>, opts: { name?: string; commandTimeout?: number } = {}) {
    this.servers = specs.map(s =>
      'store' in s
        ? s
        : {
            id: s.id,
            label: s.label,
            namespace: s.namespace,
            store: new AdminStore({
              connection: s.connection,
              namespace: s.namespace,
              name: opts.name ?? 'pyres-ts:web',
              ...(opts.commandTimeout ? { commandTimeout: opts.commandTimeout } : {}),
            }),
          },
    );
  }

  /** Connects to every server; resolves with the ones that did not answer (they keep retrying). */
  async connect(): Promise<Server[]> {
    const ok = await Promise.all(this.servers.map(s => s.store.connect()));
    return this.servers.filter((_, i) => !ok[i]);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(s => s.store.close()));
  }

  server(id: number | string | undefined): Server {
    const n = typeof id === 'number' ? id : id === undefined || id === '' ? NaN : Number(id);
    const s = Number.isInteger(n) ? this.servers.find(x => x.id === n) : this.servers.find(x => x.label === id);
    if (!s) throw new AdminActionError(`no such server: ${JSON.stringify(id ?? '')} (servers: ${this.servers.map(x => `${x.id}=${x.label}`).join(', ')})`);
    return s;
  }

  /** Runs `fn` on each server (or the given ones) at once; a failure is that server's result. */
  async each<T>(fn: (s: Server) => Promise<T>, only?: readonly Server[]): Promise<Array<Settled<T>>> {
    return Promise.all(
      (only ?? this.servers).map(async (server): Promise<Settled<T>> => {
        try {
          return { server, ok: true, value: await fn(server) };
        } catch (e) {
          return { server, ok: false, error: describeError(server, e), cause: e };
        }
      }),
    );
  }

  // ---- reads ------------------------------------------------------------------------------

  /** The union of queue names over every server, with a per-server breakdown. */
  async queues(): Promise<{ rows: QueueRow[]; perServer: Array<Settled<Array<{ queue: string; size: number }>>> }> {
    const perServer = await this.each(s => s.store.queueSizes());
    const byName = new Map<string, QueueRow>();
    for (const r of perServer) {
      if (!r.ok) continue;
      for (const { queue, size } of r.value) {
        const row = byName.get(queue) ?? { queue, total: 0, sizes: {} };
        row.sizes[r.server.id] = size;
        row.total += size;
        byName.set(queue, row);
      }
    }
    return { rows: [...byName.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0)), perServer };
  }

  async queue(name: string, start: number, count: number): Promise<Array<Settled<{ size: number; known: boolean; items: string[] }>>> {
    return this.each(s => s.store.peekQueue(name, start, count));
  }

  /**
   * Resque's `remove_queue`: DEL queue:<name> and SREM queues <name>, in one MULTI. Returns how
   * many jobs were in it.
   */
  async removeQueue(serverId: number | string, name: string): Promise<number> {
    return this.server(serverId).store.removeQueue(name);
  }

  /** DEL queue:<name>, the queue staying listed in `queues` (resque-web's "clear"). Returns how many jobs were in it. */
  async clearQueue(serverId: number | string, name: string): Promise<number> {
    return this.server(serverId).store.clearQueue(name);
  }

  async workers(): Promise<{ rows: WorkerRow[]; perServer: Array<Settled<WorkerRow[]>> }> {
    const perServer = await this.each(async s => {
      const [raw, { masters }] = await Promise.all([s.store.workers(), this.mastersOf(s)]);
      const owner = new Map<string, string>();
      for (const m of masters) for (const c of m.children) owner.set(c.workerId, m.id);
      return raw.map((w): WorkerRow => {
        const parts = parseWorkerId(w.id);
        return {
          server: s.id,
          serverLabel: s.label,
          id: w.id,
          host: parts?.host ?? w.id.split(':')[0] ?? '',
          pid: parts?.pid ?? null,
          queues: parts?.queues ?? [],
          started: w.started,
          startedIso: w.started ? (parseResqueTime(w.started)?.toISOString() ?? null) : null,
          heartbeat: w.heartbeat,
          heartbeatIso: w.heartbeat ? (parseResqueTime(w.heartbeat)?.toISOString() ?? null) : null,
          job: w.working ? jobInfo(w.working) : null,
          processed: w.processed,
          failed: w.failed,
          master: owner.get(w.id) ?? null,
        };
      });
    });
    return { rows: perServer.flatMap(r => (r.ok ? r.value : [])), perServer };
  }

  async masters(): Promise<Array<Settled<ServerMasters>>> {
    return this.each(s => this.mastersOf(s));
  }

  /** One bad record never hides the others: it is skipped and listed in `unreadable`. */
  private async mastersOf(s: Server): Promise<ServerMasters> {
    const out: ServerMasters = { masters: [], unreadable: [] };
    for (const m of await s.store.masters()) {
      const r = readMasterRecord(m.id, m.info);
      if (r.ok) out.masters.push(r.info);
      else out.unreadable.push({ id: r.id, reason: r.reason });
    }
    return out;
  }

  async stats(): Promise<Array<Settled<{ stats: ResqueStats; info: Record<string, string> }>>> {
    return this.each(async s => {
      const [stats, info] = await Promise.all([s.store.stats(), s.store.serverInfo()]);
      return { stats, info };
    });
  }

  async live(): Promise<LiveStats> {
    const r = await this.each(s => s.store.stats());
    const out: LiveStats = { t: Date.now(), processed: 0, failed: 0, servers: [] };
    for (const x of r) {
      if (x.ok) {
        out.processed += x.value.processed;
        out.failed += x.value.failedStat;
        out.servers.push({ id: x.server.id, label: x.server.label, ok: true, processed: x.value.processed, failed: x.value.failedStat });
      } else out.servers.push({ id: x.server.id, label: x.server.label, ok: false, processed: 0, failed: 0, error: x.error });
    }
    return out;
  }

  /**
   * One page of a server's failures. `desc` (the default, like resque-web) shows the newest
   * first: start 0 is the last element of the list. Each item carries its list index and the
   * SHA-1 of its bytes, which actions use to make sure they act on the record that was shown.
   *
   * `show` filters: 'all' (resque-web's view, read by index: cheap), 'pending' (not retried
   * yet) or 'retried'. A filtered page scans the list in chunks from the shown end until the
   * page is full, and goes on counting up to FILTER_SCAN_BUDGET elements; past that the
   * filtered count is unknown (null).
   */
  async failed(
    serverId: number | string,
    start: number,
    count: number,
    order: 'asc' | 'desc' = 'desc',
    show: FailedFilter = 'all',
    list: string = DEFAULT_FAILURE_LIST,
  ): Promise<FailedPage> {
    const s = this.server(serverId);
    list = await this.failureList(s, list);
    start = Math.max(0, Math.floor(start));
    count = Math.max(1, Math.min(1000, Math.floor(count)));
    if (show !== 'all') return this.failedFiltered(s, start, count, order, show, list);
    let total = await s.store.failedCount(list);
    let from = start;
    if (order === 'desc') from = Math.max(0, total - start - count);
    const upto = order === 'desc' ? total - start - 1 : start + count - 1;
    const n = Math.max(0, upto - from + 1);
    const got = n > 0 ? await s.store.failedRange(from, n, list) : { total, items: [] };
    total = got.total;
    const items = got.items.map((raw, i) => item(from + i, raw));
    if (order === 'desc') items.reverse();
    return { list, total, start, count, order, show, items, matched: total, retried: null, hasMore: start + items.length < total };
  }

  private async failedFiltered(s: Server, start: number, count: number, order: 'asc' | 'desc', show: 'pending' | 'retried', list: string): Promise<FailedPage> {
    const total = await s.store.failedCount(list);
    const items: FailedItem[] = [];
    let matched = 0;
    let scanned = 0;
    let retried = 0;
    let complete = true;
    let hasMore = false;
    for await (const { index, raw } of scanFailureList(s, list, total, order)) {
      if (items.length === count && scanned >= FILTER_SCAN_BUDGET) {
        complete = false;
        hasMore = true;
        break;
      }
      scanned++;
      const r = isRetried(raw);
      if (r) retried++;
      if (r !== (show === 'retried')) continue;
      if (matched >= start && items.length < count) items.push(item(index, raw));
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
    };
  }

  // ---- failure actions ----------------------------------------------------------------------

  /**
   * Finds the record the caller saw: at `index` when its SHA-1 still matches, else by scanning
   * the list for that SHA-1 (a remove shifts later indices). Without a digest, the element now
   * at `index` is taken (Ruby's semantics).
   */
  private async locate(s: Server, index: number, want: string | undefined, list: string): Promise<{ index: number; raw: string } | null> {
    if (!Number.isInteger(index) || index < 0) throw new AdminActionError(`${JSON.stringify(index)} is not a failure index`);
    const raw = await s.store.failedAt(index, list);
    if (raw !== null && (!want || digest(raw) === want || digest(raw).startsWith(want))) return { index, raw };
    if (!want) return null;
    for (let from = 0; ; from += SCAN_CHUNK) {
      const { total, items } = await s.store.failedRange(from, SCAN_CHUNK, list);
      const hit = items.findIndex(x => digest(x).startsWith(want));
      if (hit >= 0) return { index: from + hit, raw: items[hit] as string };
      if (from + SCAN_CHUNK >= total) return null;
    }
  }

  /** `Failure.requeue`: marks the record retried (it stays in the list) and pushes the job. */
  async retryFailed(
    serverId: number | string,
    index: number,
    want?: string,
    list: string = DEFAULT_FAILURE_LIST,
  ): Promise<{ index: number; queue: string; job: string; list: string }> {
    const s = this.server(serverId);
    list = await this.failureList(s, list);
    for (let attempt = 0; attempt < 5; attempt++) {
      const at = await this.locate(s, index, want, list);
      if (!at)
        throw new AdminActionError(
          `failure ${index}${want ? ` (${want.slice(0, 12)})` : ''}${onList(list)} on ${s.label} is gone (removed, cleared or retried elsewhere)`,
        );
      const done = await this.retryAt(s, at.index, at.raw, list);
      if (done) return done;
    }
    throw new AdminActionError(`failure ${index} on ${s.label} kept changing; try again`);
  }

  /** retried_at as the backend that owns `list` writes it: RedisMultiQueue's has no zone. */
  private async retryAt(s: Server, index: number, raw: string, list: string): Promise<{ index: number; queue: string; job: string; list: string } | null> {
    const target = requeueJob(raw);
    if (!target.ok) throw new AdminActionError(`failure ${index}${onList(list)} on ${s.label} cannot be retried: ${target.reason}`);
    const now = new Date();
    const record = markRetried(raw, list === DEFAULT_FAILURE_LIST ? formatFailedAt(now) : formatRetriedAtMultiQueue(now));
    if (record === null) throw new AdminActionError(`failure ${index}${onList(list)} on ${s.label} cannot be retried: not a JSON object`);
    const used = await s.store.retryFailed(index, raw, record, target.queue, target.job, list);
    return used < 0 ? null : { index: used, queue: target.queue, job: target.job, list };
  }

  /** `Failure.remove`, checked: removes the record that was shown, wherever it now is. */
  async removeFailed(serverId: number | string, index: number, want?: string, list: string = DEFAULT_FAILURE_LIST): Promise<{ index: number; list: string }> {
    const s = this.server(serverId);
    list = await this.failureList(s, list);
    for (let attempt = 0; attempt < 5; attempt++) {
      const at = await this.locate(s, index, want, list);
      if (!at) throw new AdminActionError(`failure ${index}${want ? ` (${want.slice(0, 12)})` : ''}${onList(list)} on ${s.label} is gone`);
      const used = await s.store.removeFailed(at.index, at.raw, list);
      if (used >= 0) return { index: used, list };
    }
    throw new AdminActionError(`failure ${index} on ${s.label} kept changing; try again`);
  }

  /**
   * `Failure.clear`: DEL the list, or (no list) every failure list, `failed` and each
   * `<queue>_failed` (names stay in `failed_queues`, as Ruby leaves them).
   */
  async clearFailed(serverId: number | string, list?: string): Promise<number> {
    const s = this.server(serverId);
    let n = 0;
    for (const l of await this.listsFor(s, list)) n += await s.store.clearFailed(l);
    return n;
  }

  /** Every failure list of a server and its length (`failed` first; see AdminStore.failureLists). */
  async failureLists(serverId: number | string): Promise<Array<{ list: string; size: number }>> {
    return this.server(serverId).store.failureLists();
  }

  /**
   * The failure list a caller named: `failed`, a member of `failed_queues` (`foo_failed`, as
   * resque-web's URLs name it), or a job queue whose `<queue>_failed` is one (`foo`). Anything
   * else is refused, so no other key is ever read or deleted as a failure list.
   */
  private async failureList(s: Server, name: string): Promise<string> {
    if (name === DEFAULT_FAILURE_LIST || (await s.store.isFailureList(name))) return name;
    if (name !== '' && (await s.store.isFailureList(`${name}_failed`))) return `${name}_failed`;
    const known = (await s.store.failureLists()).map(l => l.list);
    throw new AdminActionError(`no failure list ${JSON.stringify(name)} on ${s.label} (failure lists: ${known.join(', ')})`);
  }

  /** The lists an all-records action covers: the one named, or every failure list. */
  private async listsFor(s: Server, list: string | undefined): Promise<string[]> {
    if (list !== undefined) return [await this.failureList(s, list)];
    return (await s.store.failureLists()).map(l => l.list);
  }

  /**
   * Retries every failure that has not been retried yet. Unlike Ruby's `requeue_all`, a record
   * that already has `retried_at` is skipped, so running it twice pushes no job twice.
   */
  async retryAll(serverId: number | string, list?: string): Promise<RetryAllResult> {
    const s = this.server(serverId);
    const res: RetryAllResult = { retried: 0, alreadyRetried: 0, notRetryable: 0, gone: 0 };
    for (const l of await this.listsFor(s, list)) await this.retryAllIn(s, l, res);
    return res;
  }

  private async retryAllIn(s: Server, list: string, res: RetryAllResult): Promise<void> {
    for (let from = 0; ; from += SCAN_CHUNK) {
      const { total, items } = await s.store.failedRange(from, SCAN_CHUNK, list);
      for (let i = 0; i < items.length; i++) {
        const raw = items[i] as string;
        if (isRetried(raw)) {
          res.alreadyRetried++;
          continue;
        }
        if (!requeueJob(raw).ok) {
          res.notRetryable++;
          continue;
        }
        if (await this.retryAt(s, from + i, raw, list)) res.retried++;
        else res.gone++;
      }
      if (from + SCAN_CHUNK >= total || items.length === 0) return;
    }
  }

  /** `Failure.clear_retried`: removes every record that has `retried_at` (from the end, checked). */
  async clearRetried(serverId: number | string, list?: string): Promise<number> {
    const s = this.server(serverId);
    let n = 0;
    for (const l of await this.listsFor(s, list)) {
      const found: Array<{ index: number; raw: string }> = [];
      for (let from = 0; ; from += SCAN_CHUNK) {
        const { total, items } = await s.store.failedRange(from, SCAN_CHUNK, l);
        items.forEach((raw, i) => {
          if (isRetried(raw)) found.push({ index: from + i, raw });
        });
        if (from + SCAN_CHUNK >= total || items.length === 0) break;
      }
      for (const f of found.reverse()) if ((await s.store.removeFailed(f.index, f.raw, l)) >= 0) n++;
    }
    return n;
  }

  // ---- masters -----------------------------------------------------------------------------

  /** Sends a command to a master (as `pyres-ts ctl` does); the master must be advertised. */
  async masterCommand(serverId: number | string, masterId: string, cmd: MasterCommand): Promise<void> {
    const s = this.server(serverId);
    const { masters: all } = await this.mastersOf(s);
    if (!all.some(m => m.id === masterId)) throw new AdminActionError(`no master ${JSON.stringify(masterId)} on ${s.label}`);
    await s.store.pushMasterCommand(masterId, JSON.stringify(cmd));
  }
}

export function isRetried(raw: string): boolean {
  if (!raw.includes('"retried_at"')) return false;
  const o = objectMembers(raw);
  if (!o) return false;
  const m = o.members.filter(x => x.key === 'retried_at').pop();
  if (!m) return false;
  const v = raw.slice(m.valueStart, m.valueEnd);
  return v !== 'null' && v !== 'false';
}

function jobInfo(working: string): JobInfo {
  const w = decodeWorkingOn(working);
  const className = displayClassName(w?.rawPayload ?? '') ?? '?';
  let runAt: string | null = null;
  try {
    const v = (JSON.parse(working) as Record<string, unknown>)['run_at'];
    runAt = v === undefined || v === null ? null : String(v);
  } catch {
    /* not JSON */
  }
  return { queue: w?.queue ?? '', className, runAt, runAtIso: w?.runAt?.toISOString() ?? null, payload: w?.rawPayload ?? working };
}

function describeError(s: Server, e: unknown): string {
  const m = coerceError(e).message;
  return m.includes(s.store.where) ? m : `${s.store.where}: ${m}`;
}

/** The name this class had when it lived in web/ (kept for existing imports). */
export { Admin as Dashboard };
