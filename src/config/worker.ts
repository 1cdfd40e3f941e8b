/**
 * The one place where a worker's configuration gets its defaults and is validated: the CLI,
 * the library and a master's children all go through here. Pure but for `existsSync` on the
 * job modules (so a typo is reported with the path as given).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors';
import { type LogFormat, type LogLevel, logFileArg, parseLogLevel } from '../logging/logger';
import { parseQueueList } from '../protocol/queues';
import { type ConnectionOptions, DEFAULT_REDIS_TIMEOUT } from '../store/connection';
import { bool, fail, isObject, isPlainObject, label, num, optNum, redisTimeout, show, str, within } from './check';
import { FAILURE_BACKENDS } from '../protocol/keys';
import { MAX_SLOTS } from '../protocol/workerId';
import { resolveLogFormat } from './obs';
import type { DirtyExitPolicy, FailureBackend, SlotRange, WorkerConfig } from './types';

/** What a worker can be given; everything but `queues` and `jobs` has a default. */
export interface WorkerConfigInput {
  /** `p10,p9` or `['p10', 'p9']`; `*`, `p*`, `!skip` as in Ruby 3.0. */
  queues?: string | readonly string[];
  /** Job module paths; relative ones are resolved against `cwd`. */
  jobs?: string | readonly string[];
  connection?: ConnectionOptions;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** @defaultValue false */
  nonblockingPop?: boolean;
  /** Seconds; only with nonblockingPop. @defaultValue 1 */
  backoffMin?: number;
  /** Seconds; only with nonblockingPop. @defaultValue 8 (at least backoffMin) */
  backoffMax?: number;
  /** Longest single wait in blocking mode, seconds. @defaultValue 5 */
  blockTimeout?: number;
  /**
   * The CLI's `--interval`: with nonblockingPop a fixed idle sleep (backoffMin = backoffMax),
   * otherwise the longest blocking wait (blockTimeout).
   */
  interval?: number;
  /** @defaultValue false */
  drain?: boolean;
  /** @defaultValue 4 */
  termTimeout?: number;
  /** @defaultValue 60 */
  heartbeatInterval?: number;
  /** @defaultValue 300 */
  pruneInterval?: number;
  /** 'fail' or 'requeue'. @defaultValue 'fail' */
  onDirtyExit?: DirtyExitPolicy | string;
  /** Job args decoded losslessly: integers beyond 2^53-1 as BigInt. @defaultValue false */
  losslessArgs?: boolean;
  /** Pyres `"@D:..."` date strings decoded into Dates. @defaultValue false */
  pyresDates?: boolean;
  /** Replicas that must have each step before its job runs (WAIT); 0 = off. @defaultValue 0 */
  waitReplicas?: number;
  /** Milliseconds per WAIT; only with waitReplicas. @defaultValue 100 */
  waitTimeout?: number;
  /** 'redis' or 'redis_multi_queue'. @defaultValue 'redis' */
  failureBackend?: FailureBackend | string;
  /**
   * Job slots: how many jobs run at once in this process (1..64), or a range `'1..64'` /
   * `{min, max}` that autoscales by event-loop utilisation. @defaultValue 1
   */
  concurrency?: number | string | SlotRange;
  /** debug, info, warn (warning), error (critical). @defaultValue 'info' */
  logLevel?: LogLevel | string;
  /** Relative paths are resolved against `cwd`. @defaultValue null (stderr) */
  logFile?: string | null;
  /** 'text' or 'json' (`--log-format`). @defaultValue 'text' */
  logFormat?: LogFormat | string;
  /** Where relative paths are resolved. @defaultValue process.cwd() */
  cwd?: string;
}

export const WORKER_DEFAULTS = {
  namespace: 'resque',
  nonblockingPop: false,
  backoffMin: 1,
  backoffMax: 8,
  blockTimeout: 5,
  drain: false,
  termTimeout: 4,
  heartbeatInterval: 60,
  pruneInterval: 300,
  onDirtyExit: 'fail',
  losslessArgs: false,
  pyresDates: false,
  waitReplicas: 0,
  waitTimeout: 100,
  failureBackend: 'redis',
  logLevel: 'info',
  logFile: null,
} as const satisfies Omit<WorkerConfig, 'queues' | 'jobs' | 'connection'>;

