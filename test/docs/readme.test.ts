/**
 * Every code block in README.md runs as written (issue 13), in a sandbox that stands for a fresh
 * machine after `npm ci`: a temp dir as the app directory, a real redis-server on a free port
 * with `REDIS_URL` pointing at it, the project's `bin/pyres-ts` on PATH as `pyres-ts`, and
 * `node_modules/pyres-ts` linking to this project (as an install would). Files the README
 * defines (`// jobs.js`, `# pool.yml` as a block's first line) are written out from the README
 * text itself before anything runs.
 *
 * - sh: every command line runs with `sh -c` in the sandbox and must exit 0. Commands that run
 *   until stopped (worker, manager, master, web, ctl watch) must show they work (a registered
 *   worker, an HTTP 200, a line of output), then get SIGTERM and must exit 0 and leave nothing.
 * - js: run with node (CommonJS, or ESM when it has import/export); json: parsed; ts: type-checked with the
 *   project's tsc (strict, bundler resolution); yaml: a pool file (unnamed, or `*pool*.yml`)
 *   through the project's pool loader in every environment section, other YAML parsed.
 * - Markers (readmeBlocks.ts): `<!-- readme-test: skip (why) -->` before a block skips it
 *   (listed as skipped, with the reason); `redis` sends each line to the sandbox's Redis;
 *   `with: CMD` runs CMD (e.g. a master) during the block. A block with no runner fails.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { parsePoolYaml } from '../../src/config/groups';
import { portAnswers, startRedis, type RedisServerHandle } from '../support/redisServer';
import { BIN, PROJECT_ROOT, killAll, spawnTracked, type Spawned } from '../support/spawn';
import { type Block, blockFiles, flagValue, readBlocks, shellCommands, shellWords, splitAssignments, withExec } from './readmeBlocks';

jest.setTimeout(90_000);

const README = path.join(PROJECT_ROOT, 'README.md');
const blocks = readBlocks(README);
const SHELL = new Set(['sh', 'shell', 'bash', 'console']);
const JS = new Set(['js', 'javascript', 'cjs', 'mjs']);
const TS = new Set(['ts', 'typescript']);
const YAML = new Set(['yaml', 'yml']);
const TEXT = new Set(['text', 'txt', 'plain', 'output']);
const JSON_LANG = new Set(['json', 'jsonc']);

let redis: RedisServerHandle;
let db: Redis;
let sandbox: string;
let env: NodeJS.ProcessEnv;

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
const where = (b: Block): string => `README.md:${b.line}`;
const isEsm = (text: string): boolean => /^\s*(import\s|export\s)/m.test(text);

function jsFiles(b: Block): Array<{ name: string; text: string }> {
  return blockFiles(b, `block-${b.line}.${b.lang === 'mjs' || isEsm(b.text) ? 'mjs' : 'js'}`);
}

/** Processes whose cwd is inside the sandbox: everything the README's commands started. */
function sandboxProcs(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${d}/cwd`);
      if (cwd === sandbox || cwd.startsWith(sandbox + path.sep)) out.push(Number(d));
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, proc?: Spawned): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (proc?.exited) throw new Error(`exited ${JSON.stringify(proc.exitResult)} before ${what}:\n${proc.lines().slice(-20).join('\n')}`);
    if (Date.now() > end) throw new Error(`no ${what} within ${deadlineMs} ms${proc ? `:\n${proc.lines().slice(-20).join('\n')}` : ''}`);
    await sleep(100);
  }
}

function httpStatus(host: string, port: number, auth: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const LONG_RUNNING = new Set(['worker', 'manager', 'master', 'web']);

/** SIGKILL a command's process group and every sandbox process that was not there before it (a master's children have their own groups). */
function killStarted(p: Spawned, procsBefore: Set<number>): void {
  for (const target of [-p.pid, ...sandboxProcs().filter(pid => !procsBefore.has(pid))]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** A command that runs until stopped, once it has shown it works; stop() sends SIGTERM and checks the exit. */
interface Running {
  stop(): Promise<void>;
}

async function runCommand(line: string, at: string): Promise<void> {
  const r = await startCommand(line, at);
  await r?.stop();
}

async function startCommand(line: string, at: string): Promise<Running | undefined> {
  const words = shellWords(line);
  const { env: assigned, argv } = splitAssignments(words);
  const sub = argv[0] === 'pyres-ts' ? argv[1] : undefined;
  // A --daemon command returns once its daemon is up: it runs as a one-shot (the block stops the daemon itself).
  const daemon = argv.includes('--daemon') || argv.includes('-d');
  const longRunning = sub !== undefined && ((LONG_RUNNING.has(sub) && !argv.includes('--drain') && !daemon) || (sub === 'ctl' && argv[2] === 'watch'));
  if (!longRunning) {
    const procsBefore = new Set(sandboxProcs());
    const p = spawnTracked('sh', ['-c', line], { cwd: sandbox, env, detached: true });
    const r = await p.waitForEnd(30_000).catch((e: Error) => {
      killStarted(p, procsBefore);
      throw new Error(`${at}: \`${line}\` (not a command that runs until stopped): ${e.message}`);
    });
    if (r.code !== 0) throw new Error(`${at}: \`${line}\` exited ${JSON.stringify(r)}:\n${p.lines().slice(-20).join('\n')}`);
    return undefined;
  }
  const ns = flagValue(argv, '--namespace') ?? 'resque';
  const before = new Set(await db.smembers(`${ns}:workers`));
  const procsBefore = new Set(sandboxProcs());
  // web's --port is its HTTP port (pyres_web's), as --web-port.
  const webPort = Number((sub === 'web' ? flagValue(argv, '--port') : undefined) ?? flagValue(argv, '--web-port') ?? 5678);
  if (sub === 'web' && (await portAnswers(webPort)))
    throw new Error(`${at}: \`${line}\`: port ${webPort} is already taken by another process; free it to run this test`);
  const p = spawnTracked('sh', ['-c', withExec(line)], { cwd: sandbox, env, detached: true });
  try {
    if (sub === 'web') {
      const host = flagValue(argv, '--bind') ?? '127.0.0.1';
      const port = webPort;
      const auth = flagValue(argv, '--auth') ?? assigned['PYRES_WEB_AUTH'];
      await until(`HTTP 200 from http://${host}:${port}/`, 20_000, async () => ((await httpStatus(host, port, auth)) === 200 ? true : undefined), p);
    } else if (sub === 'ctl') {
      await until('line of output', 20_000, async () => (p.lines().some(l => l.trim() !== '') ? true : undefined), p);
    } else {
      await until(
        `registered worker in ${ns}:workers`,
        30_000,
        async () => ((await db.smembers(`${ns}:workers`)).some(w => !before.has(w)) ? true : undefined),
        p,
      );
    }
  } catch (e) {
    killStarted(p, procsBefore);
    throw new Error(`${at}: \`${line}\`: ${(e as Error).message}`);
  }
  return { stop: () => stopCommand(p, line, at, sub, ns, before, procsBefore) };
}

