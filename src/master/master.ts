import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { cpus, hostname as osHostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthError, ConfigError, coerceError } from '../errors';
import type { Logger } from '../logging/logger';
import { parseQueueList, resolveQueues } from '../protocol/queues';
import { formatWorkerId } from '../protocol/workerId';
import type { ConnectionOptions } from '../store/connection';
import { type DirtyExitPolicy, RedisStore } from '../store/redisStore';
import { pidAlive, unregisterDeadWorker } from '../worker/prune';
import { VERSION } from '../version';
import { describeGroups, type GroupSpec } from './groups';
import { type ChildConfig, type MasterToChild, isChildMessage } from './ipc';

export interface AutoscaleOptions {
  /** Host CPU use (percent) above which no child is added and one is removed. @defaultValue 80 */
  maxCpu: number;
  /** Host memory use (percent) likewise. @defaultValue 90 */
  maxMem: number;
  /** Seconds between decisions. @defaultValue 10 */
  interval: number;
}

export interface MasterOptions {
  groups: readonly GroupSpec[];
  /** The worker flags every child gets (its `queues` is set per group). */
  workerArgs: Record<string, unknown>;
  connection: ConnectionOptions;
  namespace: string;
  logger: Logger;
  /** Seconds children get to stop before SIGKILL. @defaultValue 10 */
  termTimeout?: number;
  /** Seconds a job may run (a job's own `timeout` property wins). @defaultValue none */
  jobTimeout?: number | null;
  /** Seconds between aborting a timed-out job and killing its child. @defaultValue 5 */
  timeoutGrace?: number;
  /** RSS in MB: a child above it is recycled after its job; above twice it, killed mid-job. */
  maxMemoryMb?: number | null;
  /** A child is recycled after this many jobs. */
  maxJobs?: number | null;
  /** A module each child runs before its first job. */
  workerInit?: string | null;
  /** Groups with min/max are scaled on queue depth, CPU and memory. */
  autoscale?: AutoscaleOptions | null;
  /** A dead or killed child's job: a Resque::DirtyExit failure, or back to its queue. @defaultValue 'fail' */
  onDirtyExit?: DirtyExitPolicy;
  /** Re-reads the configuration (HUP). */
  reload?: () => GroupSpec[];
  hostname?: string;
  /** The child entry script. @defaultValue dist/master/childMain.js */
  childEntry?: string;
  /**
   * Node options for children. The default keeps V8's young generation small: an idle child
   * then holds a few MB less, and the jobs pyres-ts runs (short, message-sized) do not miss it.
   * @defaultValue ['--max-semi-space-size=1']
   */
  childNodeOptions?: readonly string[];
}

interface Group {
  spec: GroupSpec;
  desired: number;
  crashes: number;
  nextSpawnAt: number;
  removed: boolean;
}

interface Child {
  proc: ChildProcess;
  pid: number;
  group: string;
  workerId: string;
  startedAt: number;
  ready: boolean;
  /** Set when the master asked it to go: its exit is no crash. */
  intended: boolean;
  recycle: string | null;
  killedFor: { exception: string; error: string } | null;
  job: { className: string; queue: string; since: number; timeout: number | null; abortedAt: number | null } | null;
  rss: number;
  stopSentAt: number | null;
}

export interface MasterInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  paused: boolean;
  stopping: boolean;
  groups: Array<{ queues: string; desired: number; min: number | null; max: number | null; running: number }>;
  children: Array<{
    pid: number;
    workerId: string;
    group: string;
    startedAt: string;
    rssMb: number;
    job: { className: string; queue: string; since: string } | null;
  }>;
  autoscale: (AutoscaleOptions & { last: string | null }) | null;
}

/** A command a master takes through Redis (`pyres-ts ctl`). */
export type MasterCommand =
  | { cmd: 'scale'; queues: string; count: number }
  | { cmd: 'add' | 'remove' | 'pause' | 'resume' | 'stop' | 'reload' };

const CRASH_WINDOW_MS = 5000;

/**
 * The pre-fork master: keeps each group's children alive, respawns the dead (with backoff when
 * they die at start), records whatever job a dead child held as a dirty exit, enforces job
 * timeouts and memory limits, resizes live, and advertises itself in Redis for `pyres-ts ctl`.
 * Children are separate processes; the master holds no job itself. Installs no signal handlers.
 */
