/**
 * The process model (issue 9), end to end with real processes and real signals: supervision
 * that needs neither Redis nor the children's event loops, aborts that name their job, children
 * in their own process group, WINCH only when asked for, fail-fast deploys, caps on the control
 * plane, and the library Master. The rules themselves are unit-tested on the pure Supervisor
 * (test/unit/supervisor.test.ts); these prove the shell carries them out.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Master } from '../../src/master/master';
import { silentLogger } from '../../src/logging/logger';
import { RedisProc, destroyAllRedis } from '../faults/redisProc';
import { PROJECT_ROOT, runCli, spawnCli } from '../support/spawn';
import { HOST, childPidsOf, isRunning, k, masterTestEnv, parseFailure, pidsWithTag, sleep, waitFor, workerIdFor } from './helpers';

const env = masterTestEnv();
const MODEL = 'fixtures/jobs/model.js';
const JOBS = ['fixtures/jobs/basic.js', MODEL];

afterAll(async () => {
  await destroyAllRedis();
});

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

/** When a process started, in epoch ms (from /proc: its start in clock ticks since boot, 100 per second). */
function processStartMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]);
  return btime * 1000 + ticks * 10;
}

function redisPid(port: number): number {
  const out = execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${port}`], { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
  return Number(out);
}

describe('signals to the whole process group', () => {
  it("Ctrl-C (SIGINT to the master's process group) reaches only the master: a running job gets --term-timeout and finishes", async () => {
    const m = await env.startMaster(['--queues', 'pg', '--pool', '1', '--term-timeout', '8'], { jobs: JOBS, detached: true });
    const [child] = await env.waitForChildren(m.pid, 1);
    // The child is not in the master's process group.
    const pgidOf = (pid: number): number => Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    expect(pgidOf(m.pid)).toBe(m.pid);
    expect(pgidOf(child!)).not.toBe(m.pid);
    await env.enqueue('pg', 'Finish', 2, 'ctrl-c');
    await env.waitForLedger(/^Finish start ctrl-c/);
    process.kill(-m.pid, 'SIGINT');
    expect(await m.waitForEnd(12000)).toEqual({ code: 0, signal: null });
    // The job was not abandoned: it finished inside the deadline, no failure was written.
    expect(env.ledgerLines()).toContain(`Finish done ctrl-c ${child}`);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('1');
    await env.expectNoWorkersLeft();
  });
});

describe('TERM to the master and its children at once (systemd KillMode=control-group)', () => {
  it("the child's own TERM and the master's stop are one stop: the job gets its AbortSignal and the deadline, and finishes", async () => {
    const m = await env.startMaster(['--queues', 'cg', '--pool', '1', '--term-timeout', '8'], { jobs: JOBS });
    const [child] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('cg', 'Finish', 2, 'cgroup');
    await env.waitForLedger(/^Finish start cgroup/);
    process.kill(child!, 'SIGTERM');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(12000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toContain(`Finish done cgroup ${child}`);
    expect(await env.failures()).toEqual([]);
    await env.expectNoWorkersLeft();
  });
});

describe('liveness of a master’s children', () => {
  it('a child whose job blocks its event loop past the prune interval is not pruned by a worker that starts meanwhile', async () => {
    const m = await env.startMaster(['--queues', 'hb', '--pool', '1', '--heartbeat-interval', '1', '--prune-interval', '3'], { jobs: JOBS });
    const [child] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('hb', 'Spin', 6, 'long');
    await env.waitForLedger(/^Spin start long/);
    await sleep(4000);
    const pruner = spawnCli(
      ['worker', '--queues', 'hb', '--prune-interval', '3', '--heartbeat-interval', '1', '--jobs', 'fixtures/jobs/basic.js', '--drain'],
      env.spawnEnv(),
    );
    expect((await pruner.waitForEnd(10000)).code).toBe(0);
    await env.waitForLedger(/^Spin done long/, 8000);
    await waitFor(async () => (await env.stat('processed')) === '1', 5000, 'the job counted once');
    expect(await env.failures()).toEqual([]);
    expect(await env.workerPids('hb')).toEqual([child]);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('a timeout is the job’s own failure', () => {
  it('a job that honours its AbortSignal and times out is a JobTimeoutError, never requeued (also under --on-dirty-exit requeue)', async () => {
    const m = await env.startMaster(['--queues', 'to', '--pool', '1', '--job-timeout', '1', '--on-dirty-exit', 'requeue'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 1);
    const raw = await env.enqueue('to', 'Honour', 30, 'loop');
    await env.enqueue('to', 'Tick', 10, 'behind');
    const [rec] = await env.waitForFailures(1, 8000);
    const f = parseFailure(rec!);
    expect(f.exception).toBe('JobTimeoutError');
    expect(f.error).toMatch(/1s timeout/);
    expect(rec).toContain(`"payload":${raw}`);
    // The job behind it ran; the timed-out one did not come back.
    await env.waitForLedger(/^Tick behind /);
    expect(env.ledgerLines().filter(l => l.startsWith('Honour start loop'))).toHaveLength(1);
    expect(await env.redis.llen(k('queue:to'))).toBe(0);
    expect(await env.stat('failed')).toBe('1');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('a master stopped for 5 s (SIGSTOP/CONT) aborts no healthy job: aborts name the job they target', async () => {
    const m = await env.startMaster(['--queues', 'st', '--pool', '2', '--job-timeout', '2'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 2);
    for (let i = 0; i < 30; i++) await env.enqueue('st', 'Honour', 0.4, `j${i}`);
    await env.waitForLedger(/^Honour done j2 /);
    process.kill(m.pid, 'SIGSTOP');
    await sleep(5000);
    process.kill(m.pid, 'SIGCONT');
    await waitFor(
      () => env.ledgerLines().filter(l => l.startsWith('Honour done')).length === 30,
      30000,
      () => `30 jobs done; ledger ${env.ledgerLines().length} lines`,
    );
    expect(env.ledgerLines().filter(l => l.startsWith('Honour aborted'))).toEqual([]);
    expect(await env.failures()).toEqual([]);
    expect(await env.stat('processed')).toBe('30');
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('supervision without the children’s event loops', () => {
  it('a job that blocks its event loop while its RSS grows past twice --max-memory is killed (MemoryLimitError): the master reads /proc', async () => {
    const m = await env.startMaster(['--queues', 'mem', '--pool', '1', '--max-memory', '100'], { jobs: JOBS });
    const [first] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('mem', 'HogSpin', 300, 60);
    await env.waitForLedger(/^HogSpin start/);
    const [rec] = await env.waitForFailures(1, 8000);
    expect(parseFailure(rec!).exception).toBe('MemoryLimitError');
    await env.waitGone([first!]);
    expect(env.ledgerLines().some(l => l.startsWith('HogSpin done'))).toBe(false);
    await env.waitForChildren(m.pid, 1, 8000);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('autoscale grows a group whose CPU-bound jobs block their children’s event loops', async () => {
    const m = await env.startMaster(['--workers', 'cpu=1..3', '--autoscale', '--scale-interval', '1', '--max-cpu', '100', '--max-mem', '100'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 1);
    for (let i = 0; i < 8; i++) await env.enqueue('cpu', 'Spin', 3, `s${i}`);
    await m.waitForLine(/autoscale cpu: 1 -> 2: work is waiting and every child is busy/, 15000);
    m.kill('SIGKILL');
  });
});

describe('Redis silent (SIGSTOPped)', () => {
  let redis: RedisProc | null = null;
  afterEach(async () => {
    if (redis) {
      try {
        process.kill(redisPid(redis.port), 'SIGCONT');
      } catch {
        /* gone */
      }
      await redis.destroy();
      redis = null;
    }
  });

  it('job timeouts and memory kills are enforced, and TERM ends within --term-timeout + 2 s; nothing held is lost', async () => {
    redis = await RedisProc.start();
    const port = redis.port;
    const m = await env.startMaster(
      ['--queues', 'silent', '--pool', '2', '--job-timeout', '2', '--timeout-grace', '1', '--term-timeout', '3', '--max-memory', '100', '--redis', redis.url],
      { jobs: JOBS, redisUrl: redis.url },
    );
    const r = new (require('ioredis') as typeof import('ioredis').default)(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const kids = await waitFor(
        async () => {
          const w = await r.smembers(k('workers'));
          return w.length === 2 ? w : null;
        },
        10000,
        'two registered children',
      );
      const spin = `{"class":"Spin","args":[600,"hung"]}`;
      await r.pipeline().sadd(k('queues'), 'silent').rpush(k('queue:silent'), spin).exec();
      await env.waitForLedger(/^Spin start hung/);
      const hungPid = Number(
        env
          .ledgerLines()
          .find(l => l.startsWith('Spin start hung'))!
          .split(' ')
          .pop(),
      );
      const rpid = redisPid(port);
      process.kill(rpid, 'SIGSTOP');
      // Over its timeout (2 s) plus the grace (1 s): killed though Redis does not answer.
      await m.waitForLine(/Spin still running 1s after its timeout; killing the child/, 8000);
      await env.waitGone([hungPid], 3000);
      const t0 = Date.now();
      m.kill('SIGTERM');
      const end = await m.waitForEnd(9000);
      const took = Date.now() - t0;
      expect(end).toEqual({ code: 0, signal: null });
      // Bounded: the old master waited as long as Redis stayed silent.
      expect(took).toBeLessThan(3000 + 2000);
      process.kill(rpid, 'SIGCONT');
      // Not lost: the hung job is either recorded (the script reached Redis) or still held in
      // worker:<id> for the next prune.
      const hungId = kids.find(w => w.split(':')[1] === String(hungPid))!;
      const failed = await r.lrange(k('failed'), 0, -1);
      const held = await r.get(k(`worker:${hungId}`));
      const recorded = failed.some(x => x.includes('"exception":"JobTimeoutError"') && x.includes('"args":[600,"hung"]'));
      expect(recorded || (held !== null && held.includes('"args":[600,"hung"]'))).toBe(true);
    } finally {
      r.disconnect();
    }
  });

  it('a module check that blocks its event loop past --check-timeout while Redis is silent: exit 2 with the reason, bounded, none left', async () => {
    redis = await RedisProc.start();
    process.kill(redisPid(redis.port), 'SIGSTOP');
    const mod = env.writeTmp(
      'spinsload.js',
      [
        "'use strict';",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
        "require('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${process.env.PYRES_MODULE_CHECK ? 'check' : 'child'} ${process.pid} ${Date.now()}\\n`);",
        '// Top-level code that never yields (a synchronous wait): the checking child cannot answer anything.',
        'for (;;) {}',
        '',
      ].join('\n'),
    );
    const m = await env.startMaster(['--queues', 'spl', '--pool', '2', '--check-timeout', '2', '--redis', redis.url], {
      jobs: [mod],
      redisUrl: redis.url,
      waitReady: false,
    });
    const end = await m.waitForEnd(12000);
    const endedAt = Date.now();
    expect(end.code).toBe(2);
    expect(m.stderr()).toMatch(/checking the job modules took over 2 s/);
    const loads = env.ledgerLines().map(l => l.split(' '));
    expect(loads.map(l => l[1])).toEqual(['check']);
    // The kill came from the master's own clock: after the 2 s, and not held up by the silent Redis.
    expect(endedAt - Number(loads[0]![3])).toBeGreaterThanOrEqual(1900);
    expect(endedAt - Number(loads[0]![3])).toBeLessThan(8000);
    expect(pidsWithTag(env.tag)).toEqual([]);
  });

  it('TERM while the master is still connecting to a silent Redis ends it at once', async () => {
    redis = await RedisProc.start();
    process.kill(redisPid(redis.port), 'SIGSTOP');
    const m = await env.startMaster(['--queues', 'early', '--pool', '1', '--redis', redis.url], { jobs: JOBS, redisUrl: redis.url, waitReady: false });
    // The module check runs first; give it time to pass, so the master is then waiting on Redis.
    await sleep(2500);
    expect(m.exited).toBe(false);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(4000)).toEqual({ code: 0, signal: null });
    expect(childPidsOf(m.pid)).toEqual([]);
  });

  it('a ctl command pushed just before Redis goes silent is applied when it answers again, not dropped', async () => {
    redis = await RedisProc.start();
    const m = await env.startMaster(['--queues', 'slowcmd', '--pool', '1', '--redis', redis.url], { jobs: JOBS, redisUrl: redis.url });
    const r = new (require('ioredis') as typeof import('ioredis').default)(redis.url, { maxRetriesPerRequest: 1 });
    try {
      await r.rpush(k(`pyres-ts:master:${HOST}:${m.pid}:commands`), JSON.stringify({ cmd: 'scale', queues: 'slowcmd', count: 2 }));
      const rpid = redisPid(redis.port);
      process.kill(rpid, 'SIGSTOP');
      await sleep(3500);
      process.kill(rpid, 'SIGCONT');
      await m.waitForLine(/scale slowcmd: 1 -> 2/, 8000);
      await waitFor(() => childPidsOf(m.pid).length === 2, 8000, 'a second child');
    } finally {
      r.disconnect();
    }
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('a child of a SIGKILLed master whose job blocks its loop ends by its job timeout though Redis is silent; the job is not lost', async () => {
    redis = await RedisProc.start();
    const m = await env.startMaster(['--queues', 'hungsilent', '--pool', '1', '--job-timeout', '1', '--timeout-grace', '1', '--redis', redis.url], {
      jobs: JOBS,
      redisUrl: redis.url,
    });
    await m.waitForLine(/all children registered/, 10000);
    const [child] = childPidsOf(m.pid);
    const r = new (require('ioredis') as typeof import('ioredis').default)(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const workerId = (await r.smembers(k('workers')))[0]!;
      await r.pipeline().sadd(k('queues'), 'hungsilent').rpush(k('queue:hungsilent'), '{"class":"Spin","args":[600,"hs"]}').exec();
      await env.waitForLedger(/^Spin start hs/);
      const rpid = redisPid(redis.port);
      process.kill(rpid, 'SIGSTOP');
      m.kill('SIGKILL');
      await m.waitForEnd(5000);
      // Timeout 1 s + grace 1 s, then at most 5 s trying to record: the child kills itself anyway.
      await env.waitGone([child!], 15000);
      process.kill(rpid, 'SIGCONT');
      const failed = await r.lrange(k('failed'), 0, -1);
      const held = await r.get(k(`worker:${workerId}`));
      const recorded = failed.some(x => x.includes('"exception":"JobTimeoutError"') && x.includes('"args":[600,"hs"]'));
      expect(recorded || (held !== null && held.includes('"args":[600,"hs"]'))).toBe(true);
    } finally {
      r.disconnect();
    }
  });

  it('an idle child of a SIGKILLed master exits --term-timeout + 5 s later though Redis does not answer', async () => {
    redis = await RedisProc.start();
    const m = await env.startMaster(['--queues', 'orphan', '--pool', '1', '--term-timeout', '1', '--redis', redis.url], { jobs: JOBS, redisUrl: redis.url });
    await m.waitForLine(/all children registered/, 10000);
    const kids = childPidsOf(m.pid);
    expect(kids).toHaveLength(1);
    const rpid = redisPid(redis.port);
    process.kill(rpid, 'SIGSTOP');
    m.kill('SIGKILL');
    await m.waitForEnd(5000);
    await env.waitGone(kids, 20000);
  });
});

