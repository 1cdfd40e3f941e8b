/**
 * The master's decisions as a pure state machine: fed with events (a tick of the monotonic
 * clock, a child's message, exit or /proc sample, a command), it returns the actions the shell
 * (master.ts) carries out: fork, send, signal, record a dead child's job, log. It does no I/O,
 * reads no clock and touches no process: every rule here is unit-tested in milliseconds.
 *
 * Times are milliseconds of a monotonic clock (`performance.now()` in the shell).
 */
import type { AutoscaleConfig, DirtyExitPolicy, GroupSpec, MasterConfig } from '../config/types';
import type { ChildToMaster, MasterToChild } from './ipc';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Action =
  | { type: 'spawn'; group: string }
  | { type: 'send'; pid: number; msg: MasterToChild }
  | { type: 'signal'; pid: number; signal: 'SIGKILL' | 'SIGTERM' | 'SIGQUIT' }
  /** A child is gone: unregister it, writing its held job (if any) as this failure or requeue. */
  | { type: 'record'; pid: number; workerId: string; how: string; exception: string; error: string; policy: DirtyExitPolicy }
  | { type: 'log'; level: LogLevel; msg: string }
  | { type: 'child-ready'; pid: number }
  | { type: 'all-ready' }
  /** Every child is gone after a stop: the shell withdraws the master and exits. */
  | { type: 'finished' };

/** A child's life: forked → registered → asked to go → killed (by the master) → gone. */
export type ChildPhase = 'starting' | 'ready' | 'stopping' | 'killed';

export interface ChildJob {
  seq: number;
  className: string;
  queue: string;
  /** When the master heard of it (monotonic ms). */
  since: number;
  /** The job's own timeout in seconds, if it has one. */
  timeout: number | null;
  abortedAt: number | null;
}

export interface ChildHandle {
  readonly pid: number;
  readonly group: string;
  workerId: string;
  /**
   * Every job slot's worker id (`--concurrency`, slot 0 = workerId): a dead child's
   * registrations and held jobs are cleaned up for each.
   */
  slotIds: string[];
  phase: ChildPhase;
  readonly startedAt: number;
  /** The oldest running job of any slot (what `ctl status` shows), or null. */
  job: ChildJob | null;
  /** Each busy slot's job, by slot index (a child without slots: slot 0 only). */
  slotJobs: Map<number, ChildJob>;
  /** From /proc, sampled by the shell. */
  rss: number;
  cpuPercent: number;
  /** Why it is being recycled (it asked), if it is. */
  recycle: string | null;
  /**
   * Why the master killed it (a limit): its job is then that failure. With `slot`, only that
   * slot's job (a timeout); the other slots' jobs are dirty exits.
   */
  killedFor: { exception: string; error: string; slot?: number } | null;
  /** The reason a child gave for not being able to start. */
  fatal: string | null;
  stopSentAt: number | null;
}

export interface CrashInfo {
  reason: string;
  count: number;
  /** Monotonic ms of the last crash. */
  at: number;
}

interface GroupState {
  spec: GroupSpec;
  desired: number;
  /** Forks asked for and not yet reported as spawned or failed. */
  pending: number;
  crashes: number;
  nextSpawnAt: number;
  removed: boolean;
  /** Scaled to zero by WINCH: HUP brings it back to its configured size. */
  winched: boolean;
  lastCrash: CrashInfo | null;
  /** Autoscale hysteresis: the last sample's verdict and how many in a row. */
  trend: { dir: 'up' | 'down' | 'hold'; n: number };
  lastScaleAt: number;
}

export type MasterCommand =
  | { cmd: 'scale'; queues: string; count: number }
  | { cmd: 'stop'; graceful?: boolean }
  | { cmd: 'add' | 'remove' | 'pause' | 'resume' | 'reload' };

export interface AutoscaleSample {
  /** Host CPU use, percent. */
  cpu: number;
  /** Host memory use, percent. */
  mem: number;
  /** Queue depth per group (by its queue list); a group missing here is left alone. */
  depth: ReadonlyMap<string, number>;
}

