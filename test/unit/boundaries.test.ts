/**
 * The layer rules of docs/ARCHITECTURE.md, checked over every import in src/ (issue 13):
 * protocol (pure codecs) → store (the only code that talks to Redis) → worker / master /
 * producer / admin / jobs / config → cli and web. Type-only imports count for the direction rules and
 * not for cycles (they vanish at runtime).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', 'src');

interface Edge {
  from: string; // src-relative, e.g. 'worker/worker.ts'
  to: string; // src-relative module, or a package name
  typeOnly: boolean;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(d => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p) : d.name.endsWith('.ts') ? [p] : [];
  });
}

function resolveLocal(fromFile: string, spec: string): string {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return path.relative(SRC, c);
  throw new Error(`${path.relative(SRC, fromFile)} imports ${spec}, which does not resolve`);
}

function edgesOf(file: string): Edge[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: Edge[] = [];
  const re =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4] ?? m[5]!;
    const typeOnly = Boolean(m[2]);
    const to = spec.startsWith('.') ? resolveLocal(file, spec) : spec;
    out.push({ from: path.relative(SRC, file), to, typeOnly });
  }
  return out;
}

const files = filesUnder(SRC);
const edges = files.flatMap(edgesOf);
const layerOf = (f: string): string => (f.includes('/') ? f.split('/')[0]! : f.replace(/\.ts$/, ''));

describe('import boundaries (docs/ARCHITECTURE.md)', () => {
  it('sees the imports (a check that found nothing would pass)', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(edges.filter(e => e.to === 'ioredis').length).toBeGreaterThan(2);
    expect(edges.some(e => e.from === 'worker/worker.ts' && e.to === 'store/redisStore.ts')).toBe(true);
  });

  it('ioredis is imported only by store/', () => {
    expect(edges.filter(e => e.to === 'ioredis' && layerOf(e.from) !== 'store').map(e => e.from)).toEqual([]);
  });

  it('protocol/ is pure: it imports only protocol/, errors and node builtins without I/O', () => {
    const bad = edges.filter(
      e =>
        layerOf(e.from) === 'protocol' &&
        !(layerOf(e.to) === 'protocol' || e.to === 'errors.ts' || ['node:buffer', 'node:crypto', 'lossless-json'].includes(e.to)),
    );
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('store/ imports only protocol/, store/, errors and packages', () => {
    const bad = edges.filter(e => layerOf(e.from) === 'store' && e.to.endsWith('.ts') && !['protocol', 'store', 'errors'].includes(layerOf(e.to)));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('nothing below cli/ and web/ imports them (web may use cli-free helpers of its own only)', () => {
    const bad = edges.filter(e => !['cli', 'web'].includes(layerOf(e.from)) && ['cli', 'web'].includes(layerOf(e.to)) && e.from !== 'index.ts');
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    // web/ is a top layer beside cli/: it does not reach into the CLI.
    expect(edges.filter(e => layerOf(e.from) === 'web' && layerOf(e.to) === 'cli').map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('admin/ imports only protocol/, store/, admin/, errors and the master record reader (issue 13)', () => {
    const allowed = (e: Edge): boolean =>
      ['protocol', 'store', 'admin', 'errors'].includes(layerOf(e.to)) ||
      e.to === 'master/masterRecord.ts' ||
      // the pure next-fire calculator, for the Schedule page's "next run" (issue 11)
      e.to === 'scheduler/recurringPlan.ts' ||
      (e.typeOnly && e.to === 'master/master.ts') ||
      !e.to.endsWith('.ts');
    const bad = edges.filter(e => layerOf(e.from) === 'admin' && !allowed(e));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'admin/admin.ts' && e.to === 'store/adminStore.ts')).toBe(true);
  });

  it('cli/ and web/ reach the admin store only through admin/; the producer Client uses admin/', () => {
    const bad = edges.filter(e => ['cli', 'web', 'producer'].includes(layerOf(e.from)) && e.to === 'store/adminStore.ts' && !e.typeOnly);
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'producer/client.ts' && e.to === 'admin/admin.ts')).toBe(true);
    // Only the top layers and the Client use the admin layer.
    // metrics/ (issue 14) reads the Resque keys for the dashboard's /metrics through admin/ too.
    const users = edges.filter(e => layerOf(e.to) === 'admin' && !['admin', 'cli', 'web', 'producer', 'index', 'metrics'].includes(layerOf(e.from)));
    expect(users.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('scheduler/ (issue 11) is a behaviour layer: it imports protocol/, store/, config/, logging/, errors, scheduler/ and packages only', () => {
    const allowed = ['protocol', 'store', 'config', 'logging', 'errors', 'scheduler'];
    const bad = edges.filter(e => layerOf(e.from) === 'scheduler' && e.to.endsWith('.ts') && !allowed.includes(layerOf(e.to)));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'scheduler/recurring.ts' && e.to === 'scheduler/recurringPlan.ts')).toBe(true);
    expect(edges.some(e => e.from === 'scheduler/scheduler.ts' && e.to === 'store/redisStore.ts')).toBe(true);
    // Nothing below it uses it (master --scheduler is wired in cli/); admin/ only its pure calculator.
    const users = edges.filter(
      e =>
        layerOf(e.to) === 'scheduler' &&
        !e.typeOnly &&
        !['scheduler', 'cli', 'web', 'index'].includes(layerOf(e.from)) &&
        !(layerOf(e.from) === 'admin' && e.to === 'scheduler/recurringPlan.ts'),
    );
    expect(users.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('status/ (issue 12) is a behaviour layer: it imports protocol/, store/, jobs/, errors, status/ and packages only', () => {
    const allowed = ['protocol', 'store', 'jobs', 'errors', 'status'];
    const bad = edges.filter(e => layerOf(e.from) === 'status' && e.to.endsWith('.ts') && !allowed.includes(layerOf(e.to)));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'status/statusJob.ts' && e.to === 'store/statusStore.ts')).toBe(true);
    // Used by the producer Client (waiting), the top layers and the index only.
    const users = edges.filter(e => layerOf(e.to) === 'status' && !['status', 'producer', 'cli', 'web', 'index'].includes(layerOf(e.from)));
    expect(users.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('retry/ (issue 12) is a behaviour layer: it imports protocol/, store/, jobs/registry, errors, retry/ and packages only', () => {
    const allowed = (e: Edge): boolean =>
      ['protocol', 'store', 'errors', 'retry'].includes(layerOf(e.to)) || e.to === 'jobs/registry.ts' || !e.to.endsWith('.ts');
    const bad = edges.filter(e => layerOf(e.from) === 'retry' && !allowed(e));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'retry/hooks.ts' && e.to === 'store/retryStore.ts')).toBe(true);
    // Used by defineJob (the `retry` option), the one seam (suppression.ts: the worker's finish, and a
    // dead worker's job's hooks in jobs/deadJob.ts), the top layers and the index.
    const users = edges.filter(
      e =>
        layerOf(e.to) === 'retry' &&
        !['retry', 'cli', 'web', 'index'].includes(layerOf(e.from)) &&
        !(e.from === 'jobs/define.ts') &&
        !((e.from === 'worker/worker.ts' || e.from === 'jobs/deadJob.ts') && e.to === 'retry/suppression.ts'),
    );
    expect(users.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('config/ does not import the behaviour layers (worker, master, producer, admin, scheduler, cli, web)', () => {
    const bad = edges.filter(e => layerOf(e.from) === 'config' && ['worker', 'master', 'producer', 'admin', 'scheduler', 'cli', 'web'].includes(layerOf(e.to)));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('only cli/, signals.ts and the process entries install signal handlers', () => {
    const entries = new Set(['signals.ts', 'master/childMain.ts', 'jobs/checkMain.ts', 'worker/livenessThread.ts']);
    const bad = files
      .map(f => path.relative(SRC, f))
      .filter(f => layerOf(f) !== 'cli' && !entries.has(f))
      .filter(f => /process\.(on|once|addListener|prependListener)\(\s*['"](SIG[A-Z0-9]+)['"]/.test(fs.readFileSync(path.join(SRC, f), 'utf8')));
    expect(bad).toEqual([]);
  });

  it('metrics/ sits above worker/, master/ and admin/ (it listens to their events) and below cli/ and web/, which serve it (issue 14)', () => {
    const allowed = ['metrics', 'worker', 'master', 'admin', 'logging', 'errors'];
    const bad = edges.filter(e => layerOf(e.from) === 'metrics' && e.to.endsWith('.ts') && !allowed.includes(layerOf(e.to)));
    expect(bad.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    // Only the top layers use it: the worker and the master never serve or import their metrics.
    const users = edges.filter(e => layerOf(e.to) === 'metrics' && !['metrics', 'cli', 'web'].includes(layerOf(e.from)));
    expect(users.map(e => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some(e => e.from === 'metrics/processMetrics.ts' && e.to === 'prom-client')).toBe(true);
    expect(edges.filter(e => layerOf(e.from) === 'metrics' && e.to === 'node:http')).toEqual([]);
  });

  it('has no import cycles at runtime', () => {
    const graph = new Map<string, string[]>();
    for (const e of edges) if (!e.typeOnly && e.to.endsWith('.ts')) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 'open');
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
