/**
 * `pyres-ts master` lifecycle with real processes, real signals and a real redis-server
 * (COMPAT.md "Master (pre-fork)"): children are ordinary registered workers under their own
 * pids; a dead child is recorded as Resque::DirtyExit and replaced; TERM and QUIT are graceful
 * with --term-timeout; a SIGKILLed master leaves no orphans; a crash loop backs off.
 */
import * as path from 'node:path';
import { FIXTURES, childPidsOf, isRunning, k, masterTestEnv, parseFailure, pidExists, titleOf, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();

describe('pyres-ts master: children, supervision, shutdown', () => {
  it('--pool 3: three registered workers with distinct pids, each a child of the master, titled as pyres workers', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '3', '--worker-init', path.join(FIXTURES, 'init-ledger.js')]);
    const pids = await env.waitForChildren(m.pid, 3);
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(m.pid);
    expect(await env.workers()).toEqual(pids.map(p => workerIdFor(p)).sort());
    for (const p of pids) {
      const title = await waitFor(() => /Waiting for p10,p9/.test(titleOf(p)) && titleOf(p), 3000, `child ${p} title`);
      expect(title).toMatch(/^resque-\d/);
      expect(title).toContain('pyres_worker');
      expect(title).toContain(`child of ${m.pid}`);
      // Ordinary workers: started time and heartbeat as Ruby writes them.
      expect(await env.redis.get(k(`worker:${workerIdFor(p)}:started`))).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
      expect(await env.redis.hexists(k('workers:heartbeat'), workerIdFor(p))).toBe(1);
    }
    expect(titleOf(m.pid)).toMatch(/pyres_manager .*master: managing p10,p9=3/);
    // --worker-init ran once in every child, before it registered.
    expect(env.ledgerLines().sort()).toEqual(pids.map(p => `init ${p}`).sort());
    // Jobs run in the children.
    await env.enqueue('p9', 'Pid', 'a');
    const line = await env.waitForLedger(/^Pid a /);
    expect(pids).toContain(Number(line.split(' ')[2]));
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.waitGone(pids, 3000);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });

  it('`manager` alias with --workers groups and a YAML --config with --environment sections', async () => {
    const a = await env.startMaster(['--workers', 'p10,p9=2:p1=1'], { command: 'manager' });
    expect(await env.waitForChildren(a.pid, 2, 5000, 'p10,p9')).toHaveLength(2);
    expect(await env.workerPids('p1')).toHaveLength(1);
    a.kill('SIGTERM');
    expect(await a.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();

    const cfg = env.writeTmp('pool.yml', ['"p10,p9": 1', 'production:', '  "p1": 2', '  "p10,p9": 2', 'development:', '  "p1": 1', ''].join('\n'));
    const b = await env.startMaster(['--config', cfg, '--environment', 'production']);
    expect(await env.waitForChildren(b.pid, 2, 5000, 'p10,p9')).toHaveLength(2);
    expect(await env.workerPids('p1')).toHaveLength(2);
    b.kill('SIGTERM');
    expect(await b.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });

  it('a child SIGKILLed mid-job: its job becomes a Resque::DirtyExit, it is unregistered, a new child replaces it', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '3']);
    const before = await env.waitForChildren(m.pid, 3);
    const raw = await env.enqueue('p9', 'Sleep', 5);
    const busyId = await waitFor(
      async () => {
        for (const id of await env.workers()) if (await env.redis.exists(k(`worker:${id}`))) return id;
        return null;
      },
      5000,
      'a worker holding the Sleep job',
    );
    await env.waitForLedger(/Sleep start 5/);
    const victim = Number(busyId.split(':')[1]);
    expect(before).toContain(victim);
    const mark = m.mark();
    process.kill(victim, 'SIGKILL');
    await m.waitForLine(new RegExp(`child ${victim} was killed by SIGKILL while working on Sleep; recorded as Resque::DirtyExit`), 5000, mark);
    const [rec] = await env.waitForFailures(1);
    expect(rec).toContain(`"payload":${raw},"exception":"Resque::DirtyExit"`);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('Resque::DirtyExit');
    expect(f.worker).toBe(busyId);
    expect(f.queue).toBe('p9');
    expect(f.error).toContain(String(victim));
    expect(f.backtrace).toEqual([]);
    await env.expectUnregistered(busyId);
    const after = await env.waitForChildren(m.pid, 3, 8000);
    expect(after).not.toContain(victim);
    expect(after.filter(p => before.includes(p))).toHaveLength(2);
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);
    expect(env.ledgerLines()).not.toContain('Sleep done 5');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });

  it('a job that exits its own process (process.exit with code 3): DirtyExit naming the code, child replaced', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '1']);
    const [first] = await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('p9', 'Exit', 3);
    const [rec] = await env.waitForFailures(1);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('Resque::DirtyExit');
    expect(f.error).toMatch(/exited with code 3/);
    expect(f.worker).toBe(workerIdFor(first!));
    expect(rec).toContain(`"payload":${raw}`);
    await env.expectUnregistered(workerIdFor(first!));
    const [second] = await env.waitForChildren(m.pid, 1, 8000);
    expect(second).not.toBe(first);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('TERM with a job that ignores its AbortSignal: killed at --term-timeout 2, DirtyExit recorded, master exits 0, nothing left', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2', '--term-timeout', '2']);
    const pids = await env.waitForChildren(m.pid, 2);
    const raw = await env.enqueue('p9', 'Stubborn', 60);
    await env.waitForLedger(/Stubborn start/);
    const busyId = await waitFor(
      async () => {
        for (const id of await env.workers()) if (await env.redis.exists(k(`worker:${id}`))) return id;
        return null;
      },
      3000,
      'the busy worker',
    );
    const t0 = Date.now();
    m.kill('SIGTERM');
    const exit = await m.waitForEnd(8000);
    const took = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4500);
    expect(m.stderr()).toMatch(/still running at the 2s deadline; killing it/);
    // The child names the master's deadline, not its own backstop (2 s later).
    expect(m.stderr()).toMatch(/aborting Stubborn \(SIGTERM[^)]*\); it has 2s to finish/);
    const recs = await env.failures();
    expect(recs).toHaveLength(1);
    expect(recs[0]).toContain(`"payload":${raw},"exception":"Resque::DirtyExit"`);
    const f = parseFailure(recs[0]!);
    expect(f.worker).toBe(busyId);
    expect(f.queue).toBe('p9');
    expect(env.ledgerLines()).not.toContain('Stubborn done');
    await env.waitGone(pids, 2000);
    expect(childPidsOf(m.pid)).toEqual([]);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });

  it('INT as resque-pool has it: the running job is not aborted but finishes, is counted, master exits 0', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    const pids = await env.waitForChildren(m.pid, 2);
    await env.enqueue('p9', 'Abortable', 1);
    await env.waitForLedger(/Abortable start/);
    m.kill('SIGINT');
    await m.waitForLine(/SIGINT: stopping 2 children \(finishing their jobs\)/, 3000);
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    // An abort would have been seen: Abortable records "aborted" and a DirtyExit would be written.
    expect(env.ledgerLines()).toEqual(['Abortable start', 'Abortable done']);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    await env.waitGone(pids, 2000);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });

  it('QUIT with a job running: the job finishes, is counted, master exits 0, nothing stale', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    const pids = await env.waitForChildren(m.pid, 2);
    await env.enqueue('p9', 'Sleep', 1);
    await env.waitForLedger(/Sleep start 1/);
    m.kill('SIGQUIT');
    await m.waitForLine(/SIGQUIT: stopping 2 children \(finishing their jobs\)/, 3000);
    const exit = await m.waitForEnd(8000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual(['Sleep start 1', 'Sleep done 1']);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    await env.waitGone(pids, 2000);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });

  it('master SIGKILLed: its children finish their current job, unregister and exit (no orphans)', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    const pids = await env.waitForChildren(m.pid, 2);
    await env.enqueue('p9', 'Sleep', 1);
    await env.waitForLedger(/Sleep start 1/);
    m.kill('SIGKILL');
    await m.waitForEnd(3000);
    // The children notice (IPC disconnect), finish the job and go.
    await env.waitForLedger(/Sleep done 1/, 4000);
    await waitFor(
      () => pids.every(p => !isRunning(p)),
      6000,
      () => `children ${pids.filter(isRunning).join(',')} to exit`,
    );
    // process.kill(pid, 0) fails once reaped; in this sandbox pid 1 does not reap orphans, so an
    // exited orphan may stay a zombie: it runs nothing and holds nothing.
    for (const p of pids) if (pidExists(p)) expect(isRunning(p)).toBe(false);
    await env.expectNoWorkersLeft();
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
  });
});
