/**
 * Liveness off the job's thread. A Worker's heartbeat, its "am I still registered?" check and,
 * for a master's child, the watch on the master run in a worker_threads thread with its own
 * Redis connection (livenessThread.ts), so a job that blocks the event loop (a sync parser,
 * execFileSync, a CPU loop) never stops them, as Ruby's heartbeat thread does.
 *
 * The main thread tells the thread what it is doing through a SharedArrayBuffer, written
 * without any await: state, the current job's seq, its start time and its own timeout.
 *
 * The same loop (LivenessCore) runs on the main thread when the thread is turned off
 * (`livenessThread: false`), cannot start, or crashes.
 */
import { builtEntry } from '../builtEntry';
import { EventEmitter } from 'node:events';
import { writeSync } from 'node:fs';
import { Worker as Thread } from 'node:worker_threads';
import { coerceError } from '../errors';
import type { Logger } from '../logging/logger';
import type { ConnectionOptions } from '../store/connection';
import type { FailureBackend } from '../protocol/keys';
import type { DirtyExitPolicy, RedisStore } from '../store/redisStore';
import { unregisterDeadWorker } from './prune';

/** What the Worker passes as `supervisedBy` (a master's child). */
export interface SupervisedBy {
  /** The master's pid: when process.ppid is no longer this, the master is gone. */
  masterPid: number;
  /** The master's --job-timeout, seconds (a job's own `timeout` wins); null = none. */
  jobTimeout: number | null;
  /** Seconds between a timeout's abort and the kill. */
  timeoutGrace: number;
  /** With no job timeout: seconds a job may go on after the master went away. */
  termTimeout: number;
}

export type LivenessStateName = 'starting' | 'idle' | 'working' | 'stopping' | 'off';
const STATE_CODES: Record<LivenessStateName, number> = { starting: 0, idle: 1, working: 2, stopping: 3, off: 4 };
export const STATE_STARTING = 0;
export const STATE_IDLE = 1;
export const STATE_WORKING = 2;
export const STATE_STOPPING = 3;
/** How long a self-kill waits for a heartbeat in flight before it records (the beat may hang on a silent Redis). */
const BEAT_SETTLE_MS = 1000;

/**
 * How long after registering a worker starts its deferred liveness thread when no job came
 * first: 1 s, or half the heartbeat interval when that is shorter (the thread's first own beat
 * then still comes within about one and a half intervals of the main thread's).
 */
export function threadDeferMs(heartbeatIntervalS: number): number {
  return Math.min(1000, (heartbeatIntervalS * 1000) / 2);
}

/** A job slot that does not run (autoscaled away, or not started yet): no heartbeat, no check. */
export const STATE_OFF = 4;

/**
 * Per job slot: Int32 [0] state, [1] job seq; Float64 [1] job start (Date.now ms), [2] the job's
 * own timeout (s, NaN = none). Slot i's record starts at byte i * SHARED_BYTES.
 */
export const SHARED_BYTES = 32;

export interface SharedView {
  readonly ints: Int32Array;
  readonly floats: Float64Array;
}

export function sharedView(sab: SharedArrayBuffer, slot = 0): SharedView {
  const at = slot * SHARED_BYTES;
  return { ints: new Int32Array(sab, at, 2), floats: new Float64Array(sab, at + 8, 3) };
}

/** Every slot's view of a shared buffer (one per SHARED_BYTES). */
export function sharedViews(sab: SharedArrayBuffer): SharedView[] {
  return Array.from({ length: Math.max(1, Math.floor(sab.byteLength / SHARED_BYTES)) }, (_, i) => sharedView(sab, i));
}

export interface SharedSnapshot {
  state: number;
  seq: number;
  since: number;
  timeout: number | null;
}

export function readShared(v: SharedView): SharedSnapshot {
  // seq is written last when a job starts: read it before and after for a consistent view.
  for (;;) {
    const seq = Atomics.load(v.ints, 1);
    const state = Atomics.load(v.ints, 0);
    const since = v.floats[1]!;
    const t = v.floats[2]!;
    if (Atomics.load(v.ints, 1) === seq) return { state, seq, since, timeout: Number.isNaN(t) ? null : t };
  }
}

/** Messages from the loop to the Worker. */
export type LivenessMessage =
  | { type: 'ready' }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  | { type: 'reregistered'; slot: number; seq: number; state: number; msg: string }
  | { type: 'abort'; slot: number; seq: number; reason: string; failAs: { exception: string; message: string } }
  | { type: 'stopped' };

