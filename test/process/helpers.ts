/**
 * Shared plumbing for the process tests: a Redis client on this jest worker's db (or on a
 * private redis-server), a ledger file per test, a started real worker, MONITOR, and small
 * polling/inspection helpers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { openMonitor } from '../support/monitor';
import { flushTestDb, startRedis, testDbUrl, type RedisServerHandle } from '../support/redisServer';
import { expectUnregistered, type FailureRecord, parseFailure as parseResqueFailure } from '../support/resqueAsserts';
export { FAILED_AT_RE, FAILURE_KEYS } from '../support/resqueAsserts';
import { killAll, PROJECT_ROOT, spawnCli, spawnTracked, type Spawned, type SpawnOptions } from '../support/spawn';
import { pidsWithEnv } from '../support/procs';

/** Every process a test starts carries this variable (its grandchildren too), so afterEach can find leftovers. */
export const TAG_VAR = 'PYRES_PROC_TEST_TAG';
/** A worker process built from dist with the library's options (see fixtures/libWorker.js). */
export const LIB_WORKER = path.join(PROJECT_ROOT, 'test', 'process', 'fixtures', 'libWorker.js');
let tagSeq = 0;

export const HOST = os.hostname().trim();
export const JOBS = 'fixtures/jobs/basic.js';
export const NS = 'resque';
export const k = (s: string): string => `${NS}:${s}`;

export const STARTED_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;
export const HEARTBEAT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export function workerIdFor(pid: number, queues = 'p10,p9'): string {
  return `${HOST}:${pid}:${queues}`;
}

/** Polls `fn` until it returns a truthy value; rejects with `what` after timeoutMs. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

/**
 * The per-file environment: call in a describe (or at top level). Uses this jest worker's db on
 * the shared server, or with `privateServer` a redis-server of the file's own (for tests that
 * MONITOR or stall the server, so other files running in parallel neither disturb them nor are
 * disturbed). Flushes the db before every test, creates a fresh ledger file, kills leftover
 * processes after every test, and closes the client (and stops the private server) after the
 * file.
 */
