import { builtEntry } from '../builtEntry';
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CHILD_SPEC_ENV, encodeChildSpec } from '../config/child';
import { type MasterConfigInput, resolveMasterConfig } from '../config/master';
import type { AutoscaleConfig, ChildSpec, GroupSpec, MasterConfig } from '../config/types';
import { AuthError, ConfigError, JobLoadError, coerceError } from '../errors';
import { MODULE_CHECK_ENV, checkStoppedError, checkTimedOutError, hasFailureHooks, loaderExecArgv, runCheck, runFailureHooksInCheck } from '../jobs/load';
import { decodeWorkingOn } from '../protocol/records';
import { createLogger, type Logger } from '../logging/logger';
import { parseQueueList, resolveQueues } from '../protocol/queues';
import { formatSlotWorkerId } from '../protocol/workerId';
import type { RedisStore } from '../store/redisStore';
import { VERSION } from '../version';
import { pidAlive, unregisterDeadWorker } from '../worker/prune';
import { describeGroups } from '../config/groups';
import { CHILD_GATE_CHECK, CHILD_GATE_ENV, type ChildObservation, isChildMessage, type MasterToChild } from './ipc';
import type { LogRing } from '../logging/ring';
import { TailPublisher } from './logTail';
import { hostCpuTimes, hostMemoryUsedPercent, readProcSample } from './procStats';
import { SpawnPacer } from './spawnPacer';
import { type Action, type MasterCommand, Supervisor } from './supervisor';

export type { MasterCommand } from './supervisor';
export type AutoscaleOptions = AutoscaleConfig;

export interface MasterOptions extends MasterConfigInput {
  /** @defaultValue a text logger on stderr at the configured level */
  logger?: Logger;
  /** Re-reads the groups (HUP). */
  reload?: () => GroupSpec[];
  /** The child entry script. @defaultValue dist/master/childMain.js */
  childEntry?: string;
  /** Children report each job's outcome and each Redis error ('child-event'), for metrics. @defaultValue false */
  reportOutcomes?: boolean;
  /** Recent log lines, published beside the master's record (only new ones, see TailPublisher) for `pyres-ts ctl watch`. */
  logRing?: LogRing;
}

export interface MasterInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  paused: boolean;
  stopping: boolean;
  groups: Array<{
    queues: string;
    desired: number;
    min: number | null;
    max: number | null;
    running: number;
    /** Set while the group's children keep dying at start. */
    lastCrash?: { reason: string; count: number; at: string } | null;
  }>;
  children: Array<{
    pid: number;
    workerId: string;
    group: string;
    startedAt: string;
    rssMb: number;
    cpuPercent?: number;
    state?: string;
    job: { className: string; queue: string; since: string } | null;
  }>;
  autoscale: (AutoscaleConfig & { last: string | null }) | null;
  maxChildren?: number;
  /** The master's recent log lines, oldest first (when it keeps them: the CLI's master does). */
  logTail?: string[];
}

/** Redis calls from the master never wait longer than this: supervision goes on without Redis. */
const REDIS_BOUND_MS = 2000;
/** How long a killed child's job's onFailure hooks may run (in a check process) before its record is written without them. */
const FAILURE_HOOKS_MS = 5000;
const TICK_MS = 250;

/**
 * The events of a Master, with their arguments (`master.on('child-ready', pid => ...)` is typed):
 *
 * - 'status': a one-line description of the pool (for a process title), on every change;
 * - 'child-ready': a child worker has registered and is working (its pid);
 * - 'all-ready': once, the first time every child the pool wants is up and ready;
 * - 'child-event': a child's job outcome or Redis error (with `reportOutcomes`): its pid and the message.
 */
export interface MasterEvents {
  status: [string];
  'child-ready': [number];
  'all-ready': [];
  'child-event': [number, ChildObservation];
}

/**
 * The pre-fork master's shell: forks, signals and talks to Redis, and feeds what it sees to
 * the pure Supervisor, which decides. Deadlines run on the monotonic clock and every Redis call
 * is bounded, so a silent Redis never stops timeouts, memory limits or a stop's deadline; what
 * could not be written stays in `worker:<id>`, where the next prune finds it. Children run in
 * their own process groups, so a terminal's Ctrl-C or a `kill -- -<pgid>` reaches only the
 * master, which then stops them its own way. Installs no signal handlers.
 *
 * Events (typed, see MasterEvents): 'status', 'child-ready', 'all-ready'.
 */
