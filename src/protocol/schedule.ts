import { PayloadDecodeError } from '../errors';
import { compactJsonText } from './job';
import type { ResqueKeys } from './keys';
import { rawMember } from './records';

/**
 * resque-scheduler 5's recurring schedules (docs/protocol/PROTOCOL-plugins.md §1.5, captures s3, s4, w1, w2),
 * pure codecs: what a schedule config means, how pyres-ts writes one, and the job a firing pushes.
 *
 * A config is a JSON object (the value of a `persistent_schedules` field, or one entry of a
 * schedule.yml): `class` (defaults to the schedule's name), `queue`, `args`, `description`,
 * `cron` or `every` (cron wins when both are there), `rails_env`/`env`. Reading is tolerant: a
 * config that cannot be used becomes an entry with a `problem` (shown, never fired), never a throw.
 */

/** The schedule keys under the namespace: `persistent_schedules`, `schedules_changed`, `delayed:last_enqueued_at`. */
export interface ScheduleKeys {
  /** hash: schedule name -> JSON config (resque-scheduler >= 4.2's `persist: true` schedules). */
  readonly persistent: string;
  /** set: names whose config changed; a dynamic scheduler SPOPs it. */
  readonly changed: string;
  /** hash: schedule name -> Ruby `Time#to_s` of the last firing. */
  readonly lastEnqueuedAt: string;
}

/** The schedule keys of a namespace. */
export function scheduleKeys(keys: ResqueKeys): ScheduleKeys {
  return { persistent: keys.key('persistent_schedules'), changed: keys.key('schedules_changed'), lastEnqueuedAt: keys.key('delayed:last_enqueued_at') };
}

/** A rufus `every`: a period, and when the first run is. */
export interface EveryInterval {
  readonly kind: 'every';
  /** The duration as configured (`30s`, `1h30m`, `30`). */
  readonly text: string;
  readonly periodMs: number;
  /** `first_in`, when given. */
  readonly firstInMs: number | null;
  /** `first_at`, when given, as epoch ms. */
  readonly firstAtMs: number | null;
}

/** A fugit cron line: 5 fields, or 6 with seconds first, and an optional trailing time zone. */
export interface CronInterval {
  readonly kind: 'cron';
  /** The whole value as configured, e.g. `0 5 * * * America/New_York`. */
  readonly text: string;
  /** The fields only, e.g. `0 5 * * *`. */
  readonly expr: string;
  /** The IANA zone of the line, or null (the scheduler's own zone, TZ). */
  readonly tz: string | null;
}

/** When a schedule fires. */
export type IntervalSpec = EveryInterval | CronInterval;

/** One schedule, as read. `problem` non-null: it cannot fire (shown as broken, logged once, skipped). */
export interface ScheduleEntry {
  readonly name: string;
  /** The stored JSON text (`persistent_schedules`), or null for a static (file) entry. */
  readonly raw: string | null;
  /** Where it comes from. */
  readonly source: 'persistent' | 'static';
  /** `class`, or the name when absent (as resque-scheduler); null when the config is not an object. */
  readonly className: string | null;
  readonly queue: string | null;
  /** The JSON text of the args the job gets (Ruby's `Array(args)`, a Hash as `[hash]`), compact, numbers as written. */
  readonly argsText: string;
  readonly description: string | null;
  /** null: no `cron`/`every` ("Not currently scheduled" in resque-web), or a problem. */
  readonly interval: IntervalSpec | null;
  /** resque-web's Interval column: `cron: 0 * * * *`, `every: 30s (first in 5s)`, `Not currently scheduled`. */
  readonly intervalText: string;
  /** `rails_env` / `env`: the entry runs only in these environments (comma/space list). */
  readonly env: string | null;
  readonly problem: string | null;
}

const UNITS: Readonly<Record<string, number>> = {
  y: 365 * 86400_000,
  M: 30 * 86400_000,
  w: 7 * 86400_000,
  d: 86400_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

/**
 * A rufus duration in ms: `30s`, `1h30m`, `1.5h`, `2w`, `1d`, `500ms`, or a bare number of
 * seconds (`"30"`, `30`). Null when it is not one, or not positive.
 */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseDuration(Number(s));
  if (!/^(\d+(\.\d+)?(ms|[yMwdhms]))+$/.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|[yMwdhms])/g)) ms += Number(m[1]) * (UNITS[m[2]!] ?? 0);
  const r = Math.round(ms);
  return r > 0 ? r : null;
}

