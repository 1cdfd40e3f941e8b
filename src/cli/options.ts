import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import { createLogger, type Logger, logFileArg, parseLogLevel } from '../logging/logger';
import { redisTimeout } from '../config/check';
import { resolveLogFormat } from '../config/obs';
import { type ConnectionOptions, DEFAULT_REDIS_TIMEOUT } from '../store/connection';

/** Options every command shares: where Redis is, the namespace, logging. */
export function withConnectionOptions<T>(y: Argv<T>) {
  return y
    .option('redis', {
      type: 'string',
      describe:
        'Redis URL redis://[user:pass@]host:port[/db], rediss://, redis+sentinel://host:26379,.../<name>[/db], redis+unix:///path.sock or unix:/path.sock (default: $REDIS_URL, else redis://127.0.0.1:6379)',
    })
    .option('host', { type: 'string', describe: "Redis host (pyres' --host)" })
    .option('port', { type: 'number', describe: "Redis port (pyres' --port)" })
    .option('password', { type: 'string', describe: 'Redis password (prefer the URL or REDIS_PASSWORD)' })
    .option('tls-ca', { type: 'string', describe: 'CA file for rediss://' })
    .option('tls-cert', { type: 'string', describe: 'client certificate file for rediss://' })
    .option('tls-key', { type: 'string', describe: 'client key file for rediss://' })
    .option('redis-timeout', {
      type: 'number',
      describe: `seconds a Redis command, a connect or a silent socket may take before the connection is dropped and rebuilt (default: ${DEFAULT_REDIS_TIMEOUT})`,
    })
    .option('namespace', { type: 'string', default: 'resque', describe: 'key namespace (Resque: resque)' })
    .option('log-level', { alias: 'l', type: 'string', default: 'info', describe: 'debug, info, warning, error' })
    .option('log-file', {
      alias: 'f',
      type: 'string',
      describe: "append the log to this file instead of stderr; pyres_worker's names: stdout, stderr, syslog (not supported: stderr with a note)",
      // pyres' names are not files: never create ./stdout or ./syslog.
      coerce: (v: unknown) => (Array.isArray(v) ? v.map(x => logFileArg(String(x))) : v === undefined ? v : logFileArg(String(v))),
    })
    .option('log-format', {
      type: 'string',
      describe: "text (default): one line per message; json: one JSON object per line (a master's children inherit it)",
    });
}

export interface ConnectionArgs {
  redis?: string;
  host?: string;
  port?: number;
  password?: string;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'redis-timeout'?: number;
  namespace: string;
  'log-level': string;
  'log-file'?: string;
  'log-format'?: string;
}

export function connectionFromArgs(a: ConnectionArgs, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const url = a.redis ?? (a.host === undefined && a.port === undefined ? env['REDIS_URL'] : undefined);
  if (a.port !== undefined && (!Number.isInteger(a.port) || a.port <= 0 || a.port > 65535)) {
    throw new ConfigError(`--port must be a TCP port number, got ${String(a.port)}`);
  }
  const c: ConnectionOptions = {};
  if (url) c.url = url;
  else {
    c.host = a.host ?? '127.0.0.1';
    c.port = a.port ?? 6379;
  }
  const password = a.password ?? env['REDIS_PASSWORD'];
  if (password) c.password = password;
  if (a['tls-ca']) c.tlsCa = a['tls-ca'];
  if (a['tls-cert']) c.tlsCert = a['tls-cert'];
  if (a['tls-key']) c.tlsKey = a['tls-key'];
  const timeout = redisTimeoutArg(a);
  if (timeout !== undefined) c.timeout = timeout;
  return c;
}

/** `--redis-timeout`, validated (yargs gives NaN for a word; the message names the flag). */
export function redisTimeoutArg(a: Pick<ConnectionArgs, 'redis-timeout'>): number | undefined {
  const v = a['redis-timeout'];
  return redisTimeout(typeof v === 'number' && Number.isNaN(v) ? 'not a number' : v);
}

export function loggerFromArgs(a: ConnectionArgs): Logger {
  const level = parseLogLevel(a['log-level']);
  if (!level) throw new ConfigError(`--log-level must be one of debug, info, warning, error; got ${JSON.stringify(a['log-level'])}`);
  const format = resolveLogFormat(a['log-format']);
  return createLogger({ level, ...(a['log-file'] ? { file: a['log-file'] } : {}), format });
}
