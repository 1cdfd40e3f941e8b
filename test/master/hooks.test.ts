/**
 * onFailure for a child killed mid-job (issue 12): the master loads no job modules, so it runs
 * the job's onFailure hooks in a check process that does (src/jobs/load.ts,
 * runFailureHooksInCheck), before it writes the Resque::DirtyExit record, as Resque's parent
 * runs on_failure before `RPUSH failed` (fixtures/plugins/h1-job-hooks).
 */
import { k, masterTestEnv, waitFor } from './helpers';

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
});
