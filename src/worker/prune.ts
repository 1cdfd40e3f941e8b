import { readFileSync } from 'node:fs';
import type { Logger } from '../logging/logger';
import { decodeJob } from '../protocol/job';
import { compactWorkingOn, jobClassOfBytes } from '../protocol/jsonBytes';
import { decodeWorkingOn, embedPayload, failureAround } from '../protocol/records';
import { formatFailedAt, parseResqueTime } from '../protocol/time';
import { parseWorkerId, slotHostOf } from '../protocol/workerId';
import type { DirtyExitPolicy, RedisStore } from '../store/redisStore';
import { ownPidNamespace } from './pidNamespace';

/** A dead worker's job's onFailure hooks (the pruner's or the master's registry): what to record. */
export type DeadJobHooks = (
  job: { raw: string; queue: string; className: string; workerId: string },
  error: Error,
) => Promise<{ error: Error; suppressed: boolean }>;

export interface PruneOptions {
  /** The pruner's own worker id (never pruned); also the prune lock's value. */
  selfId: string;
  /** Same-host workers whose pid is gone are pruned (see `pidNamespace`). */
  hostname: string;
  /** A heartbeat older than this many seconds marks a worker dead. @defaultValue 300 */
  pruneInterval?: number;
  /** Take Resque's 60 s `pruning_dead_workers_in_progress` lock first. @defaultValue true */
  useLock?: boolean;
  /** A pruned worker's job: a failure record ('fail', Resque's way) or back to its queue. @defaultValue 'fail' */
  onDirtyExit?: DirtyExitPolicy;
  /**
   * The pruner's own queue list (raw entries, as in its worker id). Ruby 3.0's guard: the pid
   * rule skips a worker whose queue list, as a set, differs from this one, unless it holds '*'.
   * Undefined (an operator's `workers prune`): no queue guard.
   */
  queues?: readonly string[];
  /**
   * Runs a pruned job's onFailure hooks (its class's, when the pruner has its module loaded)
   * before its failure record, as Ruby's prune runs `Job#fail`: resque-retry re-enqueues it.
   * Resolves with the error to record and whether a retry policy suppressed the record.
   */
  failureHooks?: DeadJobHooks;
  /**
   * The pruner's PID-namespace identity (worker/pidNamespace.ts). The pid rule applies only to
   * workers whose recorded identity equals it: a worker with no record (Ruby, Pyres,
   * node-resque, older pyres-ts) or another namespace's record is pruned by heartbeat expiry
   * only. null: the pid rule never applies. @defaultValue this process's, read from /proc
   */
  pidNamespace?: string | null;
  logger: Logger;
}

/**
 * Resque's prune_dead_workers: workers whose heartbeat is older than pruneInterval by Redis
 * time, and same-host workers whose pid is not alive, provided that (Ruby 3.0) their queue
 * set is the pruner's own and (pyres-ts) their pid is provably in the pruner's PID namespace.
 * A pruned worker that held a job gets a failure record as Ruby writes it
 * (`Resque::PruneDeadWorkerDirtyExit` / `Resque::DirtyExit`). Returns the pruned ids.
 */