/** True when `tz` is a time zone this Node knows (IANA names, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Splits a fugit cron line into its fields and its zone: `0 5 * * * America/New_York` ->
 * (`0 5 * * *`, `America/New_York`). Structural checks only (field count, zone); the fields
 * themselves are checked by scheduler/recurringPlan.ts. Throws PayloadDecodeError naming the fault.
 */
export function splitCron(text: string): { expr: string; tz: string | null } {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  let tz: string | null = null;
  const last = parts[parts.length - 1];
  // The zone is a trailing word no cron field can be: 7 words, or a word with a '/' or that Intl knows (UTC, EST).
  const special = parts[0]?.startsWith('@') === true;
  if (
    last !== undefined &&
    parts.length >= (special ? 2 : 6) &&
    /[A-Za-z]/.test(last) &&
    (parts.length === 7 || special || last.includes('/') || isTimeZone(last))
  ) {
    tz = last;
    parts.pop();
  }
  if (tz !== null && !isTimeZone(tz)) throw new PayloadDecodeError(`unknown time zone ${JSON.stringify(tz)} in cron ${JSON.stringify(text)}`);
  if (special) {
    if (parts.length !== 1) throw new PayloadDecodeError(`cron ${JSON.stringify(text)}: ${parts[0]} takes no fields`);
    return { expr: parts[0]!, tz };
  }
  if (parts.length !== 5 && parts.length !== 6)
    throw new PayloadDecodeError(`cron ${JSON.stringify(text)} has ${parts.length} fields; 5 or 6 (seconds first) expected`);
  return { expr: parts.join(' '), tz };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The value and the options of `every: [dur, {first_in: ..}]` / `cron: [line, {..}]`. */
function optionized(v: unknown): { value: unknown; opts: Record<string, unknown> } {
  if (Array.isArray(v)) {
    const o = v[1];
    return { value: v[0], opts: o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {} };
  }
  return { value: v, opts: {} };
}

/** Ruby's `to_s` of a plain JSON value, for resque-web-like display. */
function rubyText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The Interval column resque-web's Schedule tab shows: `cron: <line>`, `every: 30s (first in 5s)`,
 * or `Not currently scheduled`.
 */
export function intervalText(config: Record<string, unknown>): string {
  if (config['cron'] !== undefined && config['cron'] !== null) return `cron: ${rubyText(optionized(config['cron']).value)}`;
  if (config['every'] !== undefined && config['every'] !== null) {
    const { value, opts } = optionized(config['every']);
    const meta = Object.entries(opts).map(([k, v]) => `${k.replace(/_/g, ' ')} ${rubyText(v)}`);
    return `every: ${rubyText(value)}${Array.isArray(config['every']) && config['every'].length > 1 ? ` (${meta.join(', ')})` : ''}`;
  }
  return 'Not currently scheduled';
}

/** Parses `first_at`: epoch seconds, or a time string (`2026-12-01 10:00:00 +0000`, ISO). Null when not a time. */
function firstAt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v !== 'string') return null;
  const t = Date.parse(v.trim().replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2})?) ?([+-]\d{2}):?(\d{2})$/, '$1T$2$3:$4'));
  return Number.isNaN(t) ? null : t;
}

