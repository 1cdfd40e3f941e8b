/**
 * SocketWatch: ioredis's socketTimeout without a timer per command. A socket that owes a reply
 * and stays silent is destroyed with ioredis's own error, and the command is resent on the new
 * socket; an idle socket is never destroyed; ioredis's own per-command timer is not armed.
 */
import IORedis from 'ioredis';
import { SocketWatch } from '../../src/store/socketWatch';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis } from './helpers';

let srv: RedisServerHandle;

beforeEach(async () => {
  srv = await startRedis();
});
afterEach(async () => {
  try {
    process.kill(srv.pid, 'SIGCONT');
  } catch {
    /* gone */
  }
  await srv?.stop();
});

const MS = 300;

function watched(): { c: IORedis; watch: SocketWatch; errors: string[] } {
  const c = new IORedis(srv.url, { socketTimeout: MS, maxRetriesPerRequest: null, retryStrategy: () => 50, lazyConnect: true });
  const watch = new SocketWatch(c, MS);
  const errors: string[] = [];
  c.on('error', (e: Error) => errors.push(e.message));
  return { c, watch, errors };
}

function errorOf(c: IORedis, re: RegExp): Promise<string> {
  return new Promise(resolve => {
    const on = (e: Error): void => {
      if (re.test(e.message)) {
        c.off('error', on);
        resolve(e.message);
      }
    };
    c.on('error', on);
  });
}

test("a command owed by a silent Redis (SIGSTOP): the socket is destroyed with ioredis's error and the command is resent and answered", async () => {
  const { c, watch } = watched();
  try {
    await c.connect();
    await c.set('k', 'v');
    const destroyed = errorOf(c, /^Socket timeout\. Expecting data, but didn't receive any in 300ms\.$/);
    process.kill(srv.pid, 'SIGSTOP');
    const pending = c.get('k');
    // ioredis's own timer is not armed (no Node timer in its slot): the watch's is.
    expect(typeof (c as unknown as { socketTimeoutTimer?: { hasRef?: unknown } }).socketTimeoutTimer?.hasRef).toBe('undefined');
    await destroyed;
    process.kill(srv.pid, 'SIGCONT');
    expect(await pending).toBe('v');
  } finally {
    watch.stop();
    await closeRedis(c);
  }
});

test('an idle socket is never destroyed, however long Redis stays silent (a watched client with a command in flight times out meanwhile)', async () => {
  const idle = watched();
  const busy = watched();
  try {
    await idle.c.connect();
    await busy.c.connect();
    await idle.c.ping();
    await busy.c.ping();
    const busyDestroyed = errorOf(busy.c, /^Socket timeout/);
    process.kill(srv.pid, 'SIGSTOP');
    const pending = busy.c.ping();
    // The busy client's deadline passed (its socket was destroyed): the idle one had none.
    await busyDestroyed;
    process.kill(srv.pid, 'SIGCONT');
    expect(await pending).toBe('PONG');
    expect(await idle.c.ping()).toBe('PONG');
    expect(idle.errors).toEqual([]);
  } finally {
    idle.watch.stop();
    busy.watch.stop();
    await closeRedis(idle.c);
    await closeRedis(busy.c);
  }
});

test("a duplicate of a watched connection (a status waiter) keeps ioredis's own socket timeout", async () => {
  const { c, watch } = watched();
  const d = c.duplicate({ lazyConnect: true });
  try {
    expect(d.options.socketTimeout).toBe(MS);
    expect(c.options.socketTimeout).toBe(MS);
  } finally {
    d.disconnect();
    watch.stop();
    c.disconnect();
  }
});

test('replies that keep coming keep the socket: a stream of commands longer than the timeout is never cut', async () => {
  const { c, watch, errors } = watched();
  try {
    await c.connect();
    const until = Date.now() + 3 * MS;
    let n = 0;
    while (Date.now() < until) {
      await c.incr('n');
      n += 1;
    }
    expect(Number(await c.get('n'))).toBe(n);
    expect(errors).toEqual([]);
  } finally {
    watch.stop();
    await closeRedis(c);
  }
});
