/**
 * Issue 10, item 10: DNS rebinding. A page on an attacker's name re-pointed at 127.0.0.1 is
 * same-origin with the dashboard to the browser, so Origin checks and CSRF tokens pass; only
 * the Host header tells. Without auth the dashboard serves only its own names. Real HTTP
 * requests with forged Host headers, to pages and to actions.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import yargs from 'yargs';
import { type WebArgs, allowedHostsFromArgs, runWeb, webBuilder } from '../../src/cli/webCommand';
import { ConfigError } from '../../src/errors';
import { hostPolicy, parseAllowedHosts } from '../../src/web/hosts';
import { testDbUrl } from '../support/redisServer';
import { type Env, RUBY_FAILURES, Session, client, seed, startEnv, stopEnv } from './helpers';

interface Raw {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP/1.1 request with exactly these headers (Host included), like a rebinding browser sends. */
function request(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { Connection: 'close', ...opts.headers },
        setHost: false,
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', c => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A raw HTTP/1.0 request without any Host header. */
function noHostRequest(url: string, path: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', d => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

const PAGES = ['/', '/queues', '/queues/p10', '/workers', '/masters', '/failed', '/failed?server=0&show=all', '/stats', '/api/live', '/assets/app.js', '/nope'];
const ACTIONS: Array<[string, Record<string, string>]> = [
  ['/failed/retry', { server: '0', index: '0' }],
  ['/failed/remove', { server: '0', index: '0' }],
  ['/failed/clear', { server: '0' }],
  ['/failed/retry-all', { server: '0' }],
  ['/failed/clear-retried', { server: '0' }],
  ['/masters/command', { server: '1', master: 'hostb:2000', cmd: 'pause' }],
];

describe('without auth, bound to 127.0.0.1', () => {
  let env: Env;
  let port: number;
  beforeAll(async () => {
    env = await startEnv();
    port = env.web.port;
  });
  afterAll(() => stopEnv(env));
  beforeEach(() => seed(env.a.url, env.b.url));

  const unchanged = async (): Promise<void> => {
    expect(await client(env.a.url).lrange('resque:failed', 0, -1)).toEqual(RUBY_FAILURES);
    expect(await client(env.a.url).llen('resque:queue:p10')).toBe(2);
    expect(await client(env.b.url).llen('jobs:pyres-ts:master:hostb:2000:commands')).toBe(0);
  };

  it.each(PAGES)('GET %s with a forged Host is 403 with a one-line fix, and shows nothing', async path => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`]) {
      const r = await request(env.web.url, { path, headers: { Host: host } });
      expect(r.status).toBe(403);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      const name = host.replace(/:\d+$/, '');
      expect(r.text).toBe(
        `Refused: Host ${JSON.stringify(host)} is not a name of this dashboard (a DNS-rebinding guard); if it is yours, start pyres-ts web with --allowed-host ${name} (or $PYRES_WEB_ALLOWED_HOSTS)\n`,
      );
      expect(r.text).not.toContain('FailingJob');
      expect(r.headers['set-cookie']).toBeUndefined();
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
  });

  it.each(ACTIONS)('POST %s as a rebinding page would send it (same-origin to the browser, a valid token) is refused', async (path, fields) => {
    // The token and cookie of a real session (the attacker could not even get these: GET is refused too).
    const s = new Session(env.web.url);
    await s.get('/failed');
    const body = new URLSearchParams({ ...fields, _csrf: s.csrf }).toString();
    const cookie = [...s.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const host = `evil.example:${port}`;
    const r = await request(env.web.url, {
      method: 'POST',
      path,
      headers: {
        Host: host,
        Origin: `http://${host}`,
        'Sec-Fetch-Site': 'same-origin',
        Cookie: cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': String(Buffer.byteLength(body)),
      },
      body,
    });
    expect(r.status).toBe(403);
    expect(r.text).toContain('--allowed-host evil.example');
    await unchanged();
    // The same request with the real Host goes through.
    const ok = await request(env.web.url, {
      method: 'POST',
      path,
      headers: {
        Host: `127.0.0.1:${port}`,
        Origin: `http://127.0.0.1:${port}`,
        Cookie: cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': String(Buffer.byteLength(body)),
      },
      body,
    });
    expect(ok.status).toBe(303);
  });

  it('serves the loopback names and the bound address, any port (tunnels), any case, a trailing dot', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'localhost',
      '127.0.0.1',
      `LOCALHOST:${port}`,
      `localhost.:${port}`,
      'localhost:8080',
      '[::1]',
    ]) {
      const r = await request(env.web.url, { path: '/failed', headers: { Host: host } });
      expect([host, r.status]).toEqual([host, 200]);
      expect(r.text).toContain('FailingJob');
    }
  });

  it('refuses other addresses and garbage', async () => {
    for (const host of [`10.0.0.7:${port}`, `[fe80::1]:${port}`, `192.168.1.1`]) {
      const r = await request(env.web.url, { path: '/', headers: { Host: host } });
      expect([host, r.status]).toEqual([host, 403]);
    }
    // What cannot be read as a host: 403 here, or 400 from the HTTP layer before.
    for (const host of ['a b', 'evil.example:99999', '[::1', 'user@localhost', 'localhost:5678:1', 'localhost/x']) {
      const r = await request(env.web.url, { path: '/', headers: { Host: host } });
      expect([host, [400, 403].includes(r.status)]).toEqual([host, true]);
      expect(r.text).not.toContain('Overview');
    }
  });

  it('a request without a Host header gets no data (the HTTP layer answers 400)', async () => {
    const out = await noHostRequest(env.web.url, '/api/live');
    expect(out).toMatch(/^HTTP\/1\.[01] 400/);
    expect(out).not.toContain('processed');
  });
});

