/**
 * The dashboard mounted under a path: `--base-path` on its own server, the exported app under a
 * Hono parent (`route`, which keeps the prefix, and `mount`, which strips it), and under Node's
 * http server with a path prefix. Every link, form and asset carries the prefix; actions work.
 */
import { type Server as HttpServer, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { Dashboard } from '../../src/admin/admin';
import { ConfigError } from '../../src/errors';
import { createWebApp, parseBasePath } from '../../src/web/app';
import { parseDsnList } from '../../src/web/dsn';
import { type Env, Session, client, flashOf, seed, startEnv, stopEnv } from './helpers';

const PAGES = ['', '/queues', '/queues/p10?server=0', '/workers', '/masters', '/failed?server=0', '/stats'];

/** Every absolute path in an href, action, src or data-src, and every form's `back`. */
function paths(html: string): string[] {
  return [...html.matchAll(/\s(?:href|action|src|data-src)="(\/[^"]*)"|name="back" value="([^"]*)"/g)].map(m => (m[1] ?? m[2]) as string);
}

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ http: HttpServer; url: string }> {
  const http = createServer(handler);
  return new Promise(resolve => http.listen(0, '127.0.0.1', () => resolve({ http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` })));
}

function close(http: HttpServer): Promise<void> {
  return new Promise(resolve => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

/** Each page answers under `prefix` and links only under it; a retry redirects back under it. */
async function checkMounted(url: string, prefix: string): Promise<void> {
  const s = new Session(url);
  for (const p of PAGES) {
    const r = await s.get(prefix + p);
    expect(`${p} ${r.status}`).toBe(`${p} 200`);
    const ps = paths(r.text);
    expect(ps.length).toBeGreaterThan(5);
    // the overview is the prefix itself (Hono's route() has no `/resque/`), everything else under it
    for (const x of ps) expect(`${p}: ${x === prefix || x.startsWith(`${prefix}/`) ? 'prefixed' : x}`).toBe(`${p}: prefixed`);
  }
  const js = await fetch(`${url}${prefix}/assets/app.js`);
  expect(js.status).toBe(200);
  expect(await js.text()).toContain('data-live');
  const live = await fetch(`${url}${prefix}/api/live`);
  expect(((await live.json()) as { servers: unknown[] }).servers).toHaveLength(2);
  await s.get(`${prefix}/failed?server=1`);
  const r = await s.post(`${prefix}/failed/retry`, { server: 1, index: 0, list: 'failed', back: `${prefix}/failed?server=1` });
  expect(r.status).toBe(303);
  expect(r.location).toBe(`${prefix}/failed?server=1`);
  expect(flashOf((await s.get(r.location as string)).text)).toBe('ok: Retried failure 0: the job is back on other.');
}

describe('--base-path on its own server', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ basePath: '/resque/', sampleHistory: false });
  });
  afterAll(() => stopEnv(env));
  beforeEach(() => seed(env.a.url, env.b.url));

  it('serves every page, asset and action under the prefix', async () => {
    expect(env.web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/resque$/);
    await checkMounted(env.web.url.replace(/\/resque$/, ''), '/resque');
  });

  it('the confirmation step and its Cancel link stay under the prefix', async () => {
    const s = new Session(env.web.url);
    await s.get('/queues/p10?server=0');
    const r = await s.post('/queues/clear', { server: 0, queue: 'p10', back: '/resque/queues/p10?server=0' });
    expect(r.text).toContain('<form method="post" action="/resque/queues/clear" class="confirm">');
    expect(r.text).toContain('<a href="/resque/queues/p10?server=0">Cancel</a>');
    expect(r.text).toContain('name="back" value="/resque/queues/p10?server=0"');
  });

  it('refuses a bad --base-path with a one-line error naming the flag', () => {
    expect(parseBasePath('/')).toBe('');
    expect(parseBasePath('/a/b/')).toBe('/a/b');
    for (const bad of ['resque', '/a//b', '/a/../b', '/a b', '/"x', '/a?b']) {
      expect(() => parseBasePath(bad)).toThrow(ConfigError);
      expect(() => parseBasePath(bad)).toThrow(/^--base-path must be a URL path like \/resque/);
    }
  });
});

describe('the exported app inside another server', () => {
  let env: Env;
  let dashboard: Dashboard;
  const servers: HttpServer[] = [];
  beforeAll(async () => {
    env = await startEnv({ sampleHistory: false });
    dashboard = new Dashboard(parseDsnList(env.dsn, { namespace: 'resque' }));
    await dashboard.connect();
  });
  afterAll(async () => {
    await Promise.all(servers.map(close));
    await dashboard.close();
    await stopEnv(env);
  });
  beforeEach(() => seed(env.a.url, env.b.url));

  it("under a Hono parent with route('/resque', app): the parent's own routes still answer", async () => {
    const parent = new Hono();
    parent.get('/', c => c.text('the parent app'));
    parent.route('/resque', createWebApp({ dashboard, basePath: '/resque', sampleHistory: false }));
    const { http, url } = await listen(getRequestListener(parent.fetch));
    servers.push(http);
    expect(await (await fetch(`${url}/`)).text()).toBe('the parent app');
    await checkMounted(url, '/resque');
  });

  it("under a Hono parent with mount('/ops', app.fetch), which strips the prefix", async () => {
    const parent = new Hono();
    parent.mount('/ops', createWebApp({ dashboard, basePath: '/ops', sampleHistory: false }).fetch);
    parent.get('/', c => c.text('the parent app'));
    const { http, url } = await listen(getRequestListener(parent.fetch));
    servers.push(http);
    expect(await (await fetch(`${url}/`)).text()).toBe('the parent app');
    await checkMounted(url, '/ops');
  });

  it("under Node's http server with a path prefix; other paths are the host's", async () => {
    const dash = getRequestListener(createWebApp({ dashboard, basePath: '/admin/jobs', sampleHistory: false }).fetch);
    const { http, url } = await listen((req, res) => {
      if (req.url === '/admin/jobs' || req.url?.startsWith('/admin/jobs/')) return void dash(req, res);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not the dashboard');
    });
    servers.push(http);
    const other = await fetch(`${url}/failed`);
    expect(other.status).toBe(404);
    expect(await other.text()).toBe('not the dashboard');
    await checkMounted(url, '/admin/jobs');
    expect(await client(env.b.url).llen('jobs:queue:other')).toBe(2);
  });
});
