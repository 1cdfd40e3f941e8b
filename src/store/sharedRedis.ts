import { type ConnectionOptions, type RedisClient, createRedis } from './connection';

/**
 * One Redis connection per connection options per process for job-level plugins (statuses,
 * retries), counted by holder: every worker that uses it holds one reference (through its
 * PluginResources), and the connection is QUIT when the last holder releases it, so a process
 * whose workers all stopped keeps no socket open.
 */

/** A held reference to a shared connection. */
export interface SharedRedis {
  readonly client: RedisClient;
  /** Drops this reference; the last one QUITs the connection (never throws). Idempotent. */
  release(): Promise<void>;
}

const shared = new Map<string, { client: RedisClient; refs: number }>();
const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** The cache key of connection options: their JSON, or the object's identity when they hold functions (not comparable as text). */
function keyOf(o: ConnectionOptions): string {
  let hasFunction = false;
  const text = JSON.stringify(o, (_k, v: unknown) => {
    if (typeof v === 'function') hasFunction = true;
    return v;
  });
  if (!hasFunction) return `json:${text}`;
  let id = identities.get(o);
  if (id === undefined) identities.set(o, (id = ++nextIdentity));
  return `id:${id}`;
}

/**
 * A reference to the process's plugin connection for `connection` (made on first use, named
 * `connectionName`, default `pyres-ts:plugins:<pid>`; its errors are left to the commands).
 */
export function acquireSharedRedis(connection: ConnectionOptions): SharedRedis {
  const key = keyOf(connection);
  let entry = shared.get(key);
  if (!entry) {
    const client = createRedis({ ...connection, connectionName: connection.connectionName ?? `pyres-ts:plugins:${process.pid}` });
    client.on('error', () => undefined);
    entry = { client, refs: 0 };
    shared.set(key, entry);
  }
  const e = entry;
  e.refs++;
  let released = false;
  return {
    client: e.client,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      if (shared.get(key) === e) shared.delete(key);
      await e.client.quit().catch(() => e.client.disconnect());
    },
  };
}

/** How many shared plugin connections this process holds open (for tests and diagnostics). */
export function sharedRedisCount(): number {
  return shared.size;
}

/** Something that holds resources until it stops (a worker's PluginResources; structurally typed: the store layer does not import jobs/). */
export interface ResourceHolder {
  use<T>(key: string, open: () => T, close: (value: T) => Promise<void>): T;
}

/**
 * The shared plugin connection for `connection`, held by `holder` (one reference per holder,
 * released when the holder closes its resources). Throws when the holder has stopped.
 */
export function heldSharedRedis(holder: ResourceHolder, connection: ConnectionOptions): { client: RedisClient; key: string } {
  const key = keyOf(connection);
  const ref = holder.use(
    `pyres-ts:shared-redis ${key}`,
    () => acquireSharedRedis(connection),
    r => r.release(),
  );
  return { client: ref.client, key };
}