/** The supervisor's part of MasterConfig. */
export type SupervisorConfig = Pick<
  MasterConfig,
  'groups' | 'termTimeout' | 'jobTimeout' | 'timeoutGrace' | 'maxMemoryMb' | 'autoscale' | 'maxChildren' | 'winch'
> & { onDirtyExit: DirtyExitPolicy };

/** A child that dies within this long of its start, before registering, counts as a crash. */
export const CRASH_WINDOW_MS = 5000;
/** A tick this long after the previous one means the master was stopped or starved. */
export const STALL_MS = 2000;
/** A child using this much CPU (percent of one core) counts as busy, whatever it has reported. */
export const BUSY_CPU_PERCENT = 50;
const MB = 1048576;

export class Supervisor {
  readonly groups = new Map<string, GroupState>();
  readonly children = new Map<number, ChildHandle>();
  paused = false;
  stopping: 'graceful' | 'abort' | null = null;
  stopDeadline: number | null = null;
  lastScaleDecision: string | null = null;
  private lastTickAt: number | null = null;
  /** The last tick was a stall's: the next one enforces, however late it is. */
  private stallCredited = false;
  private allReadyTold = false;

  constructor(private readonly cfg: SupervisorConfig) {
    for (const g of cfg.groups) this.groups.set(g.queues, newGroup(g));
  }

  // ---- queries -------------------------------------------------------------------------------

  /** Children not asked to go. */
  live(group?: string): ChildHandle[] {
    return [...this.children.values()].filter(c => (group === undefined || c.group === group) && (c.phase === 'starting' || c.phase === 'ready'));
  }

  get readyCount(): number {
    return [...this.children.values()].filter(c => c.phase === 'ready').length;
  }

  /** `managing p10,p9=2 children [12,13]`, for the process title. */
  describe(): string {
    const pids = this.live().map(c => c.pid);
    const groups = [...this.groups.values()]
      .filter(g => !g.removed)
      .map(g => `${g.spec.queues}=${g.desired}`)
      .join(' ');
    return `${this.stopping ? 'stopping' : this.paused ? 'paused' : 'managing'} ${groups} children [${pids.join(',')}]`;
  }

  /** The groups as they stand now (sizes included), for a reload without a file. */
  groupSpecs(): GroupSpec[] {
    return [...this.groups.values()].filter(g => !g.removed).map(g => ({ ...g.spec, count: g.winched ? g.spec.count : g.desired }));
  }

  totalDesired(): number {
    return [...this.groups.values()].reduce((a, g) => a + (g.removed ? 0 : g.desired), 0);
  }

  isBusy(c: ChildHandle): boolean {
    return c.job !== null || c.cpuPercent >= BUSY_CPU_PERCENT;
  }

  // ---- events --------------------------------------------------------------------------------

  /** The first decisions: fork every group's children. */
  start(now: number): Action[] {
    this.lastTickAt = now;
    return this.reconcile(now);
  }

  /** `slotIds`: every job slot's id (`--concurrency`); default [workerId]. */
  childSpawned(group: string, pid: number, workerId: string, now: number, slotIds?: readonly string[]): Action[] {
    const g = this.groups.get(group);
    if (g) g.pending = Math.max(0, g.pending - 1);
    this.children.set(pid, {
      pid,
      group,
      workerId,
      slotIds: slotIds && slotIds.length > 0 ? [...slotIds] : [workerId],
      phase: 'starting',
      startedAt: now,
      job: null,
      slotJobs: new Map(),
      rss: 0,
      cpuPercent: 0,
      recycle: null,
      killedFor: null,
      fatal: null,
      stopSentAt: null,
    });
    const out: Action[] = [{ type: 'log', level: 'debug', msg: `started child ${pid} for ${group}` }];
    if (this.paused) out.push({ type: 'send', pid, msg: { act: 'pause' } });
    // A group scaled down (or a stop) while the fork was under way.
    if (this.stopping) out.push(...this.stopChild(this.children.get(pid)!, this.stopping === 'graceful', 'stopping', now));
    else out.push(...this.reconcile(now));
    return out;
  }

