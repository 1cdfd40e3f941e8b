import { ConfigError } from '../errors';
import type { ServerSpec } from '../admin/admin';
import { type ConnectionOptions, redactUrl } from '../store/connection';

/**
 * `--dsn` for `pyres-ts web` and the admin commands: several Redis servers, comma-separated.
 * Each entry is one of
 *
 *   redis://[user:pass@]host:port[/db][?namespace=ns&name=label]   (rediss:// for TLS)
 *   host[:port]                  pyres_web's form (`--dsn h1:p1,h2:p2`)
 *   host:port:db                 Resque.redis = "host:port:db"
 *   host:port/namespace          Resque.redis = "host:port/namespace"
 *
 * `namespace` defaults to --namespace (itself `resque`); `name` labels the server on pages
 * (default: host:port[/db], plus the namespace when it is not the default). A password in a
 * URL is never shown.
 */
export type { ServerSpec };

export interface DsnDefaults {
  namespace: string;
  /** Applied to every entry (from --password / REDIS_PASSWORD) unless its URL has one. */
  password?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** --redis-timeout, seconds. */
  timeout?: number;
}

export function parseDsnList(dsn: string | readonly string[], d: DsnDefaults): ServerSpec[] {
  const entries = (Array.isArray(dsn) ? dsn : [dsn as string])
    .flatMap(s => s.split(','))
    .map(s => s.trim())
    .filter(s => s !== '');
  if (entries.length === 0) throw new ConfigError('--dsn names no Redis server');
  const specs = entries.map((e, i) => parseOne(e, i, d));
  const seen = new Map<string, number>();
  for (const s of specs) {
    const n = (seen.get(s.label) ?? 0) + 1;
    seen.set(s.label, n);
    if (n > 1) s.label = `${s.label} #${n}`;
  }
  return specs;
}

function parseOne(entry: string, id: number, d: DsnDefaults): ServerSpec {
  const tls = {
    ...(d.tlsCa ? { tlsCa: d.tlsCa } : {}),
    ...(d.tlsCert ? { tlsCert: d.tlsCert } : {}),
    ...(d.tlsKey ? { tlsKey: d.tlsKey } : {}),
    ...(d.timeout !== undefined ? { timeout: d.timeout } : {}),
  };
  if (/^rediss?:\/\//i.test(entry)) {
    let u: URL;
    try {
      u = new URL(entry);
    } catch {
      throw new ConfigError(`--dsn entry ${JSON.stringify(redactUrl(entry))} is not a URL`);
    }
    const namespace = u.searchParams.get('namespace') ?? d.namespace;
    const name = u.searchParams.get('name');
    u.searchParams.delete('namespace');
    u.searchParams.delete('name');
    if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) {
      throw new ConfigError(`--dsn entry ${JSON.stringify(redactUrl(entry))}: the path must be a database number; give the namespace as ?namespace=NAME`);
    }
    const url = u.toString();
    const db = /^\/(\d+)$/.exec(u.pathname)?.[1];
    const where = `${u.hostname}:${u.port || 6379}${db && db !== '0' ? `/${db}` : ''}`;
    const connection: ConnectionOptions = { url, ...tls };
    if (!u.password && d.password) connection.password = d.password;
    return { id, label: name ?? withNs(where, namespace, d.namespace), connection, namespace };
  }
  const m = /^([^:/\s]+)(?::(\d+))?(?::(\d+))?(?:\/(.+))?$/.exec(entry);
  if (!m)
    throw new ConfigError(
      `--dsn entry ${JSON.stringify(entry)}: expected redis://host:port[/db][?namespace=ns], host:port, host:port:db or host:port/namespace`,
    );
  const [, host, portText, dbText, nsText] = m;
  const port = portText ? Number(portText) : 6379;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`--dsn entry ${JSON.stringify(entry)}: bad port`);
  const namespace = nsText ?? d.namespace;
  const connection: ConnectionOptions = { host: host as string, port, ...tls };
  if (dbText) connection.db = Number(dbText);
  if (d.password) connection.password = d.password;
  const where = `${host}:${port}${dbText && dbText !== '0' ? `/${dbText}` : ''}`;
  return { id, label: withNs(where, namespace, d.namespace), connection, namespace };
}

function withNs(where: string, ns: string, def: string): string {
  return ns === def && ns === 'resque' ? where : `${where} (${ns})`;
}
