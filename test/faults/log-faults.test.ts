/**
 * Log faults (issue 10, item 1): a log write error never stops work or loses an outcome. Real
 * `pyres-ts master` / `worker` processes, a real redis-server, real signals.
 *
 *  - the log file's directory removed under a running master: the failure is recorded, the
 *    success counted, the master keeps running, each process says so once on stderr and logs
 *    there from then on;
 *  - the master's stderr pipe closed by its reader (EPIPE in the master and every child): jobs
 *    keep being worked and recorded, TERM still exits 0 and unregisters everything;
 *  - pyres_worker's `-f stdout`, `-f stderr`, `-f syslog` are names, not files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASIC_JOBS, isRunning, k, masterTestEnv, parseFailure, waitFor, workerIdFor } from '../master/helpers';
import { PROJECT_ROOT, spawnCli, type Spawned } from '../support/spawn';

const env = masterTestEnv();
const Q = 'logq';
const JOBS_ABS = path.join(PROJECT_ROOT, BASIC_JOBS);

/** Per pid, how many `cannot write the log file` notes it wrote to stderr. */
function fileNotesByPid(stderr: string, file: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const line of stderr.split('\n')) {
    const m = /^pyres-ts (\d+): cannot write the log file (\S+) \((ENOENT)\b.*\); logging to stderr from now on/.exec(line);
    if (m && m[2] === file) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

async function processedCount(): Promise<number> {
  return Number((await env.stat('processed')) ?? 0);
}

async function stopAndExpectClean(m: Spawned): Promise<void> {
  m.kill('SIGTERM');
  expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  await env.expectNoWorkersLeft();
  await env.expectMasterWithdrawn(m.pid);
}

describe('log faults never cost an outcome', () => {
  it('-f FILE whose directory is removed: outcomes recorded, master running, one note per process on stderr, then stderr', async () => {
    const dir = path.join(env.tmp, 'logs');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'pyres.log');
    const m = await env.startMaster(['--queues', Q, '--pool', '1', '-f', file], { jobs: [BASIC_JOBS], waitReady: false });
    await waitFor(
      () => fs.existsSync(file) && /all children registered/.test(fs.readFileSync(file, 'utf8')),
      10000,
      () => `the ready line in ${file}; output: ${m.lines().join('\n')}`,
    );
    const [child] = await env.waitForChildren(m.pid, 1);
    const id = workerIdFor(child!, Q);

    fs.rmSync(dir, { recursive: true, force: true });
    await env.enqueue(Q, 'Fail', 'after-rm');
    await env.enqueue(Q, 'Echo', 'after-rm');
    const [raw] = await env.waitForFailures(1, 10000);
    await env.waitForLedger(/^Echo \["after-rm"\]$/, 10000);
    await waitFor(async () => (await processedCount()) >= 2, 5000, 'stat:processed to reach 2');

    // The failure record, and the counts of both outcomes.
    const rec = parseFailure(raw!);
    expect(rec.exception).toBe('TypeError');
    expect(rec.error).toBe('boom: after-rm');
    expect(rec.worker).toBe(id);
    expect(rec.queue).toBe(Q);
    expect(rec.payload).toEqual({ class: 'Fail', args: ['after-rm'] });
    expect(await env.stat('processed')).toBe('2');
    expect(await env.stat('failed')).toBe('1');
    expect(await env.stat(`processed:${id}`)).toBe('2');
    expect(await env.stat(`failed:${id}`)).toBe('1');
    // The worker is still registered, idle (no worker:<id> job record), heartbeating.
    await waitFor(async () => (await env.redis.exists(k(`worker:${id}`))) === 0, 3000, `worker:${id} to be cleared after the job`);
    expect(await env.workers()).toEqual([id]);
    expect(await env.redis.hexists(k('workers:heartbeat'), id)).toBe(1);
    // Nothing died and nothing was replaced.
    expect(isRunning(m.pid)).toBe(true);
    expect(isRunning(child!)).toBe(true);
    expect(await env.waitForChildren(m.pid, 1)).toEqual([child]);

    // The child said so once, and its log goes to stderr now.
    await m.waitForLine(/failed: Fail from logq: TypeError: boom: after-rm/, 5000);
    // More lines later: still one note.
    await env.enqueue(Q, 'Fail', 'again');
    await env.waitForFailures(2, 10000);
    await m.waitForLine(/failed: Fail from logq: TypeError: boom: again/, 5000);
    expect(fileNotesByPid(m.stderr(), file).get(child!)).toBe(1);

    // The master's own lines (its stop) hit the missing file too: one note from it, a clean stop.
    await stopAndExpectClean(m);
    const notes = fileNotesByPid(m.stderr(), file);
    expect(notes.get(m.pid)).toBe(1);
    expect([...notes.keys()].sort()).toEqual([child!, m.pid].sort());
    expect(m.stderr()).toMatch(/\[master [^\]]+\] stopped/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('stderr closed by its reader (EPIPE): jobs are worked and recorded, TERM exits 0 and leaves no worker or khan', async () => {
    const m = await env.startMaster(['--queues', Q, '--pool', '2'], { jobs: [BASIC_JOBS] });
    const kids = await env.waitForChildren(m.pid, 2);
    // The read end goes away: every later write to this pipe, by the master or a child, is EPIPE.
    m.child.stderr!.destroy();

    const before = await processedCount();
    for (let i = 0; i < 6; i++) await env.enqueue(Q, 'Echo', `p${i}`);
    for (let i = 0; i < 3; i++) await env.enqueue(Q, 'Fail', `f${i}`);
    let done = 0;
    await waitFor(
      async () => (done = (await processedCount()) - before) >= 9,
      10000,
      () => `9 more processed; have ${done}`,
    );
    const failures = await env.waitForFailures(3, 5000);
    expect(failures.map(f => parseFailure(f).error).sort()).toEqual(['boom: f0', 'boom: f1', 'boom: f2']);
    await waitFor(() => env.ledgerLines().filter(l => l.startsWith('Echo ')).length === 6, 5000, 'six Echo ledger lines');

    // Later work still gets done by the same processes (they wrote to the dead pipe and lived).
    await env.enqueue(Q, 'Fail', 'late');
    await env.waitForFailures(4, 10000);
    expect(isRunning(m.pid)).toBe(true);
    expect(m.exited).toBe(false);
    expect(await env.waitForChildren(m.pid, 2)).toEqual(kids);
    expect(await env.stat('failed')).toBe('4');

    // TERM: the master logs its stop into the dead pipe too, and still stops cleanly.
    await stopAndExpectClean(m);
    for (const p of kids) expect(isRunning(p)).toBe(false);
  });

  it('-f stdout: the log goes to stdout, and no file named stdout appears in the cwd', async () => {
    const cwd = path.join(env.tmp, 'cwd');
    fs.mkdirSync(cwd);
    const m = spawnCli(['master', '--queues', Q, '--pool', '1', '-f', 'stdout', '--jobs', JOBS_ABS], { ...env.spawnEnv(), cwd });
    await waitFor(
      () => /all children registered/.test(m.stdout()) || fs.existsSync(path.join(cwd, 'stdout')) || m.exited,
      10000,
      () => `the ready line on stdout; output: ${m.lines().join('\n')}`,
    );
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(m.stdout()).toMatch(/INFO  \[master [^\]]+\] all children registered/);
    expect(m.stdout()).toMatch(/INFO  \[[^\]]+:logq\] registered;/);
    expect(m.stderr()).not.toMatch(/all children registered|registered;/);
    await env.enqueue(Q, 'Fail', 'to-stdout');
    await env.waitForFailures(1, 10000);
    await waitFor(() => /failed: Fail from logq: TypeError: boom: to-stdout/.test(m.stdout()), 5000, 'the failure line on stdout');
    await stopAndExpectClean(m);
    expect(m.stdout()).toMatch(/\[master [^\]]+\] stopped/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('-f syslog: stderr with one note that syslog is not supported; -f stderr: stderr; neither creates a file', async () => {
    const cwd = path.join(env.tmp, 'cwd');
    fs.mkdirSync(cwd);
    for (const name of ['syslog', 'stderr']) {
      const w = spawnCli(['worker', '--queues', Q, '-f', name, '--jobs', JOBS_ABS], { ...env.spawnEnv(), cwd });
      await waitFor(
        () => /registered;/.test(w.stderr()) || fs.existsSync(path.join(cwd, name)) || w.exited,
        10000,
        () => `-f ${name}: the registered line on stderr; output: ${w.lines().join('\n')}`,
      );
      expect(fs.readdirSync(cwd)).toEqual([]);
      expect(w.stdout()).toBe('');
      const notes = w
        .stderr()
        .split('\n')
        .filter(l => /syslog is not supported/.test(l));
      expect(notes).toHaveLength(name === 'syslog' ? 1 : 0);
      w.kill('SIGTERM');
      expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
      expect(w.stderr()).toMatch(/unregistered/);
      expect(fs.readdirSync(cwd)).toEqual([]);
      await env.expectNoWorkersLeft();
    }
  });
});
