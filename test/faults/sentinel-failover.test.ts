/**
 * `SENTINEL FAILOVER` under load, with a real redis-server master, a real replica and a real
 * redis-sentinel: a `master --pool 3` over `redis+sentinel://` keeps working across the
 * failover, its children move to the new master (the sentinel's +switch-master, ioredis'
 * failoverDetector), and with `--wait-replicas 1` no job runs twice but those in flight at the
 * failover (at most one per child).
 *
 * Before the change there was no failover detection: the children wrote on to the demoted
 * master until the sentinel reconfigured it (~10 s) and every job reserved there ran again on
 * the new master; and `--wait-replicas` did not exist.
 */
import Redis from 'ioredis';
import { RedisProc } from './redisProc';
import { childPidsOf, client, faultEnv, k, waitFor } from './helpers';

const env = faultEnv();
const JOBS = 'fixtures/jobs/chaos-steps.js';
const POOL = 3;
const N = 900;

async function sentinelCall<T>(port: number, ...args: string[]): Promise<T | null> {
  const s = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, disconnectTimeout: 50 });
  s.on('error', () => undefined);
  try {
    await s.connect();
    return (await s.call('SENTINEL', ...args)) as T;
  } catch {
    return null;
  } finally {
    s.disconnect();
  }
}

/** The sentinel's view of mymaster's replicas: name/value pairs flattened. */
async function replicaFlags(sentinelPort: number): Promise<string[]> {
  const reps = (await sentinelCall<string[][]>(sentinelPort, 'replicas', 'mymaster')) ?? [];
  return reps.map(r => {
    const i = r.indexOf('flags');
    return `${r[r.indexOf('port') + 1]}:${r[i + 1]}`;
  });
}

/** pyres-ts worker connections (CLIENT SETNAME pyres-ts:worker:<pid>) on a server. */
async function workerConnections(url: string): Promise<number[]> {
  const r = client(url);
  try {
    const list = String(await r.call('CLIENT', 'LIST'));
    return [...list.matchAll(/name=pyres-ts:worker:(\d+)\s/g)].map(m => Number(m[1]));
  } catch {
    return [];
  } finally {
    r.disconnect();
  }
}

function performedCounts(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) if (!l.startsWith('done ')) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

describe('SENTINEL FAILOVER under load', () => {
  jest.setTimeout(90000);

  it('master --pool 3 --wait-replicas 1: moves to the new master, and no job runs twice but those in flight at the failover', async () => {
    const a = await RedisProc.start({ extraArgs: ['--appendonly', 'no'] });
    const b = await RedisProc.start({ extraArgs: ['--replicaof', '127.0.0.1', String(a.port)] });
    const sentinel = await RedisProc.start({
      sentinelConfig: [
        `sentinel monitor mymaster 127.0.0.1 ${a.port} 1`,
        'sentinel down-after-milliseconds mymaster 5000',
        'sentinel failover-timeout mymaster 20000',
      ].join('\n'),
    });
    await waitFor(async () => (await replicaFlags(sentinel.port)).some(f => f === `${b.port}:slave`), 20000, 'the sentinel to see the replica');
    const ra = client(a.url);
    const rb = client(b.url);
    try {
      const p = ra.pipeline().sadd(k('queues'), 'q');
      for (let i = 0; i < N; i++) p.rpush(k('queue:q'), `{"class":"ChaosStep","args":["j${i}",0,15]}`);
      await p.exec();
      await waitFor(async () => (await rb.llen(k('queue:q'))) === N, 10000, 'the replica to have the jobs');

      const url = `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`;
      const m = env.cli(
        ['master', '--queues', 'q', '--pool', String(POOL), '--jobs', JOBS, '--redis', url, '--wait-replicas', '1', '--wait-timeout', '100'],
        '',
      );
      await m.waitForLine(/all children registered/, 20000);
      const kids = childPidsOf(m.pid);
      expect(kids).toHaveLength(POOL);
      await waitFor(() => env.ledgerLines().filter(l => l.startsWith('done ')).length >= 150, 30000, '150 jobs done before the failover');

      const before = env.ledgerLines();
      expect(await sentinelCall(sentinel.port, 'failover', 'mymaster')).toBe('OK');
      const t0 = Date.now();
      // Jobs in flight at the failover: performed at most one per child (each runs one at a time).
      await waitFor(
        async () => (await sentinelCall<string[]>(sentinel.port, 'get-master-addr-by-name', 'mymaster'))?.[1] === String(b.port),
        20000,
        'the sentinel to name the replica as master',
      );
      // The switch: every child's connection is on the new master (asserted as an event, timed only for the log).
      await waitFor(
        async () => {
          const on = await workerConnections(b.url);
          return kids.every(pid => on.includes(pid));
        },
        20000,
        'every child to be connected to the new master',
      );
      process.stderr.write(`sentinel-failover: children on the new master ${Date.now() - t0} ms after SENTINEL FAILOVER\n`);

      // Work goes on there, to the end.
      let state = '';
      await waitFor(
        async () => {
          const [queued, held] = [await rb.llen(k('queue:q')), (await rb.keys(k('worker:*'))).filter(x => !x.endsWith(':started'))];
          state = `${queued} queued, held: ${held.join(' ')}`;
          return queued === 0 && held.length === 0;
        },
        60000,
        () => `the queue to drain on the new master (${state}); log:\n${m.lines().slice(-40).join('\n')}`,
      );
      m.kill('SIGTERM');
      expect(await m.waitForEnd(30000)).toEqual({ code: 0, signal: null });

      const counts = performedCounts(env.ledgerLines());
      const dups = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      const missing = Array.from({ length: N }, (_, i) => `j${i}`).filter(id => !counts.has(id));
      const failed = await rb.lrange(k('failed'), 0, -1);
      // In flight at the failover: performed in the ledger, not done, when SENTINEL FAILOVER went out, or started just after.
      const doneBefore = new Set(before.filter(l => l.startsWith('done ')).map(l => l.slice(5)));
      const inFlight = before.filter(l => !l.startsWith('done ') && !doneBefore.has(l));
      process.stderr.write(
        `sentinel-failover: ${N} jobs, ${dups.length} duplicated (${dups.slice(0, 20).join(' ')}), in flight at the failover ${inFlight.length} (${inFlight.join(' ')}), missing ${missing.length}, failed ${failed.length}\n`,
      );
      expect(missing).toEqual([]);
      expect(failed).toEqual([]);
      expect(dups.length).toBeLessThanOrEqual(POOL);
      expect(m.lines().filter(l => /reserve failed/.test(l))).toEqual([]);
    } finally {
      ra.disconnect();
      rb.disconnect();
    }
  });
});