async function stopCommand(p: Spawned, line: string, at: string, sub: string, ns: string, before: Set<string>, procsBefore: Set<number>): Promise<void> {
  try {
    if (!p.exited) process.kill(-p.pid, 'SIGTERM');
  } catch {
    /* it has just exited: its status is checked below */
  }
  const r = await p.waitForEnd(30_000).catch((e: Error) => {
    killStarted(p, procsBefore);
    throw new Error(`${at}: \`${line}\` did not end on SIGTERM: ${e.message}`);
  });
  if (r.code !== 0) throw new Error(`${at}: \`${line}\` exited ${JSON.stringify(r)} on SIGTERM:\n${p.lines().slice(-20).join('\n')}`);
  await until('end of every process it started', 15_000, async () => (sandboxProcs().every(pid => procsBefore.has(pid)) ? true : undefined));
  if (sub !== 'web' && sub !== 'ctl') {
    const left = (await db.smembers(`${ns}:workers`)).filter(w => !before.has(w));
    if (left.length) throw new Error(`${at}: \`${line}\` left registered workers: ${left.join(', ')}`);
  }
}

/** One tsc run over every TS block (each in its own directory), memoised. */
let tscRun: Promise<{ code: number | null; out: string }> | undefined;
function typecheck(): Promise<{ code: number | null; out: string }> {
  tscRun ??= (async () => {
    const dir = path.join(sandbox, 'ts');
    fs.mkdirSync(dir, { recursive: true });
    for (const b of blocks.filter(x => TS.has(x.lang) && x.marker?.kind !== 'skip')) {
      const bd = path.join(dir, `block-${b.line}`);
      fs.mkdirSync(bd, { recursive: true });
      for (const f of blockFiles(b, 'block.ts')) fs.writeFileSync(path.join(bd, f.name), f.text);
    }
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(PROJECT_ROOT, 'node_modules', '@types')],
        },
        include: ['**/*.ts'],
      }),
    );
    const p = spawnTracked(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], {
      cwd: dir,
    });
    const r = await p.waitForEnd(60_000);
    return { code: r.code, out: p.stdout() + p.stderr() };
  })();
  return tscRun;
}

