import { isAscii, isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { EventEmitter } from 'node:events';
import { AuthError, ConnectionError, coerceError, isAuthError, isBadDatabaseError } from '../errors';
import { type FailureBackend, ResqueKeys, failureListFor } from '../protocol/keys';
import { formatHeartbeat } from '../protocol/time';
import { type ConnectionOptions, type RedisClient, adoptRedis, createRedis, describeConnection } from './connection';
import { AdminStore } from './adminStore';
import { SchedulerStore } from './schedulerStore';
import { execOrThrow } from './pipeline';
import { queueWorkerReads, type WorkerDetails, workerDetailsFrom } from './workerDetails';
import { BAKED_QUEUES_MAX, FINISH_AND_RESERVE, finishAndReserveBaked, RESERVE_MANY, UNREGISTER, WORKING_ON_PROBE } from './scripts';
import { SocketWatch } from './socketWatch';
import { bulk, isNoScript, StepDeadlines, type StepParts, StepScript } from './stepCommand';

/**
 * `lost`: the per-worker counter was missing (Redis lost this worker's state: a restart
 * without persistence, a failover to an empty replica); the outcome was recorded anyway and the
 * worker should re-register. `unrecorded`: a finish was asked for and nothing was written.
 * Both are absent in the ordinary case.
 */
export type ReserveNote = { lost?: true; unrecorded?: true };

/** `WAIT <replicas> <timeoutMs>` sent in the same round trip as a finish-and-reserve step. */
export interface WaitSpec {
  replicas: number;
  timeoutMs: number;
}

/** What a step's WAIT said: `acked` replicas had it; `epoch` is the connection it ran on (see connectionEpoch). */
export interface WaitResult {
  acked: number;
  epoch: number;
}

/** Where this store's connection stands, for a WAIT that fell short (see masterCheck). */
export type MasterCheck = 'here' | 'moved';

export type ReserveResult = ReserveNote &
  // `bytes` / `recordBytes`: present only when the item (the held record) is not valid UTF-8;
  // `raw` / `record` then hold U+FFFD where those bytes were.
  (
    | { status: 'job'; queue: string; raw: string; bytes?: Buffer; processed: number }
    | { status: 'held'; record: string; recordBytes?: Buffer; processed: number }
    | { status: 'paused' | 'empty' | 'done'; processed: number }
  );

/** One slot's share of a reserveMany: its index in the ids given, and its job or held record (`processed` is 0: not read). */
export interface ManyReserved {
  index: number;
  result: Extract<ReserveResult, { status: 'job' | 'held' }>;
}

export type FinishMode = 'none' | 'success' | 'failure' | 'dirty' | 'requeue';

export interface FinishSpec {
  mode: FinishMode;
  /** `stat:processed:<id>` as last returned by the store. */
  expectedProcessed: number;
  failureRecord?: string;
  /** For 'failure' and 'dirty': the job's queue (picks the list under redis_multi_queue). */
  failureQueue?: string;
  /** For 'requeue': the queue and the raw payload to push back to its head. */
  requeue?: { queue: string; raw: string };
}

/** What happens to the job of a worker that died or was killed mid-job. */
export type DirtyExitPolicy = 'fail' | 'requeue';

export interface ReserveSpec {
  runAt: string;
  /** Prepared by queueScriptArgs(). */
  queueArgs: readonly string[];
}

export interface StoreOptions {
  connection?: ConnectionOptions;
  namespace?: string;
  /** CLIENT SETNAME prefix. */
  name?: string;
  /** Where this store writes failure records. @defaultValue 'redis' */
  failureBackend?: FailureBackend;
  /**
   * false: reserve from a plain list of queues with the per-queue LPOP pass (and the known-empty
   * skipping) even where LMPOP exists (tests of that pass). @defaultValue true
   */
  multiPop?: boolean;
  /**
   * A caller's ioredis instance to use instead of opening a connection (`connection` and `name`
   * are then ignored). The store never quits it: close() only detaches its listeners.
   */
  client?: RedisClient;
}

interface ScriptedRedis extends Redis {
  /** One flat array: numKeys, the keys, then ARGV (ioredis flattens it; see finishAndReserve). */
  pyresFinishAndReserveBuffer(args: Array<string | number>): Promise<[Buffer, number, Buffer?, Buffer?, Buffer?]>;
  pyresUnregister(numKeys: number, ...args: Array<string | Buffer>): Promise<number>;
  pyresWorkingOnProbe(numKeys: number, ...args: string[]): Promise<string>;
  pyresReserveManyBuffer(numKeys: number, ...args: string[]): Promise<Array<Buffer | number>>;
}

/** One sentinel's answer to SENTINEL get-master-addr-by-name, or null (unreachable, unknown name) within ~1 s. */
async function sentinelMasterAddress(host: string, port: number, name: string, tls?: object): Promise<{ host: string; port: number } | null> {
  const s = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 1000,
    enableOfflineQueue: false,
    ...(tls ? { tls } : {}),
  });
  s.on('error', () => undefined);
  try {
    await s.connect();
    const a = (await s.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
    return Array.isArray(a) ? { host: String(a[0]), port: Number(a[1]) } : null;
  } catch {
    return null;
  } finally {
    s.disconnect();
  }
}

/** The scripting probe of connect(): sha1("return 1"). */
const PROBE_LUA = 'return 1';
const PROBE_SHA = 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db';

/** The longest a queue stays skipped as known empty before the whole list is tried again (ms). */
export const KNOWN_EMPTY_MAX_MS = 250;

const FINISH_CODES: Record<FinishMode, string> = { none: '0', success: '1', failure: '2', dirty: '3', requeue: '4' };

/** The reply of the finish-and-reserve script, as bytes: {status, processed_count, queue, payload, note}. */
/** status, processed, queue, value, note, and (a baked step only) 'nolmpop'. */
type StepReply = [Buffer, number, Buffer?, Buffer?, Buffer?, Buffer?];

/** What a step's reply is read against: its baked script, queue list, and the store's state when it was sent. */
interface StepSent {
  baked: Baked | null;
  queueArgs: readonly string[] | null;
  lmpop: false | undefined;
  seq: number;
  armed: boolean;
  epoch: number;
}

/** A queue list's baked step: its ioredis command (the --wait-replicas pipeline), its transport, the template key standing for the list. */
interface Baked {
  name: string;
  step: StepScript;
  key: readonly string[];
}

/** A step's argument array for one worker id and queue list, and its request bytes around the five per-step arguments. */
interface StepTemplate {
  args: Array<string | number>;
  parts: StepParts;
  /** ARGV[4] (reserve or not) as a bulk string. */
  flag: string;
}

/** The finish-and-reserve script: one per process (its sockets' loaded state is per socket). */
const FINISH_STEP = new StepScript(FINISH_AND_RESERVE);

/**
 * A reply's item (a queued payload or a worker:<id> record) as text. ASCII (`ascii`: isAscii of
 * the bytes), which almost every payload is, is copied as it is: one pass, no UTF-8 decoding nor
 * validation (10 KB: ~1 us less than toString('utf8') and isUtf8). Anything else is decoded as
 * UTF-8: bytes that are not valid UTF-8 become U+FFFD, and itemBytes keeps them.
 */