  spawnFailed(group: string, error: string, now: number): Action[] {
    const g = this.groups.get(group);
    if (!g) return [];
    g.pending = Math.max(0, g.pending - 1);
    g.nextSpawnAt = now + 1000;
    return [{ type: 'log', level: 'error', msg: `could not start a child for ${group} (${error}); trying again in 1s` }];
  }

  childMessage(pid: number, m: ChildToMaster, now: number): Action[] {
    const c = this.children.get(pid);
    if (!c) return [];
    const out: Action[] = [];
    switch (m.act) {
      case 'ready': {
        if (c.slotIds[0] === c.workerId) c.slotIds[0] = m.workerId;
        c.workerId = m.workerId;
        if (c.phase === 'starting') c.phase = 'ready';
        const g = this.groups.get(c.group);
        if (g) g.lastCrash = null;
        out.push({ type: 'child-ready', pid });
        if (!this.allReadyTold && this.totalDesired() > 0 && this.live().length >= this.totalDesired() && this.live().every(x => x.phase === 'ready')) {
          this.allReadyTold = true;
          out.push({ type: 'all-ready' });
        }
        break;
      }
      case 'job':
        c.slotJobs.set(m.slot ?? 0, { seq: m.seq, className: m.className, queue: m.queue, since: now, timeout: m.timeout, abortedAt: null });
        c.job = oldestJob(c);
        break;
      case 'idle': {
        const j = c.slotJobs.get(m.slot ?? 0);
        if (j && j.seq <= m.seq) c.slotJobs.delete(m.slot ?? 0);
        c.job = oldestJob(c);
        break;
      }
      case 'recycle':
        c.recycle = m.reason;
        out.push({ type: 'log', level: 'info', msg: `child ${pid} recycles: ${m.reason}` });
        break;
      case 'fatal':
        c.fatal = m.reason;
        break;
    }
    return out;
  }

  /** RSS (bytes) and CPU (percent of one core since the last sample) read from /proc. */
  sample(pid: number, rss: number, cpuPercent: number): void {
    const c = this.children.get(pid);
    if (!c) return;
    c.rss = rss;
    c.cpuPercent = cpuPercent;
  }

  childExited(pid: number, code: number | null, signal: string | null, now: number): Action[] {
    const c = this.children.get(pid);
    if (!c) return [];
    this.children.delete(pid);
    const out: Action[] = [];
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const lived = now - c.startedAt;
    // A job killed for its own fault (timeout, memory) is always a failure: requeued, it would loop.
    // With job slots, every slot's registration and held job (the master knows their ids).
    c.slotIds.forEach((workerId, slot) => {
      const own = c.killedFor && (c.killedFor.slot === undefined || c.killedFor.slot === slot) ? c.killedFor : null;
      const dirty = signal ? `Child process received unhandled signal pid ${pid} ${signal}` : `Child process ${pid} exited with code ${code} while processing`;
      out.push({
        type: 'record',
        pid,
        workerId,
        how,
        exception: own?.exception ?? 'Resque::DirtyExit',
        error: own?.error ?? (c.killedFor ? `${dirty} (killed for another job slot: ${c.killedFor.error})` : dirty),
        policy: own ? 'fail' : this.cfg.onDirtyExit,
      });
    });
    const g = this.groups.get(c.group);
    const asked = c.phase === 'stopping' || (c.phase === 'killed' && c.killedFor === null);
    if (!this.stopping && g && !asked) {
      // A child that never registered (or said why it cannot start) is a crash whatever its
      // age: a --worker-init that times out after 6 s must not respawn at once, forever.
      const failedAtStart = c.phase === 'starting' || c.fatal !== null;
      if (!failedAtStart && (c.recycle || c.killedFor || c.phase === 'ready')) {
        // Recycled, killed for a limit, or died after it had registered: replaced at once.
        // Only a child that dies before it registers counts towards a crash loop.
        g.crashes = 0;
        g.nextSpawnAt = 0;
        if (!c.recycle && !c.killedFor) out.push({ type: 'log', level: 'warn', msg: `child ${pid} (${c.group}) ${how}; respawning` });
      } else if (failedAtStart || lived < CRASH_WINDOW_MS) {
        g.crashes += 1;
        const delay = Math.min(30_000, 1000 * 2 ** (g.crashes - 1));
        g.nextSpawnAt = now + delay;
        const reason = c.fatal ?? `${how} ${(lived / 1000).toFixed(1)}s after start, before it registered`;
        g.lastCrash = { reason, count: g.crashes, at: now };
        out.push({
          type: 'log',
          level: 'error',
          msg: `child ${pid} (${c.group}) ${how} ${(lived / 1000).toFixed(1)}s after start (${g.crashes} in a row); respawning in ${delay / 1000}s: ${reason}`,
        });
      } else {
        g.crashes = 0;
        g.nextSpawnAt = 0;
        out.push({ type: 'log', level: 'warn', msg: `child ${pid} (${c.group}) ${how}; respawning` });
      }
    }
    if (g?.removed && !this.childrenOf(g.spec.queues).length && g.pending === 0) this.groups.delete(g.spec.queues);
    out.push(...this.reconcile(now));
    if (this.stopping && this.children.size === 0) out.push({ type: 'finished' });
    return out;
  }