/** The interval of a config, or a problem. */
function intervalOf(config: Record<string, unknown>): { interval: IntervalSpec | null; problem: string | null } {
  const cron = config['cron'];
  if (cron !== undefined && cron !== null) {
    const { value } = optionized(cron);
    if (typeof value !== 'string' || value.trim() === '') return { interval: null, problem: `"cron" is not a cron line: ${JSON.stringify(cron)}` };
    try {
      const { expr, tz } = splitCron(value);
      return { interval: { kind: 'cron', text: value, expr, tz }, problem: null };
    } catch (e) {
      return { interval: null, problem: (e as Error).message };
    }
  }
  const every = config['every'];
  if (every !== undefined && every !== null) {
    const { value, opts } = optionized(every);
    const periodMs = parseDuration(value);
    if (periodMs === null) return { interval: null, problem: `"every" is not a duration (30s, 1h30m, 1d): ${JSON.stringify(value)}` };
    let firstInMs: number | null = null;
    let firstAtMs: number | null = null;
    if (opts['first_in'] !== undefined) {
      firstInMs = parseDuration(opts['first_in']);
      if (firstInMs === null) return { interval: null, problem: `"first_in" is not a duration: ${JSON.stringify(opts['first_in'])}` };
    }
    if (opts['first_at'] !== undefined) {
      firstAtMs = firstAt(opts['first_at']);
      if (firstAtMs === null) return { interval: null, problem: `"first_at" is not a time: ${JSON.stringify(opts['first_at'])}` };
    }
    return { interval: { kind: 'every', text: rubyText(value), periodMs, firstInMs, firstAtMs }, problem: null };
  }
  return { interval: null, problem: null };
}

/** Ruby's `args.is_a?(Hash) ? [args] : Array(args)`, as JSON text (compact, numbers as written). */
function argsTextOf(config: Record<string, unknown>, rawText: string | null): string {
  const v = config['args'];
  if (v === undefined || v === null) return '[]';
  const text = rawText !== null ? rawMember(rawText, 'args') : null;
  const t = text !== null ? compactJsonText(text) : JSON.stringify(v);
  return Array.isArray(v) ? t : `[${t}]`;
}

/** An entry that cannot be read at all (not JSON, not an object). */
function broken(name: string, raw: string | null, source: ScheduleEntry['source'], problem: string): ScheduleEntry {
  return { name, raw, source, className: null, queue: null, argsText: '[]', description: null, interval: null, intervalText: '', env: null, problem };
}

/**
 * One schedule from its decoded config (a file entry) or its stored JSON text (`raw`, a
 * `persistent_schedules` value). Never throws: what cannot be used is the entry's `problem`.
 * A config without `queue` is a problem: resque-scheduler falls back to the class's `@queue`,
 * which pyres-ts cannot know.
 */
