import { PayloadDecodeError } from '../errors';
import { argsJsonOf, compactJsonText, preview } from './job';

export { argsJsonOf };

/**
 * resque-scheduler 5's delayed-job layout (docs/protocol/PROTOCOL-plugins.md §1, docs/SCHEDULER.md):
 * the item codec, the key names and timestamp flooring. Pure: no I/O.
 *
 * - `<ns>:delayed_queue_schedule`: zset, member = score = the epoch second as a decimal string.
 * - `<ns>:delayed:<ts>`: list of items, `{"class":C,"args":A,"queue":Q}` (that key order, compact).
 * - `<ns>:timestamps:<item bytes>`: set of `delayed:<ts>` members (no namespace).
 * - `<ns>:<ns>:[<prefix>:]resque_scheduler_master_lock`: the scheduler lock, `host:pid`.
 */
export class DelayedKeys {
  readonly prefix: string;

  constructor(readonly namespace: string = 'resque') {
    this.prefix = namespace === '' ? '' : `${namespace}:`;
  }

  /** `<ns>:delayed_queue_schedule`, the zset of timestamps. */
  get schedule(): string {
    return `${this.prefix}delayed_queue_schedule`;
  }
  /** `<ns>:delayed:<ts>`, the list of a timestamp's items. */
  list(ts: number | string): string {
    return `${this.prefix}${delayedMember(ts)}`;
  }
  /** `<ns>:timestamps:<item>`, the set of the timestamps an item (by its exact bytes) is delayed to. */
  timestamps(item: string): string {
    return `${this.prefix}timestamps:${item}`;
  }
  /** `<ns>:queues`. */
  get queues(): string {
    return `${this.prefix}queues`;
  }
  /** `<ns>:queue:<name>`. */
  queue(name: string): string {
    return `${this.prefix}queue:${name}`;
  }
  /**
   * pyres-ts only: the list where the move script parks a poison item (with its timestamp and
   * why) until its failure record is written, so a crash between the two loses nothing.
   */
  get poisonHolding(): string {
    return `${this.prefix}pyres-ts:delayed:poison`;
  }
  /**
   * resque-scheduler's master lock: `"#{namespace}:#{prefix}resque_scheduler_master_lock"` given
   * to the namespaced client, so the namespace appears twice: `resque:resque:resque_scheduler_master_lock`,
   * or `resque:resque:app1:resque_scheduler_master_lock` with RESQUE_SCHEDULER_MASTER_LOCK_PREFIX=app1
   * [captured s2, s5]. Never node-resque's `resque_scheduler_leader_lock`.
   */
  masterLock(lockPrefix = ''): string {
    return `${this.prefix}${this.namespace}:${lockPrefix === '' ? '' : `${lockPrefix}:`}resque_scheduler_master_lock`;
  }
}

/** The `timestamps:` set member (and list name without the namespace) of a timestamp: `delayed:<ts>`. */
export function delayedMember(ts: number | string): string {
  return `delayed:${ts}`;
}

/**
 * Ruby's `scheduled_at`: a `timestamps:` member with the characters `d,e,l,a,y,:` stripped (`tr`),
 * as an integer; null when what is left is not one.
 */
export function timestampOfMember(member: string): number | null {
  const s = member.replace(/[delay:]/g, '');
  return /^-?\d+$/.test(s) ? Number(s) : null;
}

/** Numbers at or above this are taken for milliseconds and refused (a Date or epoch seconds is wanted). */
const MAX_EPOCH_SECONDS = 1e11;

/**
 * The delayed timestamp of a time, as `Time#to_i`: truncated to the second, never rounded
 * (`T + 0.9` is T) [captured s1]. `time` is a Date or epoch **seconds** (Ruby's Integer form);
 * a number that looks like milliseconds (>= 1e11) is refused, as is anything not finite.
 */
export function flooredTimestamp(time: Date | number): number {
  const secs = time instanceof Date ? time.getTime() / 1000 : time;
  if (typeof secs !== 'number' || !Number.isFinite(secs)) {
    throw new TypeError(`a delayed time must be a valid Date or epoch seconds, got ${time instanceof Date ? 'an invalid Date' : JSON.stringify(time)}`);
  }
  if (!(time instanceof Date) && Math.abs(secs) >= MAX_EPOCH_SECONDS) {
    throw new TypeError(`a delayed time of ${secs} looks like milliseconds: pass a Date or epoch seconds`);
  }
  return Math.floor(secs);
}

/**
 * resque-scheduler's item: `{"class":C,"args":A,"queue":Q}`, compact, that order [captured s1].
 * `argsJson` is the args' JSON text (an array), used as given.
 */
