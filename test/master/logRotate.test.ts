/**
 * logrotate without copytruncate (issue 14): rename the log files, HUP, and the new lines are
 * in new files, the old ones keep theirs, no line lost or written twice. Real `pyres-ts master`
 * processes (daemonized for --stdout/--stderr), real children, real signals.
 *
 *  - `--daemon --stdout/--stderr`: the master and its children (job code's console.log
 *    included) follow the reopen without a restart (the log keeper owns the files);
 *  - a HUP while the log directory is gone: a note, no crash; the next HUP once it is back
 *    reopens and says what happened;
 *  - `-f FILE`: the master's and the children's lines follow the rename.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnCli } from '../support/spawn';
import { isRunning, masterTestEnv, pidsWithTag, titleOf, waitFor } from './helpers';

const env = masterTestEnv();
const Q = 'rotq';
const JOBS = ['--jobs', 'fixtures/jobs/logs.js', '--jobs', 'fixtures/jobs/basic.js'];

const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
/** The numbers of the lines `<kind> <tag> <i>` in `text`. */
function numbered(text: string, kind: string, tag: string): number[] {
  const re = new RegExp(`${kind} ${tag} (\\d+)(?: x*)?$`);
  return text.split('\n').flatMap(l => {
    const m = re.exec(l);
    return m ? [Number(m[1])] : [];
  });
}
/** Every number 0..n-1 exactly once across the files. */
function expectEachOnce(parts: number[][], n: number): void {
  const all = parts.flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}
const readPid = (f: string): number => Number(fs.readFileSync(f, 'utf8').trim());

async function startDaemon(out: string, err: string): Promise<{ pid: number; keeper: number; kids: number[] }> {
  const pidfile = path.join(env.tmp, 'pool.pid');
  const starter = spawnCli(['master', '--daemon', '--queues', Q, '--pool', '1', '-p', pidfile, '-o', out, '-e', err, ...JOBS], env.spawnEnv());
  expect(await starter.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  const pid = readPid(pidfile);
  const kids = await env.waitForChildren(pid, 1, 10000, Q);
  const keeper = pidsWithTag(env.tag).find(p => /pyres-ts log keeper/.test(titleOf(p)));
  expect(keeper).toBeDefined();
  await waitFor(() => /all children registered/.test(read(err)), 8000, 'the ready line in --stderr');
  return { pid, keeper: keeper!, kids };
}

async function stopDaemon(pid: number, keeper: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !isRunning(pid), 15000, 'the daemon to exit');
  // The keeper ends once every writer is gone, after the last bytes.
  await waitFor(() => !isRunning(keeper), 10000, 'the log keeper to exit');
}

