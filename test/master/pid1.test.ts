/**
 * `pyres-ts master` as PID 1 of a PID namespace (a container without an init), with a real
 * process tree: a job leaves grandchildren behind, the kernel re-parents them to PID 1 (or the
 * nearest subreaper), and only that process's waitpid(2) removes their zombies.
 *
 * As PID 1 the command becomes a small init (src/cli/containerInit.ts) that runs the same
 * command as its child and reaps the orphans: with the native addon (native/reap.c), with
 * `tini -s`, or with a python3 subreaper (`--pid1` / PYRES_PID1 forces each here). With
 * `--pid1 off` the master is PID 1 itself, warns, and the 30 orphans stay zombies.
 * Needs `unshare --pid --fork --mount-proc` (root or user namespaces); skipped without it.
 * The native case needs the addon built (npm ci runs native/install.js), the tini case tini
 * on PATH (.ci/run installs Debian's), the python case python3: each fails without them.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN, PROJECT_ROOT, spawnTracked, type Spawned } from '../support/spawn';
import { pidExists, procPids, ppidOf } from '../support/procs';
import { childPidsOf, FIXTURES, k, masterTestEnv, parseFailure, procState, waitFor } from './helpers';

const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;
const env = masterTestEnv();
const ORPHANS = path.join(FIXTURES, 'orphans.js');
const masterArgs = ['master', '--queues', 'orph', '--pool', '1', '--jobs', ORPHANS];

/** Zombies whose parent is `pid` (host pids, read from the host's /proc). */
function zombiesOf(pid: number): number[] {
  return procPids().filter(p => ppidOf(p) === pid && procState(p) === 'Z');
}

/** `pyres-ts ARGS` as PID 1 of a new PID namespace (unshare is its parent, on the host). */
function inNamespace(args: readonly string[], mode: string, o: { detached?: boolean } = {}): Spawned {
  return spawnTracked('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, BIN, ...args], {
    ...env.spawnEnv({ PYRES_PID1: mode }),
    cwd: PROJECT_ROOT,
    ...(o.detached ? { detached: true } : {}),
  });
}

/** The tree under unshare: PID 1 (the init), the subreaper between (tini, python) if any, the master. */
async function treeOf(u: Spawned, withMiddle: boolean): Promise<{ init: number; reaper: number; master: number }> {
  const init = await waitFor(() => childPidsOf(u.pid)[0], 5000, 'PID 1 of the namespace');
  const reaper = withMiddle ? await waitFor(() => childPidsOf(init)[0], 5000, 'the subreaper under PID 1') : init;
  const master = await waitFor(() => childPidsOf(reaper)[0], 5000, 'the master');
  return { init, reaper, master };
}

/** `n` live children of `master` (host pids) and `n` registered workers (their ids carry namespace pids). */
async function waitForChildren(master: number, n: number): Promise<number[]> {
  await env.waitForWorkerCount(n);
  return waitFor(
    () => (childPidsOf(master).length === n ? childPidsOf(master) : null),
    10000,
    () => `${n} children of ${master}: ${childPidsOf(master)}`,
  );
}