export async function pruneDeadWorkers(store: RedisStore, o: PruneOptions): Promise<string[]> {
  if ((o.useLock ?? true) && !(await store.acquirePruneLock(o.selfId))) return [];
  const [all, beats, now] = await Promise.all([store.listWorkers(), store.allHeartbeats(), store.serverTime()]);
  const pruned: string[] = [];
  const members = new Set(all);
  const ownNs = o.pidNamespace === undefined ? ownPidNamespace() : o.pidNamespace;
  const ownQueues = o.queues ? new Set(o.queues) : null;
  let nsRecords: Map<string, string | null> | null = null;
  const nsOf = async (wid: string): Promise<string | null> => {
    if (!nsRecords) {
      // Read once, for the candidates of the pid rule only (same host, registered).
      const ids = all.filter(id => sameHost(parseWorkerId(id)?.host, o.hostname));
      const recs = await store.pidNamespacesOf(ids);
      nsRecords = new Map(ids.map((id, i) => [id, recs[i] ?? null]));
    }
    return nsRecords.get(wid) ?? null;
  };
  // The heartbeat rule covers every heartbeat field, registered or not (as Ruby's prune does).
  for (const wid of [
    ...all,
    ...Object.keys(beats)
      .filter(id => !members.has(id))
      .sort(),
  ]) {
    if (wid === o.selfId) continue;
    const hb = beats[wid];
    if (hb !== undefined) {
      const t = parseResqueTime(hb);
      if (!t) o.logger.warn(`worker ${wid} has an unreadable heartbeat ${JSON.stringify(hb)}; not pruning it`);
      else if (now - t.getTime() / 1000 > (o.pruneInterval ?? 300)) {
        await pruneOne(store, o, wid, 'Resque::PruneDeadWorkerDirtyExit', cls => `Worker ${wid} did not gracefully exit while processing ${cls}`);
        pruned.push(wid);
        continue;
      }
    }
    const parts = parseWorkerId(wid);
    // A job slot's id (`host+i:pid:queues`, --concurrency) names this host too.
    if (!members.has(wid) || !parts || !sameHost(parts.host, o.hostname)) continue;
    if (ownQueues && !ownQueues.has('*') && !sameSet(ownQueues, parts.queues)) {
      o.logger.debug(`prune: skipping ${wid}: its queues are not ours (${[...ownQueues].join(',')}), as Ruby 3.0 does`);
      continue;
    }
    if (ownNs === null) {
      o.logger.debug(`prune: skipping the pid check of ${wid}: this process's PID namespace is unknown (no /proc)`);
      continue;
    }
    const ns = await nsOf(wid);
    if (ns === null) {
      o.logger.debug(`prune: skipping the pid check of ${wid}: it recorded no PID namespace (not pyres-ts, or older); only an expired heartbeat prunes it`);
      continue;
    }
    if (ns !== ownNs) {
      o.logger.debug(`prune: skipping the pid check of ${wid}: it runs in another PID namespace (${ns}, ours ${ownNs})`);
      continue;
    }
    if (pidAlive(parts.pid)) continue;
    await pruneOne(store, o, wid, 'Resque::DirtyExit', () => 'Job still being processed');
    pruned.push(wid);
  }
  return pruned;
}

/** Whether a worker id's host field (`vm`, or slot `vm+3`) names the host `hostname`. */
function sameHost(idHost: string | undefined, hostname: string): boolean {
  return idHost !== undefined && (idHost === hostname || slotHostOf(idHost).host === hostname);
}

function sameSet(a: ReadonlySet<string>, b: readonly string[]): boolean {
  const bs = new Set(b);
  if (bs.size !== a.size) return false;
  for (const x of bs) if (!a.has(x)) return false;
  return true;
}

async function pruneOne(store: RedisStore, o: PruneOptions, wid: string, exception: string, message: (cls: string) => string): Promise<void> {
  const policy = o.onDirtyExit ?? 'fail';
  const cls = await unregisterDeadWorker(store, wid, exception, message, policy, o.failureHooks ? { failureHooks: o.failureHooks } : {});
  const what = policy === 'requeue' ? 'put back on its queue' : `recorded as ${exception}`;
  o.logger.info(`pruned dead worker ${wid}${cls !== null ? ` (its ${cls} job ${what})` : ''}`);
}

/**
 * Unregisters a worker that is gone. If `worker:<id>` still holds a job, a failure record
 * (`exception`, `message(className)`, empty backtrace, worker = the dead id) is written in
 * the same atomic step. Returns the job's class name, or null when it held none. With
 * `requireHeld`, nothing happens at all (null) unless `worker:<id>` still holds the job read
 * here: a job that ended meanwhile is neither recorded nor unregistered from under its worker.
 */
