import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { loadPoolFile } from '../config/groups';
import { type MasterConfigInput, resolveMasterConfig } from '../config/master';
import type { GroupSpec } from '../config/types';
import { ConfigError, JobLoadError, coerceError } from '../errors';
import type { Logger } from '../logging/logger';
import { Master } from '../master/master';
import { installMasterSignals } from '../signals';
import { VERSION } from '../version';
import { loggerFromConfig } from '../worker/fromConfig';
import { resolveMetricsListen } from '../config/obs';
import { LogRing, withRing } from '../logging/ring';
import type { MetricsServer } from './metricsServer';
import { metricsModules, queuesFromArgs, type WorkerArgs, workerBuilder, workerInputFromArgs } from './workerCommand';
import { ENVIRONMENT_VARS, defaultPoolConfig, poolEnvironment } from '../config/poolConfigFile';
import {
  appnameFromArgs,
  type MasterProcessArgs,
  prepareProcess,
  reopenLogsOnHup,
  spawnDelayFromArgs,
  termModeFromArgs,
  withMasterProcessOptions,
} from './processOps';
import { attachSdNotify } from './sdNotify';
import { pid1Warning } from './containerInit';
import { type SchedulerArgs, schedulerFromArgs, withSchedulerOptions } from './schedulerCommand';

export interface MasterArgs extends WorkerArgs, MasterProcessArgs {
  pool?: number;
  workers?: string;
  config?: string;
  environment?: string;
  'job-timeout'?: number;
  'timeout-grace'?: number;
  'max-memory'?: number;
  'max-jobs'?: number;
  'worker-init'?: string;
  'reinit-gevent': boolean;
  'monkey-patch': boolean;
  autoscale: boolean;
  'max-cpu'?: number;
  'max-mem'?: number;
  'scale-interval'?: number;
  'child-node-options'?: string;
  'max-children'?: number;
  'check-timeout'?: number;
  winch: boolean;
  scheduler?: boolean;
  'scheduler-interval'?: number;
}

export function masterBuilder(y: Argv) {
  return withSchedulerOptions(withMasterProcessOptions(workerBuilder(y)), 'scheduler-interval')
    .option('scheduler', {
      type: 'boolean',
      describe: 'also run the delayed-job scheduler in the master (one leader across hosts and with Ruby, see `pyres-ts scheduler`)',
    })
    .option('term-timeout', { type: 'number', describe: 'seconds children get to stop before SIGKILL (default 10)' })
    .option('check-timeout', {
      type: 'number',
      describe: 'seconds the start-up check of --jobs and --worker-init may take; past it the master exits (default 60)',
    })
    .option('pool', { type: 'number', describe: 'children for --queues (pyres_manager --pool); default 1' })
    .option('workers', { alias: 'w', type: 'string', describe: "groups as 'p10,p9=4:p1=1:*=1' (a count may be a range 2..8)" })
    .option('config', {
      alias: 'c',
      type: 'string',
      describe:
        'resque-pool YAML file ("p10,p9": 4); HUP re-reads it (default: $RESQUE_POOL_CONFIG, else resque-pool.yml or config/resque-pool.yml when present)',
    })
    .option('environment', {
      alias: 'E',
      type: 'string',
      describe:
        'section of --config to use, also set as RACK_ENV, RAILS_ENV and RESQUE_ENV for the children (default $RACK_ENV/$RAILS_ENV/$RESQUE_ENV/$NODE_ENV)',
    })
    .option('job-timeout', { type: 'number', describe: 'seconds a job may run before it is aborted, then its child killed' })
    .option('timeout-grace', { type: 'number', describe: 'seconds between aborting a timed-out job and killing its child (default 5)' })
    .option('max-memory', { type: 'number', describe: 'MB of RSS: recycle a child after its job; kill it at twice this mid-job' })
    .option('max-jobs', { type: 'number', describe: 'recycle a child after this many jobs' })
    .option('max-children', { type: 'number', describe: 'ceiling on children across all groups; a scale or Khan ADD past it is refused (default 100)' })
    .option('worker-init', { type: 'string', describe: 'module each child runs before its first job' })
    .option('reinit-gevent', { alias: 'r', type: 'boolean', default: false, describe: 'pyres: accepted, no meaning in Node' })
    .option('monkey-patch', { alias: 'm', type: 'boolean', default: false, describe: 'pyres: accepted, no meaning in Node' })
    .option('autoscale', { type: 'boolean', default: false, describe: 'scale groups with a range (2..8) on queue depth, CPU and memory' })
    .option('max-cpu', { type: 'number', describe: 'autoscale: host CPU cap, percent (default 80)' })
    .option('max-mem', { type: 'number', describe: 'autoscale: host memory cap, percent (default 90)' })
    .option('child-node-options', {
      type: 'string',
      describe: 'Node options for the children (space-separated; default --max-semi-space-size=1, which keeps an idle child small)',
    })
    .option('scale-interval', { type: 'number', describe: 'autoscale: seconds between decisions (default 10)' })
    .option('winch', {
      type: 'boolean',
      default: false,
      describe:
        'honour SIGWINCH (scale every group to zero), as resque-pool does when daemonized; a foreground master ignores it by default (a terminal resize sends it)',
    });
}