/** Everything of a WorkerConfig but the queue list and drain: what a master's children share. */
export type WorkerSettings = Omit<WorkerConfig, 'queues' | 'drain'>;

/** Validates a queue list and returns it as one string (`p10,p9`). */
export function resolveQueues(v: unknown, prefix = ''): string {
  if (v === undefined || v === null || v === '') fail('queues', 'is required: give a queue list, e.g. p10,p9 (or * for every queue)', prefix);
  if (typeof v !== 'string' && !(Array.isArray(v) && v.every(q => typeof q === 'string'))) {
    fail('queues', `must be a string like "p10,p9" or an array of queue names, got ${show(v)}`, prefix);
  }
  const specs = within('queues', () => parseQueueList(v as string | string[]), prefix);
  if (specs.every(s => s.negate)) fail('queues', 'needs at least one queue that is not a !skip pattern', prefix);
  return specs.map(s => s.raw).join(',');
}

/**
 * The shared worker settings from an input (the input-only rules: `interval`, backoff flags
 * that need nonblockingPop, relative paths). `queues` and `drain` are left to the caller.
 */
export function resolveWorkerSettings(input: WorkerConfigInput, prefix = ''): WorkerSettings {
  if (!isObject(input)) throw new ConfigError(`worker configuration must be an object, got ${show(input)}`);
  const cwd = input.cwd ?? process.cwd();
  const nonblockingPop = bool('nonblockingPop', input.nonblockingPop, WORKER_DEFAULTS.nonblockingPop, prefix);
  let backoffMin = optNum('backoffMin', input.backoffMin, {}, prefix);
  let backoffMax = optNum('backoffMax', input.backoffMax, {}, prefix);
  let blockTimeout = optNum('blockTimeout', input.blockTimeout, {}, prefix);
  const interval = optNum('interval', input.interval, {}, prefix);
  if (interval !== undefined) {
    if (nonblockingPop) {
      if (backoffMin !== undefined || backoffMax !== undefined) {
        fail('interval', `and ${label('backoffMin')}/${label('backoffMax')} do not go together`, prefix);
      }
      backoffMin = backoffMax = interval;
    } else {
      if (blockTimeout !== undefined) fail('interval', 'and blockTimeout are the same setting; give one', prefix);
      blockTimeout = interval;
    }
  }
  if (!nonblockingPop) {
    if (backoffMin !== undefined) fail('backoffMin', `needs ${label('nonblockingPop')}`, prefix);
    if (backoffMax !== undefined) fail('backoffMax', `needs ${label('nonblockingPop')}`, prefix);
  } else if (blockTimeout !== undefined) {
    fail('blockTimeout', `is for blocking mode; with ${label('nonblockingPop')} give backoffMin/backoffMax (--backoff-min/--backoff-max)`, prefix);
  }
  if (backoffMin !== undefined && backoffMax !== undefined && backoffMax < backoffMin) {
    fail('backoffMax', `must be at least ${label('backoffMin')} (${backoffMin}), got ${backoffMax}`, prefix);
  }
  // One side given: the other default follows it rather than contradicting it.
  backoffMin ??= Math.min(WORKER_DEFAULTS.backoffMin, backoffMax ?? Infinity);
  backoffMax ??= Math.max(WORKER_DEFAULTS.backoffMax, backoffMin);

  if (input.jobs === undefined || input.jobs === null || (Array.isArray(input.jobs) && input.jobs.length === 0) || input.jobs === '') {
    fail('jobs', 'is required: give at least one job module, e.g. --jobs ./jobs.js (a module exporting job classes)', prefix);
  }
  const jobList = typeof input.jobs === 'string' ? [input.jobs] : input.jobs;
  if (!Array.isArray(jobList) || !jobList.every(j => typeof j === 'string' && j.trim() !== '')) {
    fail('jobs', `must be module paths (strings), got ${show(input.jobs)}`, prefix);
  }
  const jobs = (jobList as string[]).map(j => {
    const abs = resolve(cwd, j);
    if (!existsSync(abs)) throw new ConfigError(`--jobs ${j}: no such file (${prefix}jobs: ${abs})`);
    return abs;
  });

  const waitReplicas = input.waitReplicas ?? WORKER_DEFAULTS.waitReplicas;
  if (input.waitTimeout !== undefined && !input.waitReplicas) fail('waitTimeout', `needs ${label('waitReplicas')} of 1 or more`, prefix);

  let logLevel: LogLevel = WORKER_DEFAULTS.logLevel;
  if (input.logLevel !== undefined) {
    const l = typeof input.logLevel === 'string' ? parseLogLevel(input.logLevel) : null;
    if (!l) fail('logLevel', `must be one of debug, info, warning, error; got ${show(input.logLevel)}`, prefix);
    logLevel = l;
  }
  let logFile: string | null = null;
  if (input.logFile !== undefined && input.logFile !== null) logFile = resolve(cwd, logFileArg(str('logFile', input.logFile, prefix)));

  const concurrency = input.concurrency === undefined ? undefined : resolveConcurrency(input.concurrency);
  return checkWorkerSettings(
    {
      ...(concurrency && (concurrency.min !== 1 || concurrency.max !== 1) ? { concurrency } : {}),
      jobs,
      connection: input.connection ?? {},
      namespace: input.namespace ?? WORKER_DEFAULTS.namespace,
      nonblockingPop,
      backoffMin,
      backoffMax,
      blockTimeout: blockTimeout ?? WORKER_DEFAULTS.blockTimeout,
      termTimeout: input.termTimeout ?? WORKER_DEFAULTS.termTimeout,
      heartbeatInterval: input.heartbeatInterval ?? WORKER_DEFAULTS.heartbeatInterval,
      pruneInterval: input.pruneInterval ?? WORKER_DEFAULTS.pruneInterval,
      onDirtyExit: (input.onDirtyExit ?? WORKER_DEFAULTS.onDirtyExit) as DirtyExitPolicy,
      losslessArgs: bool('losslessArgs', input.losslessArgs, WORKER_DEFAULTS.losslessArgs, prefix),
      pyresDates: bool('pyresDates', input.pyresDates, WORKER_DEFAULTS.pyresDates, prefix),
      waitReplicas,
      waitTimeout: input.waitTimeout ?? WORKER_DEFAULTS.waitTimeout,
      failureBackend: (input.failureBackend ?? WORKER_DEFAULTS.failureBackend) as FailureBackend,
      logLevel,
      logFile,
      logFormat: resolveLogFormat(input.logFormat, prefix),
    },
    prefix,
  );
}