(canUnshare ? describe : describe.skip)('PID 1 in a container (unshare --pid)', () => {
  it('--pid1 off: the master is PID 1 itself, warns at start, and the 30 orphans a job leaves stay zombies under it', async () => {
    const u = inNamespace(masterArgs, 'off');
    await u.waitForLine(/running as PID 1: orphaned grandchildren .* Node cannot reap them/, 10000);
    await u.waitForLine(/all children registered/, 10000);
    const master = await waitFor(() => childPidsOf(u.pid)[0], 3000, 'the master (pid 1 inside)');
    expect(u.lines().some(l => /PID 1: reaping orphans/.test(l))).toBe(false);
    await env.enqueue('orph', 'OrphanJob', 30);
    await env.waitForLedger(/^OrphanJob done 30$/, 10000);
    // Each sleep exits after 0.2 s; with nobody to reap it, it stays a zombie of PID 1.
    await waitFor(
      () => zombiesOf(master).length >= 30,
      8000,
      () => `30 zombies under ${master}: ${zombiesOf(master).length}`,
    );
    expect(zombiesOf(master)).toHaveLength(30);
    process.kill(master, 'SIGTERM');
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  for (const mode of ['native', 'tini', 'python'] as const) {
    it(`--pid1 ${mode}: PID 1 runs the master as a child, 30 orphans leave no zombie, TTIN and TERM reach the master, exit 0`, async () => {
      const u = inNamespace(masterArgs, mode);
      await u.waitForLine(new RegExp(`PID 1: reaping orphans \\(${mode}\\)`), 10000);
      await u.waitForLine(/all children registered/, 10000);
      expect(u.lines().some(l => /running as PID 1|running without an init/.test(l))).toBe(false);
      const { init, reaper, master } = await treeOf(u, mode !== 'native');
      const [child] = await waitForChildren(master, 1);
      await env.enqueue('orph', 'OrphanJob', 30, 2);
      await env.waitForLedger(/^OrphanJob done 30$/, 10000);
      // The orphans went to the reaper (each sleeps 2 s, so they are still there) ...
      const others = (): number[] => procPids().filter(p => ppidOf(p) === reaper && p !== master);
      expect(others().length).toBeGreaterThanOrEqual(25);
      // ... and once they exit they are reaped: no pid of theirs is left, not even a zombie.
      await waitFor(
        () => others().length === 0,
        10000,
        () => `the orphans to be reaped: ${others().map(p => `${p}:${procState(p)}`)}`,
      );
      for (const p of [init, reaper, master, child!]) expect(zombiesOf(p)).toEqual([]);
      // A signal to PID 1 is the master's: TTIN adds a child (tini would stop on its own TTIN).
      process.kill(init, 'SIGTTIN');
      await waitForChildren(master, 2);
      expect(procState(reaper)).not.toBe('T');
      process.kill(init, 'SIGTERM');
      expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
      expect(u.lines().filter(l => /SIGTERM received/.test(l))).toHaveLength(1);
      await env.expectNoWorkersLeft();
    });
  }

  it('PID 1 exits with the master: its exit code (a job module that does not load: 2), 128 + n when a signal ended it', async () => {
    const bad = inNamespace(['master', '--queues', 'orph', '--jobs', path.join(FIXTURES, 'no-such-module.js')], 'native');
    expect(await bad.waitForEnd(15000)).toEqual({ code: 2, signal: null });
    expect(bad.stderr()).toMatch(/PID 1: reaping orphans \(native\)/);
    expect(bad.stderr()).toMatch(/no-such-module/);
    const u = inNamespace(masterArgs, 'native');
    await u.waitForLine(/all children registered/, 10000);
    const { init, master } = await treeOf(u, false);
    process.kill(master, 'SIGKILL');
    expect(await u.waitForEnd(10000)).toEqual({ code: 137, signal: null });
    expect(pidExists(init)).toBe(false);
  });

  it("TERM to PID 1 with a job in flight: the stop is the master's own (--term-timeout 2, DirtyExit), exit 0, nothing left", async () => {
    const u = inNamespace([...masterArgs, '--term-timeout', '2', '--jobs', 'fixtures/jobs/basic.js'], 'native');
    await u.waitForLine(/all children registered/, 10000);
    const { init, master } = await treeOf(u, false);
    await waitForChildren(master, 1);
    const [id] = await env.workers();
    const raw = await env.enqueue('orph', 'Stubborn', 60);
    await env.waitForLedger(/Stubborn start/);
    await waitFor(async () => (await env.redis.exists(k(`worker:${id}`))) === 1, 3000, 'the busy worker');
    process.kill(init, 'SIGTERM');
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(u.stderr()).toMatch(/still running at the 2s deadline; killing it/);
    const recs = await env.failures();
    expect(recs).toHaveLength(1);
    expect(recs[0]).toContain(`"payload":${raw},"exception":"Resque::DirtyExit"`);
    expect(parseFailure(recs[0]!).worker).toBe(id);
    expect(env.ledgerLines()).not.toContain('Stubborn done');
    await env.expectNoWorkersLeft();
  });

  it("INT to PID 1 with a job in flight: resque-pool's graceful stop, the job finishes and is counted, no failure, exit 0", async () => {
    const u = inNamespace([...masterArgs, '--jobs', 'fixtures/jobs/basic.js'], 'native');
    await u.waitForLine(/all children registered/, 10000);
    const { init, master } = await treeOf(u, false);
    await waitForChildren(master, 1);
    await env.enqueue('orph', 'Abortable', 1);
    await env.waitForLedger(/Abortable start/);
    process.kill(init, 'SIGINT');
    await u.waitForLine(/SIGINT: stopping 1 children \(finishing their jobs\)/, 5000);
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    // An abort would have been seen: Abortable records "aborted" and a failure would be written.
    expect(env.ledgerLines()).toEqual(['Abortable start', 'Abortable done']);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    await env.expectNoWorkersLeft();
  });

  it('SIGKILL of PID 1 ends the whole namespace: the master and its children are gone', async () => {
    const u = inNamespace(masterArgs, 'native');
    await u.waitForLine(/all children registered/, 10000);
    const { init, master } = await treeOf(u, false);
    const [child] = await waitForChildren(master, 1);
    process.kill(init, 'SIGKILL');
    // unshare reports its child's death by a signal its own way (util-linux 2.38: exit 1), never as a clean exit.
    expect(await u.waitForEnd(10000)).not.toEqual({ code: 0, signal: null });
    await waitFor(() => [init, master, child!].every(p => !pidExists(p)), 5000, 'every process of the namespace to be gone');
  });

  it('TERM to the whole process group (a terminal, kill -TERM -PGID) reaches the master once: one stop, exit 0', async () => {
    const u = inNamespace(masterArgs, 'native', { detached: true });
    await u.waitForLine(/all children registered/, 10000);
    const { init, master } = await treeOf(u, false);
    // unshare and PID 1 share the group; the master has a session of its own (one delivery).
    expect(spawnSync('ps', ['-o', 'pgid=', '-p', String(init)], { encoding: 'utf8' }).stdout.trim()).toBe(String(u.pid));
    process.kill(-u.pid, 'SIGTERM');
    await waitFor(() => !pidExists(master) && !pidExists(init), 10000, 'the master and PID 1 to exit');
    expect(u.lines().filter(l => /SIGTERM received/.test(l))).toHaveLength(1);
    expect(u.lines().some(l => /second|immediately|killing/.test(l))).toBe(false);
    await u.waitForEnd(10000);
    await env.expectNoWorkersLeft();
  });

  it('stderr closed: PID 1 and the master carry on, reap the orphans and stop on TERM with exit 0', async () => {
    const u = inNamespace(masterArgs, 'native');
    u.child.stderr?.destroy();
    const { init, master } = await treeOf(u, false);
    await waitForChildren(master, 1);
    await env.enqueue('orph', 'OrphanJob', 30, 2);
    await env.waitForLedger(/^OrphanJob done 30$/, 10000);
    const others = (): number[] => procPids().filter(p => ppidOf(p) === init && p !== master);
    expect(others().length).toBeGreaterThan(0);
    await waitFor(
      () => others().length === 0,
      10000,
      () => `the orphans to be reaped: ${others().map(p => `${p}:${procState(p)}`)}`,
    );
    expect(zombiesOf(init)).toEqual([]);
    process.kill(init, 'SIGTERM');
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('`pyres-ts worker` as PID 1 reaps too (an option before the command: the CLI decides, not the bin): no zombie, QUIT stops it, exit 0', async () => {
    const u = inNamespace(['--namespace', 'resque', 'worker', '--queues', 'orph', '--jobs', ORPHANS], 'auto');
    await u.waitForLine(/PID 1: reaping orphans \(native\)/, 10000);
    const { init, master: worker } = await treeOf(u, false);
    await env.enqueue('orph', 'OrphanJob', 30, 2);
    await env.waitForLedger(/^OrphanJob done 30$/, 10000);
    const others = (): number[] => procPids().filter(p => ppidOf(p) === init && p !== worker);
    expect(others().length).toBeGreaterThan(0);
    await waitFor(
      () => others().length === 0,
      10000,
      () => `the orphans to be reaped: ${others().map(p => `${p}:${procState(p)}`)}`,
    );
    expect(zombiesOf(init)).toEqual([]);
    process.kill(init, 'SIGQUIT');
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });
});