function itemText(b: Buffer, ascii: boolean): string {
  return ascii ? b.toString('latin1') : b.toString('utf8');
}

/** A copy of the item's bytes when itemText is not their exact text (not valid UTF-8), else null. */
function itemBytes(b: Buffer, ascii: boolean): Buffer | null {
  return ascii || isUtf8(b) ? null : Buffer.from(b);
}

/**
 * The only module that talks to Redis. Speaks Resque's domain verbs; no ioredis type leaks
 * out of its signatures. Emits 'reconnected' when a dropped connection is back (the worker
 * then re-registers) and 'connection-error' once per outage.
 */
export class RedisStore extends EventEmitter {
  readonly keys: ResqueKeys;
  readonly where: string;
  readonly failureBackend: FailureBackend;
  private readonly redis: ScriptedRedis;
  private readonly connection: ConnectionOptions;
  private sub: Redis | null = null;
  private subId: number | null = null;
  private tracking = false;
  private trackingUnsupported = false;
  private wakeListeners = new Set<(keys: string) => void>();
  /** Counts notifications, so a wait can tell that one came in before it started. */
  private wakeSeq = 0;
  private everReady = false;
  private inOutage = false;
  private closed = false;
  private lastError: Error | null = null;
  /** A SELECT the server refused (isBadDatabaseError): the connection is in database 0. */
  private badDatabase: Error | null = null;

  private badDatabaseError(e: Error): AuthError {
    return new AuthError(`Redis at ${this.where} has no such database (${e.message}); check the database number against the server's \`databases\` setting`);
  }
  private epoch = 0;
  private readonly multiPopOff: boolean;
  /** False when the connection is a caller's (StoreOptions.client): never quit here. */
  private readonly owned: boolean;
  private readonly detach: Array<() => void> = [];
  private readonly step = FINISH_STEP;
  /** The owned connection's socketTimeout (ioredis's own, without a timer per command). */
  private readonly socketWatch: SocketWatch | null = null;
  /** The steps' command timeout (ioredis's commandTimeout, one timer for all steps). */
  private readonly stepDeadlines = new StepDeadlines();
  /**
   * Whether this server pops a plain queue list with one LMPOP (finishAndReserveBaked): undefined
   * until a baked step says otherwise (assumed yes), false once one answered 'nolmpop' (Redis < 7,
   * an ACL without +lmpop); back to undefined on every new connection.
   */
  private lmpop: false | undefined = undefined;
  /** Per plain queue list (the worker's array): its baked script (command name, step transport, template key), or null (not baked). */
  private readonly baked = new WeakMap<readonly string[], Baked | null>();
  private bakedCount = 0;

  constructor(opts: StoreOptions = {}) {
    super();
    if (opts.multiPop === false) this.lmpop = false;
    this.multiPopOff = opts.multiPop === false;
    this.keys = new ResqueKeys(opts.namespace ?? 'resque');
    this.failureBackend = opts.failureBackend ?? 'redis';
    this.connection = { ...opts.connection, connectionName: opts.name ?? opts.connection?.connectionName ?? 'pyres-ts' };
    if (opts.client !== undefined) {
      const a = adoptRedis(opts.client);
      this.owned = false;
      this.where = a.where;
      this.redis = a.client as ScriptedRedis;
      this.everReady = a.client.status === 'ready';
    } else {
      this.owned = true;
      this.where = describeConnection(this.connection);
      this.redis = createRedis(this.connection) as ScriptedRedis;
      const ms = this.redis.options.socketTimeout;
      // Its socketTimeout without a timer per step (the steps are a ping-pong: every one finds the socket idle).
      if (typeof ms === 'number') this.socketWatch = new SocketWatch(this.redis, ms);
    }
    this.redis.defineCommand('pyresFinishAndReserve', { lua: FINISH_AND_RESERVE });
    this.redis.defineCommand('pyresUnregister', { lua: UNREGISTER });
    this.redis.defineCommand('pyresWorkingOnProbe', { lua: WORKING_ON_PROBE });
    this.redis.defineCommand('pyresReserveMany', { lua: RESERVE_MANY });
    // biome-ignore lint/suspicious/noExplicitAny: ioredis types its listeners per event name; this helper forwards any of them
    const on = (ev: string, fn: (...a: any[]) => void): void => {
      this.redis.on(ev, fn);
      this.detach.push(() => this.redis.off(ev, fn));
    };
    on('ready', () => {
      this.epoch += 1;
      this.tracking = false;
      // Maybe another server (a failover): whether it has LMPOP is learnt again.
      this.lmpop = this.multiPopOff ? false : undefined;
      this.forgetEmpty();
      if (this.everReady && this.inOutage) {
        this.inOutage = false;
        this.emit('reconnected');
      }
      this.everReady = true;
    });
    on('error', (e: Error) => {
      this.lastError = e;
      // The connection goes on in database 0: never used (connect/waitUntilReady refuse it).
      if (isBadDatabaseError(e)) this.badDatabase = e;
      this.noteOutage(e);
    });
    on('close', () => {
      this.tracking = false;
      this.wakeAll('closed');
      if (!this.closed && this.everReady) this.noteOutage(new ConnectionError(`connection to ${this.where} closed`));
    });
  }

  private noteOutage(e: Error): void {
    if (this.closed || !this.everReady) return;
    if (!this.inOutage) {
      this.inOutage = true;
      this.emit('connection-error', e);
    }
  }

