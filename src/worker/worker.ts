import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import { isUtf8 } from 'node:buffer';
import { AuthError, ConfigError, DirtyExitError, PayloadDecodeError, UnknownJobClassError, coerceError } from '../errors';
import { runDeadJobFailureHooks } from '../jobs/deadJob';
import { hasPerformHooks, type JobHooks, runFailureHooks, runPerformChain, runWorkerHooks, type WorkerHookLists } from '../jobs/hooks';
import { type JobContext, JobRegistry, type ResolvedJob, runInJobContext } from '../jobs/registry';
import { PluginResourceSet } from '../jobs/resources';
import { createLogger, type LogFields, type Logger } from '../logging/logger';
import { changedNumbers, decodeArgs, hasNumberIn, mayChangeNumbers, rawArgsOf } from '../protocol/args';
import { decodeJob, type DecodedJob, isJson, preview } from '../protocol/job';
import { FAILURE_BACKENDS, type FailureBackend, ResqueKeys } from '../protocol/keys';
import { globToLuaPattern, hasPatterns, parseQueueList, type QueueSpec } from '../protocol/queues';
import {
  backtraceOf,
  decodeWorkingOn,
  embeddedPayloadBytes,
  encodeFailure,
  encodePoisonFailure,
  encodeWorkingOn,
  exceptionNameOf,
  POISON_CLASS,
} from '../protocol/records';
import { formatFailedAt, formatStarted, runAtNow } from '../protocol/time';
import { formatSlotWorkerId, formatWorkerId } from '../protocol/workerId';
import type { ConnectionOptions } from '../store/connection';
import { type DirtyExitPolicy, type FinishSpec, RedisStore, type ReserveResult, type WaitResult } from '../store/redisStore';
import { backoffDelay, sleep } from './backoff';
import { Liveness, type LivenessSlot, type LivenessStateName, type SupervisedBy, threadDeferMs } from './liveness';
import { ownPidNamespace } from './pidNamespace';
import { pruneDeadWorkers } from './prune';
import { parseWorkerId } from '../protocol/workerId';
import { isFailureSuppressed } from '../retry/suppression';
export { pidAlive } from './prune';
export type { SupervisedBy } from './liveness';

export interface WorkerOptions {
  /** Queues in priority order: `p10,p9`, `*`, globs (`p*`), `!skip`. */
  queues: string | readonly string[];
  /** The jobs this worker can run. */
  jobs: JobRegistry;
  connection?: ConnectionOptions;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** LPOP passes with idle backoff instead of waiting on queue changes. @defaultValue false */
  nonblockingPop?: boolean;
  /** Seconds. @defaultValue 1 */
  backoffMin?: number;
  /** Seconds. @defaultValue 8 */
  backoffMax?: number;
  /** Longest single wait in blocking mode, seconds (pause, shutdown and heartbeats never starve). @defaultValue 5 */
  blockTimeout?: number;
  /** Exit when every queue is empty. @defaultValue false */
  drain?: boolean;
  /** Seconds a job gets after TERM/INT/USR1 before it is recorded as a dirty exit. @defaultValue 4 */
  termTimeout?: number;
  /** Seconds between heartbeats (Ruby's Resque.heartbeat_interval). @defaultValue 60 */
  heartbeatInterval?: number;
  /**
   * A heartbeat older than this many seconds marks a worker dead when this worker prunes
   * (Ruby's Resque.prune_interval); must be greater than heartbeatInterval. @defaultValue 300
   */
  pruneInterval?: number;
  /**
   * Heartbeats, the re-registration check and the master watch run in a worker_threads thread
   * with its own Redis connection, so a job that blocks the event loop never stops them.
   * false: on the main thread (a timer on the job's event loop). @defaultValue true
   */
  livenessThread?: boolean;
  /**
   * A master's child: when the master is gone (process.ppid is no longer masterPid), a job still
   * running past its timeout + timeoutGrace (with a jobTimeout; a job's own `timeout` wins), or
   * else termTimeout seconds after the master went away, is recorded as a failure
   * (JobTimeoutError, or Resque::DirtyExit under onDirtyExit) and this process SIGKILLs itself.
   */
  supervisedBy?: SupervisedBy;
  /** Prune dead workers at start. @defaultValue true */
  prune?: boolean;
  /**
   * A job killed or abandoned mid-run: 'fail' writes Resque's `Resque::DirtyExit` failure
   * (retryable from resque-web); 'requeue' puts it back at the head of its queue (at-least-once).
   * Also used when this worker prunes dead workers. @defaultValue 'fail'
   */
  onDirtyExit?: DirtyExitPolicy;
  /**
   * Decode job args losslessly: integers beyond 2^53-1 as BigInt (see protocol/args.ts). A
   * job's own `lossless` property wins. @defaultValue false (plain JSON.parse)
   */
  losslessArgs?: boolean;
  /**
   * Decode pyres `"@D:2026-01-02T03:04:05"` strings in args and payload into Dates (local
   * time). A job's own `pyresDates` property wins. @defaultValue false
   */
  pyresDates?: boolean;
  /**
   * After each finish-and-reserve step (the outcome of the job just done and the reservation of
   * the next), `WAIT` until this many replicas have it before the reserved job runs, so that a
   * failover cannot take the outcome or the reservation back after the job's side effects
   * (the job would then run twice). 0: no WAIT. See README, "Sentinel". @defaultValue 0
   */
  waitReplicas?: number;
  /** Milliseconds each WAIT may take. @defaultValue 100 */
  waitTimeout?: number;
  /**
   * Where failure records go (every record this worker writes, its prunes' too): 'redis' = the
   * `failed` list, 'redis_multi_queue' = `<queue>_failed` + `failed_queues`, as Ruby's
   * FAILURE_BACKEND. @defaultValue 'redis'
   */
  failureBackend?: FailureBackend;
  /** @defaultValue os.hostname() */
  hostname?: string;
  /** The pid in the worker id. @defaultValue process.pid */
  pid?: number;
  logger?: Logger;
  /**
   * Internal (WorkerPool, `--concurrency`): this Worker is job slot `slot.index` of a pool. Its
   * id is the slot's (`host+i:pid:queues` for i > 0), its heartbeats come from the pool's one
   * liveness loop, and when every queue is empty it parks with the pool, which reserves for all
   * idle slots in one round trip. Not for direct use: build a WorkerPool.
   */
  slot?: SlotHooks;
}

/**
 * How a WorkerPool drives one of its job slots (see WorkerOptions.slot). Internal.
 */
export interface SlotHooks {
  readonly index: number;
  /** worker:<id>:started of the slot (the pool's start: the liveness loop re-registers with it). */
  readonly started: string;
  /** The pool's liveness loop (started before the slot starts, stopped after every slot stopped). */
  readonly liveness: Liveness;
  /**
   * Every queue was empty: wait until the pool reserved a job for this slot (its worker:<id>
   * already holds the record), or resolve null (look again yourself: woken, paused, stopping).
   * Resolves null soon after `signal` aborts, unless a reservation for the slot is in flight.
   */
  idle(slotIndex: number, signal: AbortSignal): Promise<{ result: Extract<ReserveResult, { status: 'job' | 'held' }>; runAt: string } | null>;
  /** The pool's beforeFirstJob worker hooks (run once per pool): awaited before the slot's first job. */
  firstJob?(): Promise<void>;
}

export type WorkerState = 'new' | 'starting' | 'idle' | 'working' | 'paused' | 'stopping' | 'stopped';

export interface JobEvent {
  /** The job's number in this worker (1, 2, ...); names the job for abortCurrentJob. */
  seq: number;
  queue: string;
  className: string;
  raw: string;
  /** On 'job': the job's own timeout in seconds (a `timeout` property), if it has one. */
  timeout?: number | null;
}

