/**
 * Job slots (`--concurrency N`, since issue 15): N jobs at once on one event loop, each slot an
 * ordinary Resque worker in Redis (registered, heartbeat, `worker:<id>` while working, its own
 * stats), so resque-web's /working shows every job in flight.
 *
 * - Slot i is a Worker with the id `host+i:pid:queues` (slot 0: `host:pid:queues`; see
 *   protocol/workerId.ts, formatSlotWorkerId, and docs/COMPAT.md for why).
 * - One liveness loop (one thread) heartbeats and checks every slot, and for a master's child
 *   watches the master for all of them.
 * - A slot finishes its job and reserves the next with the ordinary per-worker
 *   finish-and-reserve step; a slot that finds every queue empty parks here, and the pool
 *   reserves for all parked slots in one round trip (the reserve-many script), each job
 *   recorded in its slot's `worker:<id>` inside the script.
 * - stop/abort/pause/resume apply to every slot.
 * - With `concurrency: {min, max}` the slot count follows event-loop utilisation (slotScale.ts).
 */
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AuthError, ConfigError, coerceError } from '../errors';
import { runWorkerHooks, type WorkerHookLists } from '../jobs/hooks';
import { createLogger, type Logger } from '../logging/logger';
import { ResqueKeys } from '../protocol/keys';
import { globToLuaPattern, hasPatterns, parseQueueList } from '../protocol/queues';
import { formatRunAt, formatStarted } from '../protocol/time';
import { formatSlotWorkerId, MAX_SLOTS } from '../protocol/workerId';
import { type ManyReserved, RedisStore } from '../store/redisStore';
import { sleep } from './backoff';
import { Liveness, threadDeferMs } from './liveness';
import { ownPidNamespace } from './pidNamespace';
import { decideSlots, initialSlotScaleState, SLOT_SCALE_DEFAULTS, type SlotScaleConfig, type SlotScaleState } from './slotScale';
import { type JobEvent, type JobFailureEvent, type SlotHooks, Worker, type WorkerOptions, type WorkerState } from './worker';

/** Options of a WorkerPool: a Worker's, and how many slots. */
export interface WorkerPoolOptions extends Omit<WorkerOptions, 'slot'> {
  /**
   * Job slots: a number (1..64), or `{min, max}` to autoscale between them by event-loop
   * utilisation (it starts at min).
   */
  concurrency: number | { min: number; max: number };
  /** Autoscale tunables (utilisation marks 0..1, samples, interval); with `{min, max}` only. */
  autoscale?: Partial<Omit<SlotScaleConfig, 'min' | 'max'>> & {
    /** Milliseconds between samples. @defaultValue 1000 */
    sampleMs?: number;
  };
}

/** A slot's job event: the Worker's, and the slot's index. */
export type SlotJobEvent = JobEvent & { slot: number };

/** The events of a WorkerPool (as WorkerEvents, with the slot on job events; 'scale' on a change). */
export interface WorkerPoolEvents {
  job: [SlotJobEvent];
  success: [SlotJobEvent];
  failure: [JobFailureEvent & { slot: number }];
  status: [string];
  notice: [string];
  error: [Error];
  /** The slot count changed (autoscale): from, to, why. */
  scale: [{ from: number; to: number; why: string }];
  stopped: [];
}

interface Parked {
  resolve: (v: { result: ManyReserved['result']; runAt: string } | null) => void;
  inFlight: boolean;
  cancelled: boolean;
}

