/**
 * Resque's four timestamp formats, none with fractional seconds. Pure: callers pass the time.
 *   run_at     2026-11-22T22:10:47Z          Time.now.utc.iso8601
 *   started    2026-11-22 22:10:47 +0000     Time.now.to_s (local time, numeric offset)
 *   heartbeat  2026-11-22T22:10:47+00:00     Redis server TIME, iso8601
 *   failed_at  2026/11/22 22:11:32 UTC       strftime('%Y/%m/%d %H:%M:%S %Z'); pyres-ts always writes UTC
 */
const p2 = (n: number): string => String(n).padStart(2, '0');

function utcParts(d: Date): [string, string, string, string, string, string] {
  return [
    String(d.getUTCFullYear()).padStart(4, '0'),
    p2(d.getUTCMonth() + 1),
    p2(d.getUTCDate()),
    p2(d.getUTCHours()),
    p2(d.getUTCMinutes()),
    p2(d.getUTCSeconds()),
  ];
}

export function formatRunAt(d: Date): string {
  const [y, mo, da, h, mi, s] = utcParts(d);
  return `${y}-${mo}-${da}T${h}:${mi}:${s}Z`;
}

/** The second the cached run_at was formatted for, and its text. */
let runAtSecond = Number.NaN;
let runAtText = '';

/**
 * `formatRunAt` of the time `ms` (epoch milliseconds, default `Date.now()`), formatted once per
 * second and cached: the job loop asks for it before every reservation, and thousands of
 * reservations a second would otherwise format the same text thousands of times. The cache is
 * keyed on the whole second, so the text is always exactly `formatRunAt(new Date(ms))` (a clock
 * stepped back gets its own second's text, not a stale one).
 */
export function runAtNow(ms: number = Date.now()): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== runAtSecond) {
    runAtText = formatRunAt(new Date(sec * 1000));
    runAtSecond = sec;
  }
  return runAtText;
}

export function formatFailedAt(d: Date): string {
  const [y, mo, da, h, mi, s] = utcParts(d);
  return `${y}/${mo}/${da} ${h}:${mi}:${s} UTC`;
}

/** RedisMultiQueue's `retried_at`: `%Y/%m/%d %H:%M:%S`, no zone (UTC here). */
export function formatRetriedAtMultiQueue(d: Date): string {
  const [y, mo, da, h, mi, s] = utcParts(d);
  return `${y}/${mo}/${da} ${h}:${mi}:${s}`;
}

/** Ruby's `Time#to_s` in the process's local zone. */
export function formatStarted(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${String(d.getFullYear()).padStart(4, '0')}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`
  );
}

/** A heartbeat value from Redis `TIME` seconds. */
export function formatHeartbeat(epochSeconds: number): string {
  const [y, mo, da, h, mi, s] = utcParts(new Date(epochSeconds * 1000));
  return `${y}-${mo}-${da}T${h}:${mi}:${s}+00:00`;
}

/**
 * Offsets in minutes of the zone abbreviations Ruby's `%Z` writes with the tz database
 * (glibc, macOS): every alphabetic abbreviation tzdata 2024+ uses, plus UT/Z. Zones without
 * an abbreviation of their own are written numerically (`-03`, `+0545`) and parsed as
 * offsets. Four abbreviations are ambiguous in tzdata; they read as Ruby's `Time.parse`
 * reads them: IST India (+05:30, not Ireland or Israel), CST and CDT US Central (not China
 * or Cuba), PST US Pacific (not the Philippines).
 */
const ZONES: Readonly<Record<string, number>> = {
  Z: 0,
  UT: 0,
  UTC: 0,
  GMT: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  IST: 330,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  WAT: 60,
  EET: 120,
  EEST: 180,
  CAT: 120,
  SAST: 120,
  IDT: 180,
  EAT: 180,
  MSK: 180,
  PKT: 300,
  WIB: 420,
  WITA: 480,
  WIT: 540,
  HKT: 480,
  AWST: 480,
  JST: 540,
  KST: 540,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  CHST: 600,
  NZST: 720,
  NZDT: 780,
  NST: -210,
  NDT: -150,
  AST: -240,
  ADT: -180,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
  HDT: -540,
  SST: -660,
};

const MONTHS: Readonly<Record<string, number>> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** A zone suffix's offset in minutes east of UTC: `Z`, an abbreviation of ZONES, `-03`, `+0530`, `+05:30`. Null when unknown. */
export function zoneOffset(zone: string): number | null {
  const n = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(zone);
  if (n) {
    const mins = Number(n[2]) * 60 + Number(n[3] ?? 0);
    return Number(n[2]) > 23 || Number(n[3] ?? 0) > 59 ? null : n[1] === '-' ? -mins : mins;
  }
  return ZONES[zone.toUpperCase()] ?? null;
}

function fromFields(y: string, mo: number, da: string, h: string, mi: string, se: string, frac: string | undefined, zone: string | undefined): Date | null {
  // Ruby's Time.parse rejects out-of-range fields; only day 29-31 roll over, as there.
  if (mo < 1 || mo > 12 || +da < 1 || +da > 31 || +h > 23 || +mi > 59 || +se > 60) return null;
  // A zone abbreviation that is not known must not silently read as UTC: the time is unknown.
  const off = zone ? zoneOffset(zone) : 0;
  if (off === null) return null;
  const ms = Date.UTC(+y, mo - 1, +da, +h, +mi, +se, frac ? Math.round(Number(frac) * 1000) : 0) - off * 60_000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Reads any timestamp a Resque-family program writes: the four Ruby formats (with `%Z` zone
 * abbreviations or numeric offsets: `-03`, `+0530`, `+05:30`), Ruby 2.x's RFC 2822
 * `failed_at`, pyres epoch seconds (string or number), pyres' zone-less `failed_at` (taken as
 * UTC), ISO with milliseconds, and node-resque's `Date#toString` (`Tue Dec 01 2026 10:00:00
 * GMT+0000 (Coordinated Universal Time)`). Returns null for anything else, and for an unknown
 * zone abbreviation (an unknown time, rather than a guess).
 */
export function parseResqueTime(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d{9,11}(\.\d+)?$/.test(s)) return new Date(Number(s) * 1000);
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[A-Za-z]{2,5}|[+-]\d{2}(?::?\d{2})?)?$/.exec(s);
  if (m) return fromFields(m[1]!, +m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7], m[8]);
  // JS Date#toString (node-resque's run_at): `Tue Dec 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)`.
  const js = /^[A-Za-z]{3} ([A-Za-z]{3}) (\d{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-]\d{4})(?: \([^()]*\))?$/.exec(s);
  if (js) {
    const mo = MONTHS[js[1]!.toLowerCase()];
    return mo ? fromFields(js[3]!, mo, js[2]!, js[4]!, js[5]!, js[6]!, undefined, js[7]) : null;
  }
  // RFC 2822 (Ruby 2.x failed_at, Date#toUTCString): `Tue, 01 Dec 2026 10:00:00 +0000` / `... GMT`.
  const rfc = /^(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (Z|[A-Za-z]{2,5}|[+-]\d{4})$/.exec(s);
  if (rfc) {
    const mo = MONTHS[rfc[2]!.toLowerCase()];
    return mo ? fromFields(rfc[3]!, mo, rfc[1]!.padStart(2, '0'), rfc[4]!, rfc[5]!, rfc[6]!, undefined, rfc[7]) : null;
  }
  return null;
}
