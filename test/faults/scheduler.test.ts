/**
 * `pyres-ts scheduler` as a process (issue 11): real bin/, real redis-server, real signals.
 * enqueue --in -> scheduler -> worker; a Ruby-written item (fixture bytes, raw) moved with its
 * bytes and worked, pyres and node-resque items moved beside it; a poison item recorded; two
 * schedulers and the leader SIGKILLed (no item moved twice, the other takes over within the
 * TTL); TERM releases the lock; a Redis that goes silent (SIGSTOP) mid-loop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DelayedKeys } from '../../src/protocol/delayed';
import { POISON_CLASS } from '../../src/protocol/records';
import { VERSION } from '../../src/version';
import { type KeyDump, list, loadKeys } from '../unit/fixtureData';
import { faultEnv, k, privateRedis, waitFor } from './helpers';

const env = faultEnv();
const redis = privateRedis();
const dk = new DelayedKeys('resque');
const LOCK = 'resque:resque:resque_scheduler_master_lock';
const JOBS = 'fixtures/jobs/delayed.js';

/** A process's title as ps shows it (/proc/<pid>/cmdline, NULs as spaces, trailing ones dropped). */
function readTitle(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

async function redisNow(): Promise<number> {
  const [s] = (await redis.r.time()) as unknown as [string, string];
  return Number(s);
}

async function seedList(ts: number, items: string[]): Promise<void> {
  await redis.r.rpush(dk.list(ts), ...items);
  await redis.r.zadd(dk.schedule, ts, String(ts));
}

function schedulerCli(extra: string[] = []) {
  return env.cli(['scheduler', '--interval', '0.2', '--log-level', 'debug', ...extra], redis.srv.url);
}

describe('pyres-ts scheduler (process)', () => {
  it('enqueue --in -> scheduler -> worker runs it; TERM releases the lock and exits 0', async () => {
    const e = env.cli(['enqueue', '--in', '1', 'p10', 'MixedJob', '"delayed"', '2'], redis.srv.url);
    expect(await e.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(e.stdout()).toMatch(/^delayed \{"class":"MixedJob","args":\["delayed",2\],"queue":"p10"\} to /);
    expect(await redis.r.llen(k('queue:p10'))).toBe(0);
    const s = schedulerCli();
    const w = env.cli(['worker', '--queues', 'p10', '--jobs', JOBS, '--interval', '0.2'], redis.srv.url);
    await env.waitForLedger(/^MixedJob \["delayed",2\]$/, 15000);
    expect(await redis.r.get(LOCK)).toMatch(new RegExp(`:${s.pid}$`));
    expect(await redis.r.ttl(LOCK)).toBeGreaterThan(170);
    s.kill('SIGTERM');
    expect(await s.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(await redis.r.exists(LOCK)).toBe(0);
    w.kill('SIGTERM');
    await w.waitForEnd(10000);
  });

  it('a Ruby-written item (x1 bytes) is moved byte for byte and worked; pyres and node-resque items beside it move too; a poison item is recorded', async () => {
    const mixed = loadKeys('plugins/x1-foreign-items-ruby-scheduler/keys-mixed.json');
    const items = list(mixed, 'resque:delayed:1796104537');
    await seedList(1796104537, items);
    for (const [key, v] of Object.entries(mixed as KeyDump)) if (v.type === 'set') await redis.r.sadd(key, ...(v.value as string[]));
    await seedList(1796104538, ['not json']);
    const s = schedulerCli();
    await waitFor(async () => (await redis.r.zcard(dk.schedule)) === 0, 10000, 'every due timestamp handled');
    // Bytes kept: pyres' spacing and first_attempt, node-resque's key order.
    expect(await redis.r.lrange(k('queue:p10'), 0, -1)).toEqual([items[0], items[1], items[3], items[4]]);
    expect(await redis.r.lrange(k('queue:p9'), 0, -1)).toEqual([items[2]]);
    expect((await redis.r.keys('resque:timestamps:*')).length).toBe(0);
    const [rec] = await redis.r.lrange(k('failed'), 0, -1);
    expect((JSON.parse(rec!) as { payload: { class: string; args: [{ raw: string }] } }).payload).toMatchObject({
      class: POISON_CLASS,
      args: [{ raw: 'not json' }],
    });
    // A worker runs the Ruby and node-resque MixedJob items (the same logical job twice, as x1 found).
    const w = env.cli(['worker', '--queues', 'p10', '--jobs', JOBS, '--drain'], redis.srv.url);
    expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual(['MixedJob [1,"two",{"three":3}]', 'MixedJob [1,"two",{"three":3}]']);
    expect(s.exited).toBe(false);
    s.kill('SIGTERM');
    expect(await s.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('two schedulers, the leader SIGKILLed: every one of 600 items moved exactly once, the other leads within the TTL', async () => {
    const now = await redisNow();
    const all: string[] = [];
    for (let t = 0; t < 6; t++) {
      const items = Array.from({ length: 100 }, (_, i) => `{"class":"MixedJob","args":[${t * 100 + i}],"queue":"p10"}`);
      all.push(...items);
      await seedList(now + 1 + t, items);
    }
    const a = schedulerCli(['--lock-timeout', '3', '--batch-size', '7']);
    await a.waitForLine(/became the master scheduler/, 10000);
    const b = schedulerCli(['--lock-timeout', '3', '--batch-size', '7']);
    await b.waitForLine(/scheduler .* started/, 10000);
    await waitFor(async () => (await redis.r.llen(k('queue:p10'))) > 0, 10000, 'the leader to move the first timestamp');
    expect(a.lines().some(l => /became the master/.test(l))).toBe(true);
    expect(b.lines().some(l => /became the master/.test(l))).toBe(false);
    a.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitForLine(/became the master scheduler/, 8000);
    const handOver = Date.now() - killedAt;
    expect(handOver).toBeLessThan(3000 + 2000); // the TTL, plus a pass
    await waitFor(async () => (await redis.r.zcard(dk.schedule)) === 0, 15000, 'every timestamp moved');
    const moved = await redis.r.lrange(k('queue:p10'), 0, -1);
    expect(moved.length).toBe(600);
    expect(new Set(moved).size).toBe(600);
    expect([...moved].sort()).toEqual([...all].sort());
    process.stdout.write(`scheduler hand-over after SIGKILL of the leader, lock TTL 3 s: ${handOver} ms\n`);
    b.kill('SIGTERM');
    expect(await b.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it("USR1 and USR2 are logged (never Node's inspector, never death by signal); a follower's title says so; HUP releases the lock and exits 0", async () => {
    const a = schedulerCli();
    await a.waitForLine(/became the master scheduler/, 10000);
    const b = schedulerCli();
    await b.waitForLine(/scheduler .* started/, 10000);
    await waitFor(
      () => readTitle(b.pid) === `pyres-ts scheduler (pyres-ts ${VERSION}): Child scheduler`,
      5000,
      () => `the follower's title (${readTitle(b.pid)})`,
    );
    for (const [s, role] of [
      [a, 'leads'],
      [b, 'follows'],
    ] as const) {
      for (const sig of ['SIGUSR1', 'SIGUSR2'] as const) {
        const from = s.mark();
        s.kill(sig);
        await s.waitForLine(new RegExp(`${sig} received: this scheduler ${role}`), 5000, from);
      }
      expect(s.stderr()).not.toMatch(/Debugger listening|inspector/);
    }
    expect(await redis.r.get(LOCK)).toMatch(new RegExp(`:${a.pid}$`));
    a.kill('SIGHUP');
    expect(await a.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    // Released, so the follower leads at its next pass, not after the lock's 180 s.
    await b.waitForLine(/became the master scheduler/, 5000);
    b.kill('SIGHUP');
    expect(await b.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(await redis.r.exists(LOCK)).toBe(0);
  });

  it('a Redis that goes silent mid-loop (SIGSTOP) does not crash the scheduler; it recovers after SIGCONT', async () => {
    const s = schedulerCli(['--redis-timeout', '1']);
    await s.waitForLine(/became the master scheduler/, 10000);
    const mark = s.mark();
    redis.srv.proc!.kill('SIGSTOP');
    try {
      await s.waitForLine(/scheduler pass failed/, 15000, mark);
    } finally {
      redis.srv.proc!.kill('SIGCONT');
    }
    expect(s.exited).toBe(false);
    const now = await redisNow();
    await seedList(now - 1, ['{"class":"MixedJob","args":["after-stop"],"queue":"p10"}']);
    await waitFor(async () => (await redis.r.llen(k('queue:p10'))) === 1, 15000, 'a due item moved after SIGCONT');
    s.kill('SIGTERM');
    expect(await s.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it('pyres-ts delayed list / enqueue-now, and master --scheduler runs a due job in its children; TERM releases the lock', async () => {
    const e = env.cli(['enqueue', '--in', '3600', 'p10', 'MixedJob', '"by-hand"'], redis.srv.url);
    expect(await e.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    const [ts] = await redis.r.zrange(dk.schedule, 0, 0);
    const l = env.cli(['delayed', 'list'], redis.srv.url);
    expect(await l.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(l.stdout()).toContain('Scheduler leader: none');
    expect(l.stdout()).toContain(`${ts}  `);
    expect(l.stdout()).toContain('1 job: MixedJob ["by-hand"] -> p10');
    const n = env.cli(['delayed', 'enqueue-now', ts!], redis.srv.url);
    expect(await n.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(n.stdout().trim()).toBe(`pushed 1 item at ${ts} to their queues`);
    expect(await redis.r.lrange(k('queue:p10'), 0, -1)).toEqual(['{"class":"MixedJob","args":["by-hand"],"queue":"p10"}']);
    await redis.r.del(k('queue:p10'));
    const m = env.cli(
      ['master', '--queues', 'p10', '--pool', '1', '--jobs', JOBS, '--interval', '0.2', '--scheduler', '--scheduler-interval', '0.2'],
      redis.srv.url,
    );
    await m.waitForLine(/became the master scheduler/, 20000);
    const now = await redisNow();
    await seedList(now - 1, ['{"class":"MixedJob","args":["via-master"],"queue":"p10"}']);
    await env.waitForLedger(/^MixedJob \["via-master"\]$/, 15000);
    expect(await redis.r.get(LOCK)).toMatch(new RegExp(`:${m.pid}$`));
    m.kill('SIGTERM');
    expect(await m.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(await redis.r.exists(LOCK)).toBe(0);
  });

  it('recurring schedules in the scheduler process: --schedule FILE (every, 6-field cron), a persistent schedule set from the CLI with --dynamic, all worked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-sched-'));
    const file = path.join(dir, 'schedule.yml');
    fs.writeFileSync(
      file,
      [
        'tick_every:',
        '  every: 1s',
        '  class: MixedJob',
        '  queue: p10',
        '  args: [every]',
        'tick_cron:',
        '  cron: "* * * * * *"',
        '  class: MixedJob',
        '  queue: p10',
        '  args: [cron]',
        '',
      ].join('\n'),
    );
    try {
      const s = schedulerCli(['--schedule', file, '--dynamic']);
      const w = env.cli(['worker', '--queues', 'p10', '--jobs', JOBS, '--interval', '0.2'], redis.srv.url);
      await env.waitForLedger(/^MixedJob \["every"\]$/, 15000);
      await env.waitForLedger(/^MixedJob \["cron"\]$/, 15000);
      // Ruby's bookkeeping: the time each schedule last fired.
      expect(await redis.r.hkeys(k('delayed:last_enqueued_at'))).toEqual(expect.arrayContaining(['tick_every', 'tick_cron']));
      const set = env.cli(['schedule', 'set', 'dyn', '--every', '1s', '--queue', 'p10', '--class', 'MixedJob', '--args', '["dyn"]'], redis.srv.url);
      expect(await set.waitForEnd(10000)).toEqual({ code: 0, signal: null });
      await env.waitForLedger(/^MixedJob \["dyn"\]$/, 15000);
      s.kill('SIGTERM');
      expect(await s.waitForEnd(10000)).toEqual({ code: 0, signal: null });
      w.kill('SIGTERM');
      await w.waitForEnd(10000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad flags are one line naming the flag', async () => {
    for (const [args, re] of [
      [['scheduler', '--interval', '0'], /--interval must be/],
      [['scheduler', '--lock-timeout', 'x'], /--lock-timeout must be a number/],
      [['scheduler', '--class-queue', 'nope'], /--class-queue must be Class=queue/],
      [['enqueue', '--at', 'tomorrow', 'q', 'C'], /--at must be an ISO 8601 time/],
      [['enqueue', '--in', '-5', 'q', 'C'], /--in must be a number of seconds/],
      [['delayed', 'clear'], /--yes/],
    ] as Array<[string[], RegExp]>) {
      const p = env.cli(args, redis.srv.url);
      const r = await p.waitForEnd(10000);
      expect(r.code).toBe(2);
      expect(p.stderr().trim().split('\n')).toEqual([expect.stringMatching(re)]);
    }
  });
});