beforeAll(async () => {
  redis = await startRedis();
  db = new Redis(redis.url);
  sandbox = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-readme-')));
  const binDir = path.join(sandbox, '.bin');
  fs.mkdirSync(binDir);
  fs.symlinkSync(BIN, path.join(binDir, 'pyres-ts'));
  fs.mkdirSync(path.join(sandbox, 'node_modules'));
  fs.symlinkSync(PROJECT_ROOT, path.join(sandbox, 'node_modules', 'pyres-ts'));
  // An install hoists pyres-ts's own dependencies beside it: an app can import ioredis too.
  for (const dep of Object.keys(
    (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
  )) {
    fs.mkdirSync(path.dirname(path.join(sandbox, 'node_modules', dep)), { recursive: true });
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules', dep), path.join(sandbox, 'node_modules', dep));
  }
  for (const b of blocks) {
    if (b.marker?.kind === 'skip' || !(JS.has(b.lang) || YAML.has(b.lang))) continue;
    // the first block that defines a file is the one the commands use
    for (const f of blockFiles(b, '')) if (f.name && !fs.existsSync(path.join(sandbox, f.name))) fs.writeFileSync(path.join(sandbox, f.name), f.text);
  }
  env = { ...process.env, REDIS_URL: redis.url, PATH: `${binDir}${path.delimiter}${process.env['PATH'] ?? ''}` };
  for (const k of Object.keys(env)) if (/^(PYRES_|RACK_ENV$|RAILS_ENV$|NODE_ENV$|JEST_|REDIS_PASSWORD$)/.test(k)) delete env[k];
});

afterEach(async () => {
  await killAll();
});

afterAll(async () => {
  const skipped = blocks.flatMap(b => (b.marker?.kind === 'skip' ? [`  ${where(b)} \`\`\`${b.lang}: ${b.marker.reason}`] : []));
  if (skipped.length) console.info(`README blocks skipped by their readme-test marker:\n${skipped.join('\n')}`);
  const left = sandbox ? sandboxProcs() : [];
  for (const pid of left) process.kill(pid, 'SIGKILL');
  db?.disconnect();
  await redis?.stop();
  if (sandbox) fs.rmSync(sandbox, { recursive: true, force: true });
  if (left.length) throw new Error(`README commands left processes behind: ${left.join(', ')}`);
});

describe('README.md code blocks run as written', () => {
  it('finds the README code blocks', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  for (const b of blocks) {
    const title = `${where(b)} \`\`\`${b.lang || '(no language)'}${b.text.split('\n')[0] ? `: ${b.text.split('\n')[0]!.slice(0, 60)}` : ''}`;
    if (b.marker?.kind === 'skip') {
      it.skip(`${title}  [SKIPPED: ${b.marker.reason}]`, () => undefined);
      continue;
    }
    it(title, async () => {
      if (b.marker?.kind === 'redis') {
        for (const l of b.text.split('\n').filter(x => x.trim() !== '')) {
          const [cmd, ...args] = l.trim().split(/\s+/);
          await expect(db.call(cmd!, ...args)).resolves.toBe('OK');
        }
      } else if (SHELL.has(b.lang)) {
        const cmds = shellCommands(b.text);
        expect(cmds.length).toBeGreaterThan(0);
        const bg = b.marker?.kind === 'with' ? await startCommand(b.marker.command, `${where(b)} (with: ...)`) : undefined;
        if (b.marker?.kind === 'with' && !bg) throw new Error(`${where(b)}: "with: ${b.marker.command}" is not a command that runs until stopped`);
        try {
          for (const c of cmds) await runCommand(c, where(b));
        } finally {
          await bg?.stop();
        }
      } else if (JS.has(b.lang)) {
        // the block's own copy (another block may define a file of the same name), under the
        // sandbox so that `require('pyres-ts')` finds its node_modules
        const dir = path.join(sandbox, 'js', `block-${b.line}`);
        fs.mkdirSync(dir, { recursive: true });
        const files = jsFiles(b);
        for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.text);
        for (const f of files) {
          const p = spawnTracked(process.execPath, [f.name], { cwd: dir, env });
          const r = await p.waitForEnd(20_000).catch((e: Error) => {
            throw new Error(`${where(b)}: node ${f.name} did not exit: ${e.message}`);
          });
          if (r.code !== 0) throw new Error(`${where(b)}: node ${f.name} exited ${JSON.stringify(r)}:\n${p.lines().slice(-20).join('\n')}`);
        }
      } else if (TS.has(b.lang)) {
        const { code, out } = await typecheck();
        const mine = out.split('\n').filter(l => l.startsWith(`block-${b.line}/`));
        expect(mine).toEqual([]);
        // an error outside every block (the sandbox's tsconfig, tsc itself) fails every TS block
        if (code !== 0 && !out.split('\n').some(l => /^block-\d+\//.test(l))) throw new Error(`tsc exited ${code}: ${out}`);
      } else if (YAML.has(b.lang)) {
        const [f] = blockFiles(b, '');
        const YAMLLIB = require('yaml') as typeof import('yaml');
        if (f?.name && !/pool/i.test(f.name)) {
          expect(() => YAMLLIB.parse(b.text)).not.toThrow();
          return;
        }
        expect(() => parsePoolYaml(b.text, undefined, `${where(b)} ${f?.name ?? ''}`)).not.toThrow();
        const doc = (YAMLLIB.parse(b.text) ?? {}) as Record<string, unknown>;
        const sections = Object.keys(doc).filter(k => {
          const v = doc[k];
          return !!v && typeof v === 'object' && !Array.isArray(v) && !('min' in v) && !('max' in v) && !('count' in v);
        });
        for (const s of sections) expect(parsePoolYaml(b.text, s, `${where(b)} [${s}]`).length).toBeGreaterThan(0);
      } else if (JSON_LANG.has(b.lang)) {
        expect(() => JSON.parse(b.text)).not.toThrow();
      } else if (TEXT.has(b.lang)) {
        // output shown to the reader: nothing to run
      } else {
        throw new Error(
          `${where(b)}: no runner for a \`\`\`${b.lang || '(no language)'} block: give it a language (sh, js, ts, yaml, json, text) or a <!-- readme-test: ... --> marker`,
        );
      }
    });
  }
});
