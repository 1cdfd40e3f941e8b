import type Redis from 'ioredis';
import { ConnectionError } from '../errors';
import { ResqueKeys } from '../protocol/keys';
import { DONE_TTL_SECONDS, type StatusKeys, encodeQueuedStatus, statusJobPayload, statusKeys } from '../protocol/status';
import { type ConnectionOptions, type RedisClient, createRedis } from './connection';
import { execOrThrow } from './pipeline';
import { STATUS_MERGE } from './statusScripts';

/**
 * The Redis verbs of job statuses, on resque-status 0.5's keys (PROTOCOL-plugins.md §2): `status:<uuid>`,
 * `_statuses`, `_kill`, plus pyres-ts's completion list `pyres-ts:done:<uuid>` that waiters BLPOP.
 * Updates go through one Lua merge (statusScripts.ts); reads and create are plain commands, so a
 * producer needs no script permission to enqueue or read.
 */

interface ScriptedRedis extends Redis {
  pyresStatusMerge(numKeys: number, ...args: string[]): Promise<[string, string]>;
}

/** Where a StatusStore talks: its own connection, or a caller's (not closed by close()). */
export interface StatusStoreOptions {
  connection?: ConnectionOptions;
  client?: RedisClient;
  /** @defaultValue 'resque' */
  namespace?: string;
  /** CLIENT SETNAME of an own connection. @defaultValue 'pyres-ts:status' */
  name?: string;
}

/** `create`'s options. */
export interface CreateStatusOptions {
  /** `expire_in`: EXPIRE the status after every write, and trim `_statuses` of older ones. */
  expireIn?: number;
  /** pyres-ts fields added after `options` (e.g. `keep_result`). */
  extra?: Readonly<Record<string, unknown>>;
  /** The create time (epoch seconds). @defaultValue now */
  time?: number;
}

/** One merge update. */
export interface StatusUpdate {
  /** `[key, JSON text]` pairs (protocol/status.ts updateFields). */
  fields: ReadonlyArray<readonly [string, string]>;
  /** 0/undefined: keep the key's TTL. */
  expireIn?: number;
  /** 'check': SISMEMBER _kill first and write killed instead when there (`at`/`tick`); 'now': write killed. */
  kill?: 'check' | 'now';
  /** The killed message's JSON text (used when killed). */
  killedMessageJson?: string;
  /** Pairs like `fields`, merged only when the status holds `"keep_result":true` (an enqueue asked for the result). */
  ifKeepResult?: ReadonlyArray<readonly [string, string]>;
  /** The notice to push on the done list (a final update). */
  notice?: string;
  /** The notice pushed when the update turns out killed. */
  killedNotice?: string;
  /** Epoch seconds, for a status that has no `time` yet. */
  now: number;
}

/**
 * Closes a waiter connection now, socket destroyed (a dropped waiter may sit in a BLPOP on a
 * silent Redis: nothing to flush). ioredis (5.11) `disconnect()` only half-closes and keeps a 2 s
 * timer until the socket closes, and its `socketTimeout` timer, armed when the BLPOP was written,
 * is cleared only when data arrives: either would keep the process alive after an aborted or
 * timed-out wait (for up to `--redis-timeout`).
 */
function dropConnection(w: Redis): void {
  // Once: a second disconnect() after the close would arm ioredis's 2 s timer again, with no close to clear it.
  if (dropped.has(w)) return;
  dropped.add(w);
  const internals = w as unknown as { stream?: { destroy(): void }; socketTimeoutTimer?: NodeJS.Timeout };
  const stream = internals.stream;
  w.disconnect();
  stream?.destroy();
  if (internals.socketTimeoutTimer !== undefined) clearTimeout(internals.socketTimeoutTimer);
}

const dropped = new WeakSet<Redis>();

/** Idle waiter connections a store keeps for its next waits. */
const IDLE_WAITERS = 4;

/** The status keys' verbs (see the module comment). */
export class StatusStore {
  readonly keys: ResqueKeys;
  readonly sk: StatusKeys;
  private readonly redis: ScriptedRedis;
  private readonly owned: boolean;
  /** Waiter connections not in a BLPOP now (one per concurrent wait; a few kept for the next). */
  private idleWaiters: Redis[] = [];
  private readonly busyWaiters = new Set<Redis>();
  private closed = false;

