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
 * Reads any timestamp a Resque-family program writes: the four Ruby formats, pyres epoch
 * seconds (string or number), pyres' zone-less `failed_at` (taken as UTC), ISO with
 * milliseconds. Returns null for anything else.
 */
export function parseResqueTime(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d{9,11}(\.\d+)?$/.test(s)) return new Date(Number(s) * 1000);
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return null;
  const [, y, mo, da, h, mi, se, frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +da!, +h!, +mi!, +se!, frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && /^[+-]/.test(zone)) {
    const z = zone.replace(':', '');
    const mins = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5));
    ms -= (z[0] === '-' ? -1 : 1) * mins * 60_000;
  }
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}