/** The master's configuration input from its flags; `reload` re-reads a --config file (HUP). */
export function masterInputFromArgs(a: MasterArgs, onNote?: (msg: string) => void): { input: MasterConfigInput; reload?: () => GroupSpec[] } {
  const queues = queuesFromArgs(a);
  // resque-pool's defaults when no groups are given: $RESQUE_POOL_CONFIG, resque-pool.yml, config/resque-pool.yml.
  if (queues === undefined && a.workers === undefined && a.config === undefined) {
    const found = defaultPoolConfig();
    if (found !== undefined) a = { ...a, config: found };
  }
  const given = [queues !== undefined, a.workers !== undefined, a.config !== undefined].filter(Boolean).length;
  if (given === 0) throw new ConfigError('no workers: give --queues p10,p9 --pool 4, --workers "p10,p9=4", or --config pool.yml');
  if (given > 1) throw new ConfigError('give one of --queues (with --pool), --workers, --config');
  if (a.pool !== undefined && queues === undefined) throw new ConfigError('pool (--pool) goes with --queues');
  let groups: { queues: string } | { workers: string } | { groups: GroupSpec[] };
  let reload: (() => GroupSpec[]) | undefined;
  if (a.config !== undefined) {
    const file = resolve(a.config);
    const env = poolEnvironment(a.environment);
    reload = (): GroupSpec[] => loadPoolFile(file, env, onNote);
    groups = { groups: reload() };
  } else if (a.workers !== undefined) groups = { workers: a.workers };
  else groups = { queues: queues as string };
  const autoscale = a.autoscale
    ? {
        ...(a['max-cpu'] !== undefined ? { maxCpu: a['max-cpu'] } : {}),
        ...(a['max-mem'] !== undefined ? { maxMem: a['max-mem'] } : {}),
        ...(a['scale-interval'] !== undefined ? { interval: a['scale-interval'] } : {}),
      }
    : null;
  const input: MasterConfigInput = {
    ...workerInputFromArgs(a),
    ...groups,
    ...(a.pool !== undefined ? { pool: a.pool } : {}),
    termTimeout: a['term-timeout'],
    jobTimeout: a['job-timeout'] ?? null,
    timeoutGrace: a['timeout-grace'],
    maxMemoryMb: a['max-memory'] ?? null,
    maxJobs: a['max-jobs'] ?? null,
    workerInit: a['worker-init'] ?? null,
    autoscale,
    childNodeOptions: a['child-node-options'],
    ...(a['max-semi-space-mb'] !== undefined ? { maxSemiSpaceMb: a['max-semi-space-mb'] } : {}),
    maxChildren: a['max-children'],
    winch: a.winch,
    ...(a['spawn-delay'] !== undefined ? { spawnDelayMs: spawnDelayFromArgs(a) } : {}),
    ...(a['check-timeout'] !== undefined ? { checkTimeout: a['check-timeout'] } : {}),
  };
  return { input, ...(reload ? { reload } : {}) };
}

