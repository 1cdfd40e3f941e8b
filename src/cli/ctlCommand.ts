import type { Argv } from 'yargs';
import { ConfigError } from '../errors';
import type { MasterCommand, MasterInfo } from '../master/master';
import { parseWorkersSpec } from '../master/groups';
import { RedisStore } from '../store/redisStore';
import { type ConnectionArgs, connectionFromArgs, withConnectionOptions } from './options';

const ACTIONS = ['list', 'status', 'watch', 'scale', 'add', 'remove', 'pause', 'resume', 'stop', 'reload'] as const;
type Action = (typeof ACTIONS)[number];

interface CtlArgs extends ConnectionArgs {
  action: Action;
  master?: string;
  spec?: string;
  json: boolean;
  interval: number;
}

export function ctlBuilder(y: Argv) {
  return withConnectionOptions(y)
    .positional('action', { choices: ACTIONS, demandOption: true })
    .positional('master', { type: 'string', describe: 'master id (host:pid), its pid, or a unique part of it' })
    .positional('spec', { type: 'string', describe: "for scale: 'p10,p9=6' (several: 'p10,p9=6:p1=2')" })
    .option('json', { type: 'boolean', default: false })
    .option('interval', { type: 'number', default: 1, describe: 'watch: refresh every N seconds' });
}

async function masters(store: RedisStore): Promise<MasterInfo[]> {
  return (await store.listMasters()).flatMap(m => {
    try {
      return [JSON.parse(m.info) as MasterInfo];
    } catch {
      return [];
    }
  });
}

function pick(all: MasterInfo[], sel: string | undefined): MasterInfo {
  if (!sel) {
    if (all.length === 1) return all[0]!;
    throw new ConfigError(all.length === 0 ? 'no master is running (none advertises in Redis)' : `name a master: ${all.map(m => m.id).join(', ')}`);
  }
  const hits = all.filter(m => m.id === sel || String(m.pid) === sel);
  const loose = hits.length ? hits : all.filter(m => m.id.includes(sel));
  if (loose.length === 1) return loose[0]!;
  throw new ConfigError(loose.length === 0 ? `no master matches ${JSON.stringify(sel)} (running: ${all.map(m => m.id).join(', ') || 'none'})` : `${JSON.stringify(sel)} matches several masters: ${loose.map(m => m.id).join(', ')}`);
}

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function formatMasterTree(m: MasterInfo): string {
  const groups = m.groups.map(g => `${g.queues}=${g.desired}${g.min !== null ? ` (${g.min}..${g.max})` : ''}`).join('  ');
  const lines = [`${m.id}  pyres-ts ${m.version}  up ${ago(m.startedAt)}${m.paused ? '  PAUSED' : ''}${m.stopping ? '  STOPPING' : ''}  ${groups}`];
  m.children.forEach((c, i) => {
    const branch = i === m.children.length - 1 ? '└─' : '├─';
    const doing = c.job ? `working on ${c.job.className} from ${c.job.queue} since ${c.job.since} (${ago(c.job.since)})` : 'idle';
    lines.push(`${branch} ${String(c.pid).padEnd(7)} ${c.workerId}  ${doing}  rss ${c.rssMb} MB`);
  });
  if (m.autoscale?.last) lines.push(`   autoscale: ${m.autoscale.last}`);
  return lines.join('\n');
}

export async function runCtl(a: CtlArgs): Promise<number> {
  const store = new RedisStore({ connection: connectionFromArgs(a), namespace: a.namespace, name: 'pyres-ts:ctl' });
  try {
    await store.connect();
    const all = await masters(store);
    const out = (s: string): boolean => process.stdout.write(s + '\n');
    switch (a.action) {
      case 'list':
        if (a.json) out(JSON.stringify(all, null, 2));
        else if (all.length === 0) out('no masters');
        else for (const m of all) out(`${m.id.padEnd(24)} children ${String(m.children.length).padEnd(4)} ${m.groups.map(g => `${g.queues}=${g.desired}`).join(' ')}${m.paused ? ' PAUSED' : ''}`);
        return 0;
      case 'status': {
        const shown = a.master ? [pick(all, a.master)] : all;
        if (a.json) out(JSON.stringify(shown, null, 2));
        else out(shown.length ? shown.map(formatMasterTree).join('\n\n') : 'no masters');
        return 0;
      }
      case 'watch': {
        let stop = false;
        const onSig = (): void => void (stop = true);
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        while (!stop) {
          const now = await masters(store);
          const shown = a.master ? now.filter(m => m.id.includes(a.master as string) || String(m.pid) === a.master) : now;
          process.stdout.write('\x1b[2J\x1b[H' + `pyres-ts ctl watch  ${new Date().toISOString()}  (Ctrl-C to quit)\n\n` + (shown.length ? shown.map(formatMasterTree).join('\n\n') : 'no masters') + '\n');
          await new Promise(r => setTimeout(r, a.interval * 1000));
        }
        process.removeListener('SIGINT', onSig);
        process.removeListener('SIGTERM', onSig);
        return 0;
      }
      default: {
        const m = pick(all, a.master);
        const cmds: MasterCommand[] = [];
        if (a.action === 'scale') {
          if (!a.spec) throw new ConfigError("scale needs a spec: pyres-ts ctl scale <master> 'p10,p9=6'");
          for (const g of parseWorkersSpec(a.spec)) cmds.push({ cmd: 'scale', queues: g.queues, count: g.count });
        } else cmds.push({ cmd: a.action });
        for (const c of cmds) await store.pushMasterCommand(m.id, JSON.stringify(c));
        out(`sent ${cmds.map(c => JSON.stringify(c)).join(', ')} to ${m.id}`);
        if (a.action === 'scale') {
          // Wait (up to 10 s) for the master to show the new sizes.
          const want = new Map(cmds.map(c => [(c as { queues: string }).queues, (c as { count: number }).count]));
          for (let i = 0; i < 50; i++) {
            const cur = (await masters(store)).find(x => x.id === m.id);
            const ok = cur && [...want].every(([q, n]) => cur.groups.find(g => g.queues === q)?.desired === n && cur.children.filter(c => c.group === q).length === n);
            if (ok && cur) {
              out(formatMasterTree(cur));
              return 0;
            }
            await new Promise(r => setTimeout(r, 200));
          }
          out('the master has not shown the new size yet; check with: pyres-ts ctl status');
        }
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}
