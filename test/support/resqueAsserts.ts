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
