import { ConfigError } from '../errors';

/** A worker id as Resque tools parse it: `host:pid:q1,q2` (Worker.find splits with limit 3). */
export interface WorkerIdParts {
  host: string;
  pid: number;
  queues: string[];
}

/**
 * Builds `host:pid:q1,q2`. `!skip` entries are left out, as Ruby 3.0 does; wildcards stay literal.
 * Throws ConfigError for what would break resque-web or Ruby's prune (a ':' in the host,
 * no queues).
 */
export function formatWorkerId(host: string, pid: number, queueSpecs: readonly string[]): string {
  if (host.includes(':')) throw new ConfigError(`hostname ${JSON.stringify(host)} contains ':', which breaks every Resque worker id`);
  const shown = queueSpecs.filter(q => !q.startsWith('!'));
  if (shown.length === 0) throw new ConfigError('--queues needs at least one queue that is not a !skip pattern');
  return `${host}:${pid}:${shown.join(',')}`;
}

export function parseWorkerId(id: string): WorkerIdParts | null {
  const a = id.indexOf(':');
  if (a < 0) return null;
  const b = id.indexOf(':', a + 1);
  if (b < 0) return null;
  const pid = Number(id.slice(a + 1, b));
  const queues = id.slice(b + 1);
  if (!Number.isInteger(pid) || queues === '') return null;
  return { host: id.slice(0, a), pid, queues: queues.split(',') };
}
