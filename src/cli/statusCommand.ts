import type { Argv } from 'yargs';
import type { Admin } from '../admin/admin';
import { ConfigError, coerceError } from '../errors';
import type { DecodedStatus } from '../protocol/status';
import { type Io, checkPaging, serverOf, stdio } from './adminCli';
import { withConnectionOptions } from './options';
import { type DsnArgs, serversFromArgs, withDsnOption } from './webCommand';

/**
 * `pyres-ts status-of <uuid>`, `pyres-ts kill <uuid>`, `pyres-ts statuses [--state S]`: resque-status's
 * statuses from the shell (docs/STATUS.md), on the keys Ruby's `Resque::Plugins::Status::Hash` uses.
 *
 * Exit codes: 0 done; 1 Redis could not be read, or no such status; 2 a usage error.
 */

/** The arguments of the status commands. */
export interface StatusCommandArgs extends DsnArgs {
  action: 'status-of' | 'kill' | 'statuses';
  uuid?: string;
  state?: string;
  json: boolean;
  server?: string;
  start?: number;
  count?: number;
}

/** Registers `status-of`, `kill` and `statuses` on the CLI. */
export function registerStatusCommands(y: Argv, setCode: (n: number) => void): Argv {
  const common = <T>(b: Argv<T>) =>
    withDsnOption(withConnectionOptions(b))
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('server', { type: 'string', describe: 'with several --dsn servers: which one (its position from 0, or its label)' });
  return y
    .command(
      'status-of <uuid>',
      "a status job's status (resque-status): state, progress, message, result",
      b => common(b).positional('uuid', { type: 'string', demandOption: true }),
      async a => setCode(await runStatusCommand({ ...(a as unknown as StatusCommandArgs), action: 'status-of' })),
    )
    .command(
      'kill <uuid>',
      "asks a status job to stop (SADD _kill, as resque-web's Kill): it ends `killed` at its next progress call or kill poll",
      b => common(b).positional('uuid', { type: 'string', demandOption: true }),
      async a => setCode(await runStatusCommand({ ...(a as unknown as StatusCommandArgs), action: 'kill' })),
    )
    .command(
      'statuses',
      "the statuses of status jobs, newest first (resque-web's Statuses tab)",
      b =>
        common(b)
          .option('state', { type: 'string', describe: 'only this state: queued, working, completed, failed, killed' })
          .option('start', { type: 'number', default: 0, describe: 'the first to show (0 = newest)' })
          .option('count', { type: 'number', default: 50, describe: 'how many to show (1-1000)' }),
      async a => setCode(await runStatusCommand({ ...(a as unknown as StatusCommandArgs), action: 'statuses' })),
    );
}

function line(s: DecodedStatus): string {
  const progress = s.num !== null && s.total !== null ? ` ${s.num}/${s.total}` : '';
  return `${s.uuid}  ${(s.state ?? '?').padEnd(9)} ${String(s.pct).padStart(3)}%${progress}  ${s.name ?? ''}  ${s.message ?? ''}`.trimEnd();
}

function view(s: DecodedStatus): Record<string, unknown> {
  return { ...s.fields, uuid: s.uuid, status: s.state ?? s.fields['status'], pct_complete: s.pct, ...(s.problem ? { problem: s.problem } : {}) };
}

/** Runs one of the status commands; returns the exit code. Bad flags throw ConfigError (exit 2, one line naming the flag). */
export async function runStatusCommand(a: StatusCommandArgs, io: Io = stdio): Promise<number> {
  const st = require('../admin/status') as typeof import('../admin/status');
  if (a.action !== 'statuses') {
    try {
      st.checkUuid(a.uuid);
    } catch (e) {
      throw new ConfigError(`<uuid>: ${coerceError(e).message}`);
    }
  } else {
    if (a.state !== undefined) {
      try {
        st.checkState(a.state);
      } catch (e) {
        throw new ConfigError(`--state: ${coerceError(e).message}`);
      }
    }
    checkPaging(a.start, a.count);
  }
  const { Admin: AdminClass, AdminActionError } = require('../admin/admin') as typeof import('../admin/admin');
  const d: Admin = new AdminClass(serversFromArgs(a), { name: 'pyres-ts:admin' });
  try {
    const server = serverOf(d, a.server);
    await d.connect();
    const store = st.statusStoreOf(server);
    switch (a.action) {
      case 'status-of': {
        const s = await st.readStatus(store, a.uuid!);
        if (s === null) throw new AdminActionError(`no status ${a.uuid}`);
        io.out(a.json ? JSON.stringify(view(s)) : `${line(s)}${s.fields['result'] !== undefined ? `\nresult: ${JSON.stringify(s.fields['result'])}` : ''}`);
        return 0;
      }
      case 'kill': {
        const s = await st.killStatus(store, a.uuid!);
        io.out(
          a.json
            ? JSON.stringify({ uuid: s.uuid, killRequested: true, state: s.state })
            : s.state === 'working' || s.state === 'queued'
              ? `kill requested for ${s.uuid} (${s.state}): it ends killed at its next progress call or kill poll`
              : `kill requested for ${s.uuid}, which is already ${s.state ?? 'in an unknown state'}`,
        );
        return 0;
      }
      case 'statuses': {
        const state = a.state === undefined ? undefined : st.checkState(a.state);
        const page = await st.statusPage(store, a.start ?? 0, a.count ?? 50, state);
        if (a.json) io.out(JSON.stringify({ total: page.total, statuses: page.items.map(view), killRequested: page.killRequested }));
        else io.out([`${page.total} status${page.total === 1 ? '' : 'es'}${state ? ` ${state}` : ''}`, ...page.items.map(line)].join('\n'));
        return 0;
      }
    }
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