/** Everything the loop needs, serialisable (it is the thread's workerData). */
export interface LivenessConfig {
  workerId: string;
  /** worker:<id>:started, for a re-registration. */
  started: string;
  pidNamespace: string | null;
  heartbeatInterval: number;
  supervisedBy: SupervisedBy | null;
  onDirtyExit: DirtyExitPolicy;
  /** For the thread's own RedisStore: where it writes failure records. */
  failureBackend: FailureBackend;
  /** For the thread's own RedisStore. */
  connection: ConnectionOptions;
  namespace: string;
  connectionName: string;
  /**
   * Job slots (`--concurrency`): every slot's id and `started`, slot 0 first (= workerId). One
   * loop heartbeats and checks them all. Absent: the one slot workerId.
   */
  slots?: Array<{ workerId: string; started: string }>;
}

/** How often the master watch looks (no Redis involved). */
const SUPERVISE_EVERY_MS = 250;
/** Longest wait for the failure record before the self-kill goes ahead anyway. */
const RECORD_BOUND_MS = 5000;

/**
 * The liveness loop, on whichever thread it runs: a heartbeat at start and every
 * heartbeatInterval, re-registration when a prune removed the live worker, and the master watch.
 */
export class LivenessCore {
  private beatTimer: NodeJS.Timeout | null = null;
  private superviseTimer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private masterGoneAt: number | null = null;
  private readonly abortSentFor: number[];
  private killing = false;
  private readonly slots: Array<{ workerId: string; started: string }>;

  constructor(
    private readonly c: LivenessConfig,
    private readonly store: RedisStore,
    private readonly shared: SharedView[],
    private readonly send: (m: LivenessMessage) => void,
  ) {
    this.slots = c.slots && c.slots.length > 0 ? c.slots : [{ workerId: c.workerId, started: c.started }];
    this.abortSentFor = this.slots.map(() => -1);
  }

  /** Writes the first heartbeat (of every slot that runs), then starts the timers. */
  async start(opts: { firstBeat?: boolean } = {}): Promise<void> {
    // The master watch first: it needs no Redis to see the master gone or a job over its time.
    this.startSupervision();
    // The thread's loop skips it: the main thread wrote it before registering, and a beat
    // written now, late, could race a slot that is already unregistering.
    const firstBeat = opts.firstBeat ?? true;
    for (let i = 0; i < this.slots.length && !this.stopped && firstBeat; i++) {
      if (readShared(this.shared[i]!).state === STATE_OFF) continue;
      try {
        await this.store.heartbeat(this.slots[i]!.workerId);
      } catch (e) {
        this.send({ type: 'log', level: 'warn', msg: `heartbeat failed: ${coerceError(e).message}` });
        break;
      }
    }
    if (this.stopped) return;
    this.beatTimer = setInterval(() => void this.beat(), this.c.heartbeatInterval * 1000);
  }

  /**
   * Starts the master watch (a master's child only), once. The thread calls it before it
   * connects: a job that blocks the loop from its first instant, with Redis gone silent while
   * the thread still connects, is still bounded by its timeout.
   */
  startSupervision(): void {
    if (this.c.supervisedBy && !this.superviseTimer && !this.stopped) this.superviseTimer = setInterval(() => void this.supervise(), SUPERVISE_EVERY_MS);
  }