  constructor(o: StatusStoreOptions = {}) {
    this.keys = new ResqueKeys(o.namespace ?? 'resque');
    this.sk = statusKeys(this.keys);
    this.owned = o.client === undefined;
    this.redis = (o.client ??
      createRedis({ ...(o.connection ?? {}), connectionName: o.name ?? o.connection?.connectionName ?? 'pyres-ts:status' })) as ScriptedRedis;
    if (this.owned) this.redis.on('error', () => undefined);
    if (typeof (this.redis as Partial<ScriptedRedis>).pyresStatusMerge !== 'function') this.redis.defineCommand('pyresStatusMerge', { lua: STATUS_MERGE });
  }

  /** Connects an own connection (a shared one is the caller's). */
  async connect(): Promise<void> {
    if (this.owned && this.redis.status === 'wait') await this.redis.connect();
  }

  /** Quits an own connection and the waiter connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropWaiter(true);
    if (!this.owned) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /**
   * resque-status `create` (t1, t2): `SET status:<u>` queued [+ `EXPIRE`], `ZADD _statuses <now> <u>`
   * [+ `ZREMRANGEBYSCORE _statuses 0 <now-N>`], then Resque's `SADD queues` + `RPUSH queue:<q>`
   * `{"class":K,"args":[u, options]}`; in one MULTI. Returns the payload pushed.
   */
  async create(queue: string, className: string, uuid: string, options: Readonly<Record<string, unknown>>, o: CreateStatusOptions = {}): Promise<string> {
    const time = o.time ?? Math.floor(Date.now() / 1000);
    const payload = statusJobPayload(className, uuid, options);
    const m = this.redis.multi().set(this.sk.status(uuid), encodeQueuedStatus(time, uuid, options, o.extra));
    if (o.expireIn) m.expire(this.sk.status(uuid), o.expireIn);
    m.zadd(this.sk.statuses, time, uuid);
    if (o.expireIn) m.zremrangebyscore(this.sk.statuses, 0, time - o.expireIn);
    m.sadd(this.keys.queues, queue).rpush(this.keys.queue(queue), payload);
    await execOrThrow(m);
    return payload;
  }

  /** Writes a status for a job that arrived without one (a Ruby scheduler without the class): SET [+EXPIRE] + ZADD. */
  async createStatusOnly(uuid: string, options: Readonly<Record<string, unknown>>, o: CreateStatusOptions = {}): Promise<void> {
    const time = o.time ?? Math.floor(Date.now() / 1000);
    const m = this.redis.multi().set(this.sk.status(uuid), encodeQueuedStatus(time, uuid, options, o.extra));
    if (o.expireIn) m.expire(this.sk.status(uuid), o.expireIn);
    m.zadd(this.sk.statuses, time, uuid);
    await execOrThrow(m);
  }

  /** The atomic merge (STATUS_MERGE). Returns whether it was written as killed, and the text written. */
  async update(uuid: string, u: StatusUpdate): Promise<{ killed: boolean; text: string }> {
    const args: string[] = [
      uuid,
      String(u.now),
      String(u.expireIn ?? 0),
      u.kill === 'now' ? '2' : u.kill === 'check' ? '1' : '0',
      u.killedMessageJson ?? '"Killed"',
      u.notice ?? '',
      u.killedNotice ?? '',
      String(u.expireIn && u.expireIn > 0 ? u.expireIn : DONE_TTL_SECONDS),
      String(u.fields.length),
    ];
    for (const [k, v] of u.fields) args.push(JSON.stringify(k), v);
    if (u.ifKeepResult?.length) {
      args.push(String(u.ifKeepResult.length));
      for (const [k, v] of u.ifKeepResult) args.push(JSON.stringify(k), v);
    }
    const [state, text] = await this.redis.pyresStatusMerge(3, this.sk.status(uuid), this.sk.kill, this.sk.done(uuid), ...args);
    return { killed: state === 'killed', text };
  }

  /** `GET status:<uuid>`. */
  get(uuid: string): Promise<string | null> {
    return this.redis.get(this.sk.status(uuid));
  }

  /** `MGET status:<id>…` (null for a missing one). */
  async mget(uuids: readonly string[]): Promise<Array<string | null>> {
    if (uuids.length === 0) return [];
    return this.redis.mget(...uuids.map(u => this.sk.status(u)));
  }

