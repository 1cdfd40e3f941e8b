/**
 * README.md's fenced code blocks, as the README test (readme.test.ts) runs them.
 *
 * A block may be preceded (last non-blank line before its fence) by a marker comment:
 *   <!-- readme-test: skip (why) -->   not run; the test lists it as skipped, with the reason
 *   <!-- readme-test: redis -->        each line is a Redis command, sent to the test's server
 *   <!-- readme-test: with: CMD -->    CMD (a command that runs until stopped, e.g. a master) is
 *                                      started first and stopped after the block, if still running
 * Every other block is run according to its language; a language the test has no runner for
 * fails, so a new block is never silently ignored.
 */
import * as fs from 'node:fs';

export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string's first word, lower-cased ('' when none). */
  lang: string;
  text: string;
  marker: { kind: 'skip'; reason: string } | { kind: 'redis' } | { kind: 'with'; command: string } | null;
}

export function readBlocks(file: string): Block[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trim().startsWith(fence) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      body.push(lines[j]!);
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    blocks.push({ line: i + 1, lang: open[3]!.toLowerCase(), text: body.join('\n'), marker: k >= 0 ? parseMarker(lines[k]!, i + 1) : null });
    i = j;
  }
  return blocks;
}

function parseMarker(line: string, at: number): Block['marker'] {
  const m = /^\s*<!--\s*readme-test:\s*(.*?)\s*-->\s*$/.exec(line);
  if (!m) return null;
  const skip = /^skip\s*\((.+)\)$/.exec(m[1]!);
  if (skip) return { kind: 'skip', reason: skip[1]! };
  if (m[1] === 'redis') return { kind: 'redis' };
  const withCmd = /^with:\s*(.+)$/.exec(m[1]!);
  if (withCmd) return { kind: 'with', command: withCmd[1]! };
  throw new Error(`README.md:${at}: unknown readme-test marker ${JSON.stringify(m[1])} (known: "skip (why)", "redis", "with: <command>")`);
}

/**
 * Files a block defines: a first line `// name.ext` (JS/TS) or `# name.ext` (YAML) names the
 * file, and a later `// other.ext` line starts the next file of the same block.
 */
export function blockFiles(b: Block, fallback: string): Array<{ name: string; text: string }> {
  const files: Array<{ name: string; lines: string[] }> = [];
  const head = /^(?:\/\/|#)\s*([\w.-]+\.(?:js|cjs|mjs|ts|mts|cts|ya?ml|json))\b/;
  for (const l of b.text.split('\n')) {
    const m = head.exec(l);
    if (m && (files.length === 0 || /^\/\//.test(l))) files.push({ name: m[1]!, lines: [] });
    else if (files.length === 0) files.push({ name: fallback, lines: [] });
    files[files.length - 1]!.lines.push(l);
  }
  return files.map(f => ({ name: f.name, text: f.lines.join('\n') + '\n' }));
}

/** A shell block's command lines: `\` continuations joined, blank and comment lines dropped. */
export function shellCommands(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\s+$/, '');
    if (cur === '' && (l.trim() === '' || l.trim().startsWith('#'))) continue;
    if (l.endsWith('\\')) {
      cur += l.slice(0, -1) + ' ';
      continue;
    }
    out.push((cur + l).trim());
    cur = '';
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Shell words of a simple command, quotes removed, up to an unquoted `#` comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let w: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (w !== null) words.push(w);
      w = null;
    } else if (c === '#' && w === null) {
      break;
    } else if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      w = (w ?? '') + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (c === '\\' && i + 1 < line.length) {
      w = (w ?? '') + line[++i];
    } else {
      w = (w ?? '') + c;
    }
  }
  if (w !== null) words.push(w);
  return words;
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** `FOO=1 BAR='x y' cmd args` → { env: {FOO, BAR}, argv: [cmd, args] }. */
export function splitAssignments(words: string[]): { env: Record<string, string>; argv: string[] } {
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && ASSIGNMENT.test(words[i]!); i++) {
    const eq = words[i]!.indexOf('=');
    env[words[i]!.slice(0, eq)] = words[i]!.slice(eq + 1);
  }
  return { env, argv: words.slice(i) };
}

/** The raw line with `exec` inserted after its leading assignments, so the shell becomes the command. */
export function withExec(line: string): string {
  const m = /^((?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|[^\s'"])*\s+)*)/.exec(line)!;
  return `${m[1]}exec ${line.slice(m[1]!.length)}`;
}

/** The value of `--flag V` or `--flag=V` in argv, else undefined. */
export function flagValue(argv: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    for (const n of names) {
      if (argv[i] === n) return argv[i + 1];
      if (argv[i]!.startsWith(`${n}=`)) return argv[i]!.slice(n.length + 1);
    }
  }
  return undefined;
}
