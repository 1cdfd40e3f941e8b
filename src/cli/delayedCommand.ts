import type { Argv } from 'yargs';
import type { DelayedItem } from '../protocol/delayed';
import { ConfigError } from '../errors';
import type { Client as ClientT } from '../producer/client';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';

/**
 * `pyres-ts delayed list [TS] | remove TS ITEM | enqueue-now TS [ITEM] | clear --yes`: the
 * Delayed page from the shell (src/admin/delayed.ts). ITEM is an item's exact bytes as `list TS`
 * prints them. Exit codes: 0 done, 1 not found / Redis down, 2 a usage error.
 */

export interface DelayedArgs extends ConnectionArgs {
  action: 'list' | 'remove' | 'enqueue-now' | 'clear';
  ts?: string | number;
  item?: string;
  start: number;
  count: number;
  yes: boolean;
  json: boolean;
}

export function delayedBuilder(y: Argv) {
  return withConnectionOptions(y)
    .positional('action', { choices: ['list', 'remove', 'enqueue-now', 'clear'] as const, demandOption: true })
    .positional('ts', { type: 'string', describe: 'a timestamp (epoch seconds) as `delayed list` shows it' })
    .positional('item', { type: 'string', describe: 'an item, its exact bytes as `delayed list TS` prints them' })
    .option('start', { type: 'number', default: 0 })
    .option('count', { type: 'number', default: 20 })
    .option('yes', { type: 'boolean', default: false, describe: 'confirm `clear`' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' });
}

/** resque-web's time format: `%Y-%m-%d %H:%M:%S %z`, here in UTC. */
export function formatDelayedTime(ts: number): string {
  const d = new Date(ts * 1000);
  if (Number.isNaN(d.getTime())) return String(ts);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

function describeItem(i: DelayedItem): string {
  if (i.problem) return `(poison: ${i.problem})`;
  return `${i.className}${i.args ? ` ${JSON.stringify(i.args)}` : ''}${i.queue ? ` -> ${i.queue}` : ' (no queue)'}`;
}

export async function runDelayed(a: DelayedArgs, out: (s: string) => void = s => void process.stdout.write(`${s}\n`)): Promise<number> {
  const ts = a.ts === undefined ? undefined : String(a.ts);
  if (ts !== undefined && !/^-?\d+$/.test(ts) && a.action !== 'list')
    throw new ConfigError(`the timestamp must be epoch seconds (see: pyres-ts delayed list), got ${JSON.stringify(ts)}`);
  if ((a.action === 'remove' || a.action === 'enqueue-now') && ts === undefined)
    throw new ConfigError(`delayed ${a.action} needs a timestamp (see: pyres-ts delayed list)`);
  if (a.action === 'remove' && a.item === undefined)
    throw new ConfigError('delayed remove needs the item, its exact bytes as `pyres-ts delayed list TS` prints them');
  if (a.action === 'clear' && !a.yes) throw new ConfigError('delayed clear removes every delayed job: add --yes to confirm');
  if (!Number.isInteger(a.start) || a.start < 0) throw new ConfigError(`--start must be 0 or more, got ${a.start}`);
  if (!Number.isInteger(a.count) || a.count < 1) throw new ConfigError(`--count must be 1 or more, got ${a.count}`);
  const { Client } = require('../producer/client') as typeof import('../producer/client');
  const c: ClientT = new Client({ connection: connectionFromArgs(a), namespace: a.namespace });
  try {
    await c.connect();
    const d = c.delayed;
    switch (a.action) {
      case 'list': {
        if (ts !== undefined) {
          const r = await d.itemsAt(ts, a.start, a.count);
          if (a.json) out(JSON.stringify(r, null, 2));
          else {
            out(`${r.size} item${r.size === 1 ? '' : 's'} at ${ts} (${formatDelayedTime(Number(ts))})`);
            r.items.forEach((i, n) => out(`  ${a.start + n}  ${describeItem(i)}\n     ${i.raw}`));
          }
          return 0;
        }
        const [o, items] = await Promise.all([d.overview(a.start, a.count), d.itemCount()]);
        if (a.json) out(JSON.stringify({ ...o, items }, null, 2));
        else {
          out(`Scheduler leader: ${o.leader ? `${o.leader.value} (lock TTL ${o.leader.ttl} s)` : 'none'}`);
          out(`Delayed: ${items} job${items === 1 ? '' : 's'} at ${o.timestamps} timestamp${o.timestamps === 1 ? '' : 's'}`);
          for (const r of o.rows) {
            const one = r.size === 1 && r.first ? `: ${describeItem(r.first)}` : '';
            out(`  ${r.member.padEnd(11)}  ${formatDelayedTime(r.ts)}  ${r.size} job${r.size === 1 ? '' : 's'}${one}`);
          }
        }
        return 0;
      }
      case 'remove':
        await d.remove(ts as string, a.item as string);
        out(a.json ? JSON.stringify({ removed: 1, ts }) : `removed 1 item at ${ts}`);
        return 0;
      case 'enqueue-now': {
        if (a.item !== undefined) {
          const q = await d.queueNow(ts as string, a.item);
          out(
            a.json
              ? JSON.stringify({ moved: q ? 1 : 0, queue: q })
              : q
                ? `pushed 1 item at ${ts} to ${q}`
                : `the item at ${ts} is not a job: parked for the scheduler to record as a failure`,
          );
          return 0;
        }
        const r = await d.queueNowTimestamp(ts as string);
        out(
          a.json
            ? JSON.stringify(r)
            : `pushed ${r.moved} item${r.moved === 1 ? '' : 's'} at ${ts} to their queues${r.poison ? ` (${r.poison} poison, parked for the scheduler)` : ''}`,
        );
        return 0;
      }
      case 'clear': {
        const n = await d.clear();
        out(a.json ? JSON.stringify({ cleared: n }) : `cleared ${n} delayed job${n === 1 ? '' : 's'}`);
        return 0;
      }
    }
  } finally {
    await c.close();
  }
}

/** `pyres-ts enqueue --at TIME | --in SECONDS`: delays the job (args as JSON text); returns the line to print. */
export async function delayedEnqueue(
  client: ClientT,
  a: { queue: string; class: string; at?: string; in?: string },
  argsText: string,
  count: number,
): Promise<string> {
  const { parseAtTime, parseInSeconds } = require('../config/scheduler') as typeof import('../config/scheduler');
  if (a.at !== undefined && a.in !== undefined) throw new ConfigError('give one of --at and --in');
  const at = a.at !== undefined ? parseAtTime(a.at) : undefined;
  const secs = a.in !== undefined ? parseInSeconds(a.in) : undefined;
  let last: Awaited<ReturnType<ClientT['enqueueAtArgsText']>> | undefined;
  for (let i = 0; i < count; i++) {
    last =
      at !== undefined
        ? await client.enqueueAtArgsText(at, String(a.queue), String(a.class), argsText)
        : await client.enqueueInArgsText(secs as number, String(a.queue), String(a.class), argsText);
  }
  const r = last as NonNullable<typeof last>;
  const n = count > 1 ? `${count} x ` : '';
  return r.enqueuedNow
    ? `enqueued ${n}${r.payload} to ${a.queue} (its time ${formatDelayedTime(r.ts)} is not in the future)\n`
    : `delayed ${n}${r.item} to ${formatDelayedTime(r.ts)} (${r.ts})\n`;
}
