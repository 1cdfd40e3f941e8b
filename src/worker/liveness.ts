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

export type LivenessStateName = 'starting' | 'idle' | 'working' | 'stopping';
const STATE_CODES: Record<LivenessStateName, number> = { starting: 0, idle: 1, working: 2, stopping: 3 };
export const STATE_STARTING = 0;
export const STATE_IDLE = 1;
export const STATE_WORKING = 2;
export const STATE_STOPPING = 3;

/** Int32 [0] state, [1] job seq; Float64 [1] job start (Date.now ms), [2] the job's own timeout (s, NaN = none). */
export const SHARED_BYTES = 32;

export interface SharedView {
  readonly ints: Int32Array;
  readonly floats: Float64Array;
}

export function sharedView(sab: SharedArrayBuffer): SharedView {
  return { ints: new Int32Array(sab, 0, 2), floats: new Float64Array(sab, 8, 3) };
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
  | { type: 'reregistered'; seq: number; state: number; msg: string }
  | { type: 'abort'; seq: number; reason: string; failAs: { exception: string; message: string } }
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
  private abortSentFor = -1;
  private killing = false;

  constructor(
    private readonly c: LivenessConfig,
    private readonly store: RedisStore,
    private readonly shared: SharedView,
    private readonly send: (m: LivenessMessage) => void,
  ) {}

  /** Writes the first heartbeat, then starts the timers. */
  async start(): Promise<void> {
    try {
      await this.store.heartbeat(this.c.workerId);
    } catch (e) {
      this.send({ type: 'log', level: 'warn', msg: `heartbeat failed: ${coerceError(e).message}` });
    }
    if (this.stopped) return;
    this.beatTimer = setInterval(() => void this.beat(), this.c.heartbeatInterval * 1000);
    if (this.c.supervisedBy) this.superviseTimer = setInterval(() => void this.supervise(), SUPERVISE_EVERY_MS);
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
    if (this.beating || this.stopped) return this.beating ?? Promise.resolve();
    this.beating = this.beatOnce().finally(() => (this.beating = null));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const id = this.c.workerId;
    try {
      const s = readShared(this.shared);
      // Before registration (starting) membership means nothing yet; while stopping it goes away on purpose.
      if (s.state === STATE_STARTING || s.state === STATE_STOPPING) {
        await this.store.heartbeat(id);
        return;
      }
      const member = await this.store.heartbeatAndCheck(id);
      if (member || this.stopped) return;
      const now = readShared(this.shared);
      if (now.state === STATE_STOPPING || now.state === STATE_STARTING) return;
      await this.store.ensureRegistered(id, this.c.started, this.c.pidNamespace);
      this.send({
        type: 'reregistered',
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
    const s = readShared(this.shared);
    if (s.state !== STATE_WORKING) return;
    const limit = s.timeout ?? sup.jobTimeout;
    const ranMs = now - s.since;
    if (limit !== null) {
      const failAs = {
        exception: 'JobTimeoutError',
        message: `Job exceeded its ${limit}s timeout while its master (pid ${sup.masterPid}) was gone`,
      };
      if (ranMs > limit * 1000 && this.abortSentFor !== s.seq) {
        // Ask first: a job that honours its signal ends as an ordinary JobTimeoutError failure.
        this.abortSentFor = s.seq;
        this.send({ type: 'abort', seq: s.seq, reason: `job timeout (${limit}s), master gone`, failAs });
      }
      if (ranMs > (limit + sup.timeoutGrace) * 1000) {
        await this.killSelf(
          s.seq,
          'JobTimeoutError',
          `${failAs.message}; worker ${process.pid} killed itself (SIGKILL) after a ${sup.timeoutGrace}s grace`,
          'fail',
        );
      }
    } else if (now - this.masterGoneAt > sup.termTimeout * 1000) {
      await this.killSelf(s.seq, 'Resque::DirtyExit', `master gone; job still running after ${sup.termTimeout}s`, this.c.onDirtyExit);
    }
  }

  /** Records the running job as failed (only if it is still the one running), then SIGKILLs this process. */
  private async killSelf(seq: number, exception: string, message: string, policy: DirtyExitPolicy): Promise<void> {
    this.killing = true;
    let recorded: string | null | 'timeout' = null;
    try {
      recorded = await Promise.race([
        unregisterDeadWorker(this.store, this.c.workerId, exception, () => message, policy, {
          requireHeld: true,
          stillCurrent: () => {
            const now = readShared(this.shared);
            return now.seq === seq && now.state === STATE_WORKING;
          },
        }),
        new Promise<'timeout'>(r => setTimeout(() => r('timeout'), RECORD_BOUND_MS).unref()),
      ]);
    } catch (e) {
      stderrLine(`pyres-ts worker ${process.pid}: recording the job before the self-kill failed: ${coerceError(e).message}`);
      recorded = 'timeout';
    }
    const s = readShared(this.shared);
    if (recorded === null && (s.seq !== seq || s.state !== STATE_WORKING)) {
      // The job ended between the decision and the record: nothing to kill for.
      this.killing = false;
      return;
    }
    stderrLine(
      `pyres-ts worker ${process.pid}: ${message}; ${recorded === 'timeout' ? 'the failure could not be recorded in time (worker:<id> keeps the job for a prune)' : `recorded as ${exception}${policy === 'requeue' && exception !== 'JobTimeoutError' ? ' (requeued)' : ''}`}`,
    );
    process.kill(process.pid, 'SIGKILL');
  }
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
 * 'notice' (string; the thread crashed or fell back).
 */
export class Liveness extends EventEmitter {
  private readonly sab = new SharedArrayBuffer(SHARED_BYTES);
  private readonly view = sharedView(this.sab);
  private thread: Thread | null = null;
  private local: LivenessCore | null = null;
  private stopping = false;
  private threadStopped: (() => void) | null = null;

  constructor(private readonly o: LivenessOptions) {
    super();
    this.view.floats[2] = Number.NaN;
  }

  /** 'thread', 'main' (the loop runs on this thread) or 'off' (not started or stopped). */
  get mode(): 'thread' | 'main' | 'off' {
    return this.thread ? 'thread' : this.local ? 'main' : 'off';
  }

  setState(s: LivenessStateName): void {
    Atomics.store(this.view.ints, 0, STATE_CODES[s]);
  }

  jobStarted(seq: number, since: number, timeout: number | null): void {
    this.view.floats[1] = since;
    this.view.floats[2] = timeout ?? Number.NaN;
    // seq before state: a reader never pairs WORKING with the previous job's seq.
    Atomics.store(this.view.ints, 1, seq);
    Atomics.store(this.view.ints, 0, STATE_WORKING);
  }

  /** Resolves once the first heartbeat is written. */
  async start(): Promise<void> {
    if (this.o.useThread) {
      try {
        await this.startThread();
        return;
      } catch (e) {
        this.notice(
          `the liveness thread did not start (${coerceError(e).message}); heartbeats run on the main thread (a job that blocks the event loop will stop them)`,
        );
      }
    }
    await this.startLocal();
  }

  private startThread(): Promise<void> {
    const { store: _store, logger: _logger, useThread: _u, ...config } = this.o;
    const t = new Thread(livenessThreadEntry(), {
      workerData: { config, sab: this.sab },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 },
    });
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        void t.terminate();
        reject(new Error(`no first heartbeat within ${THREAD_START_MS / 1000}s`));
      }, THREAD_START_MS);
      t.on('message', (m: LivenessMessage) => {
        if (m.type === 'ready') {
          ready = true;
          clearTimeout(timer);
          this.thread = t;
          t.unref();
          resolve();
          return;
        }
        this.onMessage(m);
      });
      t.on('error', (e: Error) => {
        clearTimeout(timer);
        if (!ready) return reject(e);
        this.thread = null;
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
    const core = new LivenessCore(this.o, this.o.store, this.view, m => this.onMessage(m));
    this.local = core;
    await core.start();
  }

  private onMessage(m: LivenessMessage): void {
    switch (m.type) {
      case 'log':
        this.o.logger[m.level](m.msg);
        break;
      case 'reregistered':
        this.emit('reregistered', { seq: m.seq, state: m.state, msg: m.msg });
        break;
      case 'abort':
        this.emit('abort', { seq: m.seq, reason: m.reason, failAs: m.failAs });
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
    this.setState('stopping');
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
  }
}
