/**
 * Signals to a running `pyres-ts master` (COMPAT.md "Master (pre-fork)"): HUP reloads the YAML
 * and touches only changed groups; TTIN/USR1 add one child, TTOU removes one; USR2/CONT pause and
 * resume every child; WINCH scales to zero and keeps the master. Also measures start-up time,
 * memory footprint and idle TERM latency.
 */
import { childPidsOf, isRunning, k, masterTestEnv, registeredMs, rssKbOf, sleep, titleOf, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();

async function waitTitles(pids: number[], re: RegExp, timeoutMs = 3000): Promise<void> {
  await waitFor(
    () => pids.every(p => re.test(titleOf(p))),
    timeoutMs,
    () => `titles matching ${re}: ${pids.map(titleOf).join(' | ')}`,
  );
}

describe('pyres-ts master: signals', () => {
  it('HUP re-reads --config: unchanged groups keep their children, changed groups grow or shrink, a bad file changes nothing', async () => {
    const cfg = env.writeTmp('pool.yml', '"p10,p9": 2\n"p1": 1\n');
    const m = await env.startMaster(['--config', cfg]);
    const main = await env.waitForChildren(m.pid, 2, 8000, 'p10,p9');
    const [p1a] = await env.workerPids('p1');
    expect(p1a).toBeDefined();

    env.writeTmp('pool.yml', '"p10,p9": 2\n"p1": 3\n');
    let mark = m.mark();
    m.kill('SIGHUP');
    await m.waitForLine(/HUP: group p1: 1 -> 3/, 3000, mark);
    await env.waitForChildren(m.pid, 3, 8000, 'p1');
    expect(await env.workerPids('p10,p9')).toEqual(main);
    expect(await env.workerPids('p1')).toContain(p1a);
    expect(m.lines().slice(mark).join('\n')).not.toMatch(/HUP: group p10,p9/);

    // A file that does not parse: logged, nothing changes.
    env.writeTmp('pool.yml', '"p10,p9": [oops\n');
    mark = m.mark();
    m.kill('SIGHUP');
    await m.waitForLine(/HUP: configuration not reloaded/, 3000, mark);
    await sleep(500);
    expect(await env.workerPids('p10,p9')).toEqual(main);
    expect(await env.workerPids('p1')).toHaveLength(3);

    // A group dropped from the file goes away; a new one appears; p1 is untouched.
    const p1 = await env.workerPids('p1');
    env.writeTmp('pool.yml', '"p1": 3\n"p5": 1\n');
    mark = m.mark();
    m.kill('SIGHUP');
    await m.waitForLine(/HUP: group p10,p9 removed/, 3000, mark);
    await env.waitForWorkerCount(0, 8000, 'p10,p9');
    await env.waitForWorkerCount(1, 8000, 'p5');
    expect(await env.workerPids('p1')).toEqual(p1);
    await env.waitForChildren(m.pid, 4, 5000);
    for (const p of main) await env.expectUnregistered(workerIdFor(p));

    m.kill('SIGTERM');
    expect(await m.waitForEnd(6000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });

  it('TTIN and USR1 add one child, TTOU removes one; with --winch, WINCH scales to zero and the master stays', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2', '--winch']);
    const two = await env.waitForChildren(m.pid, 2);
    m.kill('SIGTTIN');
    const three = await env.waitForChildren(m.pid, 3);
    expect(three).toEqual(expect.arrayContaining(two));
    m.kill('SIGUSR1');
    await env.waitForChildren(m.pid, 4);
    m.kill('SIGTTOU');
    const back = await env.waitForChildren(m.pid, 3);
    m.kill('SIGTTOU');
    await env.waitForChildren(m.pid, 2);
    // Idle children are removed and cleanly unregistered.
    for (const p of three.filter(p => !back.includes(p))) await env.expectUnregistered(workerIdFor(p));

    m.kill('SIGWINCH');
    await m.waitForLine(/scaling every group to 0/, 3000);
    await env.waitForWorkerCount(0, 5000);
    await waitFor(() => childPidsOf(m.pid).length === 0, 5000, 'no child left');
    await sleep(1000);
    expect(m.exited).toBe(false);
    expect(isRunning(m.pid)).toBe(true);
    expect(titleOf(m.pid)).toMatch(/managing p10,p9=0/);
    await env.expectNoWorkersLeft();
    // From zero, TTIN brings one back.
    m.kill('SIGTTIN');
    await env.waitForChildren(m.pid, 1);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('USR2 pauses every child (a job stays queued), CONT resumes', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    const pids = await env.waitForChildren(m.pid, 2);
    m.kill('SIGUSR2');
    await m.waitForLine(/paused every child/, 3000);
    await waitTitles(pids, /: Paused/);
    // The master's title follows (it is refreshed on the children's next report, within ~1 s).
    await waitFor(
      () => /master: paused/.test(titleOf(m.pid)),
      2500,
      () => `master title to say paused: ${titleOf(m.pid)}`,
    );
    await env.enqueue('p9', 'Echo', 'held');
    await sleep(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);
    expect(env.ledgerLines()).toEqual([]);
    // A child that joins while paused is paused too.
    m.kill('SIGTTIN');
    const three = await env.waitForChildren(m.pid, 3);
    await waitTitles(three, /: Paused/);
    await sleep(500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);

    m.kill('SIGCONT');
    await env.waitForLedger(/^Echo \["held"\]$/, 3000);
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);
    await waitTitles(three, /Waiting for p10,p9/);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });

  it('figures: --pool 4 start-up time, RSS of an idle child and of the master, TERM-to-exit with idle children', async () => {
    const t0 = Date.now();
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '4']);
    const wall = Date.now() - t0;
    const line = m.lines().find(l => /all children registered/.test(l))!;
    const ready = registeredMs(line);
    const pids = await env.waitForChildren(m.pid, 4);
    await sleep(1500); // let start-up garbage settle
    const childRss = pids.map(rssKbOf);
    const masterRss = rssKbOf(m.pid);
    const exited = new Promise<number>(r => m.child.once('exit', () => r(Date.now())));
    const t1 = Date.now();
    m.kill('SIGTERM');
    const termMs = (await exited) - t1;
    // The master exits only after its children: none is left running at that moment.
    const runningAtExit = pids.filter(isRunning);
    expect(await m.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    expect(runningAtExit).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(
      `master figures: all children registered ${ready} ms after start (spawn to log line ${wall} ms); ` +
        `idle child RSS ${childRss.map(r => `${Math.round(r / 1024)} MB`).join(', ')}; master RSS ${Math.round(masterRss / 1024)} MB; ` +
        `TERM to exit with 4 idle children ${termMs} ms`,
    );
    expect(ready).toBeLessThan(8000);
    for (const r of childRss) expect(r).toBeLessThan(150 * 1024);
    expect(masterRss).toBeLessThan(150 * 1024);
    expect(termMs).toBeLessThan(2000);
    await env.waitGone(pids, 2000);
    await env.expectNoWorkersLeft();
  });
});
