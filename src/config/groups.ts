import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { parseQueueList } from '../protocol/queues';
import type { GroupSpec, SlotRange } from './types';
import { resolveConcurrency } from './worker';

export type { GroupSpec } from './types';

/**
 * A group's value with job slots (since issue 15): `2x25` (2 children of 25 slots), `2..8x25`,
 * `2x1..64` (slots autoscaled), or an object with `concurrency`.
 */
function group(queues: string, value: unknown, where: string): GroupSpec {
  const q = queues.trim();
  let slots: SlotRange | undefined;
  if (typeof value === 'string' && /^\s*\d+\s*(?:\.\.\s*\d+\s*)?x/i.test(value)) {
    const at = value.search(/x/i);
    slots = resolveConcurrency(value.slice(at + 1), '', `${where}: ${JSON.stringify(q)}: the job slots after 'x'`);
    value = value.slice(0, at);
  } else if (value && typeof value === 'object' && !Array.isArray(value) && 'concurrency' in value) {
    const { concurrency, ...rest } = value as Record<string, unknown>;
    slots = resolveConcurrency(concurrency, '', `${where}: ${JSON.stringify(q)}: concurrency`);
    value = 'count' in rest || 'min' in rest || 'max' in rest ? rest : 1;
  }
  const g = countGroup(q, value, where);
  return slots && (slots.min !== 1 || slots.max !== 1) ? { ...g, concurrency: slots } : g;
}

function countGroup(q: string, value: unknown, where: string): GroupSpec {
  parseQueueList(q); // validates names
  const bad = (): never => {
    throw new ConfigError(`${where}: ${JSON.stringify(q)} needs a worker count (4) or a range (2..8), got ${JSON.stringify(value)}`);
  };
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) bad();
    return { queues: q, count: value };
  }
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(value);
    if (!m) return bad();
    const min = Number(m[1]);
    if (m[2] === undefined) return { queues: q, count: min };
    const max = Number(m[2]);
    if (max < min) throw new ConfigError(`${where}: ${JSON.stringify(q)}: the range ${value} has max below min`);
    return { queues: q, count: min, min, max };
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const min = Number(o['min'] ?? o['count'] ?? 0);
    const max = Number(o['max'] ?? min);
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) bad();
    return { queues: q, count: min, ...(o['max'] !== undefined ? { min, max } : {}) };
  }
  return bad();
}

/** resque-pool-dynamic's spec string: `p10,p9=4:p1=1:*=1`; a count may be a range `2..8`. */
export function parseWorkersSpec(spec: string): GroupSpec[] {
  const out: GroupSpec[] = [];
  for (const part of spec
    .split(':')
    .map(s => s.trim())
    .filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new ConfigError(`--workers: ${JSON.stringify(part)} is not queues=count (e.g. p10,p9=4)`);
    out.push(group(part.slice(0, eq), part.slice(eq + 1), '--workers'));
  }
  if (out.length === 0) throw new ConfigError('--workers is empty; e.g. --workers "p10,p9=4:p1=1"');
  return dedupe(out, '--workers');
}

/**
 * A resque-pool YAML file: `"p10,p9": 4` at the top level; a top-level key whose value is a map
 * is an environment section, and the one named by `environment` overrides the top level; an
 * environment with no section gets the top level alone (resque-pool's fallback; `onNote` hears it).
 */
