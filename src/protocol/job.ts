import { PayloadDecodeError } from '../errors';

/** A decoded Resque job: the class name, its args, and the payload bytes exactly as received. */
export interface DecodedJob {
  readonly className: string;
  readonly args: unknown[];
  /** The whole decoded payload, extra fields (`queue`, `enqueue_timestamp`, ...) included. */
  readonly payload: Record<string, unknown>;
  readonly raw: string;
}

/** Args as JSON text (an array), refusing what JSON cannot carry: what encodeJob and the delayed items embed. */
export function argsJsonOf(args: readonly unknown[]): string {
  if (!Array.isArray(args)) throw new PayloadDecodeError('job args must be an array');
  try {
    return JSON.stringify(args, (_k, v: unknown) => {
      if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`a ${typeof v} is not JSON`);
      if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`${v} is not JSON`);
      if (typeof v === 'bigint') throw new TypeError('a BigInt is not JSON (pass it as a string)');
      return v;
    });
  } catch (e) {
    throw new PayloadDecodeError(`job args are not JSON-encodable: ${(e as Error).message}`);
  }
}

/**
 * Encodes a job as `Resque.enqueue` does: `{"class":"X","args":[...]}`, compact, that key order.
 * Throws PayloadDecodeError when args cannot be JSON (a function, a BigInt, a cycle).
 */
export function encodeJob(className: string, args: readonly unknown[]): string {
  if (typeof className !== 'string' || className === '') throw new PayloadDecodeError('a job class name must be a non-empty string');
  return `{"class":${JSON.stringify(className)},"args":${argsJsonOf(args)}}`;
}

/**
 * JSON text with the insignificant whitespace dropped and nothing else changed: numbers, string
 * escapes and key order stay as written (`1.0`, `9007199254740993`, `{"a":1,"2":"x"}`).
 * Throws SyntaxError (JSON.parse's) when `text` is not JSON.
 */
export function compactJsonText(text: string): string {
  JSON.parse(text);
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: copied as is
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

/**
 * Like encodeJob, with the args given as JSON text (an array): pushed as written, compacted
 * only, so numbers and key order are what the caller wrote. Throws PayloadDecodeError when the
 * text is not a JSON array.
 */
export function encodeJobArgsText(className: string, argsText: string): string {
  if (typeof className !== 'string' || className === '') throw new PayloadDecodeError('a job class name must be a non-empty string');
  let v: unknown;
  try {
    v = JSON.parse(argsText);
  } catch (e) {
    throw new PayloadDecodeError(`job args text is not JSON (${(e as Error).message}): ${preview(String(argsText))}`);
  }
  if (!Array.isArray(v)) throw new PayloadDecodeError(`job args text must be a JSON array, got ${preview(argsText)}`);
  return `{"class":${JSON.stringify(className)},"args":${compactJsonText(argsText)}}`;
}

/** True when `raw` parses as JSON (any value). */
export function isJson(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes a queue item. Tolerant like every Resque reader: extra fields are kept, a missing
 * `args` is `[]` (Ruby calls `perform(*nil)`). Throws PayloadDecodeError, naming what is wrong,
 * for non-JSON, `null`, arrays and other non-objects, a missing or non-string `class`, and
 * `args` that is not an array.
 */
export function decodeJob(raw: string): DecodedJob {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new PayloadDecodeError(`payload is not JSON (${(e as Error).message}): ${preview(raw)}`);
  }
  if (v === null) throw new PayloadDecodeError('payload is JSON null, not a job object');
  if (Array.isArray(v)) throw new PayloadDecodeError(`payload is a JSON array, not a job object: ${preview(raw)}`);
  if (typeof v !== 'object') throw new PayloadDecodeError(`payload is a JSON ${typeof v}, not a job object: ${preview(raw)}`);
  const payload = v as Record<string, unknown>;
  const cls = payload['class'];
  if (cls === undefined) throw new PayloadDecodeError(`payload has no "class": ${preview(raw)}`);
  if (typeof cls !== 'string' || cls === '') throw new PayloadDecodeError(`payload "class" is not a non-empty string: ${preview(raw)}`);
  const args = payload['args'] ?? [];
  if (!Array.isArray(args)) throw new PayloadDecodeError(`payload "args" is not an array: ${preview(raw)}`);
  return { className: cls, args, payload, raw };
}

/**
 * The class name of a payload for display (status, dashboard): the `class` of a JSON object,
 * whatever its `args` are (node-resque's Lua records an empty args array as `{}`), or null.
 */
export function displayClassName(raw: string): string | null {
  try {
    const v: unknown = JSON.parse(raw);
    const c = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)['class'] : undefined;
    return typeof c === 'string' && c !== '' ? c : null;
  } catch {
    return null;
  }
}

export function preview(raw: string, max = 200): string {
  const s = raw.length > max ? `${raw.slice(0, max)}... (${raw.length} chars)` : raw;
  return JSON.stringify(s);
}
