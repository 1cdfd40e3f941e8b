import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { describeConnection } from '../store/connection';
import type { Admin as DashboardT } from '../admin/admin';
import { type ServerSpec, parseDsnList } from '../web/dsn';
import { type ConnectionArgs, connectionFromArgs, loggerFromArgs, redisTimeoutArg, withConnectionOptions } from './options';

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
    const timeout = redisTimeoutArg(a);
    return parseDsnList(dsn, {
      namespace: a.namespace,
      ...(timeout !== undefined ? { timeout } : {}),
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
  return (
    withDsnOption(withConnectionOptions(y))
      .option('bind', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0 exposes the dashboard to the network)' })
      .option('web-port', { type: 'number', default: 5678, describe: 'HTTP port (0 picks a free one); --port is the same' })
      // pyres_web's --port is the HTTP port; here it used to be the Redis port (and was ignored with --dsn).
      .option('port', { type: 'number', describe: "HTTP port, as pyres_web's --port (wins over --web-port)" })
      .option('redis-port', { type: 'number', describe: 'Redis port with --host (what --port meant for web before 0.2)' })
      .option('auth', { type: 'string', describe: 'user:password for HTTP basic auth (or $PYRES_WEB_AUTH, which keeps it out of ps)' })
      .option('dsn-file', {
        type: 'string',
        describe: 'read --dsn from this file (entries separated by commas or lines, # comments): keeps Redis passwords out of ps (or $PYRES_WEB_DSN)',
      })
      .option('allowed-host', {
        type: 'string',
        describe:
          'a Host name the dashboard answers to besides localhost and the --bind address (repeatable; name, name:port, or * for any; also $PYRES_WEB_ALLOWED_HOSTS, comma-separated)',
      })
      .option('base-path', {
        type: 'string',
        describe: 'serve the dashboard under this URL prefix, e.g. /resque behind a proxy (every link and asset carries it)',
      })
      .example('$0 web --dsn redis://a:6379,redis://b:6380', 'one dashboard for two servers')
      .example("$0 web --dsn 'redis://a:6379/0?namespace=jobs&name=prod'", 'another namespace, and a label')
  );
}

export interface WebArgs extends DsnArgs {
  /** The Redis port for web (ConnectionArgs' `port` is web's HTTP port). */
  'redis-port'?: number;
  bind: string;
  'web-port': number;
  auth?: string;
  'dsn-file'?: string;
  'allowed-host'?: string[] | string;
  'base-path'?: string;
}

/** `--dsn`, else `--dsn-file`'s entries, else `$PYRES_WEB_DSN` (unless --redis/--host/--redis-port name the server). */
export function webDsn(a: WebArgs, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const given = a.dsn === undefined ? [] : Array.isArray(a.dsn) ? a.dsn : [a.dsn];
  const file = a['dsn-file'];
  if (file !== undefined) {
    if (given.length > 0) throw new ConfigError('give --dsn or --dsn-file, not both');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`--dsn-file ${file}: ${(e as Error).message}`);
    }
    const entries = text
      .split(/\r?\n/)
      .map(l => l.replace(/(^|\s)#.*$/, '').trim())
      .filter(l => l !== '');
    if (entries.length === 0) throw new ConfigError(`--dsn-file ${file} names no Redis server`);
    return entries;
  }
  if (given.length > 0) return given;
  const fromEnv = env['PYRES_WEB_DSN'];
  if (fromEnv && fromEnv.trim() !== '' && a.redis === undefined && a.host === undefined && a['redis-port'] === undefined) return [fromEnv];
  return undefined;
}

/** `--allowed-host` values and `$PYRES_WEB_ALLOWED_HOSTS`, checked. */
export function allowedHostsFromArgs(a: WebArgs, env: NodeJS.ProcessEnv = process.env): string[] {
  const { parseAllowedHosts } = require('../web/hosts') as typeof import('../web/hosts');
  const flags = a['allowed-host'] === undefined ? [] : Array.isArray(a['allowed-host']) ? a['allowed-host'] : [a['allowed-host']];
  return parseAllowedHosts([...flags, env['PYRES_WEB_ALLOWED_HOSTS']]);
}

/** Options whose value is a secret, as `--name value` or `--name=value`. */
const SECRET_OPTIONS = new Set(['--password', '--auth']);

/**
 * A command line with its secrets replaced by `***`: the password of every `scheme://user:pass@`
 * URL, and the values of --password and --auth. `changed` says whether there was any.
 */
export function redactCommandLine(argv: readonly string[]): { args: string[]; changed: boolean } {
  let changed = false;
  const url = (s: string): string =>
    s.replace(/([a-z][a-z0-9+.-]*:\/\/)([^,\s]*)@/gi, (m, scheme: string, userinfo: string) => {
      const i = userinfo.indexOf(':');
      if (i < 0 || userinfo.slice(i + 1) === '***') return m;
      changed = true;
      return `${scheme}${userinfo.slice(0, i)}:***@`;
    });
  const args = argv.map((arg, i) => {
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0 && SECRET_OPTIONS.has(arg.slice(0, eq))) {
      changed = true;
      return `${arg.slice(0, eq)}=***`;
    }
    if (i > 0 && SECRET_OPTIONS.has(argv[i - 1] as string) && !arg.startsWith('-')) {
      changed = true;
      return '***';
    }
    return url(arg);
  });
  return { args, changed };
}

/** This process's command line as `ps` shows it (/proc/self/cmdline on Linux). */
function ownCommandLine(): string[] {
  try {
    const raw = readFileSync('/proc/self/cmdline', 'utf8');
    const parts = raw.split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    if (parts.length > 0) return parts;
  } catch {
    /* not Linux */
  }
  return [process.argv0, ...process.argv.slice(1)];
}

