/**
 * The shipped deployment files (deploy/): each parses, carries what its platform needs, and
 * names only flags the CLI has (checked against the CLI's own --help). The systemd unit passes
 * `systemd-analyze verify` when that tool is present. The Kubernetes manifests and the compose
 * file are validated against their published schemas in deploySchemas.test.ts.
 *
 * compose.yml: every service that runs our image (master, scheduler, web) runs here as a real
 * process with its command and environment as written (the image's paths mapped to this
 * checkout, REDIS_URL to the test's server, the dashboard's port to a free one), is checked to
 * answer, and stops with exit 0 on TERM.
 *
 * The Dockerfile: its instructions are read as a builder reads them; its stages are run offline
 * (the build stage's COPY lines into a temporary /src, `npm ci` standing for the project's
 * node_modules, its `npm run build` and the PID 1 reaper's build and load check; the final stage's COPY lines into a temporary /app with only
 * the lock file's production packages, for `npm prune --omit=dev`), and the ENTRYPOINT and CMD
 * run there (node and the CLI; as PID 1 the CLI is its own init: test/master/pid1.test.ts). The image itself is not built: no Docker daemon
 * here, and Debian's buildah stops at `FROM node:20-bookworm-slim` (Docker Hub's name does not
 * resolve here; README "Docker"). The test builds it when `docker info` answers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { parse, parseAllDocuments } from 'yaml';
import { parsePoolYaml } from '../../src/config/groups';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { BIN, isAlive, killAll, PROJECT_ROOT, type Spawned, spawnCli, spawnTracked } from '../support/spawn';
import { dockerIgnore, type Instruction, parseDockerfile, productionPackages, type Stage } from './dockerfile';

const DEPLOY = path.join(PROJECT_ROOT, 'deploy');
/** A parsed YAML node, read field by field by the checks below. */
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML; every field used is checked by an expect
type Y = any;
const read = (f: string): string => fs.readFileSync(path.join(DEPLOY, f), 'utf8');

