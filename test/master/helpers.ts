/**
 * Shared plumbing for the master (pre-fork) tests: a Redis client on this jest worker's private
 * db, a ledger file and temp dir per test, a started real `pyres-ts master`, and process
 * inspection through /proc and ps.
 *
 * Cleanup: every process a test starts carries PYRES_MASTER_TEST_TAG=<per-test tag> in its
 * environment, and the master's forked children inherit it. afterEach SIGKILLs every process
 * that carries the tag (the master, its children, orphans of a killed master, ctl runs), then
 * waits for them to be gone. A zombie counts as gone: in this sandbox pid 1 does not reap
 * orphans, so a child that outlives a SIGKILLed master stays a zombie after it exits.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { childPidsOf, isRunning, pidsWithEnv } from '../support/procs';
import { expectUnregistered } from '../support/resqueAsserts';
import { killAll, runCli, spawnCli, type ExitResult, type Spawned } from '../support/spawn';

export const HOST = os.hostname().trim();
export const BASIC_JOBS = 'fixtures/jobs/basic.js';
export const MASTER_JOBS = 'fixtures/jobs/master.js';
export const FIXTURES = path.join(__dirname, 'fixtures');
export const NS = 'resque';
export const k = (s: string): string => `${NS}:${s}`;
export const TAG_VAR = 'PYRES_MASTER_TEST_TAG';

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export function workerIdFor(pid: number, queues = 'p10,p9'): string {
  return `${HOST}:${pid}:${queues}`;
}

/** `host:pid:queues` -> pid (queues may contain ':'? no: Resque ids never do). */
export function pidOf(workerId: string): number {
  return Number(workerId.split(':')[1]);
}

export function queuesOf(workerId: string): string {
  return workerId.split(':').slice(2).join(':');
}

/** Polls `fn` until it returns a truthy value; rejects with `what` after timeoutMs. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string | (() => string), everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      const w = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${w} (last: ${JSON.stringify(last)})`);
    }
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes, through /proc and ps
// ---------------------------------------------------------------------------------------------

export { childPidsOf, isRunning, pidExists, procState } from '../support/procs';

/** Every process (not this one) whose environment carries TAG_VAR=tag. */
export function pidsWithTag(tag: string): number[] {
  return pidsWithEnv(TAG_VAR, tag);
}