export function decodeScheduleEntry(
  name: string,
  value: unknown,
  raw: string | null = null,
  source: ScheduleEntry['source'] = raw === null ? 'static' : 'persistent',
): ScheduleEntry {
  let config = value;
  if (raw !== null) {
    try {
      config = JSON.parse(raw);
    } catch {
      return broken(name, raw, source, `the config is not JSON: ${raw.length > 80 ? `${JSON.stringify(raw.slice(0, 80))}...` : JSON.stringify(raw)}`);
    }
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return broken(name, raw, source, 'the config is not a JSON object');
  const c = config as Record<string, unknown>;
  const cls = c['class'] === undefined || c['class'] === null ? name : str(c['class']);
  const queue = str(c['queue']);
  const { interval, problem: ip } = intervalOf(c);
  const env = str(c['rails_env']) ?? str(c['env']);
  let problem = ip;
  if (problem === null && cls === null) problem = '"class" is not a non-empty string';
  if (problem === null && c['queue'] !== undefined && c['queue'] !== null && queue === null) problem = '"queue" is not a non-empty string';
  if (problem === null && queue === null && interval !== null)
    problem = `no "queue": pyres-ts cannot infer ${cls}'s queue as Ruby does from the class; add "queue"`;
  const custom = c['custom_job_class'];
  if (problem === null && custom !== undefined && custom !== null && custom !== 'Resque::Job') {
    problem = '"custom_job_class" is not supported by pyres-ts (its Ruby `scheduled` method decides what is pushed)';
  }
  let argsText = '[]';
  try {
    argsText = argsTextOf(c, raw);
  } catch {
    problem ??= '"args" cannot be encoded';
  }
  const description = c['description'] === undefined || c['description'] === null ? null : rubyText(c['description']);
  return { name, raw, source, className: cls, queue, argsText, description, interval, intervalText: intervalText(c), env, problem };
}

/** True when an entry with `rails_env`/`env` may run in `env` (resque-scheduler's env_matches?). */
export function envMatches(entryEnv: string | null, env: string | null | undefined): boolean {
  if (entryEnv === null) return true;
  return env !== null && env !== undefined && entryEnv.split(/[\s,]+/).includes(env);
}

/** What `pyres-ts schedule set` is given. */
export interface ScheduleSpec {
  className: string;
  queue: string;
  /** Exactly one of cron / every. */
  cron?: string;
  every?: string;
  /** rufus `first_in` of an `every`. */
  firstIn?: string;
  /** The args as JSON text (any JSON value; an array is the args list, as in Ruby). */
  argsText?: string;
  description?: string;
}

/**
 * The `persistent_schedules` value resque-scheduler's `set_schedule(name, config.merge(persist: true))`
 * writes, in the order of the s4 capture: `{"class","cron"|"every","queue","args","description"}`,
 * compact, args as written. `queue` is always written (resque-web's Schedule tab answers 500 for a
 * class it cannot load without it). Throws PayloadDecodeError naming the bad field.
 */
export function encodeScheduleConfig(s: ScheduleSpec): string {
  if (!s.className) throw new PayloadDecodeError('a schedule needs a class');
  if (!s.queue) throw new PayloadDecodeError('a schedule needs a queue');
  if ((s.cron === undefined) === (s.every === undefined)) throw new PayloadDecodeError('a schedule needs exactly one of cron or every');
  let when: string;
  if (s.cron !== undefined) {
    splitCron(s.cron);
    when = `"cron":${JSON.stringify(s.cron)}`;
  } else {
    if (parseDuration(s.every) === null) throw new PayloadDecodeError(`every ${JSON.stringify(s.every)} is not a duration (30s, 1h30m, 1d)`);
    if (s.firstIn !== undefined && parseDuration(s.firstIn) === null) throw new PayloadDecodeError(`first_in ${JSON.stringify(s.firstIn)} is not a duration`);
    when = s.firstIn !== undefined ? `"every":[${JSON.stringify(s.every)},{"first_in":${JSON.stringify(s.firstIn)}}]` : `"every":${JSON.stringify(s.every)}`;
  }
  if (s.firstIn !== undefined && s.cron !== undefined) throw new PayloadDecodeError('first_in goes with every, not cron');
  let args = '';
  if (s.argsText !== undefined) {
    try {
      args = `,"args":${compactJsonText(s.argsText)}`;
    } catch (e) {
      throw new PayloadDecodeError(`args is not JSON (${(e as Error).message.split('\n')[0]}): ${JSON.stringify(s.argsText)}`);
    }
  }
  const desc = s.description !== undefined ? `,"description":${JSON.stringify(s.description)}` : '';
  return `{"class":${JSON.stringify(s.className)},${when},"queue":${JSON.stringify(s.queue)}${args}${desc}}`;
}

/**
 * A decoded config (a schedule.yml entry) re-encoded for `persistent_schedules`, keys in the
 * order given, `queue` required. Throws PayloadDecodeError.
 */
export function encodeConfigObject(name: string, config: unknown): string {
  const e = decodeScheduleEntry(name, config);
  if (e.problem) throw new PayloadDecodeError(`schedule ${JSON.stringify(name)}: ${e.problem}`);
  if (e.queue === null) throw new PayloadDecodeError(`schedule ${JSON.stringify(name)}: no "queue" (pyres-ts always writes one)`);
  return JSON.stringify(config);
}

/**
 * The job a firing pushes, as resque-scheduler's `enqueue_from_config` -> `Resque::Job.create`
 * does: `{"class":C,"args":A}` (s3: `{"class":"MixedJob","args":[{"k":"v"}]}`, `["cron-string-arg"]`, `[]`).
 */
export function scheduledJobPayload(e: Pick<ScheduleEntry, 'className' | 'argsText'>): string {
  if (e.className === null) throw new PayloadDecodeError('a schedule without a class cannot be enqueued');
  return `{"class":${JSON.stringify(e.className)},"args":${e.argsText}}`;
}

/** resque-scheduler's log line for a firing: `queueing MixedJob (every_3s)`. */
export function queueingMessage(e: Pick<ScheduleEntry, 'className' | 'name'>): string {
  return `queueing ${e.className} (${e.name})`;
}