  /** Stops the timers and waits for a beat in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    if (this.superviseTimer) clearInterval(this.superviseTimer);
    this.beatTimer = this.superviseTimer = null;
    await this.beating;
  }

  private beat(): Promise<void> {
    if (this.beating || this.stopped || this.killing) return this.beating ?? Promise.resolve();
    this.beating = this.beatOnce().finally(() => (this.beating = null));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    for (let i = 0; i < this.slots.length && !this.stopped; i++) await this.beatSlot(i);
  }

  private async beatSlot(slot: number): Promise<void> {
    const id = this.slots[slot]!.workerId;
    const shared = this.shared[slot]!;
    try {
      const s = readShared(shared);
      if (s.state === STATE_OFF) return;
      // Before registration (starting) membership means nothing yet; while stopping it goes away on purpose.
      if (s.state === STATE_STARTING || s.state === STATE_STOPPING) {
        await this.store.heartbeat(id);
        return;
      }
      const member = await this.store.heartbeatAndCheck(id);
      if (member || this.stopped) return;
      const now = readShared(shared);
      if (now.state === STATE_STOPPING || now.state === STATE_STARTING || now.state === STATE_OFF) return;
      await this.store.ensureRegistered(id, this.slots[slot]!.started, this.c.pidNamespace);
      this.send({
        type: 'reregistered',
        slot,
        seq: now.seq,
        state: now.state,
        msg: `this live worker was missing from \`workers\` (pruned by another worker?); re-registered it${now.state === STATE_WORKING ? ` while working on job #${now.seq}` : ''}`,
      });
    } catch (e) {
      this.send({ type: 'log', level: 'warn', msg: `heartbeat failed: ${coerceError(e).message}` });
    }
  }

  private async supervise(): Promise<void> {
    const sup = this.c.supervisedBy;
    if (!sup || this.killing || this.stopped) return;
    if (process.ppid === sup.masterPid) return;
    const now = Date.now();
    if (this.masterGoneAt === null) {
      this.masterGoneAt = now;
      this.send({
        type: 'log',
        level: 'warn',
        msg: `the master (pid ${sup.masterPid}) is gone; the current job is bounded by ${sup.jobTimeout !== null ? `the job timeout (${sup.jobTimeout}s + ${sup.timeoutGrace}s grace)` : `--term-timeout (${sup.termTimeout}s)`}`,
      });
    }
    let kill: Victim | null = null;
    for (let slot = 0; slot < this.slots.length && !kill; slot++) {
      const s = readShared(this.shared[slot]!);
      if (s.state !== STATE_WORKING) continue;
      const limit = s.timeout ?? sup.jobTimeout;
      const ranMs = now - s.since;
      if (limit !== null) {
        const failAs = {
          exception: 'JobTimeoutError',
          message: `Job exceeded its ${limit}s timeout while its master (pid ${sup.masterPid}) was gone`,
        };
        if (ranMs > limit * 1000 && this.abortSentFor[slot] !== s.seq) {
          // Ask first: a job that honours its signal ends as an ordinary JobTimeoutError failure.
          this.abortSentFor[slot] = s.seq;
          this.send({ type: 'abort', slot, seq: s.seq, reason: `job timeout (${limit}s), master gone`, failAs });
        }
        if (ranMs > (limit + sup.timeoutGrace) * 1000) {
          kill = {
            slot,
            seq: s.seq,
            exception: 'JobTimeoutError',
            message: `${failAs.message}; worker ${process.pid} killed itself (SIGKILL) after a ${sup.timeoutGrace}s grace`,
            policy: 'fail',
          };
        }
      } else if (now - this.masterGoneAt > sup.termTimeout * 1000) {
        kill = {
          slot,
          seq: s.seq,
          exception: 'Resque::DirtyExit',
          message: `master gone; job still running after ${sup.termTimeout}s`,
          policy: this.c.onDirtyExit,
        };
      }
    }
    if (kill) await this.killSelf(kill);
  }

  /**
   * Records the running job as failed (only if it is still the one running), and every other
   * slot's running job as a dirty exit (the kill ends them too), then SIGKILLs this process.
   */
  private async killSelf(v: Victim): Promise<void> {
    const { slot, seq, exception, message, policy } = v;
    this.killing = true;
    // No heartbeat may land after the records below (a late HSET would leave a dead worker's
    // heartbeat, a late membership check would re-register it): stop the beats, wait for one in flight.
    const beating = this.beatTimer !== null;
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = null;
    // Bounded: on a silent Redis the beat's command may hang, and the self-kill must not.
    if (this.beating) await Promise.race([this.beating, new Promise<void>(r => setTimeout(r, BEAT_SETTLE_MS).unref())]);
    let recorded: string | null | 'timeout' = null;
    const others: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < this.slots.length; i++) {
        const o = readShared(this.shared[i]!);
        if (i === slot || o.state !== STATE_WORKING) continue;
        others.push(
          unregisterDeadWorker(
            this.store,
            this.slots[i]!.workerId,
            'Resque::DirtyExit',
            () => `${message} (another job slot's job; this one was killed with it)`,
            this.c.onDirtyExit,
            {
              requireHeld: true,
              stillCurrent: () => {
                const now = readShared(this.shared[i]!);
                return now.seq === o.seq && now.state === STATE_WORKING;
              },
            },
          ).catch(() => null),
        );
      }
      recorded = await Promise.race([
        unregisterDeadWorker(this.store, this.slots[slot]!.workerId, exception, () => message, policy, {
          requireHeld: true,
          stillCurrent: () => {
            const now = readShared(this.shared[slot]!);
            return now.seq === seq && now.state === STATE_WORKING;
          },
        }),
        new Promise<'timeout'>(r => setTimeout(() => r('timeout'), RECORD_BOUND_MS).unref()),
      ]);
      await Promise.race([Promise.all(others), new Promise<void>(r => setTimeout(r, RECORD_BOUND_MS).unref())]);
    } catch (e) {
      stderrLine(`pyres-ts worker ${process.pid}: recording the job before the self-kill failed: ${coerceError(e).message}`);
      recorded = 'timeout';
    }
    const s = readShared(this.shared[slot]!);
    if (recorded === null && others.length === 0 && (s.seq !== seq || s.state !== STATE_WORKING)) {
      // The job ended between the decision and the record: nothing to kill for.
      this.killing = false;
      if (beating && !this.stopped) this.beatTimer = setInterval(() => void this.beat(), this.c.heartbeatInterval * 1000);
      return;
    }
    stderrLine(
      `pyres-ts worker ${process.pid}: ${message}; ${recorded === 'timeout' ? 'the failure could not be recorded in time (worker:<id> keeps the job for a prune)' : `recorded as ${exception}${policy === 'requeue' && exception !== 'JobTimeoutError' ? ' (requeued)' : ''}`}`,
    );
    process.kill(process.pid, 'SIGKILL');
  }
}

