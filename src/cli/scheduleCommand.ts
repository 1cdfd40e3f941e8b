import type { Argv } from 'yargs';
import { ConfigError, coerceError } from '../errors';
import type { Admin } from '../admin/admin';
import type { Logger } from '../logging/logger';
import { compactJsonText } from '../protocol/job';
import { decodeScheduleEntry, parseDuration, splitCron } from '../protocol/schedule';
import type { RecurringSchedules } from '../scheduler/recurring';
import { type Io, stdio } from './adminCli';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';
import { type DsnArgs, serversFromArgs, withDsnOption } from './webCommand';

/**
 * `pyres-ts schedule list|set|remove|load|enqueue-now`: resque-scheduler's dynamic schedules
 * (`persistent_schedules` + `schedules_changed`) from the shell, written exactly as Ruby's
 * `Resque.set_schedule(name, config.merge(persist: true))` / `remove_schedule` write them. A
 * running scheduler picks changes up when it is dynamic (`pyres-ts scheduler --dynamic`, Ruby's
 * DYNAMIC_SCHEDULE=1). Also the scheduler's options: `scheduleOptions(y)` and `recurringFromArgv(a)`.
 *
 * Exit codes: 0 done; 1 Redis could not be read or the action could not be done; 2 a usage error.
 */

/** The arguments of `pyres-ts schedule`. */
export interface ScheduleCommandArgs extends DsnArgs {
  action: 'list' | 'set' | 'remove' | 'load' | 'enqueue-now';
  name?: string;
  json: boolean;
  server?: string;
  cron?: string;
  every?: string;
  'first-in'?: string;
  queue?: string;
  class?: string;
  args?: string;
  description?: string;
}

/** Registers `pyres-ts schedule <action> [name]` on the CLI. */
export function registerScheduleCommand(y: Argv, setCode: (n: number) => void): Argv {
  return y.command(
    'schedule <action> [name]',
    "recurring schedules (resque-scheduler's dynamic schedules): list, set NAME, remove NAME, load FILE.yml, enqueue-now NAME",
    b =>
      withDsnOption(withConnectionOptions(b))
        .positional('action', { choices: ['list', 'set', 'remove', 'load', 'enqueue-now'] as const, demandOption: true })
        .positional('name', { type: 'string', describe: 'the schedule name (load: the YAML file)' })
        .option('json', { type: 'boolean', default: false, describe: 'list: machine-readable output' })
        .option('server', { type: 'string', describe: 'with several --dsn servers: which one (its position from 0, or its label)' })
        .option('cron', { type: 'string', describe: 'set: a cron line, 5 fields or 6 (seconds first), optional time zone: "0 5 * * * America/New_York"' })
        .option('every', { type: 'string', describe: 'set: a rufus duration: 30s, 1h30m, 1d' })
        .option('first-in', { type: 'string', describe: 'set, with --every: the first run after this duration instead of one period' })
        .option('queue', { type: 'string', describe: 'set: the queue (required; always written)' })
        .option('class', { type: 'string', describe: 'set: the job class' })
        .option('args', { type: 'string', describe: 'set: the args as JSON (an array is the args list; anything else is one arg, as in Ruby)' })
        .option('description', { type: 'string', describe: 'set: a description shown in the Schedule pages' }),
    async a => setCode(await runSchedule(a as unknown as ScheduleCommandArgs)),
  );
}

async function withAdmin<T>(a: ScheduleCommandArgs, fn: (d: Admin, server: number) => Promise<T>): Promise<T> {
  const { Admin } = require('../admin/admin') as typeof import('../admin/admin');
  const d = new Admin(serversFromArgs(a), { name: 'pyres-ts:admin' });
  let server: number;
  if (a.server === undefined || a.server === '') {
    if (d.servers.length !== 1) {
      await d.close();
      throw new ConfigError(`several servers: say which with --server (${d.servers.map(s => `${s.id}=${s.label}`).join(', ')})`);
    }
    server = d.servers[0]!.id;
  } else {
    try {
      server = d.server(a.server).id;
    } catch (e) {
      await d.close();
      throw new ConfigError(coerceError(e).message);
    }
  }
  try {
    await d.connect();
    return await fn(d, server);
  } finally {
    await d.close();
  }
}

