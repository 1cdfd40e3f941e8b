/**
 * Logs, metrics, health (issue 14), with real `pyres-ts worker`, `master` (and its children),
 * `web` and `ctl` processes over a real redis-server:
 *
 *  - `--log-format json`: every line of a worker, a master and its children parses, carries
 *    time, level, scope, worker id, job class, queue and a job's duration; text stays the default;
 *  - the master's stderr closed by its reader (EPIPE) with JSON logs: nothing lost, a clean stop;
 *  - `--metrics-port`: the real `promtool check metrics` is green on a worker's, a master's and
 *    the dashboard's scrape; the counters move by outcome as jobs run; /healthz, /readyz answer;
 *  - `ctl watch` (not a TTY): plain frames with the queue depth, jobs/s and the master's log tail;
 *  - a bad `--log-format` / `--metrics-port`: one line naming the flag.
 */
import * as path from 'node:path';
import { BASIC_JOBS, HOST, isRunning, masterTestEnv, waitFor } from '../master/helpers';
import { PROJECT_ROOT, runCli, spawnCli, type Spawned } from '../support/spawn';
import { get, type JsonLine, metricsPortOf, parseJsonLines, promtoolCheck, sample } from './helpers';

const env = masterTestEnv();
const Q = 'obsq';
const JOBS_ABS = path.join(PROJECT_ROOT, BASIC_JOBS);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function processed(): Promise<number> {
  return Number((await env.stat('processed')) ?? 0);
}

function startWorker(extra: string[]): Spawned {
  return spawnCli(['worker', '--queues', Q, '--jobs', JOBS_ABS, ...extra], env.spawnEnv());
}

async function stop(p: Spawned): Promise<void> {
  p.kill('SIGTERM');
  expect(await p.waitForEnd(15000)).toEqual({ code: 0, signal: null });
}

async function expectPromtoolGreen(text: string): Promise<void> {
  const r = await promtoolCheck(text);
  expect({ code: r.code, output: r.output }).toEqual({ code: 0, output: '' });
}

function parseFailureException(raw: string[]): string[] {
  return raw.map(r => (JSON.parse(r) as { exception: string }).exception);
}

function expectWellFormed(lines: JsonLine[]): void {
  for (const l of lines) {
    expect(l.time).toMatch(ISO);
    expect(['debug', 'info', 'warn', 'error']).toContain(l.level);
    expect(typeof l.pid).toBe('number');
    expect(typeof l.message).toBe('string');
  }
}

