/**
 * Retries (resque-retry 1.8, issue 12) in a real `pyres-ts worker` beside a real `pyres-ts
 * scheduler` (delayed retries go through resque-scheduler's keys): fixtures/jobs/retry.js, the
 * captures fixtures/plugins/r1-* (suppression) and r3-* (default failure backend).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnCli } from '../support/spawn';
import { HOST, k, type MonitorEvent, processTestEnv, startMonitor, waitFor } from './helpers';

const env = processTestEnv();
const RETRY_JOBS = 'fixtures/jobs/retry.js';
const R1 = path.join(__dirname, '..', '..', 'fixtures', 'plugins', 'r1-retry-fixed-delay-suppression');
const R2 = path.join(__dirname, '..', '..', 'fixtures', 'plugins', 'r2-retry-exponential-backoff');
const FIXED_KEY = 'resque-retry:RetryFixedJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b';

async function startBoth(): Promise<{ id: string }> {
  const sched = spawnCli(['scheduler', '--interval', '0.2', '-l', 'debug'], env.spawnOpts());
  await sched.waitForLine(/./, 8000);
  const { id } = await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
  return { id };
}

/**
 * The retry-relevant commands of one job class, normalized (namespace off, timestamps `T`,
 * values `<json>`), in server order: the retry key and its failure-* twin, the delayed
 * re-enqueue, the failed record and the stat:failed counts.
 */