  /**
   * Connects, or throws one clear error at the first failure (no retry loop here; callers
   * decide, and ioredis keeps reconnecting in the background). A refused password or ACL is
   * an AuthError: retrying cannot help. So is a user whose ACL forbids EVAL/EVALSHA (e.g. one
   * set up with exactly Ruby Resque's commands): checked once, in the same connect, unless
   * `scripts` is false (producer and ctl never run a script). See README, "Redis ACL".
   */
  async connect(opts: { scripts?: boolean } = {}): Promise<void> {
    if (this.redis.status === 'ready') return;
    const scripts = opts.scripts ?? true;
    this.wantScripts = scripts;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => {
          this.redis.off('error', onError);
          reject(e);
        };
        // Sentinel lookups fail by 'error' events while connect() stays pending: take the first.
        this.redis.on('error', onError);
        const p = this.redis.status === 'wait' ? this.redis.connect() : this.redis.ping();
        p.then(
          () => (this.redis.off('error', onError), resolve()),
          (e: unknown) => (this.redis.off('error', onError), reject(this.lastError ?? coerceError(e))),
        );
      });
    } catch (e) {
      const err = coerceError(e);
      if (isAuthError(err)) throw new AuthError(`Redis at ${this.where} refused the credentials: ${err.message}`);
      if (isBadDatabaseError(err)) throw this.badDatabaseError(err);
      throw new ConnectionError(`cannot connect to Redis at ${this.where}: ${err.message}`);
    }
    if (this.badDatabase) throw this.badDatabaseError(this.badDatabase);
    if (scripts) await this.requireScripting();
  }

  /**
   * One round trip: EVALSHA and EVAL of `return 1` (ioredis sends EVALSHA first and falls back
   * to EVAL). Throws AuthError on NOPERM; any other reply (NOSCRIPT, an old server) is fine.
   */
  /** Whether connect() was asked to check scripting (waitUntilReady checks it too, once Redis answers). */
  private wantScripts = true;

  private async requireScripting(): Promise<void> {
    const res = await this.redis.pipeline().evalsha(PROBE_SHA, 0).eval(PROBE_LUA, 0).exec();
    const denied = (res ?? []).map(([e]) => e).find(e => e && isAuthError(e));
    if (!denied) return;
    const user = this.redis.options.username ?? 'default';
    await this.close();
    throw new AuthError(
      `Redis user ${JSON.stringify(user)} at ${this.where} may not run EVAL/EVALSHA, which pyres-ts needs for its atomic reserve (see README, "Redis ACL")`,
    );
  }

  /**
   * After a failed connect(): resolves true once Redis answers (ioredis keeps retrying), false
   * if aborted; throws AuthError when Redis refuses the credentials or the database.
   */
  async waitUntilReady(signal?: AbortSignal): Promise<boolean> {
    while (!signal?.aborted) {
      const r = await new Promise<'ok' | 'aborted' | Error>(resolve => {
        const onAbort = (): void => resolve('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
        this.redis.ping().then(
          () => (signal?.removeEventListener('abort', onAbort), resolve('ok')),
          (e: unknown) => (signal?.removeEventListener('abort', onAbort), resolve(coerceError(e))),
        );
      });
      if (r === 'ok') {
        if (this.badDatabase) throw this.badDatabaseError(this.badDatabase);
        if (this.wantScripts) await this.requireScripting();
        return true;
      }
      if (r === 'aborted') return false;
      if (isAuthError(r)) throw new AuthError(`Redis at ${this.where} refused the credentials: ${r.message}`);
      if (isBadDatabaseError(r)) throw this.badDatabaseError(r);
      await new Promise(res => setTimeout(res, 1000));
    }
    return false;
  }

  /** Drops the connections at once, without waiting for Redis (for a bounded shutdown). */
  disconnect(): void {
    this.closed = true;
    this.wakeAll('closed');
    if (this.owned) this.redis.disconnect();
    else this.release();
    this.sub?.disconnect();
    this.sub = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const quit = async (r: Redis | null): Promise<void> => {
      if (!r) return;
      try {
        if (r.status === 'ready') await r.quit();
        else r.disconnect();
      } catch {
        r.disconnect();
      }
    };
    this.wakeAll('closed');
    if (!this.owned) this.release();
    await Promise.all([this.owned ? quit(this.redis) : Promise.resolve(), quit(this.sub)]);
    this.socketWatch?.stop();
    this.sub = null;
  }

  /** A caller's connection: take our listeners off it, leave it open. */
  private release(): void {
    for (const d of this.detach.splice(0)) d();
  }

  /**
   * An AdminStore over this store's connection (no second connection). It never closes the
   * connection; this store's close() does (or, for a caller's instance, nobody).
   */
  adminStore(): AdminStore {
    return new AdminStore({ connection: this.connection, namespace: this.keys.namespace, client: this.redis, where: this.where });
  }

  /** The delayed-job verbs (resque-scheduler's keys) over this store's connection (no second connection). */
  schedulerStore(): SchedulerStore {
    return new SchedulerStore(this.redis, this.keys.namespace);
  }

  /** True while the main connection is up. */
  get isReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Redis server time in seconds. */
  async serverTime(): Promise<number> {
    const [s, us] = (await this.redis.time()) as [string | number, string | number];
    return Number(s) + Number(us) / 1e6;
  }

  // ---- the job loop ---------------------------------------------------------------------

  /**
   * Queues (names) a reservation found empty while queue notifications were on, and not written
   * since as far as the notifications tell: the next steps leave them out of the LPOP pass.
   * Correctness first: a queue is only marked from a step during which no notification for its
   * key arrived (so no write can have slipped between its LPOP and the reply); a notification
   * naming its key drops it; a flush, a closed or re-armed notification connection, or tracking
   * turned off drops all; and every KNOWN_EMPTY_MAX_MS the whole list is tried again, so a
   * notification that never arrives (a silent connection) delays a queue at most that long. Only
   * for plain queue lists (no globs). NOLOOP hides this connection's own plain commands (not its
   * scripts' writes, which Redis 7 does notify): enqueue and the requeue steps forget everything.
   */
  private readonly knownEmpty = new Set<string>();
  private knownEmptySince = 0;
  /**
   * For the queue keys of the lists seen here: the notification count at their last
   * notification (writes by this connection's own scripts are notified too, so a step can only
   * go by the keys it would mark). `resetSeq`: the count at the last flush or closed connection.
   */
  private readonly notifiedAt = new Map<string, number>();
  private resetSeq = 0;
  /** Per queue list (the worker's array): its variants without the known-empty queues, by the names left out. */
  private readonly skipVariants = new WeakMap<readonly string[], Map<string, readonly string[]>>();

  /** Counts forgetEmpty() calls: a step in flight across one (a re-arm, an own push) marks nothing. */
  private forgetEpoch = 0;

  /** Forgets every known-empty queue (the next pass tries the whole list). */
  private forgetEmpty(): void {
    this.forgetEpoch += 1;
    this.knownEmpty.clear();
  }

  /** `queueArgs` without the queues known empty (the same array when none is, or all are). */
  private withoutKnownEmpty(queueArgs: readonly string[]): readonly string[] {
    if (queueArgs[0] !== '0') return queueArgs;
    if (!this.skipVariants.has(queueArgs)) {
      this.skipVariants.set(queueArgs, new Map());
      for (let i = 1; i < queueArgs.length && this.notifiedAt.size < 10_000; i++) this.notifiedAt.set(this.keys.queue(queueArgs[i]!), -1);
    }
    if (this.knownEmpty.size === 0) return queueArgs;
    if (!this.notificationsArmed || Date.now() - this.knownEmptySince > KNOWN_EMPTY_MAX_MS) {
      // Not forgetEmpty(): a full pass is not a reason to distrust steps in flight.
      this.knownEmpty.clear();
      return queueArgs;
    }
    let left = '';
    let kept = 0;
    for (let i = 1; i < queueArgs.length; i++) {
      if (this.knownEmpty.has(queueArgs[i]!)) left += `${queueArgs[i]}\n`;
      else kept += 1;
    }
    if (left === '' || kept === 0) return queueArgs;
    let variants = this.skipVariants.get(queueArgs);
    if (!variants) this.skipVariants.set(queueArgs, (variants = new Map()));
    let v = variants.get(left);
    if (!v) {
      v = queueArgs.filter((q, i) => i === 0 || !this.knownEmpty.has(q));
      if (variants.size >= 256) variants.clear();
      variants.set(left, v);
    }
    return v;
  }

  /**
   * After a step sent at notification count `sent` that reserved from `queue`: the queues before
   * it in `used` were empty then; each is known empty unless a notification for it (or a flush)
   * came in since `sent` (it may have been written after the LPOP), or its key has a comma (a
   * notification lists keys comma-separated, so its own could not be told apart).
   */
  private noteEmptyBefore(used: readonly string[], queue: string, sent: number): void {
    if (this.resetSeq > sent) return;
    for (let i = 1; i < used.length && used[i] !== queue; i++) {
      const q = used[i]!;
      const at = this.notifiedAt.get(this.keys.queue(q));
      if (at === undefined || at > sent || q.includes(',')) continue;
      if (this.knownEmpty.size === 0) this.knownEmptySince = Date.now();
      this.knownEmpty.add(q);
    }
  }

  /**
   * Per worker id: the step's argument array (numKeys, KEYS, ARGV) built once, for the common
   * steps (nothing to finish, a success, a failure into `failed`), with the five slots that vary
   * per job (mode, counter, record, reserve flag, run_at) overwritten in place. `queueArgs` is
   * the array the worker built once for its queue list; another one rebuilds the template.
   */
  private readonly stepTemplates = new Map<string, Map<readonly string[] | null, StepTemplate>>();
  /** The same for the four-key layout (nothing to finish or a success, from a plain or baked list). */
  private readonly leanTemplates = new Map<string, Map<readonly string[] | null, StepTemplate>>();

  /**
   * The template for `workerId` and `queueArgs` (null: no reservation), built on first use. A
   * baked list's key (bakedFor) stands for its list: its script reads no names from ARGV, and
   * its request names that script (`script`).
   */
  private stepTemplate(workerId: string, queueArgs: readonly string[] | null, script: StepScript = this.step, lean = false): StepTemplate {
    const templates = lean ? this.leanTemplates : this.stepTemplates;
    let forId = templates.get(workerId);
    const have = forId?.get(queueArgs);
    if (have) return have;
    const k = this.keys;
    // 9 keys; KEYS[9] (the requeue queue) is unused by these steps: `queues` stands in. Lean:
    // the four keys a step that finishes nothing or a success reads (see FINISH_AND_RESERVE).
    const keys = lean
      ? [k.worker(workerId), k.stat('processed'), k.stat('processed', workerId), k.pauseAll]
      : [
          k.worker(workerId),
          k.stat('processed'),
          k.stat('processed', workerId),
          k.stat('failed'),
          k.stat('failed', workerId),
          k.failed,
          k.pauseAll,
          k.queues,
          k.queues,
        ];
    const arr: Array<string | number> = [keys.length, ...keys, '0', '0', '', queueArgs ? '1' : '0', '', k.queuePrefix, ...(queueArgs ?? ['0'])];
    // Many slots in one process each have an id; ids that come and go must not pile up.
    if (templates.size >= 4096) templates.clear();
    if (!forId) templates.set(workerId, (forId = new Map()));
    // A few variants per id: with and without a reservation, and without known-empty queues.
    if (forId.size >= 64) forId.clear();
    // The request's bytes around ARGV[1..5] (mode, counter, record, reserve flag, run_at).
    const at = keys.length + 1;
    const t = { args: arr, parts: script.parts(arr, at, at + 5), flag: queueArgs ? '$1\r\n1\r\n' : '$1\r\n0\r\n' };
    forId.set(queueArgs, t);
    return t;
  }

  /**
   * The baked script (finishAndReserveBaked) for a plain list of two queues or more, defined on
   * the connection at first use; null for any other list, when this server has no LMPOP (or
   * StoreOptions.multiPop is false), or past 64 lists on one connection.
   */
  private bakedFor(queueArgs: readonly string[]): Baked | null {
    if (this.lmpop === false || queueArgs[0] !== '0' || queueArgs.length < 3) return null;
    let b = this.baked.get(queueArgs);
    if (b === undefined) {
      b = null;
      const names = queueArgs.slice(1);
      if (names.length <= BAKED_QUEUES_MAX && this.bakedCount < 64) {
        const lua = finishAndReserveBaked(this.keys.queuePrefix, names);
        // Named by its text: stores sharing a caller's connection never redefine each other's.
        const name = `pyresFinishAndReserveBaked${createHash('sha1').update(lua).digest('hex')}`;
        this.bakedCount += 1;
        this.redis.defineCommand(name, { lua });
        b = { name, step: new StepScript(lua), key: ['b'] };
      }
      this.baked.set(queueArgs, b);
    }
    return b;
  }

  /**
   * True unless this server is known to lack LMPOP: a plain list of queues is then reserved
   * from in one command, so there is nothing to gain from knowing which of them are empty (the
   * worker need not keep queue notifications on under load for that).
   */
  get popsQueueListAtOnce(): boolean {
    return this.lmpop !== false;
  }

  finishAndReserve(workerId: string, finish: FinishSpec, reserve: ReserveSpec | null): Promise<ReserveResult>;
  finishAndReserve(workerId: string, finish: FinishSpec, reserve: ReserveSpec | null, wait: WaitSpec): Promise<ReserveResult & { wait: WaitResult }>;
  /**
   * One finish-and-reserve step (one Lua script). With `wait`, `WAIT replicas timeoutMs` goes
   * in the same pipeline (one round trip), right behind the script, so the result says how many
   * replicas have both the outcome just recorded and the new reservation.
   * Without `wait`, the step is its command's promise and one `then` (no async frames per step).
   */
  finishAndReserve(workerId: string, finish: FinishSpec, reserve: ReserveSpec | null, wait?: WaitSpec): Promise<ReserveResult & { wait?: WaitResult }> {
    try {
      const failing = finish.mode === 'failure' || finish.mode === 'dirty';
      // This connection's own push is not notified to it (NOLOOP): forget what was known empty.
      if (finish.mode === 'requeue') this.forgetEmpty();
      const baked = reserve ? this.bakedFor(reserve.queueArgs) : null;
      // A baked step names no queue in its arguments: its key stands for the whole list.
      const queueArgs = baked ? baked.key : reserve ? this.withoutKnownEmpty(reserve.queueArgs) : null;
      const sent: StepSent = { baked, queueArgs, lmpop: this.lmpop, seq: this.wakeSeq, armed: this.notificationsArmed, epoch: this.forgetEpoch };
      const common = finish.mode !== 'requeue' && !(failing && failureListFor(this.failureBackend, finish.failureQueue ?? '') !== 'failed');
      const script = baked ? baked.step : this.step;
      if (wait) return this.waitedStep(workerId, finish, reserve, wait, sent, common, failing, script);
      let bytes: Buffer;
      if (common) {
        // The template's bytes with the five per-step arguments written in: a new buffer per
        // step (ioredis keeps the command to resend it after a reconnect).
        // Nothing to finish or a success, from a plain (or baked) list: the four-key layout.
        const lean = (finish.mode === 'none' || finish.mode === 'success') && (queueArgs === null || queueArgs[0] === '0' || baked !== null);
        const t = this.stepTemplate(workerId, queueArgs, script, lean);
        const record = finish.failureRecord ?? '';
        const counter = String(finish.expectedProcessed);
        const runAt = reserve ? reserve.runAt : '';
        bytes = script.withMiddle(
          t.parts,
          `$1\r\n${FINISH_CODES[finish.mode]}\r\n$${counter.length}\r\n${counter}\r\n${record === '' ? '$0\r\n\r\n' : bulk(record)}${t.flag}${bulk(runAt)}`,
        );
      } else {
        bytes = script.request(this.uncommonArgs(workerId, queueArgs, finish, reserve, failing));
      }
      // As bytes: an item need not be valid UTF-8, and ioredis would replace what is not.
      // After a NOSCRIPT (the script cache flushed), once more: it then goes as EVAL, as ioredis's Script does.
      return this.sendStep(bytes, script).then(
        reply => this.stepResult(reply, sent, null),
        (e: unknown) => {
          if (!isNoScript(e)) throw e;
          return this.sendStep(bytes, script).then(reply => this.stepResult(reply, sent, null));
        },
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Sends one step's request as one command (EVALSHA, or EVAL on a socket that has not seen the script). */
  private sendStep(bytes: Buffer, script: StepScript): Promise<StepReply> {
    return this.redis.sendCommand(script.command(bytes, this.stepDeadlines)) as Promise<StepReply>;
  }

  /** finishAndReserve with `wait`: the script and WAIT in one pipeline. */
  private async waitedStep(
    workerId: string,
    finish: FinishSpec,
    reserve: ReserveSpec | null,
    wait: WaitSpec,
    sent: StepSent,
    common: boolean,
    failing: boolean,
    script: StepScript,
  ): Promise<ReserveResult & { wait?: WaitResult }> {
    const { baked, queueArgs } = sent;
    const command = baked ? `${baked.name}Buffer` : 'pyresFinishAndReserveBuffer';
    const args = common ? this.commonArgs(workerId, queueArgs, finish, reserve, script) : this.uncommonArgs(workerId, queueArgs, finish, reserve, failing);
    const p = this.redis.pipeline() as ReturnType<Redis['pipeline']> & Record<string, (args: Array<string | number>) => unknown>;
    p[command]!(args);
    p.call('WAIT', String(wait.replicas), String(wait.timeoutMs));
    const res = (await p.exec()) ?? [];
    // Read at once: no 'ready' of a later connection can run between the reply and here.
    const epoch = this.epoch;
    const [scriptErr, scriptReply] = res[0] ?? [new Error('no reply to the reserve script')];
    if (scriptErr) throw scriptErr;
    const [waitErr, acked] = res[1] ?? [null, 0];
    if (waitErr && isAuthError(waitErr)) {
      throw new AuthError(`--wait-replicas: the Redis user at ${this.where} may not run WAIT (${waitErr.message}); allow +wait +role (README, "Redis ACL")`);
    }
    return this.stepResult(scriptReply as StepReply, sent, { acked: waitErr ? 0 : Number(acked), epoch });
  }

  /** A step's reply as its result; `sent`: what was known when it was sent. */
  private stepResult(reply: StepReply, sent: StepSent, wait: WaitResult | null): ReserveResult & { wait?: WaitResult } {
    const { baked, queueArgs } = sent;
    const [statusB, count, queueB, valueB, noteB, flagB] = reply;
    // This server has no LMPOP (or refuses it): the next steps use the known-empty skipping.
    if (baked && flagB !== undefined && this.lmpop === sent.lmpop) this.lmpop = false;
    const status = statusB.toString();
    const processed = Number(count);
    const note = noteB === undefined || noteB.length === 0 ? '' : noteB.toString();
    // Only what applies is set (no `lost: undefined`): callers and tests compare whole results.
    const extra = (r: ReserveResult & { wait?: WaitResult }): ReserveResult & { wait?: WaitResult } => {
      if (note === 'lost') r.lost = true;
      else if (note === 'unrecorded') r.unrecorded = true;
      if (wait) r.wait = wait;
      return r;
    };
    if (status === 'job') {
      const queue = queueB ? queueB.toString() : '';
      // Only from a step during which no notification came in and tracking stayed on: every
      // queue tried before the one that had a job was empty, and no write to it has been missed.
      if (
        !baked &&
        queueArgs !== null &&
        queueArgs[0] === '0' &&
        queueArgs.length > 2 &&
        sent.armed &&
        this.notificationsArmed &&
        this.forgetEpoch === sent.epoch
      )
        this.noteEmptyBefore(queueArgs, queue, sent.seq);
      const ascii = valueB ? isAscii(valueB) : true;
      const r: ReserveResult = { status, queue, raw: valueB ? itemText(valueB, ascii) : '', processed };
      const bytes = valueB ? itemBytes(valueB, ascii) : null;
      if (bytes) r.bytes = bytes;
      return note === '' && !wait ? r : extra(r);
    }
    if (status === 'held') {
      const ascii = valueB ? isAscii(valueB) : true;
      const r: ReserveResult = { status, record: valueB ? itemText(valueB, ascii) : '', processed };
      const bytes = valueB ? itemBytes(valueB, ascii) : null;
      if (bytes) r.recordBytes = bytes;
      return extra(r);
    }
    if (status === 'paused' || status === 'empty' || status === 'done') return extra({ status, processed });
    throw new Error(`unexpected reply from the reserve script: ${String(status)}`);
  }

  /** The common step's arguments (the template with its five slots written), for the pipeline of --wait-replicas. */
  private commonArgs(
    workerId: string,
    queueArgs: readonly string[] | null,
    finish: FinishSpec,
    reserve: ReserveSpec | null,
    script: StepScript,
  ): Array<string | number> {
    const t = this.stepTemplate(workerId, queueArgs, script).args;
    // A copy: ioredis keeps the array it was given to resend the step after a NOSCRIPT.
    const args = t.slice();
    args[10] = FINISH_CODES[finish.mode];
    args[11] = String(finish.expectedProcessed);
    args[12] = finish.failureRecord ?? '';
    args[14] = reserve ? reserve.runAt : '';
    return args;
  }

  /** A step whose keys differ from the template's: a requeue, or a failure into a `<queue>_failed` list. */
  private uncommonArgs(
    workerId: string,
    queueArgs: readonly string[] | null,
    finish: FinishSpec,
    reserve: ReserveSpec | null,
    failing: boolean,
  ): Array<string | number> {
    const t = this.stepTemplate(workerId, null).args;
    const keys = t.slice(1, 9) as string[];
    keys.push(finish.requeue ? this.keys.queue(finish.requeue.queue) : this.keys.queues);
    if (failing) this.failureKeys(keys, 5, finish.failureQueue ?? '');
    return [
      keys.length,
      ...keys,
      FINISH_CODES[finish.mode],
      String(finish.expectedProcessed),
      finish.mode === 'requeue' ? (finish.requeue?.raw ?? '') : (finish.failureRecord ?? ''),
      reserve ? '1' : '0',
      reserve?.runAt ?? '',
      this.keys.queuePrefix,
      ...(queueArgs ?? ['0']),
    ];
  }

  /**
   * Reserves up to `workerIds.length` jobs in one round trip (the reserve-many script), one per
   * idle job slot, each recorded in its `worker:<id>` before the reply (see RESERVE_MANY).
   * Returns 'paused', or what each served slot got, by its index in `workerIds` ('held': its
   * worker:<id> already held a record, given back). Slots not listed got nothing.
   */
  async reserveMany(workerIds: readonly string[], reserve: ReserveSpec): Promise<'paused' | ManyReserved[]> {
    const k = this.keys;
    const keys = [k.pauseAll, k.queues, ...workerIds.map(id => k.worker(id))];
    const reply = await this.redis.pyresReserveManyBuffer(keys.length, ...keys, reserve.runAt, k.queuePrefix, ...reserve.queueArgs);
    if (String(reply[0]) === 'paused') return 'paused';
    const out: ManyReserved[] = [];
    for (let i = 1; i + 3 < reply.length; i += 4) {
      const kind = String(reply[i]);
      const index = Number(reply[i + 1]) - 1;
      const queue = String(reply[i + 2]);
      const v = reply[i + 3] as Buffer;
      const ascii = isAscii(v);
      const value = itemText(v, ascii);
      const bytes = itemBytes(v, ascii);
      if (kind === 'job') out.push({ index, result: { status: 'job', queue, raw: value, ...(bytes ? { bytes } : {}), processed: 0 } });
      else out.push({ index, result: { status: 'held', record: value, ...(bytes ? { recordBytes: bytes } : {}), processed: 0 } });
    }
    return out;
  }

  /** Counts the main connection's 'ready' events: a different number means a different connection (maybe another server). */
  get connectionEpoch(): number {
    return this.epoch;
  }

  /** `WAIT replicas timeoutMs`: how many replicas have every write of this connection so far. */
  async waitReplicas(replicas: number, timeoutMs: number): Promise<number> {
    return Number(await this.redis.call('WAIT', String(replicas), String(timeoutMs)));
  }

  /**
   * After a WAIT that fell short: is this connection still on the master? 'moved' when ROLE
   * says it is not, or (with Sentinel) when the sentinels name another address: the
   * connection is then dropped and ioredis reconnects to the master the sentinels name.
   * 'here' otherwise (also when the sentinels cannot be asked).
   */
  async masterCheck(): Promise<MasterCheck> {
    let role: unknown;
    try {
      role = await this.redis.call('ROLE');
    } catch (e) {
      // An ACL without ROLE: go by the sentinels alone.
      if (!isAuthError(coerceError(e))) throw e;
      role = ['master'];
    }
    if (!Array.isArray(role) || String(role[0]) !== 'master') return this.reconnectNow();
    const o = this.redis.options;
    if (!o.sentinels || !o.name) return 'here';
    const stream = (this.redis as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
    const host = stream?.remoteAddress?.replace(/^::ffff:/, '');
    const port = stream?.remotePort;
    for (const s of o.sentinels) {
      const addr = await sentinelMasterAddress(s.host ?? '127.0.0.1', s.port ?? 26379, o.name, o.enableTLSForSentinelMode ? (o.tls ?? {}) : undefined);
      if (!addr) continue;
      if (addr.port === port && (addr.host === host || (host === '127.0.0.1' && addr.host === 'localhost'))) return 'here';
      return this.reconnectNow();
    }
    return 'here';
  }

  private reconnectNow(): 'moved' {
    if (this.redis.status === 'ready') this.redis.disconnect(true);
    return 'moved';
  }

  /**
   * Under redis_multi_queue, points the failure-list key at `keys[at]` to `<queue>_failed` and
   * appends `failed_queues` (the scripts then SADD the list's name before the RPUSH).
   */
  private failureKeys(keys: string[], at: number, queue: string): void {
    const list = failureListFor(this.failureBackend, queue);
    if (list === 'failed') return;
    keys[at] = this.keys.failureList(list);
    keys.push(this.keys.failedQueues);
  }

  /** The Lua-built working-on record, for the test that keeps Lua and TS in step. */
  async probeWorkingOn(queue: string, runAt: string, raw: string): Promise<string> {
    return this.redis.pyresWorkingOnProbe(0, queue, runAt, raw);
  }

  // ---- registration ---------------------------------------------------------------------

  /**
   * Resque's register_worker (SADD workers, SET `worker:<id>:started`), plus pyres-ts's
   * PID-namespace record when `pidNamespace` is known (see ResqueKeys.pidNamespaces).
   */
  async register(workerId: string, started: string, pidNamespace?: string | null): Promise<void> {
    const p = this.redis.pipeline().sadd(this.keys.workers, workerId).set(this.keys.workerStarted(workerId), started);
    if (pidNamespace) p.hset(this.keys.pidNamespaces, workerId, pidNamespace);
    await this.exec(p);
  }

  /** Re-registration after an outage or a wrongful prune: keeps an existing `started`. */
  async ensureRegistered(workerId: string, started: string, pidNamespace?: string | null): Promise<void> {
    const p = this.redis.pipeline().sadd(this.keys.workers, workerId).set(this.keys.workerStarted(workerId), started, 'NX');
    if (pidNamespace) p.hset(this.keys.pidNamespaces, workerId, pidNamespace);
    await this.exec(p);
  }

  /** Is `workerId` a member of `workers`? */
  async isRegistered(workerId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.workers, workerId)) === 1;
  }

  /** The PID-namespace records of these workers (null where a worker has none). */
  async pidNamespacesOf(ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return [];
    return this.redis.hmget(this.keys.pidNamespaces, ...ids);
  }

  /** Sets `worker:<id>` only when it does not exist (restores a working-on record a prune removed). */
  async restoreWorkingOn(workerId: string, value: string): Promise<boolean> {
    return (await this.redis.set(this.keys.worker(workerId), value, 'NX')) === 'OK';
  }

  async heartbeat(workerId: string): Promise<void> {
    const now = await this.serverTime();
    await this.redis.hset(this.keys.heartbeats, workerId, formatHeartbeat(Math.floor(now)));
  }

  /**
   * A heartbeat (as heartbeat()) and, in the same round trip, whether `workerId` is still a
   * member of `workers` (a prune elsewhere may have removed it).
   */
  async heartbeatAndCheck(workerId: string): Promise<boolean> {
    const now = await this.serverTime();
    const [, member] = await this.exec(
      this.redis
        .pipeline()
        .hset(this.keys.heartbeats, workerId, formatHeartbeat(Math.floor(now)))
        .sismember(this.keys.workers, workerId),
    );
    return Number(member) === 1;
  }

  async removeHeartbeat(workerId: string): Promise<void> {
    await this.redis.hdel(this.keys.heartbeats, workerId);
  }

  /**
   * Resque's unregister. When `dirty` is given and worker:<id> still holds `dirty.expected`,
   * the failure record is written first, in the same atomic step. With `dirty.requireHeld`,
   * nothing at all happens (and false is returned) unless `worker:<id>` still holds it.
   */
  async unregister(
    workerId: string,
    dirty?: {
      expected: string | Buffer;
      record: string | Buffer;
      policy?: DirtyExitPolicy;
      queue?: string;
      raw?: string | Buffer;
      requireHeld?: boolean;
    },
  ): Promise<boolean> {
    const k = this.keys;
    const keys = [
      k.workers,
      k.worker(workerId),
      k.workerStarted(workerId),
      k.heartbeats,
      k.stat('processed', workerId),
      k.stat('failed', workerId),
      k.failed,
      k.queue(dirty?.queue ?? ''),
      k.pidNamespaces,
    ];
    if (dirty && !(dirty.policy === 'requeue' && dirty.queue)) this.failureKeys(keys, 6, dirty.queue ?? '');
    else if (dirty) this.forgetEmpty();
    const wrote = await this.redis.pyresUnregister(
      keys.length,
      ...keys,
      workerId,
      dirty?.expected ?? '',
      dirty?.record ?? '',
      dirty?.policy === 'requeue' && dirty.queue ? 'requeue' : 'fail',
      dirty?.raw ?? '',
      dirty?.requireHeld ? '1' : '0',
    );
    return Number(wrote) === 1;
  }

  /** Replaces `worker:<id>` (only while it exists). */
  async replaceWorkingOn(workerId: string, value: string): Promise<void> {
    await this.redis.set(this.keys.worker(workerId), value, 'XX');
  }

  /** `worker:<id>` as bytes (a payload need not be valid UTF-8). */
  async getWorkingOnBuffer(workerId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.worker(workerId));
  }

  async getWorkingOn(workerId: string): Promise<string | null> {
    return this.redis.get(this.keys.worker(workerId));
  }

  async listWorkers(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.workers)).sort();
  }

  async allHeartbeats(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.heartbeats);
  }

  async acquirePruneLock(workerId: string): Promise<boolean> {
    return (await this.redis.set(this.keys.pruneLock, workerId, 'EX', 60, 'NX')) === 'OK';
  }

  // ---- producer and inspection ----------------------------------------------------------

  /** `Resque.push`: SADD queues, then RPUSH, in one pipeline (Ruby's exact commands). */
  async enqueue(queue: string, payload: string): Promise<void> {
    // Not notified to this connection (NOLOOP): a queue it knew empty may not be any more.
    this.forgetEmpty();
    await this.exec(this.redis.pipeline().sadd(this.keys.queues, queue).rpush(this.keys.queue(queue), payload));
  }

  async queueNames(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.queues)).sort();
  }

  async queueSizes(): Promise<Array<{ queue: string; size: number }>> {
    const names = await this.queueNames();
    if (names.length === 0) return [];
    const p = this.redis.pipeline();
    for (const q of names) p.llen(this.keys.queue(q));
    const res = await this.exec(p);
    return names.map((queue, i) => ({ queue, size: Number(res[i]) }));
  }

  async queueSize(queue: string): Promise<number> {
    return this.redis.llen(this.keys.queue(queue));
  }

  async peek(queue: string, start = 0, count = 1): Promise<string[]> {
    return this.redis.lrange(this.keys.queue(queue), start, start + count - 1);
  }

  async failedCount(): Promise<number> {
    return this.redis.llen(this.keys.failed);
  }

  /**
   * Every failure list and its length, whichever backend wrote it: `failed` first, then the
   * `<queue>_failed` lists named in `failed_queues` (RedisMultiQueue), sorted.
   */
  async failureLists(): Promise<Array<{ list: string; size: number }>> {
    const names = ['failed', ...(await this.redis.smembers(this.keys.failedQueues)).filter(n => n !== 'failed').sort()];
    const p = this.redis.pipeline();
    for (const n of names) p.llen(this.keys.failureList(n));
    const res = await this.exec(p);
    return names.map((list, i) => ({ list, size: Number(res[i]) }));
  }

  async failedRange(start: number, count: number): Promise<string[]> {
    return this.redis.lrange(this.keys.failed, start, start + count - 1);
  }

  async stat(name: 'processed' | 'failed', workerId?: string): Promise<number> {
    return Number((await this.redis.get(this.keys.stat(name, workerId))) ?? 0);
  }

  /** For each worker id: its working-on value (or null), started, heartbeat and stats. */
  async workerDetails(ids: readonly string[]): Promise<WorkerDetails[]> {
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    queueWorkerReads(p, this.keys, ids);
    return workerDetailsFrom(ids, await this.exec(p));
  }

  async isPausedGlobally(): Promise<boolean> {
    const v = await this.redis.get(this.keys.pauseAll);
    return v !== null && v.trim().toLowerCase() === 'true';
  }

  // ---- masters (pyres-ts) and Khans (pyres) -----------------------------------------------

  async advertiseMaster(id: string, info: string, ttlSeconds: number): Promise<void> {
    await this.exec(this.redis.pipeline().sadd(this.keys.masters, id).set(this.keys.master(id), info, 'EX', ttlSeconds));
  }

  async withdrawMaster(id: string): Promise<void> {
    await this.exec(this.redis.pipeline().srem(this.keys.masters, id).del(this.keys.master(id)).del(this.keys.masterCommands(id)).del(this.keys.masterLog(id)));
  }

  /**
   * Appends a master's new log lines to its log list (`replace`: the list becomes these lines),
   * keeps the last `keep`, and sets its expiry. One round trip.
   */
  async appendMasterLog(id: string, lines: readonly string[], keep: number, ttlSeconds: number, replace = false): Promise<void> {
    const key = this.keys.masterLog(id);
    const p = this.redis.pipeline();
    if (replace) p.del(key);
    if (lines.length > 0) p.rpush(key, ...lines).ltrim(key, -keep, -1);
    p.expire(key, ttlSeconds);
    await this.exec(p);
  }

  /** A master's last `n` log lines, oldest first (none when it publishes none). */
  async masterLog(id: string, n: number): Promise<string[]> {
    if (n <= 0) return [];
    return this.redis.lrange(this.keys.masterLog(id), -n, -1);
  }

  /** Every advertised master's info; entries whose info expired (a dead master) are dropped. */
  async listMasters(): Promise<Array<{ id: string; info: string }>> {
    const ids = (await this.redis.smembers(this.keys.masters)).sort();
    if (ids.length === 0) return [];
    const infos = await this.redis.mget(...ids.map(id => this.keys.master(id)));
    const stale = ids.filter((_, i) => infos[i] === null);
    if (stale.length) await this.redis.srem(this.keys.masters, ...stale);
    return ids.flatMap((id, i) => (infos[i] === null ? [] : [{ id, info: infos[i] as string }]));
  }

  async pushMasterCommand(id: string, command: string): Promise<void> {
    await this.redis.rpush(this.keys.masterCommands(id), command);
  }

  async popMasterCommands(id: string): Promise<string[]> {
    return this.popAll(this.keys.masterCommands(id));
  }

  /** Pyres' Khan registry: the id carries the pool size, so a resize renames it. */
  async renameKhan(oldId: string | null, newId: string | null): Promise<void> {
    const p = this.redis.pipeline();
    if (oldId) p.srem(this.keys.khans, oldId);
    if (newId) p.sadd(this.keys.khans, newId);
    await this.exec(p);
  }

  /** Removes this host's Khan entries whose process is gone (a master that was SIGKILLed). */
  async pruneKhans(host: string, alive: (pid: number) => boolean): Promise<void> {
    const dead = (await this.redis.smembers(this.keys.khans)).filter(id => {
      const [h, pid] = id.split(':');
      return h === host && !alive(Number(pid));
    });
    if (dead.length) await this.redis.srem(this.keys.khans, ...dead);
  }

  async popKhanCommands(khanId: string): Promise<string[]> {
    return this.popAll(this.keys.khan(khanId));
  }

  /** Total length of the given queues. */
  async queueDepth(queues: readonly string[]): Promise<number> {
    if (queues.length === 0) return 0;
    const p = this.redis.pipeline();
    for (const q of queues) p.llen(this.keys.queue(q));
    return (await this.exec(p)).reduce<number>((a, n) => a + Number(n), 0);
  }

  /** Takes up to 100 items off a list in one atomic step (LRANGE + LTRIM in MULTI): none is lost to a timeout. */
  private async popAll(key: string): Promise<string[]> {
    const res = await this.redis.multi().lrange(key, 0, 99).ltrim(key, 100, -1).exec();
    if (!res) return [];
    const [err, items] = res[0] ?? [null, []];
    if (err) throw err;
    return (items as string[]) ?? [];
  }

  // ---- waiting for work without popping (blocking mode) ----------------------------------

  /**
   * Turns on change notifications for queue keys (CLIENT TRACKING, broadcast mode, delivered
   * to a dedicated subscriber connection). Returns false when the server cannot do it
   * (Redis < 6, or an ACL forbids it); the caller then polls.
   */
  async armQueueNotifications(): Promise<boolean> {
    if (this.trackingUnsupported) return false;
    if (this.tracking && this.sub?.status === 'ready' && this.subId !== null) return true;
    try {
      if (!this.sub) {
        const sub = this.owned
          ? createRedis({ ...this.connection, connectionName: `${this.connection.connectionName}:wake` })
          : this.redis.duplicate({ lazyConnect: true, connectionName: `${this.redis.options.connectionName ?? 'pyres-ts'}:wake` });
        this.sub = sub;
        // Outages are reported by the main connection; a silent notification connection is
        // noticed here (a bounded PING at each wait, see waitForQueueChange) and rebuilt.
        sub.on('error', (e: Error) => {
          if (/Socket timeout/.test(e.message) && !this.closed)
            this.emit('notice', `the queue-notification connection to ${this.where} went silent (${e.message}); reconnecting it`);
        });
        sub.on('ready', () => {
          // A reconnected subscriber has a new client id: tracking must be re-armed.
          this.subId = null;
          this.tracking = false;
          this.forgetEmpty();
        });
        sub.on('message', (_channel: string, message: string) => this.wakeAll(message));
        sub.on('close', () => this.wakeAll('closed'));
      }
      if (this.sub.status === 'wait') await this.sub.connect();
      if (this.subId === null) {
        // The id must be read before SUBSCRIBE: a subscribed RESP2 connection takes no other command.
        if (this.sub.mode === 'subscriber') await this.sub.unsubscribe();
        this.subId = Number(await this.sub.client('ID'));
        await this.sub.subscribe('__redis__:invalidate');
      }
      // Sent together, one round trip. Between OFF and ON no write is notified: forget.
      this.forgetEmpty();
      await Promise.all([
        this.redis.call('CLIENT', 'TRACKING', 'OFF'),
        this.redis.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(this.subId), 'BCAST', 'PREFIX', this.keys.queuePrefix, 'NOLOOP'),
      ]);
      this.tracking = true;
      return true;
    } catch (e) {
      const msg = coerceError(e).message;
      if (/unknown (sub)?command|ERR.*TRACKING|NOPERM|syntax/i.test(msg)) {
        this.trackingUnsupported = true;
        this.emit('notice', `queue notifications unavailable (${msg}); polling instead`);
      }
      return false;
    }
  }

  /** True while change notifications are on and being delivered. */
  get notificationsArmed(): boolean {
    return this.tracking && this.sub?.status === 'ready' && this.subId !== null;
  }

  async disarmQueueNotifications(): Promise<void> {
    this.forgetEmpty();
    if (!this.tracking) return;
    this.tracking = false;
    try {
      await this.redis.call('CLIENT', 'TRACKING', 'OFF');
    } catch {
      /* a dropped connection has no tracking anyway */
    }
  }

  /**
   * Resolves 'woken' when a key that `relevant` accepts changes (or on any change when
   * relevant is null), 'timeout' after `ms`, 'aborted' when the signal fires.
   */
  waitForQueueChange(relevant: ((key: string) => boolean) | null, ms: number, signal?: AbortSignal, since?: number): Promise<'woken' | 'timeout' | 'aborted'> {
    return new Promise(resolve => {
      if (signal?.aborted) return resolve('aborted');
      // A notification that arrived after `since` (e.g. before the reply of the empty pass) counts.
      if (since !== undefined && this.wakeSeq !== since) return resolve('woken');
      let done = false;
      const finish = (r: 'woken' | 'timeout' | 'aborted'): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.wakeListeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const listener = (keys: string): void => {
        if (keys === 'closed' || relevant === null || keys === '' || keys.split(',').some(relevant)) finish('woken');
      };
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), ms);
      this.wakeListeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.probeNotifications();
    });
  }

  /**
   * A PING on the notification connection, unawaited. It has no reply due otherwise, so a
   * blackholed one would never be noticed: with a ping in flight, ioredis's socketTimeout
   * (--redis-timeout) destroys a socket that stays silent, and the 'close' wakes the waiter,
   * which re-arms on a new connection.
   */
  private probeNotifications(): void {
    const sub = this.sub;
    if (!sub || sub.status !== 'ready' || this.subId === null) return;
    sub.ping().catch(() => undefined);
  }

  /** The notification counter; pass it to waitForQueueChange as `since`. */
  get notificationCount(): number {
    return this.wakeSeq;
  }

  private wakeAll(keys: string): void {
    this.wakeSeq += 1;
    if (keys === 'closed' || keys === '') {
      this.resetSeq = this.wakeSeq;
      this.forgetEmpty();
    } else if (this.notifiedAt.size) {
      for (const k of keys.split(',')) if (this.notifiedAt.has(k)) this.notifiedAt.set(k, this.wakeSeq);
      for (const q of this.knownEmpty) if (keys.includes(this.keys.queue(q))) this.knownEmpty.delete(q);
    }
    for (const l of [...this.wakeListeners]) l(keys);
  }

  private exec(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    return execOrThrow(p);
  }
}