export function processTestEnv(opts: { privateServer?: boolean } = {}) {
  let server: RedisServerHandle | undefined;
  const env = {
    /** Set in beforeAll. */
    url: '',
    db: 0,
    redis: null as unknown as Redis,
    ledger: '',
    tmp: '',
    /** This test's process tag (TAG_VAR). */
    tag: '',
    /** Lines in the ledger so far. */
    ledgerLines(): string[] {
      try {
        return fs.readFileSync(env.ledger, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    waitForLedger(re: RegExp, timeoutMs = 5000): Promise<string> {
      return waitFor(() => env.ledgerLines().find(l => re.test(l)), timeoutMs, `a ledger line matching ${re}`);
    },
    spawnOpts(extra: SpawnOptions['env'] = {}): SpawnOptions {
      return { redisUrl: env.url, env: { PYRES_TEST_LEDGER: env.ledger, [TAG_VAR]: env.tag, ...extra } };
    },
    /**
     * SIGKILLs every live process carrying this test's tag (grandchildren that spawn.ts does
     * not track). Scans /proc: call it only where such processes may be left.
     */
    killTagged(): number[] {
      const pids = pidsWithEnv(TAG_VAR, env.tag, true);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      return pids;
    },
    /** Starts fixtures/libWorker.js: a Worker from dist with `options`; resolved once it logged `registered`. */
    async startLibWorker(queues: string, options: Record<string, unknown> = {}, jobs: string[] = [JOBS]): Promise<{ proc: Spawned; id: string }> {
      const proc = spawnTracked(process.execPath, [LIB_WORKER], env.spawnOpts({ PYRES_TEST_WORKER: JSON.stringify({ queues, jobs, options }) }));
      await proc.waitForLine(/registered;/, 8000);
      return { proc, id: workerIdFor(proc.pid, queues) };
    },
    /** Starts `pyres-ts worker --queues <queues> --jobs basic.js ...extra`, resolved once it logged `registered`. */
    async startWorker(extra: string[] = [], queues = 'p10,p9', opts: { jobs?: string[]; nodeOptions?: string } = {}): Promise<{ proc: Spawned; id: string }> {
      const jobs = opts.jobs ?? [JOBS];
      const proc = spawnCli(
        ['worker', '--queues', queues, ...jobs.flatMap(j => ['--jobs', j]), '-l', 'debug', ...extra],
        env.spawnOpts(opts.nodeOptions !== undefined ? { NODE_OPTIONS: opts.nodeOptions } : {}),
      );
      await proc.waitForLine(/registered;/, 8000);
      return { proc, id: workerIdFor(proc.pid, queues) };
    },
    /** `SADD queues q` + `RPUSH queue:q raw` (raw bytes, nothing checked). */
    async push(queue: string, raw: string): Promise<void> {
      await env.redis
        .pipeline()
        .sadd(k('queues'), queue)
        .rpush(k(`queue:${queue}`), raw)
        .exec();
    },
    async enqueue(queue: string, cls: string, ...args: unknown[]): Promise<string> {
      const raw = `{"class":${JSON.stringify(cls)},"args":${JSON.stringify(args)}}`;
      await env.push(queue, raw);
      return raw;
    },
    async failures(): Promise<string[]> {
      return env.redis.lrange(k('failed'), 0, -1);
    },
    async stat(name: string): Promise<string | null> {
      return env.redis.get(k(`stat:${name}`));
    },
    /** Asserts that nothing of worker `id` is left in Redis (Resque's unregister). */
    async expectUnregistered(id: string): Promise<void> {
      await expectUnregistered(env.redis, k, id);
      expect(await env.redis.hexists(k('pyres-ts:pidns'), id)).toBe(0);
    },
    /** Redis TIME in seconds. */
    async serverTime(): Promise<number> {
      const [s, us] = await env.redis.time();
      return Number(s) + Number(us) / 1e6;
    },
    /** Source addresses (`ip:port`) of the connections a worker process opened (by CLIENT SETNAME). */
    async clientAddrs(pid: number): Promise<string[]> {
      const list = (await env.redis.call('CLIENT', 'LIST')) as string;
      return list
        .split('\n')
        .filter(l => new RegExp(`\\bname=pyres-ts:worker:${pid}(:|\\s|$)`).test(l))
        .map(l => /\baddr=(\S+)/.exec(l)?.[1] ?? '')
        .filter(Boolean);
    },
  };

  beforeAll(async () => {
    if (opts.privateServer) {
      server = await startRedis();
      env.url = `${server.url}/0`;
    } else {
      env.url = testDbUrl();
    }
    env.db = dbOfUrl(env.url);
    env.redis = new Redis(env.url, { maxRetriesPerRequest: 2 });
  });
  beforeEach(async () => {
    await flushTestDb(env.url);
    env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-proc-'));
    env.ledger = path.join(env.tmp, 'ledger.txt');
    env.tag = `${process.pid}-${++tagSeq}-${Date.now()}`;
  });
  afterEach(async () => {
    await killAll();
    if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
  });
  afterAll(async () => {
    await env.redis?.quit().catch(() => env.redis.disconnect());
    await server?.stop();
  });
  return env;
}

export interface MonitorEvent {
  /** Server time, seconds. */
  time: number;
  args: string[];
  source: string;
  database: number;
}

/** The database number of a `redis://host:port/N` URL (0 without one). */
export function dbOfUrl(url: string): number {
  return Number(new URL(url).pathname.slice(1) || '0');
}

/** MONITOR on its own connection; collects every command the server executes in `url`'s database. */
export async function startMonitor(url: string): Promise<{ events: MonitorEvent[]; stop(): Promise<void> }> {
  const mon = await openMonitor(url, { db: dbOfUrl(url) });
  const events: MonitorEvent[] = [];
  mon.on('monitor', (time: string, args: string[], source: string, database: string) => {
    events.push({ time: Number(time), args, source, database: Number(database) });
  });
  return {
    events,
    async stop() {
      mon.disconnect();
    },
  };
}

/** Parses a failure record and checks the shape every record must have (and string exception/error). */
export function parseFailure(raw: string): FailureRecord {
  const rec = parseResqueFailure(raw);
  expect(typeof rec.exception).toBe('string');
  expect(typeof rec.error).toBe('string');
  return rec;
}