export class Master extends EventEmitter {
  readonly id: string;
  readonly hostname: string;
  readonly store: RedisStore;
  private readonly o: MasterOptions;
  private readonly log: Logger;
  private readonly groups = new Map<string, Group>();
  private readonly children = new Map<number, Child>();
  private readonly startedAt = new Date();
  private paused = false;
  private stopping: 'graceful' | 'abort' | null = null;
  private stopDeadline: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastSlowTick = 0;
  private lastScale = 0;
  private lastScaleDecision: string | null = null;
  private cpuSample = cpuTimes();
  private khanId: string | null = null;
  private ticking = false;
  private readonly startAbort = new AbortController();
  /** Set once Redis answered: before that there is nothing of ours in Redis to withdraw. */
  private connected = false;
  private stoppedResolve!: () => void;
  readonly stopped: Promise<void>;

  constructor(o: MasterOptions) {
    super();
    this.o = o;
    this.hostname = o.hostname ?? osHostname();
    this.id = `${this.hostname}:${process.pid}`;
    this.log = o.logger.child(`master ${this.id}`);
    this.store = new RedisStore({ connection: o.connection, namespace: o.namespace, name: `pyres-ts:master:${process.pid}` });
    this.store.on('connection-error', (e: Error) => this.log.warn(`Redis connection lost (${e.message}); reconnecting`));
    this.store.on('reconnected', () => this.log.info('Redis connection back'));
    for (const g of o.groups) this.groups.set(g.queues, { spec: g, desired: g.count, crashes: 0, nextSpawnAt: 0, removed: false });
    this.stopped = new Promise(r => (this.stoppedResolve = r));
  }

  async start(): Promise<void> {
    try {
      await this.store.connect();
    } catch (e) {
      if (e instanceof AuthError) {
        await this.finishStop();
        throw e;
      }
      this.log.error(`${coerceError(e).message}; retrying until Redis answers`);
      let ready: boolean;
      try {
        ready = await this.store.waitUntilReady(this.startAbort.signal);
      } catch (authError) {
        await this.finishStop();
        throw authError;
      }
      if (!ready) {
        await this.finishStop();
        return;
      }
      this.log.info('Redis answers now');
    }
    this.connected = true;
    if (this.stopping) {
      await this.finishStop();
      return;
    }
    this.log.info(`starting ${describeGroups(this.o.groups)}`);
    await this.store.pruneKhans(this.hostname, pid => pidAlive(pid)).catch(() => undefined);
    this.reconcile();
    this.timer = setInterval(() => void this.tick(), 250);
    await this.tick();
  }

  /** Children whose worker has registered. */
  get readyCount(): number {
    return [...this.children.values()].filter(c => c.ready).length;
  }

  /**
   * graceful (QUIT): children finish their current job. Otherwise (TERM/INT) their jobs'
   * AbortSignals fire. Either way, children still alive after termTimeout are killed and
   * their jobs recorded as Resque::DirtyExit.
   */
  stop(graceful: boolean, reason: string): Promise<void> {
    if (this.stopping && (graceful || this.stopping === 'abort')) return this.stopped;
    this.stopping = graceful ? 'graceful' : 'abort';
    this.startAbort.abort();
    this.stopDeadline ??= Date.now() + (this.o.termTimeout ?? 10) * 1000;
    this.log.info(`${reason}: stopping ${this.children.size} children (${graceful ? 'finishing their jobs' : 'aborting their jobs'}), deadline ${this.o.termTimeout ?? 10}s`);
    for (const c of this.children.values()) this.stopChild(c, graceful, reason);
    this.setTitle();
    return this.stopped;
  }

  /** Sets a group's size (creates the group when it is new). */
  scale(queues: string, count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new ConfigError(`scale: ${count} is not a worker count`);
    let g = this.groups.get(queues);
    if (!g) {
      parseQueueList(queues);
      g = { spec: { queues, count }, desired: count, crashes: 0, nextSpawnAt: 0, removed: false };
      this.groups.set(queues, g);
    }
    g.removed = false;
    if (g.spec.max !== undefined && count > g.spec.max) g.spec = { ...g.spec, max: count };
    if (g.spec.min !== undefined && count < g.spec.min) g.spec = { ...g.spec, min: count };
    this.log.info(`scale ${queues}: ${g.desired} -> ${count}`);
    g.desired = count;
    this.reconcile();
  }

  /** TTIN / USR1 / Khan ADD: one more child in the first group. */
  addOne(): void {
    const g = this.firstGroup();
    if (g) this.scale(g.spec.queues, g.desired + 1);
  }

