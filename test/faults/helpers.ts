/**
 * Plumbing for the fault tests (and the security tests): a temp dir and ledger per test, real
 * `pyres-ts` processes carrying a per-test tag in their environment (so orphans of a killed
 * master are found and killed too), short-lived Redis clients, and line counting.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { pidsWithEnv } from '../support/procs';
import { killAll, spawnCli, type Spawned } from '../support/spawn';
import { destroyAllRedis, RedisProc } from './redisProc';

export const HOST = os.hostname().trim();
export const CHAOS_JOBS = 'fixtures/jobs/chaos.js';
export const NS = 'resque';
export const k = (s: string): string => `${NS}:${s}`;
export const TAG_VAR = 'PYRES_FAULT_TEST_TAG';
export const FAILED_AT_RE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/;
/** A line of a JS stack trace. */
export const STACK_RE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/;

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export function workerIdFor(pid: number, queues: string): string {
  return `${HOST}:${pid}:${queues}`;
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string | (() => string), everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
    } catch (e) {
      last = undefined;
      if (Date.now() > deadline) throw e;
    }
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what} (last: ${JSON.stringify(last)})`);
    }
    await sleep(everyMs);
  }
}

/** An ioredis client for assertions; it gives up quickly instead of queueing through an outage. */
export function client(url: string, extra: RedisOptions = {}): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 3, retryStrategy: n => (n > 20 ? null : 100), disconnectTimeout: 50, ...extra });
  r.on('error', () => undefined);
  return r;
}

export async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>, extra: RedisOptions = {}): Promise<T> {
  const r = client(url, extra);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------------------------

export { childPidsOf, isRunning, ppidOf, procState } from '../support/procs';

export function pidsWithTag(tag: string): number[] {
  return pidsWithEnv(TAG_VAR, tag, true);
}

/** The process title as `ps -o args=` shows it: /proc/<pid>/cmdline with NULs as spaces. */
export function argsOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Peak and current resident set size of a live process, in kB (from /proc/<pid>/status). */
export function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]);
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]);
    return Number.isFinite(rss) ? { rss, hwm } : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// the per-file environment
// ---------------------------------------------------------------------------------------------

export interface FaultEnv {
  tmp: string;
  ledger: string;
  tag: string;
  ledgerLines(): string[];
  waitForLedger(re: RegExp, timeoutMs?: number): Promise<string>;
  /** `pyres-ts ...args` with REDIS_URL = url, the ledger and the tag in its environment. */
  cli(args: string[], url: string, env?: Record<string, string | undefined>): Spawned;
}

/** A temp dir and ledger per test; after each test every tagged process is killed. */
export function faultEnv(): FaultEnv {
  let seq = 0;
  const env: FaultEnv = {
    tmp: '',
    ledger: '',
    tag: '',
    ledgerLines() {
      try {
        return fs.readFileSync(env.ledger, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    waitForLedger(re, timeoutMs = 8000) {
      return waitFor(() => env.ledgerLines().find(l => re.test(l)), timeoutMs, `a ledger line matching ${re}`);
    },
    cli(args, url, extra = {}) {
      return spawnCli(args, { redisUrl: url, env: { PYRES_CHAOS_LEDGER: env.ledger, [TAG_VAR]: env.tag, ...extra } });
    },
  };
  beforeEach(() => {
    env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-fault-'));
    env.ledger = path.join(env.tmp, 'ledger.txt');
    env.tag = `${process.pid}-${++seq}-${Date.now()}`;
  });
  afterEach(async () => {
    for (const p of pidsWithTag(env.tag)) {
      try {
        process.kill(p, 'SIGCONT');
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await killAll();
    await waitFor(() => pidsWithTag(env.tag).length === 0, 5000, 'tagged processes to be gone');
    if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
  });
  afterAll(async () => {
    await destroyAllRedis();
  });
  return env;
}

export function countLines(p: Spawned, re: RegExp): number {
  return p.lines().filter(l => re.test(l)).length;
}

export function stackLines(p: Spawned): string[] {
  return p.lines().filter(l => STACK_RE.test(l));
}

/** Parses a failure record the way resque-web needs it (PROTOCOL-resque §8.4). */
export function checkFailure(raw: string): Record<string, unknown> {
  const rec = JSON.parse(raw) as Record<string, unknown>;
  expect(typeof rec['failed_at']).toBe('string');
  expect(rec['failed_at']).toMatch(FAILED_AT_RE);
  expect(typeof rec['worker']).toBe('string');
  expect(typeof rec['exception']).toBe('string');
  expect(typeof rec['error']).toBe('string');
  expect(Array.isArray(rec['backtrace'])).toBe(true);
  expect(typeof rec['queue']).toBe('string');
  return rec;
}

/**
 * A redis-server of this test file's own, a client on it (`r`), and FLUSHALL before each test
 * (unless `flush: false`). Read `srv` and `r` inside hooks and tests: they are set in beforeAll.
 */
export function privateRedis(opts: { flush?: boolean } = {}): { readonly srv: RedisProc; readonly r: Redis } {
  const h = {} as { srv: RedisProc; r: Redis };
  beforeAll(async () => {
    h.srv = await RedisProc.start();
    h.r = client(h.srv.url);
  });
  afterAll(() => {
    h.r?.disconnect();
  });
  if (opts.flush ?? true) {
    beforeEach(async () => {
      await h.r.flushall();
    });
  }
  return h;
}

/** Pushes one raw queue item to the Redis at `url`, as Resque.push does (SADD queues + RPUSH). */
export async function enqueueRaw(url: string, queue: string, raw: string): Promise<void> {
  await withClient(url, r =>
    r
      .pipeline()
      .sadd(k('queues'), queue)
      .rpush(k(`queue:${queue}`), raw)
      .exec()
      .then(() => undefined),
  );
}
