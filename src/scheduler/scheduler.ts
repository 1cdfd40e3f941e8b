import { EventEmitter } from 'node:events';
import { coerceError } from '../errors';
import { type Logger, silentLogger } from '../logging/logger';
import { DelayedKeys, POISON_DELAYED_EXCEPTION, lockValue, parseParkedPoison, poisonDelayedMessage } from '../protocol/delayed';
import type { FailureBackend } from '../protocol/keys';
import { encodePoisonFailure } from '../protocol/records';
import { formatFailedAt } from '../protocol/time';
import type { ConnectionOptions, RedisClient } from '../store/connection';
import { RedisStore } from '../store/redisStore';
import type { SchedulerStore } from '../store/schedulerStore';
import { DEFAULT_LOCK_TIMEOUT, SchedulerLock, lockHostname } from './lock';

/**
 * Something that runs inside the scheduler while it leads (recurring schedules, h/recurring).
 * The contract is fixed: keep it.
 */
export interface SchedulerExtension {
  readonly name: string;
  /** Called once per scheduler loop while this process holds the lock, after due items are moved. nowMs is Redis TIME. */
  tick(nowMs: number): Promise<void>;
  /** Called when the scheduler stops or loses the lock. */
  stop?(): Promise<void>;
}

/** What a Scheduler is built with. Every field is optional. */
export interface SchedulerOptions {
  /** Where Redis is (a Scheduler opens its own connection). Not with `redis`. */
  connection?: ConnectionOptions;
  /** A caller's ioredis instance instead (never quit by stop()). */
  redis?: RedisClient;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** Seconds between passes, from the end of one to the start of the next (RESQUE_SCHEDULER_INTERVAL). @defaultValue 5 */
  interval?: number;
  /** Lock TTL in seconds, re-armed every pass (LOCK_TIMEOUT). @defaultValue 180 */
  lockTimeout?: number;
  /** RESQUE_SCHEDULER_MASTER_LOCK_PREFIX. @defaultValue '' */
  lockPrefix?: string;
  /** Items moved per script call (DELAYED_REQUEUE_BATCH_SIZE; Ruby's default is 100). @defaultValue 1000 */
  batchSize?: number;
  /** The queue of a class, for items that carry no `queue` (Ruby: the class's @queue). */
  classQueues?: Readonly<Record<string, string>>;
  /** Where poison items' failure records go. @defaultValue 'redis' */
  failureBackend?: FailureBackend;
  /** The host part of the lock value. @defaultValue resolved as resque-scheduler does (lockHostname) */
  host?: string;
  /** @defaultValue process.pid */
  pid?: number;
  extensions?: SchedulerExtension[];
  logger?: Logger;
}

/** What one pass did. */
export interface PassResult {
  leader: boolean;
  moved: number;
  poison: number;
  /** Redis TIME at the end of the move, ms (null when not leading). */
  nowMs: number | null;
}

/**
 * The delayed-job scheduler (`pyres-ts scheduler`, `master --scheduler`): every `interval`
 * seconds it takes part in resque-scheduler's lock and, while it leads, moves every due
 * timestamp's items to their queues with one atomic Lua step per batch (payload bytes kept),
 * records poison items as failures, then ticks its extensions.
 *
 * Events: 'leader' (boolean, on each change), 'moved' ({ ts, moved, poison }), 'pass'
 * (PassResult), 'error' (Error: a pass failed, e.g. Redis unreachable; the loop goes on).
 */
export class Scheduler extends EventEmitter {
  readonly keys: DelayedKeys;
  private readonly store: RedisStore;
  private readonly sched: SchedulerStore;
  private readonly o: Required<Pick<SchedulerOptions, 'interval' | 'lockTimeout' | 'lockPrefix' | 'batchSize' | 'failureBackend'>>;
  private readonly classQueues: Readonly<Record<string, string>>;
  private readonly extensions: SchedulerExtension[];
  private readonly log: Logger;
  private lock: SchedulerLock | null = null;
  private leading = false;
  private stopping = false;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stoppedResolve!: () => void;
  /** Resolves once stop() has finished (the lock released). */
  readonly stopped: Promise<void>;

  constructor(private readonly opts: SchedulerOptions = {}) {
    super();
    const namespace = opts.namespace ?? 'resque';
    this.keys = new DelayedKeys(namespace);
    this.o = {
      interval: opts.interval ?? 5,
      lockTimeout: opts.lockTimeout ?? DEFAULT_LOCK_TIMEOUT,
      lockPrefix: opts.lockPrefix ?? '',
      batchSize: opts.batchSize ?? 1000,
      failureBackend: opts.failureBackend ?? 'redis',
    };
    this.classQueues = { ...(opts.classQueues ?? {}) };
    this.extensions = [...(opts.extensions ?? [])];
    this.log = opts.logger ?? silentLogger;
    this.store = new RedisStore({
      connection: opts.connection ?? {},
      namespace,
      name: 'pyres-ts:scheduler',
      failureBackend: this.o.failureBackend,
      ...(opts.redis !== undefined ? { client: opts.redis } : {}),
    });
    this.sched = this.store.schedulerStore();
    this.stopped = new Promise(r => (this.stoppedResolve = r));
    // A pass that fails is reported by 'error'; with no listener it must not crash the process.
    this.on('error', () => undefined);
  }

  /** The lock value (`host:pid`), once started. */
  get lockValue(): string | null {
    return this.lock?.value ?? null;
  }

