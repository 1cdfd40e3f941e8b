/**
 * Pyres' `retry_every` / `retry_timeout` (pyres job.py:70-83, PROTOCOL-pyres.md §4 and §8,
 * capture fixtures/pyres/e2-retry-every), pure: the re-scheduled item's bytes as Pyres writes
 * them (`json.dumps` defaults: `", "` / `": "` separators, `ensure_ascii`), its `@D:` dates
 * (naive local time, whole seconds) and the decision.
 */
import { pyresDate } from './args';

/** A JSON string as Python's `json.dumps` writes it (ensure_ascii: everything outside space..~ escaped). */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Re-spaces a JSON text as Python's `json.dumps` writes it (`[1, "a"]`, `{"k": 1}`, strings
 * ensure_ascii), keeping every number's text as written (`1.0`, big integers). Throws on text
 * that is not JSON.
 */
export function pythonJsonText(json: string): string {
  JSON.parse(json); // validates
  let out = '';
  let i = 0;
  while (i < json.length) {
    const ch = json[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      out += pythonJsonString(JSON.parse(json.slice(i, j + 1)) as string);
      i = j + 1;
    } else if (ch === ',') {
      out += ', ';
      i++;
    } else if (ch === ':') {
      out += ': ';
      i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** A Date as Pyres' `@D:%Y-%m-%dT%H:%M:%S` (local time, whole seconds). */
export function formatPyresDate(d: Date): string {
  return `@D:${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The delayed item Pyres' `enqueue_at(retry_at, cls, *args, first_attempt=...)` pushes:
 * `{"class": …, "queue": …, "args": […], "first_attempt": "@D:…"}` (e2). `argsJson` is the
 * args' JSON text (its numbers kept as written).
 */
export function encodePyresRetryItem(className: string, queue: string, argsJson: string, firstAttempt: string): string {
  return `{"class": ${pythonJsonString(className)}, "queue": ${pythonJsonString(queue)}, "args": ${pythonJsonText(argsJson)}, "first_attempt": ${pythonJsonString(firstAttempt)}}`;
}

/** A payload's `first_attempt` (a `@D:` string, or a Date when decoded with pyresDates) as text and time; null when absent or unreadable. */
export function firstAttemptOf(v: unknown): { text: string; at: Date } | null {
  if (v instanceof Date && Number.isFinite(v.getTime())) return { text: formatPyresDate(v), at: v };
  if (typeof v !== 'string') return null;
  const at = pyresDate(v);
  return at ? { text: v, at } : null;
}

/** What Pyres' Job#retry decides for a failed run at `now`. */
export type PyresRetryDecision = { retry: true; at: number; firstAttempt: string } | { retry: false };

/**
 * Job#retry: `first_attempt = payload.get('first_attempt', now)`, `retry_until = first_attempt
 * + timeout`, `retry_at = now + every`; re-schedule at `int(mktime(retry_at))` (epoch seconds,
 * floored) when `retry_at < retry_until`, else give up.
 */
export function pyresRetryDecision(now: Date, firstAttempt: unknown, every: number, timeout: number): PyresRetryDecision {
  const first = firstAttemptOf(firstAttempt) ?? { text: formatPyresDate(now), at: now };
  const retryAt = now.getTime() + every * 1000;
  const retryUntil = first.at.getTime() + timeout * 1000;
  if (!(retryAt < retryUntil)) return { retry: false };
  return { retry: true, at: Math.floor(retryAt / 1000), firstAttempt: first.text };
}
