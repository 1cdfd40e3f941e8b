/**
 * A cap on V8's young generation for a standalone `pyres-ts worker` (`--max-semi-space-mb`).
 *
 * V8 grows a busy process's new space step by step up to Node's own limit (two semi-spaces of
 * 16 MB on Node 20) and gives it back only when the process goes idle: a worker with 50 jobs in
 * flight holds ~32 MB for it, a third of its RSS. Node's `--max-semi-space-size` sets the limit,
 * but only on the command line (a master's children get it that way: `--child-node-options`);
 * V8 reads its growth factor each time it grows the space, so a running process can stop the
 * growth at a size: growth factor 1 once one more step would pass the cap, V8's 2 while it would
 * not (after V8 shrank the space when idle). Checked after each minor GC (perf_hooks' gc
 * entries) and when a worker thread comes online (seen on Node 20: a new thread's start sets the
 * growth factor back to 2). A gc entry arrives up to two turns of the event loop after its GC:
 * the jobs started in those turns (20 slots of ~300 KB each, on a loaded machine) can take the
 * space two or three steps, past the cap. So while V8 may grow it, it is also checked before each
 * job starts (`watchJobs`: the worker's 'job' event, ~0.6 us a job; none once at the cap): only a
 * single job allocating two new spaces' worth without yielding still takes it a step past. Node's
 * own `--max-semi-space-size` or `--semi-space-growth-factor` (command line or NODE_OPTIONS)
 * wins: then this does nothing.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import * as dc from 'node:diagnostics_channel';
import * as v8 from 'node:v8';
import { NODE_SEMI_SPACE_OPTION } from '../config/worker';

const MIB = 1024 * 1024;
/** V8's default `--semi-space-growth-factor`. */
const V8_GROWTH = 2;

/** Node was started with its own `--max-semi-space-size` or `--semi-space-growth-factor` (execArgv or NODE_OPTIONS). */
export function nodeSetsSemiSpace(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some(a => NODE_SEMI_SPACE_OPTION.test(a) || /^--semi[-_]space[-_]growth[-_]factor(=|$)/.test(a));
}

/** The main isolate's new space in bytes (both semi-spaces). */
export function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size ?? 0;
}

/** What emits 'job' synchronously before each job's code runs (a Worker or WorkerPool). */
export interface JobStarts {
  on(event: 'job', fn: () => void): unknown;
  off(event: 'job', fn: () => void): unknown;
}

export interface SemiSpaceCap {
  /** Why it does nothing (off, or Node's flag given), or null while it caps. */
  readonly inactive: string | null;
  /** Also checks before each job `source` starts, while V8 may grow the space. */
  watchJobs(source: JobStarts): void;
  close(): void;
}

/** Caps each semi-space at `mb` MB (0: V8's own growth) for the life of the process. */
export function capSemiSpace(mb: number): SemiSpaceCap {
  const none = (inactive: string): SemiSpaceCap => ({ inactive, watchJobs() {}, close() {} });
  if (mb <= 0) return none('off (--max-semi-space-mb 0)');
  if (nodeSetsSemiSpace()) return none("Node's own --max-semi-space-size or --semi-space-growth-factor is given");
  const capBytes = 2 * mb * MIB;
  let growing = true;
  const sources: JobStarts[] = [];
  /** The job-start check is on (while V8 may grow the space). */
  let watching = false;
  const set = (grow: boolean): void => {
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? V8_GROWTH : 1}`);
  };
  // V8 grows the space by its factor at a time: allowed while one more step stays within the cap.
  const check = (): void => {
    const size = newSpaceBytes();
    const grow = size * V8_GROWTH <= capBytes;
    // Set again at every check while it holds: a factor set back by a new thread is undone.
    if (grow !== growing || !grow) set(grow);
    if (grow !== watching) {
      watching = grow;
      for (const src of sources) grow ? src.on('job', onJob) : src.off('job', onJob);
    }
  };
  // Before a job: only a step past the cap calls for more than the size read.
  const onJob = (): void => {
    if (newSpaceBytes() * V8_GROWTH > capBytes) check();
  };
  const obs = new PerformanceObserver(list => {
    if (list.getEntries().some(e => (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)) check();
  });
  obs.observe({ entryTypes: ['gc'] });
  // A new worker thread's start sets the growth factor back to 2 (seen on Node 20): each new
  // thread's 'online' sets it again.
  const onThread = (m: unknown): void => {
    (m as { worker?: { once?(ev: string, fn: () => void): void } }).worker?.once?.('online', check);
  };
  dc.subscribe('worker_threads', onThread);
  check();
  return {
    inactive: null,
    watchJobs(source) {
      sources.push(source);
      if (watching) source.on('job', onJob);
    },
    close() {
      obs.disconnect();
      dc.unsubscribe('worker_threads', onThread);
      for (const src of sources) src.off('job', onJob);
      sources.length = 0;
      if (!growing) set(true);
    },
  };
}
