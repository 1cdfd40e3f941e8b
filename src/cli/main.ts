import yargs from 'yargs';
import { PyresError, coerceError } from '../errors';
import { drainLogFiles } from '../logging/fileSink';
import { flushStdio, guardStdio } from '../logging/stdio';
import type { Client as ClientT } from '../producer/client';
import { VERSION } from '../version';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';
import type { WorkerArgs } from './workerCommand';
import type { MasterArgs } from './masterCommand';
import { registerAdminCommands } from './adminCommands';
import type { WebArgs } from './webCommand';
import { withEnvOptions } from './envOptions';
import { registerScheduleCommand } from './scheduleCommand';
import type { SchedulerArgs } from './schedulerCommand';
import type { DelayedArgs } from './delayedCommand';
import { registerStatusCommands } from './statusCommand';
import { registerRetriesCommand } from './retriesCommand';
import { initIfPid1, type Pid1Mode, withPid1Option } from './containerInit';

class UsageError extends PyresError {}

/** The longest a long-running command's exit waits for a stalled reader of its stdout/stderr. */
const STDIO_FLUSH_MS = 1000;

/** Runs the CLI; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  // A lost stdout/stderr (closed pipe, dead `| tee`, ssh drop) must not crash a worker or a
  // master between a job and its outcome: a failed write marks the stream gone, work goes on.
  guardStdio();
  // Node's own meaning of USR1 is to open its inspector on 127.0.0.1:9229, through which any
  // local user could run code as this process; `pkill -USR1 -f pyres` is a Resque habit (kill
  // the child's job). A listener replaces that default for every command; the commands that
  // give USR1 a meaning (worker, master, scheduler, web) add their own.
  process.on('SIGUSR1', () => undefined);
  let code: number;
  // A one-shot command's output is its result: waited for as long as its reader takes. A
  // long-running one (worker, master, scheduler, web) keeps its stop deadline: 1 s at most.
  let longRunning = false;
  try {
    // A long-running command (worker, master, scheduler, web) runs once the parse is over and
    // its yargs instance (every command's options, help texts and parse state) is garbage, not
    // from inside its handler for the process's whole life.
    const parsed = await parse(argv);
    longRunning = typeof parsed !== 'number';
    code = typeof parsed === 'number' ? parsed : await parsed();
  } catch (e) {
    const err = coerceError(e);
    process.stderr.write(`pyres-ts: ${err.message}${err instanceof UsageError ? ' (see pyres-ts --help)' : ''}\n`);
    if (!(err instanceof PyresError) && process.env['PYRES_TS_DEBUG']) process.stderr.write(`${err.stack}\n`);
    await drainLogFiles();
    await flushStdio(longRunning ? { maxMs: STDIO_FLUSH_MS } : {});
    return err instanceof UsageError || err instanceof PyresError ? 2 : 1;
  }
  // A -f log file is written asynchronously: its last lines land (in order) before the exit;
  // so does what stdout and stderr still hold for a pipe (the caller exits with process.exit()).
  await drainLogFiles();
  await flushStdio(longRunning ? { maxMs: STDIO_FLUSH_MS } : {});
  return code;
}

/** Parses argv and runs a short command; resolves with its exit code, or with the long-running command to run. */
async function parse(argv: string[]): Promise<number | (() => Promise<number>)> {
  let code = 0;
  let later: (() => Promise<number>) | null = null;
  // As a container's PID 1 (`init` is the exit code of the init's child): the same command as the
  // child of a small init that reaps orphans; otherwise the command itself, after the parse.
  const runLater = (init: number | null, command: () => Promise<number>): void => {
    if (init === null) later = command;
    else code = init;
  };
  // Every option also as PYRES_<OPTION>, and Ruby's QUEUE/QUEUES, COUNT, INTERVAL, RESQUE_TERM_TIMEOUT.
  const parser = withEnvOptions(yargs(argv))
    .scriptName('pyres-ts')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'give a command: worker, master, ctl, enqueue, status, web, queues, workers, failed (see --help)')
    .recommendCommands()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .command(
      'worker [queuesPositional]',
      'work jobs from Resque queues',
      y => withPid1Option(workerCommand().workerBuilder(withoutHelpCache(y))),
      async a => runLater(await initIfPid1('worker', a['pid1'] as Pid1Mode, argv), () => workerCommand().runWorker(a as unknown as WorkerArgs)),
    )
    .command(
      ['master [queuesPositional]', 'manager'],
      'pre-fork and supervise worker children',
      y => withPid1Option(masterCommand().masterBuilder(withoutHelpCache(y))),
      async a => runLater(await initIfPid1('master', a['pid1'] as Pid1Mode, argv), () => masterCommand().runMaster(a as unknown as MasterArgs)),
    )
    .command(
      'ctl <action> [master] [spec]',
      'control masters on any host: list, status, watch, scale, pause, resume, stop',
      y => ctlCommand().ctlBuilder(y),
      async a => {
        code = await ctlCommand().runCtl(a as never);
      },
    )
    .command(
      'web',
      'dashboard for one or more Redis servers: queues, workers, masters, failed jobs, stats',
      y => webCommand().webBuilder(y),
      async a => runLater(null, () => webCommand().runWeb(a as unknown as WebArgs)),
    )
    .command(
      'enqueue <queue> <class> [args..]',
      'push a job as Resque.enqueue does; each arg is JSON (quote strings: \'"text"\')',
      y =>
        withConnectionOptions(y)
          .positional('queue', { type: 'string', demandOption: true })
          .positional('class', { type: 'string', demandOption: true })
          .positional('args', { type: 'string', array: true })
          .option('count', { type: 'number', default: 1, describe: 'push the same job this many times' })
          .option('at', { type: 'string', describe: "delay the job to this time (ISO 8601 with a zone, or epoch seconds), as resque-scheduler's enqueue_at" })
          .option('in', { type: 'string', describe: 'delay the job by this many seconds (from Redis TIME), as enqueue_in' }),
      async a => {
        // Each arg's JSON text as given, compacted only: 9007199254740993, 1.0 and key order reach the job as typed.
        const argsText = `[${((a['args'] as unknown[] | undefined) ?? []).map((s, i) => compactJsonArg(String(s), i + 1)).join(',')}]`;
        const client = newClient({ connection: connectionFromArgs(a as unknown as ConnectionArgs), namespace: a.namespace });
        try {
          await client.connect();
          let payload = '';
          const n = a['count'] as number;
          if (!Number.isInteger(n) || n < 1) throw new UsageError(`--count must be a whole number of 1 or more, got ${n}`);
          if (a['at'] !== undefined || a['in'] !== undefined) {
            const { delayedEnqueue } = delayedCommand();
            process.stdout.write(await delayedEnqueue(client, a as never, argsText, n));
            return;
          }
          for (let i = 0; i < n; i++) payload = await client.enqueueArgsText(String(a['queue']), String(a['class']), argsText);
          process.stdout.write(`enqueued ${n > 1 ? `${n} x ` : ''}${payload} to ${String(a['queue'])}\n`);
        } finally {
          await client.close();
        }
      },
    )
    .command(
      'scheduler',
      "move delayed jobs to their queues when due, electing one leader with resque-scheduler's lock",
      y => withPid1Option(schedulerCommand().schedulerBuilder(withoutHelpCache(y))),
      async a => runLater(await initIfPid1('scheduler', a['pid1'] as Pid1Mode, argv), () => schedulerCommand().runScheduler(a as unknown as SchedulerArgs)),
    )
    .command(
      'delayed <action> [ts] [item]',
      'delayed jobs: list [TS], remove TS ITEM, enqueue-now TS [ITEM], clear --yes',
      y => delayedCommand().delayedBuilder(y),
      async a => {
        code = await delayedCommand().runDelayed(a as unknown as DelayedArgs);
      },
    )
    .command(
      'status',
      'queues, workers and what each is doing, failures and stats',
      y => withConnectionOptions(y).option('json', { type: 'boolean', default: false }),
      async a => {
        const client = newClient({ connection: connectionFromArgs(a as unknown as ConnectionArgs), namespace: a.namespace });
        try {
          await client.connect();
          const s = await client.status();
          process.stdout.write(a['json'] ? JSON.stringify(s, null, 2) + '\n' : (require('./status') as typeof import('./status')).formatStatus(s));
        } finally {
          await client.close();
        }
      },
    )
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100));
  registerAdminCommands(parser, n => (code = n));
  registerScheduleCommand(parser, n => (code = n));
  registerStatusCommands(parser, n => (code = n));
  registerRetriesCommand(parser, n => (code = n));
  await parser.parseAsync();
  return later ?? code;
}

