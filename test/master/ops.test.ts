/**
 * resque-pool's and Ruby's operating conventions with real processes and real signals:
 * --pidfile, --daemon, RESQUE_POOL_CONFIG / RESQUE_ENV, -E exported to the children, QUEUE /
 * COUNT / INTERVAL and PYRES_* from the environment (a flag wins), --spawn-delay, the TERM
 * modes, web --port, and sd_notify against a real $NOTIFY_SOCKET listener.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, runCli, spawnCli, spawnTracked } from '../support/spawn';
import { FIXTURES, isRunning, masterTestEnv, parseFailure, titleOf, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();
const JOB_ARGS = ['--jobs', 'fixtures/jobs/basic.js'];

const readPid = (f: string): number | null => {
  try {
    return Number(fs.readFileSync(f, 'utf8').trim()) || null;
  } catch {
    return null;
  }
};

describe('--pidfile', () => {
  it('holds the pid and a newline while the master runs; TERM to that pid stops it and removes the file', async () => {
    const pidfile = path.join(env.tmp, 'run', 'pool.pid');
    const m = await env.startMaster(['--queues', 'p1', '--pidfile', pidfile]);
    expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${m.pid}\n`);
    process.kill(readPid(pidfile) as number, 'SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(pidfile)).toBe(false);
  });

  it('a pidfile naming a live process: refused with a one-line reason, the file left alone', async () => {
    const pidfile = env.writeTmp('live.pid', `${process.pid}\n`);
    const r = await runCli(['master', '--queues', 'p1', '-p', pidfile, ...JOB_ARGS], env.spawnEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--pidfile ${pidfile}: already running as pid ${process.pid}`);
    expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${process.pid}\n`);
  });

  it("a stale pidfile (its pid is dead) is replaced; a worker's -p works the same", async () => {
    const dead = spawnSync('true').pid as number;
    const pidfile = env.writeTmp('stale.pid', `${dead}\n`);
    const w = spawnCli(['worker', '--queues', 'p1', '-p', pidfile, ...JOB_ARGS], env.spawnEnv());
    await waitFor(() => readPid(pidfile) === w.pid, 8000, 'the worker pid in the pidfile');
    await waitFor(async () => (await env.workers()).includes(workerIdFor(w.pid, 'p1')), 8000, 'the worker registered');
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(pidfile)).toBe(false);
  });
});

describe('--daemon', () => {
  it('detaches (the starter exits 0 once it is up), writes its pidfile and logs to --stderr; TERM to the pid stops it and removes the pidfile', async () => {
    const pidfile = path.join(env.tmp, 'tmp', 'pids', 'pool.pid');
    const out = path.join(env.tmp, 'log', 'out.log');
    const err = path.join(env.tmp, 'log', 'err.log');
    const starter = spawnCli(['master', '--daemon', '--queues', 'p1', '--pool', '2', '-p', pidfile, '-o', out, '-e', err, ...JOB_ARGS], env.spawnEnv());
    expect(await starter.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    const pid = readPid(pidfile) as number;
    expect(starter.stderr()).toContain(`daemon started as pid ${pid}`);
    expect(pid).not.toBe(starter.pid);
    expect(isRunning(pid)).toBe(true);
    // Its own session: no controlling terminal, not in the test's process group.
    const sid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]);
    expect(sid).toBe(pid);
    const kids = await env.waitForChildren(pid, 2, 10000, 'p1');
    // The hand-over variable is the daemon's alone: its children (and their jobs) do not see it.
    for (const k of kids) expect(fs.readFileSync(`/proc/${k}/environ`, 'utf8').split('\0')).not.toContainEqual(expect.stringMatching(/^PYRES_DAEMON_CHILD=/));
    expect(fs.readFileSync(`/proc/${kids[0]}/environ`, 'utf8')).toContain('PYRES_MASTER_TEST_TAG=');
    await waitFor(() => /all children registered/.test(fs.readFileSync(err, 'utf8')), 8000, 'the log in --stderr');
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isRunning(pid), 10000, 'the daemon to exit');
    await waitFor(() => !fs.existsSync(pidfile), 2000, 'the pidfile removed');
    expect(fs.readFileSync(err, 'utf8')).toMatch(/stopped/);
    await env.waitForWorkerCount(0);
  });

  it('a daemon that cannot start: the starter says so and exits non-zero', async () => {
    const pidfile = env.writeTmp('held.pid', `${process.pid}\n`);
    const err = path.join(env.tmp, 'err.log');
    const r = await runCli(['master', '-d', '--queues', 'p1', '-p', pidfile, '-o', path.join(env.tmp, 'o.log'), '-e', err, ...JOB_ARGS], env.spawnEnv(), 15000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--daemon: pid \d+ exited \(code 2\) before it was up/);
    expect(fs.readFileSync(err, 'utf8')).toContain('already running');
  });

  it('--stdout without --daemon is a one-line usage error', async () => {
    const r = await runCli(['master', '--queues', 'p1', '--stdout', 'x.log', ...JOB_ARGS], env.spawnEnv());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('pyres-ts: --stdout needs --daemon (in the foreground redirect with the shell: > out.log 2> err.log)');
  });
});

describe('pool file and environment (resque-pool)', () => {
  const yaml = 'p1: 1\nproduction:\n  p2: 1\n';

  it('RESQUE_POOL_CONFIG names the file; RESQUE_ENV picks its section; an unknown environment falls back to the top level', async () => {
    const file = env.writeTmp('pool.yml', yaml);
    const prod = await env.startMaster([], {
      env: { RESQUE_POOL_CONFIG: file, RESQUE_ENV: 'production', RACK_ENV: undefined, RAILS_ENV: undefined, NODE_ENV: undefined },
    });
    await prod.waitForLine(/starting p1=1:p2=1/);
    prod.kill('SIGTERM');
    await prod.waitForEnd(8000);
    const staging = await env.startMaster([], {
      env: { RESQUE_POOL_CONFIG: file, RESQUE_ENV: 'staging', RACK_ENV: undefined, RAILS_ENV: undefined, NODE_ENV: undefined },
    });
    await staging.waitForLine(/no section for environment "staging" \(sections: production\); using the top level/);
    await staging.waitForLine(/starting p1=1$/);
    staging.kill('SIGTERM');
    await staging.waitForEnd(8000);
  });

  it('config/resque-pool.yml in the working directory is the default; -E is exported to the children as RACK_ENV, RAILS_ENV, RESQUE_ENV', async () => {
    fs.mkdirSync(path.join(env.tmp, 'config'));
    fs.writeFileSync(path.join(env.tmp, 'config', 'resque-pool.yml'), yaml);
    const jobs = path.resolve('fixtures/jobs/basic.js');
    const m = spawnCli(['master', '-E', 'production', '--jobs', jobs, '--worker-init', path.join(FIXTURES, 'init-env.js')], {
      ...env.spawnEnv({ RACK_ENV: undefined, RAILS_ENV: undefined, RESQUE_ENV: undefined, RESQUE_POOL_CONFIG: undefined }),
      cwd: env.tmp,
    });
    await m.waitForLine(/all children registered/, 10000);
    expect(m.lines().some(l => /starting p1=1:p2=1/.test(l))).toBe(true);
    // Two children, and the master's module check, which loads --worker-init too.
    expect(env.ledgerLines().length).toBeGreaterThanOrEqual(2);
    expect(new Set(env.ledgerLines())).toEqual(new Set(['env production production production']));
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('environment habits', () => {
  it('QUEUE and COUNT for the master (Ruby/resque-pool names)', async () => {
    const m = await env.startMaster([], { env: { QUEUE: 'envq', COUNT: '2' } });
    await env.waitForChildren(m.pid, 2, 10000, 'envq');
    m.kill('SIGTERM');
    await m.waitForEnd(8000);
  });

  it('QUEUES for the worker; PYRES_QUEUES beats QUEUES; a flag beats both', async () => {
    const w1 = spawnCli(['worker', ...JOB_ARGS], env.spawnEnv({ QUEUES: 'a,b' }));
    await waitFor(async () => (await env.workers()).includes(workerIdFor(w1.pid, 'a,b')), 8000, 'worker on a,b');
    const w2 = spawnCli(['worker', ...JOB_ARGS], env.spawnEnv({ QUEUES: 'a,b', PYRES_QUEUES: 'c' }));
    await waitFor(async () => (await env.workers()).includes(workerIdFor(w2.pid, 'c')), 8000, 'worker on c');
    const w3 = spawnCli(['worker', '--queues', 'd', ...JOB_ARGS], env.spawnEnv({ QUEUES: 'a,b', PYRES_QUEUES: 'c' }));
    await waitFor(async () => (await env.workers()).includes(workerIdFor(w3.pid, 'd')), 8000, 'worker on d');
    for (const w of [w1, w2, w3]) w.kill('SIGQUIT');
    for (const w of [w1, w2, w3]) expect(await w.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it("INTERVAL, RESQUE_TERM_TIMEOUT and PYRES_* reach the options: a bad value is the flag's one-line error", async () => {
    const bad = async (e: Record<string, string>): Promise<string> => {
      const r = await runCli(['worker', '--queues', 'q', ...JOB_ARGS], env.spawnEnv(e));
      expect(r.code).toBe(2);
      return r.stderr.trim();
    };
    expect(await bad({ INTERVAL: '-3' })).toMatch(/--interval/);
    expect(await bad({ RESQUE_TERM_TIMEOUT: '-1' })).toMatch(/--term-timeout/);
    expect(await bad({ PYRES_ON_DIRTY_EXIT: 'explode' })).toMatch(/--on-dirty-exit/);
    // The flag wins over the variable: the same bad variable with a good flag starts.
    const w = spawnCli(['worker', '--queues', 'q', '--on-dirty-exit', 'fail', ...JOB_ARGS], env.spawnEnv({ PYRES_ON_DIRTY_EXIT: 'explode' }));
    await waitFor(async () => (await env.workers()).includes(workerIdFor(w.pid, 'q')), 8000, 'the worker registered');
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('--spawn-delay and --appname', () => {
  it('children start one at a time: with a long delay only the first runs (it works a job) and a stop drops the queued ones', async () => {
    const m = await env.startMaster(['--queues', 'sd', '--pool', '3', '--spawn-delay', '600000', '--appname', 'billing', '--log-level', 'debug'], {
      waitReady: false,
    });
    const [first] = await env.waitForChildren(m.pid, 1, 10000, 'sd');
    await env.enqueue('sd', 'Echo', 'one');
    await env.waitForLedger(/^Echo \["one"\]$/);
    // Had the pacer not held them, the other two would have been forked with the first.
    expect(m.lines().filter(l => /started child \d+ for sd/.test(l))).toHaveLength(1);
    expect(titleOf(m.pid)).toMatch(/^pyres_manager\[billing\] \(pyres-ts [^)]+\) master: managing sd=3 children \[\d+\]/);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(m.lines().filter(l => /started child \d+ for sd/.test(l))).toEqual([expect.stringContaining(`started child ${first} for sd`)]);
  });

  it('with a short delay every child still starts, in order', async () => {
    const m = await env.startMaster(['--queues', 'sd', '--pool', '3', '-s', '50', '--log-level', 'debug']);
    const pids = await env.waitForChildren(m.pid, 3, 10000, 'sd');
    const started = m
      .lines()
      .flatMap(l => /started child (\d+) for sd/.exec(l)?.[1] ?? [])
      .map(Number);
    expect([...started].sort((a, b) => a - b)).toEqual(pids);
    m.kill('SIGTERM');
    await m.waitForEnd(8000);
  });
});

describe('INT and the TERM modes', () => {
  it('TERM (default --term-immediate): the job is aborted and recorded as Resque::DirtyExit', async () => {
    const m = await env.startMaster(['--queues', 'p1']);
    await env.waitForChildren(m.pid, 1, 10000, 'p1');
    await env.enqueue('p1', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    const [rec] = await env.failures();
    expect(parseFailure(rec!).exception).toBe('Resque::DirtyExit');
  });

  it.each([['--term-graceful'], ['--term-graceful-wait']])('TERM with %s: the running job finishes, nothing fails', async flag => {
    const m = await env.startMaster(['--queues', 'p1', flag]);
    await env.waitForChildren(m.pid, 1, 10000, 'p1');
    await env.enqueue('p1', 'Abortable', 1);
    await env.waitForLedger(/Abortable start/);
    m.kill('SIGTERM');
    await m.waitForLine(/SIGTERM: stopping 1 children \(finishing their jobs\)/, 3000);
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual(['Abortable start', 'Abortable done']);
    expect(await env.failures()).toEqual([]);
  });

  it('two TERM modes at once are a usage error naming both', async () => {
    const r = await runCli(['master', '--queues', 'p1', '--term-graceful', '--term-immediate', ...JOB_ARGS], env.spawnEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('got --term-graceful and --term-immediate');
  });
});

describe('web --port', () => {
  it("is the HTTP port (pyres_web's), with --dsn too; --redis-port is the Redis port", async () => {
    const free = await new Promise<number>(ok => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => ok(p));
      });
    });
    const u = new URL(env.url);
    const w = spawnCli(['web', '--port', String(free), '--host', '127.0.0.1', '--redis-port', u.port], env.spawnEnv());
    await w.waitForLine(new RegExp(`dashboard on http://127\\.0\\.0\\.1:${free}/ for 127\\.0\\.0\\.1:${u.port}`), 10000);
    const res = await fetch(`http://127.0.0.1:${free}/`);
    expect(res.status).toBe(200);
    w.kill('SIGTERM');
    expect(await w.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    const d = spawnCli(['web', '--port', String(free), '--dsn', env.url], env.spawnEnv());
    await d.waitForLine(new RegExp(`dashboard on http://127\\.0\\.0\\.1:${free}/`), 10000);
    d.kill('SIGTERM');
    expect(await d.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });
});

describe('sd_notify (Type=notify)', () => {
  async function listener(addr: string) {
    const l = spawnTracked('python3', [path.join(FIXTURES, 'notify-listen.py'), addr]);
    await l.waitForLine(/^listening$/, 5000);
    const got = (): Array<Record<string, string>> =>
      l
        .lines()
        .filter(x => x.startsWith('{'))
        .map(x => (JSON.parse(x) as { fields: Record<string, string> }).fields);
    return { l, got };
  }

  it.each([
    ['a socket path, through systemd-notify', 'path', undefined],
    ['an abstract socket, through python3 (no systemd-notify on PATH)', 'abstract', 'python3-only'],
  ])('%s: READY=1 once all children are registered, WATCHDOG=1, STATUS, STOPPING=1 on TERM', async (_name, kind, pathMode) => {
    const addr = kind === 'path' ? path.join(env.tmp, 'notify.sock') : `@pyres-ts-test-${env.tag}`;
    const { l, got } = await listener(addr);
    let PATH = process.env['PATH'];
    if (pathMode === 'python3-only') {
      const bin = path.join(env.tmp, 'bin');
      fs.mkdirSync(bin);
      const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
      fs.symlinkSync(py, path.join(bin, 'python3'));
      PATH = bin;
    }
    const m = await env.startMaster(['--queues', 'p1', '--pool', '2'], { env: { NOTIFY_SOCKET: addr, WATCHDOG_USEC: '400000', PATH } });
    const ready = await waitFor(
      () => got().find(f => f['READY'] === '1'),
      8000,
      () => `READY=1; got ${JSON.stringify(got())}`,
    );
    expect(ready['MAINPID']).toBe(String(m.pid));
    expect(ready['STATUS']).toMatch(/managing p1=2 children \[\d+,\d+\]/);
    await waitFor(() => got().filter(f => f['WATCHDOG'] === '1').length >= 2, 8000, 'two WATCHDOG=1');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    const stopping = await waitFor(() => got().find(f => f['STOPPING'] === '1'), 3000, 'STOPPING=1');
    expect(stopping['STATUS']).toMatch(/^stopping/);
    // READY came once, and before STOPPING.
    const all = got();
    expect(all.filter(f => f['READY'] === '1')).toHaveLength(1);
    expect(all.findIndex(f => f['READY'] === '1')).toBeLessThan(all.findIndex(f => f['STOPPING'] === '1'));
    l.kill('SIGTERM');
    await l.waitForEnd(3000);
  });

  it('no tool to send with: one warning, and the master runs on', async () => {
    const m = await env.startMaster(['--queues', 'p1'], { env: { NOTIFY_SOCKET: '@nobody', PATH: path.join(env.tmp, 'empty') } });
    expect(m.lines().some(x => /NOTIFY_SOCKET is set but neither systemd-notify nor python3 is on PATH/.test(x))).toBe(true);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

test('BIN is the built CLI', () => {
  expect(fs.existsSync(BIN)).toBe(true);
});