describe('--allowed-host', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ allowedHosts: ['dash.example', 'other.example:8443'] });
  });
  afterAll(() => stopEnv(env));

  it('serves the names given (a bare name: any port; name:port: that port only), and still refuses others', async () => {
    const p = env.web.port;
    const cases: Array<[string, number]> = [
      [`dash.example:${p}`, 200],
      ['dash.example', 200],
      ['DASH.example:443', 200],
      ['other.example:8443', 200],
      [`other.example:${p}`, 403],
      ['other.example', 403],
      [`evil.example:${p}`, 403],
      [`localhost:${p}`, 200],
    ];
    for (const [host, status] of cases) {
      const r = await request(env.web.url, { path: '/queues', headers: { Host: host } });
      expect([host, r.status]).toEqual([host, status]);
    }
  });

  it('an action through an allowed name works', async () => {
    const host = 'dash.example';
    const page = await request(env.web.url, { path: '/failed', headers: { Host: host } });
    const token = /name="_csrf" value="([0-9a-f]+)"/.exec(page.text)?.[1] as string;
    const cookie = String(page.headers['set-cookie']?.[0]).split(';')[0] as string;
    const body = new URLSearchParams({ server: '0', _csrf: token }).toString();
    const r = await request(env.web.url, {
      method: 'POST',
      path: '/failed/clear',
      headers: {
        Host: host,
        Origin: `http://${host}`,
        Cookie: cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': String(body.length),
      },
      body,
    });
    expect(r.status).toBe(303);
    expect(await client(env.a.url).exists('resque:failed')).toBe(0);
  });
});

describe('with basic auth', () => {
  let env: Env;
  afterEach(() => stopEnv(env));
  const basic = `Basic ${Buffer.from('ops:pw').toString('base64')}`;

  it('without --allowed-host, any Host is served to whoever has the credentials (the browser never sends them to another origin)', async () => {
    env = await startEnv({ auth: { username: 'ops', password: 'pw' } });
    const anon = await request(env.web.url, { path: '/', headers: { Host: 'dash.corp.example' } });
    expect(anon.status).toBe(401);
    const r = await request(env.web.url, { path: '/', headers: { Host: 'dash.corp.example', Authorization: basic } });
    expect(r.status).toBe(200);
  });

  it('with --allowed-host, the names are enforced too, before asking for credentials', async () => {
    env = await startEnv({ auth: { username: 'ops', password: 'pw' }, allowedHosts: ['dash.corp.example'] });
    expect((await request(env.web.url, { path: '/', headers: { Host: 'dash.corp.example', Authorization: basic } })).status).toBe(200);
    const r = await request(env.web.url, { path: '/', headers: { Host: 'evil.example', Authorization: basic } });
    expect(r.status).toBe(403);
    expect(r.headers['www-authenticate']).toBeUndefined();
  });
});

