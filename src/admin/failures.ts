import { createHash } from 'node:crypto';
import { parseResqueTime } from '../protocol/time';

/**
 * Pure codecs for `Resque::Failure` operations on the bytes of a `failed` list element.
 *
 * - `markRetried` is what `Failure.requeue(i)` does to the record: `"retried_at":"<time>"` is
 *   added as the LAST key, or its value replaced in place when the key is already there (a Ruby
 *   Hash keeps a key's position on update). Every other byte of the record is kept. For a
 *   record Ruby wrote, that is exactly the bytes Ruby's re-encode gives.
 * - `requeueJob` is the job Ruby's requeue pushes: `{"class":C,"args":A}` built from the
 *   record's payload class and args. Ruby decodes and re-encodes them; we re-emit the original
 *   tokens compactly (whitespace dropped, strings re-escaped, numbers kept as written), so `1.0`
 *   and big integers survive (a JS parse/stringify would lose them) and extra payload keys are
 *   dropped as Ruby drops them. For Ruby-written payloads the bytes equal Ruby's.
 */

export function digest(raw: string): string {
  return createHash('sha1').update(raw, 'utf8').digest('hex');
}

interface Member {
  key: string;
  keyStart: number;
  valueStart: number;
  valueEnd: number;
}

const WS = ' \t\n\r';

class Scanner {
  i = 0;
  constructor(readonly t: string) {}
  ws(): void {
    while (this.i < this.t.length && WS.includes(this.t[this.i] as string)) this.i++;
  }
  string(): void {
    this.i++;
    while (this.i < this.t.length && this.t[this.i] !== '"') this.i += this.t[this.i] === '\\' ? 2 : 1;
    this.i++;
  }
  value(): void {
    this.ws();
    const c = this.t[this.i];
    if (c === '"') return this.string();
    if (c === '{' || c === '[') {
      let depth = 0;
      while (this.i < this.t.length) {
        const d = this.t[this.i] as string;
        if (d === '"') {
          this.string();
          continue;
        }
        if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) {
            this.i++;
            return;
          }
        }
        this.i++;
      }
      return;
    }
    while (this.i < this.t.length && !',}] \t\n\r'.includes(this.t[this.i] as string)) this.i++;
  }
}