/** Each flag of `schedule set` checked before anything is written; the message names the flag. */
function checkSetFlags(a: ScheduleCommandArgs): void {
  const { checkCron } = require('../scheduler/recurringPlan') as typeof import('../scheduler/recurringPlan');
  const { processTimeZone } = require('../scheduler/recurring') as typeof import('../scheduler/recurring');
  if (a.cron !== undefined) {
    let problem: string | null;
    try {
      problem = checkCron({ kind: 'cron', text: a.cron, ...splitCron(a.cron) }, processTimeZone());
    } catch (e) {
      problem = coerceError(e).message;
    }
    if (problem) throw new ConfigError(`--cron ${JSON.stringify(a.cron)}: ${problem}`);
  }
  if (a.every !== undefined && parseDuration(a.every) === null) throw new ConfigError(`--every ${JSON.stringify(a.every)} is not a duration (30s, 1h30m, 1d)`);
  if (a['first-in'] !== undefined && parseDuration(a['first-in']) === null)
    throw new ConfigError(`--first-in ${JSON.stringify(a['first-in'])} is not a duration (30s, 1h30m, 1d)`);
  if (a.args !== undefined) {
    try {
      compactJsonText(a.args);
    } catch (e) {
      throw new ConfigError(`--args ${JSON.stringify(a.args)} is not JSON (${coerceError(e).message.split('\n')[0]}); quote strings, e.g. '"text"'`);
    }
  }
}

function need(a: ScheduleCommandArgs, what: string): string {
  if (a.name === undefined || a.name === '') throw new ConfigError(`schedule ${a.action}: give ${what}`);
  return a.name;
}