/** A slot whose job the master watch ends with a self-kill. */
interface Victim {
  slot: number;
  seq: number;
  exception: string;
  message: string;
  policy: DirtyExitPolicy;
}

/** One job slot's side of the shared state (Liveness.slot(i)). */
export interface LivenessSlot {
  setState(s: LivenessStateName): void;
  jobStarted(seq: number, since: number, timeout: number | null): void;
}

/** Straight to fd 2: a thread's process.stderr goes through the main thread, which may be blocked. */
function stderrLine(s: string): void {
  try {
    writeSync(2, `${new Date().toISOString()} WARN  ${s}\n`);
  } catch {
    /* nowhere to write */
  }
}

/** The thread's entry, from dist (also when this module runs from src under ts-jest). */
export function livenessThreadEntry(): string {
  return builtEntry('worker/livenessThread.js');
}

export interface LivenessOptions extends LivenessConfig {
  /** Run the loop in a worker_threads thread. false: on this thread (the fallback). */
  useThread: boolean;
  /** The Worker's store, for the loop on this thread. */
  store: RedisStore;
  logger: Logger;
}

const THREAD_START_MS = 5000;
const THREAD_STOP_MS = 1000;

/**
 * The main-thread side: owns the shared state, starts the thread (or the loop here), relays
 * its messages. Events: 'reregistered' ({seq, state, msg}), 'abort' ({seq, reason, failAs}),
 * 'launched' (the mode, once a deferred thread was started or fell back to this thread),
 * 'notice' (string; the thread crashed or fell back).
 */
export class Liveness extends EventEmitter {
  private readonly sab: SharedArrayBuffer;
  private readonly views: SharedView[];
  private readonly view: SharedView;
  private thread: Thread | null = null;
  private local: LivenessCore | null = null;
  private stopping = false;
  private threadStopped: (() => void) | null = null;

  constructor(private readonly o: LivenessOptions) {
    super();
    this.sab = new SharedArrayBuffer(SHARED_BYTES * Math.max(1, o.slots?.length ?? 1));
    this.views = sharedViews(this.sab);
    this.view = this.views[0]!;
    for (const v of this.views) v.floats[2] = Number.NaN;
  }

  /** Job slot `i`'s state writer (slot 0 is what setState/jobStarted write). */
  slot(i: number): LivenessSlot {
    const v = this.views[i];
    if (!v) throw new Error(`no liveness slot ${i}`);
    return {
      setState: s => Atomics.store(v.ints, 0, STATE_CODES[s]),
      jobStarted: (seq, since, timeout) => {
        writeJobStarted(v, seq, since, timeout);
        if (this.deferred) this.launchNow();
      },
    };
  }

