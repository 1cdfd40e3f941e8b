/**
 * Job hooks and worker hooks in a real `pyres-ts worker` process (issue 12), with real signals:
 * the h1 sequence (fixtures/plugins/h1-job-hooks) from fixtures/jobs/hooks.js, queueEmpty once
 * the queue drained, shutdown and workerExit on TERM; onFailure for a TERM-deadline dirty exit
 * before its record; the same with --concurrency 4.
 */
import { k, processTestEnv, waitFor } from './helpers';

const env = processTestEnv();
const HOOK_JOBS = 'fixtures/jobs/hooks.js';
const job = (...args: unknown[]): string => JSON.stringify({ class: 'HookJob', args });

describe('pyres-ts worker with job hooks and worker hooks', () => {
  it('runs the h1 sequence; queueEmpty once drained; TERM: shutdown, then workerExit, then the process exits', async () => {
    for (const a of ['ok', 'fail', 'dontperform']) await env.push('p10', job(a));
    const { proc } = await env.startWorker([], 'p10', { jobs: [HOOK_JOBS] });
    await env.waitForLedger(/^worker hook queue_empty$/, 8000);
    proc.kill('SIGTERM');
    expect((await proc.waitForEnd(10000)).code).toBe(0);
    expect(env.ledgerLines()).toEqual([
      'worker hook before_first_fork',
      'before_perform_a ["ok"]',
      'before_perform_b ["ok"]',
      'around_perform_a enter',
      'around_perform_b enter',
      'perform ["ok"]',
      'around_perform_b leave',
      'around_perform_a leave',
      'after_perform_log ["ok"]',
      'before_perform_a ["fail"]',
      'before_perform_b ["fail"]',
      'around_perform_a enter',
      'around_perform_b enter',
      'perform ["fail"]',
      'on_failure_log ArgumentError "boom" ["fail"]',
      'before_perform_a ["dontperform"]',
      'worker hook queue_empty',
      'worker hook shutdown',
      'worker hook worker_exit',
    ]);
    expect(await env.stat('processed')).toBe('3');
    expect(await env.stat('failed')).toBe('1');
  });

  it('a job past the TERM deadline: the worker runs onFailure (Resque::DirtyExit) before it writes the record', async () => {
    await env.push('p10', job('dirty', 60000));
    const { proc } = await env.startWorker(['--term-timeout', '0.5'], 'p10', { jobs: [HOOK_JOBS] });
    await env.waitForLedger(/^perform \["dirty",60000\]$/, 8000);
    expect(await env.redis.llen(k('failed'))).toBe(0);
    proc.kill('SIGTERM');
    await proc.waitForEnd(10000);
    const lines = env.ledgerLines();
    const failure = lines.find(l => l.startsWith('on_failure_log'));
    expect(failure).toMatch(/^on_failure_log Resque::DirtyExit "Job aborted by SIGTERM was still running after 0.5s; worker exited" \["dirty",60000\]$/);
    // shutdown when TERM came (the job still running), the dirty exit's onFailure at the deadline, workerExit last.
    expect(lines.slice(-3)).toEqual(['worker hook shutdown', failure, 'worker hook worker_exit']);
    const rec = JSON.parse((await env.redis.lindex(k('failed'), 0))!);
    expect(rec.exception).toBe('Resque::DirtyExit');
    expect(failure).toContain(JSON.stringify(rec.error));
  });

  it('--concurrency 4: every job its own hook sequence in its slot; the worker hooks once for the process', async () => {
    for (let i = 0; i < 8; i++) await env.push('p10', job('hold', 100 + i));
    const { proc } = await env.startWorker(['--concurrency', '4'], 'p10', { jobs: [HOOK_JOBS] });
    await waitFor(async () => (await env.stat('processed')) === '8', 10000, '8 processed');
    await env.waitForLedger(/^worker hook queue_empty$/, 8000);
    proc.kill('SIGTERM');
    expect((await proc.waitForEnd(10000)).code).toBe(0);
    const lines = env.ledgerLines();
    for (let i = 0; i < 8; i++) {
      const a = `["hold",${100 + i}]`;
      const at = (name: string): number => lines.indexOf(`${name} ${a}`);
      expect(at('before_perform_a')).toBeGreaterThan(0);
      expect(at('before_perform_a')).toBeLessThan(at('before_perform_b'));
      expect(at('before_perform_b')).toBeLessThan(at('perform'));
      expect(at('perform')).toBeLessThan(at('after_perform_log'));
    }
    expect(lines.filter(l => l === 'around_perform_b leave')).toHaveLength(8);
    // Jobs overlapped: a second perform started before the first job's after hook.
    expect(lines.findIndex(l => l.startsWith('perform '), lines.findIndex(l => l.startsWith('perform ')) + 1)).toBeLessThan(
      lines.findIndex(l => l.startsWith('after_perform_log')),
    );
    expect(lines.filter(l => l.startsWith('worker hook'))).toEqual([
      'worker hook before_first_fork',
      'worker hook queue_empty',
      'worker hook shutdown',
      'worker hook worker_exit',
    ]);
  });
});
