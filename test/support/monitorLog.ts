/**
 * Reads a captured MONITOR log (fixtures/plugins/<folder>/monitor.log): one command per line,
 * `<time> [<db> <client>|lua] "arg" "arg" ...`, arguments quoted with Redis' escapes
 * (\" \\ \n \r \t \a \b \xHH), as sdscatrepr writes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../unit/fixtureData';

export interface LoggedCommand {
  time: number;
  /** `127.0.0.1:51346`, or `lua` for a command a script ran. */
  source: string;
  args: string[];
}

/** Splits one MONITOR argument list (`"a" "b\"c"`) into strings (bytes as latin1 for \xHH, then UTF-8 decoded). */
export function parseMonitorArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (i >= text.length) break;
    if (text[i] !== '"') throw new Error(`bad MONITOR args at ${i}: ${text}`);
    i++;
    const bytes: number[] = [];
    while (i < text.length && text[i] !== '"') {
      const c = text[i]!;
      if (c === '\\') {
        const n = text[i + 1]!;
        const simple: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, '\\': 92 };
        if (n === 'x') {
          bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          bytes.push(simple[n] ?? n.charCodeAt(0));
          i += 2;
        }
      } else {
        for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
        i++;
      }
    }
    i++;
    out.push(Buffer.from(bytes).toString('utf8'));
  }
  return out;
}

/** Every command of a captured monitor.log. */
export function loadMonitorLog(rel: string): LoggedCommand[] {
  return readFileSync(join(FIXTURES, rel), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const m = /^(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (!m) throw new Error(`not a MONITOR line: ${line}`);
      return { time: Number(m[1]), source: m[2]!, args: parseMonitorArgs(m[3]!) };
    });
}

/** The commands between `SET resque:marker <from>` and the next marker (exclusive). */
export function phase(cmds: readonly LoggedCommand[], marker: string): LoggedCommand[] {
  const start = cmds.findIndex(c => c.args[0] === 'set' && c.args[1] === 'resque:marker' && c.args[2] === marker);
  if (start < 0) throw new Error(`no marker ${marker}`);
  const rest = cmds.slice(start + 1);
  const end = rest.findIndex(c => c.args[0] === 'set' && c.args[1] === 'resque:marker');
  return end < 0 ? rest : rest.slice(0, end);
}
