/**
 * Real signals to the real `pyres-ts worker` process (COMPAT.md "Signals (standalone worker)"):
 * QUIT finishes the job; TERM/INT abort it, wait --term-timeout, record Resque::DirtyExit and
 * exit; a second TERM exits at once; USR1 aborts the job and carries on; USR2/CONT pause and
 * resume; the global pause-all-workers key pauses too.
 */
import { k, parseFailure, processTestEnv, sleep, waitFor } from './helpers';

const env = processTestEnv();

async function expectDirtyExitOnce(id: string, raw: string, error: RegExp): Promise<void> {
  const recs = await env.failures();
  expect(recs).toHaveLength(1);
  expect(recs[0]).toContain(`"payload":${raw},"exception":"Resque::DirtyExit","error":`);
  const f = parseFailure(recs[0]!);
  expect(f.exception).toBe('Resque::DirtyExit');
  expect(f.error).toMatch(error);
  expect(f.backtrace).toEqual([]);
  expect(f.worker).toBe(id);
  expect(f.queue).toBe('p9');
  // A dirty exit is not a job failure: stat:failed is not counted (Ruby, PROTOCOL §4.6).
  expect(await env.stat('failed')).toBeNull();
}

describe('worker signals (real process, real signals)', () => {
  it('QUIT during a job: the job finishes, exit 0, unregistered', async () => {
    const { proc, id } = await env.startWorker();
    await env.enqueue('p9', 'Sleep', 1);
    await env.waitForLedger(/Sleep start 1/);
    expect(await env.redis.exists(k(`worker:${id}`))).toBe(1);
    proc.kill('SIGQUIT');
    await proc.waitForLine(/SIGQUIT received/, 2000);
    // Not gone before the job is done.
    await sleep(300);
    expect(proc.exited).toBe(false);
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual(['Sleep start 1', 'Sleep done 1']);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    await env.expectUnregistered(id);
  });

  it('QUIT while idle exits 0 promptly', async () => {
    const { proc, id } = await env.startWorker();
    const t0 = Date.now();
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(3000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    await env.expectUnregistered(id);
  });

  it('TERM during an abortable job: exits quickly with a Resque::DirtyExit record, unregistered', async () => {
    const { proc, id } = await env.startWorker();
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    const t0 = Date.now();
    proc.kill('SIGTERM');
    const exit = await proc.waitForEnd(5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).not.toContain('Abortable done');
    await expectDirtyExitOnce(id, raw, /SIGTERM/);
    expect(await env.stat('processed')).toBe('1');
    await env.expectUnregistered(id);
  });

  it('the DirtyExit error of a job that rejects with its AbortSignal reason says what happened once', async () => {
    const { proc, id } = await env.startWorker();
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    proc.kill('SIGTERM');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await expectDirtyExitOnce(id, raw, /SIGTERM/);
    const f = parseFailure((await env.failures())[0]!);
    // Abortable rejects with signal.reason itself; its message must not be appended to the
    // same text again ("Job aborted by SIGTERM: Job aborted by SIGTERM").
    expect(f.error).not.toMatch(/^(.+): \1$/);
  });

  it('TERM during a job that ignores its AbortSignal: exits after --term-timeout with a DirtyExit record', async () => {
    const { proc, id } = await env.startWorker(['--term-timeout', '1']);
    const raw = await env.enqueue('p9', 'Stubborn', 30);
    await env.waitForLedger(/Stubborn start/);
    const t0 = Date.now();
    proc.kill('SIGTERM');
    const exit = await proc.waitForEnd(6000);
    const took = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    await expectDirtyExitOnce(id, raw, /SIGTERM/);
    await env.expectUnregistered(id);
  });

  it('INT behaves like TERM', async () => {
    const { proc, id } = await env.startWorker();
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    const t0 = Date.now();
    proc.kill('SIGINT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    await expectDirtyExitOnce(id, raw, /SIGINT/);
    await env.expectUnregistered(id);
  });

  it('INT with a stubborn job honours --term-timeout too', async () => {
    const { proc, id } = await env.startWorker(['--term-timeout', '1']);
    const raw = await env.enqueue('p9', 'Stubborn', 30);
    await env.waitForLedger(/Stubborn start/);
    const t0 = Date.now();
    proc.kill('SIGINT');
    expect(await proc.waitForEnd(6000)).toEqual({ code: 0, signal: null });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    await expectDirtyExitOnce(id, raw, /SIGINT/);
    await env.expectUnregistered(id);
  });

  it('a second TERM during a stubborn job exits at once, still recording the DirtyExit', async () => {
    const { proc, id } = await env.startWorker(['--term-timeout', '30']);
    const raw = await env.enqueue('p9', 'Stubborn', 30);
    await env.waitForLedger(/Stubborn start/);
    proc.kill('SIGTERM');
    await proc.waitForLine(/SIGTERM received/, 2000);
    await sleep(200);
    expect(proc.exited).toBe(false);
    const t0 = Date.now();
    proc.kill('SIGTERM');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    // "At once" against the 30 s the job was given: ~0.5 s here, 1.5 s seen on a loaded CI machine.
    expect(Date.now() - t0).toBeLessThan(4000);
    await expectDirtyExitOnce(id, raw, /SIGTERM/);
    await env.expectUnregistered(id);
  });

  it('USR1 aborts the current job (DirtyExit) and the worker carries on with the next one', async () => {
    const { proc, id } = await env.startWorker();
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    proc.kill('SIGUSR1');
    await waitFor(async () => (await env.failures()).length === 1, 3000, 'the DirtyExit record');
    await expectDirtyExitOnce(id, raw, /SIGUSR1/);
    expect(await env.redis.exists(k(`worker:${id}`))).toBe(0);

    await env.enqueue('p9', 'Echo', 'next');
    await env.waitForLedger(/Echo \["next"\]/, 3000);
    expect(proc.exited).toBe(false);
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    await waitFor(async () => (await env.stat('processed')) === '2', 2000, 'stat:processed 2');
    expect(await env.stat(`processed:${id}`)).toBe('2');

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('USR2 pauses (a new job stays queued), CONT resumes (it is worked)', async () => {
    const { proc, id } = await env.startWorker();
    proc.kill('SIGUSR2');
    await proc.waitForLine(/SIGUSR2 received/, 2000);
    await env.enqueue('p9', 'Echo', 'paused');
    await sleep(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);
    expect(env.ledgerLines()).toEqual([]);
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);

    const t0 = Date.now();
    proc.kill('SIGCONT');
    await env.waitForLedger(/Echo \["paused"\]/, 3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('QUIT while paused by USR2 exits 0', async () => {
    const { proc, id } = await env.startWorker();
    proc.kill('SIGUSR2');
    await proc.waitForLine(/SIGUSR2 received/, 2000);
    await sleep(100);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(3000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('pause-all-workers " TRUE " pauses; DEL resumes', async () => {
    const { proc, id } = await env.startWorker();
    await env.redis.set(k('pause-all-workers'), ' TRUE ');
    await env.enqueue('p9', 'Echo', 'global');
    await sleep(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);
    expect(env.ledgerLines()).toEqual([]);

    const t0 = Date.now();
    await env.redis.del(k('pause-all-workers'));
    await env.waitForLedger(/Echo \["global"\]/, 4000);
    expect(Date.now() - t0).toBeLessThan(2500);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('pause-all-workers pauses a --nonblocking-pop worker too', async () => {
    const { proc } = await env.startWorker(['--nonblocking-pop', '--backoff-min', '0.2', '--backoff-max', '0.4']);
    await env.redis.set(k('pause-all-workers'), 'true');
    await env.enqueue('p9', 'Echo', 'nb');
    await sleep(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);
    await env.redis.del(k('pause-all-workers'));
    await env.waitForLedger(/Echo \["nb"\]/, 4000);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('HUP is logged and ignored', async () => {
    const { proc, id } = await env.startWorker();
    proc.kill('SIGHUP');
    await proc.waitForLine(/SIGHUP received: ignored/, 2000);
    await env.enqueue('p9', 'Echo', 'hup');
    await env.waitForLedger(/Echo \["hup"\]/, 3000);
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });
});