/** `ps -o args= -p pid` (the process title), '' when gone. */
export function titleOf(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** `ps -o rss= -p pid`, in kB; NaN when gone. */
export function rssKbOf(pid: number): number {
  try {
    return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}

export { FAILED_AT_RE, FAILURE_KEYS, parseFailure } from '../support/resqueAsserts';

/** The integer from `all children registered N ms after start`. */
export function registeredMs(line: string): number {
  const m = /all children registered (\d+) ms after start/.exec(line);
  if (!m) throw new Error(`not a readiness line: ${line}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// The per-file environment
// ---------------------------------------------------------------------------------------------

export interface StartMasterOptions {
  /** Wait for `all children registered` (default true; false for masters whose children never get ready). */
  waitReady?: boolean;
  /** Job modules (default basic.js and master.js). */
  jobs?: string[];
  /** `master` (default) or its alias `manager`. */
  command?: 'master' | 'manager';
  env?: Record<string, string | undefined>;
  readyTimeoutMs?: number;
  /** Start the master as its own process-group leader, as a shell starts a foreground job. */
  detached?: boolean;
  /** Another Redis than this file's test db. */
  redisUrl?: string;
}

export function masterTestEnv() {
  const url = testDbUrl();
  let seq = 0;
  const env = {
    url,
    redis: null as unknown as Redis,
    ledger: '',
    tmp: '',
    tag: '',
    ledgerLines(): string[] {
      try {
        return fs.readFileSync(env.ledger, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    waitForLedger(re: RegExp, timeoutMs = 5000): Promise<string> {
      return waitFor(
        () => env.ledgerLines().find(l => re.test(l)),
        timeoutMs,
        () => `a ledger line matching ${re}; ledger: ${JSON.stringify(env.ledgerLines())}`,
      );
    },
    spawnEnv(extra: Record<string, string | undefined> = {}) {
      return { redisUrl: url, env: { PYRES_TEST_LEDGER: env.ledger, [TAG_VAR]: env.tag, ...extra } };
    },
    /**
     * Spawns `node bin/pyres-ts master ...args --jobs basic.js --jobs master.js` and, unless
     * waitReady is false, resolves once it logged `all children registered`.
     */
    async startMaster(args: string[], o: StartMasterOptions = {}): Promise<Spawned> {
      const jobs = o.jobs ?? [BASIC_JOBS, MASTER_JOBS];
      const proc = spawnCli([o.command ?? 'master', ...args, ...jobs.flatMap(j => ['--jobs', j])], {
        ...env.spawnEnv(o.env),
        ...(o.detached ? { detached: true } : {}),
        ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}),
      });
      if (o.waitReady ?? true) await proc.waitForLine(/all children registered \d+ ms after start/, o.readyTimeoutMs ?? 10000);
      return proc;
    },
    /** Runs `pyres-ts ctl ...args` to completion. */
    ctl(args: string[], timeoutMs = 15000): Promise<ExitResult & { stdout: string; stderr: string }> {
      return runCli(['ctl', ...args], env.spawnEnv(), timeoutMs);
    },
    async workers(): Promise<string[]> {
      return (await env.redis.smembers(k('workers'))).sort();
    },
    async workerPids(queues?: string): Promise<number[]> {
      return (await env.workers())
        .filter(w => queues === undefined || queuesOf(w) === queues)
        .map(pidOf)
        .sort((a, b) => a - b);
    },
    /**
     * Waits until exactly `n` workers (of `queues`, if given) are registered, each a running
     * child of `masterPid`, and the master has no other live child. Resolves with their pids.
     */
    async waitForChildren(masterPid: number, n: number, timeoutMs = 10000, queues?: string): Promise<number[]> {
      let state = '';
      return waitFor(
        async () => {
          const all = await env.workerPids();
          const mine = await env.workerPids(queues);
          const kids = childPidsOf(masterPid);
          state = `registered ${JSON.stringify(await env.workers())}, children ${JSON.stringify(kids)}`;
          const ok = mine.length === n && all.every(p => kids.includes(p)) && kids.length === all.length && all.every(isRunning);
          return ok ? mine : null;
        },
        timeoutMs,
        () => `${n} registered children${queues ? ` of ${queues}` : ''} of master ${masterPid}; ${state}`,
      );
    },
    /** Waits until the registered worker count (optionally of one group) is `n`. */
    async waitForWorkerCount(n: number, timeoutMs = 10000, queues?: string): Promise<number[]> {
      let last: number[] = [];
      await waitFor(
        async () => {
          last = await env.workerPids(queues);
          return last.length === n;
        },
        timeoutMs,
        () => `${n} registered workers${queues ? ` of ${queues}` : ''}; have ${JSON.stringify(last)}`,
      );
      return last;
    },
    async push(queue: string, raw: string): Promise<void> {
      await env.redis
        .pipeline()
        .sadd(k('queues'), queue)
        .rpush(k(`queue:${queue}`), raw)
        .exec();
    },
    /** Enqueues as Resque.enqueue does and returns the raw payload. */
    async enqueue(queue: string, cls: string, ...args: unknown[]): Promise<string> {
      const raw = `{"class":${JSON.stringify(cls)},"args":${JSON.stringify(args)}}`;
      await env.push(queue, raw);
      return raw;
    },
    async failures(): Promise<string[]> {
      return env.redis.lrange(k('failed'), 0, -1);
    },
    async waitForFailures(n: number, timeoutMs = 8000): Promise<string[]> {
      return waitFor(
        async () => {
          const f = await env.failures();
          return f.length >= n ? f : null;
        },
        timeoutMs,
        `${n} failure record(s)`,
      );
    },
    async stat(name: string): Promise<string | null> {
      return env.redis.get(k(`stat:${name}`));
    },
    /** Nothing of worker `id` is left in Redis (Resque's unregister). */
    async expectUnregistered(id: string): Promise<void> {
      await expectUnregistered(env.redis, k, id);
    },
    /** No worker of any kind is left in Redis: the set, per-worker keys, heartbeats, per-worker stats. */
    async expectNoWorkersLeft(): Promise<void> {
      expect(await env.workers()).toEqual([]);
      const keys = (await env.redis.keys(k('*'))).sort();
      expect(keys.filter(x => x.startsWith(k('worker:')) || /^resque:stat:(processed|failed):/.test(x))).toEqual([]);
      expect(await env.redis.hkeys(k('workers:heartbeat'))).toEqual([]);
    },
    /** After a clean master exit: not advertised for ctl, not in the Khan list. */
    async expectMasterWithdrawn(masterPid: number): Promise<void> {
      expect(await env.redis.smembers(k('pyres-ts:masters'))).toEqual([]);
      expect(await env.redis.exists(k(`pyres-ts:master:${HOST}:${masterPid}`))).toBe(0);
      expect(await env.redis.smembers(k('khans'))).toEqual([]);
    },
    /** Waits until none of `pids` can run any more (gone, or a zombie nobody reaps). */
    async waitGone(pids: number[], timeoutMs = 8000): Promise<void> {
      await waitFor(
        () => pids.every(p => !isRunning(p)),
        timeoutMs,
        () => `pids ${JSON.stringify(pids.filter(isRunning))} to be gone`,
      );
    },
    /** Writes a file in this test's temp dir and returns its path. */
    writeTmp(name: string, text: string): string {
      const p = path.join(env.tmp, name);
      fs.writeFileSync(p, text);
      return p;
    },
  };

  beforeAll(() => {
    env.redis = new Redis(url, { maxRetriesPerRequest: 2 });
  });
  beforeEach(async () => {
    await flushTestDb(url);
    env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-master-'));
    env.ledger = path.join(env.tmp, 'ledger.txt');
    env.tag = `${process.pid}-${++seq}-${Date.now()}`;
  });
  afterEach(async () => {
    // SIGKILL the master and its children (and orphans of a killed master) in one sweep, so no
    // child outlives its master, then let the spawn helper reap what it started.
    const sweep = (): number[] => {
      const pids = pidsWithTag(env.tag).filter(isRunning);
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      return pids;
    };
    const first = sweep();
    await killAll();
    await waitFor(() => sweep().length === 0, 5000, 'tagged processes to be gone').catch(() => undefined);
    const left = pidsWithTag(env.tag).filter(isRunning);
    if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
    if (left.length) throw new Error(`processes left after the test: ${left.join(', ')} (swept ${first.join(', ')})`);
  });
  afterAll(async () => {
    await env.redis.quit().catch(() => env.redis.disconnect());
  });
  return env;
}
