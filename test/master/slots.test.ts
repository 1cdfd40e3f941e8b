/**
 * Job slots under a master (`--workers 'p10,p9=1x20'`, `master --concurrency`, issue 15): a
 * SIGKILLed child with 20 jobs in flight leaves 20 DirtyExit records (the master knows every
 * slot id) and no stale slot, and is respawned with all its slots; a job's timeout aborts that
 * slot's job only while the other slots finish theirs.
 */
import { formatSlotWorkerId } from '../../src/protocol/workerId';
import { HOST, isRunning, k, masterTestEnv, parseFailure, waitFor } from './helpers';

const env = masterTestEnv();
const SLOT_JOBS = 'fixtures/jobs/slots.js';
const JOBS = ['fixtures/jobs/basic.js', SLOT_JOBS];

const slotIds = (pid: number, n: number, queues = 'p10,p9'): string[] =>
  Array.from({ length: n }, (_, i) => formatSlotWorkerId(HOST, pid, queues.split(','), i));
const hold = (tag: string, ms: number): string => `{"class":"Hold","args":[${JSON.stringify(tag)},${ms}]}`;

async function registered(): Promise<string[]> {
  return (await env.redis.smembers(k('workers'))).sort();
}

function ledgerMatching(re: RegExp): string[] {
  return env.ledgerLines().filter(l => re.test(l));
}