describe('HUP reopens the log files (logrotate without copytruncate)', () => {
  it('--daemon --stdout/--stderr: renamed, HUP, the new lines (master, child, console.log) in new files; none lost, none twice; no child restarted', async () => {
    const dir = path.join(env.tmp, 'log');
    const out = path.join(dir, 'out.log');
    const err = path.join(dir, 'err.log');
    const { pid, keeper, kids } = await startDaemon(out, err);

    await env.enqueue(Q, 'Chatty', 'a', 2000, 80);
    await env.enqueue(Q, 'Print', 'a', 500);
    await env.waitForLedger(/^Print a 500$/, 10000);
    await waitFor(() => numbered(read(err), 'chatty', 'a').length === 2000 && numbered(read(out), 'print', 'a').length === 500, 10000, 'the a lines');

    // logrotate: rename, then (postrotate) HUP. Lines logged in between go to the renamed files.
    fs.renameSync(err, `${err}.1`);
    fs.renameSync(out, `${out}.1`);
    await env.enqueue(Q, 'Chatty', 'b', 3000, 80);
    await env.enqueue(Q, 'Print', 'b', 1000);
    await env.waitForLedger(/^Chatty b 3000$/, 10000);
    process.kill(pid, 'SIGHUP');
    await waitFor(() => fs.existsSync(err) && fs.existsSync(out), 5000, 'the new files');
    await env.waitForLedger(/^Print b 1000$/, 10000);
    await waitFor(() => /HUP: reopening the --stdout\/--stderr files/.test(read(err) + read(`${err}.1`)), 5000, 'the reopen line');
    await env.enqueue(Q, 'Chatty', 'c', 2000, 80);
    await env.enqueue(Q, 'Print', 'c', 500);
    await env.waitForLedger(/^Print c 500$/, 10000);
    await waitFor(() => numbered(read(err), 'chatty', 'c').length === 2000 && numbered(read(out), 'print', 'c').length === 500, 10000, 'the c lines');
    expect(await env.waitForChildren(pid, 1, 5000, Q)).toEqual(kids);
    await stopDaemon(pid, keeper);

    const [e0, e1, o0, o1] = [read(`${err}.1`), read(err), read(`${out}.1`), read(out)];
    // Before the rotation: all in the old files; after the reopen: all in the new ones.
    expect(numbered(e0, 'chatty', 'a')).toHaveLength(2000);
    expect(numbered(e1, 'chatty', 'a')).toEqual([]);
    expect(numbered(o0, 'print', 'a')).toHaveLength(500);
    expect(numbered(e1, 'chatty', 'c')).toHaveLength(2000);
    expect(numbered(e0, 'chatty', 'c')).toEqual([]);
    expect(numbered(o1, 'print', 'c')).toHaveLength(500);
    expect(numbered(o0, 'print', 'c')).toEqual([]);
    // Across the rotation: each line once, in one file or the other.
    expectEachOnce([numbered(e0, 'chatty', 'b'), numbered(e1, 'chatty', 'b')], 3000);
    expectEachOnce([numbered(o0, 'print', 'b'), numbered(o1, 'print', 'b')], 1000);
    // Whole lines only: every line of the log files is a log line.
    for (const t of [e0, e1]) {
      expect(t.endsWith('\n')).toBe(true);
      for (const l of t.split('\n').slice(0, -1)) expect(l).toMatch(/^(\S+Z (INFO |WARN |ERROR|DEBUG) |pyres-ts )/);
    }
    for (const t of [o0, o1]) for (const l of t.split('\n').slice(0, -1)) expect(l).toMatch(/^print [abc] \d+$/);
    // The stop is in the new file.
    expect(e1).toMatch(/\[master [^\]]+\] stopped/);
  });

  it('a HUP while the log directory is gone: a note, nothing stops; once it is back, the next HUP reopens and says so', async () => {
    const dir = path.join(env.tmp, 'log');
    const out = path.join(dir, 'out.log');
    const err = path.join(dir, 'err.log');
    const { pid, keeper, kids } = await startDaemon(out, err);
    fs.rmSync(dir, { recursive: true, force: true });
    process.kill(pid, 'SIGHUP');
    // Work goes on: a job is done, the processes are the same.
    await env.enqueue(Q, 'Echo', 'dir-gone');
    await env.waitForLedger(/^Echo \["dir-gone"\]$/, 10000);
    expect(isRunning(pid)).toBe(true);
    expect(isRunning(keeper)).toBe(true);
    expect(await env.waitForChildren(pid, 1, 5000, Q)).toEqual(kids);
    expect(fs.existsSync(dir)).toBe(false);

    fs.mkdirSync(dir);
    process.kill(pid, 'SIGHUP');
    await waitFor(
      () => /reopened .*err\.log; from \S+ until now the lines went to the file opened before \(ENOENT/.test(read(err)),
      5000,
      () => `the reopen note; err.log: ${read(err)}`,
    );
    await env.enqueue(Q, 'Chatty', 'back', 10, 60);
    await waitFor(() => numbered(read(err), 'chatty', 'back').length === 10, 10000, 'the lines in the new file');
    await stopDaemon(pid, keeper);
  });

  it('the log keeper killed (the daemon and its child lose stdout/stderr: EPIPE): jobs go on, a HUP changes nothing, TERM still stops cleanly', async () => {
    const dir = path.join(env.tmp, 'log');
    const { pid, keeper, kids } = await startDaemon(path.join(dir, 'out.log'), path.join(dir, 'err.log'));
    process.kill(keeper, 'SIGKILL');
    await waitFor(() => !isRunning(keeper), 5000, 'the keeper gone');
    await env.enqueue(Q, 'Chatty', 'lost', 500, 80);
    await env.enqueue(Q, 'Print', 'lost', 100);
    await env.enqueue(Q, 'Fail', 'lost');
    await env.waitForLedger(/^Print lost 100$/, 10000);
    await env.waitForFailures(1, 10000);
    process.kill(pid, 'SIGHUP');
    await env.enqueue(Q, 'Echo', 'after-hup');
    await env.waitForLedger(/^Echo \["after-hup"\]$/, 10000);
    expect(isRunning(pid)).toBe(true);
    expect(await env.waitForChildren(pid, 1, 5000, Q)).toEqual(kids);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isRunning(pid), 15000, 'the daemon to exit');
    await env.waitForWorkerCount(0);
    await env.expectMasterWithdrawn(pid);
  });

  it('-f FILE: the master and its child follow the rename; each line once across the two files', async () => {
    const file = path.join(env.tmp, 'pyres.log');
    const m = await env.startMaster(['--queues', Q, '--pool', '1', '-f', file], {
      jobs: ['fixtures/jobs/logs.js', 'fixtures/jobs/basic.js'],
      waitReady: false,
    });
    await waitFor(
      () => /all children registered/.test(read(file)),
      10000,
      () => `the ready line in ${file}; output: ${m.lines().join('\n')}`,
    );
    await env.enqueue(Q, 'Chatty', 'a', 2000, 80);
    await env.waitForLedger(/^Chatty a 2000$/, 10000);
    // Written asynchronously: rotate once they are in.
    await waitFor(() => numbered(read(file), 'chatty', 'a').length === 2000, 10000, 'the a lines in the file');
    fs.renameSync(file, `${file}.1`);
    await env.enqueue(Q, 'Chatty', 'b', 3000, 80);
    m.kill('SIGHUP');
    await env.waitForLedger(/^Chatty b 3000$/, 10000);
    await env.enqueue(Q, 'Chatty', 'c', 1000, 80);
    await env.waitForLedger(/^Chatty c 1000$/, 10000);
    await waitFor(() => numbered(read(file), 'chatty', 'c').length === 1000, 10000, 'the c lines in the new file');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    const [old, now] = [read(`${file}.1`), read(file)];
    expect(numbered(old, 'chatty', 'a')).toHaveLength(2000);
    expect(numbered(now, 'chatty', 'c')).toHaveLength(1000);
    expect(numbered(old, 'chatty', 'c')).toEqual([]);
    expectEachOnce([numbered(old, 'chatty', 'b'), numbered(now, 'chatty', 'b')], 3000);
    // The master's own lines after the rename (its HUP, its stop) are in the new file.
    expect(now).toMatch(/SIGHUP received/);
    expect(now).toMatch(/\[master [^\]]+\] stopped/);
    expect(m.stderr()).not.toMatch(/cannot write the log file/);
  });
});
