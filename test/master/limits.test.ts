/**
 * The master's limits on its children, with real processes: --job-timeout (and a job's own
 * `timeout` property) aborts an over-long job, then kills its child after --timeout-grace with a
 * JobTimeoutError failure; --max-memory recycles a child after its job, and kills one that goes
 * past twice the limit mid-job (MemoryLimitError); --max-jobs recycles after N jobs.
 */
import { isRunning, masterTestEnv, parseFailure, sleep, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();

describe('pyres-ts master: job timeouts', () => {
  it('--job-timeout 1 --timeout-grace 1, a job that ignores its AbortSignal: child killed, JobTimeoutError, child replaced', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--job-timeout', '1', '--timeout-grace', '1']);
    const [first] = await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('p9', 'Stubborn', 30);
    await env.waitForLedger(/Stubborn start/);
    const t0 = Date.now();
    await m.waitForLine(/Stubborn has run over its 1s timeout; aborting it \(1s grace\)/, 3000);
    await m.waitForLine(/Stubborn still running 1s after its timeout; killing the child/, 3000);
    const [rec] = await env.waitForFailures(1, 3000);
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(rec).toContain(`"payload":${raw},"exception":"JobTimeoutError"`);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.error).toMatch(/1s timeout/);
    expect(f.worker).toBe(workerIdFor(first!));
    expect(f.queue).toBe('p9');
    await env.waitGone([first!], 2000);
    await env.expectUnregistered(workerIdFor(first!));
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    expect(env.ledgerLines()).not.toContain('Stubborn done');
    // The replacement works.
    await env.enqueue('p9', 'Pid', 'after');
    expect(await env.waitForLedger(/^Pid after /)).toBe(`Pid after ${second}`);
    expect(await env.failures()).toHaveLength(1);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('--job-timeout 1, a job that honours its AbortSignal: aborted and recorded as its own JobTimeoutError failure; the child lives on', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--job-timeout', '1', '--timeout-grace', '1']);
    const [child] = await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    await m.waitForLine(/Abortable has run over its 1s timeout; aborting it/, 3000);
    const [rec] = await env.waitForFailures(1, 3000);
    expect(rec).toContain(`"payload":${raw},"exception":"JobTimeoutError"`);
    const f = parseFailure(rec!);
    expect(f.error).toBe('Job exceeded its 1s timeout');
    expect(await env.stat('failed')).toBe('1');
    expect(f.worker).toBe(workerIdFor(child!));
    // Not killed: past the grace the same child is still registered and working.
    await sleep(1500);
    expect(m.stderr()).not.toMatch(/killing the child/);
    expect(isRunning(child!)).toBe(true);
    expect(await env.workerPids()).toEqual([child]);
    await env.enqueue('p9', 'Pid', 'next');
    expect(await env.waitForLedger(/^Pid next /)).toBe(`Pid next ${child}`);
    expect(await env.failures()).toHaveLength(1);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  // An object's `timeout` is resolved the same way (test/unit/registry.test.ts); the rule that it
  // wins is the supervisor's (test/unit/supervisor.test.ts). One end-to-end proof is enough.
  it.each([['a class with `static timeout = 1`', 'Slow']])("a job's own timeout property (%s) wins over --job-timeout 30", async (_what, cls) => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--job-timeout', '30', '--timeout-grace', '1']);
    const [first] = await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('p9', cls, 30);
    await env.waitForLedger(new RegExp(`^${cls} start`));
    await m.waitForLine(new RegExp(`${cls} has run over its 1s timeout`), 3000);
    const [rec] = await env.waitForFailures(1, 4000);
    const f = parseFailure(rec!);
    expect(rec).toContain(`"payload":${raw}`);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.error).toMatch(/1s timeout/);
    expect(f.worker).toBe(workerIdFor(first!));
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('a job that blocks the event loop past --job-timeout: the child cannot even hear the abort; it is killed with JobTimeoutError', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--job-timeout', '1', '--timeout-grace', '1']);
    const [first] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'Busy', 30);
    await env.waitForLedger(/Busy start/);
    const [rec] = await env.waitForFailures(1, 5000);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.worker).toBe(workerIdFor(first!));
    await env.waitGone([first!], 2000);
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });
});

describe('pyres-ts master: memory and job-count recycling', () => {
  it('--max-memory 100: a child over it after its job is recycled (no failure); a new child takes over', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--max-memory', '100']);
    const [first] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('p9', 'Hog', 80);
    await env.waitForLedger(/^Hog done 80 /);
    const line = await m.waitForLine(new RegExp(`child ${first} recycles: RSS \\d+ MB is over --max-memory 100 MB`), 5000);
    expect(Number(/RSS (\d+) MB/.exec(line)![1])).toBeGreaterThan(100);
    await env.waitGone([first!], 5000);
    await env.expectUnregistered(workerIdFor(first!));
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    expect(await env.stat('failed')).toBeNull();
    expect(m.stderr()).not.toMatch(/respawning in/);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('--max-memory 100: a child past twice the limit mid-job is killed; MemoryLimitError; replaced', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--max-memory', '100']);
    const [first] = await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('p9', 'Hog', 300, 20);
    // The master reads the child's RSS from /proc, so it may kill it before the job says it allocated.
    await env.waitForLedger(/^Hog start 300 /);
    await m.waitForLine(new RegExp(`child ${first}: RSS \\d+ MB is far past --max-memory 100 MB; killing it`), 5000);
    const [rec] = await env.waitForFailures(1, 3000);
    expect(rec).toContain(`"payload":${raw},"exception":"MemoryLimitError"`);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('MemoryLimitError');
    expect(f.error).toMatch(/max-memory 100 MB/);
    expect(f.worker).toBe(workerIdFor(first!));
    await env.waitGone([first!], 2000);
    await env.expectUnregistered(workerIdFor(first!));
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    expect(env.ledgerLines().some(l => l.startsWith('Hog done'))).toBe(false);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('--max-jobs 2: the child is replaced after its second job', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1', '--max-jobs', '2']);
    const [first] = await env.waitForChildren(m.pid, 1);
    for (const t of ['a', 'b', 'c', 'd']) await env.enqueue('p9', 'Pid', t);
    await env.waitForLedger(/^Pid d /, 8000);
    const pidOfJob = (t: string): number =>
      Number(
        env
          .ledgerLines()
          .find(l => l.startsWith(`Pid ${t} `))!
          .split(' ')[2],
      );
    expect(pidOfJob('a')).toBe(first);
    expect(pidOfJob('b')).toBe(first);
    expect(pidOfJob('c')).not.toBe(first);
    expect(pidOfJob('d')).toBe(pidOfJob('c'));
    expect(m.stderr()).toMatch(new RegExp(`child ${first} recycles: worked 2 jobs \\(--max-jobs 2\\)`));
    await env.expectUnregistered(workerIdFor(first!));
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('4');
    // c and d's child recycles too; a third one takes over.
    const [third] = await waitFor(
      async () => {
        const p = await env.workerPids();
        return p.length === 1 && p[0] !== first && p[0] !== pidOfJob('c') ? p : null;
      },
      8000,
      'a third child',
    );
    expect(isRunning(third!)).toBe(true);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });
});