  /** 'thread', 'main' (the loop runs on this thread) or 'off' (not started or stopped). */
  get mode(): 'thread' | 'main' | 'off' {
    return this.thread ? 'thread' : this.local ? 'main' : 'off';
  }

  setState(s: LivenessStateName): void {
    Atomics.store(this.view.ints, 0, STATE_CODES[s]);
  }

  jobStarted(seq: number, since: number, timeout: number | null): void {
    writeJobStarted(this.view, seq, since, timeout);
    if (this.deferred) this.launchNow();
  }

  /**
   * Resolves once the first heartbeat is written. With the thread, that first heartbeat is
   * written from this thread's store (already connected) and the thread boots meanwhile (an
   * isolate, its modules, its own connection: 100-300 ms on a busy host), so registration never
   * waits for it; the thread's own first beat follows, then it beats alone. A thread that cannot
   * start hands the loop to this thread, as before.
   *
   * `deferThread`: the thread is started by `launchThread()` (a Worker calls it right after it
   * registered, so the thread's boot does not compete with the registration); until then only
   * the first heartbeat is written.
   */
  async start(opts: { deferThread?: boolean } = {}): Promise<void> {
    if (this.o.useThread) {
      // Deferred from now on: a job that starts (any slot's jobStarted) launches the thread.
      this.deferred = !!opts.deferThread;
      await this.firstBeat();
      if (this.stopping) return;
      if (!opts.deferThread) await this.launchThread();
      return;
    }
    this.threadUpResolve(false);
    await this.startLocal();
  }

  /**
   * Starts the deferred thread after `ms`, or at the first job start (any slot's jobStarted),
   * whichever comes first: a worker that has just registered is idle, and its thread's boot
   * (an isolate, its modules, its own connection: ~120 ms of CPU) then does not compete with
   * the process's own start, or with its siblings' in a master's pool. A job still starts
   * watched: jobStarted spawns the thread before the job's code runs. Does nothing when the
   * thread is off, already started, or the loop stops.
   */
  launchThreadLater(ms: number): void {
    if (!this.deferred || this.laterTimer) return;
    this.laterTimer = setTimeout(() => this.launchNow(), Math.max(0, ms));
    this.laterTimer.unref();
  }

  /** start({ deferThread: true }) left the thread for later, and nothing launched it yet. */
  private deferred = false;
  private laterTimer: NodeJS.Timeout | null = null;

  private launchNow(): void {
    this.launchThread().catch(e => this.o.logger.warn(`main-thread heartbeat failed: ${coerceError(e).message}`));
  }

  /**
   * Starts the thread that start({ deferThread: true }) left for later (at once, whatever the
   * event loop does next: a job that blocks it from its first instant is still watched). A
   * thread that cannot start hands the loop to this thread. Does nothing otherwise.
   */
  async launchThread(): Promise<void> {
    this.deferred = false;
    if (this.laterTimer) clearTimeout(this.laterTimer);
    this.laterTimer = null;
    if (!this.o.useThread || this.thread || this.local || this.stopping) return;
    let t: Thread;
    try {
      t = this.spawnThread();
    } catch (e) {
      this.threadFailed(e);
      this.threadUpResolve(false);
      await this.startLocal();
      this.emit('launched', this.mode);
      return;
    }
    this.emit('launched', this.mode);
    void this.awaitThread(t)
      .then(
        () => true,
        e => {
          if (this.thread === t) this.thread = null;
          if (this.stopping) return false;
          this.threadFailed(e);
          return this.startLocal().then(
            () => false,
            err => (this.o.logger.warn(`main-thread heartbeat failed: ${coerceError(err).message}`), false),
          );
        },
      )
      .then(up => this.threadUpResolve(up));
  }

  /**
   * Resolves once the thread wrote its first heartbeat (true), or the loop runs on this thread
   * or stopped before the thread was up (false). A deferred thread: after it was launched.
   */
  get threadReady(): Promise<boolean> {
    return this.threadUp;
  }

  private threadUpResolve!: (up: boolean) => void;
  private readonly threadUp = new Promise<boolean>(r => (this.threadUpResolve = r));

  private threadFailed(e: unknown): void {
    this.notice(
      `the liveness thread did not start (${coerceError(e).message}); heartbeats run on the main thread (a job that blocks the event loop will stop them)`,
    );
  }

