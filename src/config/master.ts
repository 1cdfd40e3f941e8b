/**
 * A master's configuration: its groups, what every child's worker gets, and the master's own
 * limits, with defaults and validation in one place (CLI and library alike).
 */
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError } from '../errors';
import { formatWorkerId } from '../protocol/workerId';
import { bool, fail, isObject, isPlainObject, label, num, show, str, within } from './check';
import { parseWorkersSpec, validateGroups } from './groups';
import type { AutoscaleConfig, GroupSpec, MasterConfig } from './types';
import { NODE_SEMI_SPACE_OPTION, resolveQueues, resolveSemiSpaceMb, resolveWorkerSettings, type WorkerConfigInput } from './worker';

/**
 * What a master can be given. The groups come from exactly ONE of `queues` (with `pool`),
 * `workers` (`'p10,p9=4:p1=1..3'`) or `groups`. Every worker field is passed to the children;
 * `termTimeout` is the master's (children get it + 2 s, so the master's kill comes first).
 */
export interface MasterConfigInput extends Omit<WorkerConfigInput, 'queues' | 'drain' | 'termTimeout'> {
  /** One group: these queues, `pool` children. */
  queues?: string | readonly string[];
  /** Children for `queues`. @defaultValue 1 */
  pool?: number;
  /** resque-pool-dynamic's spec: `p10,p9=4:p1=1:*=1`; a count may be a range `2..8`. */
  workers?: string;
  groups?: readonly GroupSpec[];
  /** Seconds children get to stop before SIGKILL. @defaultValue 10 */
  termTimeout?: number;
  /** Seconds a job may run. @defaultValue null (none) */
  jobTimeout?: number | null;
  /** @defaultValue 5 */
  timeoutGrace?: number;
  /** @defaultValue null */
  maxMemoryMb?: number | null;
  /** @defaultValue null */
  maxJobs?: number | null;
  /** A module each child runs before its first job; relative to `cwd`. @defaultValue null */
  workerInit?: string | null;
  /** `true` for the defaults (maxCpu 80, maxMem 90, interval 10). @defaultValue null (off) */
  autoscale?: Partial<AutoscaleConfig> | boolean | null;
  /** A list, or one space-separated string. @defaultValue ['--max-semi-space-size=1'] */
  childNodeOptions?: string | readonly string[];
  /**
   * Each child's V8 semi-space cap, MB (`--max-semi-space-mb`): `--max-semi-space-size=N` in
   * place of the default's 1; 0 leaves V8's own sizing. @defaultValue undefined (the default's 1)
   */
  maxSemiSpaceMb?: number;
  /** @defaultValue 100 */
  maxChildren?: number;
  /** @defaultValue false */
  winch?: boolean;
  /** @defaultValue os.hostname().trim() */
  hostname?: string;
  /** Milliseconds between starting two children (resque-pool's --spawn-delay). @defaultValue 0 */
  spawnDelayMs?: number;
  /**
   * Seconds the module check at the start may take (loading `--jobs` and `--worker-init`): past
   * it the check is killed and start() fails. Raise it for modules that take long to load.
   * @defaultValue 60
   */
  checkTimeout?: number;
}

export const MASTER_DEFAULTS = {
  pool: 1,
  termTimeout: 10,
  timeoutGrace: 5,
  autoscale: { maxCpu: 80, maxMem: 90, interval: 10 },
  childNodeOptions: ['--max-semi-space-size=1'],
  maxChildren: 100,
  winch: false,
  checkTimeout: 60,
} as const;

/** The master's child workers' termTimeout is the master's plus this, so the master's kill comes first. */
export const CHILD_TERM_TIMEOUT_MARGIN = 2;

function resolveGroups(input: MasterConfigInput): GroupSpec[] {
  const sources = (['queues', 'workers', 'groups'] as const).filter(k => input[k] !== undefined && input[k] !== null);
  if (sources.length === 0) {
    throw new ConfigError(`no workers: give ${label('queues')} with ${label('pool')}, ${label('workers')} ("p10,p9=4:p1=1") or groups (--config pool.yml)`);
  }
  if (sources.length > 1)
    throw new ConfigError(`give one of queues (--queues, with --pool), workers (--workers), groups (--config); got ${sources.join(' and ')}`);
  if (input.pool !== undefined && sources[0] !== 'queues') fail('pool', `goes with ${label('queues')}`);
  switch (sources[0]) {
    case 'queues': {
      const queues = resolveQueues(input.queues);
      const pool = input.pool === undefined ? MASTER_DEFAULTS.pool : num('pool', input.pool, { integer: true, min: 'nonNegative' });
      return [{ queues, count: pool }];
    }
    case 'workers': {
      if (typeof input.workers !== 'string') fail('workers', `must be a string like "p10,p9=4:p1=1", got ${show(input.workers)}`);
      return within('workers', () => parseWorkersSpec(input.workers as string));
    }
    default:
      return validateGroups(input.groups, 'groups');
  }
}

function nullable(field: string, v: unknown, rule: Parameters<typeof num>[2] = {}): number | null {
  return v === undefined || v === null ? null : num(field, v, rule);
}

