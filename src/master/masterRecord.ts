import type { MasterInfo } from './master';

/**
 * Reading `<ns>:pyres-ts:master:<id>` for the dashboard. The record comes from Redis, so it can
 * be anything: another version's shape, a hand-edited key, junk. A record that is not a
 * master's status (not JSON, not an object, no id, groups or children that are not lists, an
 * entry that is not a group or child) is refused with a reason, for the page to say so; the
 * rest of the server's records still show. A record that is a master's status comes back as a
 * fresh object whose every shown field has the type the pages expect (a field of another type
 * is shown as unknown), so rendering can never throw on it.
 */
export type MasterRecord = { ok: true; info: MasterInfo } | { ok: false; id: string; reason: string };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, def = ''): string => (typeof v === 'string' ? v : def);
const num = (v: unknown, def = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : def);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

class Refused extends Error {}

function group(v: unknown, i: number): MasterInfo['groups'][number] {
  if (!isObj(v) || typeof v['queues'] !== 'string') throw new Refused(`group ${i} is not a group (no queues)`);
  if (typeof v['desired'] !== 'number' || typeof v['running'] !== 'number') throw new Refused(`group ${i} (${v['queues']}) has no worker counts`);
  const c = v['lastCrash'];
  return {
    queues: v['queues'],
    desired: num(v['desired']),
    running: num(v['running']),
    min: numOrNull(v['min']),
    max: numOrNull(v['max']),
    lastCrash: isObj(c) && typeof c['reason'] === 'string' ? { reason: c['reason'], count: num(c['count']), at: str(c['at']) } : null,
  };
}

function child(v: unknown, i: number): MasterInfo['children'][number] {
  if (!isObj(v) || typeof v['workerId'] !== 'string') throw new Refused(`child ${i} is not a child (no workerId)`);
  const j = v['job'];
  return {
    pid: num(v['pid']),
    workerId: v['workerId'],
    group: str(v['group']),
    startedAt: str(v['startedAt']),
    rssMb: num(v['rssMb']),
    ...(typeof v['cpuPercent'] === 'number' ? { cpuPercent: v['cpuPercent'] } : {}),
    ...(typeof v['state'] === 'string' ? { state: v['state'] } : {}),
    job: isObj(j) ? { className: str(j['className'], '?'), queue: str(j['queue'], '?'), since: str(j['since']) } : null,
  };
}

/** `id`: the member of the masters set the record was read for (named in the reason). */
export function readMasterRecord(id: string, raw: string): MasterRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { ok: false, id, reason: 'not valid JSON' };
  }
  if (!isObj(v)) return { ok: false, id, reason: `not a JSON object (${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`})` };
  if (typeof v['id'] !== 'string' || v['id'] === '') return { ok: false, id, reason: 'no id' };
  if (!Array.isArray(v['groups'])) return { ok: false, id, reason: 'its groups are not a list' };
  if (!Array.isArray(v['children'])) return { ok: false, id, reason: 'its children are not a list' };
  try {
    const a = v['autoscale'];
    const info: MasterInfo = {
      id: v['id'],
      host: str(v['host']),
      pid: num(v['pid']),
      version: str(v['version'], '?'),
      startedAt: str(v['startedAt']),
      paused: v['paused'] === true,
      stopping: v['stopping'] === true,
      groups: v['groups'].map(group),
      children: v['children'].map(child),
      autoscale: isObj(a)
        ? { maxCpu: num(a['maxCpu']), maxMem: num(a['maxMem']), interval: num(a['interval']), last: typeof a['last'] === 'string' ? a['last'] : null }
        : null,
      ...(typeof v['maxChildren'] === 'number' ? { maxChildren: v['maxChildren'] } : {}),
      ...(Array.isArray(v['logTail']) ? { logTail: v['logTail'].filter((l): l is string => typeof l === 'string') } : {}),
    };
    return { ok: true, info };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, id, reason: e.message };
    throw e;
  }
}
