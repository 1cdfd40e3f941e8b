import type Redis from 'ioredis';

/** Asserts that nothing of worker `id` is left in Redis (Resque's unregister); `k` adds the namespace. */
export async function expectUnregistered(r: Redis, k: (key: string) => string, id: string): Promise<void> {
  expect(await r.sismember(k('workers'), id)).toBe(0);
  expect(await r.exists(k(`worker:${id}`))).toBe(0);
  expect(await r.exists(k(`worker:${id}:started`))).toBe(0);
  expect(await r.hexists(k('workers:heartbeat'), id)).toBe(0);
  expect(await r.exists(k(`stat:processed:${id}`))).toBe(0);
  expect(await r.exists(k(`stat:failed:${id}`))).toBe(0);
}

/** A Resque failure record (Failure::Redis#save), fields in Ruby's order. */
export interface FailureRecord {
  failed_at: string;
  payload: unknown;
  exception: string;
  error: string;
  backtrace: string[];
  worker: string;
  queue: string;
}

export const FAILURE_KEYS = ['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue'];
export const FAILED_AT_RE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/;

/** Parses a failure record and checks the shape every Resque failure must have. */
export function parseFailure(raw: string): FailureRecord {
  const rec = JSON.parse(raw) as Record<string, unknown>;
  expect(Object.keys(rec)).toEqual(FAILURE_KEYS);
  expect(rec['failed_at']).toMatch(FAILED_AT_RE);
  expect(Array.isArray(rec['backtrace'])).toBe(true);
  return rec as unknown as FailureRecord;
}
