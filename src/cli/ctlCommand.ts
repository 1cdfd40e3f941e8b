import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import type { MasterCommand, MasterInfo } from '../master/master';
import { parseWorkersSpec } from '../config/groups';
import { parseQueueList, resolveQueues } from '../protocol/queues';
import { readMasterRecord } from '../master/masterRecord';
import { RedisStore } from '../store/redisStore';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';
import { autoscaleHoldSeconds } from '../master/supervisor';

const ACTIONS = ['list', 'status', 'watch', 'scale', 'add', 'remove', 'pause', 'resume', 'stop', 'reload'] as const;
type Action = (typeof ACTIONS)[number];

interface CtlArgs extends ConnectionArgs {
  action: Action;
  master?: string;
  spec?: string;
  json: boolean;
  interval: number;
  graceful: boolean;
  /** `--wait` alone is '' (the default wait); `--wait 10` is '10'. */
  wait?: string;
  /** watch: stop after this many refreshes. */
  count?: number;
  /** watch: how many of the master's recent log lines to show. */
  tail: number;
}

export const DEFAULT_STOP_WAIT = 30;

/** A group as a master advertises it; `lastCrash` is there while the group crash-loops. */
type GroupInfo = MasterInfo['groups'][number] & { lastCrash?: { reason: string; count: number; at: string } | null };

export function ctlBuilder(y: Argv) {
  return withConnectionOptions(y)
    .positional('action', { choices: ACTIONS, demandOption: true })
    .positional('master', { type: 'string', describe: 'master id (host:pid), its pid, or a unique part of it' })
    .positional('spec', { type: 'string', describe: "for scale: 'p10,p9=6' (several: 'p10,p9=6:p1=2')" })
    .option('json', { type: 'boolean', default: false })
    .option('interval', { type: 'number', default: 1, describe: 'watch: refresh every N seconds' })
    .option('count', { type: 'number', describe: 'watch: stop after this many refreshes (default: until Ctrl-C)' })
    .option('tail', { type: 'number', default: 10, describe: "watch: how many of the master's recent log lines to show (0: none)" })
    .option('graceful', { type: 'boolean', default: false, describe: 'stop: let the children finish their jobs (as QUIT); default aborts them (as TERM)' })
    .option('wait', {
      type: 'string',
      describe: `stop: wait until the master is gone, up to S seconds (default ${DEFAULT_STOP_WAIT}); exit 1 if it is still there`,
    });
}

/** Master records as stored; one that is not a master's JSON is skipped with a note. */
export function parseMasterRecords(records: ReadonlyArray<{ id: string; info: string }>, warn: (msg: string) => void): MasterInfo[] {
  return records.flatMap(m => {
    const r = readMasterRecord(m.id, m.info);
    if (r.ok) return [r.info];
    warn(`skipping master ${m.id}: ${r.reason}`);
    return [];
  });
}

/** The masters that advertise in Redis. */
async function masters(store: RedisStore): Promise<MasterInfo[]> {
  return parseMasterRecords(await store.listMasters(), m => process.stderr.write(`pyres-ts ctl: ${m}\n`));
}

function pick(all: MasterInfo[], sel: string | undefined): MasterInfo {
  if (!sel) {
    if (all.length === 1) return all[0]!;
    throw new ConfigError(all.length === 0 ? 'no master is running (none advertises in Redis)' : `name a master: ${all.map(m => m.id).join(', ')}`);
  }
  const hits = all.filter(m => m.id === sel || String(m.pid) === sel);
  const loose = hits.length ? hits : all.filter(m => m.id.includes(sel));
  if (loose.length === 1) return loose[0]!;
  throw new ConfigError(
    loose.length === 0
      ? `no master matches ${JSON.stringify(sel)} (running: ${all.map(m => m.id).join(', ') || 'none'})`
      : `${JSON.stringify(sel)} matches several masters: ${loose.map(m => m.id).join(', ')}`,
  );
}

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function formatMasterTree(m: MasterInfo, now = Date.now()): string {
  const groups = m.groups.map(g => `${g.queues}=${g.desired}${g.min !== null && g.min !== undefined ? ` (${g.min}..${g.max})` : ''}`).join('  ');
  const lines = [`${m.id}  pyres-ts ${m.version}  up ${ago(m.startedAt, now)}${m.paused ? '  PAUSED' : ''}${m.stopping ? '  STOPPING' : ''}  ${groups}`];
  for (const g of m.groups as GroupInfo[]) {
    const c = g.lastCrash;
    if (c && typeof c === 'object') lines.push(`   ${g.queues}: crash loop: ${c.count} in a row, last ${ago(c.at, now)} ago: ${c.reason}`);
  }
  m.children.forEach((c, i) => {
    const branch = i === m.children.length - 1 ? '└─' : '├─';
    const doing = c.job ? `working on ${c.job.className} from ${c.job.queue} since ${c.job.since} (${ago(c.job.since, now)})` : 'idle';
    lines.push(`${branch} ${String(c.pid).padEnd(7)} ${c.workerId}  ${doing}  rss ${c.rssMb} MB`);
  });
  if (m.autoscale?.last) lines.push(`   autoscale: ${m.autoscale.last}`);
  return lines.join('\n');
}

