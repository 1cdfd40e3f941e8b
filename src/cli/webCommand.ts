import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { describeConnection } from '../store/connection';
import type { Dashboard as DashboardT } from '../web/dashboard';
import { type ServerSpec, parseDsnList } from '../web/dsn';
import { type ConnectionArgs, connectionFromArgs, loggerFromArgs, withConnectionOptions } from './options';

/** `--dsn`, shared by `web` and the admin commands. */
export function withDsnOption<T>(y: Argv<T>) {
  return y.option('dsn', {
    type: 'string',
    describe:
      'several Redis servers, comma-separated: redis://host:port[/db][?namespace=ns&name=label], host:port, host:port:db or host:port/namespace (instead of --redis)',
  });
}

export interface DsnArgs extends ConnectionArgs {
  dsn?: string[] | string;
}

/** The servers named by --dsn, or the single one named by --redis/--host/--port/REDIS_URL. */
export function serversFromArgs(a: DsnArgs, env: NodeJS.ProcessEnv = process.env): ServerSpec[] {
  const dsn = a.dsn === undefined ? [] : Array.isArray(a.dsn) ? a.dsn : [a.dsn];
  const password = a.password ?? env['REDIS_PASSWORD'];
  if (dsn.length > 0) {
    return parseDsnList(dsn, {
      namespace: a.namespace,
      ...(password ? { password } : {}),
      ...(a['tls-ca'] ? { tlsCa: a['tls-ca'] } : {}),
      ...(a['tls-cert'] ? { tlsCert: a['tls-cert'] } : {}),
      ...(a['tls-key'] ? { tlsKey: a['tls-key'] } : {}),
    });
  }
  const connection = connectionFromArgs(a, env);
  const where = describeConnection(connection).replace(/^rediss?:\/\//, '');
  return [{ id: 0, label: a.namespace === 'resque' ? where : `${where} (${a.namespace})`, connection, namespace: a.namespace }];
}

export function webBuilder(y: Argv) {
  return withDsnOption(withConnectionOptions(y))
    .option('bind', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0 exposes the dashboard to the network)' })
    .option('web-port', { type: 'number', default: 5678, describe: 'HTTP port (0 picks a free one)' })
    .option('auth', { type: 'string', describe: 'user:password for HTTP basic auth (or $PYRES_WEB_AUTH, which keeps it out of ps)' })
    .example('$0 web --dsn redis://a:6379,redis://b:6380', 'one dashboard for two servers')
    .example("$0 web --dsn 'redis://a:6379/0?namespace=jobs&name=prod'", 'another namespace, and a label');
}

export interface WebArgs extends DsnArgs {
  bind: string;
  'web-port': number;
  auth?: string;
}

export function parseAuth(s: string | undefined): { username: string; password: string } | null {
  if (s === undefined || s === '') return null;
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) throw new ConfigError('--auth must be user:password (both non-empty)');
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

export interface RunWebHooks {
  env?: NodeJS.ProcessEnv;
  /** Stops the dashboard like SIGINT/SIGTERM do (for tests and embedding). */
  signal?: AbortSignal;
  /** Called with the URL once listening. */
  onListening?: (url: string) => void;
}

/** Runs the dashboard until SIGINT or SIGTERM (or `hooks.signal`); resolves with the exit code. */
export async function runWeb(a: WebArgs, hooks: RunWebHooks = {}): Promise<number> {
  const env = hooks.env ?? process.env;
  const log = loggerFromArgs(a).child('web');
  const specs = serversFromArgs(a, env);
  const auth = parseAuth(a.auth ?? env['PYRES_WEB_AUTH']);
  const port = a['web-port'];
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--web-port must be a TCP port number, got ${String(port)}`);
  // Loaded here, not at start-up: other commands never pay for the web stack.
  const { Dashboard } = require('../web/dashboard') as typeof import('../web/dashboard');
  const { startWebServer } = require('../web/server') as typeof import('../web/server');
  const dashboard: DashboardT = new Dashboard(specs);
  const down = await dashboard.connect();
  for (const s of down) log.warn(`${s.label} is not answering (${s.store.error ?? 'unknown error'}); its pages show it as down until it is back`);
  let server;
  try {
    server = await startWebServer({ dashboard, bind: a.bind, port, auth });
  } catch (e) {
    await dashboard.close();
    throw new ConfigError(`cannot listen on ${a.bind}:${port}: ${(e as Error).message}`);
  }
  if (!isLoopback(a.bind) && !auth) log.warn(`listening on ${a.bind} WITHOUT authentication: anyone who can reach it can retry and delete jobs; give --auth user:password`);
  log.info(`dashboard on ${server.url}/ for ${specs.map(s => s.label).join(', ')}${auth ? ' (basic auth on)' : ''}`);
  hooks.onListening?.(server.url);
  await new Promise<void>(resolve => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      hooks.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (hooks.signal?.aborted) stop();
    else hooks.signal?.addEventListener('abort', stop, { once: true });
  });
  log.info('stopping');
  await server.close();
  return 0;
}

function isLoopback(bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || /^127\./.test(bind);
}
