import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

/** Where Redis is. `url` wins over host/port/password; REDIS_URL is read by the CLI, not here. */
export interface ConnectionOptions {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://...` (TLS), or
   * `redis+sentinel://[user:pass@]host1:26379,host2:26379/<master name>[/db]`, or a Unix socket:
   * `redis+unix:///path/to/redis.sock`, `unix:///path/to/redis.sock` or `unix:/path/to/redis.sock`,
   * each with optional `?db=N&password=...` (and `[user:pass@]` before the path).
   */
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  /** TLS files for `rediss://`. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** A name shown by CLIENT LIST, e.g. `pyres-ts:worker`. */
  connectionName?: string;
  /**
   * Seconds (`--redis-timeout`) one command, a connect and a silent socket may take. A command
   * not answered in time rejects, and a socket that received nothing for this long while a
   * reply is due is dropped and reconnected (a blackholed connection: open but silent).
   * @defaultValue DEFAULT_REDIS_TIMEOUT (5)
   */
  timeout?: number;
}

/** Seconds: the default of `--redis-timeout`. */
export const DEFAULT_REDIS_TIMEOUT = 5;

/**
 * The bound's ioredis options. `socketTimeout`: a socket that owes a reply and received nothing
 * for `seconds` is destroyed; ioredis reconnects and resends what was unanswered (so a command
 * caught on a blackholed connection completes on the new one). `commandTimeout`, twice that: the
 * longest a caller waits (a full partition, or a new connection silent too) before its command
 * rejects; the caller decides whether to retry. `connectTimeout`, and TCP keepalive, so that the
 * kernel too probes an idle connection.
 */
export function timeoutOptions(seconds: number = DEFAULT_REDIS_TIMEOUT): RedisOptions {
  const ms = Math.max(1, Math.round(seconds * 1000));
  return { socketTimeout: ms, commandTimeout: 2 * ms, connectTimeout: ms, keepAlive: Math.max(1000, Math.min(ms, 10_000)) };
}

/** Builds ioredis options. Never sets a keyPrefix: the namespace belongs to ResqueKeys. */
export function redisOptions(c: ConnectionOptions = {}): { url?: string; options: RedisOptions } {
  const options: RedisOptions = {
    // Reconnect forever with a capped backoff: a Redis restart must never end a worker.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    lazyConnect: true,
    ...timeoutOptions(c.timeout),
  };
  if (c.connectionName) options.connectionName = c.connectionName;
  let url: string | undefined;
  if (c.url && /^rediss?\+sentinel:\/\//.test(c.url)) {
    Object.assign(options, sentinelOptions(c.url));
  } else if (c.url && UNIX_URL.test(c.url)) {
    Object.assign(options, unixSocketOptions(c.url));
  } else if (c.url) {
    let u: URL;
    try {
      u = new URL(c.url);
    } catch {
      throw new ConfigError(`--redis ${JSON.stringify(redactUrl(c.url))} is not a URL; expected redis://[user:pass@]host:port[/db]`);
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw new ConfigError(`--redis must start with redis://, rediss://, redis+sentinel:// or redis+unix://, got ${JSON.stringify(u.protocol)}`);
    }
    if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) {
      throw new ConfigError(`--redis: the path must be a database number (/0../15), got ${JSON.stringify(u.pathname)}`);
    }
    // `?db=N` is the path's database by another name; anything else was ignored (`?db=3x` ran in
    // database 0): refused, named.
    let queryDb: number | undefined;
    for (const [k, v] of u.searchParams) {
      if (k !== 'db')
        throw new ConfigError(`--redis: unknown parameter ${JSON.stringify(k)} in the URL (known: db; a password goes before the host: redis://:pass@host)`);
      if (!/^\d+$/.test(v)) throw new ConfigError(`--redis: db=${JSON.stringify(v)} must be a database number (0..15)`);
      queryDb = Number(v);
    }
    if (queryDb !== undefined && /^\/\d+$/.test(u.pathname) && Number(u.pathname.slice(1)) !== queryDb) {
      throw new ConfigError(`--redis: the path says database ${u.pathname.slice(1)} and db= says ${queryDb}; give one`);
    }
    // Taken apart here rather than handed to ioredis, so that --password / REDIS_PASSWORD
    // apply to a URL without a password (ioredis would let the URL's empty one win).
    options.host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    options.port = u.port ? Number(u.port) : 6379;
    if (u.username) options.username = decodeURIComponent(u.username);
    if (u.password) options.password = decodeURIComponent(u.password);
    if (/^\/\d+$/.test(u.pathname)) options.db = Number(u.pathname.slice(1));
    else if (queryDb !== undefined) options.db = queryDb;
    if (u.protocol === 'rediss:') options.tls = {};
  } else {
    if (c.host) options.host = c.host;
    if (c.port !== undefined) options.port = c.port;
  }
  if (c.password !== undefined && options.password === undefined) options.password = c.password;
  if (c.username !== undefined && options.username === undefined) options.username = c.username;
  if (c.db !== undefined) options.db = c.db;
  if (c.tlsCa || c.tlsCert || c.tlsKey) {
    const read = (flag: string, file: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new ConfigError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    };
    options.tls = {
      ...(options.tls ?? {}),
      ...(c.tlsCa ? { ca: read('--tls-ca', c.tlsCa) } : {}),
      ...(c.tlsCert ? { cert: read('--tls-cert', c.tlsCert) } : {}),
      ...(c.tlsKey ? { key: read('--tls-key', c.tlsKey) } : {}),
    };
  }
  return url === undefined ? { options } : { url, options };
}