function resolveAutoscale(v: MasterConfigInput['autoscale']): AutoscaleConfig | null {
  if (v === undefined || v === null || v === false) return null;
  const d = MASTER_DEFAULTS.autoscale;
  if (v === true) return { ...d };
  if (!isPlainObject(v)) fail('autoscale', `must be true, false or { maxCpu, maxMem, interval }, got ${show(v)}`);
  const o = v as Record<string, unknown>;
  return {
    maxCpu: num('autoscale.maxCpu', o['maxCpu'] ?? d.maxCpu, { max: 100 }),
    maxMem: num('autoscale.maxMem', o['maxMem'] ?? d.maxMem, { max: 100 }),
    interval: num('autoscale.interval', o['interval'] ?? d.interval),
  };
}

function resolveNodeOptions(v: MasterConfigInput['childNodeOptions'], semiSpace: MasterConfigInput['maxSemiSpaceMb']): string[] {
  let opts: string[];
  if (v === undefined || v === null) opts = [...MASTER_DEFAULTS.childNodeOptions];
  else if (typeof v === 'string') opts = v.split(/\s+/).filter(Boolean);
  else if (!Array.isArray(v) || !v.every(o => typeof o === 'string'))
    fail('childNodeOptions', `must be a list of strings or one space-separated string, got ${show(v)}`);
  else opts = (v as string[]).map(o => o.trim()).filter(Boolean);
  if (semiSpace === undefined) return opts;
  const mb = resolveSemiSpaceMb(semiSpace);
  if (v !== undefined && v !== null && opts.some(o => NODE_SEMI_SPACE_OPTION.test(o))) {
    fail('maxSemiSpaceMb', `and ${label('childNodeOptions')} both set the children's --max-semi-space-size: give one`);
  }
  const rest = opts.filter(o => !NODE_SEMI_SPACE_OPTION.test(o));
  return mb > 0 ? [...rest, `--max-semi-space-size=${mb}`] : rest;
}

/**
 * A master's configuration: defaults applied, every field checked. Throws a ConfigError whose
 * message names the field (and its CLI flag).
 */
export function resolveMasterConfig(input: MasterConfigInput): MasterConfig {
  if (!isObject(input)) throw new ConfigError(`master configuration must be an object, got ${show(input)}`);
  const raw = input as Record<string, unknown>;
  if (raw['drain'] !== undefined && raw['drain'] !== false) fail('drain', "has no meaning for a master's children (they never drain)");
  const cwd = input.cwd ?? process.cwd();
  const groups = resolveGroups(input);
  const termTimeout = num('termTimeout', input.termTimeout ?? MASTER_DEFAULTS.termTimeout, { min: 'nonNegative' });
  const worker = resolveWorkerSettings({ ...input, termTimeout: termTimeout + CHILD_TERM_TIMEOUT_MARGIN });

  let workerInit: string | null = null;
  if (input.workerInit !== undefined && input.workerInit !== null) {
    const given = str('workerInit', input.workerInit);
    workerInit = resolve(cwd, given);
    if (!existsSync(workerInit)) fail('workerInit', `${given}: no such file (${workerInit})`);
  }
  const autoscale = resolveAutoscale(input.autoscale);
  if (autoscale && !groups.some(g => g.min !== undefined)) {
    fail('autoscale', 'needs at least one group with a range, e.g. workers (--workers) "p10,p9=1..6"');
  }
  const maxChildren = num('maxChildren', input.maxChildren ?? MASTER_DEFAULTS.maxChildren, { integer: true });
  const total = groups.reduce((n, g) => n + (g.max ?? g.count), 0);
  if (total > maxChildren) {
    fail('maxChildren', `is ${maxChildren}, but the groups ask for up to ${total} children (a range counts at its max); raise it or lower the counts`);
  }
  const hostname = (input.hostname === undefined ? osHostname() : str('hostname', input.hostname)).trim();
  within('hostname', () => formatWorkerId(hostname, 1, ['q']));

  return {
    groups,
    worker,
    termTimeout,
    jobTimeout: nullable('jobTimeout', input.jobTimeout),
    timeoutGrace: num('timeoutGrace', input.timeoutGrace ?? MASTER_DEFAULTS.timeoutGrace, { min: 'nonNegative' }),
    maxMemoryMb: nullable('maxMemoryMb', input.maxMemoryMb),
    maxJobs: nullable('maxJobs', input.maxJobs, { integer: true }),
    workerInit,
    autoscale,
    childNodeOptions: resolveNodeOptions(input.childNodeOptions, input.maxSemiSpaceMb),
    maxChildren,
    winch: bool('winch', input.winch, MASTER_DEFAULTS.winch),
    hostname,
    spawnDelayMs: num('spawnDelayMs', input.spawnDelayMs ?? 0, { min: 'nonNegative' }),
    checkTimeout: num('checkTimeout', input.checkTimeout ?? MASTER_DEFAULTS.checkTimeout, { max: 86_400 }),
  };
}
