import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { ConfigError, coerceError } from '../errors';
import { silentLogger } from '../logging/logger';
import type { FailureBackend } from '../protocol/keys';
import type { DirtyExitPolicy, RedisStore as RedisStoreT } from '../store/redisStore';
import type { Admin, Server, Settled } from '../admin/admin';
import type { ServerSpec } from '../web/dsn';
import { type DsnArgs, serversFromArgs, withDsnOption } from './webCommand';
import { jsonPieces } from './jsonOut';
import { withConnectionOptions } from './options';

/**
 * `pyres-ts queues`, `pyres-ts workers list|prune`, `pyres-ts failed list|retry|remove|clear|
 * retry-all|clear-retried`: the dashboard's operations from the shell, on one server
 * (--redis) or several (--dsn), `--json` for scripts. Writes are the ones resque-web and
 * `Resque::Failure` make (see src/admin/failures.ts and src/store/adminStore.ts).
 *
 * Exit codes: 0 done; 1 a server could not be read or an action could not be done (the
 * message says which); 2 a usage error.
 */

export interface AdminIo {
  out(s: string): void;
  err(s: string): void;
}

const stdio: AdminIo = {
  out: s => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: s => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

interface CommonArgs extends DsnArgs {
  json: boolean;
  server?: string;
}

function common<T>(y: Argv<T>) {
  return withDsnOption(withConnectionOptions(y)).option('json', { type: 'boolean', default: false, describe: 'machine-readable output' });
}

function serverOption<T>(y: Argv<T>) {
  return y.option('server', {
    type: 'string',
    describe: 'with several --dsn servers: which one (its position from 0, or its label); "all" for clear, retry-all, clear-retried',
  });
}

export function registerAdminCommands(y: Argv, setCode: (n: number) => void): Argv {
  return y
    .command(
      'queues',
      'queues and their sizes on every server (the union, with a per-server breakdown)',
      b => common(b),
      async a => setCode(await runQueues(a as unknown as CommonArgs)),
    )
    .command(
      'workers <action>',
      'workers: list (host, pid, queues, job, stats, master) or prune (unregister dead ones, as a starting Resque worker does)',
      b =>
        common(b)
          .positional('action', { choices: ['list', 'prune'] as const, demandOption: true })
          .option('prune-interval', { type: 'number', default: 300, describe: 'prune: a heartbeat older than this many seconds is dead' })
          .option('failure-backend', {
            type: 'string',
            describe: "prune: where a pruned worker's DirtyExit record goes, as the workers' --failure-backend: 'redis' (default) or 'redis_multi_queue'",
          })
          .option('on-dirty-exit', {
            type: 'string',
            describe:
              "prune: a pruned worker's job, as the workers' --on-dirty-exit: 'fail' (default) = a Resque::DirtyExit failure, 'requeue' = back to the head of its queue",
          }),
      async a => setCode(await runWorkers(a as unknown as WorkersArgs)),
    )
    .command(
      'failed <action> [index]',
      'failed jobs: list, retry <index>, remove <index>, clear, retry-all (skips already retried), clear-retried',
      b =>
        serverOption(common(b))
          .positional('action', { choices: ['list', 'retry', 'remove', 'clear', 'retry-all', 'clear-retried'] as const, demandOption: true })
          .positional('index', { type: 'number', describe: 'retry/remove: the failure index shown by `failed list`' })
          .option('id', {
            type: 'string',
            describe: 'retry/remove: the id shown by `failed list`; the record must still be that one (found even if its index moved)',
          })
          .option('start', { type: 'number', default: 0, describe: 'list: skip this many (from the newest, or the oldest with --order asc)' })
          .option('count', { type: 'number', default: 20, describe: 'list: how many' })
          .option('order', { choices: ['desc', 'asc'] as const, default: 'desc' as const, describe: 'list: newest first (desc) or oldest first' })
          .option('show', {
            choices: ['all', 'pending', 'retried'] as const,
            default: 'all' as const,
            describe: 'list: every record, or only those not yet retried / already retried',
          })
          .option('queue', {
            type: 'string',
            describe:
              "which failure list: 'failed' or a RedisMultiQueue list ('foo_failed', or the job queue 'foo'). Default: retry/remove 'failed'; list, clear, retry-all, clear-retried every list",
          }),
      async a => setCode(await runFailed(a as unknown as FailedArgs)),
    );
}

// ---- helpers -------------------------------------------------------------------------------

async function withDashboard<T>(a: DsnArgs, fn: (d: Admin) => Promise<T>): Promise<T> {
  const { Admin } = require('../admin/admin') as typeof import('../admin/admin');
  const d = new Admin(serversFromArgs(a), { name: 'pyres-ts:admin' });
  try {
    await d.connect();
    return await fn(d);
  } finally {
    await d.close();
  }
}

function serverStatus(results: ReadonlyArray<Settled<unknown>>): Array<{ id: number; label: string; namespace: string; ok: boolean; error?: string }> {
  return results.map(r => ({ id: r.server.id, label: r.server.label, namespace: r.server.namespace, ok: r.ok, ...(r.ok ? {} : { error: r.error }) }));
}

function reportDown(results: ReadonlyArray<Settled<unknown>>, io: AdminIo): number {
  let code = 0;
  for (const r of results) {
    if (!r.ok) {
      io.err(`pyres-ts: ${r.server.label} is down: ${r.error}`);
      code = 1;
    }
  }
  return code;
}

function table(rows: string[][], rightAlign: (col: number) => boolean = () => false): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map(r =>
      r
        .map((c, i) => (rightAlign(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The servers an action applies to: --server, or the only one; "all" where allowed. */
function targets(d: Admin, sel: string | undefined, allowAll: boolean): Server[] {
  if (sel === 'all') {
    if (!allowAll) throw new ConfigError('--server all is only for clear, retry-all and clear-retried');
    return d.servers;
  }
  if (sel === undefined || sel === '') {
    if (d.servers.length === 1) return d.servers;
    throw new ConfigError(`several servers: say which with --server (${d.servers.map(s => `${s.id}=${s.label}`).join(', ')}${allowAll ? ', or all' : ''})`);
  }
  try {
    return [d.server(sel)];
  } catch (e) {
    throw new ConfigError(coerceError(e).message);
  }
}

// ---- queues --------------------------------------------------------------------------------

export async function runQueues(a: CommonArgs, io: AdminIo = stdio): Promise<number> {
  return withDashboard(a, async d => {
    const { rows, perServer } = await d.queues();
    const up = perServer.filter(r => r.ok).map(r => r.server);
    if (a.json) {
      io.out(
        JSON.stringify(
          {
            servers: serverStatus(perServer),
            queues: rows.map(r => ({
              queue: r.queue,
              total: r.total,
              sizes: Object.fromEntries(up.filter(s => r.sizes[s.id] !== undefined).map(s => [s.label, r.sizes[s.id]])),
            })),
          },
          null,
          2,
        ),
      );
    } else if (rows.length === 0) io.out('no queues');
    else {
      const multi = d.servers.length > 1;
      const head = ['QUEUE', 'JOBS', ...(multi ? up.map(s => s.label) : [])];
      const body = rows.map(r => [r.queue, String(r.total), ...(multi ? up.map(s => (r.sizes[s.id] === undefined ? '-' : String(r.sizes[s.id]))) : [])]);
      io.out(table([head, ...body], i => i > 0));
    }
    return reportDown(perServer, io);
  });
}

// ---- workers -------------------------------------------------------------------------------

interface WorkersArgs extends CommonArgs {
  action: 'list' | 'prune';
  'prune-interval': number;
  'failure-backend'?: string;
  'on-dirty-exit'?: string;
}

export async function runWorkers(a: WorkersArgs, io: AdminIo = stdio): Promise<number> {
  if (a.action === 'prune') return runPrune(a, io);
  return withDashboard(a, async d => {
    const { rows, perServer } = await d.workers();
    if (a.json) io.out(JSON.stringify({ servers: serverStatus(perServer), workers: rows }, null, 2));
    else if (rows.length === 0) io.out('no workers');
    else {
      const multi = d.servers.length > 1;
      const head = [...(multi ? ['SERVER'] : []), 'HOST', 'PID', 'QUEUES', 'STARTED', 'DOING', 'PROCESSED', 'FAILED', 'MASTER'];
      const body = rows.map(w => [
        ...(multi ? [w.serverLabel] : []),
        w.host,
        String(w.pid ?? '?'),
        w.queues.join(','),
        w.started ?? '-',
        w.job ? `${w.job.className} from ${w.job.queue} since ${w.job.runAt ?? '?'}` : 'idle',
        String(w.processed),
        String(w.failed),
        w.master ?? '-',
      ]);
      io.out(table([head, ...body]));
    }
    return reportDown(perServer, io);
  });
}

/**
 * Ruby's prune_dead_workers, run now (without waiting for its 60 s lock): workers whose
 * heartbeat is older than --prune-interval, and workers on this host whose pid is gone. A
 * pruned worker's job is recorded as Resque::DirtyExit, as Ruby does.
 */
async function runPrune(a: WorkersArgs, io: AdminIo): Promise<number> {
  const specs: ServerSpec[] = serversFromArgs(a);
  const failureBackend = failureBackendArg(a['failure-backend']);
  const onDirtyExit = dirtyExitArg(a['on-dirty-exit']);
  const host = hostname();
  const results: Array<{ server: string; ok: boolean; pruned: string[]; error?: string }> = [];
  for (const s of specs) {
    const { RedisStore } = require('../store/redisStore') as typeof import('../store/redisStore');
    const { pruneDeadWorkers } = require('../worker/prune') as typeof import('../worker/prune');
    const store: RedisStoreT = new RedisStore({ connection: s.connection, namespace: s.namespace, name: 'pyres-ts:admin', failureBackend });
    try {
      await store.connect();
      const pruned = await pruneDeadWorkers(store, {
        selfId: `${host}:${process.pid}:pyres-ts-admin`,
        hostname: host,
        pruneInterval: a['prune-interval'],
        useLock: false,
        logger: silentLogger,
        onDirtyExit,
      });
      results.push({ server: s.label, ok: true, pruned });
    } catch (e) {
      results.push({ server: s.label, ok: false, pruned: [], error: coerceError(e).message });
    } finally {
      await store.close();
    }
  }
  if (a.json) io.out(JSON.stringify({ servers: results }, null, 2));
  else
    for (const r of results) {
      if (!r.ok) continue;
      io.out(
        r.pruned.length
          ? `${r.server}: pruned ${r.pruned.length} dead worker${r.pruned.length === 1 ? '' : 's'}: ${r.pruned.join(' ')}`
          : `${r.server}: no dead workers`,
      );
    }
  let code = 0;
  for (const r of results) {
    if (!r.ok) {
      io.err(`pyres-ts: ${r.server} is down: ${r.error}`);
      code = 1;
    }
  }
  return code;
}

/** --on-dirty-exit, checked by the config layer (the workers' own check). */
function dirtyExitArg(v: string | undefined): DirtyExitPolicy {
  const { resolveDirtyExitPolicy } = require('../config/worker') as typeof import('../config/worker');
  return resolveDirtyExitPolicy(v);
}

/** --failure-backend, checked by the config layer. */
function failureBackendArg(v: string | undefined): FailureBackend {
  const { resolveFailureBackend } = require('../config/worker') as typeof import('../config/worker');
  return resolveFailureBackend(v);
}

// ---- failed --------------------------------------------------------------------------------

interface FailedArgs extends CommonArgs {
  action: 'list' | 'retry' | 'remove' | 'clear' | 'retry-all' | 'clear-retried';
  index?: number;
  id?: string;
  start: number;
  count: number;
  order: 'asc' | 'desc';
  show: 'all' | 'pending' | 'retried';
  queue?: string;
}

export async function runFailed(a: FailedArgs, io: AdminIo = stdio): Promise<number> {
  if ((a.action === 'retry' || a.action === 'remove') && (a.index === undefined || !Number.isInteger(a.index) || a.index < 0)) {
    throw new ConfigError(`failed ${a.action} needs the index of a failure (see: pyres-ts failed list)`);
  }
  if (a.id !== undefined && !/^[0-9a-f]{6,40}$/.test(a.id)) throw new ConfigError('--id must be 6 to 40 hex digits, as `failed list` shows it');
  if (!Number.isInteger(a.start) || a.start < 0) throw new ConfigError(`--start must be 0 or more, got ${a.start}`);
  if (!Number.isInteger(a.count) || a.count < 1) throw new ConfigError(`--count must be 1 or more, got ${a.count}`);
  return withDashboard(a, async d => {
    try {
      switch (a.action) {
        case 'list':
          return await failedList(d, a, io);
        case 'retry': {
          const [s] = targets(d, a.server, false) as [Server];
          const r = await d.retryFailed(s.id, a.index as number, a.id, a.queue ?? 'failed');
          io.out(
            a.json ? JSON.stringify({ server: s.label, ...r }) : `retried failure ${r.index}${inList(r.list)} on ${s.label}: pushed ${r.job} to ${r.queue}`,
          );
          return 0;
        }
        case 'remove': {
          const [s] = targets(d, a.server, false) as [Server];
          const r = await d.removeFailed(s.id, a.index as number, a.id, a.queue ?? 'failed');
          io.out(a.json ? JSON.stringify({ server: s.label, ...r }) : `removed failure ${r.index}${inList(r.list)} on ${s.label}`);
          return 0;
        }
        default: {
          const ss = targets(d, a.server, true);
          const res = await d.each(async s => {
            if (a.action === 'clear') return { cleared: await d.clearFailed(s.id, a.queue) };
            if (a.action === 'clear-retried') return { removed: await d.clearRetried(s.id, a.queue) };
            return { ...(await d.retryAll(s.id, a.queue)) };
          }, ss);
          if (a.json)
            io.out(JSON.stringify({ servers: res.map(r => ({ server: r.server.label, ok: r.ok, ...(r.ok ? r.value : { error: r.error }) })) }, null, 2));
          else
            for (const r of res) {
              if (!r.ok) continue;
              const v = r.value as unknown as Record<string, number>;
              if (a.action === 'clear') io.out(`${r.server.label}: cleared ${v['cleared']} failure${v['cleared'] === 1 ? '' : 's'}`);
              else if (a.action === 'clear-retried') io.out(`${r.server.label}: removed ${v['removed']} retried failure${v['removed'] === 1 ? '' : 's'}`);
              else
                io.out(
                  `${r.server.label}: retried ${v['retried']}, skipped ${v['alreadyRetried']} already retried${v['notRetryable'] ? `, ${v['notRetryable']} not retryable` : ''}${v['gone'] ? `, ${v['gone']} gone meanwhile` : ''}`,
                );
            }
          return reportDown(res, io);
        }
      }
    } catch (e) {
      if (e instanceof (require('../admin/admin') as typeof import('../admin/admin')).AdminActionError) {
        io.err(`pyres-ts: ${e.message}`);
        return 1;
      }
      throw e;
    }
  });
}

async function failedList(d: Admin, a: FailedArgs, io: AdminIo): Promise<number> {
  const ss = a.server === undefined || a.server === '' || a.server === 'all' ? d.servers : [d.server(a.server)];
  // Without --queue: every failure list (`failed`, then RedisMultiQueue's `<queue>_failed` ones
  // that hold records), each paged on its own; an item's index is its index in its list.
  const res = await d.each(async s => {
    const lists = a.queue !== undefined ? [a.queue] : (await d.failureLists(s.id)).filter(l => l.list === 'failed' || l.size > 0).map(l => l.list);
    const pages = [];
    for (const l of lists) pages.push(await d.failed(s.id, a.start, a.count, a.order, a.show ?? 'all', l));
    return mergePages(pages);
  }, ss);
  if (a.json) {
    // Piece by piece past V8's string limit (a record of hundreds of MB is in it twice).
    for (const piece of jsonPieces({
      servers: res.map(r =>
        r.ok
          ? {
              server: r.server.label,
              id: r.server.id,
              ok: true,
              total: r.value.total,
              matched: r.value.matched,
              start: r.value.start,
              show: r.value.show,
              order: r.value.order,
              lists: r.value.lists.map(p => ({ list: p.list, total: p.total, matched: p.matched })),
              items: r.value.items.map(it => ({ list: it.list, index: it.index, id: it.digest, ...it.view, raw: it.raw })),
            }
          : { server: r.server.label, id: r.server.id, ok: false, error: r.error },
      ),
    }))
      io.out(piece);
  } else {
    for (const r of res) {
      if (!r.ok) continue;
      for (const p of r.value.lists) {
        const which = p.show === 'all' ? '' : ` (${p.matched ?? '?'} ${p.show === 'pending' ? 'not retried' : 'retried'})`;
        io.out(
          `${r.server.label}: ${p.total} failed job${p.total === 1 ? '' : 's'}${inList(p.list)}${which}${p.items.length ? `, showing ${p.items.length}, ${p.order === 'desc' ? 'newest' : 'oldest'} first` : ''}${p.list !== 'failed' && p.items.length ? ` (retry/remove with --queue ${p.list})` : ''}`,
        );
        for (const it of p.items) {
          const v = it.view;
          const what = v.parsed
            ? `${v.failedAt ?? '?'}  ${v.className ?? 'nil'} on ${v.queue ?? '?'}  ${v.exception ?? ''}: ${(v.error ?? '').split('\n')[0]}${v.retriedAt ? `  [retried ${v.retriedAt}]` : ''}`
            : '(not a JSON object)';
          io.out(`  #${it.index}  id ${it.digest.slice(0, 10)}  ${what}`);
        }
      }
    }
  }
  return reportDown(res, io);
}

/** ` in foo_failed` for a RedisMultiQueue list; nothing for `failed`. */
function inList(list: string): string {
  return list === 'failed' ? '' : ` in ${list}`;
}

type FailedPageT = Awaited<ReturnType<Admin['failed']>>;

/** One server's pages of several failure lists, with the totals summed. */
function mergePages(pages: FailedPageT[]): {
  total: number;
  matched: number | null;
  start: number;
  show: FailedPageT['show'];
  order: FailedPageT['order'];
  lists: FailedPageT[];
  items: Array<FailedPageT['items'][number] & { list: string }>;
} {
  const first = pages[0] as FailedPageT;
  return {
    total: pages.reduce((n, p) => n + p.total, 0),
    matched: pages.some(p => p.matched === null) ? null : pages.reduce((n, p) => n + (p.matched ?? 0), 0),
    start: first.start,
    show: first.show,
    order: first.order,
    lists: pages,
    items: pages.flatMap(p => p.items.map(it => ({ ...it, list: p.list }))),
  };
}