const READONLY = /\bREADONLY\b/;

/** A Unix-socket URL: `redis+unix://` or `unix:` (its form is checked by unixSocketOptions). */
const UNIX_URL = /^(?:redis\+unix|unix):/i;

/**
 * `redis+unix:///path/to/redis.sock[?db=N&password=...]`, `unix:///path...` or `unix:/path...`
 * (also `redis+unix://[user:pass@]/path`) as ioredis options `{ path, db, password, username }`.
 * A socket skips TCP's loopback stack: fewer system calls and a shorter round trip per job.
 */
export function unixSocketOptions(url: string): RedisOptions {
  const m = /^(?:redis\+unix|unix):(?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?)?(\/[^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (!m || m[3] === '/' || m[3]!.endsWith('/')) {
    throw new ConfigError(
      `--redis ${JSON.stringify(redactUrl(url))}: expected redis+unix:///path/to/redis.sock[?db=N&password=...] (or unix:///path/to/redis.sock)`,
    );
  }
  const [, user, pass, file, query] = m;
  const o: RedisOptions = { path: decodeURIComponent(file!) };
  if (user) o.username = decodeURIComponent(user);
  if (pass) o.password = decodeURIComponent(pass);
  for (const [k, v] of new URLSearchParams(query ?? '')) {
    if (k === 'db') {
      if (!/^\d+$/.test(v)) throw new ConfigError(`--redis: db=${JSON.stringify(v)} in the socket URL must be a database number (0..15)`);
      o.db = Number(v);
    } else if (k === 'password') o.password = v;
    else if (k === 'username' || k === 'user') o.username = v;
    else throw new ConfigError(`--redis: unknown parameter ${JSON.stringify(k)} in the socket URL (known: db, password, username)`);
  }
  return o;
}

/** `redis+sentinel://[user:pass@]h1:p1,h2:p2/<name>[/db]` as ioredis Sentinel options. */
export function sentinelOptions(url: string): RedisOptions {
  const m = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+)\/([^/?]+)(?:\/(\d+))?\/?$/.exec(url);
  if (!m) {
    throw new ConfigError(`--redis ${JSON.stringify(redactUrl(url))}: expected redis+sentinel://[user:pass@]host:26379[,host:port...]/<master name>[/db]`);
  }
  const [, scheme, user, pass, hosts, name, db] = m;
  const sentinels = hosts!.split(',').map(h => {
    const [host, port] = h.split(':');
    if (!host) throw new ConfigError(`--redis: sentinel address ${JSON.stringify(h)} has no host`);
    return { host, port: port ? Number(port) : 26379 };
  });
  const o: RedisOptions = {
    sentinels,
    name: decodeURIComponent(name!),
    // Fast failover detection: subscribe to +switch-master on the sentinels and reconnect (to
    // the new master) the moment one is announced, instead of writing on to a demoted master
    // until the sentinels reconfigure it (~10 s, its writes then vanish). See README, "Sentinel".
    failoverDetector: true,
    // A write that reaches a replica (the old master once reconfigured, or a stale address):
    // reconnect, which asks the sentinels again, and resend the command there. Safe for the
    // job loop's script: its stat:processed:<id> guard makes a resend finish nothing twice.
    reconnectOnError: (e: Error) => (READONLY.test(e.message) ? 2 : false),
  };
  if (user) o.username = decodeURIComponent(user);
  if (pass) o.password = decodeURIComponent(pass);
  if (db) o.db = Number(db);
  if (scheme === 'rediss') (o.tls = {}), (o.enableTLSForSentinelMode = true);
  return o;
}

/**
 * ioredis, loaded at the first connection made, not when this module loads: the CLI's option
 * parsing and a master's start (it forks its first children before it connects) need none of it
 * (~50 ms of a process's start).
 */
export function ioredis(): typeof Redis {
  return (require('ioredis') as typeof import('ioredis')).default;
}

export function createRedis(c: ConnectionOptions = {}, extra: RedisOptions = {}): Redis {
  const { url, options } = redisOptions(c);
  const R = ioredis();
  return url === undefined ? new R({ ...options, ...extra }) : new R(url, { ...options, ...extra });
}

/** A URL with its password replaced by `***`, for logs and errors. */
export function redactUrl(url: string): string {
  return url
    .replace(/^((?:rediss?(?:\+sentinel)?|redis\+unix|unix):\/\/)([^:@/]*):([^@/]*)@/i, '$1$2:***@')
    .replace(/^((?:redis\+unix|unix):[^?#]*\?(?:[^#]*&)?password=)[^&#]*/i, '$1***');
}

/** Human description of where we connect, without secrets. */
export function describeConnection(c: ConnectionOptions = {}): string {
  if (c.url) return redactUrl(c.url);
  return `redis://${c.host ?? '127.0.0.1'}:${c.port ?? 6379}${c.db ? `/${c.db}` : ''}`;
}

/**
 * An ioredis instance (`import Redis from 'ioredis'`), as `new Client({ redis })` accepts it. The
 * type is re-exported so callers and upper layers never import ioredis themselves.
 */
export type RedisClient = Redis;

/**
 * Checks an ioredis instance a caller hands in (`redis` option): it must be usable and must not
 * prefix keys (the namespace belongs to ResqueKeys). Returns where it points, for messages.
 */
export function adoptRedis(r: unknown, field = 'redis'): { client: Redis; where: string } {
  if (!(r instanceof ioredis())) {
    const looks =
      typeof r === 'object' &&
      r !== null &&
      typeof (r as { pipeline?: unknown }).pipeline === 'function' &&
      typeof (r as { options?: unknown }).options === 'object';
    if (!looks) throw new ConfigError(`${field} must be an ioredis instance (new Redis(...)), got ${r === null ? 'null' : typeof r}`);
  }
  const client = r as Redis;
  const o = client.options ?? {};
  if (o.keyPrefix)
    throw new ConfigError(`${field}: the ioredis instance has keyPrefix ${JSON.stringify(o.keyPrefix)}; leave it unset and pass namespace instead`);
  if (client.status === 'end') throw new ConfigError(`${field}: the ioredis instance is closed (status "end"); hand in an open one`);
  const where = o.path
    ? `redis+unix://${o.path}${o.db ? `?db=${o.db}` : ''}`
    : o.sentinels?.length
      ? `redis+sentinel://${o.sentinels.map(x => `${(x as { host?: string }).host ?? '127.0.0.1'}:${(x as { port?: number }).port ?? 26379}`).join(',')}/${o.name ?? ''}`
      : describeConnection({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379, ...(o.db ? { db: o.db } : {}) });
  return { client, where };
}
