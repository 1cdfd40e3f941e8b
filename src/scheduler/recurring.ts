import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, coerceError } from '../errors';
import type { Logger } from '../logging/logger';
import { type ScheduleEntry, decodeScheduleEntry, envMatches, queueingMessage, scheduledJobPayload } from '../protocol/schedule';
import { formatStarted, parseResqueTime } from '../protocol/time';
import type { ScheduleStore } from '../store/scheduleStore';
import { checkCron, plan } from './recurringPlan';

/**
 * Recurring schedules (resque-scheduler's `cron` / `every`, static and dynamic), as an extension
 * of the scheduler loop: the loop calls `tick(nowMs)` once per pass while it holds the
 * scheduler lock, with Redis TIME. See docs/SCHEDULE.md.
 */

/** The scheduler loop's extension contract (declared here structurally; the scheduler calls it while it leads). */
export interface SchedulerExtension {
  readonly name: string;
  /** Called once per scheduler loop while this process holds the lock, after due items are moved. nowMs is Redis TIME. */
  tick(nowMs: number): Promise<void>;
  /** Called when the scheduler stops or loses the lock. */
  stop?(): Promise<void>;
}

/** Options of a RecurringSchedules. */
export interface RecurringOptions {
  store: ScheduleStore;
  logger: Logger;
  /** The static schedule (a decoded schedule.yml: name -> config); lives in this process only, as in Ruby. */
  staticSchedule?: Readonly<Record<string, unknown>>;
  /** DYNAMIC_SCHEDULE: follow `schedules_changed`. Without it `persistent_schedules` is read once per leadership. */
  dynamic?: boolean;
  /** The environment entries with `rails_env`/`env` must name (RAILS_ENV in Ruby). null: such entries never run. */
  env?: string | null;
  /** Zone of cron lines without one. @defaultValue this process's zone (TZ) */
  defaultTz?: string;
}

/** One schedule as the scheduler holds it. */
export interface ActiveSchedule {
  readonly entry: ScheduleEntry;
  /** When this scheduler first saw this version of the entry (Redis TIME ms). */
  readonly loadedAtMs: number;
}

interface Held extends ActiveSchedule {
  /** What this scheduler wrote to last_enqueued_at when it fired it last, and the next due time it computed then. */
  chain: { written: string; nextMs: number | null } | null;
}