export class Master extends EventEmitter<MasterEvents> {
  readonly id: string;
  readonly hostname: string;
  /**
   * The master's Redis store, made at its first use (start() forks the first children before it:
   * ioredis and the store's modules load while they boot, not before).
   */
  get store(): RedisStore {
    return (this.storeMade ??= this.makeStore());
  }

  private storeMade: RedisStore | null = null;
  /** The jobs with onFailure hooks (from the module check): a killed child's job of one has them run before its record. */
  private failureHookJobs = new Set<string>();
  readonly config: MasterConfig;
  private readonly sup: Supervisor;
  private readonly log: Logger;
  private readonly reloadFn: (() => GroupSpec[]) | undefined;
  private readonly childEntry: string;
  private readonly reportOutcomes: boolean;
  private readonly logRing: LogRing | null;
  private tail: TailPublisher | null = null;
  /** The job each child that just exited held (with reportOutcomes), while its record is written. */
  private readonly heldAtExit = new Map<number, { className: string; queue: string; since: string }>();
  private readonly procs = new Map<number, ChildProcess>();
  private readonly cpuSeen = new Map<number, { cpu: number; at: number }>();
  private readonly startedAt = new Date();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private lastSlow = -Infinity;
  private lastSample = -Infinity;
  private lastScale = -Infinity;
  private redisLane: Promise<void> | null = null;
  private hostCpu = hostCpuTimes();
  private khanId: string | null = null;
  private readonly startAbort = new AbortController();
  private connected = false;
  private started = false;
  /** A pop of commands under way: never a second one, and its result is applied whenever it comes. */
  private popping: Promise<void> | null = null;
  /** --spawn-delay: children started one at a time, that many ms apart. */
  private readonly pacer: SpawnPacer;
  /**
   * The first children, forked at start() while the module check runs, per group: each boots
   * (Node, the worker's own modules) and waits for a 'go' before it loads any job code or touches
   * Redis. spawn() hands them out; the supervisor only ever sees a child once it has its 'go'.
   */
  private readonly standby = new Map<string, ChildProcess[]>();
  /** The standby child that runs the module check (CHILD_GATE_CHECK), until it reported. */
  private checker: ChildProcess | null = null;
  private stoppedResolve!: () => void;
  readonly stopped: Promise<void>;

  constructor(o: MasterOptions) {
    super();
    this.config = resolveMasterConfig(o);
    this.hostname = this.config.hostname;
    this.id = `${this.hostname}:${process.pid}`;
    this.log = (
      o.logger ??
      createLogger({
        level: this.config.worker.logLevel,
        ...(this.config.worker.logFile ? { file: this.config.worker.logFile } : {}),
        ...(this.config.worker.logFormat ? { format: this.config.worker.logFormat } : {}),
      })
    ).child(`master ${this.id}`);
    this.reloadFn = o.reload;
    this.childEntry = o.childEntry ?? builtEntry('master/childMain.js');
    this.reportOutcomes = o.reportOutcomes ?? false;
    this.logRing = o.logRing ?? null;
    this.sup = new Supervisor({ ...this.config, onDirtyExit: this.config.worker.onDirtyExit });
    this.stopped = new Promise(r => (this.stoppedResolve = r));
    this.pacer = new SpawnPacer(
      this.config.spawnDelayMs,
      g => this.spawn(g),
      () => !this.sup.stopping,
    );
  }

  private makeStore(): RedisStore {
    const { RedisStore: Store } = require('../store/redisStore') as typeof import('../store/redisStore');
    const store = new Store({
      connection: this.config.worker.connection,
      namespace: this.config.worker.namespace,
      name: `pyres-ts:master:${process.pid}`,
      failureBackend: this.config.worker.failureBackend,
    });
    this.tail = this.logRing ? new TailPublisher(this.logRing, store, this.id) : null;
    store.on('connection-error', (e: Error) => this.log.warn(`Redis connection lost (${e.message}); reconnecting`));
    store.on('reconnected', () => this.log.info('Redis connection back'));
    return store;
  }

