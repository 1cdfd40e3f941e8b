/**
 * Entry of every child the master starts (child_process.fork). A child is an ordinary Resque
 * worker under its own pid, built from the validated ChildSpec in PYRES_CHILD_SPEC (never CLI
 * argv). It reports to the master over IPC (src/master/ipc.ts), obeys its stop/abort/pause
 * messages, and when the master disappears (IPC disconnect) finishes its job and exits: no
 * orphans. It installs its own signal handlers: while the master is alive a terminal's Ctrl-C
 * (SIGINT) is the master's business, not the child's.
 */
import { CHILD_SPEC_ENV, decodeChildSpec } from '../config/child';
import type { ChildSpec } from '../config/types';
import { AuthError, ConfigError, JobLoadError, coerceError } from '../errors';
import { MODULE_CHECK_ENV, checkSummary, importInitModule, initFunctionOf, loadJobModules } from '../jobs/load';
import { performance } from 'node:perf_hooks';
import { drainLogFiles } from '../logging/fileSink';
import { ioredis } from '../store/connection';
import { flushStdio, guardStdio, writeStdio } from '../logging/stdio';
import { RESQUE_PROTOCOL_VERSION, VERSION } from '../version';
import { createWorkerOrPool } from '../worker/fromConfig';
import type { WorkerPool } from '../worker/slotPool';
import type { JobEvent, Worker } from '../worker/worker';
import { CHILD_GATE_CHECK, CHILD_GATE_ENV, type ChildToMaster, isMasterMessage } from './ipc';
import { logUnhandledRejections } from '../signals';

/** The worker's meaning of each signal a child handles (SIGINT: only once the master is gone). */
const CHILD_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGHUP'] as const;

/** A report that does not wait: short jobs cost no IPC. */
const REPORT_AFTER_MS = 100;
/**
 * Master gone, no job running, and still not stopped this long after the master's own
 * --term-timeout (Redis silent or gone, so the unregister cannot finish): exit anyway.
 */
const ORPHAN_STOP_SLACK_MS = 5_000;

function send(m: ChildToMaster): void {
  if (process.connected && process.send) {
    try {
      process.send(m, undefined, {}, () => undefined);
    } catch {
      /* the channel closed in between */
    }
  }
}

/** Sends and waits (briefly) until the message has been handed to the channel. */
function sendAndFlush(m: ChildToMaster, ms = 1000): Promise<void> {
  return new Promise(done => {
    if (!process.connected || !process.send) return done();
    const t = setTimeout(done, ms);
    try {
      process.send(m, undefined, {}, () => (clearTimeout(t), done()));
    } catch {
      clearTimeout(t);
      done();
    }
  });
}

export function childTitle(masterPid: number, status: string): string {
  return `resque-${RESQUE_PROTOCOL_VERSION} pyres_worker (pyres-ts ${VERSION}) child of ${masterPid}: ${status}`;
}

/** With --log-format json (from the spec), the child's own notes are JSON lines too. */
let jsonNotes = false;

function note(msg: string): void {
  const line = jsonNotes
    ? JSON.stringify({ level: 'warn', time: new Date().toISOString(), pid: process.pid, scope: `child ${process.pid}`, message: msg })
    : `pyres-ts child ${process.pid}: ${msg}`;
  writeStdio('stderr', `${line}\n`);
}

/** The child cannot start: tell the master why (it shows it in `ctl status`), then exit 1. */
class FatalStart extends Error {}

async function fatal(reason: string): Promise<never> {
  note(reason);
  await sendAndFlush({ act: 'fatal', reason });
  throw new FatalStart(reason);
}