/** What `ctl watch` reads besides the master records: per group, its queue depth; per child, its processed count. */
export interface WatchSample {
  at: number;
  /** `<master id> <group>` -> jobs waiting in the group's queues. */
  depth: Map<string, number>;
  /** worker id -> stat:processed:<id>. */
  processed: Map<string, number>;
}

async function watchSample(store: RedisStore, shown: readonly MasterInfo[]): Promise<WatchSample> {
  const s: WatchSample = { at: Date.now(), depth: new Map(), processed: new Map() };
  const known = await store.queueNames();
  for (const m of shown) {
    for (const g of m.groups) s.depth.set(`${m.id} ${g.queues}`, await store.queueDepth(resolveQueues(parseQueueList(g.queues), known)));
    for (const c of m.children) s.processed.set(c.workerId, await store.stat('processed', c.workerId));
  }
  return s;
}

/**
 * One master in `ctl watch`: its tree, then per group the queue depth and jobs/s (the
 * children's processed counts since the previous refresh; `-` on the first), then its log tail.
 */
export function formatWatch(m: MasterInfo, cur: WatchSample, prev: WatchSample | null, tail: number): string {
  const lines = [formatMasterTree(m, cur.at)];
  for (const g of m.groups) {
    let rate = '-';
    if (prev && cur.at > prev.at) {
      let done = 0;
      for (const c of m.children) {
        if (c.group !== g.queues) continue;
        const before = prev.processed.get(c.workerId);
        const after = cur.processed.get(c.workerId);
        if (before !== undefined && after !== undefined && after >= before) done += after - before;
      }
      rate = (done / ((cur.at - prev.at) / 1000)).toFixed(1);
    }
    const kids = m.children.filter(c => c.group === g.queues).length;
    lines.push(`   group ${g.queues}: depth ${cur.depth.get(`${m.id} ${g.queues}`) ?? '?'}  jobs/s ${rate}  children ${kids}/${g.desired}`);
  }
  if (tail > 0 && Array.isArray(m.logTail) && m.logTail.length > 0) {
    lines.push('   log:');
    for (const l of m.logTail.slice(-tail)) lines.push(`     ${String(l)}`);
  }
  return lines.join('\n');
}