  /**
   * Deadlines and limits, on the monotonic clock; needs neither Redis nor the children's
   * event loops. A tick long after the previous one (the master was SIGSTOPped or starved)
   * only notes the stall: the children's messages queued meanwhile are read before any limit
   * is enforced, so a job that finished during the stall is not taken for a timed-out one.
   */
  tick(now: number): Action[] {
    const out: Action[] = [];
    const stalled = this.lastTickAt !== null && now - this.lastTickAt > STALL_MS && !this.stallCredited;
    this.stallCredited = stalled;
    if (stalled) {
      out.push({
        type: 'log',
        level: 'warn',
        msg: `the master did not run for ${((now - (this.lastTickAt ?? now)) / 1000).toFixed(1)}s; reading the children before enforcing limits`,
      });
    }
    this.lastTickAt = now;
    if (stalled && !this.stopping) {
      // Job clocks restart: time spent stalled is not held against the jobs.
      for (const c of this.children.values()) for (const j of c.slotJobs.values()) if (j.abortedAt === null) j.since = Math.max(j.since, now - STALL_MS);
      return out;
    }
    if (this.stopping) {
      if (this.stopDeadline !== null && now >= this.stopDeadline) {
        for (const c of this.children.values()) {
          if (c.phase !== 'killed') {
            out.push({ type: 'log', level: 'warn', msg: `child ${c.pid} still running at the ${this.cfg.termTimeout}s deadline; killing it` });
            c.phase = 'killed';
            out.push({ type: 'signal', pid: c.pid, signal: 'SIGKILL' });
          }
        }
      }
      if (this.children.size === 0) out.push({ type: 'finished' });
      return out;
    }
    const limits = this.enforceLimits(now);
    out.push(...limits);
    // A child killed or recycled for a limit is replaced at once; a group in backoff when due.
    if (limits.length > 0 || [...this.groups.values()].some(g => g.nextSpawnAt > 0 && now >= g.nextSpawnAt)) out.push(...this.reconcile(now));
    return out;
  }

  stop(graceful: boolean, reason: string, now: number): Action[] {
    if (this.stopping && (graceful || this.stopping === 'abort')) return [];
    this.stopping = graceful ? 'graceful' : 'abort';
    this.stopDeadline ??= now + this.cfg.termTimeout * 1000;
    const out: Action[] = [
      {
        type: 'log',
        level: 'info',
        msg: `${reason}: stopping ${this.children.size} children (${graceful ? 'finishing their jobs' : 'aborting their jobs'}), deadline ${this.cfg.termTimeout}s`,
      },
    ];
    for (const c of this.children.values()) out.push(...this.stopChild(c, graceful, reason, now, true));
    if (this.children.size === 0) out.push({ type: 'finished' });
    return out;
  }