/** Reads a schedule.yml (resque-scheduler's format: name -> config). Throws ConfigError naming the file. */
export function parseScheduleYaml(text: string, file = 'schedule file'): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file} is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${file} must be a map of schedule names to configs`);
  return v as Record<string, unknown>;
}

/** Reads and parses a schedule.yml file. Throws ConfigError. */
export function loadScheduleFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--schedule ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseScheduleYaml(text, path);
}

/** The zone of this process (cron lines without a zone run in it, as Ruby's in the scheduler host's). */
export function processTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** An entry's problem including a bad cron line (which needs the cron parser). */
export function entryProblem(e: ScheduleEntry, defaultTz: string): string | null {
  if (e.problem) return e.problem;
  if (e.interval?.kind === 'cron') return checkCron(e.interval, defaultTz);
  return null;
}

/**
 * The recurring-schedule extension. Fires each schedule whose latest due time is later than its
 * `delayed:last_enqueued_at` (so a missed tick fires at most once after a hand-over), pushing
 * `{"class","args"}` with `SADD queues` + `RPUSH` + `HSET delayed:last_enqueued_at` in one
 * compare-and-set script. A broken entry (not JSON, bad cron, unknown zone, no queue) is logged
 * once and skipped; tick never throws.
 */
export class RecurringSchedules implements SchedulerExtension {
  readonly name = 'recurring-schedules';
  private readonly store: ScheduleStore;
  private readonly log: Logger;
  private readonly dynamic: boolean;
  private readonly env: string | null;
  private readonly defaultTz: string;
  private readonly statics = new Map<string, ScheduleEntry>();
  private readonly held = new Map<string, Held>();
  private loaded = false;
  private readonly logged = new Set<string>();

  constructor(o: RecurringOptions) {
    this.store = o.store;
    this.log = o.logger;
    this.dynamic = o.dynamic ?? false;
    this.env = o.env ?? null;
    this.defaultTz = o.defaultTz ?? processTimeZone();
    for (const [name, config] of Object.entries(o.staticSchedule ?? {})) this.statics.set(name, decodeScheduleEntry(name, config, null, 'static'));
  }

  /** The schedules held now (empty while not leading). */
  schedules(): ActiveSchedule[] {
    return [...this.held.values()].map(h => ({ entry: h.entry, loadedAtMs: h.loadedAtMs }));
  }

  async tick(nowMs: number): Promise<void> {
    try {
      if (!this.loaded) await this.load(nowMs);
      else if (this.dynamic) await this.applyChanges(nowMs);
      await this.fireDue(nowMs);
    } catch (e) {
      this.once(`tick:${coerceError(e).message}`, () => this.log.warn(`recurring schedules: ${coerceError(e).message} (retried next pass)`));
    }
  }

  /** Forgets what it held: a new leadership starts from Redis again. */
  async stop(): Promise<void> {
    this.loaded = false;
    this.held.clear();
  }

  /** stop(), and closes the store's own connection. */
  async close(): Promise<void> {
    await this.stop();
    await this.store.close();
  }

  private once(key: string, fn: () => void): void {
    if (this.logged.has(key)) return;
    if (this.logged.size > 10_000) this.logged.clear();
    this.logged.add(key);
    fn();
  }

  private hold(entry: ScheduleEntry, nowMs: number): void {
    const prev = this.held.get(entry.name);
    if (prev && prev.entry.raw === entry.raw && prev.entry.source === entry.source) return;
    this.held.set(entry.name, { entry, loadedAtMs: nowMs, chain: null });
    this.log.info(`Scheduling ${entry.name} ${entry.intervalText ? `(${entry.intervalText})` : ''}`.trimEnd());
  }

  /** Ruby's load_schedule!: static entries, then `persistent_schedules` (which wins); a dynamic scheduler clears `schedules_changed` first. */
  private async load(nowMs: number): Promise<void> {
    if (this.dynamic) await this.store.clearChanged();
    const persistent = await this.store.persistentSchedules();
    this.held.clear();
    for (const e of this.statics.values()) this.hold(e, nowMs);
    for (const [name, raw] of Object.entries(persistent)) this.hold(decodeScheduleEntry(name, null, raw, 'persistent'), nowMs);
    this.loaded = true;
  }

  /** Ruby's update_schedule: SCARD, then SPOP each changed name and reload or unschedule it. */
  private async applyChanges(nowMs: number): Promise<void> {
    if ((await this.store.changedCount()) === 0) return;
    for (let name = await this.store.popChanged(); name !== null; name = await this.store.popChanged()) {
      const raw = await this.store.persistentSchedule(name);
      const e = raw !== null ? decodeScheduleEntry(name, null, raw, 'persistent') : this.statics.get(name);
      if (e) this.hold(e, nowMs);
      else if (this.held.delete(name)) this.log.info(`Removing schedule ${name}`);
    }
  }

  private async fireDue(nowMs: number): Promise<void> {
    if (this.held.size === 0) return;
    const last = await this.store.lastEnqueuedAt();
    for (const h of this.held.values()) {
      const e = h.entry;
      const problem = entryProblem(e, this.defaultTz);
      if (problem) {
        this.once(`bad:${e.name}:${e.raw ?? ''}:${problem}`, () => this.log.warn(`schedule ${e.name} skipped: ${problem}`));
        continue;
      }
      if (e.interval === null || e.queue === null) continue;
      if (!envMatches(e.env, this.env)) {
        this.once(`env:${e.name}:${e.env}`, () =>
          this.log.debug(
            `Skipping schedule of ${e.name} because configured env ${JSON.stringify(e.env)} does not match current env ${JSON.stringify(this.env)}`,
          ),
        );
        continue;
      }
      // Own fields only: a schedule named `constructor` or `__proto__` must not read Object's.
      const stored = Object.hasOwn(last, e.name) ? (last[e.name] ?? null) : null;
      const lastRun = stored === null ? null : parseResqueTime(stored);
      if (stored !== null && lastRun === null)
        this.once(`last:${e.name}:${stored}`, () =>
          this.log.warn(`schedule ${e.name}: last_enqueued_at ${JSON.stringify(stored)} is not a time; taken as never`),
        );
      const chainNextMs = h.chain && h.chain.written === stored ? h.chain.nextMs : null;
      const p = plan(e.interval, { nowMs, lastRunMs: lastRun ? lastRun.getTime() : null, loadedAtMs: h.loadedAtMs, chainNextMs, defaultTz: this.defaultTz });
      if (!p.fire) continue;
      const written = formatStarted(new Date(nowMs));
      const fired = await this.store.fire(e.name, stored, written, e.queue, scheduledJobPayload(e));
      if (fired) {
        this.log.info(queueingMessage(e));
        h.chain = { written, nextMs: p.nextMs };
      } else {
        this.log.debug(`schedule ${e.name}: already fired for this time by another scheduler`);
        h.chain = null;
      }
    }
  }
}
