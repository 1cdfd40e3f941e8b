/**
 * The database number of a Redis URL against a real redis-server of this file's own (its
 * database 0 is free to watch): ioredis reports a refused SELECT as an 'error' event and goes
 * on in database 0, where a worker given `redis://host/99999` worked database 0's jobs. Now a
 * database the server lacks is refused as retrying cannot help (AuthError), and `?db=` is the
 * path's database or a named error.
 */
import Redis from 'ioredis';
import { AuthError, ConfigError } from '../../src/errors';
import { redisOptions } from '../../src/store/connection';
import { Worker } from '../../src/worker/worker';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { BlackholeProxy } from '../support/blackholeProxy';
import { closeRedis, HOST, registry, testLogger, waitFor } from './helpers';

let srv: RedisServerHandle;
let db0: Redis;
const JOB = '{"class":"Echo","args":["db0"]}';

beforeAll(async () => {
  srv = await startRedis();
  db0 = new Redis(srv.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: null });
  await db0.connect();
});

afterEach(async () => {
  if (db0.status === 'ready') await db0.flushall();
});

afterAll(async () => {
  await closeRedis(db0);
  await srv?.stop();
});

function workerOn(url: string, ran: string[]): Worker {
  return new Worker({
    connection: { url },
    hostname: HOST,
    logger: testLogger(),
    queues: ['q'],
    jobs: registry({ Echo: { perform: (s: unknown) => void ran.push(String(s)) } }),
  });
}

async function expectDb0Untouched(): Promise<void> {
  expect(await db0.lrange('resque:queue:q', 0, -1)).toEqual([JOB]);
  expect(await db0.smembers('resque:workers')).toEqual([]);
  expect(await db0.get('resque:stat:processed')).toBeNull();
}

describe('a database the server does not have', () => {
  it.each([
    ['/99999', (port: number) => `redis://127.0.0.1:${port}/99999`],
    ['?db=99999', (port: number) => `redis://127.0.0.1:${port}?db=99999`],
  ])('%s: the worker refuses to start (AuthError naming it); database 0 keeps its job', async (_what, url) => {
    await db0.sadd('resque:queues', 'q');
    await db0.rpush('resque:queue:q', JOB);
    const ran: string[] = [];
    const w = workerOn(url(srv.port), ran);
    const err = await w.start().then(
      () => null,
      (e: unknown) => e,
    );
    await w.store.close();
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/has no such database \(ERR DB index is out of range\)/);
    expect(ran).toEqual([]);
    await expectDb0Untouched();
  });
});

describe('a database the server does not have, Redis silent at the start', () => {
  it('the first connects time out (1 s); once Redis answers, refused (AuthError), not worked in database 0', async () => {
    await db0.sadd('resque:queues', 'q');
    await db0.rpush('resque:queue:q', JOB);
    const proxy = new BlackholeProxy({ targetPort: srv.port });
    await proxy.listen();
    proxy.partition();
    const ran: string[] = [];
    const w = new Worker({
      connection: { url: `redis://127.0.0.1:${proxy.port}/99999`, timeout: 1 },
      hostname: HOST,
      logger: testLogger(),
      queues: ['q'],
      jobs: registry({ Echo: { perform: (x: unknown) => void ran.push(String(x)) } }),
    });
    const started = w.start().then(
      () => null,
      (e: unknown) => e,
    );
    try {
      // A second connection: the first connect timed out and the worker waits for Redis.
      await waitFor(() => proxy.stats.accepted >= 2, 'a reconnect through the silent proxy', 15000);
      proxy.heal();
      const err = await started;
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toMatch(/has no such database/);
    } finally {
      await w.store.close();
      await proxy.close();
    }
    expect(ran).toEqual([]);
    await expectDb0Untouched();
  });
});

describe('?db= in a redis:// URL', () => {
  it('is the database when the path gives none, and must agree with the path', () => {
    expect(redisOptions({ url: 'redis://h:1?db=3' }).options.db).toBe(3);
    expect(redisOptions({ url: 'redis://h:1/3?db=3' }).options.db).toBe(3);
    expect(() => redisOptions({ url: 'redis://h:1/2?db=3' })).toThrow(new ConfigError('--redis: the path says database 2 and db= says 3; give one'));
  });

  it('a bad value or an unknown parameter is a one-line error naming it (they were ignored: database 0)', () => {
    expect(() => redisOptions({ url: 'redis://h:1?db=3x' })).toThrow(new ConfigError('--redis: db="3x" must be a database number (0..15)'));
    expect(() => redisOptions({ url: 'redis://h:1/0?timeout=3' })).toThrow(/^--redis: unknown parameter "timeout" in the URL/);
  });
});
