import { PayloadDecodeError } from '../errors';
import {
  type ScheduleEntry,
  type ScheduleSpec,
  decodeScheduleEntry,
  encodeConfigObject,
  encodeScheduleConfig,
  scheduledJobPayload,
} from '../protocol/schedule';
import { parseResqueTime } from '../protocol/time';
import { checkCron, nextRun } from '../scheduler/recurringPlan';
import { ScheduleStore } from '../store/scheduleStore';
import { AdminActionError, type Admin, type Server, type Settled } from './admin';

/**
 * The Schedule reads and writes shared by `pyres-ts schedule` and the dashboard's Schedule page,
 * on resque-scheduler's keys (docs/SCHEDULE.md): the dynamic schedules in `persistent_schedules`
 * with their `delayed:last_enqueued_at`, set/remove as Ruby's `set_schedule(persist: true)` /
 * `remove_schedule`, and "enqueue now" as resque-web's Queue now.
 * Static schedules (a scheduler's `--schedule FILE`) live in that scheduler only, as in Ruby, and
 * are not listed.
 */

/** One schedule as the page and `schedule list` show it. */
export interface ScheduleRow {
  name: string;
  entry: ScheduleEntry;
  /** Why it cannot fire (bad JSON, cron, zone, no queue), or null. */
  problem: string | null;
  /** last_enqueued_at as stored, or null ("Never"). */
  lastEnqueuedAt: string | null;
  lastIso: string | null;
  /**
   * The next due time by Redis TIME, or null (broken, not scheduled). For an `every` never fired it
   * is an estimate: the scheduler counts the first period from when it loaded the entry.
   */
  nextIso: string | null;
}

/** The server's schedules at once. */
export interface ServerSchedules {
  rows: ScheduleRow[];
  /** Redis TIME when read. */
  nowIso: string;
}

function storeOf(s: Server): ScheduleStore {
  return new ScheduleStore({ client: s.store.client(), namespace: s.namespace });
}

/** The zone cron lines without one are shown in (this process's; the scheduler uses its own). */
function zone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Every dynamic schedule of one server, sorted by name (resque-web's order), with last and next run. */
export async function serverSchedules(s: Server): Promise<ServerSchedules> {
  const st = storeOf(s);
  const [snap, nowMs] = await Promise.all([st.snapshot(), st.timeMs()]);
  const tz = zone();
  const rows = Object.keys(snap.persistent)
    .sort()
    .map((name): ScheduleRow => {
      const entry = decodeScheduleEntry(name, null, snap.persistent[name]!, 'persistent');
      const problem = entry.problem ?? (entry.interval?.kind === 'cron' ? checkCron(entry.interval, tz) : null);
      const last = Object.hasOwn(snap.lastEnqueuedAt, name) ? (snap.lastEnqueuedAt[name] ?? null) : null;
      const lastMs = last === null ? null : (parseResqueTime(last)?.getTime() ?? null);
      const next = problem || !entry.interval ? null : nextRun(entry.interval, { nowMs, lastRunMs: lastMs, loadedAtMs: nowMs, defaultTz: tz });
      return {
        name,
        entry,
        problem,
        lastEnqueuedAt: last,
        lastIso: lastMs === null ? null : new Date(lastMs).toISOString(),
        nextIso: next === null ? null : new Date(next).toISOString(),
      };
    });
  return { rows, nowIso: new Date(nowMs).toISOString() };
}

/** The schedules of every server; a server that is down is its own result. */
export function schedules(d: Admin): Promise<Array<Settled<ServerSchedules>>> {
  return d.each(serverSchedules);
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.trim() === '') throw new AdminActionError('a schedule needs a name');
}

/**
 * `set_schedule(name, config.merge(persist: true))`: writes the config as Ruby does (queue always)
 * and `SADD schedules_changed`. Returns the JSON written. Throws AdminActionError for a bad spec.
 */
export async function setSchedule(d: Admin, serverId: number | string | undefined, name: string, spec: ScheduleSpec): Promise<string> {
  checkName(name);
  let json: string;
  try {
    json = encodeScheduleConfig(spec);
    const e = decodeScheduleEntry(name, null, json);
    const problem = e.problem ?? (e.interval?.kind === 'cron' ? checkCron(e.interval, zone()) : null);
    if (problem) throw new PayloadDecodeError(problem);
  } catch (e) {
    if (e instanceof PayloadDecodeError) throw new AdminActionError(`schedule ${JSON.stringify(name)}: ${e.message}`);
    throw e;
  }
  await storeOf(d.server(serverId ?? d.servers[0]?.id)).setSchedules([[name, json]]);
  return json;
}

/**
 * Every entry of a schedule.yml as the `persistent_schedules` values to write (keys as given,
 * `queue` required, cron lines and zones checked). Throws PayloadDecodeError naming every bad entry.
 */
export function encodeScheduleFile(configs: Readonly<Record<string, unknown>>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const errors: string[] = [];
  for (const [name, config] of Object.entries(configs)) {
    try {
      const json = encodeConfigObject(name, config);
      const e = decodeScheduleEntry(name, null, json);
      const bad = e.interval?.kind === 'cron' ? checkCron(e.interval, zone()) : null;
      if (bad) throw new PayloadDecodeError(`schedule ${JSON.stringify(name)}: ${bad}`);
      out.push([name, json]);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new PayloadDecodeError(errors.join('; '));
  return out;
}

/** Writes schedules (from encodeScheduleFile) in one MULTI, as many set_schedule calls. Returns the names. */
export async function loadSchedules(d: Admin, serverId: number | string | undefined, entries: ReadonlyArray<readonly [string, string]>): Promise<string[]> {
  await storeOf(d.server(serverId ?? d.servers[0]?.id)).setSchedules(entries);
  return entries.map(([n]) => n);
}

/** `remove_schedule(name)`: HDEL + SADD schedules_changed. Throws AdminActionError when there is no such schedule. */
export async function removeSchedule(d: Admin, serverId: number | string | undefined, name: string): Promise<void> {
  checkName(name);
  const removed = await storeOf(d.server(serverId ?? d.servers[0]?.id)).removeSchedule(name);
  if (!removed) throw new AdminActionError(`no schedule ${JSON.stringify(name)} in persistent_schedules`);
}

/**
 * resque-web's "Queue now": pushes the schedule's job at once (`SADD queues`, `RPUSH`);
 * last_enqueued_at is not touched, as in Ruby. Returns where it went and what.
 */
export async function enqueueScheduleNow(d: Admin, serverId: number | string | undefined, name: string): Promise<{ queue: string; payload: string }> {
  checkName(name);
  const st = storeOf(d.server(serverId ?? d.servers[0]?.id));
  const raw = await st.persistentSchedule(name);
  if (raw === null) throw new AdminActionError(`no schedule ${JSON.stringify(name)} in persistent_schedules`);
  const e = decodeScheduleEntry(name, null, raw);
  if (e.className === null || e.queue === null) throw new AdminActionError(`schedule ${JSON.stringify(name)} cannot be enqueued: ${e.problem ?? 'no queue'}`);
  const payload = scheduledJobPayload(e);
  await st.enqueueNow(e.queue, payload);
  return { queue: e.queue, payload };
}