export function masterTitle(status: string, appname?: string): string {
  return `pyres_manager${appname ? `[${appname}]` : ''} (pyres-ts ${VERSION}) master: ${status}`;
}

/** The options of the Master constructor (the lead's contract). */
type MasterCtorOptions = MasterConfigInput & { logger?: Logger; reload?: () => GroupSpec[]; childEntry?: string; reportOutcomes?: boolean; logRing?: LogRing };

export async function runMaster(a: MasterArgs): Promise<number> {
  const notes: string[] = [];
  let note = (m: string): void => void notes.push(m);
  const { input, reload } = masterInputFromArgs(a, m => note(m));
  // Validated here first: a bad flag is one line naming it, before anything starts.
  const cfg = resolveMasterConfig(input);
  const termMode = termModeFromArgs(a);
  const appname = appnameFromArgs(a);
  // -E as resque-pool has it: the children (and their job code) see the environment too.
  if (a.environment !== undefined) for (const v of ENVIRONMENT_VARS) process.env[v] = a.environment;
  const listen = resolveMetricsListen(a['metrics-port']);
  const proc = await prepareProcess(a);
  if (proc.detached) return 0;
  // The master keeps its recent lines for `pyres-ts ctl watch` (published with its record).
  const logRing = new LogRing();
  const logger = withRing(loggerFromConfig(cfg.worker), logRing, cfg.worker.logLevel === 'debug' ? 'info' : cfg.worker.logLevel);
  for (const n of notes.splice(0)) logger.info(n);
  note = m => logger.info(m);
  const pid1 = pid1Warning();
  if (pid1) logger.warn(pid1);
  if (a['reinit-gevent'] || a['monkey-patch'])
    logger.info('-r/--reinit-gevent and -m/--monkey-patch have no meaning in Node; use --worker-init to prepare each child');
  if (a.drain) logger.info('--drain has no meaning for a master (its children never drain); ignored');
  const options: MasterCtorOptions = { ...input, logger, logRing, ...(reload ? { reload } : {}), ...(listen ? { reportOutcomes: true } : {}) };
  const master = new Master(options);
  process.title = masterTitle('starting', appname);
  master.on('status', (s: string) => (process.title = masterTitle(s, appname)));
  const log = logger.child(`master ${master.id}`);
  let metrics: MetricsServer | null = null;
  try {
    if (listen) {
      const m = metricsModules();
      metrics = await m.server.startMetricsServer(m.watch.watchMaster(master), listen, log);
    }
  } catch (e) {
    log.error(`not started: ${coerceError(e).message}`);
    return 2;
  }
  // WINCH is the Master's to honour or ignore (its `winch` setting, --winch).
  const releaseSignals = installMasterSignals(master, m => log.info(m), process, { termGraceful: termMode !== 'immediate' });
  // --daemon: HUP reopens the --stdout/--stderr files too (the children write to the same pipes, so they follow).
  const releaseHup = reopenLogsOnHup(log);
  const release = (): void => {
    releaseSignals();
    releaseHup();
  };
  const sdDone = attachSdNotify(master, log);
  const t0 = Date.now();
  master.once('all-ready', () => log.info(`all children registered ${Date.now() - t0} ms after start`));
  // --scheduler: one Scheduler beside the children, stopped (its lock released) when the master stops.
  const scheduler = a.scheduler ? schedulerFromArgs(a as unknown as SchedulerArgs, logger, a['scheduler-interval']) : null;
  try {
    await master.start();
    await scheduler?.start();
    proc.up();
    await master.stopped;
  } catch (e) {
    // A broken deploy (a job module or --worker-init that does not load, a bad setting): say
    // why and exit non-zero instead of crash-looping.
    if (e instanceof JobLoadError || e instanceof ConfigError) {
      log.error(`not started: ${e.message}`);
      if (cfg.worker.logFile) process.stderr.write(`pyres-ts: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await scheduler?.stop();
    release();
    await metrics?.close();
    await sdDone();
    proc.pidfile?.remove();
  }
  return 0;
}
