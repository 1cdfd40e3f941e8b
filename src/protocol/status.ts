import { randomBytes } from 'node:crypto';
import { encodeJob } from './job';
import type { ResqueKeys } from './keys';
import { rubyInspect } from './rubyText';
import { formatStarted } from './time';

/**
 * resque-status 0.5 (PROTOCOL-plugins.md §2), pure: keys, the status JSON, its wording, the status
 * job payload `{"class":K,"args":["<uuid>",{options}]}`, and pyres-ts's completion notification.
 */

/** The five states, as resque-status writes them. */
export const STATUS_STATES = ['queued', 'working', 'completed', 'failed', 'killed'] as const;
/** One of STATUS_STATES. */
export type StatusState = (typeof STATUS_STATES)[number];
/** The states a job does not leave. */
export const FINAL_STATES: readonly StatusState[] = ['completed', 'failed', 'killed'];

/** True for completed, failed, killed. */
export function isFinalState(s: unknown): s is 'completed' | 'failed' | 'killed' {
  return s === 'completed' || s === 'failed' || s === 'killed';
}

/** True for one of the five words. */
export function isStatusState(s: unknown): s is StatusState {
  return typeof s === 'string' && (STATUS_STATES as readonly string[]).includes(s);
}

/** resque-status's queue for status jobs without one of their own. */
export const DEFAULT_STATUS_QUEUE = 'statused';

/**
 * Seconds a completion notification list lives when the status has no `expire_in`: long enough for
 * a waiter that starts late to find it, short enough not to pile up.
 */
export const DONE_TTL_SECONDS = 86_400;

/** The keys, with the namespace. */
export interface StatusKeys {
  /** `status:<uuid>`: the status JSON (a string). */
  status(uuid: string): string;
  /** `_statuses`: zset, score = create epoch seconds. */
  readonly statuses: string;
  /** `_kill`: set of uuids to kill. */
  readonly kill: string;
  /** `pyres-ts:done:<uuid>`: pyres-ts's own list, one notification pushed when the job ends. */
  done(uuid: string): string;
}

/** The status keys under a namespace. */
export function statusKeys(keys: ResqueKeys): StatusKeys {
  return {
    status: uuid => keys.key(`status:${uuid}`),
    statuses: keys.key('_statuses'),
    kill: keys.key('_kill'),
    done: uuid => keys.key(`pyres-ts:done:${uuid}`),
  };
}

/** `SecureRandom.hex`: 32 lowercase hex characters. */
export function newStatusUuid(): string {
  return randomBytes(16).toString('hex');
}

/** True for a uuid as resque-status makes them (32 lowercase hex), the only ones pyres-ts accepts from users. */
export function isStatusUuid(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{32}$/.test(s);
}

/** `time`: integer epoch seconds (Ruby's `Time.now.to_i`). */
export function statusTime(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** JSON text of a value as MultiJson writes it for these fields (compact). Throws TypeError for what is not JSON. */
export function statusJson(v: unknown): string {
  const s = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') throw new TypeError('a BigInt is not JSON (pass it as a string)');
    if (typeof x === 'number' && !Number.isFinite(x)) throw new TypeError(`${x} is not JSON`);
    return x;
  });
  if (s === undefined) throw new TypeError(`${typeof v} is not JSON`);
  return s;
}

/**
 * The queued status `create` writes: `{"time":T,"status":"queued","uuid":U,"options":{…}}` (t1), then
 * pyres-ts's own extra fields when asked for (`keep_result`), which Ruby readers ignore.
 */
export function encodeQueuedStatus(
  time: number,
  uuid: string,
  options: Readonly<Record<string, unknown>>,
  extra: Readonly<Record<string, unknown>> = {},
): string {
  let out = `{"time":${time},"status":"queued","uuid":${JSON.stringify(uuid)},"options":${statusJson(options)}`;
  for (const [k, v] of Object.entries(extra)) out += `,${JSON.stringify(k)}:${statusJson(v)}`;
  return `${out}}`;
}

/** `name`: `Class(<inspect of options>)`, `Class()` when empty (Ruby ≤ 3.3 `Hash#inspect`). */
export function statusName(className: string, options: unknown): string {
  const empty = options === null || options === undefined || (typeof options === 'object' && Object.keys(options as object).length === 0);
  return `${className}(${empty ? '' : rubyInspect(options)})`;
}