/** A job that failed: its JobEvent, and the exception class and message recorded in its failure record. */
export type JobFailureEvent = JobEvent & { exception: string; error: string };

/**
 * The events of a Worker, with their arguments (`worker.on('failure', e => ...)` is typed):
 *
 * - 'job': a job was reserved and is about to run (JobEvent, with its own `timeout`);
 * - 'success': it returned; 'failure': it threw, timed out, or its process died mid-job
 *   (`exception` is then `Resque::DirtyExit`); the failure record is written before the event;
 * - 'status': a one-line description of what the worker does (for a process title);
 * - 'notice': a log-worthy message (re-registered after a prune, the liveness thread fell back);
 * - 'error': an Error the worker survived or stopped on (listen, or Node throws it);
 * - 'stopped': the worker has unregistered and stopped.
 */
export interface WorkerEvents {
  job: [JobEvent];
  success: [JobEvent];
  failure: [JobFailureEvent];
  status: [string];
  notice: [string];
  error: [Error];
  stopped: [];
}

/**
 * A Resque worker: registers in `workers`, reserves jobs atomically with its working-on
 * record, runs them in this process, records outcomes exactly as Ruby Resque does, heartbeats,
 * prunes dead workers, and unregisters on every stop path. Installs no signal handlers.
 *
 * Events (typed, see WorkerEvents): 'job', 'success', 'failure', 'status', 'notice', 'error', 'stopped'.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly id: string;
  readonly hostname: string;
  readonly pid: number;
  readonly queueSpecs: readonly QueueSpec[];
  readonly store: RedisStore;
  state: WorkerState = 'new';

  private readonly o: Required<Omit<WorkerOptions, 'connection' | 'namespace' | 'logger' | 'hostname' | 'pid' | 'queues' | 'jobs' | 'supervisedBy' | 'slot'>>;
  private readonly supervisedBy: SupervisedBy | null;
  private readonly connection: ConnectionOptions;
  /** What a job's context says about its Redis (JobContext.redis). */
  private readonly redisForJobs: { readonly connection: ConnectionOptions; readonly namespace: string };
  /** Job-level plugins' resources (their shared connection), closed at stop. */
  private readonly pluginResources = new PluginResourceSet();
  private readonly namespace: string;
  /** This process's PID-namespace identity, recorded at registration (null: unknown, or a custom pid). */
  private readonly pidNamespace: string | null;
  private liveness: Liveness | null = null;
  /** This worker's record in the liveness loop's shared state (its own loop's slot 0, or the pool's slot). */
  private live: LivenessSlot | null = null;
  private readonly slot: SlotHooks | null;
  private detachLiveness: (() => void) | null = null;
  private jobSeq = 0;
  private readonly jobs: JobRegistry;
  private readonly log: Logger;
  private readonly queueArgs: string[];
  private readonly started: string;
  private processed = 0;
  /** `Class: reason` of a dirty exit being requeued, for the log line after the finish step. */
  private requeueNote: string | null = null;
  /** Job classes already warned about args numbers that arrive changed (one warning per class). */
  private readonly warnedNumbers = new Set<string>();
  private pausedLocal = false;
  private stopping: 'graceful' | 'abort' | null = null;
  private wake = new AbortController();
  private current: CurrentJob | null = null;
  /** Three or more plain queues: notifications stay on under load (the store skips queues known empty). */
  private readonly skipsKnownEmpty: boolean;
  /** Which changed keys wake an idle blocking worker (null: any queue, for patterns). */
  private readonly relevantKey: ((key: string) => boolean) | null;
  private statusTimer: NodeJS.Timeout | null = null;
  /** The worker hooks (a pool's slots run none: the pool runs them once for all). */
  private readonly workerHooks: WorkerHookLists | null;
  private firstJobHooks: Promise<void> | null = null;
  /** The beforeFirstJob hooks have run: later jobs do not wait a tick for them. */
  private firstJobDone = false;
  /** Whether this worker's logger writes debug lines (a job's 'done' line is then built). */
  private readonly debugOn: boolean;
  private shutdownHooks: Promise<void> | null = null;
  /** queueEmpty was told for this idle spell (reset when a job is reserved). */
  private toldEmpty = false;
  private stoppedPromise: Promise<void> | null = null;
  private resolveStopped!: () => void;

  constructor(opts: WorkerOptions) {
    super();
    if (!(opts.jobs instanceof JobRegistry)) throw new ConfigError('jobs must be a JobRegistry');
    this.queueSpecs = parseQueueList(opts.queues);
    this.hostname = (opts.hostname ?? osHostname()).trim();
    this.pid = opts.pid ?? process.pid;
    this.slot = opts.slot ?? null;
    this.started = this.slot?.started ?? formatStarted(new Date());
    this.id = this.slot
      ? formatSlotWorkerId(
          this.hostname,
          this.pid,
          this.queueSpecs.map(s => s.raw),
          this.slot.index,
        )
      : formatWorkerId(
          this.hostname,
          this.pid,
          this.queueSpecs.map(s => s.raw),
        );
    this.jobs = opts.jobs;
    this.workerHooks = this.slot ? null : opts.jobs.workerHooks();
    this.log = (opts.logger ?? createLogger()).child(this.id, { workerId: this.id });
    this.debugOn = this.log.isEnabled?.('debug') ?? true;
    this.o = {
      nonblockingPop: opts.nonblockingPop ?? false,
      backoffMin: positive('backoffMin', opts.backoffMin ?? 1),
      backoffMax: positive('backoffMax', opts.backoffMax ?? 8),
      blockTimeout: positive('blockTimeout', opts.blockTimeout ?? 5),
      drain: opts.drain ?? false,
      termTimeout: nonNegative('termTimeout', opts.termTimeout ?? 4),
      heartbeatInterval: positive('heartbeatInterval', opts.heartbeatInterval ?? 60),
      pruneInterval: positive('pruneInterval', opts.pruneInterval ?? 300),
      prune: opts.prune ?? true,
      onDirtyExit: opts.onDirtyExit ?? 'fail',
      waitReplicas: opts.waitReplicas ?? 0,
      waitTimeout: opts.waitTimeout ?? 100,
      failureBackend: opts.failureBackend ?? 'redis',
      livenessThread: opts.livenessThread ?? true,
      losslessArgs: opts.losslessArgs ?? false,
      pyresDates: opts.pyresDates ?? false,
    };
    for (const k of ['losslessArgs', 'pyresDates'] as const) {
      if (typeof this.o[k] !== 'boolean') throw new ConfigError(`${k} must be true or false, got ${JSON.stringify(this.o[k])}`);
    }
    if (this.o.heartbeatInterval * 1000 > MAX_TIMER_MS)
      throw new ConfigError(`heartbeatInterval must be at most ${MAX_TIMER_MS / 1000} seconds, got ${this.o.heartbeatInterval}`);
    if (this.o.pruneInterval <= this.o.heartbeatInterval) {
      throw new ConfigError(
        `pruneInterval (${this.o.pruneInterval}s) must be greater than heartbeatInterval (${this.o.heartbeatInterval}s): a live worker would be pruned between two heartbeats`,
      );
    }
    this.supervisedBy = opts.supervisedBy ? validSupervisedBy(opts.supervisedBy) : null;
    if (!FAILURE_BACKENDS.includes(this.o.failureBackend)) {
      throw new ConfigError(`failureBackend must be 'redis' or 'redis_multi_queue', got ${JSON.stringify(this.o.failureBackend)}`);
    }
    if (this.o.onDirtyExit !== 'fail' && this.o.onDirtyExit !== 'requeue') {
      throw new ConfigError(`onDirtyExit must be 'fail' or 'requeue', got ${JSON.stringify(this.o.onDirtyExit)}`);
    }
    if (this.o.backoffMax < this.o.backoffMin) throw new ConfigError('backoffMax must be at least backoffMin');
    if (!Number.isInteger(this.o.waitReplicas) || this.o.waitReplicas < 0)
      throw new ConfigError(`waitReplicas must be a whole number of 0 or more, got ${this.o.waitReplicas}`);
    if (!Number.isInteger(this.o.waitTimeout) || this.o.waitTimeout < 1)
      throw new ConfigError(`waitTimeout must be a whole number of milliseconds of 1 or more, got ${this.o.waitTimeout}`);
    this.queueArgs = hasPatterns(this.queueSpecs)
      ? ['1', ...this.queueSpecs.map(s => (s.negate ? `-g${globToLuaPattern(s.pattern)}` : s.isGlob ? `+g${globToLuaPattern(s.pattern)}` : `+s${s.pattern}`))]
      : ['0', ...this.queueSpecs.map(s => s.pattern)];
    this.connection = opts.connection ?? {};
    this.namespace = opts.namespace ?? 'resque';
    this.redisForJobs = Object.freeze({ connection: Object.freeze({ ...(opts.connection ?? {}) }), namespace: this.namespace });
    this.pidNamespace = this.pid === process.pid ? ownPidNamespace() : null;
    const nsKeys = new ResqueKeys(opts.namespace ?? 'resque');
    const watched = new Set(this.queueSpecs.map(q => nsKeys.queue(q.pattern)));
    this.relevantKey = hasPatterns(this.queueSpecs) ? null : (k: string) => watched.has(k);
    // Three or more: Redis notifies this worker's own LPOPs too (one message per job), which
    // costs about what the LPOPs of one or two empty queues would.
    this.skipsKnownEmpty = !hasPatterns(this.queueSpecs) && this.queueSpecs.length > 2;
    this.store = new RedisStore({
      connection: opts.connection ?? {},
      namespace: opts.namespace ?? 'resque',
      name: this.slot && this.slot.index > 0 ? `pyres-ts:worker:${this.pid}:slot${this.slot.index}` : `pyres-ts:worker:${this.pid}`,
      failureBackend: this.o.failureBackend,
    });
    this.store.on('connection-error', (e: Error) => this.log.warn(`Redis connection lost (${e.message}); reconnecting`));
    this.store.on('notice', (m: string) => this.log.warn(m));
    this.store.on('reconnected', () => {
      this.log.info('Redis connection back; re-registering');
      // A Redis that came back empty (no persistence, an empty replica) lost worker:<id> too:
      // put the running job's record back at once (SET NX, issued before any later finish on
      // this connection), so that a kill from now on is still recorded or requeued by the
      // master or a prune. Its end is recorded by the finish either way.
      this.restoreCurrent();
      this.reRegister();
    });
  }

  /** Re-registers (keeping `started`) and heartbeats; never throws. */
  private reRegister(): void {
    void this.store
      .ensureRegistered(this.id, this.started, this.pidNamespace)
      .then(() => this.store.heartbeat(this.id))
      .catch(e => this.log.warn(`re-register failed: ${coerceError(e).message}`));
  }

  /** Restores worker:<id> for the running job when it is missing (SET NX); never throws. */
  private restoreCurrent(): void {
    const cur = this.current;
    if (!cur) return;
    void this.store
      .restoreWorkingOn(this.id, encodeWorkingOn(cur.queue, cur.runAt, cur.raw))
      .catch(err => this.log.warn(`restoring worker:${this.id} failed: ${coerceError(err).message}`));
  }

  /** Logs what the finish step actually wrote, and re-registers when Redis lost our state. */
  private afterFinish(finish: FinishSpec, r: ReserveResult): void {
    if (finish.mode === 'none') return;
    const note = this.requeueNote;
    this.requeueNote = null;
    if (r.unrecorded) {
      const what = finish.mode === 'requeue' ? `NOT put back on ${finish.requeue?.queue ?? '?'}` : `its ${finish.mode} was NOT recorded`;
      this.log.warn(`${note ?? 'the job just done'}: ${what}: stat:processed:${this.id} did not match (${r.processed}, expected ${finish.expectedProcessed})`);
    } else if (finish.mode === 'requeue') {
      this.log.warn(`${note ?? 'the job just done'}; put back at the head of ${finish.requeue?.queue ?? '?'} (--on-dirty-exit requeue)`);
    }
    if (r.lost) {
      this.log.warn(
        `Redis lost this worker's state (restarted without persistence, or an empty replica?); the job's outcome was recorded anyway; re-registering`,
      );
      this.reRegister();
    }
  }

  /** Resolves when the worker has stopped and unregistered. */
  get stopped(): Promise<void> {
    if (!this.stoppedPromise) this.stoppedPromise = new Promise(r => (this.resolveStopped = r));
    return this.stoppedPromise;
  }

  /** What the worker is doing, for a process title: `Waiting for p10,p9`, `Processing p10 since ...`. */
  describe(): string {
    switch (this.state) {
      case 'working':
        return this.current ? `Processing ${this.current.queue} since ${Math.floor(this.current.since / 1000)} [${this.current.className}]` : 'Processing';
      case 'paused':
        return 'Paused';
      case 'idle':
        return `Waiting for ${this.queueSpecs.map(s => s.raw).join(',')}`;
      case 'stopping':
        return 'Shutting down';
      case 'stopped':
        return 'Stopped';
      default:
        return 'Starting';
    }
  }

  /** Connects, prunes, registers and starts the loop. Resolves once registered. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ConfigError('a Worker can be started once');
    void this.stopped;
    this.setState('starting');
    try {
      await this.store.connect();
    } catch (e) {
      if (e instanceof AuthError) {
        await this.store.close();
        this.setState('stopped');
        this.resolveStopped();
        throw e;
      }
      this.log.error(`${coerceError(e).message}; retrying until Redis answers`);
      let ready: boolean;
      try {
        ready = await this.store.waitUntilReady(this.wake.signal);
      } catch (authError) {
        await this.store.close();
        this.setState('stopped');
        this.resolveStopped();
        throw authError;
      }
      if (!ready) {
        await this.store.close();
        this.setState('stopped');
        this.resolveStopped();
        return;
      }
      this.log.info('Redis answers now');
    }
    await this.store.removeHeartbeat(this.id);
    if (this.o.prune) await this.pruneDeadWorkers().catch(e => this.log.warn(`pruning failed: ${coerceError(e).message}`));
    // The first heartbeat is written before registering, as Ruby does (its prune leaves alone
    // a registered worker that never sent one: another client library).
    await this.startLiveness();
    await this.store.register(this.id, this.started, this.pidNamespace);
    // The liveness thread boots at the first job or soon after registering, whichever comes
    // first (its isolate, modules and connection do not compete with this process's start).
    if (this.liveness?.mode === 'main') this.logHeartbeatMode('main');
    else this.liveness?.launchThreadLater(threadDeferMs(this.o.heartbeatInterval));
    this.processed = await this.store.stat('processed', this.id);
    // A pool's slots beyond the first say it at debug: the pool logs one line for all.
    this.log[this.slot && this.slot.index > 0 ? 'debug' : 'info'](
      `registered; ${this.o.nonblockingPop ? 'polling with LPOP' : 'waiting on queue changes'}; jobs: ${this.jobs.names().join(', ') || '(none)'}`,
    );
    this.setState(this.pausedLocal ? 'paused' : 'idle');
    void this.loop().then(
      () => this.finishStop(),
      e => {
        this.emitSafe('error', coerceError(e));
        return this.finishStop();
      },
    );
  }

  /**
   * graceful: finish the current job, then stop (QUIT). Otherwise (TERM/INT) abort the current
   * job, give it termTimeout seconds, record a dirty exit if it is still running. A second
   * non-graceful call gives up on the job at once. Idempotent: returns the same promise.
   */
  stop(opts: { graceful?: boolean; reason?: string } = {}): Promise<void> {
    const graceful = opts.graceful ?? true;
    const reason = opts.reason ?? (graceful ? 'stop' : 'shutdown');
    if (this.state === 'new' || this.state === 'starting') {
      this.stopping = 'abort';
      this.wake.abort();
      const p = this.stopped;
      if (this.state === 'starting') return p;
      this.setState('stopped');
      void this.store.close();
      this.resolveStopped();
      this.emitSafe('stopped');
      return p;
    }
    this.shutdownHooks ??= this.runWorkerHooks('shutdown');
    if (this.stopping === 'abort' && !graceful) {
      this.current?.abandon(`Job still being processed at a second ${reason}; abandoned`);
    } else if (!graceful) {
      this.stopping = 'abort';
      this.abortCurrent(reason, true);
    } else if (!this.stopping) {
      this.stopping = 'graceful';
    }
    this.wake.abort();
    if (this.state !== 'working' && this.state !== 'stopped') this.setState('stopping');
    return this.stopped;
  }

  /**
   * USR1: abort the current job (its AbortSignal fires) and go on with the next one. Unless
   * `abandon` is false, a job still running after termTimeout is recorded as a dirty exit and
   * abandoned; a master passes false because it kills the child itself.
   */
  /**
   * `seq`: act only if the current job is that one (else return false, do nothing): an abort
   * decided for one job never hits the next. `failAs`: the job's end is its own failure
   * (e.g. a timeout): a job that then throws is recorded with this exception and message
   * (counted in stat:failed), never as a dirty exit and never requeued.
   */
  abortCurrentJob(reason = 'SIGUSR1', opts: { abandon?: boolean; seq?: number; failAs?: { exception: string; message: string } } = {}): boolean {
    const cur = this.current;
    if (!cur) return false;
    if (opts.seq !== undefined && opts.seq !== cur.seq) {
      this.log.debug(`not aborting job #${cur.seq}: the abort (${reason}) was meant for job #${opts.seq}`);
      return false;
    }
    if (opts.failAs && !cur.failAs) {
      cur.failAs = { exception: String(opts.failAs.exception), message: String(opts.failAs.message) };
      // Already aborted (e.g. USR1 first): the job's end is now its own failure.
      if (cur.aborted) return true;
    }
    return this.abortCurrent(reason, false, opts.abandon ?? true);
  }

  /** The current job's number (JobEvent.seq), or null when idle. */
  get currentJobSeq(): number | null {
    return this.current?.seq ?? null;
  }

  /** USR2: reserve nothing new until resume(). The current job goes on. */
  pause(): void {
    this.pausedLocal = true;
    if (this.state === 'idle') this.setState('paused');
    this.wake.abort();
  }

  /** CONT. */
  resume(): void {
    this.pausedLocal = false;
    if (this.state === 'paused') this.setState('idle');
    this.wake.abort();
  }

  get isPaused(): boolean {
    return this.pausedLocal;
  }

  // ---------------------------------------------------------------------------------------

  private abortCurrent(reason: string, stopping: boolean, abandon = true): boolean {
    const cur = this.current;
    if (!cur || cur.aborted) return false;
    cur.aborted = true;
    // A master's child: the master's deadline is the one that counts (its own is 2 s later, a backstop).
    const finishIn = this.supervisedBy?.termTimeout ?? this.o.termTimeout;
    this.log.info(`aborting ${cur.className} (${reason})${abandon ? `; it has ${finishIn}s to finish` : ''}`);
    cur.ctrl ??= new AbortController();
    cur.ctrl.abort(cur.failAs ? Object.assign(new Error(cur.failAs.message), { name: cur.failAs.exception }) : new DirtyExitError(`Job aborted by ${reason}`));
    if (!abandon) return true;
    cur.abortTimer = setTimeout(
      () => cur.abandon(`Job aborted by ${reason} was still running after ${this.o.termTimeout}s; ${stopping ? 'worker exited' : 'abandoned'}`),
      this.o.termTimeout * 1000,
    );
    return true;
  }

  private async loop(): Promise<void> {
    let finish: FinishSpec = { mode: 'none', expectedProcessed: this.processed };
    let emptyPasses = 0;
    let armed = false;
    let runAt = '';
    let seq = 0;
    let jobsInARow = 0;
    // One spec for the whole loop (the store reads it synchronously); run_at is formatted once a second.
    const reserveSpec = { runAt, queueArgs: this.queueArgs };
    for (;;) {
      const wantReserve = !this.stopping && !this.pausedLocal;
      let r: ReserveResult;
      try {
        runAt = runAtNow();
        seq = this.store.notificationCount;
        reserveSpec.runAt = runAt;
        const reserve = wantReserve ? reserveSpec : null;
        if (this.o.waitReplicas > 0) {
          const rw = await this.store.finishAndReserve(this.id, finish, reserve, { replicas: this.o.waitReplicas, timeoutMs: this.o.waitTimeout });
          const wrote = finish.mode !== 'none' || rw.status === 'job' || rw.status === 'held';
          if (wrote && (await this.confirmDurable(rw.wait)) === 'redo') continue;
          r = rw;
        } else {
          r = await this.store.finishAndReserve(this.id, finish, reserve);
        }
      } catch (e) {
        // A server-side error (OOM, NOSCRIPT race, ACL), or no reply within --redis-timeout (a
        // blackholed connection: ioredis drops the silent socket, reconnects and resends what was
        // unanswered). Try the same step again: the script's guard (expectedProcessed) makes a
        // finish that did run already a no-op, and hands back a job it reserved as 'held'.
        this.log.error(`reserve failed: ${coerceError(e).message}`);
        await sleep(1000, this.stopping === 'abort' ? undefined : this.wake.signal);
        if (this.stopping && finish.mode === 'none') break;
        continue;
      }
      this.afterFinish(finish, r);
      this.processed = r.processed;
      finish = { mode: 'none', expectedProcessed: r.processed };

      if (r.status === 'job' || r.status === 'held') {
        emptyPasses = 0;
        this.toldEmpty = false;
        jobsInARow += 1;
        // Notifications stay on through a lone job (an idle worker picks up in 2 round trips);
        // under steady load they are turned off, since every push and pop would send one;
        // except for a list of three or more plain queues on a server without LMPOP, where they let
        // the store skip the queues known empty (one LPOP saved per empty queue per job; see
        // RedisStore.knownEmpty). With LMPOP the store pops the whole list in one command.
        if (armed && jobsInARow >= 2 && !(this.skipsKnownEmpty && !this.store.popsQueueListAtOnce)) {
          armed = false;
          void this.store.disarmQueueNotifications();
        }
        const outcome = await this.runJob(r, runAt);
        finish = { ...outcome, expectedProcessed: this.processed };
        continue;
      }
      jobsInARow = 0;
      if (this.stopping) break;
      if (this.pausedLocal) {
        this.setState('paused');
        await this.waitForWake(null);
        continue;
      }
      if (r.status === 'paused') {
        this.setState('paused');
        await this.waitForWake(Math.min(this.o.blockTimeout, 1) * 1000);
        continue;
      }
      // empty
      if (!this.toldEmpty) {
        this.toldEmpty = true;
        await this.runWorkerHooks('queueEmpty');
      }
      if (this.o.drain) {
        this.log.info('every queue is empty; --drain: stopping');
        this.stopping = 'graceful';
        break;
      }
      this.setState('idle');
      if (this.slot && !this.o.nonblockingPop && this.o.waitReplicas === 0) {
        // A pool's slot: the pool waits on the queues for every idle slot and reserves for them
        // together. (With --wait-replicas each slot reserves itself: every step is WAITed.)
        const got = await this.slot.idle(this.slot.index, this.freshWake());
        if (!got) continue;
        // TERM came while the pool reserved it: never started, so the stop puts it back (requeueUnseenReservation).
        if (this.stopping === 'abort') break;
        const outcome = await this.runJob({ ...got.result, processed: this.processed }, got.runAt);
        finish = { ...outcome, expectedProcessed: this.processed };
        continue;
      }
      if (this.o.nonblockingPop) {
        emptyPasses += 1;
        const s = backoffDelay(emptyPasses, this.o.backoffMin, this.o.backoffMax);
        this.log.debug(`queues empty; sleeping ${s}s`);
        await this.waitForWake(s * 1000);
        continue;
      }
      if (!armed || !this.store.notificationsArmed) {
        armed = await this.store.armQueueNotifications();
        // Armed: look once more before waiting, so a push between the last pass and the arming is not missed.
        if (armed) continue;
        await this.waitForWake(1000);
        continue;
      }
      const res = await this.store.waitForQueueChange(this.relevantKey, this.o.blockTimeout * 1000, this.freshWake(), seq);
      if (res === 'timeout') armed = await this.store.armQueueNotifications();
    }
    if (armed) await this.store.disarmQueueNotifications();
  }

  /** Set while a WAIT falls short on what still is the master: since when (ms). */
  private shortSince: number | null = null;
  /** Past the bound on the master: jobs run without the replica guarantee until WAIT is met again. */
  private degraded = false;

  /**
   * --wait-replicas: decides what a step whose WAIT fell short means, before its job runs.
   * 'redo': the step ran on a server that is no longer the master (ROLE, the sentinels, or a
   * reconnect since the step say so): the connection moves to the master and the SAME step is
   * sent again there (the stat:processed:<id> guard records the outcome at most once; a
   * reservation that survived comes back as 'held', one that vanished is taken again from the
   * queue), and the reserved job is not run here. 'ok': WAIT was met, possibly on a retry; or
   * the shortfall lasted WAIT_SHORT_BOUND_MS on a server that still is the master (a replica
   * down, not a failover): a warning is logged and jobs run without the guarantee (no further
   * retries) until WAIT is met again, which is logged too. Never waits longer than the bound.
   */
  private async confirmDurable(w: WaitResult): Promise<'ok' | 'redo'> {
    const n = this.o.waitReplicas;
    let acked = w.acked;
    if (acked >= n) {
      this.shortSince = null;
      if (this.degraded) {
        this.degraded = false;
        this.log.info(`--wait-replicas ${n}: ${acked} replica(s) acknowledge again; jobs wait for them again`);
      }
      return 'ok';
    }
    if (this.degraded) return 'ok';
    const since = (this.shortSince ??= Date.now());
    for (;;) {
      const where = this.store.connectionEpoch !== w.epoch ? 'moved' : await this.store.masterCheck();
      if (where === 'moved' && Date.now() - since < 2 * WAIT_SHORT_BOUND_MS) {
        this.log.warn(
          `--wait-replicas ${n}: ${acked} replica(s) acknowledged a step on a server that is no longer the master; sending it again to the master, its job not run here`,
        );
        return 'redo';
      }
      if (Date.now() - since >= WAIT_SHORT_BOUND_MS) break;
      acked = await this.store.waitReplicas(n, this.o.waitTimeout);
      if (this.store.connectionEpoch !== w.epoch) continue;
      if (acked >= n) {
        this.shortSince = null;
        return 'ok';
      }
    }
    this.shortSince = null;
    this.degraded = true;
    this.log.warn(
      `--wait-replicas ${n}: only ${acked} replica(s) acknowledged for ${WAIT_SHORT_BOUND_MS / 1000}s, and this still is the master (a replica down?): running jobs WITHOUT the replica guarantee until ${n} acknowledge again`,
    );
    return 'ok';
  }

  private freshWake(): AbortSignal {
    if (this.wake.signal.aborted) this.wake = new AbortController();
    return this.wake.signal;
  }

  private async waitForWake(ms: number | null): Promise<void> {
    const signal = this.freshWake();
    if (this.stopping || (ms === null && !this.pausedLocal)) return;
    await sleep(ms ?? 2 ** 31 - 1, signal);
  }

  /** Runs one reserved job and returns how to record it. Never throws. */
  private async runJob(r: Extract<ReserveResult, { status: 'job' | 'held' }>, runAt: string): Promise<Omit<FinishSpec, 'expectedProcessed'>> {
    if (!this.firstJobDone) {
      this.firstJobHooks ??= this.slot?.firstJob ? this.slot.firstJob() : this.runWorkerHooks('beforeFirstJob');
      await this.firstJobHooks;
      this.firstJobDone = true;
    }
    const seq = ++this.jobSeq;
    let queue: string;
    let raw: string;
    // The item's bytes when they are not valid UTF-8 (`raw` then holds U+FFFD in their place).
    let invalidBytes: Buffer | null = null;
    if (r.status === 'held') {
      const w = decodeWorkingOn(r.record);
      queue = w?.queue ?? '';
      raw = w?.rawPayload ?? r.record;
      const held = r.recordBytes ? heldPayloadBytes(r.recordBytes) : null;
      invalidBytes = held && !isUtf8(held) ? held : null;
      this.log.warn(`resuming the job already recorded in worker:${this.id} (a reply was lost to a dropped connection)`);
    } else {
      queue = r.queue;
      raw = r.raw;
      invalidBytes = r.bytes ?? null;
    }
    let className = '?';
    let job: DecodedJob | null = null;
    try {
      // Never run a job with altered arguments: an item that is not UTF-8 is refused, its bytes kept.
      if (invalidBytes) throw new PayloadDecodeError(`payload is not valid UTF-8 (first bad byte at offset ${badUtf8Offset(invalidBytes)}): ${preview(raw)}`);
      job = decodeJob(raw);
      className = job.className;
      if (className === POISON_CLASS) {
        throw new PayloadDecodeError(`${POISON_CLASS} is a retried queue item that is not a job; its original bytes are args[0].raw_base64`);
      }
    } catch (e) {
      if (r.status === 'job' && /^[ \t\n\r]*\{/.test(raw) && !isJson(raw)) {
        // The script embeds what looks like an object as received; it was not JSON after all:
        // rewrite worker:<id> as valid JSON (the payload as a string) before anything reads it.
        await this.store.replaceWorkingOn(this.id, encodeWorkingOn(queue, runAt, raw)).catch(() => undefined);
      }
      // A retried poison item is a job object already: its record embeds it as it is.
      const poison = job ? null : (invalidBytes ?? Buffer.from(raw, 'utf8'));
      return this.failureOutcome(seq, queue, raw, className, coerceError(e), poison);
    }
    let resolved: ResolvedJob | null = null;
    let resolveError: Error | null = null;
    try {
      resolved = this.jobs.resolve(className);
    } catch (e) {
      resolveError = coerceError(e);
    }
    const lossless = resolved?.lossless ?? this.o.losslessArgs;
    let decoded: { payload: Record<string, unknown>; args: unknown[] } = job;
    if (resolved && (lossless || (resolved.pyresDates ?? this.o.pyresDates))) {
      try {
        decoded = decodeArgs(raw, job.payload, { lossless, pyresDates: resolved.pyresDates ?? this.o.pyresDates });
      } catch (e) {
        return this.failureOutcome(seq, queue, raw, className, coerceError(e));
      }
    }
    let rawArgs: string | null = null;
    const rawArgsText = (): string => (rawArgs ??= rawArgsOf(raw));
    // hasNumberIn first: args with no number at all (the plain parse) need no scan of the text.
    if (resolved && !this.warnedNumbers.has(className) && hasNumberIn(job.args) && mayChangeNumbers(raw)) {
      const changed = changedNumbers(rawArgsText(), lossless);
      if (changed.length) {
        this.warnedNumbers.add(className);
        this.log.warn(
          `${className}: args numbers ${changed.join(', ')} do not fit a JS number and arrive rounded` +
            `${lossless ? '' : ' (give the job `lossless: true` or run with --lossless-args for BigInts)'}; the exact text is in the job context's rawArgs (warned once per class)`,
        );
      }
    }
    const cur = new CurrentJob(seq, queue, runAt, raw, className);
    this.current = cur;
    this.live?.jobStarted(seq, cur.since, resolved?.timeout ?? null);
    this.setState('working');
    if (this.listenerCount('job') > 0) this.emitSafe('job', { seq, queue, className, raw, timeout: resolved?.timeout ?? null });
    const ctx: JobContext = new WorkerJobContext(
      queue,
      this.id,
      this.redisForJobs,
      this.pluginResources,
      className,
      decoded.payload,
      raw,
      rawArgsText,
      cur,
      this.log,
    );
    try {
      if (!resolved) throw resolveError ?? new Error(`cannot resolve ${className}`);
      const job_ = resolved;
      const hooks = job_.hooks;
      const args = decoded.args;
      // No hooks: the job alone (the hot path); else Resque's Job#perform (hooks.ts).
      // One promise for the job's end or its abandonment (cur.abandon: a TERM deadline, a
      // second TERM), whichever comes first; set before the job's first line runs.
      // A synchronous job (no hooks, perform returned something that is not a promise) ends
      // without any: its outcome is known when perform returns. An abandonment that came first
      // (during perform) wins, as it would over the promise's.
      let early: JobEnd | null = null;
      let settle: (r: JobEnd) => void = r => {
        early ??= r;
      };
      cur.abandon = reason => settle({ abandoned: reason });
      const withHooks = hasPerformHooks(hooks);
      let run: unknown;
      let threw = false;
      try {
        if (withHooks) run = runInJobContext(ctx, () => runPerformChain(hooks, args, () => job_.invoke(args, ctx)));
        else run = job_.call ? job_.call(args, ctx) : job_.invoke(args, ctx);
      } catch (e) {
        run = e;
        threw = true;
      }
      let result: JobEnd;
      if (early !== null) result = early;
      else if (threw) result = { error: coerceError(run) };
      else if (!isThenable(run)) result = DONE;
      else {
        const ended = new Promise<JobEnd>(res => (settle = res));
        Promise.resolve(run).then(
          o => settle(withHooks && (o as { skipped?: boolean } | undefined)?.skipped ? SKIPPED : DONE),
          (e: unknown) => settle({ error: coerceError(e) }),
        );
        result = await ended;
      }
      if ('abandoned' in result) {
        this.log.warn(`${className}: ${result.abandoned}`);
        // The error the onFailure hooks saw: a retry policy may have suppressed its record.
        if (cur.failAs) {
          const message = `${cur.failAs.message}; ${result.abandoned}`;
          const seen = await this.failureHooks(hooks, named(cur.failAs.exception, message), args, ctx, className, true);
          return this.failAsOutcome(seq, queue, raw, className, cur.failAs.exception, message, isFailureSuppressed(seen));
        }
        const seen = this.o.onDirtyExit === 'fail' ? await this.failureHooks(hooks, dirtyError(result.abandoned), args, ctx, className, true) : null;
        return this.dirtyOutcome(seq, queue, raw, className, result.abandoned, isFailureSuppressed(seen));
      }
      if ('error' in result) {
        if (cur.aborted && cur.failAs) {
          const seen = await this.failureHooks(hooks, named(cur.failAs.exception, cur.failAs.message), args, ctx, className, false);
          return this.failAsOutcome(seq, queue, raw, className, cur.failAs.exception, cur.failAs.message, isFailureSuppressed(seen));
        }
        if (cur.aborted && cur.ctrl) {
          const why: unknown = cur.ctrl.signal.reason;
          const reason = why instanceof Error ? why.message : 'Job aborted';
          const same = result.error === why || result.error.message === reason;
          const message = same ? reason : `${reason}: ${result.error.message}`;
          const seen = this.o.onDirtyExit === 'fail' ? await this.failureHooks(hooks, dirtyError(message), args, ctx, className, false) : null;
          return this.dirtyOutcome(seq, queue, raw, className, message, isFailureSuppressed(seen));
        }
        const recorded = await this.failureHooks(hooks, result.error, args, ctx, className, false);
        return this.failureOutcome(seq, queue, raw, className, recorded);
      }
      if (this.debugOn) {
        if (result.skipped) this.log.debug(`skipped: ${className} from ${queue} (a beforePerform hook threw DontPerform)`, { jobClass: className, queue });
        else this.log.debug(`done: ${className} from ${queue}`, { jobClass: className, queue, durationMs: Date.now() - cur.since });
      }
      if (this.listenerCount('success') > 0) this.emitSafe('success', { seq, queue, className, raw });
      return SUCCESS;
    } catch (e) {
      return this.failureOutcome(seq, queue, raw, className, coerceError(e));
    } finally {
      if (this.current?.abortTimer) clearTimeout(this.current.abortTimer);
      this.current = null;
      this.setState(this.stopping ? 'stopping' : this.pausedLocal ? 'paused' : 'idle');
    }
  }

  /**
   * Runs the job's onFailure hooks (before its failure record is written) and returns the error
   * to record: the job's, or Resque's RuntimeError when a hook threw (logged). `bounded`: the job
   * is being abandoned (TERM deadline), so the hooks get termTimeout seconds (at least 1) at most.
   * Never throws.
   */
  private async failureHooks(hooks: JobHooks, error: Error, args: unknown[], ctx: JobContext, className: string, bounded: boolean): Promise<Error> {
    if (hooks.onFailure.length === 0) return error;
    const run = runInJobContext(ctx, () => runFailureHooks(hooks, error, args, className)).catch(() => error);
    let timer: NodeJS.Timeout | undefined;
    const limit = bounded
      ? new Promise<Error>(res => {
          timer = setTimeout(() => {
            this.log.warn(
              `${className}: onFailure hooks still running after ${Math.max(1, this.o.termTimeout)}s; recording the failure without waiting for them`,
            );
            res(error);
          }, Math.max(1, this.o.termTimeout) * 1000);
        })
      : null;
    const out = await (limit ? Promise.race([run, limit]) : run);
    if (timer) clearTimeout(timer);
    if (out !== error) this.log.warn(`${className}: an onFailure hook threw: ${out.message.split('\n')[0]}`);
    return out;
  }

  /** Never throws, whatever the job threw (a throwing `stack` getter, a non-string message...). */
  private failureOutcome(
    seq: number,
    queue: string,
    raw: string,
    className: string,
    err: Error,
    poison: Buffer | null = null,
  ): Omit<FinishSpec, 'expectedProcessed'> {
    const badInput = err instanceof PayloadDecodeError || err instanceof UnknownJobClassError;
    const exception = safe(() => exceptionNameOf(err), 'Error');
    const message = safe(() => String(err.message), '(the error has no readable message)');
    const backtrace = badInput ? [] : safe(() => backtraceOf(err, REGISTRY_FILE), []);
    const shortName = className.length > 200 ? `${className.slice(0, 200)}...` : className;
    this.log[badInput ? 'warn' : 'info'](`failed: ${shortName} from ${queue}: ${exception}: ${message.slice(0, 500)}`, this.jobFields(className, queue));
    this.emitSafe('failure', { seq, queue, className, raw, exception, error: message });
    return {
      mode: 'failure',
      failureQueue: queue,
      // A failure its retry policy retries with suppressFailures (docs/RETRY.md): counted, no `failed` record.
      failureRecord: isFailureSuppressed(err)
        ? ''
        : poison
          ? encodePoisonFailure({ failedAt: formatFailedAt(new Date()), rawBytes: poison, exception, error: message, backtrace, worker: this.id, queue })
          : encodeFailure({ failedAt: formatFailedAt(new Date()), rawPayload: raw, exception, error: message, backtrace, worker: this.id, queue }),
    };
  }

  /** A job aborted with failAs (a timeout, a memory limit): an ordinary failure, whatever onDirtyExit says. */
  private failAsOutcome(
    seq: number,
    queue: string,
    raw: string,
    className: string,
    exception: string,
    message: string,
    suppressed = false,
  ): Omit<FinishSpec, 'expectedProcessed'> {
    this.log.warn(`failed: ${className} from ${queue}: ${exception}: ${message}`, this.jobFields(className, queue));
    this.emitSafe('failure', { seq, queue, className, raw, exception, error: message });
    return {
      mode: 'failure',
      failureQueue: queue,
      // Retried under suppressFailures: counted, no `failed` record (as a job's own throw).
      failureRecord: suppressed
        ? ''
        : encodeFailure({ failedAt: formatFailedAt(new Date()), rawPayload: raw, exception, error: message, backtrace: [], worker: this.id, queue }),
    };
  }

  private dirtyOutcome(seq: number, queue: string, raw: string, className: string, message: string, suppressed = false): Omit<FinishSpec, 'expectedProcessed'> {
    this.emitSafe('failure', { seq, queue, className, raw, exception: 'Resque::DirtyExit', error: message });
    if (this.o.onDirtyExit === 'requeue') {
      // Logged by afterFinish once the finish step says whether it was written.
      this.requeueNote = `${className}: ${message}`;
      return { mode: 'requeue', requeue: { queue, raw } };
    }
    return {
      mode: 'dirty',
      failureQueue: queue,
      // Ruby's DirtyExit goes through Job#fail: MultipleWithRetrySuppression suppresses it too.
      failureRecord: suppressed
        ? ''
        : encodeFailure({
            failedAt: formatFailedAt(new Date()),
            rawPayload: raw,
            exception: 'Resque::DirtyExit',
            error: message,
            backtrace: [],
            worker: this.id,
            queue,
          }),
    };
  }

  private async finishStop(): Promise<void> {
    this.setState('stopping');
    // The liveness loop ends (bounded, ~1 s) before the unregister: no heartbeat or
    // re-registration may land after it.
    await this.liveness?.stop().catch(() => undefined);
    this.liveness = null;
    // A pool's slot: the pool's loop stops beating for this id before it is unregistered.
    this.live?.setState('off');
    this.detachLiveness?.();
    this.detachLiveness = null;
    await this.requeueUnseenReservation();
    try {
      await this.store.unregister(this.id);
      this.log[this.slot && this.slot.index > 0 ? 'debug' : 'info']('unregistered');
    } catch (e) {
      this.emitSafe('error', coerceError(e));
    }
    await this.store.close().catch(() => undefined);
    await this.shutdownHooks;
    await this.runWorkerHooks('workerExit');
    await this.pluginResources.closeAll();
    this.setState('stopped');
    this.emitSafe('stopped');
    this.resolveStopped();
  }

  /** Runs one kind of worker hooks (none for a pool's slot); a hook's error is logged. Never throws. */
  private runWorkerHooks(kind: keyof WorkerHookLists): Promise<void> {
    const list = this.workerHooks?.[kind] ?? [];
    if (list.length === 0) return Promise.resolve();
    return runWorkerHooks(list, { workerId: this.id }, (e, i) => this.log.warn(`${kind} hook #${i + 1} threw: ${coerceError(e).message}`));
  }

  /**
   * At a stop no job of ours is running, so a record in worker:<id> is a reservation whose reply
   * never reached us: a reserve that timed out on a silent connection and ran anyway (ioredis
   * resends what a dropped socket left unanswered), while the retry asked for no new job. It
   * goes back to the head of its queue (it never started) instead of being deleted unseen.
   */
  private async requeueUnseenReservation(): Promise<void> {
    try {
      const held = await this.store.getWorkingOn(this.id);
      if (held === null) return;
      const w = decodeWorkingOn(held);
      if (!w?.queue) return;
      const wrote = await this.store.unregister(this.id, {
        expected: held,
        record: '',
        policy: 'requeue',
        queue: w.queue,
        raw: w.rawPayload,
        requireHeld: true,
      });
      if (wrote) this.log.warn(`a job reserved for this worker but never started (its reply was lost) was put back at the head of ${w.queue}`);
    } catch (e) {
      this.log.warn(`checking worker:${this.id} before unregistering failed: ${coerceError(e).message}`);
    }
  }

  /**
   * Resque's prune at start, under the 60 s lock: workers whose heartbeat is older than
   * pruneInterval by Redis time, and same-host workers whose pid is gone.
   */
  async pruneDeadWorkers(): Promise<string[]> {
    return pruneDeadWorkers(this.store, {
      selfId: this.id,
      hostname: this.hostname,
      pruneInterval: this.o.pruneInterval,
      onDirtyExit: this.o.onDirtyExit,
      queues: parseWorkerId(this.id)?.queues ?? [],
      pidNamespace: this.pidNamespace,
      logger: this.log,
      // A pruned job of a class this worker loads: its onFailure hooks (resque-retry's retry) first.
      failureHooks: (job, error) =>
        runDeadJobFailureHooks(
          this.jobs.hooksFor(job.className),
          { raw: job.raw, queue: job.queue, workerId: job.workerId, redis: this.redisForJobs, resources: this.pluginResources, logger: this.log },
          error,
        ),
    });
  }

  /** Starts the liveness loop (its thread, or this thread) and resolves after its first heartbeat. */
  private async startLiveness(): Promise<void> {
    if (this.slot) return this.joinPoolLiveness(this.slot);
    const l = new Liveness({
      useThread: this.o.livenessThread,
      store: this.store,
      logger: this.log,
      workerId: this.id,
      started: this.started,
      pidNamespace: this.pidNamespace,
      heartbeatInterval: this.o.heartbeatInterval,
      supervisedBy: this.supervisedBy,
      onDirtyExit: this.o.onDirtyExit,
      failureBackend: this.o.failureBackend,
      connection: this.connection,
      namespace: this.namespace,
      connectionName: `pyres-ts:worker:${this.pid}:liveness`,
    });
    l.setState('starting');
    l.on('notice', (m: string) => this.emitSafe('notice', m));
    l.on('reregistered', (e: { slot: number; seq: number; state: number; msg: string }) => {
      this.log.warn(e.msg);
      this.emitSafe('notice', e.msg);
      // The prune deleted worker:<id> too: put the running job's record back, so that its end is
      // recorded and resque-web shows it.
      this.restoreCurrent();
    });
    l.on('abort', (e: { seq: number; reason: string; failAs: { exception: string; message: string } }) => {
      this.abortCurrentJob(e.reason, { abandon: false, seq: e.seq, failAs: e.failAs });
    });
    l.on('launched', (mode: 'thread' | 'main' | 'off') => this.logHeartbeatMode(mode));
    this.liveness = l;
    this.live = l.slot(0);
    await l.start({ deferThread: true });
  }

  private logHeartbeatMode(mode: 'thread' | 'main' | 'off'): void {
    if (mode !== 'off')
      this.log.debug(`heartbeat every ${this.o.heartbeatInterval}s ${mode === 'thread' ? 'from the liveness thread' : 'from the main thread'}`);
  }

  /** A pool's slot: the pool's liveness loop beats for it; the first heartbeat is written here. */
  private async joinPoolLiveness(slot: SlotHooks): Promise<void> {
    const l = slot.liveness;
    const live = l.slot(slot.index);
    live.setState('starting');
    const onRereg = (e: { slot: number; msg: string }): void => {
      if (e.slot !== slot.index) return;
      this.log.warn(e.msg);
      this.emitSafe('notice', e.msg);
      this.restoreCurrent();
    };
    const onAbort = (e: { slot: number; seq: number; reason: string; failAs: { exception: string; message: string } }): void => {
      if (e.slot === slot.index) this.abortCurrentJob(e.reason, { abandon: false, seq: e.seq, failAs: e.failAs });
    };
    l.on('reregistered', onRereg);
    l.on('abort', onAbort);
    this.detachLiveness = () => {
      l.off('reregistered', onRereg);
      l.off('abort', onAbort);
    };
    this.live = live;
    await this.store.heartbeat(this.id).catch(e => this.log.warn(`heartbeat failed: ${coerceError(e).message}`));
  }

  /**
   * 'status' events between working and idle are coalesced (one per 50 ms at most): a busy
   * worker would otherwise rename its process twice per job. Other states are told at once.
   */
  private setState(s: WorkerState): void {
    if (s !== 'working') this.live?.setState(LIVENESS_STATE[s]);
    if (this.state === s && s !== 'working') return;
    this.state = s;
    if (s === 'working' || s === 'idle') {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = null;
        this.emitSafe('status', this.describe());
      }, 50);
      return;
    }
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.emitSafe('status', this.describe());
  }

  /** The JSON log fields of a job's last line: its class, queue and (while it runs) duration. */
  private jobFields(jobClass: string, queue: string): LogFields {
    const since = this.current?.since;
    return { jobClass, queue, ...(since !== undefined ? { durationMs: Date.now() - since } : {}) };
  }

  private emitSafe<E extends keyof WorkerEvents>(event: E, ...args: WorkerEvents[E]): void {
    try {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (e) {
      this.log.error(`a '${event}' listener threw: ${coerceError(e).message}`);
    }
  }
}

