/**
 * The library Client (issue 13) when its Redis goes silent (SIGSTOP: the process is there, the
 * socket open, nothing answers): an admin call and an enqueue reject within the connection's
 * bound (`connection.timeout`, `--redis-timeout`) instead of hanging, and once Redis answers
 * again the same Client works without being rebuilt.
 */
import { Client } from '../../src';
import { RedisProc } from './redisProc';
import { withClient, k } from './helpers';

let srv: RedisProc;
beforeAll(async () => {
  srv = await RedisProc.start();
});
afterAll(async () => {
  if (srv.proc) srv.proc.kill('SIGCONT');
  await srv.destroy();
});

async function settleWithin<T>(p: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: Error } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>(res => (timer = setTimeout(() => res('hung'), ms)));
  try {
    return await Promise.race([
      p.then(
        value => ({ ok: true as const, value }),
        (error: Error) => ({ ok: false as const, error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Client with Redis SIGSTOPped', () => {
  it('rejects admin calls and enqueues within the bound, then works again after SIGCONT', async () => {
    const client = await new Client({ connection: { url: srv.url, timeout: 1 } }).connect();
    try {
      await client.enqueue('silent', 'Echo', 'before');
      expect(await client.queueLength('silent')).toBe(1);

      srv.proc!.kill('SIGSTOP');
      // The bound is 2 × 1 s for a command; 8 s is far past it and far short of "for ever".
      const queues = await settleWithin(client.queues(), 8000);
      const enq = await settleWithin(client.enqueue('silent', 'Echo', 'during'), 8000);
      expect(queues).not.toBe('hung');
      expect(enq).not.toBe('hung');
      expect(queues !== 'hung' && queues.ok).toBe(false);
      expect(enq !== 'hung' && enq.ok).toBe(false);

      srv.proc!.kill('SIGCONT');
      // The same Client recovers: its next calls are answered.
      await client.enqueue('silent', 'Echo', 'after');
      const items = await withClient(srv.url, r => r.lrange(k('queue:silent'), 0, -1));
      expect(items[0]).toBe('{"class":"Echo","args":["before"]}');
      expect(items[items.length - 1]).toBe('{"class":"Echo","args":["after"]}');
      // An enqueue that timed out may still have landed (at-least-once, README): never twice.
      expect(items.filter(i => i.includes('"during"')).length).toBeLessThanOrEqual(1);
      expect((await client.queues()).map(q => q.queue)).toContain('silent');
    } finally {
      srv.proc?.kill('SIGCONT');
      await client.close();
    }
  }, 40000);
});
