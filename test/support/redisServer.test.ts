import * as fs from 'node:fs';
import Redis from 'ioredis';
import { flushTestDb, portAnswers, redisUrlForTests, startRedis, testDbUrl, type RedisServerHandle } from './redisServer';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    return await fn(r);
  } finally {
    await r.quit().catch(() => r.disconnect());
  }
}

describe('startRedis (private server)', () => {
  let srv: RedisServerHandle | undefined;

  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
  });

  it('keeps AOF data across restart(), and stop() really stops it', async () => {
    srv = await startRedis({ appendonly: true });
    const { port, dir, url } = srv;
    const firstPid = srv.pid;
    expect(url).toBe(`redis://127.0.0.1:${port}`);
    expect(pidAlive(firstPid)).toBe(true);
    expect(fs.existsSync(dir)).toBe(true);

    await withClient(url, async r => {
      expect(await r.ping()).toBe('PONG');
      expect(await r.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await r.config('GET', 'save')).toEqual(['save', '']);
      await r.config('SET', 'appendfsync', 'always');
      await r.set('pyres:test:survivor', 'still here');
    });

    await srv.restart();
    expect(srv.port).toBe(port);
    expect(srv.dir).toBe(dir);
    expect(srv.pid).not.toBe(firstPid);
    expect(pidAlive(firstPid)).toBe(false);

    await withClient(url, async r => {
      expect(await r.get('pyres:test:survivor')).toBe('still here');
    });

    const pid = srv.pid;
    await srv.stop();
    expect(await portAnswers(port)).toBe(false);
    expect(pidAlive(pid)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
    await srv.stop(); // idempotent
    await expect(srv.restart()).rejects.toThrow(/stopped/);
  });

  it('without appendonly, data does not survive a restart', async () => {
    srv = await startRedis();
    await withClient(srv.url, r => r.set('volatile', '1'));
    await srv.restart();
    await withClient(srv.url, async r => {
      expect(await r.get('volatile')).toBeNull();
    });
  });

  it('passes extraArgs through', async () => {
    srv = await startRedis({ extraArgs: ['--databases', '4'] });
    await withClient(srv.url, async r => {
      expect(await r.config('GET', 'databases')).toEqual(['databases', '4']);
    });
  });
});

describe('shared test server', () => {
  it('testDbUrl() points at the global server with a per-worker db', async () => {
    const base = redisUrlForTests();
    const url = testDbUrl();
    const db = Number(url.slice(base.length + 1));
    expect(url.startsWith(`${base}/`)).toBe(true);
    expect(db).toBeGreaterThanOrEqual(1);
    expect(db).toBeLessThanOrEqual(15);

    const key = `pyres:test:shared:${process.pid}`;
    await withClient(url, async r => {
      await r.set(key, 'x');
      expect(await r.get(key)).toBe('x');
      const info = await r.info('keyspace');
      expect(info).toContain(`db${db}:`);
    });
    await flushTestDb(url);
    await withClient(url, async r => {
      expect(await r.dbsize()).toBe(0);
    });
  });
});