/**
 * N job slots on one event loop (`--concurrency`). Same surface as a Worker where it matters
 * (start, stop, abortCurrentJob, pause, resume, describe, stopped, the job events), applied to
 * every slot. Installs no signal handlers.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  /** Slot 0's id (`host:pid:queues`), the pool's name in logs. */
  readonly id: string;
  /** Every slot's id that this pool may use, slot 0 first (as many as the maximum concurrency). */
  readonly ids: readonly string[];
  /** The host in every slot id. @defaultValue os.hostname() */
  readonly hostname: string;
  /** The pid in every slot id (this process's). */
  readonly pid: number;
  /** Fewest slots (the fixed count when not autoscaling). */
  readonly min: number;
  /** Most slots (= min when not autoscaling). */
  readonly max: number;
  /** The pool's own connection: reserve-many and the queue notifications. */
  readonly store: RedisStore;
  /** 'working' while any slot works; 'idle' when every slot waits; as a Worker's otherwise. */
  state: WorkerState = 'new';

  private readonly opts: WorkerPoolOptions;
  private readonly log: Logger;
  private readonly liveness: Liveness;
  private readonly slots: Array<Worker | null>;
  private readonly slotStops: Array<Promise<void> | null>;
  private readonly started = formatStarted(new Date());
  private readonly queueArgs: string[];
  private readonly relevantKey: ((key: string) => boolean) | null;
  private readonly parked = new Map<number, Parked>();
  private active = 0;
  private paused = false;
  private stopping: { graceful: boolean; reason: string } | null = null;
  private wake = new AbortController();
  private kick: (() => void) | null = null;
  private reserving: Promise<void> | null = null;
  private scaleTimer: NodeJS.Timeout | null = null;
  private scaleState: SlotScaleState = initialSlotScaleState();
  private readonly scaleCfg: SlotScaleConfig | null;
  private jobsSinceSample = 0;
  private statusTimer: NodeJS.Timeout | null = null;
  private resolveStopped!: () => void;
  /** The worker hooks, run once for the pool (its slots run none). */
  private readonly workerHooks: WorkerHookLists;
  private firstJobHooks: Promise<void> | null = null;
  private shutdownHooks: Promise<void> | null = null;
  /** queueEmpty was told for this idle spell (reset when a job is reserved). */
  private toldEmpty = false;
  /** Resolves when every slot has stopped and unregistered. */
  readonly stopped: Promise<void>;

  constructor(opts: WorkerPoolOptions) {
    super();
    const c = opts.concurrency;
    const range = typeof c === 'number' ? { min: c, max: c } : c;
    if (typeof range !== 'object' || range === null) throw new ConfigError('concurrency must be a number or {min, max}');
    for (const [k, v] of [
      ['min', range.min],
      ['max', range.max],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > MAX_SLOTS)
        throw new ConfigError(`concurrency ${k} must be a whole number from 1 to ${MAX_SLOTS}, got ${String(v)}`);
    }
    if (range.max < range.min) throw new ConfigError(`concurrency max (${range.max}) must be at least its min (${range.min})`);
    this.min = range.min;
    this.max = range.max;
    this.opts = opts;
    const specs = parseQueueList(opts.queues);
    this.hostname = (opts.hostname ?? osHostname()).trim();
    this.pid = opts.pid ?? process.pid;
    this.ids = Array.from({ length: this.max }, (_, i) =>
      formatSlotWorkerId(
        this.hostname,
        this.pid,
        specs.map(s => s.raw),
        i,
      ),
    );
    this.id = this.ids[0]!;
    this.log = (opts.logger ?? createLogger()).child(this.id);
    this.queueArgs = hasPatterns(specs)
      ? ['1', ...specs.map(s => (s.negate ? `-g${globToLuaPattern(s.pattern)}` : s.isGlob ? `+g${globToLuaPattern(s.pattern)}` : `+s${s.pattern}`))]
      : ['0', ...specs.map(s => s.pattern)];
    const nsKeys = new ResqueKeys(opts.namespace ?? 'resque');
    const watched = new Set(specs.map(q => nsKeys.queue(q.pattern)));
    this.relevantKey = hasPatterns(specs) ? null : (k: string) => watched.has(k);
    this.store = new RedisStore({
      connection: opts.connection ?? {},
      namespace: opts.namespace ?? 'resque',
      name: `pyres-ts:worker:${this.pid}:slots`,
      failureBackend: opts.failureBackend ?? 'redis',
    });
    this.store.on('connection-error', (e: Error) => this.log.warn(`Redis connection lost (${e.message}); reconnecting`));
    this.store.on('notice', (m: string) => this.log.warn(m));
    this.liveness = new Liveness({
      useThread: opts.livenessThread ?? true,
      store: this.store,
      logger: this.log,
      workerId: this.id,
      started: this.started,
      pidNamespace: this.pid === process.pid ? ownPidNamespace() : null,
      heartbeatInterval: opts.heartbeatInterval ?? 60,
      supervisedBy: opts.supervisedBy ?? null,
      onDirtyExit: opts.onDirtyExit ?? 'fail',
      failureBackend: opts.failureBackend ?? 'redis',
      connection: opts.connection ?? {},
      namespace: opts.namespace ?? 'resque',
      connectionName: `pyres-ts:worker:${this.pid}:liveness`,
      slots: this.ids.map(workerId => ({ workerId, started: this.started })),
    });
    // Every slot listens for its own re-registration and abort messages.
    this.liveness.setMaxListeners(2 * MAX_SLOTS + 10);
    this.liveness.on('notice', (m: string) => this.emitSafe('notice', m));
    this.liveness.on('launched', (mode: string) =>
      this.log.debug(
        `heartbeat every ${opts.heartbeatInterval ?? 60}s for every slot ${mode === 'thread' ? 'from the liveness thread' : 'from the main thread'}`,
      ),
    );
    this.slots = this.ids.map(() => null);
    this.slotStops = this.ids.map(() => null);
    this.scaleCfg = this.min === this.max ? null : { ...SLOT_SCALE_DEFAULTS, ...stripUndefined(opts.autoscale ?? {}), min: this.min, max: this.max };
    if (this.scaleCfg) {
      const { low, high } = this.scaleCfg;
      if (!(low > 0 && low < high && high <= 1)) throw new ConfigError(`autoscale marks must satisfy 0 < low < high <= 1, got low ${low}, high ${high}`);
    }
    this.stopped = new Promise(r => (this.resolveStopped = r));
    this.workerHooks = opts.jobs.workerHooks();
    // Validates every Worker option now (a bad option throws here, not at start).
    this.makeSlot(0);
  }

  /** Slots running now. */
  get concurrency(): number {
    return this.active;
  }

  /** The running slots' Workers, slot 0 first. */
  get workers(): Worker[] {
    return this.slots.slice(0, this.active).filter((w): w is Worker => w !== null);
  }

  /** Connects, prunes (slot 0), starts the liveness loop and `min` slots. Resolves once they registered. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ConfigError('a WorkerPool can be started once');
    this.setState('starting');
    for (let i = 0; i < this.max; i++) this.liveness.slot(i).setState('off');
    this.liveness.slot(0).setState('starting');
    try {
      try {
        await this.store.connect();
      } catch (e) {
        if (e instanceof AuthError) throw e;
        // As a Worker does: wait for Redis (a stop ends the wait).
        this.log.error(`${coerceError(e).message}; retrying until Redis answers`);
        if (!(await this.store.waitUntilReady(this.wake.signal))) return;
        this.log.info('Redis answers now');
      }
      if (this.stopping) return;
      await this.liveness.start({ deferThread: true });
      // Slot 0 first: it prunes dead workers before any slot of ours registers.
      await this.startSlot(0);
      await Promise.all(Array.from({ length: this.min - 1 }, (_, i) => this.startSlot(i + 1)));
      // The thread boots at the first job or soon after, not during the slots' registration.
      this.liveness.launchThreadLater(threadDeferMs(this.opts.heartbeatInterval ?? 60));
    } catch (e) {
      // A slot that cannot start (a refused password): stop what did, then say why.
      await this.stop({ graceful: false, reason: 'start failed' });
      throw e;
    }
    if (this.stopping) return;
    this.log.info(
      `${this.active} job slot${this.active === 1 ? '' : 's'} running${this.scaleCfg ? ` (autoscaling ${this.min}..${this.max} by event-loop utilisation)` : ''}`,
    );
    this.reserving = this.reserveLoop().catch(e => this.emitSafe('error', coerceError(e)));
    if (this.scaleCfg) this.startAutoscale();
    this.updateState();
  }

  /**
   * graceful (QUIT): every slot finishes its job, then stops. Otherwise (TERM/INT) every job is
   * aborted and gets termTimeout seconds; the unfinished are recorded as dirty exits. Every
   * slot unregisters. Idempotent; a second non-graceful call gives up on the jobs at once.
   */
  stop(opts: { graceful?: boolean; reason?: string } = {}): Promise<void> {
    const graceful = opts.graceful ?? true;
    const reason = opts.reason ?? (graceful ? 'stop' : 'shutdown');
    const first = this.stopping === null;
    if (first || !graceful) this.stopping = { graceful: first ? graceful : false, reason };
    if (first && this.state !== 'new') this.shutdownHooks = this.runWorkerHooks('shutdown');
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    this.scaleTimer = null;
    for (const w of this.slots) if (w) void w.stop({ graceful, reason });
    this.wake.abort();
    this.kick?.();
    if (first) {
      if (this.state === 'new') {
        this.setState('stopped');
        void this.store.close();
        this.resolveStopped();
        this.emitSafe('stopped');
      } else void this.finishStop();
    }
    return this.stopped;
  }

  /**
   * USR1: aborts every slot's job (or, with `slot`, that slot's only; with `seq` too, only if
   * that job still runs). Returns whether any job was aborted.
   */
  abortCurrentJob(reason = 'SIGUSR1', opts: { abandon?: boolean; slot?: number; seq?: number; failAs?: { exception: string; message: string } } = {}): boolean {
    const { slot, ...rest } = opts;
    if (slot !== undefined) return this.slots[slot]?.abortCurrentJob(reason, rest) ?? false;
    let any = false;
    for (const w of this.slots) if (w?.abortCurrentJob(reason, rest)) any = true;
    return any;
  }

  /** USR2: no slot reserves anything new until resume(). Running jobs go on. */
  pause(): void {
    this.paused = true;
    for (const w of this.slots) w?.pause();
    this.updateState();
  }

  /** CONT. */
  resume(): void {
    this.paused = false;
    for (const w of this.slots) w?.resume();
    this.updateState();
  }

  /** Whether pause() holds (until resume()). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** For a process title: `Processing 3/20 slots [p10]` or `Waiting for p10,p9 (20 slots)`. */
  describe(): string {
    const ws = this.workers;
    const n = ws.length;
    const busy = ws.filter(w => w.state === 'working').length;
    switch (this.state) {
      case 'working':
        return `Processing ${busy}/${n} slots`;
      case 'paused':
        return `Paused (${n} slots, ${busy} busy)`;
      case 'idle':
        return `Waiting for ${parseQueueList(this.opts.queues)
          .map(s => s.raw)
          .join(',')} (${n} slot${n === 1 ? '' : 's'})`;
      case 'stopping':
        return `Shutting down${busy ? ` (${busy} slots busy)` : ''}`;
      case 'stopped':
        return 'Stopped';
      default:
        return 'Starting';
    }
  }

  // ---------------------------------------------------------------------------------------

  private makeSlot(index: number): Worker {
    const hooks: SlotHooks = {
      index,
      started: this.started,
      liveness: this.liveness,
      idle: (i, signal) => this.park(i, signal),
      firstJob: () => (this.firstJobHooks ??= this.runWorkerHooks('beforeFirstJob')),
    };
    const { concurrency: _c, autoscale: _a, supervisedBy: _s, ...workerOpts } = this.opts;
    const w = new Worker({ ...workerOpts, hostname: this.hostname, pid: this.pid, prune: index === 0 && (this.opts.prune ?? true), slot: hooks });
    this.slots[index] = w;
    return w;
  }

  private async startSlot(index: number): Promise<void> {
    if (this.stopping) return;
    const w = this.slots[index] ?? this.makeSlot(index);
    this.active = Math.max(this.active, index + 1);
    w.on('job', e => {
      this.jobsSinceSample += 1;
      this.emitSafe('job', { ...e, slot: index });
    });
    w.on('success', e => this.emitSafe('success', { ...e, slot: index }));
    w.on('failure', e => this.emitSafe('failure', { ...e, slot: index }));
    w.on('notice', m => this.emitSafe('notice', m));
    w.on('error', e => this.emitSafe('error', e));
    w.on('status', () => this.updateState());
    if (this.paused) w.pause();
    this.slotStops[index] = w.stopped;
    // A slot that stopped on its own (--drain found every queue empty): once every running
    // slot has, the pool stops too.
    void w.stopped.then(() => {
      if (this.stopping || this.scaling) return;
      if (this.workers.every(x => x.state === 'stopped')) void this.stop({ graceful: true, reason: 'every slot stopped' });
    });
    await w.start();
  }

  /** A slot found every queue empty: it waits here for a job the pool reserves for it. */
  private park(index: number, signal: AbortSignal): Promise<{ result: ManyReserved['result']; runAt: string } | null> {
    return new Promise(resolve => {
      if (signal.aborted || this.stopping) return resolve(null);
      const p: Parked = { resolve, inFlight: false, cancelled: false };
      this.parked.set(index, p);
      // Every running slot found every queue empty: the pool's queueEmpty hooks, once per idle spell.
      if (!this.toldEmpty && this.parked.size >= this.active && !this.paused) {
        this.toldEmpty = true;
        void this.runWorkerHooks('queueEmpty');
      }
      signal.addEventListener(
        'abort',
        () => {
          if (this.parked.get(index) !== p) return;
          // A reservation in flight may be for this slot: it gets it (or null) when the reply comes.
          if (p.inFlight) p.cancelled = true;
          else {
            this.parked.delete(index);
            resolve(null);
          }
        },
        { once: true },
      );
      this.kick?.();
    });
  }

  /** Waits until a slot parks (or the pool stops). */
  private nextPark(): Promise<void> {
    return new Promise(r => {
      this.kick = () => {
        this.kick = null;
        r();
      };
    });
  }

  /** Reserves for every parked slot in one round trip, then waits on the queues for those left. */
  private async reserveLoop(): Promise<void> {
    const blockMs = (this.opts.blockTimeout ?? 5) * 1000;
    let armed = false;
    while (!this.stopping) {
      const want = [...this.parked.entries()].filter(([, p]) => !p.cancelled && !p.inFlight);
      if (want.length === 0) {
        await this.nextPark();
        continue;
      }
      const seq = this.store.notificationCount;
      const runAt = formatRunAt(new Date());
      for (const [, p] of want) p.inFlight = true;
      let res: 'paused' | ManyReserved[] | Error;
      try {
        res = await this.store.reserveMany(
          want.map(([i]) => this.ids[i]!),
          { runAt, queueArgs: this.queueArgs },
        );
      } catch (e) {
        res = coerceError(e);
      }
      const served = new Set<number>();
      if (Array.isArray(res)) {
        for (const got of res) {
          const entry = want[got.index];
          if (!entry) continue;
          const [slot, p] = entry;
          served.add(slot);
          this.parked.delete(slot);
          p.resolve({ result: got.result, runAt });
        }
      }
      for (const [slot, p] of want) {
        if (served.has(slot)) continue;
        p.inFlight = false;
        // Paused, failed or cancelled: the slot looks again itself (its own step sees a job
        // reserved by a reply that was lost as 'held', and a pause as 'paused').
        if (p.cancelled || !Array.isArray(res)) {
          this.parked.delete(slot);
          p.resolve(null);
        }
      }
      if (res instanceof Error) {
        // The slots look again themselves (their own step retries with its own backoff); this
        // loop waits a second before it serves parked slots again.
        this.log.error(`reserve for idle slots failed: ${res.message}`);
        await sleep(1000, this.freshWake());
        continue;
      }
      if (served.size > 0) this.toldEmpty = false;
      if (res === 'paused' || served.size === want.length) continue;
      // Every queue is empty for the slots left: wait on the queues (or a new parker).
      if (!armed || !this.store.notificationsArmed) {
        armed = await this.store.armQueueNotifications();
        if (armed) continue;
        await sleep(1000, this.freshWake());
        continue;
      }
      const r = await this.store.waitForQueueChange(this.relevantKey, blockMs, this.freshWake(), seq);
      if (r === 'timeout') armed = await this.store.armQueueNotifications();
    }
    for (const [slot, p] of this.parked) {
      if (p.inFlight) continue;
      this.parked.delete(slot);
      p.resolve(null);
    }
    if (armed) await this.store.disarmQueueNotifications();
  }

  private freshWake(): AbortSignal {
    if (this.wake.signal.aborted && !this.stopping) this.wake = new AbortController();
    return this.wake.signal;
  }

  private startAutoscale(): void {
    const cfg = this.scaleCfg!;
    const every = this.opts.autoscale?.sampleMs ?? 1000;
    let last = performance.eventLoopUtilization();
    this.scaleTimer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const elu = performance.eventLoopUtilization(now, last);
      last = now;
      if (this.stopping || this.scaling) return;
      const ws = this.workers;
      const d = decideSlots(cfg, this.scaleState, {
        now: performance.now(),
        utilization: elu.utilization,
        active: this.active,
        idle: ws.filter(w => w.state !== 'working').length,
        gotJobs: this.jobsSinceSample > 0 && this.parked.size === 0,
      });
      this.jobsSinceSample = 0;
      this.scaleState = d.state;
      if (d.next === this.active) {
        this.log.debug(`autoscale slots: ${this.active}: ${d.why}`);
        return;
      }
      void this.scaleTo(d.next, d.why);
    }, every);
    this.scaleTimer.unref();
  }

  private scaling = false;
  /** Slots an autoscale shrink stopped that are still finishing their job (index -> their stop). */
  private readonly draining = new Map<number, Promise<void>>();

  /**
   * Grows by starting slots active..n-1, or shrinks by stopping the highest slots gracefully.
   * A shrink does not wait for the stopped slots' jobs: autoscale goes on deciding meanwhile (a
   * ten-minute job must not freeze it), and a grow stops below the first slot still finishing
   * (its id is that slot's, so it is not reused before that slot unregistered).
   */
  private async scaleTo(target: number, why: string): Promise<void> {
    const from = this.active;
    let n = target;
    if (n > from) {
      for (const i of this.draining.keys()) if (i >= from && i < n) n = i;
      if (n <= from) {
        this.log.debug(`autoscale slots: ${from}: not growing to ${target} while slot ${n} finishes its job`);
        return;
      }
    }
    this.scaling = true;
    this.log.info(`autoscale slots: ${from} -> ${n}: ${why}`);
    this.emitSafe('scale', { from, to: n, why });
    try {
      if (n > from) {
        await Promise.all(Array.from({ length: n - from }, (_, i) => this.startSlot(from + i)));
      } else {
        this.active = n;
        for (let i = n; i < from; i++) {
          const w = this.slots[i];
          if (!w) continue;
          const done = w
            .stop({ graceful: true, reason: 'autoscale' })
            .catch((e: unknown) => this.log.warn(`autoscale slots: slot ${i}: ${coerceError(e).message}`))
            .then(() => {
              this.draining.delete(i);
              if (this.active <= i && this.slots[i] === w) {
                this.slots[i] = null;
                this.slotStops[i] = null;
              }
              this.updateState();
            });
          this.draining.set(i, done);
        }
      }
    } catch (e) {
      this.log.warn(`autoscale slots: ${coerceError(e).message}`);
    } finally {
      this.scaling = false;
      this.updateState();
    }
  }

  private async finishStop(): Promise<void> {
    this.setState('stopping');
    // Slots that were never started stop at once; the others unregister on their own.
    await Promise.all(
      this.slots.map((w, i) => {
        if (!w) return Promise.resolve();
        return this.slotStops[i] ?? (w.state === 'new' ? w.stop() : Promise.resolve());
      }),
    );
    this.kick?.();
    await this.reserving?.catch(() => undefined);
    await this.liveness.stop().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    await this.shutdownHooks;
    await this.runWorkerHooks('workerExit');
    this.setState('stopped');
    this.emitSafe('stopped');
    this.resolveStopped();
  }

  /** The pool's state from its slots': working if any works. Status events coalesced (50 ms). */
  private updateState(): void {
    if (this.state === 'new' || this.state === 'stopped') return;
    const ws = this.workers;
    const s: WorkerState = this.stopping
      ? 'stopping'
      : ws.some(w => w.state === 'working') || [...this.draining.keys()].some(i => this.slots[i]?.state === 'working')
        ? 'working'
        : this.state === 'starting' && ws.length < this.min
          ? 'starting'
          : this.paused
            ? 'paused'
            : 'idle';
    if (s === this.state && s !== 'working') return;
    this.state = s;
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = null;
      this.emitSafe('status', this.describe());
    }, 50);
  }

  /** Runs one kind of worker hooks; a hook's error is logged. Never throws. */
  private runWorkerHooks(kind: keyof WorkerHookLists): Promise<void> {
    const list = this.workerHooks[kind];
    if (list.length === 0) return Promise.resolve();
    return runWorkerHooks(list, { workerId: this.id }, (e, i) => this.log.warn(`${kind} hook #${i + 1} threw: ${coerceError(e).message}`));
  }

  private setState(s: WorkerState): void {
    this.state = s;
    this.emitSafe('status', this.describe());
  }

  private emitSafe<E extends keyof WorkerPoolEvents>(event: E, ...args: WorkerPoolEvents[E]): void {
    try {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (e) {
      this.log.error(`a '${event}' listener threw: ${coerceError(e).message}`);
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