export function encodeDelayedItemText(className: string, argsJson: string, queue: string): string {
  if (typeof className !== 'string' || className === '') throw new PayloadDecodeError('a job class name must be a non-empty string');
  if (typeof queue !== 'string' || queue === '') throw new PayloadDecodeError('a delayed job needs a queue');
  return `{"class":${JSON.stringify(className)},"args":${argsJson},"queue":${JSON.stringify(queue)}}`;
}

/** encodeDelayedItemText with the args as values (JSON.stringify'd; a BigInt, a function, NaN are refused). */
export function encodeDelayedItem(className: string, args: readonly unknown[], queue: string): string {
  return encodeDelayedItemText(className, argsJsonOf(args), queue);
}

/** Args given as JSON text (an array): compacted only, so `1.0` and big integers stay as written. */
export function argsTextOf(argsText: string): string {
  let v: unknown;
  try {
    v = JSON.parse(argsText);
  } catch (e) {
    throw new PayloadDecodeError(`job args text is not JSON (${(e as Error).message}): ${preview(argsText)}`);
  }
  if (!Array.isArray(v)) throw new PayloadDecodeError(`job args text must be a JSON array, got ${preview(argsText)}`);
  return compactJsonText(argsText);
}

/** A delayed item as read back (any writer's format: Ruby, pyres, node-resque). */
export interface DelayedItem {
  /** The item's bytes as stored. */
  readonly raw: string;
  /** Null when the item is poison (see `problem`). */
  readonly className: string | null;
  readonly args: unknown[] | null;
  /** The item's own `queue`, or null (pyres-ts then uses --class-queue; Ruby the class's @queue). */
  readonly queue: string | null;
  /** Why the scheduler would record it as a failure instead of moving it, or null. */
  readonly problem: string | null;
}

/**
 * Reads a delayed item tolerantly (any key order, spacing, extra fields such as pyres'
 * `first_attempt`). The same checks as the move script (store/schedulerScripts.ts): not JSON,
 * not an object and no string `class` are problems; a missing queue is not here (a class-queue
 * map may supply it); `args` that is not an array is moved as it is (`args` is then null).
 */
export function decodeDelayedItem(raw: string): DelayedItem {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { raw, className: null, args: null, queue: null, problem: 'not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { raw, className: null, args: null, queue: null, problem: v === null ? 'JSON null' : 'not a JSON object' };
  }
  const o = v as Record<string, unknown>;
  const q = typeof o['queue'] === 'string' && o['queue'] !== '' ? o['queue'] : null;
  if (typeof o['class'] !== 'string' || o['class'] === '') return { raw, className: null, args: null, queue: q, problem: 'no class' };
  const a = o['args'] ?? [];
  return { raw, className: o['class'], args: Array.isArray(a) ? a : null, queue: q, problem: null };
}

/**
 * What the move script parks in the poison holding list: `<ts>\n<why>\n<queue>\n<raw>`; the raw
 * item is everything after the third newline (it may hold newlines itself).
 */
export interface ParkedPoison {
  ts: string;
  why: string;
  /** The item's queue if it had one, else ''. */
  queue: string;
  raw: Buffer;
}

/** Splits a poison holding entry (see ParkedPoison). Null when it is not one. */
export function parseParkedPoison(entry: Buffer): ParkedPoison | null {
  const nl: number[] = [];
  for (let i = 0; i < entry.length && nl.length < 3; i++) if (entry[i] === 0x0a) nl.push(i);
  if (nl.length < 3) return null;
  const [a, b, c] = nl as [number, number, number];
  return {
    ts: entry.subarray(0, a).toString('utf8'),
    why: entry.subarray(a + 1, b).toString('utf8'),
    queue: entry.subarray(b + 1, c).toString('utf8'),
    raw: entry.subarray(c + 1),
  };
}

/** The exception name of a poison delayed item's failure record. */
export const POISON_DELAYED_EXCEPTION = 'PyresTs::PoisonDelayedItem';

/** The error message of a poison delayed item's failure record. */
export function poisonDelayedMessage(p: Pick<ParkedPoison, 'ts' | 'why'>): string {
  return `delayed item at ${p.ts} is not a job (${p.why}); removed from delayed:${p.ts} by the scheduler`;
}

/**
 * The lock value of a scheduler: `<host>:<pid>` (Ruby: the reverse-resolved hostname, e.g.
 * `localhost:18854` [captured s2]).
 */
export function lockValue(host: string, pid: number): string {
  return `${host}:${pid}`;
}