  /** `EXISTS <ns>:<name>` (a resque-retry counter: a retried status job's retry is pending while it exists). */
  async exists(name: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.key(name))) === 1;
  }

  /** `SISMEMBER _kill <uuid>`. */
  async isKillRequested(uuid: string): Promise<boolean> {
    return (await this.redis.sismember(this.sk.kill, uuid)) === 1;
  }

  /** `Hash.kill(uuid)`: `SADD _kill <uuid>`. True when newly added. */
  async kill(uuid: string): Promise<boolean> {
    return (await this.redis.sadd(this.sk.kill, uuid)) === 1;
  }

  /** `Hash.kill_ids`: `SMEMBERS _kill`. */
  killIds(): Promise<string[]> {
    return this.redis.smembers(this.sk.kill);
  }

  /** `ZREVRANGE _statuses start stop` (newest first) and `ZCARD`. */
  async ids(start = 0, stop = -1): Promise<{ ids: string[]; total: number }> {
    const [ids, total] = await execOrThrow(this.redis.pipeline().zrevrange(this.sk.statuses, start, stop).zcard(this.sk.statuses));
    return { ids: ids as string[], total: Number(total) };
  }

  /** `remove(uuid)` for each: `DEL status:<id>`, `ZREM _statuses <id>` (and pyres-ts's done list). Returns how many. */
  async remove(uuids: readonly string[]): Promise<number> {
    if (uuids.length === 0) return 0;
    const m = this.redis.multi();
    for (const u of uuids) m.del(this.sk.status(u)).zrem(this.sk.statuses, u).del(this.sk.done(u));
    await execOrThrow(m);
    return uuids.length;
  }

  /** The newest done notice of a job without taking it (`LINDEX 0`), or null. */
  doneNotice(uuid: string): Promise<string | null> {
    return this.redis.lindex(this.sk.done(uuid), 0);
  }

  private takeWaiter(): Redis {
    if (this.closed) throw new ConnectionError('the status store is closed');
    let w = this.idleWaiters.pop();
    if (!w) {
      w = this.redis.duplicate({ connectionName: 'pyres-ts:status-wait', lazyConnect: false });
      w.on('error', () => undefined);
    }
    this.busyWaiters.add(w);
    return w;
  }

  private returnWaiter(w: Redis, ok: boolean): void {
    this.busyWaiters.delete(w);
    if (ok && !this.closed && w.status === 'ready' && this.idleWaiters.length < IDLE_WAITERS) this.idleWaiters.push(w);
    else dropConnection(w);
  }

  /**
   * Drops the idle waiter connections (the next wait opens a new one); with `all`, the busy ones
   * too (their BLPOPs reject). A BLPOP caught on a silent Redis is dropped through popDone's signal.
   */
  dropWaiter(all = false): void {
    const ws = [...this.idleWaiters, ...(all ? this.busyWaiters : [])];
    this.idleWaiters = [];
    if (all) this.busyWaiters.clear();
    for (const w of ws) dropConnection(w);
  }

  /**
   * Waits up to `seconds` for a done notice of one of `uuids`, on a waiter connection (never the
   * shared one: a blocked connection would stall every other command), and reads that job's status.
   * The notice stays in its list, so every waiter on one job sees it: for one uuid, `BRPOPLPUSH
   * done:<u> done:<u>` (a rotation of the one-element list: nothing to push back, TTL kept); for
   * several, `BLPOP done:<u>…` then `LPUSH` + `EXPIRE` back and the `GET` in one MULTI. Returns the
   * uuid, its notice and status text (null: no status), or null on timeout.
   */
  async popDone(uuids: readonly string[], seconds: number, signal?: AbortSignal): Promise<{ uuid: string; notice: string; text: string | null } | null> {
    // Each concurrent wait blocks on a connection of its own: waits sharing one would queue
    // behind each other's BLPOP (many waiting jobs in one worker's slots share one Client).
    const w = this.takeWaiter();
    const keys = uuids.map(u => this.sk.done(u));
    const drop = (): void => this.returnWaiter(w, false);
    signal?.addEventListener('abort', drop, { once: true });
    let r: [string, string] | null;
    try {
      if (keys.length === 1) {
        const notice = await w.brpoplpush(keys[0]!, keys[0]!, seconds);
        r = notice === null ? null : [keys[0]!, notice];
      } else {
        r = await w.blpop(...keys, seconds);
      }
    } catch (e) {
      signal?.removeEventListener('abort', drop);
      this.returnWaiter(w, false);
      throw e;
    }
    signal?.removeEventListener('abort', drop);
    this.returnWaiter(w, !signal?.aborted);
    if (!r) return null;
    const [key, notice] = r;
    const uuid = uuids[keys.indexOf(key)] ?? key.slice(this.sk.done('').length);
    if (keys.length === 1) return { uuid, notice, text: await this.redis.get(this.sk.status(uuid)) };
    const [, , text] = await execOrThrow(this.redis.multi().lpush(key, notice).expire(key, DONE_TTL_SECONDS).get(this.sk.status(uuid)));
    return { uuid, notice, text: text as string | null };
  }
}
