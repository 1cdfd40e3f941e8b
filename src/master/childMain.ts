/**
 * Entry of every child the master starts (child_process.fork). A child is an ordinary Resque
 * worker under its own pid. It reports to the master over IPC, obeys its stop/abort/pause
 * messages, and when the master disappears (IPC disconnect) finishes its job and exits: no orphans.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerFromArgs, type WorkerArgs } from '../cli/workerCommand';
import { coerceError } from '../errors';
import { installWorkerSignals } from '../signals';
import { RESQUE_PROTOCOL_VERSION, VERSION } from '../version';
import type { JobEvent } from '../worker/worker';
import { type ChildConfig, type ChildToMaster, isMasterMessage } from './ipc';

function send(m: ChildToMaster): void {
  if (process.connected && process.send) process.send(m, undefined, {}, () => undefined);
}

export function childTitle(masterPid: number, status: string): string {
  return `resque-${RESQUE_PROTOCOL_VERSION} pyres_worker (pyres-ts ${VERSION}) child of ${masterPid}: ${status}`;
}

async function main(): Promise<number> {
  // Listen for the master's end first: a master killed while this child was still loading
  // must not leave it to register and work unsupervised.
  let masterGone = !process.connected;
  let onMasterGone: () => void = () => undefined;
  process.on('disconnect', () => {
    masterGone = true;
    onMasterGone();
  });
  const raw = process.env['PYRES_CHILD_CONFIG'];
  if (!raw) {
    process.stderr.write('pyres-ts child: PYRES_CHILD_CONFIG is not set; children are started by `pyres-ts master`\n');
    return 2;
  }
  const cfg = JSON.parse(raw) as ChildConfig;
  process.title = childTitle(cfg.masterPid, 'Starting');
  if (cfg.workerInit) {
    const mod = (await import(pathToFileURL(resolve(cfg.workerInit)).href)) as Record<string, unknown>;
    const init = [mod['default'], mod['init'], (mod['default'] as Record<string, unknown> | undefined)?.['init']].find(
      f => typeof f === 'function',
    ) as (() => unknown) | undefined;
    if (init) await init();
  }
  const worker = await workerFromArgs(cfg.workerArgs as unknown as WorkerArgs);
  let jobs = 0;
  let recycling = false;
  const rss = (): number => process.memoryUsage.rss();
  const afterJob = (): void => {
    jobs += 1;
    if (recycling) return;
    let reason: string | null = null;
    if (cfg.maxJobs !== null && jobs >= cfg.maxJobs) reason = `worked ${jobs} jobs (--max-jobs ${cfg.maxJobs})`;
    else if (cfg.maxMemoryMb !== null && rss() > cfg.maxMemoryMb * 1024 * 1024) {
      reason = `RSS ${Math.round(rss() / 1048576)} MB is over --max-memory ${cfg.maxMemoryMb} MB`;
    }
    if (reason) {
      recycling = true;
      send({ act: 'recycle', reason });
      void worker.stop({ graceful: true, reason: 'recycle' });
    }
  };
  worker.on('status', (s: string) => (process.title = childTitle(cfg.masterPid, s)));
  // The master hears of a job only when it runs for more than 100 ms (or has a timeout of its
  // own): short jobs cost no IPC. Timeouts and `ctl status` concern long jobs anyway.
  let reportTimer: NodeJS.Timeout | null = null;
  let reported = false;
  worker.on('job', (e: JobEvent) => {
    const m: ChildToMaster = { act: 'job', queue: e.queue, className: e.className, since: Date.now(), timeout: e.timeout ?? null };
    reported = false;
    // A job that may time out is told at once: a job that blocks the event loop would keep a timer from firing.
    if (e.timeout != null || cfg.reportEveryJob) (send(m), (reported = true));
    else reportTimer = setTimeout(() => (send(m), (reported = true)), 100);
  });
  const jobDone = (): void => {
    if (reportTimer) clearTimeout(reportTimer);
    reportTimer = null;
    if (reported) send({ act: 'idle', processed: jobs, rss: rss() });
    reported = false;
    afterJob();
  };
  worker.on('success', jobDone);
  worker.on('failure', jobDone);
  worker.on('error', (e: Error) => process.stderr.write(`pyres-ts child ${process.pid}: ${e.message}\n`));
  process.on('message', (m: unknown) => {
    if (!isMasterMessage(m)) return;
    switch (m.act) {
      case 'stop':
        void worker.stop({ graceful: m.graceful, reason: m.reason });
        break;
      case 'abort-job':
        worker.abortCurrentJob(m.reason, { abandon: false });
        break;
      case 'pause':
        worker.pause();
        break;
      case 'resume':
        worker.resume();
        break;
    }
  });
  // The master is gone (killed, crashed): finish the current job, then exit. If Redis is
  // unreachable too, nothing can be recorded: give up after 30 s rather than linger forever.
  onMasterGone = () => {
    void worker.stop({ graceful: true, reason: 'master gone' });
    let downSince: number | null = null;
    const watchdog = setInterval(() => {
      if (worker.store.isReady) downSince = null;
      else if ((downSince ??= Date.now()) < Date.now() - 30_000) {
        process.stderr.write(`pyres-ts child ${process.pid}: master gone and Redis unreachable for 30 s; exiting\n`);
        process.exit(1);
      }
    }, 1000);
    watchdog.unref();
  };
  if (masterGone || !process.connected) {
    process.stderr.write(`pyres-ts child ${process.pid}: the master is gone before this child started; exiting\n`);
    return 0;
  }
  const release = installWorkerSignals(worker, m => process.stderr.write(`pyres-ts child ${process.pid}: ${m}\n`));
  const rssTimer = setInterval(() => send({ act: 'rss', rss: rss() }), 1000);
  rssTimer.unref();
  try {
    await worker.start();
    send({ act: 'ready', workerId: worker.id });
    await worker.stopped;
  } finally {
    release();
    clearInterval(rssTimer);
  }
  return 0;
}

main().then(
  code => process.exit(code),
  e => {
    process.stderr.write(`pyres-ts child ${process.pid}: ${coerceError(e).message}\n`);
    process.exit(1);
  },
);