  /** The first heartbeat of every slot that runs, from this thread's store (as LivenessCore.start writes it). */
  private async firstBeat(): Promise<void> {
    const ids = this.o.slots && this.o.slots.length > 0 ? this.o.slots.map(s => s.workerId) : [this.o.workerId];
    for (let i = 0; i < ids.length; i++) {
      if (Atomics.load(this.views[i]!.ints, 0) === STATE_OFF) continue;
      try {
        await this.o.store.heartbeat(ids[i]!);
      } catch (e) {
        this.o.logger.warn(`heartbeat failed: ${coerceError(e).message}`);
        break;
      }
    }
  }

  private spawnThread(): Thread {
    const { store: _store, logger: _logger, useThread: _u, ...config } = this.o;
    const t = new Thread(livenessThreadEntry(), {
      workerData: { config, sab: this.sab, firstBeatDone: true },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 },
    });
    // Ours from now on: a stop while it boots asks it (then ends it) like a running one.
    this.thread = t;
    t.unref();
    return t;
  }

  private awaitThread(t: Thread): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        void t.terminate();
        reject(new Error(`no first heartbeat within ${THREAD_START_MS / 1000}s`));
      }, THREAD_START_MS);
      timer.unref();
      t.on('message', (m: LivenessMessage) => {
        if (m.type === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        this.onMessage(m);
      });
      t.on('error', (e: Error) => {
        clearTimeout(timer);
        if (!ready) return reject(e);
        if (this.thread === t) this.thread = null;
        if (this.stopping) return;
        this.notice(`the liveness thread crashed (${e.message}); heartbeats go on from the main thread`);
        void this.startLocal().catch(err => this.o.logger.warn(`main-thread heartbeat failed: ${coerceError(err).message}`));
      });
      t.on('exit', code => {
        clearTimeout(timer);
        const wasOurs = this.thread === t;
        if (wasOurs) this.thread = null;
        this.threadStopped?.();
        if (!ready) return reject(new Error(`the thread exited with code ${code} before its first heartbeat`));
        if (wasOurs && !this.stopping) {
          this.notice(`the liveness thread exited (code ${code}); heartbeats go on from the main thread`);
          void this.startLocal().catch(err => this.o.logger.warn(`main-thread heartbeat failed: ${coerceError(err).message}`));
        }
      });
    });
  }

  private async startLocal(): Promise<void> {
    if (this.local || this.stopping) return;
    const core = new LivenessCore(this.o, this.o.store, this.views, m => this.onMessage(m));
    this.local = core;
    await core.start();
  }

  private onMessage(m: LivenessMessage): void {
    switch (m.type) {
      case 'log':
        this.o.logger[m.level](m.msg);
        break;
      case 'reregistered':
        this.emit('reregistered', { slot: m.slot, seq: m.seq, state: m.state, msg: m.msg });
        break;
      case 'abort':
        this.emit('abort', { slot: m.slot, seq: m.seq, reason: m.reason, failAs: m.failAs });
        break;
      default:
        break;
    }
  }

  private notice(msg: string): void {
    this.o.logger.warn(msg);
    this.emit('notice', msg);
  }

  /** Stops the loop (the thread: asked, awaited for at most ~1 s, then terminated). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deferred = false;
    if (this.laterTimer) clearTimeout(this.laterTimer);
    this.laterTimer = null;
    for (const v of this.views) if (Atomics.load(v.ints, 0) !== STATE_OFF) Atomics.store(v.ints, 0, STATE_STOPPING);
    const t = this.thread;
    if (t) {
      const gone = new Promise<void>(r => (this.threadStopped = r));
      t.postMessage({ type: 'stop' });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>(r => (timer = setTimeout(() => r('late'), THREAD_STOP_MS)));
      const how = await Promise.race([gone, late]);
      clearTimeout(timer);
      if (how === 'late') await t.terminate().catch(() => undefined);
      this.thread = null;
    }
    if (this.local) {
      await this.local.stop();
      this.local = null;
    }
    this.threadUpResolve(false);
  }
}

function writeJobStarted(v: SharedView, seq: number, since: number, timeout: number | null): void {
  v.floats[1] = since;
  v.floats[2] = timeout ?? Number.NaN;
  // seq before state: a reader never pairs WORKING with the previous job's seq.
  Atomics.store(v.ints, 1, seq);
  Atomics.store(v.ints, 0, STATE_WORKING);
}