export async function unregisterDeadWorker(
  store: RedisStore,
  wid: string,
  exception: string,
  message: (cls: string) => string,
  policy: DirtyExitPolicy = 'fail',
  opts: {
    requireHeld?: boolean;
    stillCurrent?: () => boolean;
    /** The record is suppressed (a retry policy retried the job under suppressFailures): counted nowhere, written nowhere. */
    suppressed?: boolean;
    /** The job's onFailure hooks, run before the record with policy 'fail' (they decide its error and suppression). */
    failureHooks?: DeadJobHooks;
  } = {},
): Promise<string | null> {
  // Read as bytes and rebuild the record around the payload's own bytes: a payload that is
  // not valid UTF-8 must neither be mangled nor (because the compare-and-act in the script
  // would then never match) silently dropped with the worker's registration.
  const buf = await store.getWorkingOnBuffer(wid);
  if (opts.requireHeld && !buf) return null;
  // The caller's last word before the compare-and-act (the job it meant may have just ended).
  if (opts.stillCurrent && !opts.stillCurrent()) return null;
  let dirty: Parameters<RedisStore['unregister']>[1];
  let cls = '';
  if (buf) {
    const held = readHeld(buf);
    cls = held.className;
    let recordException = exception;
    let recordError = message(cls);
    let suppressed = opts.suppressed === true;
    if (policy === 'fail' && opts.failureHooks && cls) {
      const err = Object.assign(new Error(recordError), { name: exception });
      const r = await opts
        .failureHooks({ raw: held.raw(), queue: held.queue, className: cls, workerId: wid }, err)
        .catch(() => ({ error: err, suppressed: false }));
      recordException = r.error.name;
      recordError = r.error.message;
      suppressed = r.suppressed;
    }
    const [before, after] = failureAround({
      failedAt: formatFailedAt(new Date()),
      exception: recordException,
      error: recordError,
      backtrace: [],
      worker: wid,
      queue: held.queue,
    });
    dirty = {
      expected: buf,
      policy,
      queue: held.queue,
      raw: held.original,
      // '' (suppressed): the script writes no record.
      record: suppressed ? Buffer.alloc(0) : Buffer.concat([Buffer.from(before), held.embedded, Buffer.from(after)]),
      requireHeld: opts.requireHeld ?? false,
    };
  }
  const wrote = await store.unregister(wid, dirty);
  return dirty && wrote ? cls || '?' : null;
}

/**
 * What a dead worker's `worker:<id>` holds, for its failure record or its requeue. Ruby's and
 * pyres-ts's compact form is read from its bytes: the payload (megabytes, maybe) is never copied
 * into a string, because the liveness thread records a self-killed job with a heap of a few
 * MB. Other forms (pyres' key order and spacing) are decoded as text.
 */
function readHeld(buf: Buffer): { queue: string; className: string; embedded: Buffer; original: Buffer; raw: () => string } {
  const c = compactWorkingOn(buf);
  if (c) {
    // The payload as embedded in the working record is what the failure record embeds too (raw
    // JSON, or a JSON string for a payload that was not a JSON object). For requeue: the
    // original item; a raw embedding is the item itself, a string one is decoded (such items
    // are not JSON objects, so exact bytes matter less).
    // (A payload that is not an object is a poison item, failed as soon as it is reserved: never a long job.)
    const decoded = c.isString ? stringValue(c.payload) : null;
    return {
      queue: c.queue,
      className: decoded === null ? (jobClassOfBytes(c.payload) ?? '') : classOf(decoded),
      embedded: c.payload,
      original: decoded === null ? c.payload : Buffer.from(decoded),
      raw: () => decoded ?? c.payload.toString('utf8'),
    };
  }
  const value = buf.toString('utf8');
  const w = decodeWorkingOn(value);
  const raw = w?.rawPayload ?? value;
  return { queue: w?.queue ?? '', className: classOf(raw), embedded: Buffer.from(embedPayload(raw)), original: Buffer.from(raw), raw: () => raw };
}

function stringValue(bytes: Buffer): string {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

function classOf(raw: string): string {
  try {
    return decodeJob(raw).className;
  } catch {
    return '';
  }
}

/** Whether a process runs under this pid. A zombie (exited, not yet reaped) counts as dead. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