describe('--log-format json', () => {
  it('a worker: every line is one JSON object with its fields; a job line has class, queue and duration', async () => {
    const w = startWorker(['--log-format', 'json', '-l', 'debug']);
    await w.waitForLine(/"message":"registered;/, 10000);
    const id = `${HOST}:${w.pid}:${Q}`;
    await env.enqueue(Q, 'Sleep', 0.05);
    await env.enqueue(Q, 'Fail', 'json\nforged line');
    await env.waitForFailures(1);
    await waitFor(async () => (await processed()) >= 2, 5000, 'two processed');
    await w.waitForLine(/"message":"failed: Fail/, 5000);
    await stop(w);

    const lines = parseJsonLines(w.stderr());
    expectWellFormed(lines);
    expect(lines.every(l => l.pid === w.pid)).toBe(true);
    expect(lines.find(l => l.message.startsWith('registered;'))).toMatchObject({ level: 'info', scope: id, worker_id: id });
    const done = lines.find(l => l.message === `done: Sleep from ${Q}`);
    expect(done).toMatchObject({ level: 'debug', worker_id: id, job_class: 'Sleep', queue: Q });
    // Sleep(0.05) ran about 50 ms (a timer may fire a millisecond early on the wall clock).
    expect(done!.duration_ms).toBeGreaterThanOrEqual(45);
    const failed = lines.find(l => l.message.startsWith('failed: Fail'));
    expect(failed).toMatchObject({ level: 'info', worker_id: id, job_class: 'Fail', queue: Q });
    expect(typeof failed!.duration_ms).toBe('number');
    // The newline from the payload's message is inside the JSON string, never a line of its own.
    expect(failed!.message).toBe(`failed: Fail from ${Q}: TypeError: boom: json\nforged line`);
    expect(lines.some(l => l.message === 'unregistered')).toBe(true);
    expect(w.stdout()).toBe('');
  });

  it('text stays the default: no JSON line, the same `time LEVEL [scope] message` lines', async () => {
    const w = startWorker([]);
    await w.waitForLine(/INFO {2}\[[^\]]+\] registered;/, 10000);
    await stop(w);
    const lines = w.stderr().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \[/);
  });

  it('a master and its children: every line parses; the children inherit the format and carry their worker id', async () => {
    const m = await env.startMaster(['--queues', Q, '--pool', '2', '--log-format', 'json'], { jobs: [BASIC_JOBS], waitReady: false });
    await m.waitForLine(/"message":"all children registered \d+ ms after start"/, 10000);
    const kids = await env.waitForChildren(m.pid, 2);
    await env.enqueue(Q, 'Fail', 'in-child');
    await env.waitForFailures(1);
    await m.waitForLine(/"message":"failed: Fail/, 5000);
    await stop(m);
    const lines = parseJsonLines(m.stderr());
    expectWellFormed(lines);
    const own = lines.filter(l => l.pid === m.pid);
    expect(own.some(l => l.scope === `master ${HOST}:${m.pid}` && l.message === 'stopped')).toBe(true);
    for (const kid of kids) {
      const id = `${HOST}:${kid}:${Q}`;
      const theirs = lines.filter(l => l.pid === kid);
      expect(theirs.find(l => l.message.startsWith('registered;'))).toMatchObject({ worker_id: id });
      expect(theirs.every(l => l.worker_id === id)).toBe(true);
    }
    const failed = lines.find(l => l.message.startsWith('failed: Fail'));
    expect(kids).toContain(failed!.pid);
    expect(failed).toMatchObject({ job_class: 'Fail', queue: Q });
    expect(typeof failed!.duration_ms).toBe('number');
  });

  it('stderr closed by its reader (EPIPE) with JSON logs: every job recorded, TERM exits 0, nothing left', async () => {
    const m = await env.startMaster(['--queues', Q, '--pool', '2', '--log-format', 'json'], { jobs: [BASIC_JOBS], waitReady: false });
    await m.waitForLine(/all children registered/, 10000);
    const kids = await env.waitForChildren(m.pid, 2);
    m.child.stderr!.destroy();
    const before = await processed();
    for (let i = 0; i < 6; i++) await env.enqueue(Q, 'Echo', `p${i}`);
    for (let i = 0; i < 3; i++) await env.enqueue(Q, 'Fail', `f${i}`);
    let done = 0;
    await waitFor(
      async () => (done = (await processed()) - before) >= 9,
      10000,
      () => `9 more processed; have ${done}`,
    );
    await env.waitForFailures(3, 5000);
    await waitFor(() => env.ledgerLines().filter(l => l.startsWith('Echo ')).length === 6, 5000, 'six Echo ledger lines');
    // Later work too: the processes wrote into the dead pipe and lived.
    await env.enqueue(Q, 'Fail', 'late');
    await env.waitForFailures(4, 10000);
    expect(isRunning(m.pid)).toBe(true);
    expect(await env.waitForChildren(m.pid, 2)).toEqual(kids);
    await stop(m);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });
});

describe('--metrics-port', () => {
  it('a worker: promtool is green, jobs counted by outcome as they run, durations observed; /healthz and /readyz answer', async () => {
    const w = startWorker(['--metrics-port', '127.0.0.1:0']);
    const port = await metricsPortOf(w);
    const base = `http://127.0.0.1:${port}`;
    await w.waitForLine(/registered;/, 10000);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    await waitFor(async () => (await get(`${base}/readyz`)).status === 200, 5000, '/readyz 200');

    const first = await get(`${base}/metrics`);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    await expectPromtoolGreen(first.body);
    expect(sample(first.body, 'pyres_jobs_total', { job_class: 'Echo', queue: Q, outcome: 'success' })).toBeNull();
    expect(sample(first.body, 'pyres_slots')).toBe(1);
    expect(sample(first.body, 'pyres_slots_busy')).toBe(0);
    expect(sample(first.body, 'pyres_ready')).toBe(1);
    expect(sample(first.body, 'pyres_redis_errors_total')).toBe(0);

    await env.enqueue(Q, 'Echo', 1);
    await env.enqueue(Q, 'Echo', 2);
    await env.enqueue(Q, 'Fail', 'm');
    await env.waitForFailures(1);
    await waitFor(async () => (await processed()) >= 3, 5000, 'three processed');
    const after = (await get(`${base}/metrics`)).body;
    await expectPromtoolGreen(after);
    expect(sample(after, 'pyres_jobs_total', { job_class: 'Echo', queue: Q, outcome: 'success' })).toBe(2);
    expect(sample(after, 'pyres_jobs_total', { job_class: 'Fail', queue: Q, outcome: 'failure' })).toBe(1);
    expect(sample(after, 'pyres_job_duration_seconds_count', { job_class: 'Echo', queue: Q })).toBe(2);
    expect(sample(after, 'pyres_job_duration_seconds_bucket', { job_class: 'Echo', queue: Q, le: '+Inf' })).toBe(2);

    // A job running now: its slot is busy.
    await env.enqueue(Q, 'Sleep', 2);
    await env.waitForLedger(/^Sleep start 2$/);
    expect(sample((await get(`${base}/metrics`)).body, 'pyres_slots_busy')).toBe(1);
    expect((await get(`${base}/nope`)).status).toBe(404);
    await stop(w);
  });

  it('a master: promtool is green; its children jobs by outcome, children by state, readyz once every child is registered', async () => {
    const m = await env.startMaster(['--queues', Q, '--pool', '2', '--metrics-port', '127.0.0.1:0'], { jobs: [BASIC_JOBS] });
    const port = await metricsPortOf(m);
    const base = `http://127.0.0.1:${port}`;
    await env.waitForChildren(m.pid, 2);
    await waitFor(async () => (await get(`${base}/readyz`)).status === 200, 5000, '/readyz 200');
    expect((await get(`${base}/readyz`)).body).toBe('ready: 2 of 2 children registered\n');
    for (let i = 0; i < 4; i++) await env.enqueue(Q, 'Echo', i);
    await env.enqueue(Q, 'Fail', 'x');
    await env.waitForFailures(1);
    await waitFor(async () => (await processed()) >= 5, 5000, 'five processed');
    let text = '';
    await waitFor(
      async () => sample((text = (await get(`${base}/metrics`)).body), 'pyres_jobs_total', { job_class: 'Echo', queue: Q, outcome: 'success' }) === 4,
      5000,
      () =>
        `4 Echo successes in the master's metrics: ${text
          .split('\n')
          .filter(l => l.startsWith('pyres_jobs'))
          .join(' | ')}`,
    );
    await expectPromtoolGreen(text);
    expect(sample(text, 'pyres_jobs_total', { job_class: 'Fail', queue: Q, outcome: 'failure' })).toBe(1);
    expect(sample(text, 'pyres_job_duration_seconds_count', { job_class: 'Echo', queue: Q })).toBe(4);
    expect(sample(text, 'pyres_children', { state: 'ready' })).toBe(2);
    expect(sample(text, 'pyres_slots')).toBe(2);
    expect(sample(text, 'pyres_ready')).toBe(1);
    expect(sample(text, 'process_cpu_seconds_total')).not.toBeNull();

    // A child killed mid-job: the master records the dirty exit and counts it.
    const kids = await env.waitForChildren(m.pid, 2);
    await env.enqueue(Q, 'Sleep', 30);
    await env.waitForLedger(/^Sleep start 30$/);
    await waitFor(
      async () => sample((text = (await get(`${base}/metrics`)).body), 'pyres_slots_busy') === 1,
      5000,
      () => `one busy slot: ${sample(text, 'pyres_slots_busy')}`,
    );
    const holder = await waitFor(
      async () => {
        for (const kid of kids) if (await env.redis.exists(`resque:worker:${HOST}:${kid}:${Q}`)) return kid;
        return null;
      },
      5000,
      'the child holding the Sleep',
    );
    process.kill(holder, 'SIGKILL');
    await waitFor(
      async () => sample((text = (await get(`${base}/metrics`)).body), 'pyres_jobs_total', { job_class: 'Sleep', queue: Q, outcome: 'dirty_exit' }) === 1,
      10000,
      () =>
        `a Sleep dirty exit in the master's metrics: ${text
          .split('\n')
          .filter(l => l.startsWith('pyres_jobs'))
          .join(' | ')}`,
    );
    expect(parseFailureException(await env.waitForFailures(2))).toContain('Resque::DirtyExit');
    await expectPromtoolGreen(text);
    await stop(m);
  });

  it('the dashboard: promtool is green; depth, oldest job age (pyres enqueue_timestamp), stats, workers, failures by class', async () => {
    const w = startWorker([]);
    await w.waitForLine(/registered;/, 10000);
    await env.enqueue(Q, 'Fail', 'a');
    await env.enqueue(Q, 'Fail', 'b');
    await env.enqueue(Q, 'Echo', 'c');
    await env.waitForFailures(2);
    await waitFor(async () => (await processed()) >= 3, 5000, 'three processed');
    const enqueuedAt = Date.now() / 1000 - 120;
    await env.push('pyq', JSON.stringify({ class: 'Echo', args: [1], enqueue_timestamp: enqueuedAt }));
    await env.push('plain', JSON.stringify({ class: 'Echo', args: [1] }));
    const web = spawnCli(['web', '--web-port', '0'], env.spawnEnv());
    const line = await web.waitForLine(/dashboard on http:\/\/127\.0\.0\.1:\d+\//, 10000);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0];
    const r = await get(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    await expectPromtoolGreen(r.body);
    const server = /for (\S+)$/.exec(line)![1]!;
    expect(sample(r.body, 'pyres_queue_depth', { server, queue: 'pyq' })).toBe(1);
    expect(sample(r.body, 'pyres_queue_depth', { server, queue: Q })).toBe(0);
    const age = sample(r.body, 'pyres_queue_oldest_job_age_seconds', { server, queue: 'pyq' });
    expect(age).toBeGreaterThanOrEqual(119);
    expect(age).toBeLessThan(600);
    // Resque's own payloads carry no enqueue time: no age series for them.
    expect(sample(r.body, 'pyres_queue_oldest_job_age_seconds', { server, queue: 'plain' })).toBeNull();
    expect(sample(r.body, 'pyres_processed_total', { server })).toBe(3);
    expect(sample(r.body, 'pyres_failed_total', { server })).toBe(2);
    expect(sample(r.body, 'pyres_failed_jobs', { server, job_class: 'Fail' })).toBe(2);
    expect(sample(r.body, 'pyres_workers', { server, state: 'idle' })).toBe(1);
    expect(sample(r.body, 'pyres_workers', { server, state: 'busy' })).toBe(0);
    expect(sample(r.body, 'pyres_server_up', { server })).toBe(1);
    await stop(web);
    await stop(w);
  });
});

describe('ctl watch', () => {
  it('not a TTY: plain frames with each group, its queue depth and jobs/s, and the master log tail', async () => {
    // --term-timeout 1: the Sleep held at the end is cut short by the stop.
    const m = await env.startMaster(['--queues', Q, '--pool', '1', '--term-timeout', '1'], { jobs: [BASIC_JOBS] });
    await env.waitForChildren(m.pid, 1);
    // The master publishes its new log lines (a list beside its record) within a second: wait for the ready line.
    await waitFor(
      async () => (await env.redis.lrange(`resque:pyres-ts:master:${HOST}:${m.pid}:log`, 0, -1)).some(l => /all children registered/.test(l)),
      5000,
      'the ready line in the master log tail',
    );
    const groupLine = new RegExp(`^ {3}group ${Q}: depth (\\d+) {2}jobs/s (-|\\d+\\.\\d) {2}children 1/1$`, 'm');
    const framesOf = (out: string): string[] => out.split(/^pyres-ts ctl watch {2}/m).filter(Boolean);
    const rowOf = (f: string): { depth: number; rate: string } => {
      const g = groupLine.exec(f);
      if (!g) throw new Error(`no group line in the frame:\n${f}`);
      return { depth: Number(g[1]), rate: g[2]! };
    };

    // jobs/s: jobs enqueued once the first frame is out are counted between later frames.
    const w = spawnCli(['ctl', 'watch', '--count', '5', '--interval', '1', '--tail', '5'], env.spawnEnv());
    await w.waitForLine(/^ {3}group /, 10000);
    for (let i = 0; i < 5; i++) await env.enqueue(Q, 'Echo', i);
    expect(await w.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(w.stdout()).not.toMatch(/\x1b/);
    const frames = framesOf(w.stdout());
    expect(frames).toHaveLength(5);
    for (const f of frames) {
      expect(f).toMatch(new RegExp(`^${HOST}:${m.pid} {2}pyres-ts `, 'm'));
      expect(f).toMatch(/^ {3}log:$/m);
      expect(f).toMatch(new RegExp(`^ {5}\\S+Z INFO  \\[master ${HOST}:${m.pid}\\] all children registered \\d+ ms after start$`, 'm'));
    }
    const rows = frames.map(rowOf);
    expect(rows[0]!.rate).toBe('-');
    expect(rows.slice(1).every(r => r.rate !== '-')).toBe(true);
    expect(rows.slice(1).reduce((n, r) => n + Number(r.rate), 0)).toBeGreaterThan(0);

    // Depth: the only child is held by a long job, so the jobs behind it wait.
    await env.enqueue(Q, 'Sleep', 30);
    await env.waitForLedger(/^Sleep start 30$/);
    for (let i = 0; i < 3; i++) await env.enqueue(Q, 'Echo', i);
    const once = await runCli(['ctl', 'watch', '--count', '1', '--tail', '0'], env.spawnEnv(), 15000);
    expect(once.code).toBe(0);
    const [only] = framesOf(once.stdout);
    expect(rowOf(only!)).toEqual({ depth: 3, rate: '-' });
    expect(only).not.toMatch(/^ {3}log:$/m);
    await stop(m);
  });
});

describe('bad flags: one line naming the flag', () => {
  it.each([
    [['worker', '--queues', Q, '--jobs', JOBS_ABS, '--log-format', 'xml'], /^pyres-ts: logFormat \(--log-format\) must be text or json, got "xml"/],
    [
      ['worker', '--queues', Q, '--jobs', JOBS_ABS, '--metrics-port', 'lots'],
      /^pyres-ts: metricsPort \(--metrics-port\) must be a TCP port \(0-65535\) or host:port, got "lots"/,
    ],
    [['master', '--queues', Q, '--jobs', JOBS_ABS, '--metrics-port', '70000'], /^pyres-ts: metricsPort \(--metrics-port\) must be a TCP port/],
    [['web', '--log-format', 'yaml'], /^pyres-ts: logFormat \(--log-format\) must be text or json, got "yaml"/],
  ])('%j', async (args, re) => {
    const r = await runCli(args, env.spawnEnv(), 10000);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });
});
