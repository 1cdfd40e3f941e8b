import Redis from 'ioredis';
import { openMonitor } from './monitor';
import { type RedisServerHandle, startRedis } from './redisServer';

let srv: RedisServerHandle;
let r: Redis;

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
});

afterAll(async () => {
  await r.quit().catch(() => r.disconnect());
  await srv.stop();
});

/** Resolves with the args of the first monitored command `pred` accepts; rejects on a MONITOR error or after 5 s. */
function seen(mon: Awaited<ReturnType<typeof openMonitor>>, pred: (args: string[]) => boolean): Promise<{ args: string[]; source: string; database: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not seen in 5 s')), 5000);
    mon.on('error', err => {
      clearTimeout(timer);
      reject(err);
    });
    mon.on('monitor', (_t, args, source, database) => {
      if (!pred(args)) return;
      clearTimeout(timer);
      resolve({ args, source, database });
    });
  });
}

describe('openMonitor (the tests’ MONITOR client)', () => {
  it('decodes Redis’ escapes back to the exact argument, and names the db and source', async () => {
    const mon = await openMonitor(srv.url);
    try {
      const value = 'q"uote \\ back\nline\r\t\x07\x08 é ✓ \u0000 end';
      const got = seen(mon, a => a[0]?.toLowerCase() === 'set' && a[1] === 'monitor:escapes');
      const db3 = new Redis(`${srv.url}/3`);
      await db3.set('monitor:escapes', value);
      db3.disconnect();
      const { args, source, database } = await got;
      expect(args).toEqual(['set', 'monitor:escapes', value]);
      expect(database).toBe('3');
      expect(source).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      mon.disconnect();
    }
  });

  it("with { db }: only that database's commands (another database's, sent before, never reach a listener)", async () => {
    const mon = await openMonitor(srv.url, { db: 4 });
    const dbs: string[] = [];
    mon.on('monitor', (_t, args, _s, database) => {
      if (String(args[1]).startsWith('monitor:db-')) dbs.push(database);
    });
    try {
      const db3 = new Redis(`${srv.url}/3`);
      const db4 = new Redis(`${srv.url}/4`);
      await db3.set('monitor:db-other', 'x');
      // Redis streams its commands to the monitor in the order it runs them: db 3's comes first.
      const got = seen(mon, a => a[0]?.toLowerCase() === 'set' && a[1] === 'monitor:db-mine');
      await db4.set('monitor:db-mine', 'y');
      db3.disconnect();
      db4.disconnect();
      expect((await got).database).toBe('4');
      expect(dbs).toEqual(['4']);
    } finally {
      mon.disconnect();
    }
  });

  it('starts cleanly while another client floods the server (the +OK and the first command in one read)', async () => {
    let flooding = true;
    const flood = (async () => {
      while (flooding) await Promise.all(Array.from({ length: 200 }, (_, i) => r.ping(`flood-${i}`)));
    })();
    try {
      for (let i = 0; i < 20; i++) {
        const mon = await openMonitor(r);
        try {
          await seen(mon, a => a[0]?.toLowerCase() === 'ping' && String(a[1]).startsWith('flood-'));
        } finally {
          mon.disconnect();
        }
      }
    } finally {
      flooding = false;
      await flood;
    }
  });

  it('Redis gone while it watches: an error to a listener, and no throw without one', async () => {
    const own = await startRedis();
    try {
      const quiet = await openMonitor(own.url);
      const heard = await openMonitor(own.url);
      const errors: Error[] = [];
      heard.on('error', e => errors.push(e));
      const closed = new Promise<void>(res => heard.on('error', () => res()));
      await own.stop();
      await closed;
      expect(errors.map(e => e.message)).toEqual(['MONITOR connection closed']);
      quiet.disconnect();
      heard.disconnect();
    } finally {
      await own.stop();
    }
  });

  it('fails with Redis’ own message when AUTH is refused', async () => {
    await expect(openMonitor(`redis://:wrong@127.0.0.1:${srv.port}`)).rejects.toThrow(/MONITOR: .*(AUTH|password)/i);
  });
});
