/**
 * Pruning never kills the living across PID namespaces (issue 9, case 1). A worker started in
 * its own PID namespace (`unshare --pid --fork --mount-proc`, as in a container sharing the
 * host name) sees none of the host's pids: before, its prune unregistered every live worker
 * outside and wrote false DirtyExit records. Now the pid rule applies only to workers whose
 * recorded PID namespace is the pruner's own, and (Ruby 3.0) whose queue set is the pruner's.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { JOBS, k, parseFailure, processTestEnv, waitFor } from './helpers';
import { BIN, PROJECT_ROOT, spawnTracked, type Spawned } from '../support/spawn';
import { childPidsOf } from '../support/procs';
import { readPidNamespace } from '../../src/worker/pidNamespace';

const env = processTestEnv();

function unshareProbe(): string | null {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8', timeout: 10000 });
  if (r.error) return `unshare is not available (${r.error.message})`;
  if (r.status !== 0) return `unshare --pid --fork --mount-proc is not permitted here (${(r.stderr || '').trim() || `exit ${r.status}`})`;
  return null;
}
const skipReason = unshareProbe();

/** A PID namespace kept alive by its init (`sleep`); processes are entered into it with nsenter. */
class PidNamespace {
  private constructor(
    readonly holder: Spawned,
    readonly initPid: number,
  ) {}

  static async create(): Promise<PidNamespace> {
    const holder = spawnTracked('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'sleep', '600'], env.spawnOpts());
    const initPid = await waitFor(() => childPidsOf(holder.pid)[0], 5000, 'the namespace init');
    return new PidNamespace(holder, initPid);
  }

  /** `pyres-ts worker ...` inside; resolves with its id (its pid as the namespace sees it) and its host pid. */
  async startWorker(queues: string, extra: string[] = []): Promise<{ proc: Spawned; id: string; hostPid: number }> {
    const proc = spawnTracked(
      'nsenter',
      [
        '--target',
        String(this.initPid),
        '--pid',
        '--mount',
        '--',
        process.execPath,
        BIN,
        'worker',
        '--queues',
        queues,
        '--jobs',
        path.join(PROJECT_ROOT, JOBS),
        '-l',
        'debug',
        ...extra,
      ],
      env.spawnOpts(),
    );
    const line = await proc.waitForLine(/registered;/, 10000);
    const id = /\[([^\]]+)\] registered;/.exec(line)![1]!;
    const hostPid = await waitFor(() => childPidsOf(proc.pid)[0], 2000, 'the worker under nsenter');
    return { proc, id, hostPid };
  }

  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    await this.holder.waitForEnd(5000);
  }
}

const describeNs = skipReason ? describe.skip : describe;
if (skipReason) console.log(`test/process/pidns.test.ts skipped: ${skipReason}`);

describeNs('pruning across PID namespaces (unshare)', () => {
  let ns: PidNamespace | null = null;
  afterEach(async () => {
    await ns?.close();
    ns = null;
  });

  it("a worker in its own PID namespace prunes neither the live workers outside nor other queues' workers; it does prune its own namespace's dead", async () => {
    const r = env.redis;
    ns = await PidNamespace.create();

    // Inside: D holds a job when it is SIGKILLed; E (other queues) is SIGKILLed idle.
    const d = await ns.startWorker('p10,p9');
    const dJob = await env.enqueue('p9', 'Sleep', 30);
    await env.waitForLedger(/^Sleep start 30/);
    process.kill(d.hostPid, 'SIGKILL');
    await d.proc.waitForEnd(5000);
    const e = await ns.startWorker('other');
    process.kill(e.hostPid, 'SIGKILL');
    await e.proc.waitForEnd(5000);
    const innerNs = await r.hget(k('pyres-ts:pidns'), d.id);
    const eNs = await r.hget(k('pyres-ts:pidns'), e.id);
    expect(await r.get(k(`worker:${d.id}`))).toContain(dJob);

    // Outside: three live workers on the same queues, one busy with a long job.
    const outside = [await env.startWorker(), await env.startWorker(), await env.startWorker()];
    const busyJob = await env.enqueue('p10', 'Sleep', 29);
    await env.waitForLedger(/^Sleep start 29/);
    const busy = await waitFor(
      async () => {
        for (const w of outside) if ((await r.get(k(`worker:${w.id}`)))?.includes(busyJob)) return w;
        return null;
      },
      3000,
      'the busy outside worker',
    );
    // The outside workers' prunes did not touch the inner namespace's dead either (not provable from here).
    expect(await r.sismember(k('workers'), d.id)).toBe(1);
    expect(await env.failures()).toEqual([]);

    // A new worker inside, on the same queues, prunes (the lock of the last start stands in for a minute).
    await r.del(k('pruning_dead_workers_in_progress'));
    const p = await ns.startWorker('p10,p9');
    await p.proc.waitForLine(new RegExp(`pruned dead worker ${d.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 100);

    // The living are untouched...
    for (const w of outside) {
      expect(await r.sismember(k('workers'), w.id)).toBe(1);
      expect(await r.exists(k(`worker:${w.id}:started`))).toBe(1);
      await p.proc.waitForLine(new RegExp(`skipping the pid check of ${w.id}: it runs in another PID namespace`), 100);
    }
    expect(await r.get(k(`worker:${busy.id}`))).toContain(busyJob);
    // ... and so is E, on other queues (Ruby 3.0's guard), though its pid is dead in this namespace.
    expect(await r.sismember(k('workers'), e.id)).toBe(1);
    await p.proc.waitForLine(new RegExp(`skipping ${e.id}: its queues are not ours`), 100);
    // D, dead in the pruner's own namespace, is pruned with its DirtyExit record.
    await env.expectUnregistered(d.id);
    const recs = await env.failures();
    expect(recs).toHaveLength(1);
    const f = parseFailure(recs[0]!);
    expect(f.exception).toBe('Resque::DirtyExit');
    expect(f.error).toBe('Job still being processed');
    expect(f.worker).toBe(d.id);
    expect(f.payload).toEqual(JSON.parse(dJob));
    // Both recorded the inner namespace (not ours) when they registered.
    expect(innerNs).toMatch(/^pid:\[\d+\]@/);
    expect(innerNs).not.toBe(readPidNamespace());
    expect(eNs).toBe(innerNs);
    for (const w of outside) expect(await r.hget(k('pyres-ts:pidns'), w.id)).toBe(readPidNamespace());

    // Stop everyone (the one inside by its host pid: nsenter only waits for it).
    for (const w of outside) w.proc.kill('SIGTERM');
    process.kill(p.hostPid, 'SIGQUIT');
    for (const w of [...outside, p]) expect(await w.proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    for (const w of [...outside, p]) await env.expectUnregistered(w.id);
  }, 60000);
});