describe('pyres-ts master with job slots', () => {
  it("SIGKILL of a child with 20 jobs in flight: 20 DirtyExit records (each slot's id, the exact payload), no stale slot, the child respawned with 20 slots", async () => {
    const m = await env.startMaster(['--workers', 'p10,p9=1x20'], { jobs: JOBS });
    const first = await waitFor(
      async () => {
        const ws = await registered();
        return ws.length === 20 ? Number(ws[0]!.split(':')[1]) : null;
      },
      10000,
      '20 registered slots',
    );
    const ids = slotIds(first, 20);
    expect(await registered()).toEqual([...ids].sort());
    const raws = Array.from({ length: 20 }, (_, i) => hold(`m${i}`, 60000));
    for (const raw of raws) await env.push('p9', raw);
    await waitFor(() => (ledgerMatching(/^Hold start /).length === 20 ? true : null), 10000, '20 jobs running');
    process.kill(first, 'SIGKILL');
    const failures = await env.waitForFailures(20, 8000);
    const parsed = failures.map(parseFailure);
    expect(new Set(parsed.map(f => f.worker))).toEqual(new Set(ids));
    expect(parsed.every(f => f.exception === 'Resque::DirtyExit' && /SIGKILL/.test(f.error))).toBe(true);
    expect(new Set(failures.map(r => raws.find(raw => r.includes(`"payload":${raw},`))))).toEqual(new Set(raws));
    // Respawned: a new child with all its slots, none of the dead child's left.
    const second = await waitFor(
      async () => {
        const ws = await registered();
        const pids = new Set(ws.map(w => Number(w.split(':')[1])));
        return ws.length === 20 && pids.size === 1 && !pids.has(first) ? [...pids][0]! : null;
      },
      10000,
      'a respawned child with 20 slots',
    );
    expect(isRunning(second)).toBe(true);
    expect(await registered()).toEqual(slotIds(second, 20).sort());
    for (const id of ids) await env.expectUnregistered(id);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(await registered()).toEqual([]);
  });

  it("a job's timeout under a master aborts that slot's job only; the other slots finish theirs, the child lives on", async () => {
    const m = await env.startMaster(['--workers', 'p10,p9=1x3'], { jobs: JOBS });
    const child = await waitFor(
      async () => {
        const ws = await registered();
        return ws.length === 3 ? Number(ws[0]!.split(':')[1]) : null;
      },
      10000,
      '3 registered slots',
    );
    // Two timed jobs among three slots: at least one runs in a slot > 0 (the abort names the slot).
    await env.push('p9', '{"class":"Timed","args":["t1"]}');
    await env.push('p9', hold('a', 2500));
    await env.push('p9', '{"class":"Timed","args":["t2"]}');
    await m.waitForLine(/child \d+( \(slot \d\))?: Timed has run over its 1s timeout; aborting it/, 5000);
    const recs = await env.waitForFailures(2, 5000);
    const fs = recs.map(parseFailure);
    expect(fs.every(f => f.exception === 'JobTimeoutError' && f.error === 'Job exceeded its 1s timeout')).toBe(true);
    const timedBy = ledgerMatching(/^Timed start /).map(l => l.split(' ')[3]);
    expect(new Set(fs.map(f => f.worker))).toEqual(new Set(timedBy));
    expect(timedBy.some(id => id !== slotIds(child, 1)[0])).toBe(true);
    await env.waitForLedger(/^Hold done a$/, 5000);
    expect(m.stderr()).not.toMatch(/killing the child/);
    expect(isRunning(child)).toBe(true);
    expect(await env.stat('processed')).toBe('3');
    expect(await env.failures()).toHaveLength(2);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it('--max-memory: a child over it after a job recycles gracefully while other slots are busy; they finish, no failure, a new child takes over', async () => {
    const m = await env.startMaster(['--workers', 'p10,p9=1x3', '--max-memory', '150'], { jobs: [...JOBS, 'fixtures/jobs/master.js'] });
    const child = await waitFor(
      async () => {
        const ws = await registered();
        return ws.length === 3 ? Number(ws[0]!.split(':')[1]) : null;
      },
      10000,
      '3 registered slots',
    );
    await env.push('p9', hold('x', 3000));
    await env.push('p9', hold('y', 3000));
    await waitFor(() => (ledgerMatching(/^Hold start [xy] /).length === 2 ? true : null), 5000, 'x and y running');
    await env.push('p9', '{"class":"Hog","args":[100]}');
    await m.waitForLine(new RegExp(`child ${child} recycles: RSS \\d+ MB is over --max-memory 150 MB`), 8000);
    // Graceful: the busy slots finish their jobs before the child goes.
    expect(isRunning(child)).toBe(true);
    await env.waitForLedger(/^Hold done x$/, 8000);
    await env.waitForLedger(/^Hold done y$/, 8000);
    await env.waitGone([child], 8000);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('3');
    for (const id of slotIds(child, 3)) await env.expectUnregistered(id);
    await waitFor(
      async () => {
        const ws = await registered();
        return ws.length === 3 && !ws.some(w => w.includes(`:${child}:`)) ? true : null;
      },
      10000,
      'a new child with 3 slots',
    );
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it("the master SIGKILLed: the orphan's liveness thread bounds its busy slots by --term-timeout, records every slot's job and ends the child", async () => {
    const m = await env.startMaster(['--workers', 'p10,p9=1x3', '--term-timeout', '1'], { jobs: JOBS });
    const child = await waitFor(
      async () => {
        const ws = await registered();
        return ws.length === 3 ? Number(ws[0]!.split(':')[1]) : null;
      },
      10000,
      '3 registered slots',
    );
    const raws = ['a', 'b', 'c'].map(t => hold(t, 60000));
    for (const raw of raws) await env.push('p9', raw);
    await waitFor(() => (ledgerMatching(/^Hold start /).length === 3 ? true : null), 5000, '3 jobs running');
    process.kill(m.pid, 'SIGKILL');
    const failures = await env.waitForFailures(3, 10000);
    const parsed = failures.map(parseFailure);
    expect(new Set(parsed.map(f => f.worker))).toEqual(new Set(slotIds(child, 3)));
    expect(parsed.every(f => f.exception === 'Resque::DirtyExit' && /master gone; job still running after 1s/.test(f.error))).toBe(true);
    expect(new Set(failures.map(r => raws.find(raw => r.includes(`"payload":${raw},`))))).toEqual(new Set(raws));
    await env.waitGone([child], 8000);
    expect(ledgerMatching(/^Hold done /)).toEqual([]);
    expect(await registered()).toEqual([]);
  });

  it('master --concurrency 3 is the default for groups; a group of its own (p1=1x2) wins', async () => {
    const m = await env.startMaster(['--workers', 'p10,p9=1:p1=1x2', '--concurrency', '3'], { jobs: JOBS });
    await waitFor(async () => ((await registered()).length === 5 ? true : null), 10000, '5 registered slots');
    const ws = await registered();
    expect(ws.filter(w => w.endsWith(':p10,p9'))).toHaveLength(3);
    expect(ws.filter(w => w.endsWith(':p1'))).toHaveLength(2);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });
});