function retryTrace(cmds: string[][], cls: string): string[] {
  const out: string[] = [];
  let last: string | null = null;
  for (const c of cmds) {
    const [cmd, ...a] = [c[0]!.toLowerCase(), ...c.slice(1).map(x => x.replace(/^resque:/, ''))];
    const mine = a.some(x => x.includes(cls));
    // The class a command is about (its retry key or its payload): stat:failed counts belong to the last one seen.
    for (const x of a) {
      const m = /resque-retry:(\w+)|"class":"(\w+)"/.exec(x);
      if (m) last = m[1] ?? m[2] ?? null;
    }
    const norm = (x: string): string =>
      x
        .replace(/^delayed:\d+$/, 'delayed:T')
        .replace(/^\d{10}$/, 'T')
        .replace(/^timestamps:.*/, 'timestamps:<item>')
        .replace(/^\{.*/s, '<json>')
        .replace(/^stat:failed:.+/, 'stat:failed:W');
    if (['setnx', 'incr', 'expire', 'del', 'exists', 'setex'].includes(cmd) && mine && !/^delayed:/.test(a[0]!)) out.push([cmd, ...a.map(norm)].join(' '));
    else if (['rpush', 'sadd', 'zadd'].includes(cmd) && (/^delayed:/.test(a[0]!) || /^timestamps:/.test(a[0]!)) && mine)
      out.push([cmd, ...a.map(norm)].join(' '));
    else if (cmd === 'zadd' && a[0] === 'delayed_queue_schedule' && last === cls && out.at(-1)?.startsWith('sadd timestamps'))
      out.push([cmd, ...a.map(norm)].join(' '));
    else if (cmd === 'rpush' && a[0] === 'failed' && mine) out.push('rpush failed <record>');
    // pyres-ts's scheduler moves a delayed item's bytes unchanged, `"queue"` field kept (docs/SCHEDULER.md);
    // resque-scheduler drops it. Both are the same job to every worker: compared without it.
    else if (cmd === 'rpush' && /^queue:/.test(a[0]!) && mine) out.push([cmd, a[0], a[1]!.replace(/,"queue":"[^"]*"\}$/, '}')].join(' '));
    else if (cmd === 'incrby' && /^stat:failed/.test(a[0]!) && last === cls) out.push([cmd, ...a.map(norm)].join(' '));
  }
  return out;
}

/** Waits until MONITOR has shown `runs` finishes (`INCRBY stat:processed`, the finish script's last count of a run). */
async function monitorSawRuns(events: MonitorEvent[], runs: number): Promise<void> {
  const done = (): number => events.filter(e => e.args[0]?.toLowerCase() === 'incrby' && e.args[1] === k('stat:processed')).length;
  // The stream can trail the writes (a loaded machine): a deadline, not a timing assertion.
  await waitFor(() => done() >= runs || null, 20000, `MONITOR showing ${runs} finished runs`);
}

function parseMonitor(dir: string): string[][] {
  return fs
    .readFileSync(path.join(dir, 'monitor.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const m = /^\d+\.\d+ \[\d+ [^\]]+\] (.*)$/.exec(line);
      return m ? (JSON.parse(`[${m[1]!.replace(/" "/g, '","')}]`) as string[]) : [];
    })
    .filter(a => a.length > 0);
}

describe('pyres-ts worker + scheduler: resque-retry 1.8 retries', () => {
  it('r1 golden: a fixed-delay job under suppression retries twice, then gives up into `failed`, command for command', async () => {
    const mon = await startMonitor(env.url);
    try {
      await env.enqueue('p9', 'RetryFixedJob', 1, 'two');
      await startBoth();
      // 3 runs (attempts 0, 1, 2 with limit 2), then one failed record.
      await waitFor(async () => (await env.failures()).length === 1 || null, 20000, 'the give-up failure record');
      expect(env.ledgerLines()).toEqual(['RetryFixedJob [1,"two"]', 'RetryFixedJob [1,"two"]', 'RetryFixedJob [1,"two"]']);
      await monitorSawRuns(mon.events, 3);
      // What the worker and the scheduler sent, before this test's own reads below.
      const ours = retryTrace(
        mon.events.filter((e: MonitorEvent) => e.database === env.db).map(e => e.args),
        'RetryFixedJob',
      );
      expect(await env.stat('failed')).toBe('3');
      expect(await env.redis.exists(k(FIXED_KEY), k(`failure-${FIXED_KEY}`))).toBe(0);
      const rec = JSON.parse((await env.failures())[0]!) as Record<string, unknown>;
      expect(rec).toMatchObject({ exception: 'IOError', error: 'fixed boom [1, "two"]', queue: 'p9', payload: { class: 'RetryFixedJob', args: [1, 'two'] } });
      expect(ours).toEqual(retryTrace(parseMonitor(R1), 'RetryFixedJob'));
      // The trace is not empty: what is compared is the whole retry story.
      expect(ours).toContain(`setex failure-${FIXED_KEY} 4 <json>`);
      expect(ours.filter(l => l === 'rpush delayed:T <json>')).toHaveLength(2);
    } finally {
      await mon.stop();
    }
  });

  it('r2 golden: backoff [0, 2, 3] with expireRetryKeyAfter 30: a direct retry, two delayed ones, EXPIRE 30/32/33/33, then give up', async () => {
    const mon = await startMonitor(env.url);
    try {
      await env.enqueue('p9', 'RetryBackoffJob', 'b', { k: [1, 2] });
      await startBoth();
      await waitFor(async () => (await env.failures()).length === 1 || null, 20000, 'the give-up failure record');
      await monitorSawRuns(mon.events, 4);
      const ours = retryTrace(
        mon.events.filter((e: MonitorEvent) => e.database === env.db).map(e => e.args),
        'RetryBackoffJob',
      );
      expect(env.ledgerLines()).toHaveLength(4);
      expect(await env.stat('failed')).toBe('4');
      const key = 'resque-retry:RetryBackoffJob:260166752b877812cf42832018b1adc49d31f5d3';
      expect(ours.filter(l => l.startsWith('expire '))).toEqual([30, 32, 33, 33].map(n => `expire ${key} ${n}`));
      expect(ours).toContain('rpush queue:p9 {"class":"RetryBackoffJob","args":["b",{"k":[1,2]}]}');
      expect(ours).toEqual(retryTrace(parseMonitor(R2), 'RetryBackoffJob'));
    } finally {
      await mon.stop();
    }
  });

  it('the suppression record while retrying: failure-resque-retry:<key> with TTL 2 × delay, zone-less failed_at; nothing in `failed`', async () => {
    await env.enqueue('p9', 'RetryFixedJob', 1, 'two');
    await startBoth();
    const v = await waitFor(() => env.redis.get(k(`failure-${FIXED_KEY}`)), 8000, 'the suppressed failure record');
    const ttl = await env.redis.ttl(k(`failure-${FIXED_KEY}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(4);
    const rec = JSON.parse(v) as Record<string, unknown>;
    expect(Object.keys(rec)).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
    expect(rec['failed_at']).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(rec).toMatchObject({ payload: { class: 'RetryFixedJob', args: [1, 'two'] }, exception: 'IOError', queue: 'p9' });
    expect(String(rec['worker'])).toMatch(new RegExp(`^${HOST}:\\d+:p9$`));
    expect(await env.redis.get(k(FIXED_KEY))).toBe('0');
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('failed')).toBe('1');
    // The retry is parked in the delayed keys as resque-retry parks it.
    const items = await env.redis.zrange(k('delayed_queue_schedule'), 0, -1);
    expect(items).toHaveLength(1);
    expect(await env.redis.lrange(k(`delayed:${items[0]}`), 0, -1)).toEqual(['{"class":"RetryFixedJob","args":[1,"two"],"queue":"p9"}']);
  });

  it('a flaky job (fails twice) retried with backoff [0, 1, 1] then succeeds: retry key gone, nothing in `failed`', async () => {
    await env.enqueue('p9', 'RetryFlakyJob', 'f');
    await startBoth();
    await waitFor(() => env.ledgerLines().length === 3 || null, 15000, 'three runs of RetryFlakyJob');
    await waitFor(async () => ((await env.stat('processed')) === '3' ? true : null), 5000, 'stat:processed 3');
    // after_perform deletes the retry key; the last suppressed record is left to its TTL (2 × 1 s), as in r1.
    expect(await env.redis.keys(k('resque-retry:*'))).toEqual([]);
    const left = await env.redis.keys(k('failure-resque-retry:*'));
    expect(left).toEqual([k('failure-resque-retry:RetryFlakyJob:4a0a19218e082a343a1b17e5333409af9d98f0f5')]);
    expect(await env.redis.ttl(left[0]!)).toBeGreaterThan(0);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('failed')).toBe('2');
    // Backoff [0, 1, 1]: the first retry went straight back onto the queue, the second through the delayed keys.
    expect(await env.redis.zcard(k('delayed_queue_schedule'))).toBe(0);
  });

  it('a fatal exception is not retried: one run, one failed record, no retry key', async () => {
    await env.enqueue('p9', 'RetryFatalJob', 'x');
    // A marker job after it: once it ran, a retry pushed straight back (delay 0) would have run too.
    await env.enqueue('p9', 'RetryFlakyJob', 'after');
    await startBoth();
    await waitFor(() => env.ledgerLines().some(l => l.startsWith('RetryFlakyJob')) || null, 8000, 'the marker job');
    await waitFor(async () => ((await env.failures()).length === 1 ? true : null), 5000, 'the fatal failure record');
    expect(env.ledgerLines().filter(l => l.startsWith('RetryFatalJob'))).toEqual(['RetryFatalJob ["x"]']);
    expect(JSON.parse((await env.failures())[0]!)).toMatchObject({ exception: 'FatalError' });
    expect(await env.redis.keys(k('*RetryFatalJob*'))).toEqual([]);
    // The marker itself is retried (it is flaky); nothing of the fatal job is queued or parked.
    const queued = [...(await env.redis.lrange(k('queue:p9'), 0, -1)), ...(await env.redis.keys(k('delayed:*')))];
    expect(queued.filter(x => x.includes('RetryFatalJob'))).toEqual([]);
  });

  it('expireRetryKeyAfter: EXPIRE <key> (delay + N) right after the INCR', async () => {
    const mon = await startMonitor(env.url);
    try {
      await env.enqueue('p9', 'RetryExpireJob', 'e');
      await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
      await env.waitForLedger(/^RetryExpireJob/, 8000);
      await waitFor(async () => ((await env.stat('processed')) === '1' ? true : null), 5000, 'the first attempt finished');
      await monitorSawRuns(mon.events, 1);
      const key = 'resque-retry:RetryExpireJob:58e6b3a414a1e090dfc6029add0f3555ccba127f';
      const cmds = mon.events.map(e => e.args.map(a => a.toLowerCase()).join(' ')).filter(c => c.includes(key.toLowerCase()));
      expect(cmds.slice(0, 3)).toEqual([`setnx resque:${key} -1`, `incr resque:${key}`, `expire resque:${key} 32`].map(c => c.toLowerCase()));
      const ttl = await env.redis.ttl(k(key));
      expect(ttl).toBeGreaterThan(20);
      expect(ttl).toBeLessThanOrEqual(32);
    } finally {
      await mon.stop();
    }
  });

  it('suppression under --failure-backend redis_multi_queue: no p9_failed list and no failed_queues member while retrying', async () => {
    await env.enqueue('p9', 'RetryFlakyJob', 'mq');
    const { proc } = await env.startWorker(['--failure-backend', 'redis_multi_queue'], 'p9', { jobs: [RETRY_JOBS] });
    // Attempt 0 fails (backoff 0: straight back), attempt 1 fails (delayed 1 s, no scheduler here): two finished runs.
    await waitFor(async () => ((await env.stat('processed')) === '2' ? true : null), 8000, 'two finished runs');
    expect(await env.stat('failed')).toBe('2');
    expect(await env.redis.exists(k('p9_failed'), k('failed'))).toBe(0);
    expect(await env.redis.smembers(k('failed_queues'))).toEqual([]);
    expect(await env.redis.zcard(k('delayed_queue_schedule'))).toBe(1);
    proc.kill('SIGTERM');
    expect((await proc.waitForEnd(10000)).code).toBe(0);
  });

  it('r3: without suppression every attempt is a `failed` record (3 for limit 2, delay 0, no scheduler needed)', async () => {
    await env.enqueue('p9', 'RetryPlainJob', 'nosup');
    await env.startWorker([], 'p9', { jobs: [RETRY_JOBS] });
    await waitFor(async () => ((await env.failures()).length === 3 ? true : null), 10000, 'three failed records');
    await waitFor(async () => ((await env.stat('processed')) === '3' ? true : null), 5000, 'stat:processed 3');
    expect(await env.stat('failed')).toBe('3');
    expect(env.ledgerLines()).toHaveLength(3);
    expect(await env.redis.keys(k('*resque-retry*'))).toEqual([]);
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);
  });
});