type JobEnd = { ok: true; skipped: boolean } | { error: Error } | { abandoned: string };

/** A promise or another thenable (what an async perform returns; adopted as `await` would). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
const DONE: JobEnd = { ok: true, skipped: false };
const SKIPPED: JobEnd = { ok: true, skipped: true };
const SUCCESS: Omit<FinishSpec, 'expectedProcessed'> = Object.freeze({ mode: 'success' });
const NO_ABANDON = (): void => undefined;

/**
 * The job being run, while it runs (Worker.current). A class, not an object literal: V8 may
 * pretenure a literal's allocation site (allocate its objects straight in the old generation),
 * and a dead old-generation record still pointing at the job's payload strings keeps them alive
 * through every young-generation GC until the next full GC (10 KB payloads: a mark-compact every
 * ~170 ms and ~35 us more CPU per job). Instances of a class are never pretenured.
 */
class CurrentJob {
  /** Date.now() at its start. */
  readonly since = Date.now();
  /** Created on first use: most jobs never look at their signal nor get aborted. */
  ctrl: AbortController | null = null;
  aborted = false;
  /** Set by abortCurrentJob's failAs: the job's end is its own failure, never a dirty exit. */
  failAs: { exception: string; message: string } | null = null;
  abandon: (reason: string) => void = NO_ABANDON;
  abortTimer?: NodeJS.Timeout;
  constructor(
    readonly seq: number,
    readonly queue: string,
    readonly runAt: string,
    readonly raw: string,
    readonly className: string,
  ) {}
}