describe('WINCH', () => {
  it('a foreground master ignores SIGWINCH (a terminal resize); a later TTIN proves the group kept its size', async () => {
    const m = await env.startMaster(['--queues', 'w', '--pool', '2'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 2);
    m.kill('SIGWINCH');
    await m.waitForLine(/SIGWINCH ignored/, 3000);
    m.kill('SIGTTIN');
    await env.waitForChildren(m.pid, 3);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('with --winch, WINCH scales to zero and HUP brings the workers back', async () => {
    const m = await env.startMaster(['--queues', 'w', '--pool', '2', '--winch'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 2);
    m.kill('SIGWINCH');
    await env.waitForWorkerCount(0, 8000);
    m.kill('SIGHUP');
    await env.waitForChildren(m.pid, 2, 8000);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('a master SIGKILLed while its child runs a hung job', () => {
  it('the orphan bounds the job by --job-timeout, records it and exits: nothing stays registered', async () => {
    const m = await env.startMaster(['--queues', 'orph', '--pool', '1', '--job-timeout', '2', '--timeout-grace', '1'], { jobs: JOBS });
    const [child] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('orph', 'Spin', 600, 'forever');
    await env.waitForLedger(/^Spin start forever/);
    m.kill('SIGKILL');
    await m.waitForEnd(5000);
    await env.waitGone([child!], 10000);
    const [rec] = await env.waitForFailures(1, 5000);
    expect(parseFailure(rec!).exception).toBe('JobTimeoutError');
    expect(parseFailure(rec!).worker).toBe(workerIdFor(child!, 'orph'));
    await env.expectUnregistered(workerIdFor(child!, 'orph'));
  });
});

describe('fail fast on a broken deploy', () => {
  it('a job module with a syntax error: the master exits 2 naming the file and line, and forks no child', async () => {
    const bad = env.writeTmp('broken.js', "'use strict';\nexports.A = {\n  perform() { return 1 +; },\n};\n");
    const m = await env.startMaster(['--queues', 'b', '--pool', '2'], { jobs: [bad], waitReady: false });
    const end = await m.waitForEnd(20000);
    expect(end.code).toBe(2);
    expect(m.stderr()).toContain(`${bad}:3`);
    expect(m.stderr()).toMatch(/SyntaxError/);
    expect(m.lines().some(l => /started child/.test(l))).toBe(false);
    expect(await env.workers()).toEqual([]);
  });

  it('a job module that calls process.exit while the child checks it: the check process of its own words the reason, exit 2, none is left', async () => {
    const bad = env.writeTmp(
      'exits.js',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
      "'use strict';\nrequire('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${process.env.PYRES_MODULE_CHECK ? 'check' : 'child'} ${process.pid}\\n`);\nif (process.env.PYRES_MODULE_CHECK) process.exit(7);\nexports.Noop = { perform() {} };\n",
    );
    const m = await env.startMaster(['--queues', 'bx', '--pool', '2'], { jobs: [bad], waitReady: false });
    const end = await m.waitForEnd(20000);
    expect(end.code).toBe(2);
    expect(m.stderr()).toMatch(/the check process exited with code 7 before it reported \(does a module call process\.exit\?\)/);
    // The checking child, then the check process: two check loads, no child's.
    expect(env.ledgerLines().map(l => l.split(' ')[1])).toEqual(['check', 'check']);
    expect(m.lines().some(l => /started child/.test(l))).toBe(false);
    expect(await env.workers()).toEqual([]);
    expect(pidsWithTag(env.tag)).toEqual([]);
  });

  it('a job module that throws at its top level: only the module check ran it, the children forked meanwhile never did, and none is left', async () => {
    const bad = env.writeTmp(
      'throws.js',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
      "'use strict';\nrequire('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${process.env.PYRES_MODULE_CHECK ? 'check' : 'child'} ${process.pid}\\n`);\nthrow new Error('config missing');\n",
    );
    const m = await env.startMaster(['--queues', 'b', '--pool', '2'], { jobs: [bad], waitReady: false });
    const end = await m.waitForEnd(20000);
    expect(end.code).toBe(2);
    expect(m.stderr()).toContain('config missing');
    expect(env.ledgerLines()).toHaveLength(1);
    expect(env.ledgerLines()[0]).toMatch(/^load check \d+$/);
    expect(m.lines().some(l => /started child/.test(l))).toBe(false);
    expect(await env.workers()).toEqual([]);
    // The children forked at start (waiting for the check) went with the master.
    expect(pidsWithTag(env.tag)).toEqual([]);
  });

  it('the first child is the module check; the others boot meanwhile, and load job code and register only once it passed', async () => {
    // The check takes 1.5 s more than the children's loads: each load writes when and where it ran.
    const mod = env.writeTmp(
      'slowcheck.js',
      [
        "'use strict';",
        'const inCheck = process.env.PYRES_MODULE_CHECK !== undefined;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
        "require('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${inCheck ? 'check' : 'child'} ${process.pid} ${Date.now()}\\n`);",
        'if (inCheck) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);',
        'exports.Noop = { perform() {} };',
        '',
      ].join('\n'),
    );
    const m = await env.startMaster(['--queues', 'sc', '--pool', '2'], { jobs: [mod], readyTimeoutMs: 15000 });
    const kids = await env.waitForChildren(m.pid, 2);
    const loads = env.ledgerLines().map(l => l.split(' '));
    const check = loads.filter(l => l[1] === 'check');
    const children = loads.filter(l => l[1] === 'child');
    expect(check).toHaveLength(1);
    // One of the two children was the check (no Node process of its own), and it loaded the
    // modules once: its worker took them from the module cache after the 'go'.
    const checker = Number(check[0]![2]);
    expect(kids).toContain(checker);
    expect(children.map(l => Number(l[2]))).toEqual(kids.filter(p => p !== checker));
    const checkDone = Number(check[0]![3]) + 1500;
    // The other child loaded no job code before the check was over...
    for (const c of children) expect(Number(c[3])).toBeGreaterThanOrEqual(checkDone - 20);
    // ...and each was forked while it still ran (its boot overlapped the check).
    for (const pid of kids) expect(processStartMs(pid)).toBeLessThan(checkDone - 500);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    await env.expectNoWorkersLeft();
  });

  /** The two children a `--pool 2` master forked while its module check still runs. */
  const twoWaitingChildren = (masterPid: number): Promise<number[]> =>
    waitFor(
      () => {
        const kids = childPidsOf(masterPid).filter(p => cmdlineOf(p).includes('childMain'));
        return kids.length === 2 ? kids : null;
      },
      8000,
      'two children forked while the check runs',
    );

  it('the master SIGKILLed while its first children wait for the module check: they exit', async () => {
    const mod = env.writeTmp(
      'hangcheck.js',
      "'use strict';\nif (process.env.PYRES_MODULE_CHECK) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);\nexports.Noop = { perform() {} };\n",
    );
    const m = await env.startMaster(['--queues', 'hc', '--pool', '2'], { jobs: [mod], waitReady: false });
    const waiting = await twoWaitingChildren(m.pid);
    m.kill('SIGKILL');
    await env.waitGone(waiting, 8000);
    expect(await env.workers()).toEqual([]);
  });

  it.each([
    ['the checking child', []],
    ['the check process of its own (--spawn-delay)', ['--spawn-delay', '1']],
  ])(
    'a job module whose top-level code never finishes loading: %s is killed after --check-timeout, exit 2, no child ran job code, none is left',
    async (_what, extra) => {
      const mod = env.writeTmp(
        `neverloads-${extra.length}.mjs`,
        [
          "import { appendFileSync } from 'node:fs';",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
          "appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${process.env.PYRES_MODULE_CHECK ? 'check' : 'child'} ${process.pid} ${Date.now()}\\n`);",
          '// A connection at load time that never answers.',
          'await new Promise(() => setInterval(() => {}, 1000));',
          'export const Noop = { perform() {} };',
          '',
        ].join('\n'),
      );
      const m = await env.startMaster(['--queues', `nl${extra.length}`, '--pool', '2', '--check-timeout', '2', ...extra], { jobs: [mod], waitReady: false });
      const end = await m.waitForEnd(20000);
      const endedAt = Date.now();
      expect(end.code).toBe(2);
      expect(m.stderr()).toMatch(/checking the job modules took over 2 s \(does a module's top-level code wait on something\?\); killed the check/);
      const loads = env.ledgerLines().map(l => l.split(' '));
      expect(loads.map(l => l[1])).toEqual(['check']);
      // It waited for the timeout, not less.
      expect(endedAt - Number(loads[0]![3])).toBeGreaterThanOrEqual(1900);
      expect(m.lines().some(l => /started child/.test(l))).toBe(false);
      expect(await env.workers()).toEqual([]);
      expect(pidsWithTag(env.tag)).toEqual([]);
    },
  );

  it.each([['0'], ['-1'], ['soon']])('--check-timeout %s is a one-line error naming the flag, before anything starts', async bad => {
    const r = await runCli(['master', '--queues', 'ct', '--jobs', JOBS[0]!, '--check-timeout', bad], env.spawnEnv());
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pyres-ts: checkTimeout \(--check-timeout\) must be a number greater than 0 and at most 86400, got /);
    expect(pidsWithTag(env.tag)).toEqual([]);
  });

  it.each([
    ["TERM to the master's whole process group", 'group'],
    ['TERM to the master and to each waiting child at once (systemd KillMode=control-group)', 'all'],
  ])('%s while its first children wait for the module check: exit 0, no child ran job code, none is left', async (_what, how) => {
    const mod = env.writeTmp(
      `stopcheck-${how}.js`,
      [
        "'use strict';",
        'const inCheck = process.env.PYRES_MODULE_CHECK !== undefined;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
        "require('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `load ${inCheck ? 'check' : 'child'} ${process.pid}\\n`);",
        'if (inCheck) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);',
        'exports.Noop = { perform() {} };',
        '',
      ].join('\n'),
    );
    const m = await env.startMaster(['--queues', `st${how}`, '--pool', '2', '--term-timeout', '2'], { jobs: [mod], waitReady: false, detached: true });
    const waiting = await twoWaitingChildren(m.pid);
    // The check is under way (it writes first), the children still wait for their 'go'.
    await env.waitForLedger(/^load check /, 5000);
    if (how === 'group') process.kill(-m.pid, 'SIGTERM');
    else {
      for (const pid of waiting) process.kill(pid, 'SIGTERM');
      m.kill('SIGTERM');
    }
    expect(await m.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    await env.waitGone(waiting, 8000);
    expect(pidsWithTag(env.tag)).toEqual([]);
    expect(env.ledgerLines().filter(l => l.startsWith('load child'))).toEqual([]);
    expect(await env.workers()).toEqual([]);
  });

  it('a --worker-init that throws: the crash loop and its reason show in ctl status', async () => {
    const init = env.writeTmp('init.js', "exports.init = () => { throw new Error('database is down'); };\n");
    const m = await env.startMaster(['--queues', 'ci', '--pool', '1', '--worker-init', init], { jobs: JOBS, waitReady: false });
    await m.waitForLine(/1 in a row.*database is down/, 10000);
    const st = await waitFor(
      async () => {
        const r = await env.ctl(['status']);
        return /crash loop/.test(r.stdout) ? r : null;
      },
      10000,
      'ctl status to show the crash loop',
    );
    expect(st.stdout).toMatch(/crash loop: \d+ in a row.*database is down/);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('caps on the control plane, and ctl stop', () => {
  it('ctl scale past --max-children is refused and logged; Khan ADD up to the ceiling only', async () => {
    const m = await env.startMaster(['--queues', 'cap', '--pool', '2', '--max-children', '3'], { jobs: JOBS });
    await env.waitForChildren(m.pid, 2);
    const r = await env.ctl(['scale', String(m.pid), 'cap=50']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scale refused: cap=50 would make 50 children on .*, over its --max-children 3/);
    // A command that reaches the master anyway (an older ctl, a raw RPUSH) is refused there.
    await env.redis.rpush(k(`pyres-ts:master:${HOST}:${m.pid}:commands`), JSON.stringify({ cmd: 'scale', queues: 'cap', count: 50 }));
    await m.waitForLine(/scale cap to 50 refused: it would make 50 children, over --max-children 3/, 5000);
    const khan = (await env.redis.smembers(k('khans')))[0]!;
    await env.redis.rpush(k(`khan:${khan}`), 'ADD', 'ADD');
    await m.waitForLine(/scale cap to 4 refused/, 5000);
    await env.waitForChildren(m.pid, 3);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('ctl stop --graceful --wait lets the running job finish and returns once the master is gone', async () => {
    const m = await env.startMaster(['--queues', 'gs', '--pool', '1'], { jobs: JOBS });
    const [child] = await env.waitForChildren(m.pid, 1);
    await env.enqueue('gs', 'Finish', 1.5, 'graceful');
    await env.waitForLedger(/^Finish start graceful/);
    const r = await env.ctl(['stop', String(m.pid), '--graceful', '--wait', '15'], 20000);
    expect(r.code).toBe(0);
    expect(m.exited || (await m.waitForEnd(2000))).toBeTruthy();
    expect(env.ledgerLines()).toContain(`Finish done graceful ${child}`);
    expect(await env.failures()).toEqual([]);
  });
});

describe('the library Master', () => {
  it('new Master({ queues, pool, jobs }) works from code', async () => {
    const master = new Master({
      queues: 'lib',
      pool: 2,
      jobs: [path.join(PROJECT_ROOT, 'fixtures/jobs/basic.js')],
      connection: { url: env.url },
      logger: silentLogger,
    });
    const ready = new Promise<void>(r => master.once('all-ready', () => r()));
    try {
      await master.start();
      await ready;
      expect((await env.workers()).filter(w => w.endsWith(':lib'))).toHaveLength(2);
      await env.enqueue('lib', 'Echo', 'from-code');
      await waitFor(async () => (await env.stat('processed')) === '1', 8000, 'the job processed');
    } finally {
      await master.stop(false, 'test over');
    }
    expect(await env.workers()).toEqual([]);
    const kids = childPidsOf(process.pid)
      .filter(isRunning)
      .filter(p => {
        try {
          return /childMain/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'latin1'));
        } catch {
          return false;
        }
      });
    expect(kids).toEqual([]);
  });

  it('stop() of a Master never started resolves; a Master cannot start inside a pyres-ts child (a preloaded app would fork-bomb)', async () => {
    const jobs = [path.join(PROJECT_ROOT, 'fixtures/jobs/basic.js')];
    await new Master({ queues: 'lib', jobs, connection: { url: env.url }, logger: silentLogger }).stop(false, 'never started');
    process.env['PYRES_MODULE_CHECK'] = '1';
    try {
      await expect(new Master({ queues: 'lib', jobs, connection: { url: env.url }, logger: silentLogger }).start()).rejects.toThrow(
        /cannot start inside a pyres-ts child or module check/,
      );
    } finally {
      delete process.env['PYRES_MODULE_CHECK'];
    }
  });

  it('a misspelt onDirtyExit is an error naming the field, not a silent fail', () => {
    expect(
      () => new Master({ queues: 'lib', jobs: [path.join(PROJECT_ROOT, 'fixtures/jobs/basic.js')], onDirtyExit: 'requeu' as never, logger: silentLogger }),
    ).toThrow(/onDirtyExit/);
  });
});
