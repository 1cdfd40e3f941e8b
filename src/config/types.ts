/**
 * The typed configuration of a worker and of a master, after defaults and validation
 * (`resolveWorkerConfig`, `resolveMasterConfig`). The CLI, the library and a master's child
 * all build their Worker and Master from these; a child receives a serialised ChildSpec,
 * never CLI argv. Everything here is plain data (JSON-serialisable).
 */
import type { LogFormat, LogLevel } from '../logging/logger';
import type { FailureBackend } from '../protocol/keys';
import type { ConnectionOptions } from '../store/connection';

export type DirtyExitPolicy = 'fail' | 'requeue';
export type { FailureBackend } from '../protocol/keys';

/** One group of identical children: the queue list they work and how many there are. */
export interface GroupSpec {
  /** The queue list as given, `p10,p9`; also the group's key. */
  readonly queues: string;
  readonly count: number;
  /** With autoscaling: the bounds (count starts at min). */
  readonly min?: number;
  readonly max?: number;
  /** Job slots per child (`p10,p9=2x25`, since issue 15); absent: the master's --concurrency. */
  readonly concurrency?: SlotRange;
}

/**
 * Job slots per process (`--concurrency`): `min === max` is a fixed count; a range autoscales
 * by event-loop utilisation (starting at min). 1..64.
 */
export interface SlotRange {
  readonly min: number;
  readonly max: number;
}

export interface WorkerConfig {
  /** Queues in priority order, as given: `p10,p9`, `*`, `p*`, `!skip` (validated). */
  queues: string;
  /** Absolute paths of the job modules. */
  jobs: string[];
  connection: ConnectionOptions;
  /** @defaultValue 'resque' */
  namespace: string;
  /** @defaultValue false */
  nonblockingPop: boolean;
  /** Seconds. @defaultValue 1 */
  backoffMin: number;
  /** Seconds. @defaultValue 8 */
  backoffMax: number;
  /** Longest single wait in blocking mode, seconds. @defaultValue 5 */
  blockTimeout: number;
  /** Exit when every queue is empty. @defaultValue false */
  drain: boolean;
  /** Seconds a job gets after TERM/INT/USR1 before it is recorded as a dirty exit. @defaultValue 4 */
  termTimeout: number;
  /** Seconds between heartbeats (Ruby's Resque.heartbeat_interval). @defaultValue 60 */
  heartbeatInterval: number;
  /** A heartbeat older than this many seconds marks a worker dead (Ruby's Resque.prune_interval). @defaultValue 300 */
  pruneInterval: number;
  /** @defaultValue 'fail' */
  onDirtyExit: DirtyExitPolicy;
  /** Job args decoded losslessly (big integers as BigInt); a job's `lossless` property wins. @defaultValue false */
  losslessArgs: boolean;
  /** Pyres `@D:` date strings decoded into Dates; a job's `pyresDates` property wins. @defaultValue false */
  pyresDates: boolean;
  /**
   * After each finish-and-reserve step, `WAIT` until this many replicas have it, before the
   * reserved job runs (0: no WAIT). See README, "Sentinel". @defaultValue 0
   */
  waitReplicas: number;
  /** Milliseconds each WAIT may take (with waitReplicas). @defaultValue 100 */
  waitTimeout: number;
  /**
   * Where failure records go: 'redis' (the `failed` list) or 'redis_multi_queue' (`<queue>_failed`
   * lists named in `failed_queues`), as Ruby's FAILURE_BACKEND. @defaultValue 'redis'
   */
  failureBackend: FailureBackend;
  /** Job slots (`--concurrency`, since issue 15). Absent: 1, one job at a time, as before. */
  concurrency?: SlotRange;
  /** @defaultValue 'info' */
  logLevel: LogLevel;
  /** Append the log here instead of stderr. @defaultValue null */
  logFile: string | null;
  /** `--log-format`: text lines or one JSON object per line; a master's children inherit it. @defaultValue 'text' */
  logFormat?: LogFormat;
}

export interface AutoscaleConfig {
  /** Host CPU use (percent) above which no child is added and one is removed. @defaultValue 80 */
  maxCpu: number;
  /** Host memory use (percent) likewise. @defaultValue 90 */
  maxMem: number;
  /** Seconds between decisions. @defaultValue 10 */
  interval: number;
}

export interface MasterConfig {
  groups: GroupSpec[];
  /** What every child's worker gets; `queues` is set per group, `drain` is always false. */
  worker: Omit<WorkerConfig, 'queues' | 'drain'>;
  /** Seconds children get to stop before SIGKILL. @defaultValue 10 */
  termTimeout: number;
  /** Seconds a job may run (a job's own `timeout` property wins). @defaultValue null */
  jobTimeout: number | null;
  /** Seconds between aborting a timed-out job and killing its child. @defaultValue 5 */
  timeoutGrace: number;
  /** RSS in MB: recycle a child after its job; kill it mid-job at twice this. @defaultValue null */
  maxMemoryMb: number | null;
  /** Recycle a child after this many jobs. @defaultValue null */
  maxJobs: number | null;
  /** Absolute path of a module each child runs before its first job. @defaultValue null */
  workerInit: string | null;
  /** @defaultValue null (off) */
  autoscale: AutoscaleConfig | null;
  /** Node options for the children. @defaultValue ['--max-semi-space-size=1'] */
  childNodeOptions: string[];
  /** Ceiling on children across groups; a scale or Khan ADD past it is refused. @defaultValue 100 */
  maxChildren: number;
  /** Honour SIGWINCH (scale every group to zero). Only meaningful for a daemonized master. @defaultValue false */
  winch: boolean;
  /** @defaultValue os.hostname() */
  hostname: string;
  /** Milliseconds between starting two children (resque-pool's --spawn-delay). @defaultValue 0 */
  spawnDelayMs: number;
  /**
   * Seconds the module check at the start may take (`--check-timeout`): past it the check is
   * killed and the master exits with status 2. @defaultValue 60
   */
  checkTimeout: number;
}

/** What a master hands each child (JSON in PYRES_CHILD_SPEC). */
export interface ChildSpec {
  worker: WorkerConfig;
  masterPid: number;
  /** The master's --job-timeout: an orphaned child still bounds its job by it. */
  jobTimeout: number | null;
  timeoutGrace: number;
  /** The master's --term-timeout: an orphan with no job timeout gives its job this long. */
  termTimeout: number;
  maxJobs: number | null;
  maxMemoryMb: number | null;
  workerInit: string | null;
  /** Tell the master of every job as it starts (timeouts or autoscale need it); else only of jobs over 100 ms. */
  reportEveryJob: boolean;
  /** The master's hostname (its worker ids use it). @defaultValue os.hostname() */
  hostname?: string;
  /** Tell the master each job's outcome and duration, and each Redis error (for its `--metrics-port`). @defaultValue false */
  reportOutcomes?: boolean;
}