/**
 * A running job's JobContext: a class, so that a job costs one small object (its signal and
 * logger made on first use, its rawArgs text read on first use).
 */
class WorkerJobContext implements JobContext {
  #jobLog: Logger | null = null;
  readonly #rawArgsText: () => string;
  readonly #cur: { ctrl: AbortController | null };
  readonly #workerLog: Logger;
  constructor(
    readonly queue: string,
    readonly workerId: string,
    readonly redis: JobContext['redis'],
    readonly resources: JobContext['resources'],
    readonly className: string,
    readonly payload: Record<string, unknown>,
    readonly raw: string,
    rawArgsText: () => string,
    cur: { ctrl: AbortController | null },
    workerLog: Logger,
  ) {
    this.#rawArgsText = rawArgsText;
    this.#cur = cur;
    this.#workerLog = workerLog;
  }
  get rawArgs(): string {
    return this.#rawArgsText();
  }
  get signal(): AbortSignal {
    this.#cur.ctrl ??= new AbortController();
    return this.#cur.ctrl.signal;
  }
  /** Made on first use: most jobs never log. */
  get logger(): Logger {
    return (this.#jobLog ??= this.#workerLog.child(this.className, { jobClass: this.className, queue: this.queue }));
  }
}

/** What onFailure hooks get for a dirty exit: a DirtyExitError named as its record names it (`Resque::DirtyExit`). */
function dirtyError(message: string): DirtyExitError {
  const e = new DirtyExitError(message);
  e.name = 'Resque::DirtyExit';
  return e;
}

/** An Error with this name (an exception class from a failAs, e.g. JobTimeoutError). */
function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    const v = f();
    return typeof v === 'string' || Array.isArray(v) ? v : fallback;
  } catch {
    return fallback;
  }
}