  command(c: MasterCommand, now: number): Action[] {
    switch (c.cmd) {
      case 'scale':
        return this.scale(c.queues, c.count, now);
      case 'add': {
        const g = this.firstGroup();
        return g ? this.scale(g.spec.queues, g.desired + 1, now) : [];
      }
      case 'remove': {
        const g = this.firstGroup();
        return g && g.desired > 0 ? this.scale(g.spec.queues, g.desired - 1, now) : [];
      }
      case 'pause':
      case 'resume': {
        this.paused = c.cmd === 'pause';
        const out: Action[] = [...this.children.values()].map(x => ({ type: 'send' as const, pid: x.pid, msg: { act: c.cmd } as MasterToChild }));
        out.push({ type: 'log', level: 'info', msg: `${c.cmd === 'pause' ? 'paused' : 'resumed'} every child` });
        return out;
      }
      case 'stop':
        return this.stop(c.graceful ?? false, c.graceful ? 'ctl stop --graceful' : 'ctl stop', now);
      case 'reload':
        return [{ type: 'log', level: 'warn', msg: 'reload needs the configuration: the shell passes it to reload()' }];
    }
  }

  /** Sets a group's size (creates the group when it is new). Refused past maxChildren. */
  scale(queues: string, count: number, now: number): Action[] {
    if (!Number.isInteger(count) || count < 0) return [{ type: 'log', level: 'warn', msg: `scale ${queues}: ${count} is not a worker count; ignored` }];
    const g = this.groups.get(queues);
    const others = this.totalDesired() - (g && !g.removed ? g.desired : 0);
    if (others + count > this.cfg.maxChildren) {
      return [
        {
          type: 'log',
          level: 'warn',
          msg: `scale ${queues} to ${count} refused: it would make ${others + count} children, over --max-children ${this.cfg.maxChildren}`,
        },
      ];
    }
    let grp = g;
    if (!grp) {
      grp = newGroup({ queues, count });
      this.groups.set(queues, grp);
    }
    grp.removed = false;
    grp.winched = false;
    if (grp.spec.max !== undefined && count > grp.spec.max) grp.spec = { ...grp.spec, max: count };
    if (grp.spec.min !== undefined && count < grp.spec.min) grp.spec = { ...grp.spec, min: count };
    const out: Action[] = [{ type: 'log', level: 'info', msg: `scale ${queues}: ${grp.desired} -> ${count}${autoscaleHold(this.cfg.autoscale, grp.spec)}` }];
    // An autoscaled group keeps a manual size through one cooldown before autoscale may move it.
    if (this.cfg.autoscale && grp.spec.min !== undefined) {
      grp.lastScaleAt = now;
      grp.trend = { dir: 'hold', n: 0 };
    }
    grp.desired = count;
    out.push(...this.reconcile(now));
    return out;
  }

  /** SIGWINCH: every group to zero, only when configured to honour it (a daemonized master). */
  winch(now: number): Action[] {
    if (!this.cfg.winch) {
      return [
        {
          type: 'log',
          level: 'info',
          msg: 'SIGWINCH ignored: a foreground master gets one whenever its terminal is resized (pass --winch to scale to zero on it)',
        },
      ];
    }
    for (const g of this.groups.values()) {
      if (g.desired > 0) g.winched = true;
      g.desired = 0;
    }
    return [{ type: 'log', level: 'info', msg: 'SIGWINCH: scaling every group to 0 (HUP brings them back)' }, ...this.reconcile(now)];
  }

