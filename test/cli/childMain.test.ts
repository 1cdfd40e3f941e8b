/**
 * dist/master/childMain.js as a master's child, with this test process as its master (IPC):
 * it decodes PYRES_CHILD_SPEC, reports 'fatal' when it cannot start, 'ready' / 'job' / 'idle'
 * with the job's seq, ignores SIGINT while the master is alive, never lets the master's stop
 * after a signal's stop escalate, and aborts only the job an abort-job names.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHILD_SPEC_ENV, encodeChildSpec } from '../../src/config/child';
import { resolveMasterConfig } from '../../src/config/master';
import type { ChildSpec } from '../../src/config/types';
import { CHILD_GATE_ENV, type ChildToMaster, type MasterToChild } from '../../src/master/ipc';
import { k, processTestEnv, sleep, waitFor } from '../process/helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const ENTRY = path.join(ROOT, 'dist', 'master', 'childMain.js');
const JOBS = path.join(ROOT, 'fixtures', 'jobs', 'basic.js');

const env = processTestEnv();

interface Child {
  proc: ChildProcess;
  messages: ChildToMaster[];
  output(): string;
  next(act: ChildToMaster['act'], from?: number, ms?: number): Promise<ChildToMaster>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(m: MasterToChild): void;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

function spec(over: Partial<ChildSpec> = {}, worker: Partial<ChildSpec['worker']> = {}): ChildSpec {
  const m = resolveMasterConfig({ queues: 'c1', jobs: [JOBS], connection: { url: env.url }, termTimeout: 10, heartbeatInterval: 5, pruneInterval: 30 });
  return {
    worker: { ...m.worker, queues: 'c1', drain: false, ...worker },
    masterPid: process.pid,
    jobTimeout: null,
    timeoutGrace: 5,
    termTimeout: 10,
    maxJobs: null,
    maxMemoryMb: null,
    workerInit: null,
    reportEveryJob: false,
    ...over,
  };
}

function startChild(specText: string | undefined, extraEnv: NodeJS.ProcessEnv = {}): Child {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PYRES_TEST_LEDGER: env.ledger, ...extraEnv };
  if (specText === undefined) delete childEnv[CHILD_SPEC_ENV];
  else childEnv[CHILD_SPEC_ENV] = specText;
  // As the master forks it: room for the process title (Linux keeps it within the original argv).
  const proc = fork(ENTRY, [`--title-room=${'.'.repeat(160)}`], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  started.push(proc);
  let out = '';
  proc.stdout?.on('data', d => (out += String(d)));
  proc.stderr?.on('data', d => (out += String(d)));
  const messages: ChildToMaster[] = [];
  proc.on('message', m => messages.push(m as ChildToMaster));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(r => proc.on('exit', (code, signal) => r({ code, signal })));
  return {
    proc,
    messages,
    output: () => out,
    next: (act, from = 0, ms = 8000) =>
      waitFor(() => messages.slice(from).find(m => m.act === act), ms, `a '${act}' message (got ${JSON.stringify(messages)}; output: ${out.slice(-600)})`),
    exited,
    send: m => proc.send(m),
  };
}

describe('childMain: cannot start → fatal, exit 1', () => {
  it('a spec that does not validate: the field in the reason', async () => {
    const bad = JSON.parse(encodeChildSpec(spec())) as Record<string, Record<string, unknown>>;
    bad['worker']!['onDirtyExit'] = 'requeu';
    const c = startChild(JSON.stringify(bad));
    const f = await c.next('fatal');
    expect(f).toEqual({
      act: 'fatal',
      reason: expect.stringMatching(/^PYRES_CHILD_SPEC: worker\.onDirtyExit \(--on-dirty-exit\) must be 'fail' or 'requeue'/),
    });
    expect(await c.exited).toEqual({ code: 1, signal: null });
    expect(c.output()).toContain('worker.onDirtyExit');
  });

  it('no spec at all', async () => {
    const c = startChild(undefined);
    expect(await c.next('fatal')).toEqual({ act: 'fatal', reason: expect.stringContaining('PYRES_CHILD_SPEC is not set') });
    expect((await c.exited).code).toBe(1);
  });

  it('a job module with a syntax error: file and line', async () => {
    const bad = path.join(env.tmp, 'bad.js');
    fs.writeFileSync(bad, 'exports.A = () => {};\nconst = 1;\n');
    const c = startChild(encodeChildSpec(spec({}, { jobs: [bad] })));
    expect(await c.next('fatal')).toEqual({ act: 'fatal', reason: `--jobs ${bad}: SyntaxError at ${bad}:2: ${"Unexpected token '='"}` });
    expect((await c.exited).code).toBe(1);
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it('a --worker-init that throws', async () => {
    const init = path.join(env.tmp, 'init.js');
    fs.writeFileSync(init, "module.exports = async () => { throw new Error('no database'); };\n");
    const c = startChild(encodeChildSpec(spec({ workerInit: init })));
    expect(await c.next('fatal')).toEqual({ act: 'fatal', reason: `--worker-init ${init} failed: no database` });
    expect((await c.exited).code).toBe(1);
  });
});

describe('childMain: a running child', () => {
  it('ready; a job over 100 ms is reported with its seq, then idle; a short one costs no IPC; SIGINT is ignored', async () => {
    const c = startChild(encodeChildSpec(spec()));
    const ready = await c.next('ready');
    expect(ready).toEqual({ act: 'ready', workerId: expect.stringMatching(new RegExp(`:${c.proc.pid}:c1$`)) });
    await env.enqueue('c1', 'Echo', 1);
    await env.waitForLedger(/^Echo \[1\]$/);
    await env.enqueue('c1', 'Sleep', 0.4);
    const job = await c.next('job');
    expect(job).toEqual({ act: 'job', seq: 2, queue: 'c1', className: 'Sleep', timeout: null });
    expect(await c.next('idle')).toEqual({ act: 'idle', seq: 2, processed: 2 });
    expect(c.messages.filter(m => m.act === 'job')).toHaveLength(1);
    c.proc.kill('SIGINT');
    await waitFor(() => c.output().includes('SIGINT ignored'), 3000, 'the SIGINT note');
    await sleep(200);
    expect(c.proc.exitCode).toBeNull();
    c.send({ act: 'stop', graceful: true, reason: 'test' });
    expect(await c.exited).toEqual({ code: 0, signal: null });
  });

  it("SIGTERM, then the master's stop for the same stop: the job keeps its term-timeout (no second stop)", async () => {
    const c = startChild(encodeChildSpec(spec({}, { termTimeout: 10 })));
    await c.next('ready');
    await env.enqueue('c1', 'Stubborn', 1.5);
    await env.waitForLedger(/^Stubborn start$/);
    c.proc.kill('SIGTERM');
    await waitFor(() => c.output().includes('SIGTERM received'), 3000, 'the SIGTERM note');
    c.send({ act: 'stop', graceful: false, reason: 'SIGTERM' });
    await waitFor(() => c.output().includes('not a second stop'), 3000, 'the not-a-second-stop note');
    expect(await c.exited).toEqual({ code: 0, signal: null });
    // The job ran to its end: not abandoned as a dirty exit.
    expect(env.ledgerLines()).toContain('Stubborn done');
    expect(await env.failures()).toEqual([]);
  });

  it("abort-job acts only on the seq it names; a timeout is the job's own JobTimeoutError", async () => {
    const c = startChild(encodeChildSpec(spec({ reportEveryJob: true })));
    await c.next('ready');
    await env.enqueue('c1', 'Abortable', 5);
    const job = (await c.next('job')) as Extract<ChildToMaster, { act: 'job' }>;
    expect(job.seq).toBe(1);
    c.send({ act: 'abort-job', seq: 7, kind: 'timeout', reason: 'job timeout (1s)' });
    await sleep(300);
    expect(c.messages.some(m => m.act === 'idle')).toBe(false);
    c.send({ act: 'abort-job', seq: 1, kind: 'timeout', reason: 'job timeout (1s)' });
    expect(await c.next('idle')).toEqual({ act: 'idle', seq: 1, processed: 1 });
    const failures = await waitFor(async () => ((await env.failures()).length ? env.failures() : null), 3000, 'a failure record');
    expect(JSON.parse(failures[0]!)).toMatchObject({ exception: 'JobTimeoutError', error: 'job timeout (1s)', queue: 'c1' });
    c.send({ act: 'stop', graceful: true, reason: 'test' });
    expect((await c.exited).code).toBe(0);
  });

  it('--max-jobs: recycle after the job, then a graceful exit', async () => {
    const c = startChild(encodeChildSpec(spec({ maxJobs: 1 })));
    await c.next('ready');
    await env.enqueue('c1', 'Echo', 'x');
    expect(await c.next('recycle')).toEqual({ act: 'recycle', reason: 'worked 1 jobs (--max-jobs 1)' });
    expect(await c.exited).toEqual({ code: 0, signal: null });
  });

  it("the master's stop while the child is still loading: it exits 0 without working", async () => {
    const c = startChild(encodeChildSpec(spec()));
    c.send({ act: 'stop', graceful: true, reason: 'scale down' });
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it('the master disconnects: the current job finishes, then the child exits', async () => {
    const c = startChild(encodeChildSpec(spec()));
    await c.next('ready');
    await env.enqueue('c1', 'Sleep', 0.8);
    await env.waitForLedger(/^Sleep start/);
    c.proc.disconnect();
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toContain('Sleep done 0.8');
    expect(c.output()).toContain('the master is gone');
  });
});

/** A process's title as `ps` shows it (Linux rewrites /proc/<pid>/cmdline). */
function titleOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe('childMain: forked gated (while the master runs its module check)', () => {
  const marked = (): string => {
    const mod = path.join(env.tmp, 'marked.js');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the job module's own source
    fs.writeFileSync(mod, "require('fs').appendFileSync(process.env.PYRES_TEST_LEDGER, `loaded ${process.pid}\\n`);\nexports.Noop = { perform() {} };\n");
    return mod;
  };

  it('the master gone while it waits: it exits 0, no job code loaded, nothing registered', async () => {
    const c = startChild(encodeChildSpec(spec({}, { jobs: [marked()] })), { [CHILD_GATE_ENV]: '1' });
    // The title is set just before the wait for the 'go'.
    await waitFor(() => /child of \d+: Starting/.test(titleOf(c.proc.pid!)), 8000, 'the child at its gate');
    c.proc.disconnect();
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(c.output()).toContain('the master is gone before this child started');
    expect(env.ledgerLines()).toEqual([]);
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it("the master's go: it loads the job modules, registers and is ready; a message sent before the go is applied after it", async () => {
    const c = startChild(encodeChildSpec(spec({}, { jobs: [marked()] })), { [CHILD_GATE_ENV]: '1' });
    await waitFor(() => /child of \d+: Starting/.test(titleOf(c.proc.pid!)), 8000, 'the child at its gate');
    c.send({ act: 'pause' });
    c.send({ act: 'go' });
    expect(await c.next('ready')).toEqual({ act: 'ready', workerId: expect.stringMatching(new RegExp(`:${c.proc.pid}:c1$`)) });
    expect(env.ledgerLines()).toEqual([`loaded ${c.proc.pid}`]);
    // Paused (the message queued during the wait): a pushed job stays queued until the resume.
    await waitFor(() => /: Paused/.test(titleOf(c.proc.pid!)), 8000, 'the paused title');
    await env.enqueue('c1', 'Noop');
    expect(await env.redis.llen(k('queue:c1'))).toBe(1);
    c.send({ act: 'resume' });
    await waitFor(async () => (await env.redis.llen(k('queue:c1'))) === 0, 8000, 'the job taken after the resume');
    c.send({ act: 'stop', graceful: true, reason: 'test over' });
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });
});