describe('the policy (bind addresses that the tests do not listen on)', () => {
  it('bound to 0.0.0.0 or ::, any IP address is served (a literal cannot be rebound), names are not', () => {
    for (const bind of ['0.0.0.0', '::', '[::]']) {
      const ok = hostPolicy({ bind })!;
      for (const h of ['10.1.2.3:5678', '192.168.0.9', '[fd00::5]:5678', 'localhost:5678', '127.0.0.1']) expect([bind, h, ok(h)]).toEqual([bind, h, true]);
      for (const h of ['dash.internal:5678', 'evil.example', '10.1.2.3.nip.io:5678']) expect([bind, h, ok(h)]).toEqual([bind, h, false]);
    }
  });

  it('bound to one address: that address and the loopback names', () => {
    const ok = hostPolicy({ bind: '10.0.0.5' })!;
    expect(ok('10.0.0.5:5678')).toBe(true);
    expect(ok('localhost:5678')).toBe(true);
    expect(ok('10.0.0.6:5678')).toBe(false);
    const v6 = hostPolicy({ bind: 'fd00::5' })!;
    expect(v6('[fd00::5]:5678')).toBe(true);
    expect(v6('[fd00::6]:5678')).toBe(false);
    const named = hostPolicy({ bind: 'dash.internal' })!;
    expect(named('dash.internal:5678')).toBe(true);
  });

  it('* turns the check off; auth without --allowed-host too', () => {
    expect(hostPolicy({ allowedHosts: ['*'] })).toBeNull();
    expect(hostPolicy({ auth: true })).toBeNull();
    expect(hostPolicy({ auth: true, allowedHosts: ['a.example'] })).not.toBeNull();
  });

  it('--allowed-host values are checked', () => {
    expect(parseAllowedHosts(['a.example', 'b.example:8443,[::1]:1', undefined, ' 10.0.0.1 , '])).toEqual([
      'a.example',
      'b.example:8443',
      '[::1]:1',
      '10.0.0.1',
    ]);
    for (const bad of ['http://a.example', 'a.example/x', 'a b', 'a.example:0', 'a.example:70000', '[zz]']) {
      expect(() => parseAllowedHosts([bad])).toThrow(ConfigError);
      expect(() => parseAllowedHosts([bad])).toThrow(/--allowed-host/);
    }
  });
});

describe('pyres-ts web --allowed-host / $PYRES_WEB_ALLOWED_HOSTS', () => {
  it('is repeatable and joins the environment variable', async () => {
    const a = (await webBuilder(yargs([])).parseAsync(['--allowed-host', 'a.example', '--allowed-host', 'b.example:1'])) as unknown as WebArgs;
    expect(allowedHostsFromArgs(a, { PYRES_WEB_ALLOWED_HOSTS: 'c.example, d.example' })).toEqual(['a.example', 'b.example:1', 'c.example', 'd.example']);
    const none = (await webBuilder(yargs([])).parseAsync([])) as unknown as WebArgs;
    expect(allowedHostsFromArgs(none, {})).toEqual([]);
  });

  it('the running command enforces them', async () => {
    const url = testDbUrl();
    const args = (await webBuilder(yargs([])).parseAsync([
      '--dsn',
      url,
      '--web-port',
      '0',
      '--log-level',
      'error',
      '--allowed-host',
      'flag.example',
    ])) as unknown as WebArgs;
    const stop = new AbortController();
    let listening = '';
    const done = runWeb(args, { env: { PYRES_WEB_ALLOWED_HOSTS: 'env.example' }, signal: stop.signal, onListening: u => (listening = u) });
    try {
      for (let i = 0; i < 100 && !listening; i++) await new Promise(res => setTimeout(res, 20));
      expect((await request(listening, { path: '/queues', headers: { Host: 'flag.example' } })).status).toBe(200);
      expect((await request(listening, { path: '/queues', headers: { Host: 'env.example' } })).status).toBe(200);
      const refused = await request(listening, { path: '/queues', headers: { Host: 'evil.example' } });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('--allowed-host evil.example');
    } finally {
      stop.abort();
      await done;
    }
  });

  it('a bad value is a usage error before anything listens', async () => {
    const args = (await webBuilder(yargs([])).parseAsync(['--web-port', '0', '--log-level', 'error', '--allowed-host', 'http://x'])) as unknown as WebArgs;
    await expect(runWeb(args, { env: {} })).rejects.toThrow(ConfigError);
  });
});