export function parseAuth(s: string | undefined): { username: string; password: string } | null {
  if (s === undefined || s === '') return null;
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) throw new ConfigError('--auth must be user:password (both non-empty)');
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

export interface RunWebHooks {
  env?: NodeJS.ProcessEnv;
  /** The process's command line, checked for secrets (default: /proc/self/cmdline). */
  commandLine?: readonly string[];
  /** Sets the process title (default: assigns process.title). */
  setTitle?: (title: string) => void;
  /** Stops the dashboard like SIGINT/SIGTERM do (for tests and embedding). */
  signal?: AbortSignal;
  /** Called with the URL once listening. */
  onListening?: (url: string) => void;
}

/** Runs the dashboard until SIGINT or SIGTERM (or `hooks.signal`); resolves with the exit code. */
export async function runWeb(web: WebArgs, hooks: RunWebHooks = {}): Promise<number> {
  const env = hooks.env ?? process.env;
  // For web, --port is the HTTP port (pyres_web's); the Redis port is --redis-port.
  const httpPort = web.port;
  const a: WebArgs = { ...web, port: web['redis-port'] };
  if (a.port === undefined) delete a.port;
  const log = loggerFromArgs(a).child('web');
  // A secret on the command line is readable by every user (ps, /proc/<pid>/cmdline) from the
  // start: hide it as soon as the arguments are parsed. On Linux libuv writes the title over
  // the original argv area, which is what ps reads; a title longer than that area loses its
  // tail (only a password under 3 characters makes `***` longer), never showing the secret.
  // Node cannot shorten the window before this line runs: hence the warning.
  const cmd = redactCommandLine(hooks.commandLine ?? ownCommandLine());
  if (cmd.changed) {
    (hooks.setTitle ?? (t => (process.title = t)))(cmd.args.join(' '));
    log.warn(
      'a password on the command line can be read by any user of this host (ps, /proc) until start-up hides it, and stays in shell history: ' +
        'give the Redis URLs in $PYRES_WEB_DSN or --dsn-file FILE, the password in $REDIS_PASSWORD, and --auth in $PYRES_WEB_AUTH',
    );
  }
  const dsn = webDsn(a, env);
  const specs = serversFromArgs(dsn ? { ...a, dsn } : a, env);
  const auth = parseAuth(a.auth ?? env['PYRES_WEB_AUTH']);
  const allowedHosts = allowedHostsFromArgs(a, env);
  const { parseBasePath } = require('../config/basePath') as typeof import('../config/basePath');
  const basePath = parseBasePath(a['base-path']);
  const port = httpPort ?? a['web-port'];
  const portFlag = httpPort !== undefined ? '--port' : '--web-port';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${portFlag} must be a TCP port number, got ${String(port)}`);
  // Loaded here, not at start-up: other commands never pay for the web stack.
  const { Admin } = require('../admin/admin') as typeof import('../admin/admin');
  const { startWebServer } = require('../web/server') as typeof import('../web/server');
  const dashboard: DashboardT = new Admin(specs);
  const down = await dashboard.connect();
  for (const s of down) log.warn(`${s.label} is not answering (${s.store.error ?? 'unknown error'}); its pages show it as down until it is back`);
  let server: Awaited<ReturnType<typeof startWebServer>>;
  try {
    // At a stop, a request under way may wait out one Redis command's timeout (seconds) for its answer.
    const drainMs = ((redisTimeoutArg(a) ?? 5) + 1) * 1000;
    server = await startWebServer({ dashboard, bind: a.bind, port, auth, allowedHosts, basePath, drainMs });
  } catch (e) {
    await dashboard.close();
    throw new ConfigError(`cannot listen on ${a.bind}:${port}: ${(e as Error).message}`);
  }
  // The handlers go in before the "dashboard on" line: a supervisor may send TERM the moment it reads it.
  // INT, TERM, QUIT and HUP (its terminal gone) stop it and exit 0. USR1 and USR2 are only
  // logged: never Node's default for USR1 (an inspector on 127.0.0.1:9229, through which any
  // local user could run code as this process; `pkill -USR1 -f pyres` is a Resque habit) nor
  // death by USR2.
  const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP'] as const;
  const noted = (sig: NodeJS.Signals) => (): void => log.info(`${sig} received: nothing to do for the dashboard (INT, TERM, QUIT or HUP stop it)`);
  const usr1 = noted('SIGUSR1');
  const usr2 = noted('SIGUSR2');
  process.on('SIGUSR1', usr1);
  process.on('SIGUSR2', usr2);
  const stopped = new Promise<void>(resolve => {
    const stop = (): void => {
      for (const sig of STOP_SIGNALS) process.removeListener(sig, stop);
      hooks.signal?.removeEventListener('abort', stop);
      resolve();
    };
    for (const sig of STOP_SIGNALS) process.once(sig, stop);
    if (hooks.signal?.aborted) stop();
    else hooks.signal?.addEventListener('abort', stop, { once: true });
  });
  if (!isLoopback(a.bind) && !auth)
    log.warn(`listening on ${a.bind} WITHOUT authentication: anyone who can reach it can retry and delete jobs; give --auth user:password`);
  log.info(
    `dashboard on ${server.url}/ for ${specs.map(s => s.label).join(', ')}${auth ? ' (basic auth on)' : ''}` +
      (allowedHosts.length ? `; also answers to ${allowedHosts.join(', ')}` : ''),
  );
  hooks.onListening?.(server.url);
  await stopped;
  log.info('stopping');
  await server.close();
  process.removeListener('SIGUSR1', usr1);
  process.removeListener('SIGUSR2', usr2);
  return 0;
}

function isLoopback(bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || /^127\./.test(bind);
}
