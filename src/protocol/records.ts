import { isUtf8 } from 'node:buffer';
import { isJson } from './job';
import { compactWorkingOn } from './jsonBytes';
import { parseResqueTime } from './time';

/**
 * The records a worker writes. A received payload is embedded as the bytes received, so
 * `1.0`, big integers and key order survive, and Ruby's byte-exact LREM still matches.
 */

/** What `worker:<id>` and `failed` embed for a payload: the raw JSON, or a JSON string when it is not JSON. */
export function embedPayload(raw: string, rawIsJson: boolean = isJson(raw)): string {
  return rawIsJson ? raw : JSON.stringify(raw);
}

/**
 * `worker:<id>` while working: `{"queue":q,"run_at":"...Z","payload":<raw>}`. Only a JSON
 * object is embedded as JSON; anything else (null, an array, non-JSON) is embedded as a JSON
 * string, because resque-web reads `payload['class']` and returns 500 on an array.
 * The reserve script builds the same bytes in Lua; a test keeps the two in step.
 */
export function encodeWorkingOn(queue: string, runAt: string, raw: string): string {
  const embed = /^[ \t\n\r]*\{/.test(raw) && isJson(raw) ? raw : JSON.stringify(raw);
  return `{"queue":${JSON.stringify(queue)},"run_at":${JSON.stringify(runAt)},"payload":${embed}}`;
}

export interface WorkingOn {
  queue: string;
  runAt: Date | null;
  /** The payload as it appears in the record: raw bytes of the embedded JSON. */
  rawPayload: string;
}

/**
 * Reads a `worker:<id>` (or pyres `minion:<id>`) value. Ruby's and pyres-ts's own form is
 * sliced so the payload keeps its bytes; other key orders fall back to a JSON round trip.
 */
export function decodeWorkingOn(value: string): WorkingOn | null {
  // Ruby's and pyres-ts's own compact form: the payload is everything between the prefix and the last '}'.
  const m = /^\{"queue":("(?:[^"\\]|\\.)*"),"run_at":("[^"]*"),"payload":/.exec(value);
  if (m && value.endsWith('}')) {
    const rawPayload = value.slice(m[0].length, -1);
    const embedded = safeParse(rawPayload);
    if (embedded !== undefined) {
      return {
        queue: JSON.parse(m[1]!) as string,
        runAt: parseResqueTime(JSON.parse(m[2]!)),
        rawPayload: typeof embedded === 'string' ? embedded : rawPayload,
      };
    }
  }
  const v = safeParse(value);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  // The payload's own bytes, wherever it stands among the keys (pyres writes other orders and spacing).
  const rawText = rawMember(value, 'payload');
  return {
    queue: typeof o['queue'] === 'string' ? o['queue'] : '',
    runAt: parseResqueTime(o['run_at']),
    rawPayload: typeof o['payload'] === 'string' ? o['payload'] : (rawText ?? JSON.stringify(o['payload'] ?? null)),
  };
}

/**
 * The exact source text of a top-level member's value in a JSON object text, or null. Assumes
 * `text` is valid JSON (the caller parsed it).
 */
export function rawMember(text: string, key: string): string | null {
  let i = text.indexOf('{');
  if (i < 0) return null;
  i++;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const skipString = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipValue = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      let depth = 0;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') {
          skipString();
          continue;
        }
        if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) {
            i++;
            return;
          }
        }
        i++;
      }
      return;
    }
    while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
  };
  for (;;) {
    ws();
    if (text[i] !== '"') return null;
    const keyStart = i;
    skipString();
    const k = JSON.parse(text.slice(keyStart, i)) as string;
    ws();
    i++; // ':'
    ws();
    const start = i;
    skipValue();
    if (k === key) return text.slice(start, i);
    ws();
    if (text[i] !== ',') return null;
    i++;
  }
}

export interface FailureInput {
  failedAt: string;
  /** The payload as received from the queue. */
  rawPayload: string;
  exception: string;
  error: string;
  backtrace: readonly string[];
  worker: string;
  queue: string;
}