/** Frames from here on are pyres-ts's, not the job's. */
const REGISTRY_FILE = require.resolve('../jobs/registry');

const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * --wait-replicas: how long a WAIT that falls short on what still is the master is retried
 * before jobs run without the guarantee. Longer than a Sentinel failover takes to announce
 * the new master (~1-2 s), so a worker on the demoted master moves before it runs the job.
 */
const WAIT_SHORT_BOUND_MS = 5000;

const LIVENESS_STATE: Record<WorkerState, LivenessStateName> = {
  new: 'starting',
  starting: 'starting',
  idle: 'idle',
  paused: 'idle',
  working: 'working',
  stopping: 'stopping',
  stopped: 'stopping',
};

function validSupervisedBy(s: SupervisedBy): SupervisedBy {
  if (typeof s !== 'object' || s === null) throw new ConfigError('supervisedBy must be an object');
  if (!Number.isInteger(s.masterPid) || s.masterPid <= 0) throw new ConfigError(`supervisedBy.masterPid must be a pid, got ${String(s.masterPid)}`);
  const jobTimeout = s.jobTimeout === null || s.jobTimeout === undefined ? null : positive('supervisedBy.jobTimeout', s.jobTimeout);
  return {
    masterPid: s.masterPid,
    jobTimeout,
    timeoutGrace: nonNegative('supervisedBy.timeoutGrace', s.timeoutGrace),
    termTimeout: nonNegative('supervisedBy.termTimeout', s.termTimeout),
  };
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${name} must be a number greater than 0, got ${String(v)}`);
  return v;
}
function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`${name} must be a number of 0 or more, got ${String(v)}`);
  return v;
}

/** The offset of the first byte that breaks UTF-8 (valid sequences survive a decode and re-encode unchanged). */
function badUtf8Offset(b: Buffer): number {
  const again = Buffer.from(b.toString('utf8'), 'utf8');
  let i = 0;
  while (i < b.length && b[i] === again[i]) i++;
  return i;
}

/**
 * The payload bytes of a held worker:<id> value that is not valid UTF-8. The reserve script
 * embeds a payload as received, or as a JSON string that escapes only '"', '\\' and control
 * characters; a latin1 parse of that string gives back one char per original byte.
 */
function heldPayloadBytes(record: Buffer): Buffer {
  const e = embeddedPayloadBytes(record);
  if (!e) return Buffer.from(record);
  if (!e.isString) return Buffer.from(e.bytes);
  try {
    return Buffer.from(JSON.parse(e.bytes.toString('latin1')) as string, 'latin1');
  } catch {
    return Buffer.from(e.bytes);
  }
}
