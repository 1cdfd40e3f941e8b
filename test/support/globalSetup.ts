/**
 * jest globalSetup: starts ONE redis-server shared by the whole run and
 * exports its URL as PYRES_TEST_REDIS_URL. Variables set on process.env here
 * are inherited by the test workers, which jest spawns after this hook.
 * Test files pick a private db with testDbUrl() from ./redisServer.
 */
import { startRedis } from './redisServer';

export default async function globalSetup(): Promise<void> {
  const handle = await startRedis();
  globalThis.__PYRES_REDIS__ = handle;
  process.env.PYRES_TEST_REDIS_URL = handle.url;
}
