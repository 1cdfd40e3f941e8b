/**
 * The master as PID 1 of a PID namespace (a container without an init), with a real process
 * tree: a job leaves grandchildren behind, the kernel re-parents them to PID 1, and only PID 1's
 * waitpid(2) removes their zombies. Node cannot wait for processes it did not spawn, so a
 * master that is PID 1 leaves them (and says so at start); with an init as PID 1 (tini in
 * deploy/Dockerfile; `sh`'s wait stands in for it here, tini is not installed) they are reaped.
 * Needs `unshare --pid --fork --mount-proc` (root or user namespaces); skipped without it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN, PROJECT_ROOT, spawnTracked } from '../support/spawn';
import { procPids, ppidOf } from '../support/procs';
import { childPidsOf, FIXTURES, masterTestEnv, procState, waitFor } from './helpers';

const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;
const env = masterTestEnv();
const ORPHANS = path.join(FIXTURES, 'orphans.js');

/** Zombies whose parent is `pid` (host pids, read from the host's /proc). */
function zombiesOf(pid: number): number[] {
  return procPids().filter(p => ppidOf(p) === pid && procState(p) === 'Z');
}

(canUnshare ? describe : describe.skip)('PID 1 in a container (unshare --pid)', () => {
  const masterArgs = ['master', '--queues', 'orph', '--pool', '1', '--jobs', ORPHANS];

  it('a master that is PID 1 warns at start, and the 30 orphans a job leaves stay zombies under it', async () => {
    const u = spawnTracked('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, BIN, ...masterArgs], {
      ...env.spawnEnv(),
      cwd: PROJECT_ROOT,
    });
    await u.waitForLine(/running as PID 1: orphaned grandchildren .* Node cannot reap them/, 10000);
    await u.waitForLine(/all children registered/, 10000);
    const master = await waitFor(() => childPidsOf(u.pid)[0], 3000, 'the master (pid 1 inside)');
    await env.enqueue('orph', 'OrphanJob', 30);
    await env.waitForLedger(/^OrphanJob done 30$/, 10000);
    // Each sleep exits after 0.2 s; with nobody to reap it, it stays a zombie of PID 1.
    await waitFor(
      () => zombiesOf(master).length >= 30,
      8000,
      () => `30 zombies under ${master}: ${zombiesOf(master).length}`,
    );
    expect(zombiesOf(master)).toHaveLength(30);
    // unshare does not pass signals on: stop the master itself (its namespace goes with it).
    process.kill(master, 'SIGTERM');
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('with an init as PID 1 (sh here, tini in the image) the same job leaves no zombie', async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${masterArgs.join(' ')} & wait`;
    const u = spawnTracked('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', cmd], { ...env.spawnEnv(), cwd: PROJECT_ROOT });
    await u.waitForLine(/all children registered/, 10000);
    expect(u.lines().some(l => /running as PID 1/.test(l))).toBe(false);
    const init = await waitFor(() => childPidsOf(u.pid)[0], 3000, 'the init (pid 1 inside)');
    const master = await waitFor(() => childPidsOf(init)[0], 3000, 'the master under the init');
    await env.enqueue('orph', 'OrphanJob', 30, 2);
    await env.waitForLedger(/^OrphanJob done 30$/, 10000);
    // The orphans went to the init (each sleeps 2 s, so they are still there) ...
    const others = (): number[] => procPids().filter(p => ppidOf(p) === init && p !== master);
    expect(others().length).toBeGreaterThan(0);
    // ... and once they exit, the init reaps them: no pid of theirs is left, not even a zombie.
    await waitFor(
      () => others().length === 0,
      10000,
      () => `the orphans to be reaped: ${others().map(p => `${p}:${procState(p)}`)}`,
    );
    expect(zombiesOf(init)).toEqual([]);
    expect(zombiesOf(master)).toEqual([]);
    process.kill(master, 'SIGTERM');
    await waitFor(() => childPidsOf(init).length === 0, 10000, 'the master to exit');
    // The init (sh's wait) ends once the master has: the namespace is gone with it.
    expect(await u.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });
});