const helpCache = new Map<string, string>();
function help(command: string): string {
  if (!helpCache.has(command)) helpCache.set(command, execFileSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8' }));
  return helpCache.get(command) as string;
}

/** Every --flag in `args` is one the command's --help lists. */
function expectKnownFlags(command: string, args: readonly string[]): void {
  const h = help(command);
  const flags = args.filter(a => a.startsWith('--')).map(a => a.split('=')[0] as string);
  expect(flags.length).toBeGreaterThan(0);
  for (const f of flags) expect({ flag: f, listed: new RegExp(`(^|\\s)${f}(\\s|,|$)`, 'm').test(h) }).toEqual({ flag: f, listed: true });
}

function flagValue(args: readonly string[], flag: string): number {
  const i = args.indexOf(flag);
  expect(i).toBeGreaterThanOrEqual(0);
  return Number(args[i + 1]);
}

describe('deploy/systemd/pyres-ts.service', () => {
  const text = read('systemd/pyres-ts.service');
  const ini = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) ini.set(m[1] as string, m[2] as string);
  }
  const exec = (ini.get('ExecStart') ?? '').split(/\s+/);

  it('Type=notify with NotifyAccess=all (the datagrams come from a helper process), KillMode=mixed, a watchdog', () => {
    expect(ini.get('Type')).toBe('notify');
    expect(ini.get('NotifyAccess')).toBe('all');
    expect(ini.get('KillMode')).toBe('mixed');
    expect(Number(ini.get('WatchdogSec'))).toBeGreaterThan(0);
    expect(ini.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it("TimeoutStopSec outlasts --term-timeout plus the children's margin", () => {
    expect(Number(ini.get('TimeoutStopSec'))).toBeGreaterThan(flagValue(exec, '--term-timeout') + 2 + 2);
  });

  it("ExecStart's command runs: the CLI's --help for it exits 0 and lists every flag it uses", () => {
    expect(exec[0]).toBe('/usr/bin/pyres-ts');
    const r = spawnSync(process.execPath, [BIN, ...exec.slice(1), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('pre-fork');
    expectKnownFlags(exec[1] as string, exec.slice(2));
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
  (analyze ? it : it.skip)('systemd-analyze verify finds nothing to say (ExecStart pointed at this build)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unit-'));
    try {
      const unit = path.join(dir, 'pyres-ts.service');
      fs.writeFileSync(unit, text.replace('ExecStart=/usr/bin/pyres-ts', `ExecStart=${BIN}`));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/k8s', () => {
  const docs = (f: string): Array<Y> => parseAllDocuments(read(f)).map(d => d.toJS() as Y);

  it('the Deployment: probes on /healthz and /readyz on the metrics port, a grace period past --term-timeout, non-root, cgroup limits', () => {
    const all = docs('k8s/deployment.yaml');
    const dep = all.find(d => d['kind'] === 'Deployment') as Y;
    expect(dep['apiVersion']).toBe('apps/v1');
    const spec = dep['spec']['template']['spec'];
    const c = spec['containers'][0];
    const args: string[] = c['args'];
    expect(args[0]).toBe('master');
    expectKnownFlags('master', args);
    expect(spec['terminationGracePeriodSeconds']).toBeGreaterThan(flagValue(args, '--term-timeout') + 2);
    expect(spec['securityContext']['runAsNonRoot']).toBe(true);
    const port = c['ports'].find((p: Record<string, unknown>) => p['name'] === 'metrics');
    expect(port['containerPort']).toBe(flagValue(args, '--metrics-port'));
    expect(c['livenessProbe']['httpGet']).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c['readinessProbe']['httpGet']).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c['resources']['limits']).toEqual({ cpu: '2', memory: '1Gi' });
    expect(dep['spec']['selector']['matchLabels']).toEqual(dep['spec']['template']['metadata']['labels']);
    // The ConfigMap's pool file is one the master reads.
    const cm = all.find(d => d['kind'] === 'ConfigMap') as Y;
    expect(parsePoolYaml(cm['data']['resque-pool.yml'], 'production')).toEqual([
      { queues: 'critical,default', count: 2, min: 2, max: 6 },
      { queues: 'low', count: 2 },
    ]);
  });

  it('the KEDA ScaledObject targets the Deployment through the Redis Lists scaler on resque:queue:* lists', () => {
    const dep = docs('k8s/deployment.yaml').find(d => d['kind'] === 'Deployment') as Y;
    const all = docs('k8s/keda-scaledobject.yaml');
    const so = all.find(d => d['kind'] === 'ScaledObject') as Y;
    const auth = all.find(d => d['kind'] === 'TriggerAuthentication') as Y;
    expect(so['apiVersion']).toBe('keda.sh/v1alpha1');
    expect(so['spec']['scaleTargetRef']['name']).toBe(dep['metadata']['name']);
    expect(so['spec']['minReplicaCount']).toBeGreaterThanOrEqual(1);
    for (const t of so['spec']['triggers']) {
      expect(t['type']).toBe('redis');
      expect(t['metadata']['listName']).toMatch(/^resque:queue:[\w.-]+$/);
      expect(t['metadata']['listLength']).toMatch(/^\d+$/);
      expect(t['metadata']['address']).toMatch(/^[\w.-]+:\d+$/);
      expect(t['authenticationRef']['name']).toBe(auth['metadata']['name']);
    }
    expect(auth['spec']['secretTargetRef'][0]['parameter']).toBe('password');
  });
});

describe('deploy/compose.yml', () => {
  const doc = parse(read('compose.yml')) as Y;
  const svc = doc['services'];

  it("redis, a master, a scheduler, the dashboard and Ruby's resque-web; the commands name real flags", () => {
    expect(Object.keys(svc).sort()).toEqual(['master', 'redis', 'resque-web', 'scheduler', 'web']);
    expectKnownFlags('scheduler', svc['scheduler']['command'].slice(1));
    const master: string[] = svc['master']['command'];
    expectKnownFlags('master', master.slice(1));
    expect(Number.parseInt(svc['master']['stop_grace_period'], 10)).toBeGreaterThan(flagValue(master, '--term-timeout') + 2);
    const web: string[] = svc['web']['command'];
    expectKnownFlags('web', web.slice(1));
    expect(svc['web']['ports']).toEqual([`${flagValue(web, '--port')}:${flagValue(web, '--port')}`]);
    expect(fs.existsSync(path.join(DEPLOY, 'resque-web', 'config.ru'))).toBe(true);
    // The master's job module is the example the image mounts.
    expect(master).toContain('/app/examples/jobs.js');
  });
});

describe("deploy/compose.yml's own services, run as processes", () => {
  afterEach(async () => {
    await killAll();
  });

  /** GET / on the dashboard with a Host header of our choice (fetch may not set Host). */
  function get(port: number, host: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { Host: host } }, res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', c => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.setTimeout(10000, () => req.destroy(new Error('no answer within 10 s')));
    });
  }

  it('every service running our image starts with its command and environment on the shared Redis, answers, and exits 0 on TERM', async () => {
    const url = testDbUrl();
    await flushTestDb(url);
    const redis = new Redis(url);
    try {
      const services: Record<string, Y> = (parse(read('compose.yml')) as Y)['services'];
      // Ours: the services that run the image deploy/Dockerfile builds. redis is the test's own
      // server; resque-web is Ruby's (not installed here).
      const ours = Object.keys(services).filter(n => services[n]['image'] === 'pyres-ts');
      expect(ours.sort()).toEqual(['master', 'scheduler', 'web']);
      expect(
        Object.keys(services)
          .filter(n => !ours.includes(n))
          .sort(),
      ).toEqual(['redis', 'resque-web']);
      // Start in depends_on order, as compose does (only our services; redis is already up).
      const order: string[] = [];
      const visit = (n: string): void => {
        if (order.includes(n) || !ours.includes(n)) return;
        for (const d of Object.keys(services[n]['depends_on'] ?? {})) visit(d);
        order.push(n);
      };
      for (const n of ours) visit(n);
      expect(order.indexOf('master')).toBeLessThan(order.indexOf('web'));

      const started: Array<{ name: string; p: Spawned }> = [];
      for (const name of order) {
        const svc = services[name];
        const command: string[] = svc['command'];
        // The image's paths mapped to this checkout; the dashboard's port to a free one.
        const args = command.map(a => a.replace(/^\/app\//, `${PROJECT_ROOT}/`));
        if (command[0] === 'web') args[args.indexOf('--port') + 1] = '0';
        const env: Record<string, string> = { ...svc['environment'] };
        expect(env['REDIS_URL']).toBe('redis://redis:6379');
        delete env['REDIS_URL'];
        const p = spawnCli(args, { redisUrl: url, env });
        started.push({ name, p });
        if (command[0] === 'master') {
          await p.waitForLine(/all children registered/, 15000);
          expect(p.lines().some(l => /starting critical,default=1\.\.4/.test(l))).toBe(true);
          // Registered: a Resque worker on the compose file's queues, in the shared Redis.
          const workers = await redis.smembers('resque:workers');
          expect(workers.filter(w => w.endsWith(':critical,default')).length).toBeGreaterThanOrEqual(1);
        } else if (command[0] === 'scheduler') {
          // Registered: it holds resque-scheduler's lock in the shared Redis.
          const holder = /became the master scheduler \((\S+)\)/.exec(await p.waitForLine(/became the master scheduler/, 15000))![1];
          const lockKey = /lock (\S+) \(TTL/.exec(await p.waitForLine(/scheduler \S+ started: lock/, 1000))![1]!;
          expect(await redis.get(lockKey)).toBe(holder);
        } else if (command[0] === 'web') {
          const line = await p.waitForLine(/dashboard on http:\/\/[^/]+:\d+\//, 15000);
          const port = Number(/:(\d+)\/ for/.exec(line)![1]);
          // Bound to every interface, as a container's port mapping needs (and warned about).
          expect(p.lines().some(l => /listening on 0\.0\.0\.0 WITHOUT authentication/.test(l))).toBe(true);
          // The Host a browser sends through the compose file's port mapping, then a foreign one
          // (DNS rebinding): the dashboard answers the first and refuses the second.
          const ok = await get(port, `localhost:${flagValue(command, '--port')}`);
          expect(ok.status).toBe(200);
          // It reads the shared Redis: the master's workers, counted on the overview.
          const registered = await redis.scard('resque:workers');
          expect(registered).toBeGreaterThanOrEqual(1);
          expect(ok.body).toContain(`<h2>0 of ${registered} workers working</h2>`);
          expect(ok.body).toContain(new URL(url).host);
          expect((await get(port, 'rebind.example:5678')).status).toBe(403);
        } else {
          throw new Error(`no check for the ${name} service's command ${command[0]}: add one`);
        }
      }
      // docker compose down: TERM to each, dependants first; each exits 0 and leaves nothing.
      for (const { name, p } of [...started].reverse()) {
        p.kill('SIGTERM');
        expect({ name, end: await p.waitForEnd(30000) }).toEqual({ name, end: { code: 0, signal: null } });
      }
      expect(await redis.smembers('resque:workers')).toEqual([]);
      expect(await redis.keys('resque:*master_lock')).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('deploy/Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = parseDockerfile(text);
  const final = stages[stages.length - 1] as Stage;
  const ignored = dockerIgnore(PROJECT_ROOT);
  const one = (st: Stage, op: string): Instruction => {
    const found = st.steps.filter(s => s.op === op);
    expect(found.length).toBe(1);
    return found[0] as Instruction;
  };

  it('small (slim base, production deps only), non-root, pyres-ts as PID 1 with the reaper built, STOPSIGNAL', () => {
    expect(text).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^STOPSIGNAL SIGTERM$/m);
    // pyres-ts is the init (src/cli/containerInit.ts): the build stage compiles its reaper and
    // fails without it; the final stage carries the addon, and tini only as a fallback.
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/pyres-ts"\]$/m);
    expect(text).toMatch(/^RUN apt-get update \\\n {2}&& apt-get install -y --no-install-recommends python3 make g\+\+ \\$/m);
    expect(text).toMatch(/node native\/install\.js \\\n {2}&& node -e "require\('\.\/native\/build\/Release\/pyres_reap\.node'\)\.reapExcept\(process\.pid\)"/);
    expect(text).toMatch(/^COPY --from=build \/src\/native\/build\/Release\/pyres_reap\.node \.\/native\/build\/Release\/pyres_reap\.node$/m);
    expect(stages.map(s => [s.from, s.name])).toEqual([
      ['node:20-bookworm-slim', 'build'],
      ['node:20-bookworm-slim', null],
    ]);
  });

  it('every file a COPY takes from the context exists and .dockerignore lets it through', () => {
    const sources = stages.flatMap(st => st.steps.filter(s => s.op === 'COPY' && !s.flags['from']).flatMap(s => s.args.slice(0, -1)));
    expect(sources.length).toBeGreaterThan(0);
    for (const f of sources) expect({ f, exists: fs.existsSync(path.join(PROJECT_ROOT, f)), ignored: ignored(f) }).toEqual({ f, exists: true, ignored: false });
    // And the rule works: what .dockerignore names is out of the context.
    expect(ignored('test/docs/deploy.test.ts')).toBe(true);
  });

  it('ENTRYPOINT and CMD: node and the CLI the final stage copies into its WORKDIR (tini installed only as the fallback reaper); the CMD is one the CLI answers', () => {
    const entry = one(final, 'ENTRYPOINT').args;
    const cmd = one(final, 'CMD').args;
    expect(entry[0]).toBe('node');
    // tini, the fallback reaper, comes from the final stage's apt-get install (Debian's package puts it in /usr/bin).
    expect(final.steps.some(s => s.op === 'RUN' && /apt-get install .*\btini\b/.test(s.raw))).toBe(true);
    // /app/bin/pyres-ts: WORKDIR /app plus `COPY bin ./bin`, i.e. this checkout's bin/pyres-ts.
    expect(one(final, 'WORKDIR').args).toEqual(['/app']);
    expect(final.steps.some(s => s.op === 'COPY' && !s.flags['from'] && s.args.join(' ') === 'bin ./bin')).toBe(true);
    expect(entry[1]).toBe('/app/bin/pyres-ts');
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, (entry[1] as string).replace(/^\/app\//, '')), ...cmd], { encoding: 'utf8' });
    expect({ status: r.status, commands: /^Commands:/m.test(r.stdout) }).toEqual({ status: 0, commands: true });
  });

  describe('its stages, run offline (no base image here: see the README)', () => {
    let tmp = '';
    let masterPid = 0;
    afterEach(async () => {
      // If the test failed half-way, stop the master too.
      if (masterPid && isAlive(masterPid)) process.kill(masterPid, 'SIGKILL');
      await killAll();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('the build stage builds from what it copies; the final layout, with production packages only, runs the ENTRYPOINT and CMD, loads the reaper, and runs the compose master, which stops on TERM', async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'image-'));
      const roots: Record<string, string> = {};
      const env: Record<string, string> = {};
      const mapped = (p: string, stageRoot: string): string => {
        for (const [img, dir] of Object.entries(roots)) if (p === img || p.startsWith(`${img}/`)) return dir + p.slice(img.length);
        return path.resolve(stageRoot, p);
      };
      /** An absolute path inside the image, in this layout (other arguments unchanged). */
      const imagePath = (a: string): string => (Object.keys(roots).some(img => a.startsWith(`${img}/`)) ? mapped(a, '/') : a);
      const byName = new Map<string, string>();
      for (const st of stages) {
        let root = '';
        for (const s of st.steps) {
          if (s.op === 'WORKDIR') {
            root = path.join(tmp, (s.args[0] as string).replace(/^\//, ''));
            roots[s.args[0] as string] = root;
            fs.mkdirSync(root, { recursive: true });
          } else if (s.op === 'ENV') {
            const [k, v] = s.raw.split('=');
            env[k as string] = v as string;
          } else if (s.op === 'COPY') {
            const dest = mapped(s.args[s.args.length - 1] as string, root);
            for (const src of s.args.slice(0, -1)) {
              const from = s.flags['from'] ? mapped(src, byName.get(s.flags['from']) as string) : path.join(PROJECT_ROOT, src);
              // Docker's rules: a directory's contents go to the destination; a file goes into it
              // when it names a directory (trailing /, ., or several sources), else becomes it.
              const raw = s.args[s.args.length - 1] as string;
              const intoDir = s.args.length > 2 || raw.endsWith('/') || raw === '.';
              const to = fs.statSync(from).isFile() && intoDir ? path.join(dest, path.basename(src)) : dest;
              if (s.flags['from'] && path.basename(from) === 'node_modules') {
                // npm prune --omit=dev, without touching the shared node_modules: links to the
                // packages the lock file keeps for production, and nothing else.
                for (const pkg of productionPackages(PROJECT_ROOT)) {
                  fs.mkdirSync(path.dirname(path.join(to, pkg)), { recursive: true });
                  fs.symlinkSync(path.join(from, pkg), path.join(to, pkg));
                }
              } else fs.cpSync(from, to, { recursive: true, dereference: true });
            }
          } else if (s.op === 'RUN') {
            if (s.raw === 'npm ci --ignore-scripts') fs.symlinkSync(fs.realpathSync(path.join(PROJECT_ROOT, 'node_modules')), path.join(root, 'node_modules'));
            else if (s.raw.startsWith('npm run build && node native/install.js && node -e ') && s.raw.endsWith(' && npm prune --omit=dev --ignore-scripts')) {
              // The build, the reaper's build, and its load check (which fails the image build
              // without it); npm prune is left to the COPY of node_modules below.
              execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
              execFileSync(process.execPath, ['native/install.js'], { cwd: root, stdio: 'ignore', env: { ...process.env, PYRES_TS_SKIP_NATIVE: '' } });
              const check = s.raw.slice('npm run build && node native/install.js && '.length, -' && npm prune --omit=dev --ignore-scripts'.length);
              execFileSync('sh', ['-c', check], { cwd: root, stdio: 'ignore' });
            } else if (
              /^apt-get update && apt-get install -y --no-install-recommends (tini|python3 make g\+\+) && rm -rf \/var\/lib\/apt\/lists\/\*$/.test(s.raw)
            )
              continue;
            else throw new Error(`RUN ${s.raw}: this test does not know how to run it offline`);
          } else if (!['USER', 'STOPSIGNAL', 'ENTRYPOINT', 'CMD'].includes(s.op)) throw new Error(`${s.op}: not handled here`);
        }
        if (st.name) byName.set(st.name, root);
      }
      const app = roots['/app'] as string;
      expect(fs.existsSync(path.join(app, 'dist', 'cli', 'main.js'))).toBe(true);
      expect(fs.existsSync(path.join(app, 'node_modules', 'typescript'))).toBe(false);
      // The reaper the build stage compiled, in the final layout, loads.
      const addon = path.join(app, 'native', 'build', 'Release', 'pyres_reap.node');
      expect(typeof (require(addon) as { reapExcept?: unknown }).reapExcept).toBe('function');
      // The ENTRYPOINT as written: node and the CLI (pyres-ts itself is the init as PID 1:
      // test/master/pid1.test.ts; here it is not PID 1, so it runs the command directly).
      const argv = one(final, 'ENTRYPOINT').args.map(imagePath);
      const run = (args: string[]) =>
        spawnSync(argv[0] as string, [...argv.slice(1), ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, ...env } });
      const help = run(one(final, 'CMD').args);
      expect({ status: help.status, commands: /^Commands:/m.test(help.stdout) }).toEqual({ status: 0, commands: true });
      for (const c of ['master', 'worker', 'web', 'scheduler']) expect({ c, status: run([c, '--help']).status }).toEqual({ c, status: 0 });

      // compose.yml's master in that layout: its examples volume, its command, under the ENTRYPOINT.
      const url = testDbUrl();
      await flushTestDb(url);
      const svc = (parse(read('compose.yml')) as Y)['services']['master'];
      expect(svc['volumes']).toEqual(['../examples:/app/examples:ro']);
      fs.cpSync(path.join(PROJECT_ROOT, 'examples'), path.join(app, 'examples'), { recursive: true });
      const args = (svc['command'] as string[]).map(imagePath);
      const m = spawnTracked(argv[0] as string, [...argv.slice(1), ...args], { cwd: app, redisUrl: url, env: { ...env, RESQUE_ENV: 'production' } });
      await m.waitForLine(/all children registered/, 20000);
      masterPid = m.pid;
      expect(masterPid).toBeGreaterThan(0);
      expect(m.kill('SIGTERM')).toBe(true);
      expect(await m.waitForEnd(30000)).toEqual({ code: 0, signal: null });
      expect(isAlive(masterPid)).toBe(false);
    }, 120000);
  });

  const docker = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10000 }).status === 0;
  (docker ? it : it.skip)(
    'the image builds and its CLI answers --help (needs a Docker daemon)',
    () => {
      execFileSync('docker', ['build', '-f', path.join(DEPLOY, 'Dockerfile'), '-t', 'pyres-ts:test', PROJECT_ROOT], { stdio: 'ignore' });
      expect(execFileSync('docker', ['run', '--rm', 'pyres-ts:test', 'master', '--help'], { encoding: 'utf8' })).toContain('pre-fork');
    },
    600000,
  );
});
