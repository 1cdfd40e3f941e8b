/**
 * Issue 10, item 9: `pyres-ts web --dsn redis://:pass@...` must not show the password in `ps`.
 * The real CLI against a redis-server that requires the password: after start-up, `ps -o args=`
 * and /proc/<pid>/cmdline show `***`, the log warns once (without the secret) and points to
 * $PYRES_WEB_DSN / --dsn-file, which keep the secret off the command line altogether.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import yargs from 'yargs';
import { type WebArgs, redactCommandLine, webBuilder, webDsn } from '../../src/cli/webCommand';
import { ConfigError } from '../../src/errors';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { type Spawned, killAll, spawnCli } from '../support/spawn';

const SECRET = 'Secr3tPw';

function psArgs(pid: number): string {
  return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
}
function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}

describe('redactCommandLine', () => {
  it('hides URL passwords (several per argument too), --password and --auth values, in both spellings', () => {
    const argv = [
      'node',
      'bin/pyres-ts',
      'web',
      '--dsn',
      `redis://:${SECRET}@a:6379,rediss://user:${SECRET}2@b:6380/1?name=x,c:7000`,
      `--redis=redis+sentinel://:${SECRET}@s1:26379,s2:26379/mymaster`,
      '--password',
      SECRET,
      `--auth=ops:${SECRET}`,
      '--auth',
      `ops:${SECRET}`,
    ];
    const r = redactCommandLine(argv);
    expect(r.changed).toBe(true);
    expect(r.args).toEqual([
      'node',
      'bin/pyres-ts',
      'web',
      '--dsn',
      'redis://:***@a:6379,rediss://user:***@b:6380/1?name=x,c:7000',
      '--redis=redis+sentinel://:***@s1:26379,s2:26379/mymaster',
      '--password',
      '***',
      '--auth=***',
      '--auth',
      '***',
    ]);
    expect(r.args.join(' ')).not.toContain(SECRET);
    // The title must fit in the original argv area (Linux truncates a longer one).
    expect(r.args.join(' ').length).toBeLessThan(argv.join(' ').length);
  });

  it('leaves a command line without secrets as it is', () => {
    const argv = ['node', 'bin/pyres-ts', 'web', '--dsn', 'redis://a:6379,redis://user@b:1', '--bind', '0.0.0.0'];
    expect(redactCommandLine(argv)).toEqual({ args: argv, changed: false });
  });
});

describe('--dsn-file and $PYRES_WEB_DSN', () => {
  const parse = async (argv: string[]): Promise<WebArgs> => (await webBuilder(yargs([])).parseAsync(argv)) as unknown as WebArgs;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-dsn-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads entries by line or comma, with # comments', async () => {
    const f = path.join(dir, 'dsn');
    fs.writeFileSync(f, `# the servers\nredis://:p%23w@a:1   # first\n\n  b:2,c:3\n`);
    expect(webDsn(await parse(['--dsn-file', f]), {})).toEqual(['redis://:p%23w@a:1', 'b:2,c:3']);
  });

  it('refuses --dsn with --dsn-file, a file it cannot read, an empty one', async () => {
    const f = path.join(dir, 'empty');
    fs.writeFileSync(f, '# nothing\n');
    expect(() => webDsn({ ...({} as WebArgs), dsn: 'a:1', 'dsn-file': f }, {})).toThrow(/--dsn or --dsn-file, not both/);
    expect(() => webDsn({ ...({} as WebArgs), 'dsn-file': path.join(dir, 'nope') }, {})).toThrow(ConfigError);
    expect(() => webDsn({ ...({} as WebArgs), 'dsn-file': f }, {})).toThrow(/names no Redis server/);
  });

  it('$PYRES_WEB_DSN, unless --dsn, --dsn-file, --redis, --host or --redis-port say otherwise', async () => {
    const env = { PYRES_WEB_DSN: 'redis://:pw@e:1' };
    expect(webDsn(await parse([]), env)).toEqual(['redis://:pw@e:1']);
    expect(webDsn(await parse(['--dsn', 'a:1']), env)).toEqual(['a:1']);
    expect(webDsn(await parse(['--redis', 'redis://r:1']), env)).toBeUndefined();
    expect(webDsn(await parse(['--redis-port', '7000']), env)).toBeUndefined();
    // --port is web's HTTP port (pyres_web's): it names no Redis server.
    expect(webDsn(await parse(['--port', '7000']), env)).toEqual(['redis://:pw@e:1']);
    expect(webDsn(await parse([]), {})).toBeUndefined();
  });
});

describe('pyres-ts web with a password on the command line (real process, real ps)', () => {
  let redis: RedisServerHandle;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis();
    // After start: the helper's readiness ping has no password.
    const c = new Redis(redis.url, { lazyConnect: true });
    await c.connect();
    await c.config('SET', 'requirepass', SECRET);
    c.disconnect();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-dsn-'));
  });
  afterAll(async () => {
    await killAll();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    expect(await killAll()).toEqual([]);
  });

  /** Starts it, waits until it serves, checks it reached Redis with the password, returns it. */
  async function start(args: string[], env: Record<string, string | undefined> = {}): Promise<{ p: Spawned; url: string }> {
    const p = spawnCli(['web', '--web-port', '0', ...args], {
      env: { PYRES_WEB_AUTH: undefined, PYRES_WEB_DSN: undefined, REDIS_PASSWORD: undefined, ...env },
    });
    const line = await p.waitForLine(/dashboard on http:\/\/127\.0\.0\.1:\d+\//, 10000);
    const url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(line)![1] as string;
    const res = await fetch(`${url}/stats`, {
      headers: args.includes('--auth') ? { Authorization: `Basic ${Buffer.from(`ops:${SECRET}`).toString('base64')}` } : {},
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('<span class="srv up" title="connected">');
    return { p, url };
  }

  async function stop(p: Spawned): Promise<void> {
    p.kill('SIGTERM');
    expect(await p.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  }

  it('--dsn redis://:secret@...: ps and /proc/<pid>/cmdline show *** once it serves; one warning, without the secret', async () => {
    const dsn = `redis://:${SECRET}@127.0.0.1:${redis.port}`;
    const { p } = await start(['--dsn', dsn]);
    const ps = psArgs(p.pid);
    expect(ps).not.toContain(SECRET);
    expect(ps).toContain(`web --web-port 0 --dsn redis://:***@127.0.0.1:${redis.port}`);
    expect(cmdline(p.pid)).not.toContain(SECRET);
    const warnings = p.lines().filter(l => / WARN  .*password on the command line/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('$PYRES_WEB_DSN or --dsn-file');
    expect(p.stderr() + p.stdout()).not.toContain(SECRET);
    await stop(p);
  });

  it('--password and --auth values are hidden the same way', async () => {
    const { p } = await start(['--dsn', `127.0.0.1:${redis.port}`, '--password', SECRET, '--auth', `ops:${SECRET}`]);
    const ps = psArgs(p.pid);
    expect(ps).not.toContain(SECRET);
    expect(ps).toContain('--password *** --auth ***');
    expect(p.stderr()).not.toContain(SECRET);
    await stop(p);
  });

  it('--dsn-file and $PYRES_WEB_DSN keep it off the command line: no warning, the title untouched', async () => {
    const f = path.join(dir, 'dsn');
    fs.writeFileSync(f, `redis://:${SECRET}@127.0.0.1:${redis.port}\n`, { mode: 0o600 });
    let { p } = await start(['--dsn-file', f]);
    expect(psArgs(p.pid)).toMatch(/pyres-ts web --web-port 0 --dsn-file \S+\/dsn$/);
    expect(p.stderr()).not.toMatch(/WARN|secret|Secr3t/);
    await stop(p);
    ({ p } = await start([], { PYRES_WEB_DSN: `redis://:${SECRET}@127.0.0.1:${redis.port}` }));
    expect(psArgs(p.pid)).not.toContain(SECRET);
    expect(p.stderr()).not.toContain('WARN');
    await stop(p);
  });
});
