import type { Admin, Server } from '../admin/admin';
import { ConfigError, coerceError } from '../errors';

/**
 * What the admin commands over `--dsn` (retries, schedule, statuses) share: their output port, the
 * server `--server` names, and the paging flags' checks.
 */

/** Where a command writes (a test passes its own). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** stdout and stderr, one line per call. */
export const stdio: Io = {
  out: s => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: s => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

/** The server `--server` names, or the only one; a usage error (ConfigError) otherwise. */
export function serverOf(d: Admin, server: string | undefined): Server {
  if (server !== undefined && server !== '') {
    try {
      return d.server(server);
    } catch (e) {
      throw new ConfigError(`--server: ${coerceError(e).message}`);
    }
  }
  if (d.servers.length !== 1) throw new ConfigError(`several servers: say which with --server (${d.servers.map(s => `${s.id}=${s.label}`).join(', ')})`);
  return d.servers[0]!;
}

/** `--start` (an integer >= 0) and `--count` (1-1000), when given. */
export function checkPaging(start: number | undefined, count: number | undefined): void {
  if (start !== undefined && !(Number.isInteger(start) && start >= 0)) throw new ConfigError(`--start must be an integer >= 0, got ${start}`);
  if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 1000))
    throw new ConfigError(`--count must be an integer 1-1000, got ${count}`);
}
