/**
 * Small validators shared by the config resolvers. Every message starts with the field and,
 * where there is one, its CLI flag: `termTimeout (--term-timeout) must be ...`.
 */
import { ConfigError } from '../errors';

/** The CLI flag of each configuration field (where there is one). */
export const FLAGS: Readonly<Record<string, string>> = {
  queues: '--queues',
  jobs: '--jobs',
  connection: '--redis',
  'connection.url': '--redis',
  'connection.host': '--host',
  'connection.port': '--port',
  'connection.password': '--password',
  'connection.tlsCa': '--tls-ca',
  'connection.tlsCert': '--tls-cert',
  'connection.tlsKey': '--tls-key',
  'connection.timeout': '--redis-timeout',
  namespace: '--namespace',
  nonblockingPop: '--nonblocking-pop',
  backoffMin: '--backoff-min',
  backoffMax: '--backoff-max',
  blockTimeout: '--interval',
  interval: '--interval',
  drain: '--drain',
  termTimeout: '--term-timeout',
  heartbeatInterval: '--heartbeat-interval',
  pruneInterval: '--prune-interval',
  onDirtyExit: '--on-dirty-exit',
  losslessArgs: '--lossless-args',
  pyresDates: '--pyres-dates',
  waitReplicas: '--wait-replicas',
  waitTimeout: '--wait-timeout',
  failureBackend: '--failure-backend',
  logLevel: '--log-level',
  logFile: '--log-file',
  logFormat: '--log-format',
  metricsPort: '--metrics-port',
  pool: '--pool',
  workers: '--workers',
  groups: '--workers',
  jobTimeout: '--job-timeout',
  timeoutGrace: '--timeout-grace',
  maxMemoryMb: '--max-memory',
  maxSemiSpaceMb: '--max-semi-space-mb',
  maxJobs: '--max-jobs',
  workerInit: '--worker-init',
  autoscale: '--autoscale',
  'autoscale.maxCpu': '--max-cpu',
  'autoscale.maxMem': '--max-mem',
  'autoscale.interval': '--scale-interval',
  childNodeOptions: '--child-node-options',
  spawnDelayMs: '--spawn-delay',
  checkTimeout: '--check-timeout',
  maxChildren: '--max-children',
  winch: '--winch',
};

/**
 * `--redis-timeout` / `connection.timeout`: seconds, greater than 0 and at most 3600 (a bound
 * past an hour is no bound). Undefined stays undefined (the default applies in the store).
 */
export function redisTimeout(v: unknown, prefix = ''): number | undefined {
  return optNum('connection.timeout', v, { max: 3600 }, prefix);
}

/** `termTimeout (--term-timeout)`, or just the field when it has no flag. */
export function label(field: string, prefix = ''): string {
  const flag = FLAGS[field];
  return `${prefix}${field}${flag ? ` (${flag})` : ''}`;
}

export function fail(field: string, what: string, prefix = ''): never {
  throw new ConfigError(`${label(field, prefix)} ${what}`);
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Runs `fn`; a ConfigError from it is re-thrown with the field in front. A message that already
 * starts with the field's flag (`--queues: ...`, `--queues is empty`) loses that flag first.
 */
export function within<T>(field: string, fn: () => T, prefix = ''): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flag = FLAGS[field];
    let msg = e.message;
    if (flag && msg.startsWith(flag)) msg = msg.slice(flag.length).replace(/^\s+/, ' ');
    else msg = `: ${msg}`;
    if (!msg.startsWith(':') && !msg.startsWith(' ')) msg = ` ${msg}`;
    throw new ConfigError(`${label(field, prefix)}${msg}`);
  }
}

export interface NumberRule {
  /** > 0 (default), >= 0, or >= 1 and whole. */
  min?: 'positive' | 'nonNegative';
  integer?: boolean;
  /** Inclusive upper bound. */
  max?: number;
}

/**
 * The most a duration may be, in its own unit (seconds; ms for spawnDelayMs), where the rule
 * gives no bound of its own: Node's timers hold at most 2^31 - 1 ms (~24.8 days) and take a
 * longer delay as 1 ms, so `--term-timeout 3000000` ended a worker's stop at once and recorded
 * a master's running job as a dirty exit 3 ms after the TERM. 1,000,000 s is 11.6 days.
 */
export const DURATION_MAX: Readonly<Record<string, number>> = {
  termTimeout: 1_000_000,
  jobTimeout: 1_000_000,
  timeoutGrace: 1_000_000,
  heartbeatInterval: 1_000_000,
  pruneInterval: 1_000_000,
  backoffMin: 1_000_000,
  backoffMax: 1_000_000,
  blockTimeout: 1_000_000,
  interval: 1_000_000,
  'autoscale.interval': 1_000_000,
  spawnDelayMs: 3_600_000,
};

/** A finite number per the rule; a numeric string (from an env var or a YAML file) is accepted. */
export function num(field: string, v: unknown, rule: NumberRule = {}, prefix = ''): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  const min = rule.min ?? 'positive';
  const kind = rule.integer ? 'a whole number' : 'a number';
  const range = min === 'positive' ? (rule.integer ? 'of 1 or more' : 'greater than 0') : 'of 0 or more';
  const want = `must be ${kind} ${range}${rule.max !== undefined ? ` and at most ${rule.max}` : ''}, got ${show(v)}`;
  if (typeof n !== 'number' || !Number.isFinite(n)) fail(field, want, prefix);
  if (rule.integer && !Number.isInteger(n)) fail(field, want, prefix);
  if (min === 'positive' ? n <= 0 : n < 0) fail(field, want, prefix);
  if (rule.max !== undefined && n > rule.max) fail(field, want, prefix);
  const longest = rule.max === undefined ? DURATION_MAX[field] : undefined;
  if (longest !== undefined && n > longest)
    fail(field, `must be at most ${longest}${field === 'spawnDelayMs' ? ' ms' : ' seconds'} (Node's timers hold ~24.8 days), got ${show(v)}`, prefix);
  return n;
}

export function optNum(field: string, v: unknown, rule: NumberRule = {}, prefix = ''): number | undefined {
  return v === undefined ? undefined : num(field, v, rule, prefix);
}

export function bool(field: string, v: unknown, dflt: boolean, prefix = ''): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${show(v)}`, prefix);
  return v;
}

export function str(field: string, v: unknown, prefix = ''): string {
  if (typeof v !== 'string' || v.trim() === '') fail(field, `must be a non-empty string, got ${show(v)}`, prefix);
  return v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The same test without narrowing (for typed inputs). */
export function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