  /** HUP with the re-read configuration: changed groups are resized, WINCHed ones restored. */
  reload(next: GroupSpec[] | Error, now: number): Action[] {
    if (next instanceof Error) return [{ type: 'log', level: 'error', msg: `HUP: configuration not reloaded: ${next.message}` }];
    const out: Action[] = [];
    const total = next.reduce((a, s) => a + s.count, 0);
    if (total > this.cfg.maxChildren) {
      return [{ type: 'log', level: 'error', msg: `HUP: configuration not reloaded: ${total} children is over --max-children ${this.cfg.maxChildren}` }];
    }
    const seen = new Set<string>();
    for (const spec of next) {
      seen.add(spec.queues);
      const g = this.groups.get(spec.queues);
      if (!g || g.removed) {
        const fresh = newGroup(spec);
        if (g) fresh.pending = g.pending;
        this.groups.set(spec.queues, fresh);
        out.push({ type: 'log', level: 'info', msg: `HUP: new group ${spec.queues}=${spec.count}` });
      } else if (
        g.spec.count !== spec.count ||
        g.spec.min !== spec.min ||
        g.spec.max !== spec.max ||
        JSON.stringify(g.spec.concurrency) !== JSON.stringify(spec.concurrency) ||
        g.winched
      ) {
        out.push({ type: 'log', level: 'info', msg: `HUP: group ${spec.queues}: ${g.desired} -> ${spec.count}` });
        g.spec = spec;
        g.desired = spec.count;
        g.winched = false;
      }
    }
    for (const g of this.groups.values()) {
      if (!seen.has(g.spec.queues) && !g.removed) {
        out.push({ type: 'log', level: 'info', msg: `HUP: group ${g.spec.queues} removed` });
        g.removed = true;
        g.desired = 0;
      }
    }
    out.push(...this.reconcile(now));
    return out;
  }

  /**
   * One autoscale decision per group with a range. A child counts as busy when it reported a
   * job or burns CPU (a job that blocks its event loop reports nothing). Hysteresis: a group
   * grows or shrinks only when two samples in a row agree, and holds for one interval after
   * any change.
   */
  autoscale(s: AutoscaleSample, now: number): Action[] {
    const a = this.cfg.autoscale;
    if (!a || this.stopping) return [];
    const out: Action[] = [];
    for (const g of this.groups.values()) {
      if (g.removed || g.spec.min === undefined || g.spec.max === undefined) continue;
      const depth = s.depth.get(g.spec.queues);
      if (depth === undefined) continue;
      const kids = this.live(g.spec.queues);
      const busy = kids.filter(c => this.isBusy(c)).length;
      const inputs = `depth ${depth}, busy ${busy}/${kids.length}, cpu ${s.cpu.toFixed(0)}% (max ${a.maxCpu}), mem ${s.mem.toFixed(0)}% (max ${a.maxMem})`;
      const verdict = decide(g, a, s, depth, busy, kids.length);
      if (verdict.dir === g.trend.dir) g.trend.n += 1;
      else g.trend = { dir: verdict.dir, n: 1 };
      const cooling = now - g.lastScaleAt < a.interval * 1000 * 1.5;
      if (verdict.dir === 'hold' || g.trend.n < 2 || cooling) {
        out.push({
          type: 'log',
          level: 'debug',
          msg: `autoscale ${g.spec.queues}: hold at ${g.desired} (${verdict.dir === 'hold' ? 'steady' : cooling ? `${verdict.why}, cooling down` : `${verdict.why}, waiting for a second sample`}; ${inputs})`,
        });
        continue;
      }
      const next = g.desired + (verdict.dir === 'up' ? 1 : -1);
      if (verdict.dir === 'up' && this.totalDesired() + 1 > this.cfg.maxChildren) {
        out.push({ type: 'log', level: 'warn', msg: `autoscale ${g.spec.queues}: not growing past --max-children ${this.cfg.maxChildren}` });
        continue;
      }
      this.lastScaleDecision = `${g.spec.queues}: ${g.desired} -> ${next} (${verdict.why}; ${inputs})`;
      out.push({ type: 'log', level: 'info', msg: `autoscale ${g.spec.queues}: ${g.desired} -> ${next}: ${verdict.why} (${inputs})` });
      g.desired = next;
      g.lastScaleAt = now;
      g.trend = { dir: 'hold', n: 0 };
      out.push(...this.reconcile(now));
    }
    return out;
  }

  // ---- rules ---------------------------------------------------------------------------------

