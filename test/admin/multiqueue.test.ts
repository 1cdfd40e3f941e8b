/**
 * Records written in Resque::Failure::RedisMultiQueue's layout (Ruby's own capture: the
 * `p10_failed` list named in `failed_queues`), next to one in the default `failed` list, read
 * and acted on by the real `bin/pyres-ts`: status, `failed list|retry|remove|clear|retry-all`.
 * A retry leaves the bytes Ruby's `Failure.requeue(0, 'p10_failed')` left (retried_at aside,
 * which has no zone under this backend).
 */
import Redis from 'ioredis';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { C5_KEYS_AFTER, C5_RECORD, C5_REQUEUED_JOB, MULTI_QUEUE_RETRIED_AT_RE, seedRubyMultiQueue } from '../support/rubyMultiQueue';
import { killAll, runCli } from '../support/spawn';
import { RUBY_FAILURES } from '../web/helpers';

let srv: RedisServerHandle;
let r: Redis;

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
});
afterAll(async () => {
  await r?.quit();
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
  await seedRubyMultiQueue(r);
  // Mixed data: one record of the default backend in `failed`, and a live worker set.
  await r.rpush('resque:failed', RUBY_FAILURES[0] as string);
  await r.sadd('resque:workers', 'vm:1:p10');
});
afterEach(async () => {
  await killAll();
});

const cli = (...args: string[]) => runCli(args, { redisUrl: srv.url });
const noZone = (s: string): string => s.replace(MULTI_QUEUE_RETRIED_AT_RE, '"retried_at":"<T>"');

describe('failure lists of both backends', () => {
  it('status counts every list', async () => {
    const res = await cli('status');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Failed jobs: 2 (failed 1, p10_failed 1)');
  });

  it("failed list shows both lists; --json names each record's list", async () => {
    const text = await cli('failed', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/: 1 failed job, showing 1/);
    expect(text.stdout).toMatch(/: 1 failed job in p10_failed, showing 1, newest first \(retry\/remove with --queue p10_failed\)/);
    expect(text.stdout).toContain('FailingJob on p10  ArgumentError: boom: [1, "two", {"three"=>3}]');
    const json = await cli('failed', 'list', '--json');
    const out = JSON.parse(json.stdout) as {
      servers: Array<{ total: number; lists: Array<{ list: string; total: number }>; items: Array<{ list: string; index: number; raw: string }> }>;
    };
    const s = out.servers[0];
    expect(s?.total).toBe(2);
    expect(s?.lists.map(l => [l.list, l.total])).toEqual([
      ['failed', 1],
      ['p10_failed', 1],
    ]);
    expect(s?.items.map(i => [i.list, i.index, i.raw])).toEqual([
      ['failed', 0, RUBY_FAILURES[0]],
      ['p10_failed', 0, C5_RECORD],
    ]);
    // One list only
    const one = JSON.parse((await cli('failed', 'list', '--json', '--queue', 'p10_failed')).stdout) as typeof out;
    expect(one.servers[0]?.items.map(i => i.list)).toEqual(['p10_failed']);
  });

  it("retry --queue p10_failed leaves what Ruby's Failure.requeue(0, 'p10_failed') left", async () => {
    const res = await cli('failed', 'retry', '0', '--queue', 'p10_failed');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/retried failure 0 in p10_failed on .*: pushed .*FailingJob.* to p10/);
    const after = await r.lrange('resque:p10_failed', 0, -1);
    expect(after.map(noZone)).toEqual((C5_KEYS_AFTER['resque:p10_failed']!.value as string[]).map(noZone));
    expect(after[0]).toMatch(MULTI_QUEUE_RETRIED_AT_RE);
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual([C5_REQUEUED_JOB]);
    expect(await r.lrange('resque:queue:p10', 0, -1)).toEqual(C5_KEYS_AFTER['resque:queue:p10']?.value);
    expect(await r.smembers('resque:failed_queues')).toEqual(C5_KEYS_AFTER['resque:failed_queues']?.value);
    // The other list is untouched.
    expect(await r.lrange('resque:failed', 0, -1)).toEqual([RUBY_FAILURES[0]]);
  });

  it('remove by the job queue name (--queue p10); the list stays named in failed_queues, as in Ruby', async () => {
    const res = await cli('failed', 'remove', '0', '--queue', 'p10');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/removed failure 0 in p10_failed/);
    expect(await r.exists('resque:p10_failed')).toBe(0);
    expect(await r.smembers('resque:failed_queues')).toEqual(['p10_failed']);
    expect(await r.lrange('resque:failed', 0, -1)).toEqual([RUBY_FAILURES[0]]);
  });

  it('retry-all and clear cover every list; retried_at as each backend writes it', async () => {
    const ra = await cli('failed', 'retry-all');
    expect(ra.code).toBe(0);
    expect(ra.stdout).toMatch(/retried 2, skipped 0 already retried/);
    expect(await r.lindex('resque:failed', 0)).toMatch(/"retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC"\}$/);
    expect(await r.lindex('resque:p10_failed', 0)).toMatch(/"retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d"\}$/);
    expect(await r.llen('resque:queue:p10')).toBe(2);
    const c = await cli('failed', 'clear');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/cleared 2 failures/);
    expect(await r.exists('resque:failed', 'resque:p10_failed')).toBe(0);
    expect(await r.smembers('resque:failed_queues')).toEqual(['p10_failed']);
  });

  it('clear --queue p10_failed clears that list only', async () => {
    const c = await cli('failed', 'clear', '--queue', 'p10_failed');
    expect(c.stdout).toMatch(/cleared 1 failure$/m);
    expect(await r.exists('resque:p10_failed')).toBe(0);
    expect(await r.llen('resque:failed')).toBe(1);
  });

  it('a --queue that is no failure list is refused, naming the lists, and nothing is touched', async () => {
    for (const q of ['workers', 'queue:p10', 'p9']) {
      const res = await cli('failed', 'clear', '--queue', q);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`no failure list ${JSON.stringify(q)} on `);
      expect(res.stderr).toContain('(failure lists: failed, p10_failed)');
    }
    expect(await r.smembers('resque:workers')).toEqual(['vm:1:p10']);
    expect(await r.llen('resque:p10_failed')).toBe(1);
    expect(await r.llen('resque:failed')).toBe(1);
  });
});
