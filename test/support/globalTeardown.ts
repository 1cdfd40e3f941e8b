/** jest globalTeardown: stops the shared redis-server started by globalSetup. */
import type { RedisServerHandle } from './redisServer';

export default async function globalTeardown(): Promise<void> {
  const handle: RedisServerHandle | undefined = globalThis.__PYRES_REDIS__;
  globalThis.__PYRES_REDIS__ = undefined;
  if (!handle) return;
  if (process.env.PYRES_TEST_REDIS_URL === handle.url) delete process.env.PYRES_TEST_REDIS_URL;
  await handle.stop();
}
