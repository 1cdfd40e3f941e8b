/**
 * The dashboard's `/metrics`: what the Resque keys say, read through the admin layer on each
 * scrape, for every server of `--dsn` (label `server`).
 *
 * - `pyres_queue_depth{server,queue}` (gauge): jobs waiting;
 * - `pyres_queue_oldest_job_age_seconds{server,queue}` (gauge): the age of the job at the
 *   head of the queue (the oldest, as Resque pushes with RPUSH and pops with LPOP). Resque's
 *   payloads carry no enqueue time: the age is read from pyres' `enqueue_timestamp` (epoch
 *   seconds) or an `enqueued_at` (epoch seconds or an ISO time) when the head job has one, and
 *   the series is left out for a queue whose head job has neither;
 * - `pyres_processed_total{server}`, `pyres_failed_total{server}` (counters): Resque's
 *   `stat:processed` / `stat:failed` (a stats reset shows as a counter reset);
 * - `pyres_workers{server,state}` (gauge): registered workers, `busy` (working on a job) or `idle`;
 * - `pyres_failed_jobs{server,job_class}` (gauge): failure records kept in the failure lists,
 *   by the failed job's class (counted over the newest FAILED_SCAN_LIMIT records of each list);
 * - `pyres_server_up{server}` (gauge): 1 when the server answered this scrape.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Admin } from '../admin/admin';

/** Failure records read per list and scrape for `pyres_failed_jobs`. */
export const FAILED_SCAN_LIMIT = 10_000;
const PAGE = 1000;

/** The enqueue time (ms since the epoch) a payload carries, or null (Resque's carry none). */
export function enqueuedAtMs(raw: string): number | null {
  let p: unknown;
  try {
    p = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof p !== 'object' || p === null) return null;
  const o = p as Record<string, unknown>;
  for (const k of ['enqueue_timestamp', 'enqueued_at']) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v * 1000;
    if (typeof v === 'string' && v.trim() !== '') {
      const n = Number(v);
      if (Number.isFinite(n) && n > 0) return n * 1000;
      const t = Date.parse(v);
      if (Number.isFinite(t)) return t;
    }
  }
  return null;
}

/** The dashboard's registry over an Admin; `text()` reads Redis and renders. */
export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly depth: Gauge<'server' | 'queue'>;
  private readonly age: Gauge<'server' | 'queue'>;
  private readonly processed: Counter<'server'>;
  private readonly failed: Counter<'server'>;
  private readonly workers: Gauge<'server' | 'state'>;
  private readonly failedByClass: Gauge<'server' | 'job_class'>;
  private readonly up: Gauge<'server'>;

  constructor(
    private readonly admin: Admin,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [this.registry];
    this.depth = new Gauge({ name: 'pyres_queue_depth', help: 'Jobs waiting in the queue.', labelNames: ['server', 'queue'], registers });
    this.age = new Gauge({
      name: 'pyres_queue_oldest_job_age_seconds',
      help: "Age of the job at the head of the queue, from its payload's enqueue time (pyres' enqueue_timestamp); absent when it has none.",
      labelNames: ['server', 'queue'],
      registers,
    });
    this.processed = new Counter({ name: 'pyres_processed_total', help: "Jobs processed (Resque's stat:processed).", labelNames: ['server'], registers });
    this.failed = new Counter({ name: 'pyres_failed_total', help: "Jobs failed (Resque's stat:failed).", labelNames: ['server'], registers });
    this.workers = new Gauge({ name: 'pyres_workers', help: 'Registered workers, busy or idle.', labelNames: ['server', 'state'], registers });
    this.failedByClass = new Gauge({
      name: 'pyres_failed_jobs',
      help: `Failure records in the failure lists, by job class (the newest ${FAILED_SCAN_LIMIT} of each list).`,
      labelNames: ['server', 'job_class'],
      registers,
    });
    this.up = new Gauge({ name: 'pyres_server_up', help: 'Whether the Redis server answered this scrape.', labelNames: ['server'], registers });
  }

  private lane: Promise<unknown> = Promise.resolve();

  /** Reads every server and renders the text exposition format (one scrape at a time). */
  text(): Promise<string> {
    const next = this.lane.then(async () => {
      await this.refresh();
      return this.registry.metrics();
    });
    this.lane = next.catch(() => undefined);
    return next;
  }

  private async refresh(): Promise<void> {
    for (const m of [this.depth, this.age, this.processed, this.failed, this.workers, this.failedByClass, this.up]) m.reset();
    const [queues, stats, workers] = await Promise.all([this.admin.queues(), this.admin.stats(), this.admin.workers()]);
    const down = new Set<number>();
    for (const r of [...queues.perServer, ...stats, ...workers.perServer]) if (!r.ok) down.add(r.server.id);
    for (const r of stats) {
      const server = r.server.label;
      this.up.set({ server }, down.has(r.server.id) ? 0 : 1);
      if (!r.ok) continue;
      this.processed.inc({ server }, r.value.stats.processed);
      this.failed.inc({ server }, r.value.stats.failedStat);
    }
    const t = this.now();
    for (const r of queues.perServer) {
      if (!r.ok) continue;
      for (const { queue, size } of r.value) this.depth.set({ server: r.server.label, queue }, size);
    }
    for (const row of queues.rows) {
      if (row.total === 0) continue;
      for (const h of await this.admin.queue(row.queue, 0, 1)) {
        const first = h.ok ? h.value.items[0] : undefined;
        const at = first !== undefined ? enqueuedAtMs(first) : null;
        if (at !== null) this.age.set({ server: h.server.label, queue: row.queue }, Math.max(0, (t - at) / 1000));
      }
    }
    for (const r of workers.perServer) {
      if (!r.ok) continue;
      const server = r.server.label;
      const busy = r.value.filter(w => w.job !== null).length;
      this.workers.set({ server, state: 'busy' }, busy);
      this.workers.set({ server, state: 'idle' }, r.value.length - busy);
    }
    for (const r of stats) {
      if (!r.ok) continue;
      const server = r.server.label;
      const counts = new Map<string, number>();
      try {
        for (const { list, size } of await this.admin.failureLists(r.server.id)) {
          for (let start = 0; start < Math.min(size, FAILED_SCAN_LIMIT); start += PAGE) {
            const page = await this.admin.failed(r.server.id, start, Math.min(PAGE, FAILED_SCAN_LIMIT - start), 'desc', 'all', list);
            for (const it of page.items) {
              const cls = it.view.className ?? '(unparsed)';
              counts.set(cls, (counts.get(cls) ?? 0) + 1);
            }
            if (page.items.length === 0) break;
          }
        }
      } catch {
        continue;
      }
      for (const [job_class, n] of counts) this.failedByClass.set({ server, job_class }, n);
    }
  }
}