  /** TTOU / Khan REMOVE: one child fewer in the first group. */
  removeOne(): void {
    const g = this.firstGroup();
    if (g && g.desired > 0) this.scale(g.spec.queues, g.desired - 1);
  }

  /** WINCH: every group to zero; the master stays. */
  scaleToZero(): void {
    for (const g of this.groups.values()) g.desired = 0;
    this.log.info('scaling every group to 0');
    this.reconcile();
  }

  pause(): void {
    this.paused = true;
    for (const c of this.children.values()) this.send(c, { act: 'pause' });
    this.log.info('paused every child');
    this.setTitle();
  }

  resume(): void {
    this.paused = false;
    for (const c of this.children.values()) this.send(c, { act: 'resume' });
    this.log.info('resumed every child');
    this.setTitle();
  }

  /** HUP: re-read the configuration; only groups whose entry changed are touched. */
  reload(): void {
    if (!this.o.reload) {
      this.log.info('HUP: nothing to reload (no --config file)');
      return;
    }
    let next: GroupSpec[];
    try {
      next = this.o.reload();
    } catch (e) {
      this.log.error(`HUP: configuration not reloaded: ${coerceError(e).message}`);
      return;
    }
    const seen = new Set<string>();
    for (const spec of next) {
      seen.add(spec.queues);
      const g = this.groups.get(spec.queues);
      if (!g || g.removed) {
        this.groups.set(spec.queues, { spec, desired: spec.count, crashes: 0, nextSpawnAt: 0, removed: false });
        this.log.info(`HUP: new group ${spec.queues}=${spec.count}`);
      } else if (g.spec.count !== spec.count || g.spec.min !== spec.min || g.spec.max !== spec.max) {
        this.log.info(`HUP: group ${spec.queues}: ${g.desired} -> ${spec.count}`);
        g.spec = spec;
        g.desired = spec.count;
      }
    }
    for (const g of this.groups.values()) {
      if (!seen.has(g.spec.queues) && !g.removed) {
        this.log.info(`HUP: group ${g.spec.queues} removed`);
        g.removed = true;
        g.desired = 0;
      }
    }
    this.reconcile();
  }

  info(): MasterInfo {
    const running = (q: string): number => [...this.children.values()].filter(c => c.group === q && !c.intended).length;
    return {
      id: this.id,
      host: this.hostname,
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      paused: this.paused,
      stopping: this.stopping !== null,
      groups: [...this.groups.values()]
        .filter(g => !g.removed || running(g.spec.queues) > 0)
        .map(g => ({ queues: g.spec.queues, desired: g.desired, min: g.spec.min ?? null, max: g.spec.max ?? null, running: running(g.spec.queues) })),
      children: [...this.children.values()].map(c => ({
        pid: c.pid,
        workerId: c.workerId,
        group: c.group,
        startedAt: new Date(c.startedAt).toISOString(),
        rssMb: Math.round(c.rss / 1048576),
        job: c.job ? { className: c.job.className, queue: c.job.queue, since: new Date(c.job.since).toISOString() } : null,
      })),
      autoscale: this.o.autoscale ? { ...this.o.autoscale, last: this.lastScaleDecision } : null,
    };
  }

  /** Applies a command received through Redis. */
  apply(c: MasterCommand): void {
    switch (c.cmd) {
      case 'scale':
        this.scale(c.queues, c.count);
        break;
      case 'add':
        this.addOne();
        break;
      case 'remove':
        this.removeOne();
        break;
      case 'pause':
        this.pause();
        break;
      case 'resume':
        this.resume();
        break;
      case 'stop':
        void this.stop(false, 'ctl stop');
        break;
      case 'reload':
        this.reload();
        break;
    }
  }

  // ---------------------------------------------------------------------------------------

  private firstGroup(): Group | undefined {
    return [...this.groups.values()].find(g => !g.removed);
  }