async function runInit(spec: ChildSpec): Promise<void> {
  if (!spec.workerInit) return;
  let init: (() => unknown) | null;
  try {
    init = initFunctionOf(await importInitModule(spec.workerInit));
  } catch (e) {
    return fatal(coerceError(e).message);
  }
  if (!init) return;
  try {
    await init();
  } catch (e) {
    const err = coerceError(e);
    return fatal(`--worker-init ${spec.workerInit} failed: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}

/**
 * The master's module check, run here (CHILD_GATE_CHECK) before the 'go': loads `--jobs` and
 * imports `--worker-init` (not called) as the check process does, with MODULE_CHECK_ENV set
 * while they load, and reports the outcome. The worker loads them again after the 'go' (from
 * the module cache: their top-level code ran once, here).
 */
async function checkForMaster(spec: ChildSpec): Promise<void> {
  let report: ChildToMaster;
  process.env[MODULE_CHECK_ENV] = '1';
  try {
    const registry = await loadJobModules(spec.worker.jobs);
    if (spec.workerInit) await importInitModule(spec.workerInit);
    report = { act: 'checked', ok: true, ...checkSummary(registry) };
  } catch (e) {
    report = { act: 'checked', ok: false, message: coerceError(e).message };
  } finally {
    delete process.env[MODULE_CHECK_ENV];
  }
  await sendAndFlush(report);
}

/**
 * Loads the worker's own modules, then waits for the master's `{ act: 'go' }` (true), or for
 * the master's end (false). Other messages that arrive meanwhile stay in `pending`.
 */
function awaitGo(spec: ChildSpec, pending: unknown[]): Promise<boolean> {
  require('../worker/worker');
  // ioredis loads at the first connection made (store/connection): here, before the 'go', not after it.
  ioredis();
  if (spec.worker.concurrency && (spec.worker.concurrency.min !== 1 || spec.worker.concurrency.max !== 1)) require('../worker/slotPool');
  return new Promise(resolve => {
    if (!process.connected) return resolve(false);
    const onMessage = (m: unknown): void => {
      if (!isMasterMessage(m) || m.act !== 'go') return;
      // The message queue set up before this (main's queueEarly) has taken the 'go' too: drop it.
      const at = pending.indexOf(m);
      if (at >= 0) pending.splice(at, 1);
      done(true);
    };
    const onGone = (): void => done(false);
    const done = (go: boolean): void => {
      process.removeListener('message', onMessage);
      process.removeListener('disconnect', onGone);
      resolve(go);
    };
    process.on('message', onMessage);
    process.on('disconnect', onGone);
  });
}

// A lost stderr/stdout (EPIPE, EIO) marks the stream gone instead of killing this child mid-job.
guardStdio();

async function main(): Promise<number> {
  // Listen for the master's end first: a master killed while this child was still loading
  // must not leave it to register and work unsupervised.
  let masterGone = !process.connected;
  let onMasterGone: () => void = () => undefined;
  process.on('disconnect', () => {
    masterGone = true;
    onMasterGone();
  });
  // Until the worker exists, a signal ends the child the ordinary way (SIGINT aside), and the
  // master's messages wait for it.
  const early = (): void => note('SIGINT ignored: the master handles Ctrl-C and stops its children');
  process.on('SIGINT', early);
  const pending: unknown[] = [];
  const queueEarly = (m: unknown): void => void pending.push(m);
  process.on('message', queueEarly);

  const raw = process.env[CHILD_SPEC_ENV];
  if (!raw) return fatal(`${CHILD_SPEC_ENV} is not set; children are started by \`pyres-ts master\``);
  let spec: ChildSpec;
  try {
    spec = decodeChildSpec(raw);
  } catch (e) {
    return fatal(coerceError(e).message);
  }
  jsonNotes = spec.worker.logFormat === 'json';
  process.title = childTitle(spec.masterPid, 'Starting');
  const gate = process.env[CHILD_GATE_ENV];
  if (gate !== undefined) {
    // Forked while the master's module check runs: the worker's own modules load now, job code
    // (the modules, --worker-init) and Redis only after the master's 'go'; the first such child
    // is the check itself (CHILD_GATE_CHECK).
    delete process.env[CHILD_GATE_ENV];
    if (gate === CHILD_GATE_CHECK) await checkForMaster(spec);
    if (!(await awaitGo(spec, pending))) {
      note('the master is gone before this child started; exiting');
      return 0;
    }
  }
  await runInit(spec);

  let worker: Worker | WorkerPool;
  try {
    worker = await createWorkerOrPool(
      { ...spec.worker, drain: false },
      {
        supervisedBy: { masterPid: spec.masterPid, jobTimeout: spec.jobTimeout, timeoutGrace: spec.timeoutGrace, termTimeout: spec.termTimeout },
        ...(spec.hostname ? { hostname: spec.hostname } : {}),
      },
    );
  } catch (e) {
    if (e instanceof JobLoadError || e instanceof ConfigError) return fatal(e.message);
    throw e;
  }
  // A job's promise nobody awaited: a note, not the end of this child and its slots' jobs.
  logUnhandledRejections(note);

  // --- stop requests: a signal and the master's message for the same stop are one stop -----
  type Source = 'signal' | 'master' | 'self';
  let stopBy: { graceful: boolean; source: Source } | null = null;
  const requestStop = (graceful: boolean, source: Source, reason: string): void => {
    if (stopBy) {
      // Never weaker, and a master's stop after a stop already under way never escalates:
      // with Ctrl-C or a control-group TERM both the master and this child get the signal.
      if (graceful) return;
      if (!stopBy.graceful && (source !== 'signal' || stopBy.source !== 'signal')) {
        note(`${reason}: already stopping (${stopBy.source === 'master' ? "the master's stop" : 'on its own'}); not a second stop`);
        return;
      }
    }
    stopBy = { graceful, source };
    void worker.stop({ graceful, reason });
  };

  // --- job reports ---------------------------------------------------------------------------
  let jobs = 0;
  let recycling = false;
  type Current = { seq: number; reported: boolean; timer: NodeJS.Timeout | null };
  /** Each job slot's running job (a Worker without slots: slot 0). */
  const currents = new Map<number, Current>();
  const afterJob = (): void => {
    if (recycling || stopBy) return;
    let reason: string | null = null;
    if (spec.maxJobs !== null && jobs >= spec.maxJobs) reason = `worked ${jobs} jobs (--max-jobs ${spec.maxJobs})`;
    else if (spec.maxMemoryMb !== null) {
      const rss = process.memoryUsage.rss();
      if (rss > spec.maxMemoryMb * 1048576) reason = `RSS ${Math.round(rss / 1048576)} MB is over --max-memory ${spec.maxMemoryMb} MB`;
    }
    if (reason) {
      recycling = true;
      send({ act: 'recycle', reason });
      requestStop(true, 'self', 'recycle');
    }
  };
  (worker as Worker).on('status', (s: string) => (process.title = childTitle(spec.masterPid, s)));
  const slotOf = (e: JobEvent): number => (e as JobEvent & { slot?: number }).slot ?? 0;
  // Slot 0 (and a Worker without slots) sends exactly the messages it always did.
  const withSlot = (slot: number): { slot?: number } => (slot > 0 ? { slot } : {});
  (worker as Worker).on('job', (e: JobEvent) => {
    const slot = slotOf(e);
    const prev = currents.get(slot);
    if (prev?.timer) clearTimeout(prev.timer);
    const m: ChildToMaster = { act: 'job', seq: e.seq, queue: e.queue, className: e.className, timeout: e.timeout ?? null, ...withSlot(slot) };
    const cur: Current = { seq: e.seq, reported: false, timer: null };
    currents.set(slot, cur);
    // A job that may time out is told at once: a job that blocks the event loop would keep a timer from firing.
    if (e.timeout != null || spec.reportEveryJob) {
      send(m);
      cur.reported = true;
    } else {
      cur.timer = setTimeout(() => {
        cur.timer = null;
        if (currents.get(slot) !== cur) return;
        send(m);
        cur.reported = true;
      }, REPORT_AFTER_MS);
    }
  });
  const jobDone = (e: JobEvent): void => {
    jobs += 1;
    const slot = slotOf(e);
    const cur = currents.get(slot);
    if (cur && cur.seq === e.seq) {
      if (cur.timer) clearTimeout(cur.timer);
      if (cur.reported) send({ act: 'idle', seq: cur.seq, processed: jobs, ...withSlot(slot) });
      currents.delete(slot);
    }
    afterJob();
  };
  (worker as Worker).on('success', jobDone);
  (worker as Worker).on('failure', jobDone);
  if (spec.reportOutcomes) {
    // For the master's --metrics-port: each job's outcome and duration, each Redis outage.
    const began = new Map<string, number>();
    (worker as Worker).on('job', (e: JobEvent) => began.set(`${slotOf(e)}:${e.seq}`, performance.now()));
    const outcome = (e: JobEvent, o: 'success' | 'failure' | 'dirty_exit'): void => {
      const key = `${slotOf(e)}:${e.seq}`;
      const t0 = began.get(key);
      began.delete(key);
      send({
        act: 'outcome',
        seq: e.seq,
        ...withSlot(slotOf(e)),
        queue: e.queue,
        className: e.className,
        outcome: o,
        ms: t0 === undefined ? 0 : performance.now() - t0,
      });
    };
    (worker as Worker).on('success', e => outcome(e, 'success'));
    (worker as Worker).on('failure', e => outcome(e, e.exception === 'Resque::DirtyExit' ? 'dirty_exit' : 'failure'));
    worker.store.on('connection-error', () => send({ act: 'redis-error' }));
  }
  (worker as Worker).on('error', (e: Error) => note(e.message));
  (worker as Worker).on('notice', (m: string) => note(m));

  const onMessage = (m: unknown): void => {
    if (!isMasterMessage(m)) return;
    switch (m.act) {
      case 'stop':
        requestStop(m.graceful, 'master', m.reason);
        break;
      case 'abort-job': {
        const opts = {
          abandon: false,
          seq: m.seq,
          failAs: { exception: m.kind === 'timeout' ? 'JobTimeoutError' : 'MemoryLimitError', message: m.reason },
        };
        if ('ids' in worker) worker.abortCurrentJob(m.reason, { ...opts, slot: m.slot ?? 0 });
        else worker.abortCurrentJob(m.reason, opts);
        break;
      }
      case 'pause':
        worker.pause();
        break;
      case 'resume':
        worker.resume();
        break;
    }
  };
  process.removeListener('message', queueEarly);
  process.on('message', onMessage);
  for (const m of pending.splice(0)) onMessage(m);

  // --- signals -------------------------------------------------------------------------------
  const handlers = new Map<string, () => void>();
  for (const sig of CHILD_SIGNALS) {
    const h = (): void => {
      switch (sig) {
        case 'SIGINT':
          if (!masterGone) {
            note('SIGINT ignored: the master handles Ctrl-C and stops its children');
            return;
          }
          note('SIGINT received: aborting the current job and exiting');
          requestStop(false, 'signal', sig);
          return;
        case 'SIGTERM':
          note('SIGTERM received: aborting the current job and exiting');
          requestStop(false, 'signal', sig);
          return;
        case 'SIGQUIT':
          note('SIGQUIT received: finishing the current job, then exiting');
          requestStop(true, 'signal', sig);
          return;
        case 'SIGUSR1':
          note('SIGUSR1 received: aborting the current job');
          if (!worker.abortCurrentJob(sig)) note('no job is running');
          return;
        case 'SIGUSR2':
          note('SIGUSR2 received: pausing');
          worker.pause();
          return;
        case 'SIGCONT':
          note('SIGCONT received: resuming');
          worker.resume();
          return;
        case 'SIGHUP':
          note('SIGHUP received: ignored');
          return;
      }
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  process.removeListener('SIGINT', early);
  const release = (): void => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };

  // The master is gone (killed, crashed): finish the current job, then exit (the liveness
  // thread bounds a job that blocks the loop). If Redis is unreachable too, nothing can be
  // recorded: give up after 30 s rather than linger forever.
  onMasterGone = () => {
    note('the master is gone; finishing the current job, then exiting');
    requestStop(true, 'self', 'master gone');
    // Bounded whatever Redis does: a job still running is the liveness thread's to bound; once
    // no job runs, the stop (unregister) gets the master's --term-timeout + 5 s, then the child exits anyway. What it could
    // not write stays in Redis: its heartbeat stops, so the next prune finds it.
    const bound = spec.termTimeout * 1000 + ORPHAN_STOP_SLACK_MS;
    let stuckSince: number | null = null;
    const watchdog = setInterval(() => {
      if (worker.state === 'working' || worker.state === 'stopped') stuckSince = null;
      else if ((stuckSince ??= Date.now()) < Date.now() - bound) {
        note(`master gone and the stop not done ${bound / 1000} s later (${worker.store.isReady ? 'Redis does not answer' : 'Redis unreachable'}); exiting`);
        process.exit(1);
      }
    }, 1000);
    watchdog.unref();
  };
  if (masterGone || !process.connected) {
    note('the master is gone before this child started; exiting');
    release();
    return 0;
  }
  if (stopBy) {
    // The master said stop while this child was still loading: nothing to start.
    release();
    return 0;
  }
  try {
    try {
      await worker.start();
    } catch (e) {
      if (e instanceof AuthError) return await fatal(e.message);
      throw e;
    }
    send({ act: 'ready', workerId: worker.id });
    await worker.stopped;
  } finally {
    release();
    for (const c of currents.values()) if (c.timer) clearTimeout(c.timer);
  }
  return 0;
}

// A -f log file is written asynchronously: its last lines land (in order) before the exit.
main().then(
  code =>
    void drainLogFiles()
      // Bounded: a stalled reader of the master's stderr must not hold a child past its deadline.
      .then(() => flushStdio({ maxMs: 1000 }))
      .then(() => process.exit(code)),
  e => {
    if (!(e instanceof FatalStart)) note(coerceError(e).message);
    void drainLogFiles().then(() => process.exit(1));
  },
);
