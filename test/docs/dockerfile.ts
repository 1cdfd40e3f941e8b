/**
 * deploy/Dockerfile read as a builder reads it, for the offline checks in deploy.test.ts: its
 * stages and instructions (continuation lines joined, JSON-form arguments parsed), the
 * .dockerignore rules that decide what a COPY from the context can see, and the production
 * half of the lock file (what `npm prune --omit=dev` keeps).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, ... */
  op: string;
  /** The rest of the line, continuations joined. */
  raw: string;
  /** Flags such as `--from=build`, then the arguments (JSON form parsed, else split on blanks). */
  flags: Record<string, string>;
  args: string[];
}

export interface Stage {
  from: string;
  name: string | null;
  steps: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let acc = '';
  for (const line of text.split('\n')) {
    if (!acc && (/^\s*#/.test(line) || !line.trim())) continue;
    if (line.endsWith('\\')) acc += `${line.slice(0, -1)} `;
    else {
      logical.push(acc + line);
      acc = '';
    }
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not an instruction: ${l}`);
    const op = (m[1] as string).toUpperCase();
    const raw = (m[2] as string).trim().replace(/\s+/g, ' ');
    const words = raw.startsWith('[') ? (JSON.parse(raw) as string[]) : raw.split(/\s+/);
    const flags: Record<string, string> = {};
    while (!raw.startsWith('[') && words[0]?.startsWith('--')) {
      const [k, v] = (words.shift() as string).slice(2).split('=');
      flags[k as string] = v ?? '';
    }
    const ins: Instruction = { op, raw, flags, args: words };
    if (op === 'FROM') {
      const as = words.findIndex(w => w.toUpperCase() === 'AS');
      stages.push({ from: words[0] as string, name: as >= 0 ? (words[as + 1] as string) : null, steps: [] });
    } else {
      const cur = stages[stages.length - 1];
      if (!cur) throw new Error(`${op} before FROM`);
      cur.steps.push(ins);
    }
  }
  return stages;
}

/**
 * .dockerignore as a matcher, for the plain rules this project uses (a path, matching itself
 * and everything under it). A rule with a wildcard or an exception (`!`) throws: the checks
 * would need Docker's full matcher then.
 */
export function dockerIgnore(root: string): (rel: string) => boolean {
  const file = path.join(root, '.dockerignore');
  const rules = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map(l => l.trim())
        .filter(l => l && !l.startsWith('#'))
    : [];
  for (const r of rules) if (/[*?[\]!]/.test(r)) throw new Error(`.dockerignore rule ${r}: this check handles plain paths only`);
  const plain = rules.map(r => path.posix.normalize(r).replace(/^\/+|\/+$/g, ''));
  return rel => {
    const p = path.posix.normalize(rel).replace(/^\.\/|\/+$/g, '');
    return plain.some(r => p === r || p.startsWith(`${r}/`));
  };
}

/** The lock file's top-level packages that `npm prune --omit=dev` keeps (paths like `@scope/name`). */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(k) && !v.dev)
    .map(([k]) => k.slice('node_modules/'.length))
    .sort();
}
