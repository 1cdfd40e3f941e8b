import type { Argv } from 'yargs';
import type { Admin } from '../admin/admin';
import type { RetryRow } from '../admin/retries';
import { type Io, checkPaging, serverOf, stdio } from './adminCli';
import { withConnectionOptions } from './options';
import { type DsnArgs, serversFromArgs, withDsnOption } from './webCommand';

/**
 * `pyres-ts retries`: the pending retries (resque-retry's counters found through the delayed
 * schedule, as the dashboard's Retries page and resque-web's Retry tab show them; docs/RETRY.md).
 *
 * Exit codes: 0 done; 1 Redis could not be read; 2 a usage error.
 */

/** The arguments of `pyres-ts retries`. */
export interface RetriesCommandArgs extends DsnArgs {
  json: boolean;
  server?: string;
  start?: number;
  count?: number;
}

/** Registers `retries` on the CLI. */
export function registerRetriesCommand(y: Argv, setCode: (n: number) => void): Argv {
  return y.command(
    'retries',
    "pending retries (resque-retry): class, args, attempt, next run, last suppressed failure (resque-web's Retry tab)",
    b =>
      withDsnOption(withConnectionOptions(b))
        .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
        .option('server', { type: 'string', describe: 'with several --dsn servers: which one (its position from 0, or its label)' })
        .option('start', { type: 'number', default: 0, describe: 'the first delayed timestamp to look at (0 = the soonest)' })
        .option('count', { type: 'number', default: 20, describe: 'how many delayed timestamps to look at (1-1000)' }),
    async a => setCode(await runRetriesCommand(a as unknown as RetriesCommandArgs)),
  );
}

function view(r: RetryRow): Record<string, unknown> {
  return {
    ts: r.ts,
    runAt: r.runAt,
    class: r.item.className,
    args: r.item.args,
    queue: r.item.queue,
    key: r.key,
    attempt: r.attempt,
    exception: r.failure?.exception ?? null,
    error: r.failure?.error ?? null,
    ...(r.item.className === null ? { raw: r.item.raw } : {}),
    ...(r.problem ? { problem: r.problem } : {}),
  };
}

function line(r: RetryRow): string {
  const at = new Date(r.runAt * 1000);
  const when = Number.isNaN(at.getTime()) ? r.ts : at.toISOString().replace('.000', '');
  const job = r.item.className === null ? JSON.stringify(r.item.raw) : `${r.item.className} ${r.item.args === null ? r.item.raw : JSON.stringify(r.item.args)}`;
  const fail = r.failure ? `  ${r.failure.exception ?? '?'}: ${r.failure.error ?? ''}` : '';
  return `${when}  attempt ${r.attempt ?? 'n/a'}  ${job}${fail}${r.problem ? `  [${r.problem}]` : ''}`;
}

/** Runs `pyres-ts retries`; returns the exit code. Bad flags throw ConfigError (exit 2, one line naming the flag). */
export async function runRetriesCommand(a: RetriesCommandArgs, io: Io = stdio): Promise<number> {
  checkPaging(a.start, a.count);
  const { Admin: AdminClass, AdminActionError } = require('../admin/admin') as typeof import('../admin/admin');
  const { retryPage } = require('../admin/retries') as typeof import('../admin/retries');
  const d: Admin = new AdminClass(serversFromArgs(a), { name: 'pyres-ts:admin' });
  try {
    const server = serverOf(d, a.server);
    await d.connect();
    const p = await retryPage(server, a.start ?? 0, a.count ?? 20);
    if (a.json) io.out(JSON.stringify({ timestamps: p.timestamps, retries: p.rows.map(view) }));
    else
      io.out(
        [`${p.rows.length} pending retr${p.rows.length === 1 ? 'y' : 'ies'} (delayed timestamps ${p.start}.. of ${p.timestamps})`, ...p.rows.map(line)].join(
          '\n',
        ),
      );
    return 0;
  } catch (e) {
    if (e instanceof AdminActionError) {
      io.err(`pyres-ts: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await d.close();
  }
}
