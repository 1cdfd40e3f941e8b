/**
 * Retries of jobs a master's child did not finish (issue 12), with real processes: a child
 * SIGKILLed mid-job gets Resque::DirtyExit, whose onFailure hooks the master runs in a check
 * process (src/jobs/checkMain.ts) with the job's context, so resque-retry's on_failure_retry
 * re-enqueues it as Ruby's parent does (retry.rb: DirtyExit → GET the attempt), and its record
 * is suppressed exactly when MultipleWithRetrySuppression would suppress it. A --job-timeout
 * abort is retried and suppressed the same way. Jobs: fixtures/jobs/retry.js.
 */
import { k, masterTestEnv, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();
const RETRY_JOBS = 'fixtures/jobs/retry.js';

describe('pyres-ts master: retries of a killed or timed-out child’s job', () => {
  it('a child SIGKILLed mid-job whose class retries with suppressFailures: the job runs again and succeeds; no `failed` record, counts right', async () => {
    const m = await env.startMaster(['--queues', 'p9', '--pool', '1'], { jobs: [RETRY_JOBS] });
    const [victim] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'RetryKilledJob', 'k');
    await env.waitForLedger(/^RetryKilledJob \["k"\]$/);
    const key = k('resque-retry:RetryKilledJob:13fbd79c3d390e5d6585a21e11ff5ec1970cff0c');
    expect(await env.redis.get(key)).toBe('0');
    process.kill(victim!, 'SIGKILL');
    // The dead child's registration goes in the same atomic step as its (suppressed) record.
    await waitFor(async () => (await env.redis.sismember(k('workers'), workerIdFor(victim!, 'p9'))) === 0, 10000, 'the dead child unregistered');
    await waitFor(() => env.ledgerLines().length === 2 || null, 10000, 'the retried run');
    await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 5000, 'stat:processed 1');
    expect(env.ledgerLines()).toEqual(['RetryKilledJob ["k"]', 'RetryKilledJob ["k"]']);
    expect(await env.failures()).toEqual([]);
    // A dirty exit is not a failed run (as Ruby): stat:failed untouched; the success deleted the key.
    expect(await env.stat('failed')).toBeNull();
    expect(await env.redis.exists(key)).toBe(0);
    expect(m.stderr()).toMatch(
      new RegExp(`child ${victim} .*RetryKilledJob; retried by its retry policy \\(Resque::DirtyExit not recorded: suppressFailures\\)`),
    );
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });

  it('without suppressFailures: the DirtyExit record is written and the job is retried too (as resque-retry with the default backend)', async () => {
    const m = await env.startMaster(['--queues', 'p9', '--pool', '1'], { jobs: [RETRY_JOBS] });
    const [victim] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'RetryKilledPlainJob', 'p');
    await env.waitForLedger(/^RetryKilledPlainJob/);
    process.kill(victim!, 'SIGKILL');
    const [rec] = await env.waitForFailures(1, 10000);
    expect(JSON.parse(rec!)).toMatchObject({ exception: 'Resque::DirtyExit', payload: { class: 'RetryKilledPlainJob', args: ['p'] } });
    await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 10000, 'the retried run finished');
    expect(env.ledgerLines()).toHaveLength(2);
    expect(await env.failures()).toHaveLength(1);
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });

  it('--job-timeout 1: the timed-out run (JobTimeoutError) is retried and, under suppressFailures, writes no `failed` record', async () => {
    const m = await env.startMaster(['--queues', 'p9', '--pool', '1', '--job-timeout', '1', '--timeout-grace', '5'], { jobs: [RETRY_JOBS] });
    await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'RetryTimeoutJob', 't');
    await m.waitForLine(/RetryTimeoutJob has run over its 1s timeout; aborting it/, 5000);
    await waitFor(() => env.ledgerLines().length === 2 || null, 10000, 'the retried run');
    await waitFor(async () => ((await env.stat('processed')) === '2' ? true : null), 5000, 'stat:processed 2');
    // The timed-out run counted as failed (its own failure, not a dirty exit), but is not listed.
    expect(await env.stat('failed')).toBe('1');
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });

  it('--max-memory 100: a child killed far past it mid-job (MemoryLimitError) has its job retried, the record suppressed', async () => {
    const m = await env.startMaster(['--queues', 'p9', '--pool', '1', '--max-memory', '100'], { jobs: [RETRY_JOBS] });
    const [first] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'RetryHogJob', 'h');
    await m.waitForLine(new RegExp(`child ${first}: RSS \\d+ MB is far past --max-memory 100 MB; killing it`), 10000);
    await waitFor(async () => (await env.redis.sismember(k('workers'), workerIdFor(first!, 'p9'))) === 0, 10000, 'the killed child unregistered');
    await waitFor(() => env.ledgerLines().length === 2 || null, 10000, 'the retried run');
    await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 5000, 'stat:processed 1');
    expect(await env.failures()).toEqual([]);
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });
});
