/**
 * Shared helpers for the integration tests (real redis-server). Not a test file.
 *
 * Every Worker, Client and raw connection made through a `Resources` is closed by
 * `closeAll()`, which each test file calls in afterEach, so jest exits by itself.
 */
import { flushTestDb } from '../support/redisServer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
// Straight from the modules (not the package index), so these helpers load whatever else the index re-exports.
import { JobRegistry } from '../../src/jobs/registry';
import { createLogger, type Logger, silentLogger } from '../../src/logging/logger';
import { Client } from '../../src/producer/client';
import { ResqueKeys } from '../../src/protocol/keys';
import { Worker, type WorkerOptions } from '../../src/worker/worker';

/** The hostname in every worker id the tests create. */
export const HOST = 'itest';

export const keys = new ResqueKeys('resque');

/** `ITEST_LOG=debug npx jest test/integration` shows the workers' logs. */
export function testLogger(): Logger {
  const level = process.env.ITEST_LOG;
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? createLogger({ level }) : silentLogger;
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

/** Polls `pred` until it is true; throws (naming `what`) after `timeoutMs`. */
export async function waitFor(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 10000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Resolves with the promise's value, or with `onTimeout` after `ms` (the timer is cleared either way). */
export async function within<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<U>(r => (t = setTimeout(() => r(onTimeout), ms)))]);
  } finally {
    if (t) clearTimeout(t);
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const d = {} as Deferred<T>;
  d.settled = false;
  d.promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  d.resolve = v => {
    d.settled = true;
    resolve(v);
  };
  d.reject = e => {
    d.settled = true;
    reject(e);
  };
  return d;
}

/** The captured payload files under test/integration/fixtures/payloads. */
export interface PayloadFixture {
  source: string;
  queues: Record<string, string[]>;
}

export function loadPayloads(name: string): PayloadFixture {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'payloads', name), 'utf8')) as PayloadFixture;
}

export interface RubyRecords {
  source: string;
  failed: string;
  workingOn: string;
  started: string;
  heartbeat: string;
}

export function loadRubyRecords(): RubyRecords {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'payloads', 'ruby-records.json'), 'utf8')) as RubyRecords;
}

/** The top-level key order of a JSON object text. */
export function keyOrder(json: string): string[] {
  return Object.keys(JSON.parse(json) as Record<string, unknown>);
}

export const RUN_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const FAILED_AT_RE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/;
export const STARTED_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;
export const HEARTBEAT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;

/** Tracks what a test opens so afterEach can close all of it. */
/**
 * Per test: flushes this file's db, makes a Resources and an inspection connection, and closes
 * them after the test. `set` receives them: `useResources(url, (x, y) => ((res = x), (r = y)))`.
 */
export function useResources(url: string, set: (res: Resources, r: Redis) => void): void {
  let current: Resources | null = null;
  beforeEach(async () => {
    await flushTestDb(url);
    current = new Resources(url);
    set(current, current.redis());
  });
  afterEach(async () => {
    await current?.closeAll();
    current = null;
  });
}

export class Resources {
  private readonly workers: Worker[] = [];
  private readonly clients: Client[] = [];
  private readonly redises: Redis[] = [];
  /** Deferreds that jobs may be waiting on: released before workers are stopped. */
  private readonly gates: Deferred<unknown>[] = [];
  private readonly cleanups: Array<() => unknown> = [];

  constructor(readonly url: string) {}

  /** A raw connection for inspection (reconnects by itself; closed by closeAll). */
  redis(url = this.url): Redis {
    const r = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: n => Math.min(50 * n, 500) });
    r.on('error', () => undefined);
    this.redises.push(r);
    return r;
  }

  worker(opts: Partial<WorkerOptions> & Pick<WorkerOptions, 'queues' | 'jobs'>): Worker {
    const w = new Worker({
      connection: { url: this.url },
      hostname: HOST,
      logger: testLogger(),
      ...opts,
    });
    w.on('error', () => undefined);
    this.workers.push(w);
    return w;
  }

  async client(): Promise<Client> {
    const c = new Client({ connection: { url: this.url } });
    this.clients.push(c);
    await c.connect();
    return c;
  }

  gate<T = void>(): Deferred<T> {
    const d = deferred<T>();
    this.gates.push(d as Deferred<unknown>);
    return d;
  }

  onClose(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async closeAll(): Promise<void> {
    for (const g of this.gates.splice(0)) if (!g.settled) g.resolve(undefined);
    const errors: unknown[] = [];
    for (const w of this.workers.splice(0)) {
      try {
        if (w.state === 'stopped') {
          // Already stopped by the test (or a never-started worker that the test stopped).
          await within(w.stopped, 100, undefined);
          await w.store.close();
          continue;
        }
        if (w.state === 'new') {
          // A never-started worker: its connection was never opened (lazyConnect). See the
          // report: stop() on such a worker returns a promise that never settles.
          void w.stop();
          await w.store.close();
          continue;
        }
        // Non-graceful twice: the second call abandons a job that ignores its AbortSignal.
        void w.stop({ graceful: false });
        const stopped = await within(
          w.stop({ graceful: false }).then(() => true),
          10000,
          false,
        );
        if (!stopped) {
          errors.push(new Error(`worker ${w.id} did not stop within 10s (state ${w.state})`));
          await w.store.close();
        }
      } catch (e) {
        errors.push(e);
      }
    }
    for (const c of this.clients.splice(0)) await c.close().catch(e => errors.push(e));
    for (const fn of this.cleanups.splice(0)) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    for (const r of this.redises.splice(0)) await closeRedis(r);
    if (errors.length) throw errors[0];
  }
}

/**
 * Quits a raw ioredis connection. One still in its handshake is given time to finish it first:
 * disconnecting during the ready check makes ioredis arm a 2 s ref'd timer, which keeps jest alive.
 */
export async function closeRedis(r: Redis): Promise<void> {
  if (r.status === 'connecting' || r.status === 'connect' || r.status === 'reconnecting') {
    await within(new Promise<void>(res => (r.once('ready', () => res()), r.once('end', () => res()))), 2000, undefined);
  }
  if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
  else r.disconnect();
}

/** Counts outcomes by listening to a worker's events. */
export function watch(w: Worker): { jobs: number; successes: number; failures: Array<{ exception: string; error: string; raw: string }> } {
  const s = { jobs: 0, successes: 0, failures: [] as Array<{ exception: string; error: string; raw: string }> };
  w.on('job', () => (s.jobs += 1));
  w.on('success', () => (s.successes += 1));
  w.on('failure', (e: { exception: string; error: string; raw: string }) => s.failures.push(e));
  return s;
}

export function registry(jobs: Record<string, Parameters<JobRegistry['register']>[1]>): JobRegistry {
  const r = new JobRegistry();
  for (const [name, job] of Object.entries(jobs)) r.register(name, job);
  return r;
}
