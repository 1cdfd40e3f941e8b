/**
 * Job slots (`--concurrency`, issue 15) with Redis going silent mid-load (SIGSTOP): the
 * process survives, every slot's connection is dropped and rebuilt, and once Redis answers
 * again every job is finished and recorded exactly once (no loss, no failure record, no stale
 * `worker:<id>`); TERM then unregisters every slot.
 */
import { faultEnv, k, privateRedis, waitFor } from './helpers';

const env = faultEnv();
const redis = privateRedis();
const JOBS = 'fixtures/jobs/slots.js';

it('8 slots busy, Redis SIGSTOPped past --redis-timeout, then SIGCONT: all 16 jobs done once, nothing failed, TERM unregisters every slot', async () => {
  const w = env.cli(['worker', '--queues', 'p10', '--jobs', JOBS, '--concurrency', '8', '--redis-timeout', '1', '--interval', '0.2'], redis.srv.url, {
    PYRES_TEST_LEDGER: env.ledger,
  });
  await w.waitForLine(/registered;/, 15000);
  const pipe = redis.r.pipeline().sadd(k('queues'), 'p10');
  for (let i = 0; i < 16; i++) pipe.rpush(k('queue:p10'), `{"class":"Hold","args":["h${i}",1500]}`);
  await pipe.exec();
  await waitFor(() => env.ledgerLines().filter(l => l.startsWith('Hold start ')).length === 8, 15000, '8 jobs running at once');
  const mark = w.mark();
  redis.srv.proc!.kill('SIGSTOP');
  try {
    // A slot's silent socket is noticed (the bound is --redis-timeout), not waited out forever.
    await w.waitForLine(/Redis connection lost/, 15000, mark);
  } finally {
    redis.srv.proc!.kill('SIGCONT');
  }
  expect(w.exited).toBe(false);
  await waitFor(async () => (await redis.r.get(k('stat:processed'))) === '16', 30000, 'stat:processed reaching 16 after SIGCONT');
  const done = env.ledgerLines().filter(l => l.startsWith('Hold done '));
  expect(done.sort()).toEqual(Array.from({ length: 16 }, (_, i) => `Hold done h${i}`).sort());
  expect(await redis.r.llen(k('queue:p10'))).toBe(0);
  expect(await redis.r.llen(k('failed'))).toBe(0);
  const ids = await redis.r.smembers(k('workers'));
  expect(ids).toHaveLength(8);
  await waitFor(async () => (await redis.r.exists(...ids.map(id => k(`worker:${id}`)))) === 0, 10000, 'no slot still recorded as working');
  w.kill('SIGTERM');
  expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  expect(await redis.r.smembers(k('workers'))).toEqual([]);
});
