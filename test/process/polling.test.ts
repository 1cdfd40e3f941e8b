/**
 * How the real worker process waits for work, observed from the Redis side (MONITOR on a
 * private redis-server, so other test files neither add commands nor stall the server):
 *   --nonblocking-pop: one reserve pass (a script: LPOP per queue) per backoff step,
 *                      min, 2·min, 4·min, ... capped at max, reset after every job;
 *   default (blocking): a pushed job is picked up at once, and an idle worker sends about one
 *                      command per 5 s.
 * The time checks are behavioural (a schedule, a liveness bound), not performance targets.
 */
import Redis from 'ioredis';
import { type MonitorEvent, k, processTestEnv, sleep, startMonitor, waitFor } from './helpers';

const env = processTestEnv({ privateServer: true });

/**
 * The worker's reserve passes: its finish-and-reserve script calls (first key worker:<id>), as
 * server times in seconds. An EVAL that immediately follows an EVALSHA of the same call is
 * ioredis' NOSCRIPT retry, not a second pass.
 */
function passes(events: readonly MonitorEvent[], addrs: readonly string[], id: string): number[] {
  const out: Array<{ time: number; cmd: string }> = [];
  for (const e of events) {
    if (!addrs.includes(e.source)) continue;
    const cmd = String(e.args[0]).toLowerCase();
    if ((cmd !== 'evalsha' && cmd !== 'eval') || e.args[3] !== k(`worker:${id}`)) continue;
    const prev = out[out.length - 1];
    if (cmd === 'eval' && prev && prev.cmd === 'evalsha' && e.time - prev.time < 0.05) continue;
    out.push({ time: e.time, cmd });
  }
  return out.map(p => p.time);
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => Math.round((t - times[i]!) * 1000) / 1000);
}

function expectSchedule(actual: readonly number[], expected: readonly number[], tolerance = 0.1): void {
  expect(actual.length).toBeGreaterThanOrEqual(expected.length);
  const bad = expected.map((e, i) => ({ i, e, a: actual[i]! })).filter(x => Math.abs(x.a - x.e) > tolerance);
  if (bad.length) throw new Error(`pass gaps ${JSON.stringify(actual)} do not follow ${JSON.stringify(expected)} (±${tolerance} s)`);
}

describe('--nonblocking-pop backoff (real process, seen by MONITOR)', () => {
  it('empty passes back off 0.2, 0.4, 0.8, 0.8 s; a job resets the schedule to 0.2', async () => {
    const mon = await startMonitor(env.url);
    try {
      const { proc, id } = await env.startWorker(['--nonblocking-pop', '--backoff-min', '0.2', '--backoff-max', '0.8']);
      const addrs = await env.clientAddrs(proc.pid);
      expect(addrs.length).toBeGreaterThan(0);
      const seen = () => passes(mon.events, addrs, id);

      await waitFor(() => seen().length >= 6, 5000, 'six reserve passes');
      expectSchedule(gaps(seen().slice(0, 6)), [0.2, 0.4, 0.8, 0.8, 0.8]);

      // One job, pushed in the middle of a 0.8 s sleep: the next pass takes it, the pass after
      // the job (which also records it) comes at once, then the backoff starts over at 0.2.
      await sleep(300);
      const t0 = await env.serverTime();
      await env.enqueue('p9', 'Echo', 'nb');
      await proc.waitForLine(/done: Echo from p9/, 3000);
      const passesSince = () => seen().filter(t => t > t0);
      await waitFor(() => passesSince().length >= 5, 4000, 'five passes after the push');
      const a = passesSince();
      expect(a[0]! - t0).toBeLessThanOrEqual(0.8 + 0.1);
      expectSchedule(gaps(a.slice(0, 5)), [0, 0.2, 0.4, 0.8]);
      expect(env.ledgerLines()).toEqual(['Echo ["nb"]']);

      proc.kill('SIGQUIT');
      expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    } finally {
      await mon.stop();
    }
  });
});

describe('default blocking mode (real process)', () => {
  it('picks up a job pushed while idle within 1 s, also right after a job', async () => {
    const { proc } = await env.startWorker();
    const latencies: Array<{ idleMs: number; ms: number }> = [];
    for (const [i, idleMs] of [1500, 300, 0, 0, 0].entries()) {
      await sleep(idleMs);
      const mark = proc.mark();
      const t0 = Date.now();
      await env.enqueue('p9', 'Echo', i);
      await proc.waitForLine(/done: Echo from p9/, 6000, mark);
      latencies.push({ idleMs, ms: Date.now() - t0 });
    }
    expect(latencies.filter(l => l.ms >= 1000)).toEqual([]);
    expect(env.ledgerLines()).toEqual(['Echo [0]', 'Echo [1]', 'Echo [2]', 'Echo [3]', 'Echo [4]']);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('an idle worker sends at most ~1 command per 5 s (<= 3 in 6 s, heartbeats included)', async () => {
    const { proc } = await env.startWorker();
    await sleep(500); // past startup and arming
    const addrs = await env.clientAddrs(proc.pid);
    expect(addrs.length).toBeGreaterThan(0);
    const mon = await startMonitor(env.url);
    try {
      await sleep(6000);
    } finally {
      await mon.stop();
    }
    const mine = mon.events.filter(e => addrs.includes(e.source));
    expect(mine.length).toBeLessThanOrEqual(3);
    // ... but it does look now and then (the wait is at most 5 s).
    expect(mine.length).toBeGreaterThanOrEqual(1);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('does not miss a push that Redis serves right behind an idle pass that found the queues empty', async () => {
    // Redis is stalled by a script for 1.5 s. The worker (--interval 1: a wait of at most 1 s)
    // sends one idle pass during the stall; a producer pushes a job 1.3 s in, after that pass.
    // When the stall ends Redis serves the pass (queues empty) and the push back to back, as a
    // busy production server does all the time. The worker must then take the job at once,
    // not at its next idle pass.
    const BUSY = `
      local t = redis.call('TIME')
      local stop = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1]) * 1000
      repeat t = redis.call('TIME') until tonumber(t[1]) * 1000000 + tonumber(t[2]) >= stop
      return 1`;
    const { proc } = await env.startWorker(['--interval', '1']);
    const staller = new Redis(env.url);
    const producer = new Redis(env.url);
    try {
      await Promise.all([staller.ping(), producer.ping()]);
      for (const i of [1, 2]) {
        await sleep(300);
        const mark = proc.mark();
        const stall = staller.eval(BUSY, 0, '1500');
        await sleep(1300);
        const pushed = producer.pipeline().sadd(k('queues'), 'p9').rpush(k('queue:p9'), `{"class":"Echo","args":["behind ${i}"]}`).exec();
        await stall;
        const stallEnd = Date.now();
        await pushed;
        await proc.waitForLine(/done: Echo from p9/, 4000, mark);
        const late = Date.now() - stallEnd;
        expect(late).toBeLessThan(500);
      }
    } finally {
      staller.disconnect();
      producer.disconnect();
    }
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });
});
