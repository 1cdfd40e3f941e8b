/**
 * Operations helpers as pure functions: cgroup limit files (fixture contents as the kernel
 * writes them), environment option names, the sd_notify text and watchdog period, pidfiles.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envKeys, INTERNAL_ENV_RE, rubyEnvValues } from '../../src/cli/envOptions';
import { readPidfile, writePidfile } from '../../src/cli/pidfile';
import { formatNotify, watchdogIntervalMs } from '../../src/cli/sdNotify';
import { termModeFromArgs, spawnDelayFromArgs } from '../../src/cli/processOps';
import { defaultPoolConfig, poolEnvironment } from '../../src/config/poolConfigFile';
import {
  parseBytes,
  parseCfsQuota,
  parseCpuMax,
  parseCpuStatUsage,
  parseInactiveFile,
  parseMemoryLimit,
  parseProcCgroup,
  readCgroupLimits,
} from '../../src/master/cgroup';

describe('cgroup limit files', () => {
  it('v2 cpu.max: quota/period CPUs, "max" is no limit', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('50000 100000\n')).toBe(0.5);
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('')).toBeNull();
  });
  it('v1 cfs quota: -1 is no limit', () => {
    expect(parseCfsQuota('150000\n', '100000\n')).toBe(1.5);
    expect(parseCfsQuota('-1\n', '100000\n')).toBeNull();
  });
  it('memory limits: v2 "max" and v1\'s huge number are no limit', () => {
    expect(parseMemoryLimit('536870912\n')).toBe(536870912);
    expect(parseMemoryLimit('max\n')).toBeNull();
    expect(parseMemoryLimit('9223372036854771712\n')).toBeNull();
    expect(parseBytes('1257000960\n')).toBe(1257000960);
    expect(parseBytes('x')).toBeNull();
  });
  it('cpu.stat usage_usec and memory.stat inactive_file', () => {
    expect(parseCpuStatUsage('usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n')).toBe(123456);
    expect(parseCpuStatUsage('user_usec 1\n')).toBeNull();
    expect(parseInactiveFile('anon 1\ninactive_file 4096\nactive_file 8\n')).toBe(4096);
  });
  it('/proc/self/cgroup: the v2 path and v1 controllers', () => {
    expect(parseProcCgroup('0::/system.slice/pyres.service\n')).toEqual({ v2: '/system.slice/pyres.service', v1: {} });
    const v1 = parseProcCgroup('4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n');
    expect(v1.v1).toEqual({ memory: '/docker/abc', cpu: '/docker/abc', cpuacct: '/docker/abc' });
  });
  it('readCgroupLimits reads a v2 tree and a v1 tree (fixture directories), and null without limits', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-'));
    try {
      const v2 = path.join(root, 'v2', 'app');
      fs.mkdirSync(v2, { recursive: true });
      fs.writeFileSync(path.join(v2, 'cgroup.controllers'), 'cpu memory\n');
      fs.writeFileSync(path.join(v2, 'cpu.max'), '150000 100000\n');
      fs.writeFileSync(path.join(v2, 'memory.max'), '1000000\n');
      fs.writeFileSync(path.join(v2, 'memory.current'), '600000\n');
      fs.writeFileSync(path.join(v2, 'memory.stat'), 'inactive_file 100000\n');
      fs.writeFileSync(path.join(v2, 'cpu.stat'), 'usage_usec 42\n');
      const l2 = readCgroupLimits(path.join(root, 'v2'), '0::/app\n');
      expect(l2 && { v: l2.version, cpus: l2.cpus, mem: l2.memoryMax, used: l2.memoryUsed(), cpu: l2.cpuUsageUsec() }).toEqual({
        v: 2,
        cpus: 1.5,
        mem: 1000000,
        used: 500000,
        cpu: 42,
      });
      const v1 = path.join(root, 'v1');
      fs.mkdirSync(path.join(v1, 'cpu'), { recursive: true });
      fs.mkdirSync(path.join(v1, 'cpuacct'), { recursive: true });
      fs.mkdirSync(path.join(v1, 'memory'), { recursive: true });
      fs.writeFileSync(path.join(v1, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
      fs.writeFileSync(path.join(v1, 'cpu', 'cpu.cfs_period_us'), '100000\n');
      fs.writeFileSync(path.join(v1, 'memory', 'memory.limit_in_bytes'), '2000000\n');
      fs.writeFileSync(path.join(v1, 'memory', 'memory.usage_in_bytes'), '500000\n');
      fs.writeFileSync(path.join(v1, 'cpuacct', 'cpuacct.usage'), '5000\n');
      const l1 = readCgroupLimits(v1, '4:memory:/docker/x\n2:cpu:/docker/x\n3:cpuacct:/docker/x\n');
      expect(l1 && { v: l1.version, cpus: l1.cpus, mem: l1.memoryMax, used: l1.memoryUsed(), cpu: l1.cpuUsageUsec() }).toEqual({
        v: 1,
        cpus: null,
        mem: 2000000,
        used: 500000,
        cpu: 5,
      });
      fs.writeFileSync(path.join(v1, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
      expect(readCgroupLimits(v1, '4:memory:/docker/x\n2:cpu:/docker/x\n')).toBeNull();
      expect(readCgroupLimits(root, null)).toBeNull();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('environment options', () => {
  it('PYRES_TERM_TIMEOUT is --term-timeout; internal PYRES_* names are not options', () => {
    expect(envKeys('PYRES_TERM_TIMEOUT')).toEqual(['term-timeout', 'termTimeout']);
    expect(envKeys('REDIS_URL')).toEqual([]);
    for (const n of [
      'PYRES_CHILD_SPEC',
      'PYRES_MODULE_CHECK',
      'PYRES_TEST_LEDGER',
      'PYRES_MASTER_TEST_TAG',
      'PYRES_WEB_AUTH',
      'PYRES_DAEMON_CHILD',
      'PYRES_INIT_CHILD',
      'PYRES_TS_SKIP_NATIVE',
    ])
      expect(n).toMatch(INTERNAL_ENV_RE);
    for (const n of ['PYRES_QUEUES', 'PYRES_WEB_PORT', 'PYRES_TERM_TIMEOUT']) expect(n).not.toMatch(INTERNAL_ENV_RE);
  });
  it("Ruby's names fill only unset, known options; QUEUES before QUEUE; COUNT only with queues", () => {
    const known = new Set(['queues', 'pool', 'interval', 'term-timeout']);
    expect(rubyEnvValues({}, known, { QUEUE: 'a', QUEUES: 'b,c', COUNT: '3', INTERVAL: '2', RESQUE_TERM_TIMEOUT: '7' })).toEqual({
      queues: 'b,c',
      pool: 3,
      interval: 2,
      'term-timeout': 7,
    });
    expect(rubyEnvValues({ queues: 'x', interval: 1 }, known, { QUEUE: 'a', INTERVAL: '2' })).toEqual({});
    expect(rubyEnvValues({ workers: 'p1=2' }, known, { QUEUE: 'a', COUNT: '3' })).toEqual({});
    expect(rubyEnvValues({}, new Set(['queues']), { QUEUE: 'a', COUNT: '3' })).toEqual({ queues: 'a' });
  });
});

describe('resque-pool conventions', () => {
  it('the pool file: $RESQUE_POOL_CONFIG, else resque-pool.yml, else config/resque-pool.yml', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-'));
    try {
      expect(defaultPoolConfig({}, dir)).toBeUndefined();
      fs.mkdirSync(path.join(dir, 'config'));
      fs.writeFileSync(path.join(dir, 'config', 'resque-pool.yml'), 'p1: 1\n');
      expect(defaultPoolConfig({}, dir)).toBe(path.join(dir, 'config', 'resque-pool.yml'));
      fs.writeFileSync(path.join(dir, 'resque-pool.yml'), 'p1: 1\n');
      expect(defaultPoolConfig({}, dir)).toBe(path.join(dir, 'resque-pool.yml'));
      expect(defaultPoolConfig({ RESQUE_POOL_CONFIG: 'other.yml' }, dir)).toBe(path.join(dir, 'other.yml'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("the environment: -E, then RACK_ENV, RAILS_ENV, RESQUE_ENV (resque-pool's order), then NODE_ENV", () => {
    expect(poolEnvironment('x', { RACK_ENV: 'r' })).toBe('x');
    expect(poolEnvironment(undefined, { RESQUE_ENV: 'q', RAILS_ENV: 'r' })).toBe('r');
    expect(poolEnvironment(undefined, { RESQUE_ENV: 'q', NODE_ENV: 'n' })).toBe('q');
    expect(poolEnvironment(undefined, {})).toBeUndefined();
  });
  it('TERM modes and --spawn-delay are checked', () => {
    expect(termModeFromArgs({})).toBe('immediate');
    expect(termModeFromArgs({ 'term-graceful': true })).toBe('graceful');
    expect(termModeFromArgs({ 'term-graceful-wait': true })).toBe('graceful-wait');
    expect(() => termModeFromArgs({ 'term-graceful': true, 'term-immediate': true })).toThrow(/give one of --term-graceful-wait/);
    expect(spawnDelayFromArgs({ 'spawn-delay': 250 })).toBe(250);
    expect(() => spawnDelayFromArgs({ 'spawn-delay': Number.NaN })).toThrow(/--spawn-delay must be milliseconds/);
  });
});

describe('sd_notify', () => {
  it('the text is KEY=value lines; a newline in a value cannot start a field', () => {
    expect(formatNotify({ READY: '1', STATUS: 'managing\nREADY=1' })).toBe('READY=1\nSTATUS=managing READY=1');
  });
  it('the watchdog pings at half of WATCHDOG_USEC, only for the pid it names', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '4000000' }, 7)).toBe(2000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '8' }, 7)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '7' }, 7)).toBe(2000);
    expect(watchdogIntervalMs({}, 7)).toBeNull();
  });
});

describe('pidfile', () => {
  it('written with a newline, refused while its pid lives, replaced when stale, removed only while it is ours', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pid-'));
    try {
      const file = path.join(dir, 'deep', 'x.pid');
      const p = writePidfile(file, process.pid);
      expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
      // A live pid (this one) holds it: another writer is refused, naming the flag and the pid.
      expect(() => writePidfile(file, process.pid + 100000)).toThrow(new RegExp(`--pidfile .*already running as pid ${process.pid}`));
      p.remove();
      expect(fs.existsSync(file)).toBe(false);
      // A dead pid's file is replaced.
      const dead = spawnSync('true').pid as number;
      fs.writeFileSync(file, `${dead}\n`);
      const q = writePidfile(file, process.pid);
      expect(readPidfile(file)).toBe(process.pid);
      // Not ours any more: remove() leaves it.
      fs.writeFileSync(file, '12345678\n');
      q.remove();
      expect(readPidfile(file)).toBe(12345678);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['x.pid']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a manual scale of an autoscaled group', () => {
  it('says how long it holds, and autoscale leaves it through that cooldown', () => {
    const { Supervisor } = require('../../src/master/supervisor') as typeof import('../../src/master/supervisor');
    const s = new Supervisor({
      groups: [{ queues: 'q', count: 1, min: 1, max: 4 }],
      termTimeout: 10,
      jobTimeout: null,
      timeoutGrace: 5,
      maxMemoryMb: null,
      autoscale: { maxCpu: 95, maxMem: 95, interval: 10 },
      maxChildren: 100,
      winch: false,
      onDirtyExit: 'fail',
    });
    let pid = 100;
    const feed = (acts: ReturnType<typeof s.start>): void => {
      for (const a of acts) if (a.type === 'spawn') feed(s.childSpawned(a.group, pid, `h:${pid++}:q`, 0));
    };
    feed(s.start(0));
    const acts = s.scale('q', 3, 100_000);
    feed(acts);
    const log = acts.find(a => a.type === 'log') as { msg: string };
    expect(log.msg).toBe('scale q: 1 -> 3; autoscale holds it for at least 15 s, then may move it within 1..4');
    // Empty queue, idle children: two agreeing samples would shrink it, but not inside the hold.
    const empty = { cpu: 0, mem: 10, depth: new Map([['q', 0]]) };
    s.autoscale(empty, 105_000);
    s.autoscale(empty, 110_000);
    expect(s.totalDesired()).toBe(3);
    // After the hold it may move again.
    s.autoscale(empty, 116_000);
    expect(s.totalDesired()).toBe(2);
  });
});

describe('cgroup v2 without a cgroup namespace', () => {
  it("the path /proc shows is the host's; the limits are read at the mount's top", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cg2-'));
    try {
      fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpu memory\n');
      fs.writeFileSync(path.join(root, 'cpu.max'), 'max 100000\n');
      fs.writeFileSync(path.join(root, 'memory.max'), '2048\n');
      const l = readCgroupLimits(root, '0::/docker/0123abcd\n');
      expect(l && { cpus: l.cpus, mem: l.memoryMax }).toEqual({ cpus: null, mem: 2048 });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