  /**
   * Checks that the job modules and --worker-init load (in the first child, or a short-lived
   * process; the master runs no job code; within `checkTimeout`), connects, and starts the children. The first children are forked at once,
   * beside the check (without --spawn-delay): they boot and wait for the master's 'go', sent once
   * the check passed and the master is connected. Rejects with a JobLoadError on a broken deploy,
   * before any child loaded job code or registered (the waiting ones are ended).
   */
  async start(): Promise<void> {
    this.started = true;
    if (process.env[CHILD_SPEC_ENV] !== undefined || process.env[MODULE_CHECK_ENV] !== undefined) {
      // An app preloaded with -r/--import that starts a Master would otherwise start one in
      // every child and every module check: a fork bomb.
      await this.finishStop(false);
      throw new ConfigError(
        'a Master cannot start inside a pyres-ts child or module check (is the code that starts it preloaded with -r/--import or NODE_OPTIONS?)',
      );
    }
    // The module check, the first children's boot and the connection all go at once: the check
    // still decides first, and no other child loads job code or registers before it passed and
    // the master is connected (the children wait for a 'go'). The first standby child is the
    // check (one Node start fewer on the host's cores); without one, a check process of its own.
    this.forkStandby();
    const checking = this.checker ? this.checkInChild(this.checker) : this.checkInProcess();
    // Unhandled-rejection safe until awaited below.
    checking.catch(() => undefined);
    const connecting = this.store.connect().then(
      () => null,
      (e: unknown) => coerceError(e),
    );
    try {
      const checked = await checking;
      this.failureHookJobs = new Set(checked.failureHooks ?? []);
    } catch (e) {
      await this.finishStop(false);
      if (this.startAbort.signal.aborted) return;
      throw e;
    }
    if (this.startAbort.signal.aborted) {
      await this.finishStop(false);
      return;
    }
    // A TERM while connecting (Redis silent: the TCP connect succeeds, the ready check never answers) ends it.
    const aborted = new Promise<'aborted'>(r => this.startAbort.signal.addEventListener('abort', () => r('aborted'), { once: true }));
    const connectError = await Promise.race([connecting, aborted]);
    if (connectError === 'aborted') {
      await this.finishStop(false);
      return;
    }
    if (connectError) {
      if (connectError instanceof AuthError) {
        await this.finishStop(false);
        throw connectError;
      }
      this.log.error(`${connectError.message}; retrying until Redis answers`);
      let ready: boolean;
      try {
        ready = await this.store.waitUntilReady(this.startAbort.signal);
      } catch (authError) {
        await this.finishStop(false);
        throw authError;
      }
      if (!ready) {
        await this.finishStop(false);
        return;
      }
      this.log.info('Redis answers now');
    }
    this.connected = true;
    if (this.sup.stopping) {
      await this.finishStop(true);
      return;
    }
    this.log.info(`starting ${describeGroups(this.config.groups)}`);
    await bounded(
      this.store.pruneKhans(this.hostname, pid => pidAlive(pid)),
      REDIS_BOUND_MS,
      'pruning Khans',
    ).catch(() => undefined);
    if (this.sup.stopping || this.finishing) {
      await this.finishStop(true);
      return;
    }
    this.run(this.sup.start(now()));
    // Forked for a group the supervisor did not start after all: not needed.
    void this.dropStandby();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  get readyCount(): number {
    return this.sup.readyCount;
  }

  /**
   * graceful (QUIT, INT): children finish their current job. Otherwise (TERM) their jobs'
   * AbortSignals fire. Either way, children still alive after termTimeout are killed and their
   * jobs recorded as Resque::DirtyExit. Ends within termTimeout + 2 s whatever Redis does.
   */
  stop(graceful: boolean, reason: string): Promise<void> {
    this.startAbort.abort();
    if (!this.started) {
      void this.finishStop(false);
      return this.stopped;
    }
    if (!this.connected) {
      this.sup.stopping ??= graceful ? 'graceful' : 'abort';
      return this.stopped;
    }
    this.pacer.clear();
    this.run(this.sup.stop(graceful, reason, now()));
    this.status();
    return this.stopped;
  }

  scale(queues: string, count: number): void {
    parseQueueList(queues);
    this.run(this.sup.scale(queues, count, now()));
  }

  addOne(): void {
    this.run(this.sup.command({ cmd: 'add' }, now()));
  }

  removeOne(): void {
    this.run(this.sup.command({ cmd: 'remove' }, now()));
  }

  /** SIGWINCH: every group to zero, when configured (`winch`); otherwise logged and ignored. */
  scaleToZero(): void {
    this.run(this.sup.winch(now()));
  }

  pause(): void {
    this.run(this.sup.command({ cmd: 'pause' }, now()));
  }

  resume(): void {
    this.run(this.sup.command({ cmd: 'resume' }, now()));
  }

  /** HUP: re-read the configuration; only changed groups are touched, WINCHed ones come back. */
  reload(): void {
    if (!this.reloadFn) {
      this.log.info('HUP: nothing to reload (no --config file)');
      this.run(this.sup.reload(this.sup.groupSpecs(), now()));
      return;
    }
    let next: GroupSpec[] | Error;
    try {
      next = this.reloadFn();
    } catch (e) {
      next = coerceError(e);
    }
    this.run(this.sup.reload(next, now()));
  }

  /** Applies a command received through Redis (`pyres-ts ctl`, the dashboard). */
  apply(c: MasterCommand): void {
    if (c.cmd === 'reload') this.reload();
    else if (c.cmd === 'scale') {
      try {
        this.scale(c.queues, c.count);
      } catch (e) {
        this.log.warn(`scale ${c.queues}: ${coerceError(e).message}`);
      }
    } else this.run(this.sup.command(c, now()));
  }

  info(): MasterInfo {
    const t = now();
    const wall = Date.now();
    const iso = (mono: number): string => new Date(wall - (t - mono)).toISOString();
    const snap = this.sup.snapshot(t);
    return {
      id: this.id,
      host: this.hostname,
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      paused: this.sup.paused,
      stopping: this.sup.stopping !== null,
      groups: snap.groups.map(g => ({
        queues: g.queues,
        desired: g.desired,
        min: g.min,
        max: g.max,
        running: g.running,
        lastCrash: g.lastCrash
          ? { reason: g.lastCrash.reason, count: g.lastCrash.count, at: new Date(wall - g.lastCrash.secondsAgo * 1000).toISOString() }
          : null,
      })),
      children: snap.children.map(c => ({
        pid: c.pid,
        workerId: c.workerId,
        group: c.group,
        startedAt: iso(t - c.ageMs),
        rssMb: c.rssMb,
        cpuPercent: c.cpuPercent,
        state: c.phase,
        job: c.job ? { className: c.job.className, queue: c.job.queue, since: iso(t - c.job.runningMs) } : null,
      })),
      autoscale: this.config.autoscale ? { ...this.config.autoscale, last: this.sup.lastScaleDecision } : null,
      maxChildren: this.config.maxChildren,
      ...(this.logRing ? { logTail: this.logRing.lines() } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------

  private run(actions: Action[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'spawn':
          this.pacer.request(a.group);
          break;
        case 'send':
          this.send(a.pid, a.msg);
          break;
        case 'signal':
          try {
            this.procs.get(a.pid)?.kill(a.signal);
          } catch {
            /* already gone */
          }
          break;
        case 'record':
          this.record(a);
          break;
        case 'log':
          this.log[a.level](a.msg);
          break;
        case 'child-ready':
          this.emit('child-ready', a.pid);
          break;
        case 'all-ready':
          this.emit('all-ready');
          break;
        case 'finished':
          void this.finishStop(true);
          break;
      }
    }
    if (actions.length > 0) this.status();
  }

  private status(): void {
    this.emit('status', this.sup.describe());
  }

  /** A child's spec for `group`, and its job slots. */
  private childSpec(group: string): { spec: ChildSpec; slots: MasterConfig['worker']['concurrency'] } {
    // Job slots: the group's own (`p10,p9=2x25`), else the master's --concurrency.
    const slots = this.sup.groupSpec(group)?.concurrency ?? this.config.worker.concurrency;
    const { concurrency: _default, ...shared } = this.config.worker;
    const spec: ChildSpec = {
      worker: {
        ...shared,
        ...(slots && (slots.min !== 1 || slots.max !== 1) ? { concurrency: slots } : {}),
        queues: group,
        drain: false,
        termTimeout: this.config.termTimeout + 2,
      },
      masterPid: process.pid,
      jobTimeout: this.config.jobTimeout,
      timeoutGrace: this.config.timeoutGrace,
      termTimeout: this.config.termTimeout,
      maxJobs: this.config.maxJobs,
      maxMemoryMb: this.config.maxMemoryMb,
      workerInit: this.config.workerInit,
      reportEveryJob: this.config.jobTimeout !== null || this.config.autoscale !== null || this.reportOutcomes,
      hostname: this.hostname,
      ...(this.reportOutcomes ? { reportOutcomes: true } : {}),
    };
    return { spec, slots };
  }

  private forkChild(spec: ChildSpec, gated: boolean | typeof CHILD_GATE_CHECK): ChildProcess {
    // The argument only makes room: Linux keeps a process title within the original argv.
    return fork(this.childEntry, [`--title-room=${'.'.repeat(160)}`], {
      execArgv: [...loaderExecArgv(process.execArgv), ...this.config.childNodeOptions],
      env: { ...process.env, [CHILD_SPEC_ENV]: encodeChildSpec(spec), ...(gated ? { [CHILD_GATE_ENV]: gated === true ? '1' : gated } : {}) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own process group: a terminal's Ctrl-C or `kill -- -<pgid>` of the master's group
      // reaches only the master, which then stops the children with its deadline.
      detached: true,
    });
  }

  /**
   * Forks the children the groups start with, gated (see `standby`), so that their Node boot
   * overlaps the module check and the connection. Not with --spawn-delay (its pacing is of the
   * children's starts, boot included), nor with another child entry than childMain.
   */
  private forkStandby(): void {
    // Another child entry would not know to wait for the 'go': it is forked after the check, as before.
    if (this.config.spawnDelayMs > 0 || this.childEntry !== builtEntry('master/childMain.js')) return;
    let left = this.config.maxChildren;
    for (const g of this.sup.groupSpecs()) {
      const list: ChildProcess[] = [];
      for (let i = 0; i < g.count && left > 0; i++, left--) {
        let proc: ChildProcess;
        try {
          proc = this.forkChild(this.childSpec(g.queues).spec, this.checker ? true : CHILD_GATE_CHECK);
        } catch {
          break; // spawn() forks it again, and reports a failure there
        }
        proc.on('error', () => undefined);
        proc.once('exit', () => {
          const at = list.indexOf(proc);
          if (at >= 0) list.splice(at, 1);
        });
        if (proc.pid === undefined) continue;
        this.checker ??= proc;
        list.push(proc);
      }
      if (list.length > 0) this.standby.set(g.queues, list);
    }
  }

  private checkInProcess(): ReturnType<typeof runCheck> {
    return runCheck(this.config.worker.jobs, this.config.workerInit, process.cwd(), this.config.checkTimeout * 1000, this.startAbort.signal);
  }

  /**
   * The module check as the first standby child reports it. A child that exits before it
   * reported (a module that calls process.exit, a crash) hands the check to a process of its
   * own, which words the reason; a child past `checkTimeout` is killed, as that process is.
   */
  private checkInChild(proc: ChildProcess): ReturnType<typeof runCheck> {
    const signal = this.startAbort.signal;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (then: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.removeListener('message', onMessage);
        proc.removeListener('exit', onExit);
        signal.removeEventListener('abort', onAbort);
        this.checker = null;
        then();
      };
      const onMessage = (m: unknown): void => {
        if (!isChildMessage(m) || m.act !== 'checked') return;
        settle(() => (m.ok ? resolve({ ok: true, jobs: m.jobs, failureHooks: m.failureHooks }) : reject(new JobLoadError(m.message))));
      };
      const onExit = (): void => settle(() => this.checkInProcess().then(resolve, reject));
      const onAbort = (): void => settle(() => reject(checkStoppedError()));
      const timer = setTimeout(
        () =>
          settle(() => {
            proc.kill('SIGKILL');
            reject(checkTimedOutError(this.config.checkTimeout * 1000));
          }),
        this.config.checkTimeout * 1000,
      );
      proc.on('message', onMessage);
      proc.once('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A booted, still waiting child for `group`, if one is left. */
  private takeStandby(group: string): ChildProcess | null {
    const list = this.standby.get(group);
    while (list && list.length > 0) {
      const p = list.shift()!;
      if (p.exitCode === null && p.signalCode === null && p.connected) return p;
      p.kill('SIGKILL');
    }
    return null;
  }

  /**
   * Ends the children still waiting for their 'go' (the check failed, the master stops, or the
   * supervisor wanted fewer): they ran no job code and hold nothing in Redis, so SIGKILL. Resolves
   * once they are gone (bounded).
   */
  private async dropStandby(): Promise<void> {
    const procs = [...this.standby.values()].flat();
    this.standby.clear();
    await Promise.all(
      procs.map(
        p =>
          new Promise<void>(done => {
            if (p.exitCode !== null || p.signalCode !== null) return done();
            const t = setTimeout(done, 2000);
            p.once('exit', () => (clearTimeout(t), done()));
            try {
              p.kill('SIGKILL');
            } catch {
              clearTimeout(t);
              done();
            }
          }),
      ),
    );
  }

  private spawn(group: string): void {
    const { spec, slots } = this.childSpec(group);
    let proc: ChildProcess;
    const ready = this.takeStandby(group);
    try {
      proc = ready ?? this.forkChild(spec, false);
    } catch (e) {
      this.run(this.sup.spawnFailed(group, coerceError(e).message, now()));
      return;
    }
    const pid = proc.pid;
    if (pid === undefined) {
      proc.on('error', () => undefined);
      this.run(this.sup.spawnFailed(group, 'fork returned no pid', now()));
      return;
    }
    this.procs.set(pid, proc);
    proc.on('message', (m: unknown) => {
      if (!isChildMessage(m)) return;
      if (m.act === 'checked') return; // the start's module check (checkInChild), not supervision
      if (m.act === 'outcome' || m.act === 'redis-error') this.emit('child-event', pid, m);
      else this.run(this.sup.childMessage(pid, m, now()));
    });
    proc.on('error', e => this.log.warn(`child ${pid}: ${e.message}`));
    proc.on('exit', (code, signal) => {
      this.procs.delete(pid);
      this.cpuSeen.delete(pid);
      // For the metrics: the job a dead child held, which record() then counts (dirty exit, timeout).
      const held = this.reportOutcomes ? this.info().children.find(c => c.pid === pid)?.job : null;
      if (held) this.heldAtExit.set(pid, held);
      this.run(this.sup.childExited(pid, code, signal, now()));
      this.heldAtExit.delete(pid);
    });
    const queueList = parseQueueList(group).map(s => s.raw);
    const slotIds = Array.from({ length: slots?.max ?? 1 }, (_, i) => formatSlotWorkerId(this.hostname, pid, queueList, i));
    // A standby child goes on from here: its job modules, --worker-init, Redis, registration.
    if (ready) this.send(pid, { act: 'go' });
    this.run(this.sup.childSpawned(group, pid, slotIds[0]!, now(), slotIds));
  }

  private send(pid: number, m: MasterToChild): void {
    const p = this.procs.get(pid);
    if (!p) return;
    if (p.connected) {
      try {
        p.send(m, undefined, {}, () => undefined);
        return;
      } catch {
        /* fall through to a signal */
      }
    }
    if (m.act === 'stop') {
      try {
        p.kill(m.graceful ? 'SIGQUIT' : 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }

  /** A dead child's registration and held job, bounded: if Redis is silent they stay for the next prune. */
  private record(a: Extract<Action, { type: 'record' }>): void {
    if (!this.connected) return;
    const held = this.heldAtExit.get(a.pid);
    let suppressed = false;
    let settled = false;
    const ms = REDIS_BOUND_MS + 1000 + (this.failureHookJobs.size > 0 ? FAILURE_HOOKS_MS : 0);
    // The outcome is logged when it is known: a record of a large payload (or on a slow Redis)
    // may land after the bound below, which only keeps the master's stop within its deadline.
    const work = this.runDeadJobFailureHooks(a)
      .then(async as => {
        suppressed = as.suppressed === true;
        return unregisterDeadWorker(this.store, a.workerId, as.exception, () => as.error, a.policy, { suppressed });
      })
      .then(
        cls => {
          settled = true;
          if (cls !== null && held) {
            const outcome = a.exception === 'Resque::DirtyExit' ? 'dirty_exit' : 'failure';
            this.emit('child-event', a.pid, {
              act: 'outcome',
              seq: 0,
              queue: held.queue,
              className: cls,
              outcome,
              ms: Math.max(0, Date.now() - Date.parse(held.since)),
            });
          }
          if (cls !== null)
            this.log.warn(
              `child ${a.pid} ${a.how} while working on ${cls}; ${a.policy === 'requeue' ? 'put it back on its queue' : suppressed ? `retried by its retry policy (${a.exception} not recorded: suppressFailures)` : `recorded as ${a.exception}`}`,
            );
        },
        e => {
          settled = true;
          this.log.error(
            `child ${a.pid}: could not clean up its registration (${coerceError(e).message}); worker:${a.workerId} keeps its job for the next prune`,
          );
        },
      );
    const p = bounded(work, ms, 'Redis did not answer').catch(() => {
      if (!settled)
        this.log.warn(
          `child ${a.pid}: its registration and job not recorded yet after ${ms} ms (a large payload or a slow Redis); the outcome is logged when it lands, and worker:${a.workerId} keeps its job for the next prune if it never does`,
        );
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * A dead child's job whose class has onFailure hooks (policy 'fail'): they run in a check
   * process that loads the job modules (this process loads none), before the record is written,
   * bounded by FAILURE_HOOKS_MS. Resolves with what to record (Resque's RuntimeError when a hook threw).
   */
  private async runDeadJobFailureHooks(a: Extract<Action, { type: 'record' }>): Promise<{ exception: string; error: string; suppressed?: boolean }> {
    const as = { exception: a.exception, error: a.error };
    if (a.policy !== 'fail' || this.failureHookJobs.size === 0) return as;
    const w = decodeWorkingOn((await this.store.getWorkingOn(a.workerId).catch(() => null)) ?? '');
    const cls = w?.rawPayload ? /"class"\s*:\s*"([^"\\]*)"/.exec(w.rawPayload)?.[1] : undefined;
    if (!w || !cls || !hasFailureHooks(this.failureHookJobs, cls)) return as;
    // The job context the hooks get (resque-retry re-enqueues onto the job's queue, on this Redis).
    const r = await runFailureHooksInCheck(
      this.config.worker.jobs,
      {
        raw: w.rawPayload,
        ...as,
        queue: w.queue,
        workerId: a.workerId,
        redis: { connection: this.config.worker.connection, namespace: this.config.worker.namespace },
      },
      process.cwd(),
      FAILURE_HOOKS_MS,
    );
    if ('problem' in r) {
      this.log.warn(`child ${a.pid}: the onFailure hooks of ${cls} did not run (${r.problem}); recording ${a.exception} without them`);
      return as;
    }
    if (r.recordAs) this.log.warn(`child ${a.pid}: an onFailure hook of ${cls} threw: ${r.recordAs.error.split('\n')[0]}`);
    // A retry policy with suppressFailures retried it: no `failed` record (MultipleWithRetrySuppression).
    return { ...(r.recordAs ?? as), suppressed: r.recordAs === null && r.suppressed };
  }

  private tick(): void {
    const t = now();
    this.sampleChildren(t);
    this.run(this.sup.tick(t));
    if (this.sup.stopping || !this.connected) return;
    if (t - this.lastSlow >= 1000 && !this.redisLane) {
      this.lastSlow = t;
      const doScale = this.config.autoscale !== null && t - this.lastScale >= this.config.autoscale.interval * 1000;
      if (doScale) this.lastScale = t;
      this.redisLane = this.redisWork(doScale)
        .catch(e => this.log.warn(`master: ${coerceError(e).message}`))
        .finally(() => (this.redisLane = null));
    }
  }

  /**
   * RSS and CPU of each child from /proc, once a second (two small reads per child): a child
   * whose job blocks its event loop still shows.
   */
  private sampleChildren(t: number): void {
    if (t - this.lastSample < 1000) return;
    this.lastSample = t;
    for (const pid of this.procs.keys()) {
      const s = readProcSample(pid);
      if (!s) continue;
      const prev = this.cpuSeen.get(pid);
      this.cpuSeen.set(pid, { cpu: s.cpuSeconds, at: t });
      this.sup.sample(pid, s.rss, prev ? (100 * (s.cpuSeconds - prev.cpu)) / ((t - prev.at) / 1000) : 0);
    }
  }

  /** Commands, the advertisement and autoscale inputs: each call bounded. */
  private async redisWork(doScale: boolean): Promise<void> {
    // Commands are taken off their lists atomically; a slow reply is applied when it arrives
    // (never raced against a timer, which would drop what was already popped).
    this.popping ??= this.readCommands().finally(() => (this.popping = null));
    if (this.sup.stopping) return;
    // The log tail is not in the record (written every second): it has a list of its own, sent only when it changed.
    const { logTail: _tail, ...record } = this.info();
    await bounded(this.store.advertiseMaster(this.id, JSON.stringify(record), 10), REDIS_BOUND_MS, 'advertising');
    if (this.tail) await bounded(this.tail.publish(now()), REDIS_BOUND_MS, 'publishing the log tail');
    const khan = `${this.hostname}:${process.pid}:${this.sup.totalDesired()}`;
    if (khan !== this.khanId) {
      await bounded(this.store.renameKhan(this.khanId, khan), REDIS_BOUND_MS, 'renaming the Khan entry');
      this.khanId = khan;
    }
    if (doScale) await this.autoscale();
  }

  private async readCommands(): Promise<void> {
    try {
      for (const raw of await this.store.popMasterCommands(this.id)) {
        let c: MasterCommand;
        try {
          c = JSON.parse(raw) as MasterCommand;
          if (!c || typeof c !== 'object' || typeof c.cmd !== 'string') throw new Error('no cmd');
        } catch {
          this.log.warn(`ignoring a command that is not a JSON command: ${raw.slice(0, 100)}`);
          continue;
        }
        this.log.info(`command from Redis: ${raw.slice(0, 200)}`);
        this.apply(c);
      }
      if (this.khanId) {
        for (const raw of await this.store.popKhanCommands(this.khanId)) {
          const cmd = raw.trim().toUpperCase();
          this.log.info(`Khan command: ${cmd}`);
          if (cmd === 'ADD') this.addOne();
          else if (cmd === 'REMOVE') this.removeOne();
          else if (cmd === 'SHUTDOWN') void this.stop(true, 'Khan SHUTDOWN');
        }
      }
    } catch (e) {
      this.log.warn(`reading commands: ${coerceError(e).message}`);
    }
  }

  private async autoscale(): Promise<void> {
    const cur = hostCpuTimes();
    const cpu = cur.total > this.hostCpu.total ? (100 * (cur.busy - this.hostCpu.busy)) / (cur.total - this.hostCpu.total) : 0;
    this.hostCpu = cur;
    const mem = hostMemoryUsedPercent();
    const known = await bounded(this.store.queueNames(), REDIS_BOUND_MS, 'reading queue names');
    const depth = new Map<string, number>();
    for (const g of this.sup.groupSpecs()) {
      if (g.min === undefined) continue;
      depth.set(g.queues, await bounded(this.store.queueDepth(resolveQueues(parseQueueList(g.queues), known)), REDIS_BOUND_MS, 'reading queue depth'));
    }
    this.run(this.sup.autoscale({ cpu, mem, depth }, now()));
  }

  private finishing: Promise<void> | null = null;
  private finishStop(withdraw: boolean): Promise<void> {
    this.finishing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.dropStandby();
      // Whatever Redis does, the master is gone within termTimeout + 2 s of the stop.
      const hardEnd = Math.max((this.sup.stopDeadline ?? now()) + 1200, now() + 300);
      const left = (): number => Math.max(50, hardEnd - now());
      if (this.pending.size > 0) {
        await bounded(Promise.allSettled([...this.pending]), left(), 'recording children').catch(e =>
          this.log.warn(`${coerceError(e).message}; their jobs stay in Redis for the next prune unless their records land meanwhile`),
        );
      }
      if (withdraw && this.connected) {
        try {
          await bounded(
            (async () => {
              await this.store.withdrawMaster(this.id);
              await this.store.renameKhan(this.khanId, null);
            })(),
            Math.min(left(), 1000),
            'Redis did not answer',
          );
        } catch (e) {
          this.log.warn(`withdrawing the master from Redis: ${coerceError(e).message} (its entry expires in 10 s)`);
        }
      }
      const store = this.storeMade;
      if (store) await bounded(store.close(), Math.min(300, left()), 'closing').catch(() => store.disconnect());
      this.log.info('stopped');
      this.stoppedResolve();
    })();
    return this.finishing;
  }
}

function now(): number {
  return performance.now();
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms)} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
