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

/** Most job slots one process may run (`--concurrency`). */
export const MAX_SLOTS = 64;

/**
 * The id of job slot `slot` of one process (`--concurrency`, since issue 15). Slot 0 is the
 * ordinary `host:pid:q1,q2`; slot i > 0 is `host+i:pid:q1,q2`: the pid stays the real pid
 * (Ruby's and our prune check it), and the slot goes into the host field, which Ruby 3.0's
 * prune_dead_workers compares with its own hostname before it looks at the pid (worker.rb
 * 664-672), so a Ruby worker on this host never prunes a live slot. '+' never occurs in a
 * hostname (RFC 952/1123), so `host+i` names no other machine. See docs/COMPAT.md.
 */
export function formatSlotWorkerId(host: string, pid: number, queueSpecs: readonly string[], slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new ConfigError(`slot must be a whole number from 0 to ${MAX_SLOTS - 1}, got ${slot}`);
  if (host.includes('+')) throw new ConfigError(`hostname ${JSON.stringify(host)} contains '+', which slot ids use (host+<slot>)`);
  return formatWorkerId(slot === 0 ? host : `${host}+${slot}`, pid, queueSpecs);
}

/** The machine and slot a worker id's host field names: `vm+3` is slot 3 on `vm`, `vm` slot 0. */
export function slotHostOf(host: string): { host: string; slot: number } {
  const m = /^(.*)\+([1-9][0-9]?)$/.exec(host);
  if (!m) return { host, slot: 0 };
  const slot = Number(m[2]);
  return slot < MAX_SLOTS ? { host: m[1]!, slot } : { host, slot: 0 };
}