/** `Resque::Failure::Redis#save`'s record, fields in Ruby's order, compact. */
export function encodeFailure(f: FailureInput): string {
  const [before, after] = failureAround(f);
  return before + embedPayload(f.rawPayload) + after;
}

/** The failure record's text before and after the embedded payload (for byte-exact assembly). */
export function failureAround(f: Omit<FailureInput, 'rawPayload'>): [string, string] {
  return [
    `{"failed_at":${JSON.stringify(f.failedAt)},"payload":`,
    `,"exception":${JSON.stringify(f.exception)},"error":${JSON.stringify(f.error)},` +
      `"backtrace":${JSON.stringify(f.backtrace)},"worker":${JSON.stringify(f.worker)},"queue":${JSON.stringify(f.queue)}}`,
  ];
}

/**
 * The exact bytes of the payload embedded in a `worker:<id>` value in Ruby's compact form
 * (`{"queue":..,"run_at":..,"payload":<bytes>}`), and whether they are raw JSON (not a string).
 * Byte-level, so a payload that is not valid UTF-8 survives. Null for other forms.
 */
export function embeddedPayloadBytes(value: Buffer): { bytes: Buffer; isString: boolean } | null {
  const c = compactWorkingOn(value);
  return c ? { bytes: c.payload, isString: c.isString } : null;
}

/**
 * A JS error's stack frames as Resque's backtrace array. Like Ruby's, it is cut before the
 * first frame that contains `cutAt` (the worker's own code), so only the job's frames remain.
 */
export function backtraceOf(err: Error, cutAt?: string, max = 50): string[] {
  const stack = typeof err.stack === 'string' ? err.stack : '';
  const frames = stack
    .split('\n')
    .filter(l => /^\s+at /.test(l))
    .map(l => l.trim().replace(/^at /, ''));
  const cut = cutAt ? frames.findIndex(f => f.includes(cutAt)) : -1;
  return (cut >= 0 ? frames.slice(0, cut) : frames).slice(0, max);
}

/** The exception name for a failure: the error's class name. */
export function exceptionNameOf(err: Error): string {
  const n = err.name && err.name !== 'Error' ? err.name : err.constructor?.name || 'Error';
  return n;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/**
 * The class of the payload a failure record carries for a queue item that is not a job
 * (non-JSON, invalid UTF-8, `null`, a string, a number, `true`, an array, an object without a
 * string `class`, `args` not an array). resque-web evaluates `payload['class']` and
 * `Job.create(queue, payload['class'], *payload['args'])` on every record: only a JSON object
 * with a string class renders and retries. A retried poison item is this job again, which no
 * worker runs: pyres-ts fails it at once (PayloadDecodeError), Ruby and Pyres as an unknown class.
 */
export const POISON_CLASS = 'PyresTs::PoisonItem';

/**
 * The payload embedded for a poison item: `{"class":"PyresTs::PoisonItem","args":[{"raw":
 * <the item as text, null when it is not valid UTF-8>,"raw_base64":<its exact bytes>}]}`.
 */
export function poisonPayload(bytes: Buffer): string {
  const raw = isUtf8(bytes) ? JSON.stringify(bytes.toString('utf8')) : 'null';
  return `{"class":${JSON.stringify(POISON_CLASS)},"args":[{"raw":${raw},"raw_base64":${JSON.stringify(bytes.toString('base64'))}}]}`;
}

/** A failure record for a poison item (see POISON_CLASS); valid UTF-8 JSON whatever the bytes. */
export function encodePoisonFailure(f: Omit<FailureInput, 'rawPayload'> & { rawBytes: Buffer }): string {
  const [before, after] = failureAround(f);
  return before + poisonPayload(f.rawBytes) + after;
}

/** The exact bytes of the item a poison payload (or a record holding one) stands for, or null. */
export function poisonBytes(payload: unknown): Buffer | null {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const p = payload as Record<string, unknown>;
  const a = Array.isArray(p['args']) ? (p['args'][0] as Record<string, unknown> | undefined) : undefined;
  if (p['class'] !== POISON_CLASS || !a || typeof a['raw_base64'] !== 'string') return null;
  return Buffer.from(a['raw_base64'], 'base64');
}