export function parsePoolYaml(text: string, environment: string | undefined, where = '--config', onNote?: (msg: string) => void): GroupSpec[] {
  let doc: unknown;
  try {
    const { parse: parseYaml } = require('yaml') as typeof import('yaml');
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${where}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where}: expected a map of "queues": count`);
  const merged = new Map<string, unknown>();
  const envs: string[] = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && !('min' in v) && !('max' in v) && !('count' in v) && !('concurrency' in v)) envs.push(k);
    else merged.set(k, v);
  }
  if (environment !== undefined) {
    const section = (doc as Record<string, unknown>)[environment];
    // As resque-pool: an environment without a section of its own gets the top level alone.
    if (section === undefined && envs.length > 0)
      onNote?.(`${where}: no section for environment ${JSON.stringify(environment)} (sections: ${envs.join(', ')}); using the top level`);
    if (section && typeof section === 'object') for (const [k, v] of Object.entries(section as Record<string, unknown>)) merged.set(k, v);
  }
  return dedupe(
    [...merged].map(([k, v]) => group(k, v, where)),
    where,
  );
}

export function loadPoolFile(path: string, environment: string | undefined, onNote?: (msg: string) => void): GroupSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parsePoolYaml(text, environment, `--config ${path}`, onNote);
}

function dedupe(groups: GroupSpec[], where: string): GroupSpec[] {
  const seen = new Set<string>();
  for (const g of groups) {
    if (seen.has(g.queues)) throw new ConfigError(`${where}: the queue list ${JSON.stringify(g.queues)} appears twice`);
    seen.add(g.queues);
  }
  return groups;
}

export function describeGroups(groups: readonly GroupSpec[]): string {
  const slots = (g: GroupSpec): string =>
    g.concurrency ? `x${g.concurrency.min === g.concurrency.max ? g.concurrency.min : `${g.concurrency.min}..${g.concurrency.max}`}` : '';
  return groups.map(g => `${g.queues}=${g.min !== undefined ? `${g.min}..${g.max}` : g.count}${slots(g)}`).join(':');
}

/**
 * Checks groups given as data (the library's `groups`, a reload): queue lists valid, counts
 * whole, ranges ordered with the count inside, no queue list twice. Returns them normalised.
 */
export function validateGroups(groups: unknown, where = 'groups'): GroupSpec[] {
  if (!Array.isArray(groups)) throw new ConfigError(`${where} must be an array of { queues, count, min?, max? }, got ${JSON.stringify(groups)}`);
  const out = groups.map((g: unknown, i): GroupSpec => {
    const at = `${where}[${i}]`;
    if (!g || typeof g !== 'object' || Array.isArray(g)) throw new ConfigError(`${at} must be { queues, count, min?, max? }, got ${JSON.stringify(g)}`);
    const o = g as Record<string, unknown>;
    if (typeof o['queues'] !== 'string') throw new ConfigError(`${at}.queues must be a queue list string like "p10,p9", got ${JSON.stringify(o['queues'])}`);
    const queues = o['queues'].trim();
    try {
      const specs = parseQueueList(queues);
      if (specs.every(s => s.negate)) throw new ConfigError('needs at least one queue that is not a !skip pattern');
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${at}.queues: ${e.message.replace(/^--queues:?\s*/, '')}`);
      throw e;
    }
    const whole = (k: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new ConfigError(`${at}.${k} must be a whole number of 0 or more, got ${JSON.stringify(v)}`);
      return v;
    };
    const slots = o['concurrency'] === undefined ? null : resolveConcurrency(o['concurrency'], '', `${at}.concurrency`);
    const withSlots = (x: GroupSpec): GroupSpec => (slots && (slots.min !== 1 || slots.max !== 1) ? { ...x, concurrency: slots } : x);
    const hasRange = o['min'] !== undefined || o['max'] !== undefined;
    if (!hasRange) return withSlots({ queues, count: whole('count', o['count']) });
    const min = whole('min', o['min'] ?? o['count'] ?? 0);
    const max = whole('max', o['max'] ?? min);
    if (max < min) throw new ConfigError(`${at}: max (${max}) is below min (${min})`);
    const count = o['count'] === undefined ? min : whole('count', o['count']);
    if (count < min || count > max) throw new ConfigError(`${at}.count (${count}) must be within min..max (${min}..${max})`);
    return withSlots({ queues, count, min, max });
  });
  return dedupe(out, where);
}
