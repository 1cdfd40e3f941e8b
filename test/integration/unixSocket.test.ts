/**
 * Unix sockets: `redis+unix:///path`, `unix:///path` and `unix:/path` (with `?db=N` and a
 * password) against a real redis-server listening on a socket (`--unixsocket`) and requiring a
 * password. Each connection is shown to be on the socket by the server itself (CLIENT LIST's
 * laddr is the socket, `redis.sock:0`, where TCP would show 127.0.0.1:port).
 */
import * as path from 'node:path';
import Redis from 'ioredis';
import { RedisStore } from '../../src/store/redisStore';
import { redactUrl, redisOptions } from '../../src/store/connection';
import { Worker } from '../../src/worker/worker';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis, HOST, registry, testLogger, waitFor } from './helpers';

const PASSWORD = 'sock et/pw';
let srv: RedisServerHandle;
let sock: string;
let tcp: Redis;
const opened: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  srv = await startRedis({ extraArgs: ['--unixsocket', 'redis.sock', '--unixsocketperm', '700'] });
  sock = path.join(srv.dir, 'redis.sock');
  tcp = new Redis(srv.port, '127.0.0.1', { lazyConnect: true });
  await tcp.connect();
  // Set after the start: the helper's readiness PING carries no password.
  await tcp.config('SET', 'requirepass', PASSWORD);
  await tcp.auth(PASSWORD);
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  await tcp.flushall();
});

afterAll(async () => {
  await closeRedis(tcp);
  await srv?.stop();
});

const pw = encodeURIComponent(PASSWORD);

async function storeAt(url: string): Promise<RedisStore> {
  const s = new RedisStore({ connection: { url }, namespace: 'resque', name: 'itest:unix' });
  opened.push(s);
  await s.connect();
  return s;
}

/** The local address of every client named `name`, as the server sees it. */
async function laddrsOf(name: string): Promise<string[]> {
  const list = String(await tcp.call('CLIENT', 'LIST'));
  return list
    .split('\n')
    .filter(l => new RegExp(`\\bname=${name}\\b`).test(l))
    .map(l => (/\bladdr=(\S+)/.exec(l) ?? [])[1] ?? '');
}

test.each([
  ['redis+unix:// with ?db and ?password', () => `redis+unix://${sock}?db=3&password=${pw}`, 3],
  ['unix:// with the password before the path', () => `unix://:${pw}@${sock}?db=5`, 5],
  ['unix: (one slash), db 0 by default', () => `unix:${sock}?password=${pw}`, 0],
])('%s: the store works over the socket, in the database the URL names', async (_what, url, db) => {
  const store = await storeAt(url());
  await store.enqueue('q', '{"class":"Noop","args":[]}');
  await tcp.select(db);
  expect(await tcp.lrange('resque:queue:q', 0, -1)).toEqual(['{"class":"Noop","args":[]}']);
  await tcp.select(0);
  const laddrs = await laddrsOf('itest:unix');
  expect(laddrs.length).toBeGreaterThan(0);
  for (const a of laddrs) expect(a).toMatch(/^(.*\/)?redis\.sock:/);
});

test('a worker reserves and finishes jobs over the socket (the finish-and-reserve script, byte for byte)', async () => {
  const ran: string[] = [];
  const w = new Worker({
    connection: { url: `redis+unix://${sock}?db=2&password=${pw}` },
    hostname: HOST,
    logger: testLogger(),
    queues: ['p2', 'p1'],
    jobs: registry({ Echo: { perform: (s: unknown) => void ran.push(String(s)) } }),
  });
  opened.push({ close: async () => (await w.stop(), await w.store.close()) });
  await tcp.select(2);
  await tcp.sadd('resque:queues', 'p1', 'p2');
  await tcp.rpush('resque:queue:p1', '{"class":"Echo","args":["b"]}');
  await tcp.rpush('resque:queue:p2', '{"class":"Echo","args":["a"]}');
  await w.start();
  await waitFor(async () => (await tcp.get('resque:stat:processed')) === '2', 'both jobs processed');
  expect(ran).toEqual(['a', 'b']);
  expect(await tcp.get(`resque:stat:processed:${w.id}`)).toBe('2');
  await tcp.select(0);
  const laddrs = await laddrsOf(`pyres-ts:worker:${process.pid}`);
  expect(laddrs.length).toBeGreaterThan(0);
  for (const a of laddrs) expect(a).toMatch(/^(.*\/)?redis\.sock:/);
});

test('the socket requires the password (so the tests above prove it was sent)', async () => {
  const bare = new Redis({ ...redisOptions({ url: `redis+unix://${sock}` }).options, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  bare.on('error', () => undefined);
  try {
    await expect(bare.ping()).rejects.toThrow(/NOAUTH/);
  } finally {
    bare.disconnect();
  }
});

test('options: ioredis { path } from each form; bad forms name --redis; the password is redacted', () => {
  expect(redisOptions({ url: 'redis+unix:///run/redis/redis.sock?db=4&password=s%20p' }).options).toMatchObject({
    path: '/run/redis/redis.sock',
    db: 4,
    password: 's p',
  });
  expect(redisOptions({ url: 'unix:///tmp/r.sock' }).options.path).toBe('/tmp/r.sock');
  expect(redisOptions({ url: 'unix:/tmp/r.sock' }).options.path).toBe('/tmp/r.sock');
  expect(redisOptions({ url: 'unix:/tmp/r.sock' }).options.host).toBeUndefined();
  expect(redisOptions({ url: 'redis+unix://u:p@/tmp/r.sock' }).options).toMatchObject({ path: '/tmp/r.sock', username: 'u', password: 'p' });
  // --password applies when the URL has none.
  expect(redisOptions({ url: 'unix:/tmp/r.sock', password: 'x' }).options.password).toBe('x');
  expect(() => redisOptions({ url: 'redis+unix://' })).toThrow(/^--redis .*expected redis\+unix:\/\/\/path/);
  expect(() => redisOptions({ url: 'unix:/tmp/' })).toThrow(/^--redis /);
  expect(() => redisOptions({ url: 'unix:/tmp/r.sock?db=x' })).toThrow(/^--redis: db="x"/);
  expect(() => redisOptions({ url: 'unix:/tmp/r.sock?timeout=1' })).toThrow(/^--redis: unknown parameter "timeout"/);
  expect(redactUrl('redis+unix:///tmp/r.sock?db=1&password=secret')).toBe('redis+unix:///tmp/r.sock?db=1&password=***');
  expect(redactUrl('unix://u:secret@/tmp/r.sock')).toBe('unix://u:***@/tmp/r.sock');
});
