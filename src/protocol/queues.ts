import { ConfigError } from '../errors';

/**
 * A worker's queue list as given (`p10,p9`, `*`, `p*`, `!p9`), in priority order.
 * Matching follows Ruby 3.0: `*` is every queue in the `queues` set, sorted; a glob expands
 * to its sorted matches in place; `!pattern` removes matching queues from the result.
 */
export interface QueueSpec {
  readonly raw: string;
  readonly negate: boolean;
  /** The pattern without its `!`. */
  readonly pattern: string;
  readonly isGlob: boolean;
}

const GLOB_CHARS = /[*?[\]{}]/;

export function parseQueueList(input: string | readonly string[]): QueueSpec[] {
  const parts = (typeof input === 'string' ? input.split(',') : input.flatMap(s => s.split(','))).map(s => s.trim()).filter(s => s !== '');
  if (parts.length === 0) throw new ConfigError('--queues is empty: give at least one queue, e.g. --queues p10,p9');
  return parts.map(raw => {
    const negate = raw.startsWith('!');
    const pattern = negate ? raw.slice(1) : raw;
    if (pattern === '') throw new ConfigError(`--queues: ${JSON.stringify(raw)} is not a queue name or pattern`);
    if (pattern.includes(':')) throw new ConfigError(`--queues: queue ${JSON.stringify(pattern)} contains ':', which breaks Resque's worker ids`);
    return { raw, negate, pattern, isGlob: GLOB_CHARS.test(pattern) };
  });
}

export function hasPatterns(specs: readonly QueueSpec[]): boolean {
  return specs.some(s => s.isGlob || s.negate);
}

/** File.fnmatch? without flags: `*` any run (also '/'), `?` one char, `[...]`/`[!...]` a set. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += c.replace(/[.+^$(){}|\\/]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}

/** Lua pattern equivalent of globToRegExp, for the reserve script. */
export function globToLuaPattern(glob: string): string {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '%[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      let neg = '';
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = '^';
        body = body.slice(1);
      }
      // Inside a Lua set only '%', ']' and a leading '^' are special; '-' ranges work as in globs.
      out += '[' + neg + body.replace(/%/g, '%%') + ']';
      i = end;
    } else out += c.replace(/[%^$().[\]*+\-?]/g, '%$&');
  }
  return out + '$';
}

/** Resolves specs against the members of the `queues` set, in priority order, without duplicates. */
export function resolveQueues(specs: readonly QueueSpec[], known: readonly string[]): string[] {
  const sorted = [...known].sort();
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of specs) {
    if (s.negate) continue;
    const names = s.isGlob ? sorted.filter(q => globToRegExp(s.pattern).test(q)) : [s.pattern];
    for (const n of names) if (!seen.has(n)) seen.add(n), out.push(n);
  }
  const skips = specs.filter(s => s.negate).map(s => globToRegExp(s.pattern));
  return out.filter(q => !skips.some(r => r.test(q)));
}