/** `--wait` as seconds: '' is the default; a non-number that is not a master is an error. */
function waitSeconds(a: CtlArgs): number | null {
  if (a.wait === undefined) return null;
  if (a.wait === '') return DEFAULT_STOP_WAIT;
  const n = Number(a.wait);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--wait takes seconds (0 or more), got ${JSON.stringify(a.wait)}`);
  return n;
}

export async function runCtl(a: CtlArgs): Promise<number> {
  const store = new RedisStore({ connection: connectionFromArgs(a), namespace: a.namespace, name: 'pyres-ts:ctl' });
  try {
    await store.connect({ scripts: false });
    const all = await masters(store);
    const out = (s: string): boolean => process.stdout.write(s + '\n');
    switch (a.action) {
      case 'list':
        if (a.json) out(JSON.stringify(all, null, 2));
        else if (all.length === 0) out('no masters');
        else
          for (const m of all)
            out(
              `${m.id.padEnd(24)} children ${String(m.children.length).padEnd(4)} ${m.groups.map(g => `${g.queues}=${g.desired}`).join(' ')}${m.paused ? ' PAUSED' : ''}`,
            );
        return 0;
      case 'status': {
        const shown = a.master ? [pick(all, a.master)] : all;
        if (a.json) out(JSON.stringify(shown, null, 2));
        else out(shown.length ? shown.map(m => formatMasterTree(m)).join('\n\n') : 'no masters');
        return 0;
      }
      case 'watch': {
        if (!Number.isFinite(a.interval) || a.interval <= 0) throw new ConfigError(`--interval must be a number of seconds greater than 0, got ${a.interval}`);
        if (a.count !== undefined && (!Number.isInteger(a.count) || a.count < 1))
          throw new ConfigError(`--count must be a whole number of 1 or more, got ${a.count}`);
        if (!Number.isInteger(a.tail) || a.tail < 0) throw new ConfigError(`--tail must be a whole number of 0 or more, got ${a.tail}`);
        let stop = false;
        const onSig = (): void => void (stop = true);
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        // A terminal gets a redrawn screen; a pipe or file gets plain frames, one after the other.
        const tty = process.stdout.isTTY === true;
        let prev: WatchSample | null = null;
        for (let n = 1; !stop; n++) {
          const now = await masters(store);
          const shown = a.master ? now.filter(m => m.id.includes(a.master as string) || String(m.pid) === a.master) : now;
          const sample = await watchSample(store, shown);
          // The log tail: its own list (a record with `logTail` comes from an older master).
          if (a.tail > 0) for (const m of shown) if (!Array.isArray(m.logTail)) m.logTail = await store.masterLog(m.id, a.tail);
          const body = shown.length ? shown.map(m => formatWatch(m, sample, prev, a.tail)).join('\n\n') : 'no masters';
          process.stdout.write(
            (tty ? '\x1b[2J\x1b[H' : '') +
              `pyres-ts ctl watch  ${new Date(sample.at).toISOString()}${tty ? '  (Ctrl-C to quit)' : ''}\n\n${body}\n${tty ? '' : '\n'}`,
          );
          prev = sample;
          if (a.count !== undefined && n >= a.count) break;
          await new Promise(r => setTimeout(r, a.interval * 1000));
        }
        process.removeListener('SIGINT', onSig);
        process.removeListener('SIGTERM', onSig);
        return 0;
      }
      default: {
        if (a.action !== 'stop' && (a.wait !== undefined || a.graceful)) throw new ConfigError('--graceful and --wait go with ctl stop');
        // `ctl stop --wait <master>`: yargs gives the master to --wait.
        if (a.action === 'stop' && a.wait && !Number.isFinite(Number(a.wait)) && a.master === undefined) {
          a.master = a.wait;
          a.wait = '';
        }
        const wait = waitSeconds(a);
        const m = pick(all, a.master);
        const cmds: MasterCommand[] = [];
        if (a.action === 'scale') {
          if (!a.spec) throw new ConfigError("scale needs a spec: pyres-ts ctl scale <master> 'p10,p9=6'");
          for (const g of parseWorkersSpec(a.spec)) cmds.push({ cmd: 'scale', queues: g.queues, count: g.count });
          // The master refuses a size past its --max-children (and logs it); say so here at once.
          if (typeof m.maxChildren === 'number') {
            const asked = new Map(cmds.map(c => [(c as { queues: string }).queues, (c as { count: number }).count]));
            const total = m.groups.reduce((n, g) => n + (asked.has(g.queues) ? 0 : g.desired), 0) + [...asked.values()].reduce((x, y) => x + y, 0);
            if (total > m.maxChildren)
              throw new ConfigError(`scale refused: ${a.spec} would make ${total} children on ${m.id}, over its --max-children ${m.maxChildren}`);
          }
        } else if (a.action === 'stop') {
          cmds.push({ cmd: 'stop', graceful: a.graceful });
        } else cmds.push({ cmd: a.action });
        for (const c of cmds) await store.pushMasterCommand(m.id, JSON.stringify(c));
        out(`sent ${cmds.map(c => JSON.stringify(c)).join(', ')} to ${m.id}`);
        if (a.action === 'scale') {
          // Wait (up to 10 s) for the master to show the new sizes.
          const want = new Map(cmds.map(c => [(c as { queues: string }).queues, (c as { count: number }).count]));
          for (let i = 0; i < 50; i++) {
            const cur = (await masters(store)).find(x => x.id === m.id);
            const ok =
              cur && [...want].every(([q, n]) => cur.groups.find(g => g.queues === q)?.desired === n && cur.children.filter(c => c.group === q).length === n);
            if (ok && cur) {
              out(formatMasterTree(cur));
              for (const [q, n] of want) {
                const g = cur.groups.find(x => x.queues === q);
                if (cur.autoscale && g && g.min !== null && g.max !== null)
                  out(
                    `autoscale holds ${q} at ${n} for at least ${autoscaleHoldSeconds(cur.autoscale.interval)} s, then may move it within ${g.min}..${g.max}`,
                  );
              }
              return 0;
            }
            await new Promise(r => setTimeout(r, 200));
          }
          out('the master has not shown the new size yet; check with: pyres-ts ctl status');
        }
        if (a.action === 'stop' && wait !== null) {
          const deadline = Date.now() + wait * 1000;
          for (;;) {
            const ids = (await store.listMasters()).map(x => x.id);
            if (!ids.includes(m.id)) {
              out(`${m.id} stopped`);
              return 0;
            }
            if (Date.now() >= deadline) break;
            await new Promise(r => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
          }
          process.stderr.write(`pyres-ts ctl: ${m.id} is still running ${wait} s after the stop; check with: pyres-ts ctl status ${m.id}\n`);
          return 1;
        }
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}