/** `"Completed at <Time#to_s>"`. */
export function completedMessage(d: Date): string {
  return `Completed at ${formatStarted(d)}`;
}

/** `"Killed at <Time#to_s>"`. */
export function killedMessage(d: Date): string {
  return `Killed at ${formatStarted(d)}`;
}

/** `"The task failed because of an error: <message>"`. */
export function failedMessage(errorMessage: string): string {
  return `The task failed because of an error: ${errorMessage}`;
}

/** The status job payload: `{"class":K,"args":["<uuid>",{options}]}`. */
export function statusJobPayload(className: string, uuid: string, options: Readonly<Record<string, unknown>>): string {
  return encodeJob(className, [uuid, options]);
}

/** A status as read: the fields of a JSON object, or why it is not one. */
export interface DecodedStatus {
  readonly uuid: string;
  /** The stored text, as stored. */
  readonly raw: string;
  /** The decoded fields (empty when it does not decode). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** `status` when one of the five words, else null. */
  readonly state: StatusState | null;
  /** `time` when an integer number of seconds, else null. */
  readonly time: number | null;
  readonly name: string | null;
  readonly message: string | null;
  readonly num: number | null;
  readonly total: number | null;
  /** `pct_complete` as resque-status computes it: 100 completed, 0 queued, floor(num/total*100), else 0. */
  readonly pct: number;
  /** Why the value is not a status object, or null. */
  readonly problem: string | null;
}

/** resque-status's `pct_complete`. */
export function pctComplete(state: StatusState | null, num: number | null, total: number | null): number {
  if (state === 'completed') return 100;
  if (state === 'queued') return 0;
  if (num === null || total === null || total <= 0) return 0;
  return Math.floor((num / total) * 100);
}

/** Reads a stored status, never throwing: a value that is not a JSON object gets a `problem`. */
export function decodeStatus(uuid: string, raw: string): DecodedStatus {
  let fields: Record<string, unknown> = {};
  let problem: string | null = null;
  try {
    const v: unknown = JSON.parse(raw);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) fields = v as Record<string, unknown>;
    else problem = 'not a JSON object';
  } catch {
    problem = 'not JSON';
  }
  const own = (k: string): unknown => (Object.hasOwn(fields, k) ? fields[k] : undefined);
  const num = (k: string): number | null => {
    const x = own(k);
    return typeof x === 'number' && Number.isFinite(x) ? x : null;
  };
  const str = (k: string): string | null => {
    const x = own(k);
    return typeof x === 'string' ? x : null;
  };
  const st = own('status');
  const state = isStatusState(st) ? st : null;
  const t = num('time');
  if (problem === null && own('time') !== undefined && (t === null || !Number.isInteger(t)))
    problem = '"time" is not integer epoch seconds (resque-web fails on it)';
  const n = num('num');
  const total = num('total');
  return {
    uuid,
    raw,
    fields,
    state,
    time: t !== null && Number.isInteger(t) ? t : null,
    name: str('name'),
    message: str('message'),
    num: n,
    total,
    pct: pctComplete(state, n, total),
    problem,
  };
}

/** The small value pushed to `pyres-ts:done:<uuid>` when a status job ends. */
export interface DoneNotice {
  status: 'completed' | 'failed' | 'killed';
  /** For failed: the error's class and message. */
  exception?: string;
  error?: string;
}

/** `{"status":…[,"exception":…,"error":…]}`. */
export function encodeDoneNotice(n: DoneNotice): string {
  let out = `{"status":${JSON.stringify(n.status)}`;
  if (n.exception !== undefined) out += `,"exception":${JSON.stringify(n.exception)}`;
  if (n.error !== undefined) out += `,"error":${JSON.stringify(n.error)}`;
  return `${out}}`;
}

/** Reads a notification; null when it is not one. */
export function decodeDoneNotice(raw: string): DoneNotice | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (v === null || typeof v !== 'object' || !isFinalState(v['status'])) return null;
    const n: DoneNotice = { status: v['status'] };
    if (typeof v['exception'] === 'string') n.exception = v['exception'];
    if (typeof v['error'] === 'string') n.error = v['error'];
    return n;
  } catch {
    return null;
  }
}

/**
 * The fields of a status update as `[key, JSON text]` pairs, in the order Ruby's merge appends
 * them. Values are encoded here, once: the merge script splices these bytes in unchanged.
 */
export function updateFields(fields: Readonly<Record<string, unknown>>): Array<[string, string]> {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, statusJson(v)]);
}