/**
 * A standalone worker's configuration: defaults applied, every field checked. Throws a
 * ConfigError naming the field and its CLI flag.
 */
export function resolveWorkerConfig(input: WorkerConfigInput): WorkerConfig {
  if (!isObject(input)) throw new ConfigError(`worker configuration must be an object, got ${show(input)}`);
  const queues = resolveQueues(input.queues);
  const drain = bool('drain', input.drain, WORKER_DEFAULTS.drain);
  return { queues, ...resolveWorkerSettings(input), drain };
}

/**
 * Checks a complete WorkerConfig (one that was serialised, e.g. in a ChildSpec): every field
 * must be there with its type and range; job paths must be absolute.
 */
export function validateWorkerConfig(v: unknown, prefix = ''): WorkerConfig {
  if (!isPlainObject(v)) throw new ConfigError(`${prefix.replace(/\.$/, '') || 'worker configuration'} must be an object, got ${show(v)}`);
  for (const k of [
    'queues',
    'jobs',
    'connection',
    'namespace',
    'nonblockingPop',
    'backoffMin',
    'backoffMax',
    'blockTimeout',
    'drain',
    'termTimeout',
    'heartbeatInterval',
    'pruneInterval',
    'onDirtyExit',
    'losslessArgs',
    'pyresDates',
    'waitReplicas',
    'waitTimeout',
    'failureBackend',
    'logLevel',
    'logFile',
  ] as const) {
    if (!(k in v)) fail(k, 'is missing', prefix);
  }
  if (!Array.isArray(v['jobs']) || v['jobs'].length === 0 || !v['jobs'].every(j => typeof j === 'string' && isAbsolute(j))) {
    fail('jobs', `must be a non-empty list of absolute paths, got ${show(v['jobs'])}`, prefix);
  }
  for (const k of ['nonblockingPop', 'losslessArgs', 'pyresDates'] as const) {
    if (typeof v[k] !== 'boolean') fail(k, `must be true or false, got ${show(v[k])}`, prefix);
  }
  if (typeof v['logLevel'] !== 'string' || parseLogLevel(v['logLevel']) !== v['logLevel']) {
    fail('logLevel', `must be one of debug, info, warn, error; got ${show(v['logLevel'])}`, prefix);
  }
  if (v['logFile'] !== null && (typeof v['logFile'] !== 'string' || !isAbsolute(v['logFile']))) {
    fail('logFile', `must be null or an absolute path, got ${show(v['logFile'])}`, prefix);
  }
  const settings = checkWorkerSettings(v as unknown as WorkerSettings, prefix);
  if (settings.backoffMax < settings.backoffMin)
    fail('backoffMax', `must be at least ${label('backoffMin')} (${settings.backoffMin}), got ${settings.backoffMax}`, prefix);
  return {
    queues: resolveQueues(v['queues'], prefix),
    ...settings,
    drain: bool('drain', v['drain'], false, prefix),
  };
}