function isJsonText(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** The top-level members of a JSON object text with their byte spans, or null if not an object. */
export function objectMembers(text: string): { members: Member[]; close: number } | null {
  if (!isJsonText(text)) return null;
  const s = new Scanner(text);
  s.ws();
  if (text[s.i] !== '{') return null;
  s.i++;
  const members: Member[] = [];
  s.ws();
  if (text[s.i] === '}') return { members, close: s.i };
  for (;;) {
    s.ws();
    const keyStart = s.i;
    s.string();
    const key = JSON.parse(text.slice(keyStart, s.i)) as string;
    s.ws();
    s.i++; // ':'
    s.ws();
    const valueStart = s.i;
    s.value();
    members.push({ key, keyStart, valueStart, valueEnd: s.i });
    s.ws();
    if (text[s.i] === ',') {
      s.i++;
      continue;
    }
    return { members, close: s.i };
  }
}

/** The record with `retried_at` set, as `Failure.requeue` writes it; null if not a JSON object. */
export function markRetried(raw: string, retriedAt: string): string | null {
  const o = objectMembers(raw);
  if (!o) return null;
  const value = JSON.stringify(retriedAt);
  const existing = o.members.filter(m => m.key === 'retried_at').pop();
  if (existing) return raw.slice(0, existing.valueStart) + value + raw.slice(existing.valueEnd);
  const sep = o.members.length ? ',' : '';
  return `${raw.slice(0, o.close)}${sep}"retried_at":${value}${raw.slice(o.close)}`;
}

/** Re-emits JSON text compactly: whitespace dropped, strings re-escaped, numbers as written. */
export function compactJson(text: string): string {
  if (!isJsonText(text)) throw new SyntaxError('not JSON');
  let out = '';
  const s = new Scanner(text);
  while (s.i < text.length) {
    const c = text[s.i] as string;
    if (WS.includes(c)) {
      s.i++;
    } else if (c === '"') {
      const start = s.i;
      s.string();
      out += JSON.stringify(JSON.parse(text.slice(start, s.i)) as string);
    } else {
      out += c;
      s.i++;
    }
  }
  return out;
}

export type RequeueTarget = { ok: true; queue: string; className: string; job: string } | { ok: false; reason: string };

/** What `Failure.requeue` would push for this record, or why it cannot be retried. */
export function requeueJob(raw: string): RequeueTarget {
  const rec = objectMembers(raw);
  if (!rec) return { ok: false, reason: 'the failure record is not a JSON object' };
  const get = (m: { members: Member[] }, k: string, t: string): string | undefined => {
    const hit = m.members.filter(x => x.key === k).pop();
    return hit ? t.slice(hit.valueStart, hit.valueEnd) : undefined;
  };
  const queueTok = get(rec, 'queue', raw);
  const queue = queueTok === undefined ? undefined : (JSON.parse(queueTok) as unknown);
  if (typeof queue !== 'string' || queue === '') return { ok: false, reason: 'the failure record names no queue' };
  const payloadTok = get(rec, 'payload', raw);
  const payload = payloadTok === undefined ? undefined : objectMembers(payloadTok);
  if (!payloadTok || !payload) return { ok: false, reason: 'the failed payload is not a job object' };
  const classTok = get(payload, 'class', payloadTok);
  const className = classTok === undefined ? undefined : (JSON.parse(classTok) as unknown);
  if (typeof className !== 'string' || className === '') return { ok: false, reason: 'the failed payload has no class' };
  const argsTok = get(payload, 'args', payloadTok);
  const argsVal = argsTok === undefined ? null : (JSON.parse(argsTok) as unknown);
  let args: string;
  if (argsVal === null)
    args = '[]'; // Ruby: *nil
  else if (Array.isArray(argsVal)) args = compactJson(argsTok as string);
  else return { ok: false, reason: "the failed payload's args are not an array" };
  return { ok: true, queue, className, job: `{"class":${JSON.stringify(className)},"args":${args}}` };
}

/** A failure record as pages and `failed list` show it. Tolerant of every writer's format. */
export interface FailureView {
  /** False when the element is not a JSON object (resque-web: "could not be parsed"). */
  parsed: boolean;
  failedAt: string | null;
  failedAtIso: string | null;
  retriedAt: string | null;
  worker: string | null;
  queue: string | null;
  exception: string | null;
  error: string | null;
  backtrace: string[];
  className: string | null;
  /** The args as compact JSON text of the original tokens (exact numbers). */
  args: string | null;
  /** The payload's JSON text as stored. */
  payload: string | null;
  retryable: boolean;
  whyNotRetryable: string | null;
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return null;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function viewFailure(raw: string): FailureView {
  const rec = objectMembers(raw);
  const base: FailureView = {
    parsed: false,
    failedAt: null,
    failedAtIso: null,
    retriedAt: null,
    worker: null,
    queue: null,
    exception: null,
    error: null,
    backtrace: [],
    className: null,
    args: null,
    payload: null,
    retryable: false,
    whyNotRetryable: 'the record is not a JSON object',
  };
  if (!rec) return base;
  const o = JSON.parse(raw) as Record<string, unknown>;
  const payloadMember = rec.members.filter(m => m.key === 'payload').pop();
  const payloadText = payloadMember ? raw.slice(payloadMember.valueStart, payloadMember.valueEnd) : null;
  let className: string | null = null;
  let args: string | null = null;
  const p = o['payload'];
  if (p && typeof p === 'object' && !Array.isArray(p)) {
    const pc = (p as Record<string, unknown>)['class'];
    className = typeof pc === 'string' ? pc : null;
    const pm = payloadText ? objectMembers(payloadText) : null;
    const am = pm?.members.filter(m => m.key === 'args').pop();
    if (am && payloadText) args = compactJson(payloadText.slice(am.valueStart, am.valueEnd));
  }
  const bt = o['backtrace'];
  const target = requeueJob(raw);
  const failedAt = str(o['failed_at']);
  return {
    parsed: true,
    failedAt,
    failedAtIso: parseResqueTime(o['failed_at'])?.toISOString() ?? null,
    retriedAt: str(o['retried_at']),
    worker: str(o['worker']),
    queue: str(o['queue']),
    exception: str(o['exception']),
    error: str(o['error']),
    backtrace: Array.isArray(bt) ? bt.map(x => String(x)) : typeof bt === 'string' ? bt.split('\n') : [],
    className,
    args,
    payload: payloadText,
    retryable: target.ok,
    whyNotRetryable: target.ok ? null : target.reason,
  };
}
