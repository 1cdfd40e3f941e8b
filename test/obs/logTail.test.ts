/**
 * A master's log tail for `ctl watch` (issue 14): published beside its record, only when it has
 * new lines, only those lines. Real `pyres-ts master` and `ctl` processes, a real redis-server,
 * Redis MONITOR as the witness.
 */
import Redis from 'ioredis';
import { BASIC_JOBS, HOST, masterTestEnv, waitFor } from '../master/helpers';
import { openMonitor } from '../support/monitor';
import { spawnCli } from '../support/spawn';

const env = masterTestEnv();
const Q = 'tailq';

/** Every command Redis sees from now on (MONITOR), until `stop()`. */
async function monitor(url: string): Promise<{ cmds: string[][]; stop(): void }> {
  const r = new Redis(url, { maxRetriesPerRequest: 2 });
  const mon = await openMonitor(r);
  const cmds: string[][] = [];
  mon.on('monitor', (_t: string, args: string[]) => cmds.push(args));
  return {
    cmds,
    stop: () => {
      mon.disconnect();
      r.disconnect();
    },
  };
}

describe('the master log tail', () => {
  it('an idle master writes nothing for its tail (while its record is written each second); a new line is sent alone; ctl watch shows it', async () => {
    const m = await env.startMaster(['--queues', Q, '--pool', '1'], { jobs: [BASIC_JOBS] });
    await env.waitForChildren(m.pid, 1);
    const id = `${HOST}:${m.pid}`;
    const record = `resque:pyres-ts:master:${id}`;
    const logKey = `${record}:log`;
    await waitFor(async () => (await env.redis.lrange(logKey, 0, -1)).some(l => /all children registered/.test(l)), 5000, 'the ready line in the tail');
    const mon = await monitor(env.url);
    try {
      // Three advertisements of the record (a second apart): the master's publishing rounds ran.
      const sets = (): number => mon.cmds.filter(c => c[0]?.toLowerCase() === 'set' && c[1] === record).length;
      await waitFor(
        () => sets() >= 3,
        10000,
        () => `3 SETs of ${record}; saw ${sets()}`,
      );
      const touching = (): string[][] => mon.cmds.filter(c => c.some(a => a === logKey));
      expect(touching()).toEqual([]);
      // Nor is the tail in the record any more: it was 50 lines there, every second.
      const rec = mon.cmds.find(c => c[0]?.toLowerCase() === 'set' && c[1] === record)!;
      expect(JSON.parse(rec[2]!)).not.toHaveProperty('logTail');

      // One new line (the master logs the command it takes): exactly that line is sent, with the trim and expiry.
      await env.redis.rpush(`resque:pyres-ts:master:${id}:commands`, JSON.stringify({ cmd: 'pause' }));
      await waitFor(
        () => touching().some(c => c[0]?.toLowerCase() === 'rpush'),
        10000,
        () => `an RPUSH to ${logKey}; saw ${JSON.stringify(touching())}`,
      );
      const push = touching().find(c => c[0]?.toLowerCase() === 'rpush')!;
      const sent = push.slice(2);
      expect(sent.length).toBeGreaterThanOrEqual(1);
      expect(sent.length).toBeLessThan(5);
      expect(sent.some(l => /command from Redis: \{"cmd":"pause"\}/.test(l))).toBe(true);
      expect(touching().map(c => c[0]!.toLowerCase())).toEqual(expect.arrayContaining(['rpush', 'ltrim', 'expire']));
      expect(await env.redis.ttl(logKey)).toBeGreaterThan(3600);
    } finally {
      mon.stop();
    }

    // ctl watch (any host: it reads Redis only) shows the tail, old and new lines in order.
    const w = spawnCli(['ctl', 'watch', '--count', '1', '--tail', '50'], env.spawnEnv());
    expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    const out = w.stdout();
    const ready = out.search(/all children registered/);
    const paused = out.search(/command from Redis: \{"cmd":"pause"\}/);
    expect(ready).toBeGreaterThan(0);
    expect(paused).toBeGreaterThan(ready);

    // A clean stop withdraws the tail with the record.
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(await env.redis.exists(logKey)).toBe(0);
  });
});
