/**
 * The shipped deployment files (deploy/): each parses, carries what its platform needs, and
 * names only flags the CLI has (checked against the CLI's own --help). The systemd unit passes
 * `systemd-analyze verify` when that tool is present. Not tested here, and why: the image is
 * not built (no Docker daemon in this environment; the test builds it when `docker info`
 * answers), and the Kubernetes manifests are not validated against the API's schemas (kubectl
 * needs a cluster's OpenAPI document for that; no cluster here). The compose file's master runs
 * here as a real process, its command as written (the image's paths mapped to this checkout).
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
import { BIN, killAll, PROJECT_ROOT, type Spawned, spawnCli } from '../support/spawn';

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

  it('small (slim base, production deps only), non-root, tini as PID 1, STOPSIGNAL', () => {
    expect(text).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/bin\/pyres-ts"\]$/m);
    // Every file it copies from the context exists.
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const f of (m[1] as string).split(/\s+/)) expect(fs.existsSync(path.join(PROJECT_ROOT, f))).toBe(true);
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
