/**
 * onFailure for a child killed mid-job (issue 12): the master loads no job modules, so it runs
 * the job's onFailure hooks in a check process that does (src/jobs/load.ts,
 * runFailureHooksInCheck), before it writes the Resque::DirtyExit record, as Resque's parent
 * runs on_failure before `RPUSH failed` (fixtures/plugins/h1-job-hooks).
 */
import { childPidsOf, k, masterTestEnv, waitFor } from './helpers';

const env = masterTestEnv();
const HOOK_JOBS = 'fixtures/jobs/hooks.js';

describe('pyres-ts master: onFailure for a killed child', () => {
  it('a SIGKILLed child: onFailure (Resque::DirtyExit) runs in another process, before the record', async () => {
    const m = await env.startMaster(['--queues', 'p10', '--pool', '1'], { jobs: [HOOK_JOBS], env: { PYRES_TEST_HOOK_REDIS: env.url } });
    await env.redis.rpush(k('queue:p10'), '{"class":"HookJob","args":["dirty",60000]}');
    await env.waitForLedger(/^perform \["dirty",60000\]$/);
    const [id] = await env.workers();
    const victim = Number(id!.split(':')[1]);
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => (await env.redis.llen(k('failed'))) === 1, 10000, 'the DirtyExit record');
    const lines = env.ledgerLines();
    expect(lines).toContain(`on_failure_log Resque::DirtyExit "Child process received unhandled signal pid ${victim} SIGKILL" ["dirty",60000]`);
    const seen = lines.find(l => l.startsWith('on_failure_seen'));
    const pid = Number(/pid=(\d+)/.exec(seen ?? '')?.[1]);
    expect(pid).not.toBe(victim);
    expect(pid).not.toBe(m.pid);
    expect(seen).toMatch(/ failed=0$/);
    const rec = JSON.parse((await env.redis.lindex(k('failed'), 0))!);
    expect([rec.exception, rec.error]).toEqual(['Resque::DirtyExit', `Child process received unhandled signal pid ${victim} SIGKILL`]);
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });

  it.each([
    ['one slot', 'p11', []],
    ['--concurrency 2 (the other slot idle)', 'p12', ['--concurrency', '2']],
  ])(
    "a child of a SIGKILLed master whose job blocks its loop past --job-timeout (%s): the child's self-kill runs onFailure in another process, before the record",
    async (_what, queue, extra) => {
      const m = await env.startMaster(['--queues', queue, '--pool', '1', '--job-timeout', '2', '--timeout-grace', '1', ...extra], {
        jobs: [HOOK_JOBS],
        env: { PYRES_TEST_HOOK_REDIS: env.url },
      });
      const slots = extra.length > 0 ? 2 : 1;
      const child = await waitFor(
        async () => {
          const ids = await env.workers();
          const pids = [...new Set(ids.map(id => Number(id.split(':')[1])))];
          return ids.length === slots && pids.length === 1 && childPidsOf(m.pid).includes(pids[0]!) ? pids[0]! : null;
        },
        10000,
        `${slots} registered slot(s) of one child`,
      );
      await env.redis.rpush(k(`queue:${queue}`), '{"class":"HookJob","args":["spin",600000]}');
      await env.waitForLedger(/^perform \["spin",600000\]$/);
      m.kill('SIGKILL');
      await m.waitForEnd(5000);
      // The job never yields: only the liveness thread's self-kill ends the child.
      await env.waitGone([child], 30000);
      await waitFor(async () => (await env.redis.llen(k('failed'))) === 1, 10000, 'the JobTimeoutError record');
      const message = `Job exceeded its 2s timeout while its master (pid ${m.pid}) was gone; worker ${child} killed itself (SIGKILL) after a 1s grace`;
      const lines = env.ledgerLines();
      expect(lines).toContain(`on_failure_log JobTimeoutError ${JSON.stringify(message)} ["spin",600000]`);
      const seen = lines.find(l => l.startsWith('on_failure_seen'));
      const pid = Number(/pid=(\d+)/.exec(seen ?? '')?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(child);
      expect(pid).not.toBe(m.pid);
      // The hook ran before the record was written.
      expect(seen).toMatch(/ failed=0$/);
      const rec = JSON.parse((await env.redis.lindex(k('failed'), 0))!);
      expect([rec.exception, rec.error, rec.queue]).toEqual(['JobTimeoutError', message, queue]);
      // The killed job's slot is gone; an idle slot stays for a prune (its pid is dead), holding nothing.
      const left = await env.workers();
      expect(left).toHaveLength(slots - 1);
      for (const id of left) {
        expect(Number(id.split(':')[1])).toBe(child);
        expect(await env.redis.exists(k(`worker:${id}`))).toBe(0);
      }
    },
  );
});
