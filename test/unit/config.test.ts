/**
 * config/: defaults and validation of worker and master configurations, the child spec, group
 * parsing. Pure (no Redis, no processes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHILD_SPEC_ENV, decodeChildSpec, encodeChildSpec } from '../../src/config/child';
import { describeGroups, parsePoolYaml, parseWorkersSpec, validateGroups } from '../../src/config/groups';
import { resolveMasterConfig } from '../../src/config/master';
import type { ChildSpec } from '../../src/config/types';
import { resolveWorkerConfig } from '../../src/config/worker';
import { ConfigError } from '../../src/errors';
import { connectionFromArgs } from '../../src/cli/options';
import { DEFAULT_REDIS_TIMEOUT, redisOptions } from '../../src/store/connection';

const ROOT = path.resolve(__dirname, '..', '..');
const JOBS = 'fixtures/jobs/basic.js';
const JOBS_ABS = path.join(ROOT, JOBS);
const base = { queues: 'p10,p9', jobs: [JOBS], cwd: ROOT };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveWorkerConfig', () => {
  it('fills in every default; jobs become absolute', () => {
    expect(resolveWorkerConfig(base)).toEqual({
      queues: 'p10,p9',
      jobs: [JOBS_ABS],
      connection: {},
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
      logFormat: 'text',
    });
  });

  it('accepts queues as an array, a single job path, pyres log level names, a relative log file', () => {
    const c = resolveWorkerConfig({ ...base, queues: ['p1', 'p2'], jobs: JOBS, logLevel: 'warning', logFile: 'x.log' });
    expect(c.queues).toBe('p1,p2');
    expect(c.jobs).toEqual([JOBS_ABS]);
    expect(c.logLevel).toBe('warn');
    expect(c.logFile).toBe(path.join(ROOT, 'x.log'));
    expect(resolveWorkerConfig({ ...base, logLevel: 'critical' }).logLevel).toBe('error');
  });

  it('--interval: the blocking wait, or a fixed sleep with nonblockingPop', () => {
    expect(resolveWorkerConfig({ ...base, interval: 2 }).blockTimeout).toBe(2);
    const n = resolveWorkerConfig({ ...base, nonblockingPop: true, interval: 3 });
    expect([n.backoffMin, n.backoffMax]).toEqual([3, 3]);
  });

  it('one backoff bound given: the other default follows it', () => {
    expect(resolveWorkerConfig({ ...base, nonblockingPop: true, backoffMin: 20 })).toMatchObject({ backoffMin: 20, backoffMax: 20 });
    expect(resolveWorkerConfig({ ...base, nonblockingPop: true, backoffMax: 0.5 })).toMatchObject({ backoffMin: 0.5, backoffMax: 0.5 });
  });

  it.each([
    ['queues', { queues: undefined }, /^queues \(--queues\) is required/],
    ['queues', { queues: '' }, /^queues \(--queues\) is required/],
    ['queues', { queues: 'a:b' }, /^queues \(--queues\): queue "a:b" contains ':'/],
    ['queues', { queues: '!p1' }, /^queues \(--queues\) needs at least one queue that is not a !skip pattern/],
    ['queues', { queues: 42 }, /^queues \(--queues\) must be a string/],
    ['jobs', { jobs: [] }, /^jobs \(--jobs\) is required/],
    ['jobs', { jobs: undefined }, /^jobs \(--jobs\) is required/],
    ['jobs', { jobs: [3] }, /^jobs \(--jobs\) must be module paths/],
    ['jobs', { jobs: ['./missing.js'] }, /^--jobs \.\/missing\.js: no such file \(jobs: .*missing\.js\)$/],
    ['termTimeout', { termTimeout: -1 }, /^termTimeout \(--term-timeout\) must be a number of 0 or more, got -1$/],
    ['termTimeout', { termTimeout: 'soon' }, /^termTimeout \(--term-timeout\) must be a number/],
    // Node's timers take a delay past 2^31 - 1 ms as 1 ms: a stop that would end at once.
    [
      'termTimeout',
      { termTimeout: 3000000 },
      /^termTimeout \(--term-timeout\) must be at most 1000000 seconds \(Node's timers hold ~24\.8 days\), got 3000000$/,
    ],
    ['heartbeatInterval', { heartbeatInterval: 1e12 }, /^heartbeatInterval \(--heartbeat-interval\) must be at most 1000000 seconds/],
    ['blockTimeout', { blockTimeout: 0 }, /^blockTimeout \(--interval\) must be a number greater than 0, got 0$/],
    ['blockTimeout', { nonblockingPop: true, blockTimeout: 2 }, /^blockTimeout \(--interval\) is for blocking mode/],
    ['interval', { interval: -2 }, /^interval \(--interval\) must be a number greater than 0/],
    ['interval', { interval: 2, blockTimeout: 3 }, /^interval \(--interval\) and blockTimeout are the same setting/],
    [
      'interval',
      { nonblockingPop: true, interval: 2, backoffMin: 1 },
      /^interval \(--interval\) and backoffMin \(--backoff-min\)\/backoffMax \(--backoff-max\) do not go together/,
    ],
    ['backoffMin', { backoffMin: 2 }, /^backoffMin \(--backoff-min\) needs nonblockingPop \(--nonblocking-pop\)$/],
    ['backoffMax', { backoffMax: 2 }, /^backoffMax \(--backoff-max\) needs nonblockingPop \(--nonblocking-pop\)$/],
    [
      'backoffMax',
      { nonblockingPop: true, backoffMin: 4, backoffMax: 2 },
      /^backoffMax \(--backoff-max\) must be at least backoffMin \(--backoff-min\) \(4\), got 2$/,
    ],
    ['backoffMin', { nonblockingPop: true, backoffMin: 0 }, /^backoffMin \(--backoff-min\) must be a number greater than 0/],
    ['nonblockingPop', { nonblockingPop: 'yes' }, /^nonblockingPop \(--nonblocking-pop\) must be true or false/],
    ['drain', { drain: 1 }, /^drain \(--drain\) must be true or false/],
    ['losslessArgs', { losslessArgs: 'yes' }, /^losslessArgs \(--lossless-args\) must be true or false/],
    ['pyresDates', { pyresDates: 1 }, /^pyresDates \(--pyres-dates\) must be true or false/],
    ['heartbeatInterval', { heartbeatInterval: 0 }, /^heartbeatInterval \(--heartbeat-interval\) must be a number greater than 0/],
    [
      'heartbeatInterval',
      { heartbeatInterval: 400 },
      /^heartbeatInterval \(--heartbeat-interval\) must be less than pruneInterval \(--prune-interval\) \(300\), got 400/,
    ],
    ['pruneInterval', { pruneInterval: -5 }, /^pruneInterval \(--prune-interval\) must be a number greater than 0/],
    ['onDirtyExit', { onDirtyExit: 'requeu' }, /^onDirtyExit \(--on-dirty-exit\) must be 'fail' or 'requeue', got "requeu"$/],
    ['waitReplicas', { waitReplicas: 1.5 }, /^waitReplicas \(--wait-replicas\) must be a whole number of 0 or more and at most 1000, got 1\.5$/],
    ['waitReplicas', { waitReplicas: -1 }, /^waitReplicas \(--wait-replicas\) must be a whole number of 0 or more/],
    ['waitTimeout', { waitReplicas: 1, waitTimeout: 0 }, /^waitTimeout \(--wait-timeout\) must be a whole number of 1 or more and at most 60000, got 0$/],
    ['waitTimeout', { waitTimeout: 50 }, /^waitTimeout \(--wait-timeout\) needs waitReplicas \(--wait-replicas\) of 1 or more$/],
    [
      'waitTimeout',
      { waitReplicas: 1, waitTimeout: 2500 },
      /^waitTimeout \(--wait-timeout\) must be less than half of connection\.timeout \(--redis-timeout\) \(5000 ms\), got 2500: a longer WAIT would be cut off/,
    ],
    [
      'waitTimeout',
      { waitReplicas: 1, waitTimeout: 1500, connection: { timeout: 2 } },
      /^waitTimeout \(--wait-timeout\) must be less than half of connection\.timeout \(--redis-timeout\) \(2000 ms\), got 1500/,
    ],
    [
      'failureBackend',
      { failureBackend: 'multi' },
      /^failureBackend \(--failure-backend\) must be 'redis' or 'redis_multi_queue' \(Ruby's FAILURE_BACKEND\), got "multi"$/,
    ],
    ['logLevel', { logLevel: 'loud' }, /^logLevel \(--log-level\) must be one of debug, info, warning, error; got "loud"$/],
    ['logFile', { logFile: '' }, /^logFile \(--log-file\) must be a non-empty string/],
    ['namespace', { namespace: '' }, /^namespace \(--namespace\) must be a non-empty string/],
    ['connection', { connection: 'redis://x' }, /^connection \(--redis\) must be an object/],
    ['connection.port', { connection: { port: 70000 } }, /^connection\.port \(--port\) must be a whole number/],
    ['connection.url', { connection: { url: 'http://x' } }, /^connection\.url \(--redis\) must start with redis:\/\//],
    ['connection.password', { connection: { password: 5 } }, /^connection\.password \(--password\) must be a string, got number$/],
    ['connection.timeout', { connection: { timeout: 0 } }, /^connection\.timeout \(--redis-timeout\) must be a number greater than 0 and at most 3600, got 0$/],
    [
      'connection.timeout',
      { connection: { timeout: 'soon' } },
      /^connection\.timeout \(--redis-timeout\) must be a number greater than 0 and at most 3600, got "soon"$/,
    ],
    [
      'connection.timeout',
      { connection: { timeout: 7200 } },
      /^connection\.timeout \(--redis-timeout\) must be a number greater than 0 and at most 3600, got 7200$/,
    ],
  ])('%s: %j is a ConfigError naming the field and its flag', (_field, over, re) => {
    expect(configError(() => resolveWorkerConfig({ ...base, ...(over as object) }))).toMatch(re);
  });

  it('a non-object is a ConfigError', () => {
    expect(configError(() => resolveWorkerConfig(null as never))).toMatch(/must be an object/);
  });

  it('connection.timeout (--redis-timeout) is kept, and reaches ioredis as its bounds', () => {
    expect(resolveWorkerConfig({ ...base, connection: { url: 'redis://h:1', timeout: 1.5 } }).connection).toEqual({ url: 'redis://h:1', timeout: 1.5 });
    expect(redisOptions({ timeout: 1.5 }).options).toMatchObject({ socketTimeout: 1500, commandTimeout: 3000, connectTimeout: 1500, keepAlive: 1500 });
    expect(redisOptions({}).options).toMatchObject({ socketTimeout: DEFAULT_REDIS_TIMEOUT * 1000, commandTimeout: DEFAULT_REDIS_TIMEOUT * 2000 });
  });

  it('--redis-timeout from the command line: validated, naming the flag', () => {
    expect(connectionFromArgs({ namespace: 'resque', 'log-level': 'info', 'redis-timeout': 2 }, {})).toMatchObject({ timeout: 2 });
    expect(connectionFromArgs({ namespace: 'resque', 'log-level': 'info' }, {})).not.toHaveProperty('timeout');
    expect(configError(() => connectionFromArgs({ namespace: 'resque', 'log-level': 'info', 'redis-timeout': Number.NaN }, {}))).toMatch(
      /^connection\.timeout \(--redis-timeout\) must be a number greater than 0 and at most 3600, got "not a number"$/,
    );
    expect(configError(() => connectionFromArgs({ namespace: 'resque', 'log-level': 'info', 'redis-timeout': -1 }, {}))).toMatch(
      /\(--redis-timeout\) must be a number greater than 0/,
    );
  });
});

describe('resolveMasterConfig', () => {
  it('new Master({ queues, pool, jobs }) shape: defaults for everything else', () => {
    const c = resolveMasterConfig({ queues: 'p1', pool: 2, jobs: [JOBS], cwd: ROOT });
    expect(c).toEqual({
      groups: [{ queues: 'p1', count: 2 }],
      worker: {
        jobs: [JOBS_ABS],
        connection: {},
        namespace: 'resque',
        nonblockingPop: false,
        backoffMin: 1,
        backoffMax: 8,
        blockTimeout: 5,
        // The children's: the master's + 2 s, so the master's kill comes first.
        termTimeout: 12,
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
        logFormat: 'text',
      },
      termTimeout: 10,
      jobTimeout: null,
      timeoutGrace: 5,
      maxMemoryMb: null,
      maxJobs: null,
      workerInit: null,
      autoscale: null,
      childNodeOptions: ['--max-semi-space-size=1'],
      maxChildren: 100,
      winch: false,
      hostname: os.hostname().trim(),
      spawnDelayMs: 0,
      checkTimeout: 60,
    });
    expect(resolveMasterConfig({ queues: ['p1', 'p2'], jobs: [JOBS], cwd: ROOT }).groups).toEqual([{ queues: 'p1,p2', count: 1 }]);
  });

  it('groups from a workers spec or a list; autoscale true or partial; node options as a string', () => {
    const c = resolveMasterConfig({ workers: 'p10,p9=4:p1=1..3', jobs: [JOBS], cwd: ROOT, autoscale: true, childNodeOptions: ' --a  --b ' });
    expect(c.groups).toEqual([
      { queues: 'p10,p9', count: 4 },
      { queues: 'p1', count: 1, min: 1, max: 3 },
    ]);
    expect(c.autoscale).toEqual({ maxCpu: 80, maxMem: 90, interval: 10 });
    expect(c.childNodeOptions).toEqual(['--a', '--b']);
    const g = resolveMasterConfig({ groups: [{ queues: 'p1', count: 2, min: 1, max: 4 }], jobs: [JOBS], cwd: ROOT, autoscale: { maxCpu: 50 } });
    expect(g.autoscale).toEqual({ maxCpu: 50, maxMem: 90, interval: 10 });
    expect(g.groups).toEqual([{ queues: 'p1', count: 2, min: 1, max: 4 }]);
  });

  it('master fields: limits, worker init resolved, hostname trimmed, worker fields passed on', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-cfg-'));
    fs.writeFileSync(path.join(dir, 'init.js'), 'module.exports = () => {};\n');
    const c = resolveMasterConfig({
      queues: 'p1',
      jobs: [JOBS_ABS],
      cwd: dir,
      termTimeout: 3,
      jobTimeout: 30,
      timeoutGrace: 0,
      maxMemoryMb: 200,
      maxJobs: 5,
      workerInit: './init.js',
      maxChildren: 4,
      winch: true,
      hostname: ' box ',
      checkTimeout: 300,
      onDirtyExit: 'requeue',
      heartbeatInterval: 5,
      pruneInterval: 20,
      nonblockingPop: true,
      interval: 2,
    });
    expect(c).toMatchObject({
      termTimeout: 3,
      jobTimeout: 30,
      timeoutGrace: 0,
      maxMemoryMb: 200,
      maxJobs: 5,
      maxChildren: 4,
      winch: true,
      hostname: 'box',
      checkTimeout: 300,
    });
    expect(c.workerInit).toBe(path.join(dir, 'init.js'));
    expect(c.worker).toMatchObject({ onDirtyExit: 'requeue', heartbeatInterval: 5, pruneInterval: 20, backoffMin: 2, backoffMax: 2, termTimeout: 5 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['no groups', { queues: undefined }, /^no workers: give queues \(--queues\) with pool \(--pool\)/],
    ['two sources', { workers: 'p1=1' }, /^give one of queues .*; got queues and workers$/],
    ['pool without queues', { queues: undefined, workers: 'p1=1', pool: 2 }, /^pool \(--pool\) goes with queues \(--queues\)$/],
    ['pool', { pool: -1 }, /^pool \(--pool\) must be a whole number of 0 or more, got -1$/],
    ['pool', { pool: 1.5 }, /^pool \(--pool\) must be a whole number/],
    ['queues', { queues: 'a:b' }, /^queues \(--queues\): queue "a:b"/],
    ['workers', { queues: undefined, workers: 'p1=x' }, /^workers \(--workers\): "p1" needs a worker count/],
    ['workers', { queues: undefined, workers: 'p1' }, /^workers \(--workers\): "p1" is not queues=count/],
    ['workers', { queues: undefined, workers: 5 }, /^workers \(--workers\) must be a string/],
    ['groups', { queues: undefined, groups: [{ queues: 'p1', count: -1 }] }, /^groups\[0\]\.count must be a whole number of 0 or more/],
    [
      'groups',
      {
        queues: undefined,
        groups: [
          { queues: 'p1', count: 1 },
          { queues: 'p1', count: 2 },
        ],
      },
      /^groups: the queue list "p1" appears twice/,
    ],
    ['groups', { queues: undefined, groups: 'p1=2' }, /^groups must be an array/],
    ['jobs', { jobs: undefined }, /^jobs \(--jobs\) is required/],
    ['termTimeout', { termTimeout: -1 }, /^termTimeout \(--term-timeout\) must be a number of 0 or more, got -1$/],
    ['jobTimeout', { jobTimeout: 0 }, /^jobTimeout \(--job-timeout\) must be a number greater than 0, got 0$/],
    ['jobTimeout', { jobTimeout: 2147484 }, /^jobTimeout \(--job-timeout\) must be at most 1000000 seconds \(Node's timers hold ~24\.8 days\), got 2147484$/],
    ['termTimeout', { termTimeout: 3000000 }, /^termTimeout \(--term-timeout\) must be at most 1000000 seconds/],
    ['timeoutGrace', { timeoutGrace: 1e7 }, /^timeoutGrace \(--timeout-grace\) must be at most 1000000 seconds/],
    ['timeoutGrace', { timeoutGrace: -1 }, /^timeoutGrace \(--timeout-grace\) must be a number of 0 or more/],
    ['maxMemoryMb', { maxMemoryMb: -5 }, /^maxMemoryMb \(--max-memory\) must be a number greater than 0/],
    ['maxJobs', { maxJobs: 0 }, /^maxJobs \(--max-jobs\) must be a whole number of 1 or more, got 0$/],
    ['maxJobs', { maxJobs: 2.5 }, /^maxJobs \(--max-jobs\) must be a whole number/],
    ['workerInit', { workerInit: './nope.js' }, /^workerInit \(--worker-init\) \.\/nope\.js: no such file/],
    ['autoscale', { autoscale: true }, /^autoscale \(--autoscale\) needs at least one group with a range/],
    ['autoscale', { autoscale: 'on' }, /^autoscale \(--autoscale\) must be true, false or/],
    [
      'autoscale.maxCpu',
      { queues: undefined, workers: 'p1=1..2', autoscale: { maxCpu: 120 } },
      /^autoscale\.maxCpu \(--max-cpu\) must be a number greater than 0 and at most 100/,
    ],
    [
      'autoscale.interval',
      { queues: undefined, workers: 'p1=1..2', autoscale: { interval: 0 } },
      /^autoscale\.interval \(--scale-interval\) must be a number greater than 0/,
    ],
    ['childNodeOptions', { childNodeOptions: [1] }, /^childNodeOptions \(--child-node-options\) must be a list of strings/],
    ['maxChildren', { maxChildren: 0 }, /^maxChildren \(--max-children\) must be a whole number of 1 or more/],
    [
      'maxChildren',
      { queues: undefined, workers: 'p1=3:p2=1..5', maxChildren: 7 },
      /^maxChildren \(--max-children\) is 7, but the groups ask for up to 8 children/,
    ],
    ['winch', { winch: 'yes' }, /^winch \(--winch\) must be true or false/],
    ['checkTimeout', { checkTimeout: 0 }, /^checkTimeout \(--check-timeout\) must be a number greater than 0 and at most 86400, got 0$/],
    ['checkTimeout', { checkTimeout: '1m' }, /^checkTimeout \(--check-timeout\) must be a number greater than 0 and at most 86400, got "1m"$/],
    ['hostname', { hostname: 'h:1' }, /^hostname: hostname "h:1" contains ':'/],
    ['hostname', { hostname: '' }, /^hostname must be a non-empty string/],
    ['onDirtyExit', { onDirtyExit: 'Fail' }, /^onDirtyExit \(--on-dirty-exit\) must be 'fail' or 'requeue', got "Fail"$/],
    ['failureBackend', { failureBackend: 'RedisMultiQueue' }, /^failureBackend \(--failure-backend\) must be 'redis' or 'redis_multi_queue'/],
    ['drain', { drain: true }, /^drain \(--drain\) has no meaning for a master's children/],
    ['heartbeatInterval', { heartbeatInterval: -1 }, /^heartbeatInterval \(--heartbeat-interval\) must be a number greater than 0/],
  ])('%s: %j is a ConfigError naming the field', (_name, over, re) => {
    expect(configError(() => resolveMasterConfig({ queues: 'p1', jobs: [JOBS], cwd: ROOT, ...(over as object) }))).toMatch(re);
  });

  it('the configured total may equal maxChildren', () => {
    expect(resolveMasterConfig({ workers: 'p1=3:p2=1..5', jobs: [JOBS], cwd: ROOT, maxChildren: 8 }).maxChildren).toBe(8);
  });
});

describe('child spec', () => {
  const spec = (): ChildSpec => {
    const m = resolveMasterConfig({ queues: 'p1', jobs: [JOBS], cwd: ROOT, jobTimeout: 30 });
    return {
      worker: { ...m.worker, queues: 'p1', drain: false },
      masterPid: 4242,
      jobTimeout: m.jobTimeout,
      timeoutGrace: m.timeoutGrace,
      termTimeout: m.termTimeout,
      maxJobs: 3,
      maxMemoryMb: null,
      workerInit: null,
      reportEveryJob: true,
    };
  };

  it('round-trips through JSON in PYRES_CHILD_SPEC', () => {
    expect(CHILD_SPEC_ENV).toBe('PYRES_CHILD_SPEC');
    const s = spec();
    s.worker.connection = { url: 'redis://h:1', timeout: 2 }; // --redis-timeout reaches the children
    const text = encodeChildSpec(s);
    expect(JSON.parse(text)).toEqual(s);
    expect(decodeChildSpec(text)).toEqual(s);
  });

  const bad = (mut: (s: Record<string, unknown> & { worker: Record<string, unknown> }) => void): string => {
    const s = spec() as unknown as Record<string, unknown> & { worker: Record<string, unknown> };
    mut(s);
    return configError(() => decodeChildSpec(JSON.stringify(s)));
  };

  it.each<[string, (s: Record<string, unknown> & { worker: Record<string, unknown> }) => void, RegExp]>([
    ['not JSON', () => undefined, /^PYRES_CHILD_SPEC: is not JSON/],
    ['masterPid', s => (s['masterPid'] = 0), /^PYRES_CHILD_SPEC: masterPid must be a whole number of 1 or more, got 0$/],
    ['masterPid missing', s => delete s['masterPid'], /^PYRES_CHILD_SPEC: masterPid is missing$/],
    ['jobTimeout', s => (s['jobTimeout'] = -1), /^PYRES_CHILD_SPEC: jobTimeout \(--job-timeout\) must be a number greater than 0/],
    ['maxJobs', s => (s['maxJobs'] = 1.5), /^PYRES_CHILD_SPEC: maxJobs \(--max-jobs\) must be a whole number/],
    ['workerInit', s => (s['workerInit'] = 'rel.js'), /^PYRES_CHILD_SPEC: workerInit \(--worker-init\) must be null or an absolute path/],
    ['reportEveryJob', s => (s['reportEveryJob'] = 'yes'), /^PYRES_CHILD_SPEC: reportEveryJob must be true or false/],
    ['worker', s => ((s as Record<string, unknown>)['worker'] = null), /^PYRES_CHILD_SPEC: worker must be an object/],
    ['worker.queues', s => (s.worker['queues'] = ''), /^PYRES_CHILD_SPEC: worker\.queues \(--queues\) is required/],
    ['worker.jobs', s => (s.worker['jobs'] = ['rel.js']), /^PYRES_CHILD_SPEC: worker\.jobs \(--jobs\) must be a non-empty list of absolute paths/],
    [
      'worker.termTimeout',
      s => (s.worker['termTimeout'] = -1),
      /^PYRES_CHILD_SPEC: worker\.termTimeout \(--term-timeout\) must be a number of 0 or more, got -1$/,
    ],
    ['worker.waitTimeout', s => (s.worker['waitTimeout'] = 0), /^PYRES_CHILD_SPEC: worker\.waitTimeout \(--wait-timeout\) must be a whole number of 1 or more/],
    ['worker.onDirtyExit', s => (s.worker['onDirtyExit'] = 'x'), /^PYRES_CHILD_SPEC: worker\.onDirtyExit \(--on-dirty-exit\) must be 'fail' or 'requeue'/],
    [
      'worker.failureBackend',
      s => (s.worker['failureBackend'] = 'x'),
      /^PYRES_CHILD_SPEC: worker\.failureBackend \(--failure-backend\) must be 'redis' or 'redis_multi_queue'/,
    ],
    ['worker.failureBackend missing', s => delete s.worker['failureBackend'], /^PYRES_CHILD_SPEC: worker\.failureBackend \(--failure-backend\) is missing$/],
    ['worker.logLevel', s => (s.worker['logLevel'] = 'warning'), /^PYRES_CHILD_SPEC: worker\.logLevel \(--log-level\) must be one of debug, info, warn, error/],
    ['worker.drain', s => (s.worker['drain'] = true), /^PYRES_CHILD_SPEC: worker\.drain \(--drain\) must be false for a master's child/],
    [
      'worker.heartbeatInterval missing',
      s => delete s.worker['heartbeatInterval'],
      /^PYRES_CHILD_SPEC: worker\.heartbeatInterval \(--heartbeat-interval\) is missing$/,
    ],
    [
      'worker.backoffMax',
      s => ((s.worker['backoffMin'] = 5), (s.worker['backoffMax'] = 2)),
      /^PYRES_CHILD_SPEC: worker\.backoffMax \(--backoff-max\) must be at least/,
    ],
    [
      'worker.connection.timeout',
      s => (s.worker['connection'] = { timeout: -1 }),
      /^PYRES_CHILD_SPEC: worker\.connection\.timeout \(--redis-timeout\) must be a number greater than 0/,
    ],
  ])('a bad spec (%s) is a ConfigError naming the field', (name, mut, re) => {
    const msg = name === 'not JSON' ? configError(() => decodeChildSpec('{"worker":')) : bad(mut);
    expect(msg).toMatch(re);
  });

  it('encode validates too: a bad spec fails in the master, not in every child', () => {
    expect(configError(() => encodeChildSpec({ ...spec(), masterPid: -1 }))).toMatch(/^PYRES_CHILD_SPEC: masterPid/);
  });
});

describe('groups', () => {
  it('parses a workers spec with counts and ranges', () => {
    const g = parseWorkersSpec('p10,p9=4: p1 = 2..8 :*=1');
    expect(g).toEqual([
      { queues: 'p10,p9', count: 4 },
      { queues: 'p1', count: 2, min: 2, max: 8 },
      { queues: '*', count: 1 },
    ]);
    expect(describeGroups(g)).toBe('p10,p9=4:p1=2..8:*=1');
  });

  it.each([
    ['', /--workers is empty/],
    ['p1', /"p1" is not queues=count/],
    ['p1=-1', /needs a worker count/],
    ['p1=3..2', /has max below min/],
    ['p1=1:p1=2', /appears twice/],
    ['a:b=1', /is not queues=count/],
  ])('rejects %j', (spec, re) => {
    expect(() => parseWorkersSpec(spec)).toThrow(ConfigError);
    expect(() => parseWorkersSpec(spec)).toThrow(re);
  });

  it('a pool YAML with an environment section', () => {
    const yaml = '"p10,p9": 4\np1: 1\nproduction:\n  p1: 3\n  "p2": "1..4"\n';
    expect(parsePoolYaml(yaml, 'production')).toEqual([
      { queues: 'p10,p9', count: 4 },
      { queues: 'p1', count: 3 },
      { queues: 'p2', count: 1, min: 1, max: 4 },
    ]);
    expect(() => parsePoolYaml('p1: [1', undefined)).toThrow(/not valid YAML/);
    // resque-pool's fallback: an environment with no section of its own gets the top level alone.
    const notes: string[] = [];
    expect(parsePoolYaml('p9: 2\na: {p1: 1}', 'staging', '--config x', m => notes.push(m))).toEqual([{ queues: 'p9', count: 2 }]);
    expect(notes).toEqual(['--config x: no section for environment "staging" (sections: a); using the top level']);
  });

  it('validateGroups checks data groups', () => {
    expect(validateGroups([{ queues: ' p1 ', count: 2 }])).toEqual([{ queues: 'p1', count: 2 }]);
    expect(validateGroups([{ queues: 'p1', min: 1, max: 3 }])).toEqual([{ queues: 'p1', count: 1, min: 1, max: 3 }]);
    expect(() => validateGroups([{ queues: 'p1', count: 5, min: 1, max: 3 }])).toThrow(/groups\[0\]\.count \(5\) must be within min\.\.max \(1\.\.3\)/);
    expect(() => validateGroups([{ queues: 'p1', min: 4, max: 3 }])).toThrow(/groups\[0\]: max \(3\) is below min \(4\)/);
    expect(() => validateGroups([{ queues: '!p1', count: 1 }])).toThrow(/groups\[0\]\.queues: needs at least one queue that is not a !skip pattern/);
    expect(() => validateGroups([{ queues: 3, count: 1 }])).toThrow(/groups\[0\]\.queues must be a queue list string/);
    expect(() => validateGroups([null])).toThrow(/groups\[0\] must be/);
  });
});