/**
 * Before it calls a command's handler, yargs 17 renders that command's whole help text and keeps
 * it, for a handler that would show help later (`cacheHelpMessage`): for the master's 70 options
 * that is the largest part of its parse (tens of ms of CPU before it can fork a child). Our
 * handlers never show help (`.fail()` throws, `--help` is rendered afresh), so the copy is skipped.
 * Only yargs' own usage object is touched, and only when it has that method.
 */
function withoutHelpCache<T>(y: T): T {
  const usage = (y as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } })
    .getInternalMethods?.()
    .getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
  return y;
}

// Each command's module is loaded when yargs runs that command's builder (or handler), so a
// `worker` process never loads the master, the scheduler, ctl or the web (their code and
// heap: a few MB of RSS per worker process).
const workerCommand = () => require('./workerCommand') as typeof import('./workerCommand');
const masterCommand = () => require('./masterCommand') as typeof import('./masterCommand');
const ctlCommand = () => require('./ctlCommand') as typeof import('./ctlCommand');
const webCommand = () => require('./webCommand') as typeof import('./webCommand');
const schedulerCommand = () => require('./schedulerCommand') as typeof import('./schedulerCommand');
const delayedCommand = () => require('./delayedCommand') as typeof import('./delayedCommand');

function newClient(o: ConstructorParameters<typeof ClientT>[0]): ClientT {
  const { Client } = require('../producer/client') as typeof import('../producer/client');
  return new Client(o);
}

function compactJsonArg(s: string, n: number): string {
  const { compactJsonText } = require('../protocol/job') as typeof import('../protocol/job');
  try {
    return compactJsonText(s);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new UsageError(`argument ${n} (${JSON.stringify(s)}) is not JSON (${why}); quote strings, e.g. '"${s}"'`);
  }
}