  private reconcile(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const g of this.groups.values()) {
      const live = [...this.children.values()].filter(c => c.group === g.spec.queues && !c.intended);
      if (live.length < g.desired && now >= g.nextSpawnAt) {
        for (let i = live.length; i < g.desired; i++) this.spawn(g);
      } else if (live.length > g.desired) {
        // Idle children go first, then the youngest.
        const extra = live.sort((a, b) => Number(a.job !== null) - Number(b.job !== null) || b.startedAt - a.startedAt).slice(0, live.length - g.desired);
        for (const c of extra) this.stopChild(c, true, 'scale down');
      }
    }
    this.setTitle();
  }

  private spawn(g: Group): void {
    const cfg: ChildConfig = {
      workerArgs: { ...this.o.workerArgs, queues: g.spec.queues, 'term-timeout': (this.o.termTimeout ?? 10) + 2 },
      masterPid: process.pid,
      maxJobs: this.o.maxJobs ?? null,
      maxMemoryMb: this.o.maxMemoryMb ?? null,
      workerInit: this.o.workerInit ?? null,
      reportEveryJob: (this.o.jobTimeout ?? null) !== null,
    };
    const entry = this.o.childEntry ?? join(__dirname, 'childMain.js');
    // The argument only makes room: Linux keeps a process title within the original argv.
    const proc = fork(entry, [`--title-room=${'.'.repeat(160)}`], {
      execArgv: [...process.execArgv, ...(this.o.childNodeOptions ?? ['--max-semi-space-size=1'])],
      env: { ...process.env, PYRES_CHILD_CONFIG: JSON.stringify(cfg) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pid = proc.pid;
    if (pid === undefined) {
      this.log.error(`could not start a child for ${g.spec.queues}`);
      g.nextSpawnAt = Date.now() + 1000;
      return;
    }
    const child: Child = {
      proc,
      pid,
      group: g.spec.queues,
      workerId: formatWorkerId(this.hostname, pid, parseQueueList(g.spec.queues).map(s => s.raw)),
      startedAt: Date.now(),
      ready: false,
      intended: false,
      recycle: null,
      killedFor: null,
      job: null,
      rss: 0,
      stopSentAt: null,
    };
    this.children.set(pid, child);
    if (this.paused) this.send(child, { act: 'pause' });
    proc.on('message', (m: unknown) => this.onMessage(child, m));
    proc.on('error', e => this.log.warn(`child ${pid}: ${e.message}`));
    proc.on('exit', (code, signal) => void this.onExit(child, code, signal));
    this.log.debug(`started child ${pid} for ${g.spec.queues}`);
  }

  private onMessage(c: Child, m: unknown): void {
    if (!isChildMessage(m)) return;
    switch (m.act) {
      case 'ready':
        c.ready = true;
        c.workerId = m.workerId;
        if (this.groups.get(c.group)) this.emit('child-ready', c.pid);
        if ([...this.children.values()].every(x => x.ready || x.intended)) this.emit('all-ready');
        this.setTitle();
        break;
      case 'job':
        c.job = { className: m.className, queue: m.queue, since: m.since, timeout: m.timeout, abortedAt: null };
        break;
      case 'idle':
        c.job = null;
        c.rss = m.rss;
        break;
      case 'rss':
        c.rss = m.rss;
        break;
      case 'recycle':
        c.recycle = m.reason;
        this.log.info(`child ${c.pid} recycles: ${m.reason}`);
        break;
    }
  }

  private async onExit(c: Child, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.children.delete(c.pid);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const lived = Date.now() - c.startedAt;
    try {
      const exception = c.killedFor?.exception ?? 'Resque::DirtyExit';
      // A job killed for its own fault (timeout, memory) is always a failure: requeued it would loop.
      const policy = c.killedFor ? 'fail' : (this.o.onDirtyExit ?? 'fail');
      const cls = await unregisterDeadWorker(
        this.store,
        c.workerId,
        exception,
        () => c.killedFor?.error ?? (signal ? `Child process received unhandled signal pid ${c.pid} ${signal}` : `Child process ${c.pid} exited with code ${code} while processing`),
        policy,
      );
      if (cls !== null) {
        this.log.warn(`child ${c.pid} ${how} while working on ${cls}; ${policy === 'requeue' ? 'put it back on its queue' : `recorded as ${exception}`}`);
      }
    } catch (e) {
      this.log.error(`cleaning up after child ${c.pid}: ${coerceError(e).message}`);
    }
    const g = this.groups.get(c.group);
    if (!this.stopping && g && !c.intended) {
      if (c.recycle || c.killedFor || c.ready) {
        // Recycled, killed by the master for a limit, or died after it had started working:
        // replaced at once. Only a child that dies before it registers counts as a crash loop.
        g.crashes = 0;
        g.nextSpawnAt = 0;
        if (!c.recycle && !c.killedFor) this.log.warn(`child ${c.pid} (${c.group}) ${how}; respawning`);
      } else if (lived < CRASH_WINDOW_MS) {
        g.crashes += 1;
        const delay = Math.min(30_000, 1000 * 2 ** (g.crashes - 1));
        g.nextSpawnAt = Date.now() + delay;
        this.log.error(
          `child ${c.pid} (${c.group}) ${how} ${(lived / 1000).toFixed(1)}s after start (${g.crashes} in a row); respawning in ${delay / 1000}s. Its own log lines above say why.`,
        );
      } else {
        g.crashes = 0;
        g.nextSpawnAt = 0;
        if (!c.killedFor) this.log.warn(`child ${c.pid} (${c.group}) ${how}; respawning`);
      }
    } else if (g && c.ready && lived >= CRASH_WINDOW_MS) g.crashes = 0;
    if (g?.removed && ![...this.children.values()].some(x => x.group === g.spec.queues)) this.groups.delete(g.spec.queues);
    this.reconcile();
    if (this.stopping && this.children.size === 0) await this.finishStop();
  }

  private stopChild(c: Child, graceful: boolean, reason: string): void {
    c.intended = true;
    c.stopSentAt ??= Date.now();
    if (!this.send(c, { act: 'stop', graceful, reason })) {
      try {
        c.proc.kill(graceful ? 'SIGQUIT' : 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }

  private send(c: Child, m: MasterToChild): boolean {
    if (!c.proc.connected) return false;
    try {
      c.proc.send(m, undefined, {}, () => undefined);
      return true;
    } catch {
      return false;
    }
  }

  private kill(c: Child, why: { exception: string; error: string } | null): void {
    c.killedFor ??= why;
    try {
      c.proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      if (this.stopping) {
        if (this.stopDeadline !== null && now >= this.stopDeadline) {
          for (const c of this.children.values()) {
            if (c.killedFor === null) {
              this.log.warn(`child ${c.pid} still running at the ${this.o.termTimeout ?? 10}s deadline; killing it`);
              this.kill(c, null);
            }
          }
        }
        if (this.children.size === 0) await this.finishStop();
        return;
      }
      this.enforceLimits(now);
      if ([...this.groups.values()].some(g => g.nextSpawnAt > 0 && now >= g.nextSpawnAt)) this.reconcile();
      if (now - this.lastSlowTick >= 1000) {
        this.lastSlowTick = now;
        await this.readCommands();
        await this.advertise();
      }
      if (this.o.autoscale && now - this.lastScale >= this.o.autoscale.interval * 1000) {
        this.lastScale = now;
        await this.autoscale();
      }
    } catch (e) {
      this.log.warn(`master tick: ${coerceError(e).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private enforceLimits(now: number): void {
    const grace = (this.o.timeoutGrace ?? 5) * 1000;
    for (const c of this.children.values()) {
      const j = c.job;
      const limit = j ? (j.timeout ?? this.o.jobTimeout ?? null) : null;
      if (j && limit !== null) {
        if (j.abortedAt === null && now - j.since > limit * 1000) {
          j.abortedAt = now;
          this.log.warn(`child ${c.pid}: ${j.className} has run over its ${limit}s timeout; aborting it (${grace / 1000}s grace)`);
          this.send(c, { act: 'abort-job', reason: `job timeout (${limit}s)` });
        } else if (j.abortedAt !== null && now - j.abortedAt > grace && c.killedFor === null) {
          this.log.warn(`child ${c.pid}: ${j.className} still running ${grace / 1000}s after its timeout; killing the child`);
          c.intended = false;
          this.kill(c, {
            exception: 'JobTimeoutError',
            error: `Job exceeded its ${limit}s timeout; child ${c.pid} was killed (SIGKILL) after a ${grace / 1000}s grace`,
          });
        }
      }
      const max = this.o.maxMemoryMb;
      if (max && c.rss > 2 * max * 1048576 && c.killedFor === null) {
        this.log.warn(`child ${c.pid}: RSS ${Math.round(c.rss / 1048576)} MB is far past --max-memory ${max} MB; killing it`);
        this.kill(c, { exception: 'MemoryLimitError', error: `Child ${c.pid} RSS ${Math.round(c.rss / 1048576)} MB went past twice --max-memory ${max} MB mid-job; killed` });
      }
    }
  }

  private async readCommands(): Promise<void> {
    for (const raw of await this.store.popMasterCommands(this.id)) {
      let c: MasterCommand;
      try {
        c = JSON.parse(raw) as MasterCommand;
      } catch {
        this.log.warn(`ignoring a command that is not JSON: ${raw.slice(0, 100)}`);
        continue;
      }
      this.log.info(`command from Redis: ${raw}`);
      try {
        this.apply(c);
      } catch (e) {
        this.log.warn(`command ${raw} failed: ${coerceError(e).message}`);
      }
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
  }

  private async advertise(): Promise<void> {
    await this.store.advertiseMaster(this.id, JSON.stringify(this.info()), 10);
    const total = [...this.groups.values()].reduce((a, g) => a + g.desired, 0);
    const khan = `${this.hostname}:${process.pid}:${total}`;
    if (khan !== this.khanId) {
      await this.store.renameKhan(this.khanId, khan);
      this.khanId = khan;
    }
  }

  private async autoscale(): Promise<void> {
    const a = this.o.autoscale;
    if (!a) return;
    const now = cpuTimes();
    const cpu = now.total > this.cpuSample.total ? (100 * (now.busy - this.cpuSample.busy)) / (now.total - this.cpuSample.total) : 0;
    this.cpuSample = now;
    const mem = memoryUsedPercent();
    const known = await this.store.queueNames();
    for (const g of this.groups.values()) {
      if (g.removed || g.spec.min === undefined || g.spec.max === undefined) continue;
      const queues = resolveQueues(parseQueueList(g.spec.queues), known);
      const depth = await this.store.queueDepth(queues);
      const kids = [...this.children.values()].filter(c => c.group === g.spec.queues && !c.intended);
      const busy = kids.filter(c => c.job).length;
      const inputs = `depth ${depth}, busy ${busy}/${kids.length}, cpu ${cpu.toFixed(0)}% (max ${a.maxCpu}), mem ${mem.toFixed(0)}% (max ${a.maxMem})`;
      let next = g.desired;
      let why = '';
      if ((cpu > a.maxCpu || mem > a.maxMem) && g.desired > g.spec.min) {
        next = g.desired - 1;
        why = cpu > a.maxCpu ? 'over the CPU cap' : 'over the memory cap';
      } else if (depth > 0 && busy >= kids.length && g.desired < g.spec.max && cpu <= a.maxCpu && mem <= a.maxMem) {
        next = g.desired + 1;
        why = 'work is waiting and every child is busy';
      } else if (depth === 0 && busy < kids.length && g.desired > g.spec.min) {
        next = g.desired - 1;
        why = 'queues are empty and children idle';
      }
      if (next !== g.desired) {
        this.lastScaleDecision = `${new Date().toISOString()} ${g.spec.queues}: ${g.desired} -> ${next} (${why}; ${inputs})`;
        this.log.info(`autoscale ${g.spec.queues}: ${g.desired} -> ${next}: ${why} (${inputs})`);
        g.desired = next;
        this.reconcile();
      } else this.log.debug(`autoscale ${g.spec.queues}: hold at ${g.desired} (${inputs})`);
    }
  }

  private setTitle(): void {
    const pids = [...this.children.values()].filter(c => !c.intended).map(c => c.pid);
    const groups = [...this.groups.values()].filter(g => !g.removed).map(g => `${g.spec.queues}=${g.desired}`).join(' ');
    this.emit('status', `${this.stopping ? 'stopping' : this.paused ? 'paused' : 'managing'} ${groups} children [${pids.join(',')}]`);
  }

  private finishing: Promise<void> | null = null;
  private finishStop(): Promise<void> {
    this.finishing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      if (this.connected) try {
        // Bounded: with Redis unreachable the master still exits (its entry expires in 10 s).
        await withTimeout(
          (async () => {
            await this.store.withdrawMaster(this.id);
            await this.store.renameKhan(this.khanId, null);
          })(),
          3000,
          'Redis did not answer',
        );
      } catch (e) {
        this.log.warn(`withdrawing the master from Redis: ${coerceError(e).message}`);
      }
      await this.store.close().catch(() => undefined);
      this.log.info('stopped');
      this.stoppedResolve();
    })();
    return this.finishing;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

/** Host memory in use, percent: MemAvailable on Linux (page cache is not "used"). */
function memoryUsedPercent(): number {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const total = Number(/MemTotal:\s+(\d+)/.exec(info)?.[1]);
    const avail = Number(/MemAvailable:\s+(\d+)/.exec(info)?.[1]);
    if (total > 0 && avail >= 0) return 100 * (1 - avail / total);
  } catch {
    /* not Linux */
  }
  const os = require('node:os') as typeof import('node:os');
  return 100 * (1 - os.freemem() / os.totalmem());
}
