/**
 * Reads the real captures copied (unchanged) from shared/fixtures into fixtures/resque-ruby and
 * fixtures/pyres. Ruby's dumps are `{"captured_at_redis_time", "keys": {...}}`; pyres' dumps
 * are the bare key map. Either way a key is `{type, ttl, value}` and `value` holds the exact
 * bytes Redis held (lists in order, sets sorted, hashes as objects).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');

export interface DumpedKey {
  type: 'string' | 'list' | 'set' | 'hash' | 'zset';
  ttl: number;
  value: unknown;
}
export type KeyDump = Record<string, DumpedKey>;

export function readFixtureJson(rel: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8')) as unknown;
}

/** A keys*.json dump, e.g. `loadKeys('resque-ruby/a-enqueue/keys.json')`. */
export function loadKeys(rel: string): KeyDump {
  const d = readFixtureJson(rel) as Record<string, unknown>;
  if (typeof d['captured_at_redis_time'] === 'string' && d['keys'] && typeof d['keys'] === 'object') return d['keys'] as KeyDump;
  return d as KeyDump;
}

function entry(dump: KeyDump, key: string, type: DumpedKey['type']): DumpedKey {
  const e = dump[key];
  if (!e) throw new Error(`fixture has no key ${JSON.stringify(key)}; it has ${Object.keys(dump).join(', ')}`);
  if (e.type !== type) throw new Error(`fixture key ${JSON.stringify(key)} is a ${e.type}, not a ${type}`);
  return e;
}

export function str(dump: KeyDump, key: string): string {
  return entry(dump, key, 'string').value as string;
}
export function list(dump: KeyDump, key: string): string[] {
  return entry(dump, key, 'list').value as string[];
}
export function members(dump: KeyDump, key: string): string[] {
  return entry(dump, key, 'set').value as string[];
}
export function hash(dump: KeyDump, key: string): Record<string, string> {
  return entry(dump, key, 'hash').value as Record<string, string>;
}