  private enforceLimits(now: number): Action[] {
    const out: Action[] = [];
    const grace = this.cfg.timeoutGrace * 1000;
    for (const c of this.children.values()) {
      if (c.phase === 'killed') continue;
      let killed = false;
      for (const [slot, j] of c.slotJobs) {
        const limit = j.timeout ?? this.cfg.jobTimeout;
        if (limit === null) continue;
        const where = slot > 0 ? ` (slot ${slot})` : '';
        if (j.abortedAt === null && now - j.since > limit * 1000) {
          j.abortedAt = now;
          out.push({
            type: 'log',
            level: 'warn',
            msg: `child ${c.pid}${where}: ${j.className} has run over its ${limit}s timeout; aborting it (${grace / 1000}s grace) [job ${j.seq}]`,
          });
          out.push({
            type: 'send',
            pid: c.pid,
            msg: { act: 'abort-job', seq: j.seq, kind: 'timeout', reason: `Job exceeded its ${limit}s timeout`, ...(slot > 0 ? { slot } : {}) },
          });
        } else if (j.abortedAt !== null && now - j.abortedAt > grace) {
          out.push({
            type: 'log',
            level: 'warn',
            msg: `child ${c.pid}${where}: ${j.className} still running ${grace / 1000}s after its timeout; killing the child [job ${j.seq}]`,
          });
          out.push(
            ...this.kill(c, {
              exception: 'JobTimeoutError',
              error: `Job exceeded its ${limit}s timeout; child ${c.pid} was killed (SIGKILL) after a ${grace / 1000}s grace`,
              ...(c.slotIds.length > 1 ? { slot } : {}),
            }),
          );
          killed = true;
          break;
        }
      }
      if (killed) continue;
      const max = this.cfg.maxMemoryMb;
      if (max && c.rss > 2 * max * MB && (c.job !== null || this.isBusy(c))) {
        const mb = Math.round(c.rss / MB);
        out.push({ type: 'log', level: 'warn', msg: `child ${c.pid}: RSS ${mb} MB is far past --max-memory ${max} MB; killing it` });
        out.push(
          ...this.kill(c, { exception: 'MemoryLimitError', error: `Child ${c.pid} RSS ${mb} MB went past twice --max-memory ${max} MB mid-job; killed` }),
        );
      } else if (max && c.rss > max * MB && c.job === null && c.phase === 'ready' && c.recycle === null && !this.isBusy(c)) {
        c.recycle = `RSS ${Math.round(c.rss / MB)} MB is over --max-memory ${max} MB`;
        out.push({ type: 'log', level: 'info', msg: `child ${c.pid} recycles: ${c.recycle}` });
        out.push(...this.stopChild(c, true, 'recycle', now));
      }
    }
    return out;
  }

  private kill(c: ChildHandle, why: { exception: string; error: string; slot?: number }): Action[] {
    c.killedFor ??= why;
    c.phase = 'killed';
    return [{ type: 'signal', pid: c.pid, signal: 'SIGKILL' }];
  }

  /** A group's current spec (its queue list is the key), for the shell's fork. */
  groupSpec(queues: string): GroupSpec | undefined {
    return this.groups.get(queues)?.spec;
  }

  private firstGroup(): GroupState | undefined {
    return [...this.groups.values()].find(g => !g.removed);
  }

  private childrenOf(group: string): ChildHandle[] {
    return [...this.children.values()].filter(c => c.group === group);
  }

  private reconcile(now: number): Action[] {
    if (this.stopping) return [];
    const out: Action[] = [];
    for (const g of this.groups.values()) {
      const live = this.live(g.spec.queues);
      const have = live.length + g.pending;
      if (have < g.desired && now >= g.nextSpawnAt) {
        for (let i = have; i < g.desired; i++) {
          g.pending += 1;
          out.push({ type: 'spawn', group: g.spec.queues });
        }
      } else if (live.length > g.desired) {
        // Idle children go first, then the youngest.
        const extra = live.sort((a, b) => Number(this.isBusy(a)) - Number(this.isBusy(b)) || b.startedAt - a.startedAt).slice(0, live.length - g.desired);
        for (const c of extra) out.push(...this.stopChild(c, true, 'scale down', now));
      }
    }
    return out;
  }

  /** Asks a child to go: it no longer counts as live (a replacement may start), and its exit is no crash. */
  private stopChild(c: ChildHandle, graceful: boolean, reason: string, now: number, force = false): Action[] {
    if (c.phase === 'killed') return [];
    if (c.phase === 'stopping' && !force) return [];
    c.phase = 'stopping';
    c.stopSentAt ??= now;
    return [{ type: 'send', pid: c.pid, msg: { act: 'stop', graceful, reason } }];
  }

