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
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parsePoolYaml } from '../../src/config/groups';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { BIN, killAll, PROJECT_ROOT, spawnCli } from '../support/spawn';

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

  it("redis, a master, the dashboard and Ruby's resque-web; the commands name real flags", () => {
    expect(Object.keys(svc).sort()).toEqual(['master', 'redis', 'resque-web', 'web']);
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

describe("deploy/compose.yml's master, run as a process", () => {
  afterEach(async () => {
    await killAll();
  });

  it('starts its children on the shared Redis and exits 0 on TERM (the stop a container runtime sends)', async () => {
    const url = testDbUrl();
    await flushTestDb(url);
    const command: string[] = (parse(read('compose.yml')) as Y)['services']['master']['command'];
    const args = command.map(a => a.replace(/^\/app\//, `${PROJECT_ROOT}/`));
    const m = spawnCli(args, { redisUrl: url, env: { RESQUE_ENV: 'production' } });
    await m.waitForLine(/all children registered/, 15000);
    expect(m.lines().some(l => /starting critical,default=1\.\.4/.test(l))).toBe(true);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });
});

describe('deploy/Dockerfile', () => {
  const text = read('Dockerfile');

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
