import { ConfigError } from '../errors';

/**
 * The scheduler's settings from flags and resque-scheduler's environment variables
 * (RESQUE_SCHEDULER_INTERVAL, LOCK_TIMEOUT, RESQUE_SCHEDULER_MASTER_LOCK_PREFIX,
 * DELAYED_REQUEUE_BATCH_SIZE), flags first. Every bad value is one line naming its flag.
 */
export interface SchedulerConfigInput {
  interval?: number | undefined;
  lockTimeout?: number | undefined;
  lockPrefix?: string | undefined;
  batchSize?: number | undefined;
  /** `Class=queue` pairs (--class-queue). */
  classQueue?: readonly string[] | undefined;
}

/** Validated scheduler settings. */
export interface SchedulerConfig {
  interval: number;
  lockTimeout: number;
  lockPrefix: string;
  batchSize: number;
  classQueues: Record<string, string>;
}

function num(v: unknown, flag: string, env: string | undefined): number | undefined {
  if (v !== undefined) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new ConfigError(`${flag} must be a number, got ${JSON.stringify(v)}`);
    return v;
  }
  if (env === undefined || env === '') return undefined;
  const n = Number(env);
  if (!Number.isFinite(n)) throw new ConfigError(`${flag} (from the environment) must be a number, got ${JSON.stringify(env)}`);
  return n;
}

/** Resolves and checks the scheduler settings. */
export function resolveSchedulerConfig(i: SchedulerConfigInput, env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  const interval = num(i.interval, '--interval', env['RESQUE_SCHEDULER_INTERVAL']) ?? 5;
  if (!(interval > 0 && interval <= 3600)) throw new ConfigError(`--interval must be more than 0 and at most 3600 seconds, got ${interval}`);
  const lockTimeout = num(i.lockTimeout, '--lock-timeout', env['LOCK_TIMEOUT']) ?? 180;
  if (!Number.isInteger(lockTimeout) || lockTimeout < 2)
    throw new ConfigError(`--lock-timeout must be a whole number of seconds, 2 or more, got ${lockTimeout}`);
  if (lockTimeout <= interval)
    throw new ConfigError(`--lock-timeout (${lockTimeout} s) must be longer than --interval (${interval} s), or the lock expires between passes`);
  const batchSize = num(i.batchSize, '--batch-size', env['DELAYED_REQUEUE_BATCH_SIZE']) ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new ConfigError(`--batch-size must be a whole number from 1 to 100000, got ${batchSize}`);
  const lockPrefix = i.lockPrefix ?? env['RESQUE_SCHEDULER_MASTER_LOCK_PREFIX'] ?? '';
  if (/\s/.test(lockPrefix)) throw new ConfigError(`--lock-prefix must not contain spaces, got ${JSON.stringify(lockPrefix)}`);
  const classQueues: Record<string, string> = {};
  for (const pair of i.classQueue ?? []) {
    const m = /^([^=\s]+)=([^=\s,:]+)$/.exec(String(pair));
    if (!m) throw new ConfigError(`--class-queue must be Class=queue (a queue name without ',' or ':'), got ${JSON.stringify(pair)}`);
    classQueues[m[1]!] = m[2]!;
  }
  return { interval, lockTimeout, lockPrefix, batchSize, classQueues };
}

/**
 * `--at`: an ISO 8601 time with a zone (`2026-12-01T12:00:00Z`, `...+01:00`) or epoch seconds.
 * A time without a zone is refused: it would silently mean this host's zone.
 */
export function parseAtTime(s: string, flag = '--at'): Date | number {
  const v = String(s).trim();
  if (/^\d{1,10}(\.\d+)?$/.test(v)) return Number(v);
  if (!/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(v)) {
    throw new ConfigError(`${flag} must be an ISO 8601 time with a zone (2026-12-01T12:00:00Z) or epoch seconds, got ${JSON.stringify(s)}`);
  }
  const d = new Date(v.replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) throw new ConfigError(`${flag} is not a valid time: ${JSON.stringify(s)}`);
  return d;
}

/** `--in`: seconds from now (Redis TIME), a number >= 0. */
export function parseInSeconds(v: unknown, flag = '--in'): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (typeof v === 'boolean' || !Number.isFinite(n) || n < 0) throw new ConfigError(`${flag} must be a number of seconds, 0 or more, got ${JSON.stringify(v)}`);
  return n;
}
