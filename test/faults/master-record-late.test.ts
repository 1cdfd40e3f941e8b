/**
 * A killed child's record that outlasts the master's 3 s bound (Redis SIGSTOPped; the same as a
 * record of tens of MB): the master says at the bound that it is not written yet, and logs the
 * real outcome once Redis answers. It used to log `could not clean up its registration …;
 * worker:<id> keeps its job for the next prune` at the bound, for a record that then landed.
 * Real bin/, a real redis-server, real signals.
 */
import { childPidsOf } from '../support/procs';
import { faultEnv, k, privateRedis, waitFor } from './helpers';

const env = faultEnv();
const redis = privateRedis();

afterEach(() => {
  try {
    redis.srv.proc!.kill('SIGCONT');
  } catch {
    /* gone */
  }
});

describe('a dead child recorded late (Redis silent)', () => {
  it('the bound is a warning, then the record lands and is logged; nothing says it was lost', async () => {
    const m = env.cli(['master', '--queues', 'late', '--pool', '1', '--jobs', 'fixtures/jobs/blocking.js'], redis.srv.url);
    await m.waitForLine(/all children registered/, 15000);
    const [child] = await waitFor(() => (childPidsOf(m.pid).length ? childPidsOf(m.pid) : null), 5000, 'the child');
    await redis.r.sadd(k('queues'), 'late');
    await redis.r.rpush(k('queue:late'), '{"class":"BlockingSleep","args":[30]}');
    await waitFor(async () => (await redis.r.exists(k(`worker:${(await redis.r.smembers(k('workers')))[0]}`))) === 1, 10000, 'the job running');
    redis.srv.proc!.kill('SIGSTOP');
    const from = m.mark();
    process.kill(child!, 'SIGKILL');
    await m.waitForLine(/its registration and job not recorded yet after 3000 ms/, 10000, from);
    redis.srv.proc!.kill('SIGCONT');
    await m.waitForLine(/was killed by SIGKILL while working on BlockingSleep; recorded as Resque::DirtyExit/, 10000, from);
    expect(await redis.r.llen(k('failed'))).toBe(1);
    expect(JSON.parse((await redis.r.lindex(k('failed'), 0))!).exception).toBe('Resque::DirtyExit');
    expect(m.lines().some(l => /could not clean up its registration/.test(l))).toBe(false);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });
});
