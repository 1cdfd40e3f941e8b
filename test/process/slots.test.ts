/**
 * Job slots (`pyres-ts worker --concurrency N`, issue 15) with the real bin/ and real signals:
 * every slot is a Resque worker in Redis (registered, heartbeat, worker:<id> with its payload,
 * started), priority order holds, QUIT drains every slot, TERM aborts every slot within the
 * deadline, USR1 aborts every job, a SIGKILLed process leaves a DirtyExit for every slot's job
 * that the next worker's prune writes, Ruby 3.0's prune decision leaves live slots alone, and
 * a range autoscales.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { decodeWorkingOn } from '../../src/protocol/records';
import { formatSlotWorkerId } from '../../src/protocol/workerId';
import { PROJECT_ROOT, runCli } from '../support/spawn';
import { HEARTBEAT_RE, HOST, JOBS, k, parseFailure, processTestEnv, STARTED_RE, waitFor } from './helpers';

const env = processTestEnv();
const SLOT_JOBS = 'fixtures/jobs/slots.js';
const RUBY_PRUNE = path.join(PROJECT_ROOT, 'test', 'support', 'resquePrune.rb');

const slotIds = (pid: number, n: number, queues = 'p10,p9'): string[] =>
  Array.from({ length: n }, (_, i) => formatSlotWorkerId(HOST, pid, queues.split(','), i));
const hold = (tag: string, ms: number): string => `{"class":"Hold","args":[${JSON.stringify(tag)},${ms}]}`;

async function startSlots(n: number | string, extra: string[] = [], queues = 'p10,p9') {
  return env.startWorker(['--concurrency', String(n), ...extra], queues, { jobs: [JOBS, SLOT_JOBS] });
}

function startLines(re: RegExp): string[] {
  return env.ledgerLines().filter(l => re.test(l));
}

async function waitForStarts(re: RegExp, n: number, timeoutMs = 10000): Promise<string[]> {
  return waitFor(
    () => {
      const l = startLines(re);
      return l.length >= n ? l : null;
    },
    timeoutMs,
    `${n} ledger lines matching ${re}; have ${JSON.stringify(startLines(re))}`,
  );
}

/** A pid that was just used and is gone. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('pyres-ts worker --concurrency', () => {
  it('20 slots: all visible as working in Redis at once (workers, worker:<id> payloads, started, heartbeats); QUIT drains every slot', async () => {
    const { proc } = await startSlots(20);
    const ids = slotIds(proc.pid, 20);
    await waitFor(async () => (await env.redis.scard(k('workers'))) === 20, 8000, '20 registered slots');
    const raws: string[] = [];
    for (let i = 0; i < 20; i++) {
      const raw = hold(`j${i}`, 4000);
      raws.push(raw);
      await env.push('p9', raw);
    }
    const starts = await waitForStarts(/^Hold start /, 20);
    // Every slot ran one job: 20 distinct worker ids, the slot ids.
    expect(new Set(starts.map(l => l.split(' ')[3])).size).toBe(20);
    expect(new Set(starts.map(l => l.split(' ')[3]))).toEqual(new Set(ids));
    // At this moment, all 20 are working in Redis.
    expect((await env.redis.smembers(k('workers'))).sort()).toEqual([...ids].sort());
    const payloads = new Set<string>();
    for (const id of ids) {
      const w = decodeWorkingOn((await env.redis.get(k(`worker:${id}`))) ?? '');
      expect(w?.queue).toBe('p9');
      payloads.add(w?.rawPayload ?? '');
      expect(await env.redis.get(k(`worker:${id}:started`))).toMatch(STARTED_RE);
      expect(await env.redis.hget(k('workers:heartbeat'), id)).toMatch(HEARTBEAT_RE);
    }
    expect(payloads).toEqual(new Set(raws));
    // One liveness thread, one process: the title shows every slot busy.
    await waitFor(
      () => /Processing 20\/20 slots/.test(execFileSync('ps', ['-o', 'command=', '-p', String(proc.pid)], { encoding: 'utf8' })),
      3000,
      'the title',
    );
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(startLines(/^Hold done /)).toHaveLength(20);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('20');
    for (const id of ids) await env.expectUnregistered(id);
  });

  it('priority order holds with slots: the first jobs taken by 4 slots are the 4 of p10', async () => {
    for (const t of ['a', 'b', 'c', 'd']) await env.push('p9', hold(`p9-${t}`, 3000));
    for (const t of ['a', 'b', 'c', 'd']) await env.push('p10', hold(`p10-${t}`, 3000));
    const { proc } = await startSlots(4);
    const first = await waitForStarts(/^Hold start /, 4);
    expect(first.map(l => l.split(' ')[2]).sort()).toEqual(['p10-a', 'p10-b', 'p10-c', 'p10-d']);
    const next = await waitForStarts(/^Hold start /, 8, 10000);
    expect(
      next
        .slice(4)
        .map(l => l.split(' ')[2])
        .sort(),
    ).toEqual(['p9-a', 'p9-b', 'p9-c', 'p9-d']);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('TERM with every slot busy: all jobs aborted, a DirtyExit for each unfinished one, every slot unregistered, within --term-timeout', async () => {
    const { proc } = await startSlots(10, ['--term-timeout', '1']);
    const ids = slotIds(proc.pid, 10);
    const raws = Array.from({ length: 10 }, (_, i) => `{"class":"Stubborn","args":[${30 + i}]}`);
    for (const raw of raws) await env.push('p9', raw);
    await waitFor(() => (env.ledgerLines().filter(l => l === 'Stubborn start').length === 10 ? true : null), 10000, '10 Stubborn starts');
    const t0 = Date.now();
    proc.kill('SIGTERM');
    expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    // The deadline: --term-timeout 1 s, plus the unregister of 10 slots.
    expect(Date.now() - t0).toBeLessThan(1000 + 4000);
    const failures = (await env.failures()).map(parseFailure);
    expect(failures).toHaveLength(10);
    expect(new Set(failures.map(f => f.worker))).toEqual(new Set(ids));
    expect(failures.every(f => f.exception === 'Resque::DirtyExit')).toBe(true);
    expect(new Set((await env.failures()).map(r => raws.find(raw => r.includes(`"payload":${raw},`))))).toEqual(new Set(raws));
    expect(env.ledgerLines()).not.toContain('Stubborn done');
    for (const id of ids) await env.expectUnregistered(id);
  });

  it("USR1 aborts every slot's job (a DirtyExit each) and the slots go on working", async () => {
    const { proc } = await startSlots(5);
    for (let i = 0; i < 5; i++) await env.push('p9', `{"class":"HoldAbortable","args":["a${i}",30000]}`);
    await waitForStarts(/^HoldAbortable start /, 5);
    proc.kill('SIGUSR1');
    const fails = await waitFor(
      async () => {
        const f = await env.failures();
        return f.length === 5 ? f.map(parseFailure) : null;
      },
      5000,
      '5 failures',
    );
    expect(fails.every(f => f.exception === 'Resque::DirtyExit' && /SIGUSR1/.test(f.error))).toBe(true);
    expect(new Set(fails.map(f => f.worker))).toEqual(new Set(slotIds(proc.pid, 5)));
    await env.enqueue('p9', 'Echo', 'after');
    await env.waitForLedger(/^Echo \["after"\]$/);
    expect(proc.exited).toBe(false);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('SIGKILL with 20 jobs in flight: the next worker on this host prunes every slot, a DirtyExit with the exact payload for each, no stale slot', async () => {
    const { proc } = await startSlots(20);
    const ids = slotIds(proc.pid, 20);
    const raws = Array.from({ length: 20 }, (_, i) => hold(`k${i}`, 60000));
    for (const raw of raws) await env.push('p9', raw);
    await waitForStarts(/^Hold start /, 20);
    proc.kill('SIGKILL');
    await proc.waitForEnd(5000);
    // Its state is still there: 20 slots registered, each holding its job.
    expect((await env.redis.smembers(k('workers'))).sort()).toEqual([...ids].sort());
    // The first worker's start took Resque's 60 s prune lock.
    await env.redis.del(k('pruning_dead_workers_in_progress'));
    const second = await env.startWorker([], 'p10,p9');
    await second.proc.waitForLine(/pruned dead worker/, 5000);
    const failures = await waitFor(
      async () => {
        const f = await env.failures();
        return f.length === 20 ? f : null;
      },
      8000,
      '20 DirtyExit records',
    );
    const parsed = failures.map(parseFailure);
    expect(new Set(parsed.map(f => f.worker))).toEqual(new Set(ids));
    expect(parsed.every(f => f.exception === 'Resque::DirtyExit' && f.error === 'Job still being processed')).toBe(true);
    // The payload bytes: each record embeds one job exactly as it was queued.
    expect(new Set(failures.map(r => raws.find(raw => r.includes(`"payload":${raw},`))))).toEqual(new Set(raws));
    expect(await env.redis.smembers(k('workers'))).toEqual([second.id]);
    for (const id of ids) await env.expectUnregistered(id);
    second.proc.kill('SIGQUIT');
    await second.proc.waitForEnd(8000);
  });

  it("Ruby 3.0's prune_dead_workers decision on this host leaves every live slot alone and prunes a dead id", async () => {
    const { proc } = await startSlots(5);
    const live = slotIds(proc.pid, 5);
    await waitFor(async () => (await env.redis.scard(k('workers'))) === 5, 8000, '5 registered slots');
    // A genuinely dead same-host worker with the same queues and a fresh heartbeat, and a dead
    // slot id whose heartbeat expired.
    const dead = `${HOST}:${deadPid()}:p10,p9`;
    const deadSlot = formatSlotWorkerId(HOST, deadPid(), ['p10', 'p9'], 3);
    const now = await env.serverTime();
    const iso = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;
    await env.redis.sadd(k('workers'), dead, deadSlot);
    await env.redis.hset(k('workers:heartbeat'), dead, iso(now), deadSlot, iso(now - 400));
    const ruby = (...queues: string[]): Map<string, { verdict: string; why: string }> => {
      const out = execFileSync('ruby', [RUBY_PRUNE, ...queues], { env: { ...process.env, REDIS_URL: env.url }, encoding: 'utf8' });
      return new Map(
        out
          .trim()
          .split('\n')
          .map(l => JSON.parse(l) as { id: string; verdict: string; why: string })
          .map(o => [o.id, o]),
      );
    };
    for (const queues of [['p10', 'p9'], ['p9', 'p10'], ['*']]) {
      const d = ruby(...queues);
      expect(d.get(live[0]!)).toEqual({ id: live[0], verdict: 'keep', why: 'pid in ps' });
      for (const id of live.slice(1)) expect(d.get(id)).toEqual({ id, verdict: 'keep', why: 'other host' });
      expect(d.get(dead)).toEqual({ id: dead, verdict: 'prune', why: 'pid not in ps' });
      expect(d.get(deadSlot)).toEqual({ id: deadSlot, verdict: 'prune', why: 'heartbeat expired' });
    }
    // Applied for real: the live slots stay registered and keep working.
    ruby('--apply', 'p10', 'p9');
    expect((await env.redis.smembers(k('workers'))).sort()).toEqual([...live].sort());
    await env.enqueue('p9', 'Echo', 'after ruby');
    await env.waitForLedger(/^Echo \["after ruby"\]$/);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('--concurrency 1..16 grows under queued async work, logged as the slot count changes', async () => {
    const { proc } = await startSlots('1..16');
    expect(await env.redis.scard(k('workers'))).toBe(1);
    for (let i = 0; i < 400; i++) await env.push('p9', hold(`s${i}`, 200));
    const line = await proc.waitForLine(/autoscale slots: 1 -> 2: utilisation \d+% is under 60% and work is queued/, 10000);
    expect(line).toMatch(/INFO/);
    await waitFor(async () => (await env.redis.scard(k('workers'))) >= 4, 15000, 'at least 4 slots registered');
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it('--concurrency 0 and --concurrency abc: a one-line error naming the flag', async () => {
    for (const bad of ['0', 'abc', '65']) {
      const p = await runCli(['worker', '--queues', 'q', '--jobs', JOBS, '--concurrency', bad], env.spawnOpts());
      expect(p.code).not.toBe(0);
      const lines = p.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/concurrency \(--concurrency\)/);
    }
  });
});