  /** True while this scheduler holds the lock (as of its last pass). */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Adds an extension (before or after start). */
  addExtension(e: SchedulerExtension): void {
    this.extensions.push(e);
  }

  /** Connects (waiting for Redis if it is down) and starts the loop. */
  async start(): Promise<void> {
    await this.init();
    this.running = this.loop();
  }

  /**
   * What start() does before its loop: resolves the lock value and connects. Call it, then
   * pass(), to drive passes yourself (tests, embedding) instead of start().
   */
  async init(): Promise<void> {
    if (this.lock) return;
    const host = this.opts.host ?? (await lockHostname());
    const value = lockValue(host, this.opts.pid ?? process.pid);
    this.lock = new SchedulerLock(this.sched, this.keys.masterLock(this.o.lockPrefix), value, this.o.lockTimeout);
    try {
      await this.store.connect();
    } catch (e) {
      this.log.warn(`Redis not reachable yet (${coerceError(e).message}); retrying`);
    }
    this.log.info(`scheduler ${value} started: lock ${this.lock.key} (TTL ${this.o.lockTimeout} s), interval ${this.o.interval} s`);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        this.emit('pass', await this.pass());
      } catch (e) {
        const err = coerceError(e);
        this.log.warn(`scheduler pass failed: ${err.message}`);
        this.emit('error', err);
        // Unknown whether we still lead: act as a follower until a pass says otherwise.
        await this.setLeading(false);
      }
      if (this.stopping) break;
      await new Promise<void>(r => {
        const t = setTimeout(r, this.o.interval * 1000);
        this.wake = () => (clearTimeout(t), r());
      });
      this.wake = null;
    }
  }

  /** One pass: lead or follow; when leading, move everything due, then tick the extensions. */
  async pass(): Promise<PassResult> {
    const lock = this.lock;
    if (!lock) throw new Error('scheduler not started');
    const leader = await lock.lead();
    await this.setLeading(leader);
    if (!leader) return { leader: false, moved: 0, poison: 0, nowMs: null };
    let moved = 0;
    let poison = 0;
    let nowMs = 0;
    let renewedAt = Date.now();
    await this.recordPoison();
    for (;;) {
      if (this.stopping) break;
      // A long move (100,000 items) re-arms the lock well before it could expire.
      if (Date.now() - renewedAt > (this.o.lockTimeout * 1000) / 3) {
        if (!(await lock.lead())) {
          await this.setLeading(false);
          return { leader: false, moved, poison, nowMs: null };
        }
        renewedAt = Date.now();
      }
      const r = await this.sched.moveBatch(this.o.batchSize, this.classQueues);
      nowMs = r.nowMs;
      if (r.ts === null) break;
      moved += r.moved;
      poison += r.poison;
      if (r.poison > 0) await this.recordPoison();
      this.emit('moved', { ts: r.ts, moved: r.moved, poison: r.poison });
      if (r.moved + r.poison > 0)
        this.log.debug(`moved ${r.moved} item(s) of ${r.ts}${r.poison ? `, ${r.poison} poison` : ''}${r.left ? `, ${r.left} left` : ''}`);
    }
    for (const e of this.extensions) {
      if (this.stopping) break;
      try {
        await e.tick(nowMs);
      } catch (err) {
        this.log.warn(`scheduler extension ${e.name} failed: ${coerceError(err).message}`);
      }
    }
    return { leader: true, moved, poison, nowMs };
  }

  /** Writes the failure records of parked poison items (this pass's, or a crashed run's). */
  private async recordPoison(): Promise<void> {
    for (const entry of await this.sched.parkedPoison()) {
      const p = parseParkedPoison(entry);
      const ts = p?.ts ?? '?';
      const why = p?.why ?? 'unreadable holding entry';
      const queue = p?.queue ?? '';
      const record = encodePoisonFailure({
        failedAt: formatFailedAt(new Date()),
        rawBytes: p?.raw ?? entry,
        exception: POISON_DELAYED_EXCEPTION,
        error: poisonDelayedMessage({ ts, why }),
        backtrace: [],
        worker: `${this.lock?.value ?? '?'}:scheduler`,
        queue,
      });
      if (await this.sched.recordParkedPoison(entry, record, queue, this.o.failureBackend)) {
        this.log.warn(`delayed item at ${ts} is not a job (${why}): recorded as a failure`);
      }
    }
  }

  private async setLeading(leader: boolean): Promise<void> {
    if (leader === this.leading) return;
    this.leading = leader;
    this.log.info(leader ? `became the master scheduler (${this.lock?.value})` : 'not the master scheduler');
    this.emit('leader', leader);
    if (!leader) await this.stopExtensions();
  }

  private async stopExtensions(): Promise<void> {
    for (const e of this.extensions) {
      try {
        await e.stop?.();
      } catch (err) {
        this.log.warn(`scheduler extension ${e.name} failed to stop: ${coerceError(err).message}`);
      }
    }
  }

  /** Finishes the current pass, stops the extensions, releases the lock (if held) and disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    this.wake?.();
    try {
      await this.running;
    } catch {
      /* reported by the loop */
    }
    const wasLeading = this.leading;
    await this.stopExtensions();
    this.leading = false;
    if (wasLeading && this.lock) {
      try {
        await this.lock.release();
        this.log.info(`released the scheduler lock ${this.lock.key}`);
      } catch (e) {
        this.log.warn(`could not release the scheduler lock (it expires in ${this.o.lockTimeout} s): ${coerceError(e).message}`);
      }
    }
    await this.store.close();
    this.log.info('scheduler stopped');
    this.stoppedResolve();
  }
}
