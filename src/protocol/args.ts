import { parse as losslessParse } from 'lossless-json';
import { PayloadDecodeError } from '../errors';
import { rawMember } from './records';

/**
 * How a job's arguments are decoded from the payload text (pure codecs).
 *
 * - 'json' (the default): `JSON.parse`, as every JS Resque reader does. Integers beyond
 *   2^53-1 and floats with more digits than a double holds arrive rounded; `1.0` arrives as `1`.
 * - lossless: integers outside Number's safe range arrive as `BigInt`, exactly; every other
 *   number is a JS number (`1.0` and `1` are the same JS value, so `1.0` arrives as `1`; a float
 *   that a double cannot hold exactly arrives as the nearest double, as in 'json' mode). The
 *   exact text is always in the job's context (`raw`, `rawArgs`), and every re-push uses it.
 * - pyresDates: strings `"@D:%Y-%m-%dT%H:%M:%S"` (pyres' datetime encoding), anywhere in the
 *   args or payload, become `Date`s in the worker's local zone, as pyres decodes them (naive
 *   local datetimes). A string that starts with `@D:` but is not such a date is left as is.
 */
export interface ArgsDecoding {
  lossless: boolean;
  pyresDates: boolean;
}

const INTEGER = /^-?\d+$/;

function parseNumber(text: string): number | bigint {
  const n = Number(text);
  return INTEGER.test(text) && !Number.isSafeInteger(n) ? BigInt(text) : n;
}

/** The payload object parsed losslessly (duplicate keys: the last wins, as with JSON.parse). */
export function parseLossless(raw: string): unknown {
  try {
    return losslessParse(raw, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
  } catch (e) {
    throw new PayloadDecodeError(`payload cannot be decoded losslessly: ${(e as Error).message}`);
  }
}

const PYRES_DATE = /^@D:(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** A pyres `@D:` date string as a Date (local time), or null when `s` is not one. */
export function pyresDate(s: string): Date | null {
  const m = PYRES_DATE.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return null;
  const date = new Date(y, mo - 1, d, h, mi, se);
  // 2026-02-30 would roll over to March: not a date pyres could have written.
  return date.getDate() === d && date.getMonth() === mo - 1 ? date : null;
}

/** Replaces every pyres `@D:` date string in a decoded JSON value (recursively; fresh values, in place). */
export function revivePyresDates(v: unknown): unknown {
  if (typeof v === 'string') return v.startsWith('@D:') ? (pyresDate(v) ?? v) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revivePyresDates(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const r = revivePyresDates(o[k]);
      if (r !== o[k]) Object.defineProperty(o, k, { value: r, writable: true, enumerable: true, configurable: true });
    }
  }
  return v;
}

/**
 * The payload and args a job receives, from the payload text and its plain JSON.parse decoding
 * (`payload`, already validated by decodeJob). Throws PayloadDecodeError in lossless mode when
 * the text cannot be decoded that way.
 */
export function decodeArgs(raw: string, payload: Record<string, unknown>, how: ArgsDecoding): { payload: Record<string, unknown>; args: unknown[] } {
  let p = payload;
  if (how.lossless) p = parseLossless(raw) as Record<string, unknown>;
  // `payload` is this job's own fresh decoding: revived in place.
  if (how.pyresDates) p = revivePyresDates(p) as Record<string, unknown>;
  const args = p['args'] ?? [];
  return { payload: p, args: args as unknown[] };
}

/** The exact text of the payload's `args` (`[]` when absent), for a job's context. */
export function rawArgsOf(raw: string): string {
  try {
    JSON.parse(raw);
  } catch {
    return '[]';
  }
  return rawMember(raw, 'args') ?? '[]';
}

/**
 * The number tokens of a JSON text whose value JSON.parse (or lossless mode, with `lossless`)
 * does not keep: `9007199254740993`, `0.1000000000000000055511`, `1e400`. `1.0` is kept (the
 * same value). Cheap for ordinary payloads: only a text with a long digit run or a 3-digit
 * exponent is scanned.
 */
export function changedNumbers(text: string, lossless = false, max = 3): string[] {
  if (!mayChangeNumbers(text)) return [];
  const out: string[] = [];
  const re = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  for (let m = re.exec(text); m && out.length < max; m = re.exec(text)) {
    const t = m[0];
    if (t[0] === '"') continue;
    if (lossless && INTEGER.test(t)) continue;
    if (!sameNumber(t)) out.push(t);
  }
  return out;
}

/**
 * Whether a JSON.parse result holds a number anywhere (arrays and objects walked, stopping at
 * the first). The worker's cheap first test before mayChangeNumbers scans the payload text:
 * args without a number (strings, nested strings) need no scan of their text, however long.
 */
export function hasNumberIn(value: unknown): boolean {
  if (typeof value === 'number') return true;
  if (value === null || typeof value !== 'object') return false;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const x of items) {
      if (typeof x === 'number') return true;
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return false;
}

/** A number token that JSON.parse may not keep: a long digit run, or a 3-digit exponent. */
const MAY_CHANGE = /\d[\d.]{15}|[eE][+-]?\d{3}/;

/**
 * False when no number in the JSON `text` can change under JSON.parse (no long digit run, no
 * 3-digit exponent outside its strings): a cheap pre-check. String literals are skipped with
 * indexOf, not scanned, so a 10 KB text argument costs a few searches, not a regex pass over
 * every byte (digits inside strings are never numbers).
 */
export function mayChangeNumbers(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const open = text.indexOf('"', i);
    const end = open < 0 ? n : open;
    if (end - i >= 4 && MAY_CHANGE.test(end === n && i === 0 ? text : text.slice(i, end))) return true;
    if (open < 0) return false;
    i = afterString(text, open);
  }
  return false;
}

/** The index just after the string literal opened at `open` (text.length when it is not closed). */
function afterString(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const close = text.indexOf('"', from);
    if (close < 0) return text.length;
    let back = 0;
    while (text.charCodeAt(close - 1 - back) === 92) back++;
    if (back % 2 === 0) return close + 1;
    from = close + 1;
  }
}

/** Whether Number(text) is exactly the value the decimal text writes. */
function sameNumber(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n)) return false;
  // String(n) is the shortest text that reads back as n: the value any re-encode writes.
  return canonical(text) === canonical(String(n));
}

/** Sign, significant digits and exponent of a decimal text: `-12.50e1` → `-125e0`. */
function canonical(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const intPart = m[2]!;
  const frac = m[3] ?? '';
  let digits = intPart + frac;
  let exp = Number(m[4] ?? 0) - frac.length;
  const lead = digits.match(/^0*/)![0].length;
  digits = digits.slice(lead);
  if (digits === '') return '0';
  const trail = digits.match(/0*$/)![0].length;
  digits = digits.slice(0, digits.length - trail);
  exp += trail;
  return `${m[1]}${digits}e${exp}`;
}
