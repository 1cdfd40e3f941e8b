/**
 * JSON read from its bytes without copying it into a string: the few facts a dead worker's
 * record needs (its queue, its job's class, where the payload's bytes are) from a record that
 * may hold megabytes. The liveness thread records a self-killed job with a heap of a few MB; a
 * `toString` or a `JSON.parse` of a large payload there would run it out of memory and leave
 * the job running past its timeout. Only small parts (a key, a queue name, a class name) become
 * strings. A value that is not well-formed where it is read gives null, never a throw.
 * (records.ts' `rawMember` is the same scan over a string, for the hot path's args, which
 * already hold the payload as text.)
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWs(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function skipWs(buf: Buffer, i: number, end: number): number {
  while (i < end && isWs(buf[i])) i++;
  return i;
}

/** The index just past the JSON string that starts at `i` (a quote), or -1. */
export function stringEnd(buf: Buffer, i: number, end: number = buf.length): number {
  if (buf[i] !== QUOTE) return -1;
  i++;
  while (i < end) {
    const b = buf[i]!;
    if (b === QUOTE) return i + 1;
    if (b < 0x20) return -1;
    i += b === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/** The index just past the JSON value that starts at `i`, or -1 (only its structure is checked). */
export function valueEnd(buf: Buffer, i: number, end: number = buf.length): number {
  const b = buf[i];
  if (b === QUOTE) return stringEnd(buf, i, end);
  if (b === 0x7b || b === 0x5b) {
    // An object or an array: brackets counted outside strings.
    let depth = 0;
    while (i < end) {
      const c = buf[i]!;
      if (c === QUOTE) {
        i = stringEnd(buf, i, end);
        if (i < 0) return -1;
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  const start = i;
  while (i < end) {
    const c = buf[i]!;
    if (c === 0x2c || c === 0x7d || c === 0x5d || isWs(c)) break;
    if (c === QUOTE || c === 0x7b || c === 0x5b) return -1;
    i++;
  }
  return i > start ? i : -1;
}

/** A small JSON string's value (its bytes from `start` to `end`, quotes included), or null. */
function decodeString(buf: Buffer, start: number, end: number): string | null {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', start, end));
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * The top-level members of the JSON object in `buf[start, end)`: each key with where its value
 * lies. Null when the text there is not an object (or its structure breaks off).
 */
export function topLevelMembers(buf: Buffer, start = 0, end: number = buf.length): Map<string, { start: number; end: number }> | null {
  let i = skipWs(buf, start, end);
  if (buf[i] !== 0x7b) return null;
  const out = new Map<string, { start: number; end: number }>();
  i = skipWs(buf, i + 1, end);
  if (buf[i] === 0x7d) return skipWs(buf, i + 1, end) === end ? out : null;
  while (i < end) {
    const keyEnd = stringEnd(buf, i, end);
    if (keyEnd < 0) return null;
    const key = decodeString(buf, i, keyEnd);
    if (key === null) return null;
    i = skipWs(buf, keyEnd, end);
    if (buf[i] !== 0x3a) return null;
    i = skipWs(buf, i + 1, end);
    const vEnd = valueEnd(buf, i, end);
    if (vEnd < 0) return null;
    // JSON.parse keeps the last of repeated keys; so does this.
    out.set(key, { start: i, end: vEnd });
    i = skipWs(buf, vEnd, end);
    if (buf[i] === 0x2c) {
      i = skipWs(buf, i + 1, end);
      continue;
    }
    if (buf[i] === 0x7d) return skipWs(buf, i + 1, end) === end ? out : null;
    return null;
  }
  return null;
}

/**
 * The class of the job whose payload is the JSON object in `buf[start, end)`, as decodeJob
 * would find it (a non-empty string `class`, `args` absent or an array), or null.
 */
export function jobClassOfBytes(buf: Buffer, start = 0, end: number = buf.length): string | null {
  const m = topLevelMembers(buf, start, end);
  const c = m?.get('class');
  if (!m || !c || buf[c.start] !== QUOTE) return null;
  const args = m.get('args');
  // (`null` is compared as 4 bytes: a large non-array `args` is never copied to be compared.)
  if (args && buf[args.start] !== 0x5b && !(args.end - args.start === 4 && buf.toString('latin1', args.start, args.end) === 'null')) return null;
  const cls = decodeString(buf, c.start, c.end);
  return cls ? cls : null;
}

/**
 * A `worker:<id>` value in Ruby's compact form (`{"queue":..,"run_at":..,"payload":<bytes>}`),
 * read from its bytes: the queue, run_at's text, and the payload's exact bytes (a view, not a
 * copy), with whether they are a JSON string (a payload that was not an object). Null for other
 * forms.
 */
export function compactWorkingOn(value: Buffer): { queue: string; runAt: string; payload: Buffer; isString: boolean } | null {
  const QUEUE = '{"queue":';
  const RUN_AT = ',"run_at":';
  const PAYLOAD = ',"payload":';
  if (value.length < QUEUE.length + 2 || value[value.length - 1] !== 0x7d) return null;
  if (value.toString('latin1', 0, QUEUE.length) !== QUEUE) return null;
  let i = QUEUE.length;
  const qEnd = stringEnd(value, i);
  if (qEnd < 0) return null;
  const queue = decodeString(value, i, qEnd);
  i = qEnd;
  if (queue === null || value.toString('latin1', i, i + RUN_AT.length) !== RUN_AT) return null;
  i += RUN_AT.length;
  // run_at is written without escapes (a timestamp): up to the next quote.
  if (value[i] !== QUOTE) return null;
  const rEnd = value.indexOf(QUOTE, i + 1);
  if (rEnd < 0) return null;
  const runAt = value.toString('latin1', i + 1, rEnd);
  i = rEnd + 1;
  if (value.toString('latin1', i, i + PAYLOAD.length) !== PAYLOAD) return null;
  i += PAYLOAD.length;
  const payload = value.subarray(i, value.length - 1);
  return { queue, runAt, payload, isString: payload[0] === QUOTE };
}