/**
 * `concurrency` (--concurrency): a whole number 1..64, a range `'2..64'`, or `{min, max}`.
 * Throws a one-line ConfigError naming the flag (`where`).
 */
export function resolveConcurrency(v: unknown, prefix = '', where = 'concurrency (--concurrency)'): SlotRange {
  const bad = (why: string): never => {
    throw new ConfigError(`${prefix}${where} ${why}, got ${show(v)}`);
  };
  let min: number;
  let max: number;
  if (typeof v === 'number') min = max = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(v);
    if (!m) return bad(`must be a number of job slots (25) or a range (1..64)`);
    min = Number(m[1]);
    max = m[2] === undefined ? min : Number(m[2]);
  } else if (isPlainObject(v) && typeof v['min'] === 'number' && typeof v['max'] === 'number') {
    min = v['min'];
    max = v['max'];
  } else return bad(`must be a number of job slots (25) or a range (1..64)`);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > MAX_SLOTS) bad(`must be whole numbers from 1 to ${MAX_SLOTS}`);
  if (max < min) bad('has its max below its min');
  return { min, max };
}

/** `failureBackend` (--failure-backend): 'redis' (the default, when undefined) or 'redis_multi_queue'. */
export function resolveFailureBackend(v: unknown, prefix = ''): FailureBackend {
  if (v === undefined) return WORKER_DEFAULTS.failureBackend;
  if (!FAILURE_BACKENDS.includes(v as FailureBackend)) {
    fail('failureBackend', `must be 'redis' or 'redis_multi_queue' (Ruby's FAILURE_BACKEND), got ${show(v)}`, prefix);
  }
  return v as FailureBackend;
}

/** A standalone worker's cap on each of V8's two semi-spaces, MB (--max-semi-space-mb). */
export const DEFAULT_SEMI_SPACE_MB = 8;

/** Node's own `--max-semi-space-size` option, in either spelling (`--max_semi_space_size`). */
export const NODE_SEMI_SPACE_OPTION = /^--max[-_]semi[-_]space[-_]size(=|$)/;

/**
 * `maxSemiSpaceMb` (--max-semi-space-mb): a whole number 0..256; 0 leaves V8's own growth (up to
 * 16 MB per semi-space on Node 20). Undefined gives {@link DEFAULT_SEMI_SPACE_MB}.
 */
export function resolveSemiSpaceMb(v: unknown, prefix = ''): number {
  if (v === undefined) return DEFAULT_SEMI_SPACE_MB;
  return num('maxSemiSpaceMb', v, { min: 'nonNegative', integer: true, max: 256 }, prefix);
}

/** `onDirtyExit` (--on-dirty-exit): 'fail' (the default, when undefined) or 'requeue'. */
export function resolveDirtyExitPolicy(v: unknown, prefix = ''): DirtyExitPolicy {
  if (v === undefined) return WORKER_DEFAULTS.onDirtyExit;
  if (v !== 'fail' && v !== 'requeue') fail('onDirtyExit', `must be 'fail' or 'requeue', got ${show(v)}`, prefix);
  return v;
}

