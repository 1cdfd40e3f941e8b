/**
 * A master's child whose master is gone bounds its current job (issue 9, case 9): a master
 * SIGKILLed while its child runs a job that blocks the event loop forever used to leave that
 * child alive and registered at 100% CPU. The child's liveness thread watches process.ppid; past
 * the job timeout + grace (or, with no job timeout, --term-timeout after the master went away)
 * it records the job as failed and SIGKILLs its own process.
 *
 * The master here is test/process/fixtures/fakeMaster.js: a node process whose one child is a
 * Worker from dist with supervisedBy { masterPid: the fake master }.
 */
import * as path from 'node:path';
import { JOBS, k, parseFailure, processTestEnv, waitFor, workerIdFor } from './helpers';
import { PROJECT_ROOT, spawnTracked } from '../support/spawn';
import { isRunning } from '../support/procs';

const env = processTestEnv();
const BLOCKING = 'fixtures/jobs/blocking.js';
const FAKE_MASTER = path.join(PROJECT_ROOT, 'test', 'process', 'fixtures', 'fakeMaster.js');

/** The fake masters' children (not tracked by spawn.ts): killed after each test if still running. */
const children = new Set<number>();
afterEach(() => {
  for (const pid of children) {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
  children.clear();
});

async function startFakeMaster(supervisedBy: Record<string, unknown>, options: Record<string, unknown> = {}) {
  const spec = {
    queues: 'p10,p9',
    jobs: [JOBS, BLOCKING],
    options: { heartbeatInterval: 1, ...options, supervisedBy: { masterPid: 'parent', ...supervisedBy } },
  };
  const master = spawnTracked(process.execPath, [FAKE_MASTER], env.spawnOpts({ PYRES_TEST_WORKER: JSON.stringify(spec) }));
  const childPid = Number(/^child (\d+)/.exec(await master.waitForLine(/^child \d+/, 5000))![1]);
  children.add(childPid);
  await master.waitForLine(/registered;/, 8000);
  return { master, childPid, id: workerIdFor(childPid, 'p10,p9') };
}

describe('a supervised child whose master is gone (real processes)', () => {
  it('with a job timeout: a job blocking the event loop forever is recorded as JobTimeoutError and the child is gone within timeout + grace + 2 s', async () => {
    const { master, childPid, id } = await startFakeMaster({ jobTimeout: 2, timeoutGrace: 1, termTimeout: 2 });
    const raw = await env.enqueue('p9', 'CpuLoop', null);
    await env.waitForLedger(/^CpuLoop start null/);
    const jobStart = Date.now();
    master.kill('SIGKILL');
    await waitFor(() => !isRunning(childPid), 2 * 1000 + 1 * 1000 + 2000 + 1000, 'the orphaned child gone', 50);
    expect(Date.now() - jobStart).toBeLessThan(5000 + 500);
    const recs = await waitFor(
      async () => {
        const f = await env.failures();
        return f.length ? f : null;
      },
      2000,
      'a failure record',
    );
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.error).toMatch(/exceeded its 2s timeout while its master \(pid \d+\) was gone/);
    expect(f.worker).toBe(id);
    expect(f.queue).toBe('p9');
    expect(f.payload).toEqual(JSON.parse(raw));
    await env.expectUnregistered(id);
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);
    await waitFor(() => master.lines().some(l => /killed itself \(SIGKILL\)/.test(l)), 2000, 'the child saying why');
  });

  it('with a 12 MB payload: the liveness thread (a heap of a few MB) still records the job byte for byte and ends the child on time', async () => {
    // Its record used to copy the payload into strings: the thread ran out of memory, and the
    // job ran on past its timeout with nobody left to stop it.
    const { master, childPid, id } = await startFakeMaster({ jobTimeout: 2, timeoutGrace: 1, termTimeout: 2 });
    const raw = await env.enqueue('p9', 'CpuLoop', null, 'x'.repeat(12 * 1024 * 1024));
    await env.waitForLedger(/^CpuLoop start null/);
    const jobStart = Date.now();
    master.kill('SIGKILL');
    // The kill comes after the timeout and grace (3 s), once the record landed or its bound ran
    // out (liveness.ts: a beat in flight settles in up to 1 s, the record gets up to 5 s): a
    // 12 MB record on a loaded machine can take seconds (a CI run once needed more than 3).
    await waitFor(() => !isRunning(childPid), 2 * 1000 + 1 * 1000 + 1000 + 5000 + 1000, 'the orphaned child gone', 50);
    expect(Date.now() - jobStart).toBeLessThan(2 * 1000 + 1 * 1000 + 1000 + 5000 + 500);
    const recs = await env.failures();
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.worker).toBe(id);
    expect(recs[0]!.indexOf(`"payload":${raw},"exception"`)).toBeGreaterThan(0);
    await env.expectUnregistered(id);
    expect(master.lines().some(l => /liveness thread crashed/.test(l))).toBe(false);
  });

  it('with no job timeout: the job is recorded as Resque::DirtyExit --term-timeout s after the master went away', async () => {
    const { master, childPid, id } = await startFakeMaster({ jobTimeout: null, timeoutGrace: 1, termTimeout: 2 });
    const raw = await env.enqueue('p10', 'CpuLoop', null);
    await env.waitForLedger(/^CpuLoop start null/);
    master.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => !isRunning(childPid), 2000 + 2000 + 1000, 'the orphaned child gone', 50);
    expect(Date.now() - killedAt).toBeLessThan(4500);
    const recs = await waitFor(
      async () => {
        const f = await env.failures();
        return f.length ? f : null;
      },
      2000,
      'a failure record',
    );
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('Resque::DirtyExit');
    expect(f.error).toBe('master gone; job still running after 2s');
    expect(f.worker).toBe(id);
    expect(f.payload).toEqual(JSON.parse(raw));
    await env.expectUnregistered(id);
  });

  it("with failureBackend redis_multi_queue: the liveness thread's record goes to <queue>_failed + failed_queues", async () => {
    const { master, childPid, id } = await startFakeMaster({ jobTimeout: 2, timeoutGrace: 1, termTimeout: 2 }, { failureBackend: 'redis_multi_queue' });
    const raw = await env.enqueue('p9', 'CpuLoop', null);
    await env.waitForLedger(/^CpuLoop start null/);
    master.kill('SIGKILL');
    await waitFor(() => !isRunning(childPid), 2 * 1000 + 1 * 1000 + 2000 + 1000, 'the orphaned child gone', 50);
    const recs = await waitFor(
      async () => {
        const f = await env.redis.lrange(k('p9_failed'), 0, -1);
        return f.length ? f : null;
      },
      2000,
      'a failure record in p9_failed',
    );
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.worker).toBe(id);
    expect(f.payload).toEqual(JSON.parse(raw));
    expect(await env.redis.smembers(k('failed_queues'))).toEqual(['p9_failed']);
    expect(await env.failures()).toEqual([]);
    await env.expectUnregistered(id);
  });

  it('while the master lives, a long job is left alone', async () => {
    const { master, childPid, id } = await startFakeMaster({ jobTimeout: 1, timeoutGrace: 0.5, termTimeout: 1 });
    await env.enqueue('p9', 'BlockingSleep', 3);
    await env.waitForLedger(/^BlockingSleep done 3/, 6000);
    expect(isRunning(childPid)).toBe(true);
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    process.kill(childPid, 'SIGQUIT');
    await waitFor(() => master.lines().some(l => /^child exited 0/.test(l)), 5000, 'the child to exit');
    await env.expectUnregistered(id);
    master.kill('SIGTERM');
    await master.waitForEnd(5000);
  });
});