  /** What `ctl status` and the dashboard show of the groups and children. */
  snapshot(now: number): {
    groups: Array<{
      queues: string;
      desired: number;
      min: number | null;
      max: number | null;
      running: number;
      lastCrash: { reason: string; count: number; secondsAgo: number } | null;
    }>;
    children: Array<{
      pid: number;
      workerId: string;
      group: string;
      phase: ChildPhase;
      ageMs: number;
      rssMb: number;
      cpuPercent: number;
      job: { seq: number; className: string; queue: string; runningMs: number } | null;
    }>;
  } {
    return {
      groups: [...this.groups.values()]
        .filter(g => !g.removed || this.live(g.spec.queues).length > 0)
        .map(g => ({
          queues: g.spec.queues,
          desired: g.desired,
          min: g.spec.min ?? null,
          max: g.spec.max ?? null,
          running: this.live(g.spec.queues).length,
          lastCrash:
            g.lastCrash && g.crashes > 0
              ? { reason: g.lastCrash.reason, count: g.lastCrash.count, secondsAgo: Math.round((now - g.lastCrash.at) / 1000) }
              : null,
        })),
      children: [...this.children.values()].map(c => ({
        pid: c.pid,
        workerId: c.workerId,
        group: c.group,
        phase: c.phase,
        ageMs: now - c.startedAt,
        rssMb: Math.round(c.rss / MB),
        cpuPercent: Math.round(c.cpuPercent),
        job: c.job ? { seq: c.job.seq, className: c.job.className, queue: c.job.queue, runningMs: now - c.job.since } : null,
      })),
    };
  }
}

function newGroup(spec: GroupSpec): GroupState {
  return {
    spec,
    desired: spec.count,
    pending: 0,
    crashes: 0,
    nextSpawnAt: 0,
    removed: false,
    winched: false,
    lastCrash: null,
    trend: { dir: 'hold', n: 0 },
    lastScaleAt: -Infinity,
  };
}

function decide(
  g: GroupState,
  a: AutoscaleConfig,
  s: AutoscaleSample,
  depth: number,
  busy: number,
  kids: number,
): { dir: 'up' | 'down' | 'hold'; why: string } {
  const min = g.spec.min ?? 0;
  const max = g.spec.max ?? g.desired;
  if ((s.cpu > a.maxCpu || s.mem > a.maxMem) && g.desired > min) return { dir: 'down', why: s.cpu > a.maxCpu ? 'over the CPU cap' : 'over the memory cap' };
  if (depth > 0 && busy >= kids && g.desired < max && s.cpu <= a.maxCpu && s.mem <= a.maxMem)
    return { dir: 'up', why: 'work is waiting and every child is busy' };
  if (depth === 0 && busy < kids && g.desired > min) return { dir: 'down', why: 'queues are empty and children idle' };
  return { dir: 'hold', why: 'steady' };
}

/**
 * What a manual scale of an autoscaled group is told: autoscale leaves it alone for one cooldown
 * (1.5 x the interval), then may move it within min..max again (after two agreeing samples).
 */
export function autoscaleHold(a: { interval: number } | null | undefined, spec: { min?: number; max?: number }): string {
  if (!a || spec.min === undefined || spec.max === undefined) return '';
  return `; autoscale holds it for at least ${autoscaleHoldSeconds(a.interval)} s, then may move it within ${spec.min}..${spec.max}`;
}

/** Seconds a manual size surely holds against autoscale: its cooldown, 1.5 x the interval. */
export function autoscaleHoldSeconds(interval: number): number {
  return Math.round(interval * 1.5 * 10) / 10;
}

/** The job of a child's slots that has run longest (what one-job views show), or null. */
function oldestJob(c: ChildHandle): ChildJob | null {
  let best: ChildJob | null = null;
  for (const j of c.slotJobs.values()) if (!best || j.since < best.since) best = j;
  return best;
}