/** The checks common to an input (after defaults) and a serialised config. */
function checkWorkerSettings(s: WorkerSettings, prefix: string): WorkerSettings {
  const backoffMin = num('backoffMin', s.backoffMin, {}, prefix);
  const backoffMax = num('backoffMax', s.backoffMax, {}, prefix);
  const heartbeatInterval = num('heartbeatInterval', s.heartbeatInterval, {}, prefix);
  const pruneInterval = num('pruneInterval', s.pruneInterval, {}, prefix);
  if (heartbeatInterval >= pruneInterval) {
    fail(
      'heartbeatInterval',
      `must be less than ${label('pruneInterval')} (${pruneInterval}), got ${heartbeatInterval}: other workers would prune this one between its heartbeats`,
      prefix,
    );
  }
  const onDirtyExit = s.onDirtyExit as unknown;
  if (onDirtyExit !== 'fail' && onDirtyExit !== 'requeue') fail('onDirtyExit', `must be 'fail' or 'requeue', got ${show(onDirtyExit)}`, prefix);
  const failureBackend = resolveFailureBackend(s.failureBackend, prefix);
  const connection = checkConnection(s.connection, prefix);
  const waitTimeout = num('waitTimeout', s.waitTimeout, { integer: true, max: 60000 }, prefix);
  // A WAIT is a command that owes a reply for up to waitTimeout: past the socket's silence bound
  // (--redis-timeout) the connection would be dropped and the WAIT resent, again and again.
  const redisTimeoutMs = (connection.timeout ?? DEFAULT_REDIS_TIMEOUT) * 1000;
  if (s.waitReplicas > 0 && waitTimeout >= redisTimeoutMs / 2) {
    fail(
      'waitTimeout',
      `must be less than half of ${label('connection.timeout')} (${redisTimeoutMs} ms), got ${waitTimeout}: a longer WAIT would be cut off as a silent connection`,
      prefix,
    );
  }
  return {
    ...(s.concurrency !== undefined ? { concurrency: resolveConcurrency(s.concurrency, prefix) } : {}),
    jobs: s.jobs,
    connection,
    namespace: str('namespace', s.namespace, prefix),
    nonblockingPop: s.nonblockingPop,
    backoffMin,
    backoffMax,
    blockTimeout: num('blockTimeout', s.blockTimeout, {}, prefix),
    termTimeout: num('termTimeout', s.termTimeout, { min: 'nonNegative' }, prefix),
    heartbeatInterval,
    pruneInterval,
    onDirtyExit,
    losslessArgs: s.losslessArgs,
    pyresDates: s.pyresDates,
    waitReplicas: num('waitReplicas', s.waitReplicas, { integer: true, min: 'nonNegative', max: 1000 }, prefix),
    // WAIT's 0 means "for ever": never that; at most a minute, and below the socket bound (above).
    waitTimeout,
    failureBackend,
    logLevel: s.logLevel,
    logFile: s.logFile,
    logFormat: resolveLogFormat(s.logFormat, prefix),
  };
}

const CONNECTION_STRINGS = ['url', 'host', 'password', 'username', 'tlsCa', 'tlsCert', 'tlsKey', 'connectionName'] as const;

function checkConnection(c: unknown, prefix: string): ConnectionOptions {
  if (!isPlainObject(c)) fail('connection', `must be an object ({ url } or { host, port, ... }), got ${show(c)}`, prefix);
  const out: ConnectionOptions = {};
  for (const k of CONNECTION_STRINGS) {
    const v = c[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') fail(`connection.${k}`, `must be a string, got ${k === 'password' ? typeof v : show(v)}`, prefix);
    out[k] = v;
  }
  if (out.url !== undefined && !/^(rediss?(\+sentinel)?:\/\/|redis\+unix:|unix:)/.test(out.url)) {
    fail('connection.url', 'must start with redis://, rediss://, redis+sentinel://, redis+unix:// or unix:', prefix);
  }
  if (c['port'] !== undefined) out.port = num('connection.port', c['port'], { integer: true, max: 65535 }, prefix);
  if (c['db'] !== undefined) out.db = num('connection.db', c['db'], { integer: true, min: 'nonNegative' }, prefix);
  const timeout = redisTimeout(c['timeout'], prefix);
  if (timeout !== undefined) out.timeout = timeout;
  return out;
}
