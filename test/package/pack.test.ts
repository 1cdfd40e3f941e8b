/**
 * The package as a user installs it (issue 13): a copy of the project's files without `dist/`
 * (a fresh clone), `npm pack` there (its `prepare` builds), the tarball installed into an empty
 * app, then:
 *  - a CommonJS script and an ESM script import the API;
 *  - `tsc --noEmit` over typed usage, with `nodenext` and with `bundler` resolution;
 *  - the installed `pyres-ts` bin works a job from the app's own job module (which requires
 *    'pyres-ts') against a real redis-server, and exits by --drain;
 *  - the install script built the PID 1 reaper (native/) in the app, and an install on a machine
 *    without a toolchain (PATH holding only node and npm) succeeds with one notice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { testDbUrl, flushTestDb } from '../support/redisServer';
import { PROJECT_ROOT } from '../support/spawn';

jest.setTimeout(240_000);

const TSC = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = path.join(PROJECT_ROOT, 'node_modules', '@types');

let tmp = '';
let app = '';
let packed: { files: Array<{ path: string }>; filename: string } | null = null;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** npm without the test run's own npm_* variables (npm_config_* would leak settings in). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-pack-'));
  // A fresh clone: the files git knows (tracked or new, not ignored), no dist/.
  const src = path.join(tmp, 'clone');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(f => f && !f.startsWith('dist/') && fs.existsSync(path.join(PROJECT_ROOT, f)) && fs.statSync(path.join(PROJECT_ROOT, f)).isFile());
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(src, f));
  }
  fs.chmodSync(path.join(src, 'bin', 'pyres-ts'), 0o755);
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const out = run('npm', ['pack', '--json', '--pack-destination', tmp], src, npmEnv());
  packed = (JSON.parse(out.slice(out.indexOf('['))) as Array<{ files: Array<{ path: string }>; filename: string }>)[0]!;

  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, packed.filename)], app, npmEnv());
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack of a fresh clone, installed into an empty app', () => {
  it('ships the built code, the bin, the types and the LICENSE, and no sources or tests', () => {
    const names = packed!.files.map(f => f.path);
    for (const f of [
      'package.json',
      'LICENSE',
      'README.md',
      'bin/pyres-ts',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/master/childMain.js',
      'dist/worker/livenessThread.js',
      'dist/jobs/checkMain.js',
      'native/binding.gyp',
      'native/reap.c',
      'native/install.js',
    ]) {
      expect(names).toContain(f);
    }
    expect(names.filter(n => /^(src|test|fixtures|bench|chaos|native\/build)\//.test(n))).toEqual([]);
    // Source maps carry their sources: they do not point at an unshipped src/.
    const map = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'pyres-ts', 'dist', 'index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export');
  });

  it('npm install ran the install script: the PID 1 reaper is built in the app and loads', () => {
    const addon = path.join(app, 'node_modules', 'pyres-ts', 'native', 'build', 'Release', 'pyres_reap.node');
    const out = run(process.execPath, ['-e', `console.log(typeof require(${JSON.stringify(addon)}).reapExcept)`], app);
    expect(out.trim()).toBe('function');
  });

  it('an install without a compiler, python3 or make (PATH: node, npm and sh only) succeeds with one notice; the bin runs', () => {
    const bare = path.join(tmp, 'bare');
    const bin = path.join(tmp, 'bare-bin');
    fs.mkdirSync(bare);
    fs.mkdirSync(bin);
    for (const [name, target] of [
      ['node', process.execPath],
      ['sh', '/bin/sh'],
      ['npm', execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()],
    ] as const)
      fs.symlinkSync(target, path.join(bin, name));
    fs.writeFileSync(path.join(bare, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }));
    const r = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', path.join(tmp, packed!.filename)], {
      cwd: bare,
      env: { ...npmEnv(), PATH: bin },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect({
      status: r.status,
      tail: r.status === 0 ? '' : r.stderr.slice(-1500),
      notices: `${r.stdout}${r.stderr}`.split('\n').filter(l => /native PID 1 reaper/.test(l)).length,
    }).toEqual({ status: 0, tail: '', notices: 1 });
    expect(`${r.stdout}${r.stderr}`).toMatch(/pyres-ts: the native PID 1 reaper was not built \(node-gyp found no python3\)/);
    expect(fs.existsSync(path.join(bare, 'node_modules', 'pyres-ts', 'native', 'build', 'Release', 'pyres_reap.node'))).toBe(false);
    const v = spawnSync(process.execPath, [path.join(bare, 'node_modules', 'pyres-ts', 'bin', 'pyres-ts'), '--version'], { encoding: 'utf8' });
    expect({ status: v.status, out: v.stdout.trim() }).toEqual({ status: 0, out: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });

  it('require() from CommonJS', () => {
    fs.writeFileSync(
      path.join(app, 'cjs.js'),
      `const p = require('pyres-ts');
const names = ['Worker', 'Master', 'Client', 'Admin', 'AdminActionError', 'enqueue', 'enqueueArgsText', 'startWebServer', 'createWebApp', 'parseDsnList', 'currentJob', 'JobRegistry', 'ConfigError', 'encodeJob'];
for (const n of names) if (typeof p[n] !== 'function') throw new Error(n + ' is ' + typeof p[n]);
console.log('cjs ok ' + p.VERSION + ' ' + require('pyres-ts/package.json').version);
`,
    );
    expect(run(process.execPath, ['cjs.js'], app).trim()).toMatch(/^cjs ok \d+\.\d+\.\d+ \d+\.\d+\.\d+$/);
  });

  it('import from ESM (named and default)', () => {
    fs.writeFileSync(
      path.join(app, 'esm.mjs'),
      `import { Worker, Master, Client, enqueue, currentJob, VERSION } from 'pyres-ts';
import pyres from 'pyres-ts';
for (const f of [Worker, Master, Client, enqueue, currentJob, pyres.Worker]) if (typeof f !== 'function') throw new Error('missing export');
console.log('esm ok ' + VERSION);
`,
    );
    expect(run(process.execPath, ['esm.mjs'], app).trim()).toMatch(/^esm ok /);
  });

  it('a deep import of a private file is refused by the exports map', () => {
    const r = spawnSync(process.execPath, ['-e', "require('pyres-ts/dist/store/redisStore')"], { cwd: app, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  for (const mode of [
    { name: 'nodenext', options: { module: 'nodenext', moduleResolution: 'nodenext' } },
    { name: 'bundler', options: { module: 'esnext', moduleResolution: 'bundler' } },
  ]) {
    it(`tsc --noEmit over typed usage (${mode.name} resolution)`, () => {
      const dir = path.join(app, `ts-${mode.name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'use.ts'),
        `import { Client, Worker, Master, JobRegistry, currentJob, defineJob, type JobContext, type WorkerOptions, type MasterOptions } from 'pyres-ts';
const registry = new JobRegistry();
registry.register('Archive', { perform: async (id: number): Promise<void> => { const ctx: JobContext | undefined = currentJob(); ctx?.logger.info(String(id)); } });
const wo: WorkerOptions = { queues: ['p10', 'p9'], jobs: registry };
const w: Worker = new Worker(wo);
const mo: MasterOptions = { queues: ['p10'], pool: 2, jobs: ['./jobs.js'] };
const m: Master = new Master(mo);
async function main(): Promise<string | null> { const c = new Client({ connection: { url: 'redis://127.0.0.1:6379' } }); return c.enqueue('p10', 'Archive', 42); }
// Typed jobs and a typed enqueue: the class name and its args are checked.
const jobs = {
  Archive: defineJob(async (id: number, opts: { deep: boolean }): Promise<void> => { void id; void opts; }),
  Ping: defineJob({ timeout: 5, perform: (host: string): number => host.length }),
};
const typed = new Client<typeof jobs>();
void typed.enqueue('p10', 'Archive', 42, { deep: true });
void typed.enqueue('p10', 'Ping', 'example.org');
// @ts-expect-error: a string where Archive takes a number
void typed.enqueue('p10', 'Archive', 'x', { deep: true });
// @ts-expect-error: no such job in the map
void typed.enqueue('p10', 'Nope');
registry.register('Ping', jobs.Ping);
// The admin surface (issue 13), over a caller's ioredis instance or options.
import { Redis } from 'ioredis';
import { enqueue, enqueueArgsText, AdminActionError, type RedisClient, type PeekedJob, type ClientWorker, type FailedPage, type RetryAllResult, type ResqueStats, type ServerMasters, type JobFailureEvent } from 'pyres-ts';
async function admin(): Promise<number> {
  const mine: RedisClient = new Redis({ lazyConnect: true });
  const c = await new Client({ redis: mine, namespace: 'resque' }).connect();
  const qs: Array<{ queue: string; size: number }> = await c.queues();
  const n: number = await c.queueLength('p10');
  const peeked: PeekedJob[] = await c.peek('p10', 0, 10);
  const gone: number = (await c.removeQueue('old')) + (await c.clearQueue('p9'));
  const ws: ClientWorker[] = await c.workers();
  const st: ResqueStats = await c.stats();
  const ms: ServerMasters = await c.masters();
  await c.masterCommand(ms.masters[0]!.id, { cmd: 'scale', queues: 'p10', count: 2 });
  const page: FailedPage = await c.failed.list({ start: 0, count: 20, list: 'p10_failed', order: 'desc', show: 'pending' });
  const first = page.items[0];
  if (first) await c.failed.retry(first.index, { digest: first.digest, list: page.list });
  await c.failed.remove(0, { list: 'failed' });
  const all: RetryAllResult = await c.failed.retryAll();
  const lists: Array<{ list: string; size: number }> = await c.failed.lists();
  const cleared: number = (await c.failed.clear('failed')) + (await c.failed.clearRetried()) + (await c.failed.count());
  // @ts-expect-error: retry takes an index
  void c.failed.retry('0');
  await c.close();
  await mine.quit();
  void (new AdminActionError('x') instanceof Error);
  await enqueue('p10', 'Archive', 42, { deep: true });
  await enqueue({ connection: { url: 'redis://127.0.0.1:6379' } }, 'p10', 'Archive', 42);
  await enqueueArgsText('p10', 'Archive', '[1.0]');
  return qs.length + n + peeked.length + gone + ws.length + st.processed + all.retried + lists.length + cleared;
}
// The dashboard from code.
import { Admin, parseDsnList, startWebServer, createWebApp, type WebServer } from 'pyres-ts';
async function web(): Promise<string> {
  const dashboard = new Admin(parseDsnList('redis://127.0.0.1:6379', { namespace: 'resque' }));
  await dashboard.connect();
  const s: WebServer = await startWebServer({ dashboard, port: 0, auth: { username: 'admin', password: 'secret' }, allowedHosts: ['jobs.example.org'] });
  const res: Response = await createWebApp({ dashboard }).fetch(new Request('http://127.0.0.1/'));
  await s.close();
  return s.url + res.status;
}
// Typed events.
w.on('failure', (e: JobFailureEvent) => { const cls: string = e.className; const ex: string = e.exception; void cls; void ex; });
w.once('stopped', () => undefined);
w.off('status', (line: string) => void line);
m.on('child-ready', (pid: number) => void pid);
m.on('all-ready', () => undefined);
// @ts-expect-error: not a Worker event
w.on('finished', () => undefined);
// @ts-expect-error: 'job' carries a JobEvent, not a number
w.on('job', (n: number) => void n);
export { w, m, main, admin, web };
`,
      );
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { ...mode.options, target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots: [TYPE_ROOTS], skipLibCheck: false },
          files: ['use.ts'],
        }),
      );
      // The app's package.json is CommonJS; nodenext then checks use.ts as CommonJS too.
      run(process.execPath, [TSC, '-p', dir], dir);
    });
  }

  it("the installed bin works a job from the app's own module that requires 'pyres-ts'", async () => {
    const url = testDbUrl();
    await flushTestDb(url);
    const ledger = path.join(app, 'ledger.txt');
    fs.writeFileSync(
      path.join(app, 'jobs.js'),
      `const { currentJob } = require('pyres-ts');
exports.Archive = { perform(id) { require('fs').appendFileSync(${JSON.stringify(ledger)}, currentJob().queue + ' ' + id + '\\n'); } };
`,
    );
    const r = new Redis(url);
    try {
      await r.pipeline().sadd('resque:queues', 'packq').rpush('resque:queue:packq', '{"class":"Archive","args":[42]}').exec();
      const bin = path.join(app, 'node_modules', '.bin', 'pyres-ts');
      const out = spawnSync(bin, ['worker', '--queues', 'packq', '--jobs', './jobs.js', '--redis', url, '--drain'], {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: out.status, stderr: out.status === 0 ? '' : out.stderr }).toEqual({ status: 0, stderr: '' });
      expect(fs.readFileSync(ledger, 'utf8')).toBe('packq 42\n');
      expect(await r.get('resque:stat:processed')).toBe('1');
      expect(await r.llen('resque:failed')).toBe(0);
    } finally {
      r.disconnect();
    }
  });
});