/** Runs `pyres-ts schedule ...`; resolves with the exit code. */
export async function runSchedule(a: ScheduleCommandArgs, io: Io = stdio): Promise<number> {
  const sched = require('../admin/schedule') as typeof import('../admin/schedule');
  const { AdminActionError } = require('../admin/admin') as typeof import('../admin/admin');
  if (a.action === 'set') {
    need(a, 'the schedule name');
    if (!a.class) throw new ConfigError('schedule set: --class is required');
    if (!a.queue) throw new ConfigError("schedule set: --queue is required (pyres-ts always writes a queue; it cannot infer a class's queue as Ruby does)");
    if ((a.cron === undefined) === (a.every === undefined)) throw new ConfigError('schedule set: give exactly one of --cron or --every');
    if (a['first-in'] !== undefined && a.every === undefined) throw new ConfigError('schedule set: --first-in goes with --every');
  }
  if (a.action === 'set') checkSetFlags(a);
  let entries: Array<[string, string]> = [];
  if (a.action === 'load') {
    const { loadScheduleFile } = require('../scheduler/recurring') as typeof import('../scheduler/recurring');
    const file = need(a, 'the YAML file');
    try {
      entries = sched.encodeScheduleFile(loadScheduleFile(file));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`${file}: nothing written: ${coerceError(e).message}`);
    }
  }
  try {
    return await withAdmin(a, async (d, server) => {
      switch (a.action) {
        case 'list': {
          const r = await sched.serverSchedules(d.server(server));
          if (a.json) {
            io.out(
              JSON.stringify(
                {
                  now: r.nowIso,
                  schedules: r.rows.map(x => ({
                    name: x.name,
                    class: x.entry.className,
                    queue: x.entry.queue,
                    args: x.entry.argsText,
                    interval: x.entry.intervalText,
                    description: x.entry.description,
                    lastEnqueuedAt: x.lastEnqueuedAt,
                    next: x.nextIso,
                    problem: x.problem,
                    raw: x.entry.raw,
                  })),
                },
                null,
                2,
              ),
            );
          } else if (r.rows.length === 0) io.out('no schedules in persistent_schedules');
          else {
            const rows = [
              ['NAME', 'INTERVAL', 'CLASS', 'QUEUE', 'ARGS', 'LAST ENQUEUED', 'NEXT'],
              ...r.rows.map(x =>
                x.problem
                  ? [x.name, `BROKEN: ${x.problem}`, '', '', '', x.lastEnqueuedAt ?? 'Never', '']
                  : [
                      x.name,
                      x.entry.intervalText,
                      x.entry.className ?? '',
                      x.entry.queue ?? '',
                      x.entry.argsText,
                      x.lastEnqueuedAt ?? 'Never',
                      x.nextIso ?? '-',
                    ],
              ),
            ];
            const widths: number[] = [];
            for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
            io.out(
              rows
                .map(row =>
                  row
                    .map((c, i) => c.padEnd(widths[i] ?? 0))
                    .join('  ')
                    .trimEnd(),
                )
                .join('\n'),
            );
          }
          return 0;
        }
        case 'set': {
          const name = need(a, 'the schedule name');
          const json = await sched.setSchedule(d, server, name, {
            className: a.class!,
            queue: a.queue!,
            ...(a.cron !== undefined ? { cron: a.cron } : {}),
            ...(a.every !== undefined ? { every: a.every } : {}),
            ...(a['first-in'] !== undefined ? { firstIn: a['first-in'] } : {}),
            ...(a.args !== undefined ? { argsText: a.args } : {}),
            ...(a.description !== undefined ? { description: a.description } : {}),
          });
          io.out(`set ${name}: ${json} (a dynamic scheduler picks it up; DYNAMIC_SCHEDULE=1 in Ruby, --dynamic in pyres-ts)`);
          return 0;
        }
        case 'remove': {
          const name = need(a, 'the schedule name');
          await sched.removeSchedule(d, server, name);
          io.out(`removed ${name}`);
          return 0;
        }
        case 'load': {
          const names = await sched.loadSchedules(d, server, entries);
          io.out(`set ${names.length} schedule${names.length === 1 ? '' : 's'}: ${names.join(', ')}`);
          return 0;
        }
        case 'enqueue-now': {
          const name = need(a, 'the schedule name');
          const r = await sched.enqueueScheduleNow(d, server, name);
          io.out(`enqueued ${r.payload} to ${r.queue}`);
          return 0;
        }
      }
      return 2;
    });
  } catch (e) {
    if (e instanceof AdminActionError) {
      io.err(`pyres-ts: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

// ---- the scheduler's recurring options (called by `pyres-ts scheduler`) --------------------

/** The arguments scheduleOptions adds. */
export interface ScheduleArgs {
  schedule?: string;
  dynamic?: boolean;
  'schedule-env'?: string;
}

/** The recurring-schedule options of `pyres-ts scheduler`: `--schedule FILE.yml`, `--dynamic`, `--schedule-env`. */
export function scheduleOptions<T>(y: Argv<T>) {
  return y
    .option('schedule', {
      type: 'string',
      describe: "a resque-scheduler schedule.yml (name: {cron|every, class, queue, args, description}); held by this scheduler only, as Ruby's static schedule",
    })
    .option('dynamic', {
      type: 'boolean',
      default: false,
      describe:
        "follow schedules_changed: schedules set or removed at run time (pyres-ts schedule, Ruby's set_schedule) take effect (Ruby's DYNAMIC_SCHEDULE=1)",
    })
    .option('schedule-env', {
      type: 'string',
      describe: 'the environment schedules with rails_env/env must name (default: $RAILS_ENV, as Ruby)',
    });
}

/**
 * The recurring-schedule extension for `pyres-ts scheduler`, from its argv: the `--schedule`
 * file read and checked now (a bad entry, a schedule without `queue`, a bad cron line or zone is a
 * ConfigError naming the file and the entry), persistent schedules read at each leadership, and
 * `--dynamic`. Give it to the scheduler loop; `close()` it at exit.
 */
export function recurringFromArgv(a: ScheduleArgs & ConnectionArgs, logger: Logger, env: NodeJS.ProcessEnv = process.env): RecurringSchedules {
  const { RecurringSchedules, entryProblem, loadScheduleFile, processTimeZone } = require('../scheduler/recurring') as typeof import('../scheduler/recurring');
  const { ScheduleStore } = require('../store/scheduleStore') as typeof import('../store/scheduleStore');
  if (a.schedule === '') throw new ConfigError('--schedule needs a file');
  const staticSchedule = a.schedule === undefined ? {} : loadScheduleFile(a.schedule);
  const tz = processTimeZone();
  for (const [name, config] of Object.entries(staticSchedule)) {
    const problem = entryProblem(decodeScheduleEntry(name, config), tz);
    if (problem) throw new ConfigError(`--schedule ${a.schedule}: schedule ${JSON.stringify(name)}: ${problem}`);
  }
  const store = new ScheduleStore({ connection: connectionFromArgs(a, env), namespace: a.namespace, name: 'pyres-ts:scheduler' });
  return new RecurringSchedules({
    store,
    logger,
    staticSchedule,
    dynamic: a.dynamic === true,
    env: a['schedule-env'] ?? env['RAILS_ENV'] ?? null,
    defaultTz: tz,
  });
}
