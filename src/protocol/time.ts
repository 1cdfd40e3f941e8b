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

/** Offsets in minutes of the zone abbreviations Ruby's `%Z` commonly writes. */
const ZONES: Readonly<Record<string, number>> = {
  Z: 0, UTC: 0, GMT: 0, UT: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, EET: 120, EEST: 180, MSK: 180,
  IST: 330, JST: 540, KST: 540, HKT: 480, SGT: 480, AWST: 480, ACST: 570, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540, AKDT: -480, HST: -600,
};

/**
 * Reads any timestamp a Resque-family program writes: the four Ruby formats, pyres epoch
 * seconds (string or number), pyres' zone-less `failed_at` (taken as UTC), ISO with
 * milliseconds. Returns null for anything else.
 */
export function parseResqueTime(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d{9,11}(\.\d+)?$/.test(s)) return new Date(Number(s) * 1000);
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[A-Z]{2,5}|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return null;
  const [, y, mo, da, h, mi, se, frac, zone] = m;
  // Ruby's Time.parse rejects out-of-range fields; only day 29-31 roll over, as there.
  if (+mo! < 1 || +mo! > 12 || +da! < 1 || +da! > 31 || +h! > 23 || +mi! > 59 || +se! > 60) return null;
  let ms = Date.UTC(+y!, +mo! - 1, +da!, +h!, +mi!, +se!, frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && /^[A-Z]+$/.test(zone)) {
    // Ruby writes failed_at with the local zone's abbreviation (`%Z`); unknown ones read as UTC.
    ms -= (ZONES[zone] ?? 0) * 60_000;
  } else if (zone && /^[+-]/.test(zone)) {
    const z = zone.replace(':', '');
    const mins = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5));
    ms -= (z[0] === '-' ? -1 : 1) * mins * 60_000;
  }
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}
