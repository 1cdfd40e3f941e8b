import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { type GroupSpec, loadPoolFile, parseWorkersSpec } from '../master/groups';
import { Master } from '../master/master';
import { installMasterSignals } from '../signals';
import { VERSION } from '../version';
import { connectionFromArgs, loggerFromArgs, positiveNumber } from './options';
import { type WorkerArgs, workerBuilder } from './workerCommand';

export interface MasterArgs extends WorkerArgs {
  pool?: number;
  workers?: string;
  config?: string;
  environment?: string;
  'job-timeout'?: number;
  'timeout-grace': number;
  'max-memory'?: number;
  'max-jobs'?: number;
  'worker-init'?: string;
  'reinit-gevent': boolean;
  'monkey-patch': boolean;
  autoscale: boolean;
  'max-cpu': number;
  'max-mem': number;
  'scale-interval': number;
  'child-node-options': string;
}

export function masterBuilder(y: Argv) {
  return workerBuilder(y)
    .option('term-timeout', { type: 'number', default: 10, describe: 'seconds children get to stop before SIGKILL' })
    .option('pool', { type: 'number', describe: 'children for --queues (pyres_manager --pool); default 1' })
    .option('workers', { alias: 'w', type: 'string', describe: "groups as 'p10,p9=4:p1=1:*=1' (a count may be a range 2..8)" })
    .option('config', { alias: 'c', type: 'string', describe: 'resque-pool YAML file ("p10,p9": 4); HUP re-reads it' })
    .option('environment', { alias: 'E', type: 'string', describe: 'section of --config to use (default $RACK_ENV/$RAILS_ENV/$NODE_ENV)' })
    .option('job-timeout', { type: 'number', describe: 'seconds a job may run before it is aborted, then its child killed' })
    .option('timeout-grace', { type: 'number', default: 5, describe: 'seconds between aborting a timed-out job and killing its child' })
    .option('max-memory', { type: 'number', describe: 'MB of RSS: recycle a child after its job; kill it at twice this mid-job' })
    .option('max-jobs', { type: 'number', describe: 'recycle a child after this many jobs' })
    .option('worker-init', { type: 'string', describe: 'module each child runs before its first job' })
    .option('reinit-gevent', { alias: 'r', type: 'boolean', default: false, describe: 'pyres: accepted, no meaning in Node' })
    .option('monkey-patch', { alias: 'm', type: 'boolean', default: false, describe: 'pyres: accepted, no meaning in Node' })
    .option('autoscale', { type: 'boolean', default: false, describe: 'scale groups with a range (2..8) on queue depth, CPU and memory' })
    .option('max-cpu', { type: 'number', default: 80, describe: 'autoscale: host CPU cap, percent' })
    .option('max-mem', { type: 'number', default: 90, describe: 'autoscale: host memory cap, percent' })
    .option('child-node-options', {
      type: 'string',
      default: '--max-semi-space-size=1',
      describe: 'Node options for the children (space-separated); the default keeps an idle child small',
    })
    .option('scale-interval', { type: 'number', default: 10, describe: 'autoscale: seconds between decisions' });
}

function groupsFromArgs(a: MasterArgs): { groups: GroupSpec[]; reload?: () => GroupSpec[] } {
  const queues = a.queues ?? a.queuesPositional;
  const given = [queues !== undefined, a.workers !== undefined, a.config !== undefined].filter(Boolean).length;
  if (given === 0) throw new ConfigError('no workers: give --queues p10,p9 --pool 4, --workers "p10,p9=4", or --config pool.yml');
  if (given > 1) throw new ConfigError('give one of --queues (with --pool), --workers, --config');
  if (a.pool !== undefined && queues === undefined) throw new ConfigError('--pool goes with --queues');
  if (a.config !== undefined) {
    const file = resolve(a.config);
    const env = a.environment ?? process.env['RACK_ENV'] ?? process.env['RAILS_ENV'] ?? process.env['NODE_ENV'];
    const load = (): GroupSpec[] => loadPoolFile(file, env);
    return { groups: load(), reload: load };
  }
  if (a.workers !== undefined) return { groups: parseWorkersSpec(a.workers) };
  const pool = a.pool ?? 1;
  if (!Number.isInteger(pool) || pool < 0) throw new ConfigError(`--pool must be a whole number, got ${pool}`);
  return { groups: parseWorkersSpec(`${queues}=${pool}`) };
}

export function masterTitle(status: string): string {
  return `pyres_manager (pyres-ts ${VERSION}) master: ${status}`;
}

export async function runMaster(a: MasterArgs): Promise<number> {
  const logger = loggerFromArgs(a);
  const { groups, reload } = groupsFromArgs(a);
  if (!a.jobs || a.jobs.length === 0) throw new ConfigError('no jobs: give --jobs ./jobs.js (a module exporting job classes)');
  if (a['reinit-gevent'] || a['monkey-patch']) logger.info('-r/--reinit-gevent and -m/--monkey-patch have no meaning in Node; use --worker-init to prepare each child');
  const autoscale = a.autoscale ? { maxCpu: a['max-cpu'], maxMem: a['max-mem'], interval: positiveNumber('scale-interval', a['scale-interval']) ?? 10 } : null;
  if (autoscale && !groups.some(g => g.min !== undefined)) throw new ConfigError('--autoscale needs at least one group with a range, e.g. --workers "p10,p9=1..6"');
  const maxJobs = a['max-jobs'];
  if (maxJobs !== undefined && (!Number.isInteger(maxJobs) || maxJobs < 1)) throw new ConfigError(`--max-jobs must be a whole number of 1 or more, got ${maxJobs}`);
  const workerArgs: Record<string, unknown> = {};
  for (const k of ['redis', 'host', 'port', 'password', 'tls-ca', 'tls-cert', 'tls-key', 'namespace', 'log-level', 'log-file', 'nonblocking-pop', 'backoff-min', 'backoff-max', 'interval', 'heartbeat-interval', 'on-dirty-exit'] as const) {
    if (a[k] !== undefined) workerArgs[k] = a[k];
  }
  workerArgs['jobs'] = a.jobs.map(j => resolve(j));
  workerArgs['drain'] = false;
  const master = new Master({
    groups,
    workerArgs,
    connection: connectionFromArgs(a),
    namespace: a.namespace,
    logger,
    termTimeout: a['term-timeout'],
    jobTimeout: positiveNumber('job-timeout', a['job-timeout']) ?? null,
    timeoutGrace: a['timeout-grace'],
    maxMemoryMb: positiveNumber('max-memory', a['max-memory']) ?? null,
    maxJobs: maxJobs ?? null,
    workerInit: a['worker-init'] ? resolve(a['worker-init']) : null,
    autoscale,
    onDirtyExit: a['on-dirty-exit'] ?? 'fail',
    childNodeOptions: (a['child-node-options'] ?? '').split(/\s+/).filter(Boolean),
    ...(reload ? { reload } : {}),
  });
  process.title = masterTitle('starting');
  master.on('status', (s: string) => (process.title = masterTitle(s)));
  const log = logger.child(`master ${master.id}`);
  const release = installMasterSignals(master, m => log.info(m));
  const t0 = Date.now();
  master.once('all-ready', () => log.info(`all children registered ${Date.now() - t0} ms after start`));
  try {
    await master.start();
    await master.stopped;
  } finally {
    release();
  }
  return 0;
}
