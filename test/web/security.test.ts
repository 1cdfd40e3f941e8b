/**
 * Safe by default: escaping (XSS), CSRF on every action, no state change on GET, basic auth,
 * loopback binding, security headers.
 */
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { startWebServer } from '../../src/web/server';
import { webBuilder } from '../../src/cli/webCommand';
import yargs from 'yargs';
import { type Env, RUBY_FAILURES, Session, client, flashOf, seed, startEnv, stopEnv } from './helpers';

const XSS = '<script>window.__pwned=1</script>';
const IMG = '"><img src=x onerror="window.__pwned=2">';

describe('XSS: payloads, errors and names are shown, not run', () => {
  let env: Env;
  afterAll(() => stopEnv(env));

  beforeAll(async () => {
    env = await startEnv();
    await seed(env.a.url, env.b.url);
    const a = client(env.a.url);
    const q = `q${XSS}`;
    await a.sadd('resque:queues', q);
    await a.rpush(`resque:queue:${q}`, JSON.stringify({ class: `C${XSS}`, args: [XSS, IMG] }));
    const wid = `host${IMG}:77:${q}`;
    await a.sadd('resque:workers', wid);
    await a.set(`resque:worker:${wid}`, JSON.stringify({ queue: q, run_at: `2026-11-22T22:13:31Z${XSS}`, payload: { class: `W${XSS}`, args: [] } }));
    await a.set(`resque:worker:${wid}:started`, `2026${IMG}`);
    await a.rpush(
      'resque:failed',
      JSON.stringify({
        failed_at: `2026/11/22 22:13:02 UTC${XSS}`,
        payload: { class: `F${XSS}`, args: [XSS, IMG] },
        exception: `E${XSS}`,
        error: `boom ${XSS} ${IMG}`,
        backtrace: [`at ${XSS}`],
        worker: wid,
        queue: q,
      }),
      'not json <script>window.__pwned=3</script>',
    );
    const b = client(env.b.url);
    await b.set(
      'jobs:pyres-ts:master:hostb:2000',
      JSON.stringify({
        id: 'hostb:2000',
        host: 'hostb',
        pid: 2000,
        version: `1${XSS}`,
        startedAt: 'x',
        paused: false,
        stopping: false,
        groups: [{ queues: `g${IMG}`, desired: 1, min: null, max: null, running: 1 }],
        children: [{ pid: 1, workerId: `c${XSS}`, group: `g${IMG}`, startedAt: 'x', rssMb: 1, job: { className: `J${XSS}`, queue: IMG, since: 'x' } }],
        autoscale: { maxCpu: 1, maxMem: 1, interval: 1, last: XSS },
      }),
      'EX',
      600,
    );
  });

  it.each(['/', '/queues', `/queues/${encodeURIComponent(`q${XSS}`)}`, '/workers', '/masters', '/failed?server=0', '/failed?server=0&show=all', '/stats'])(
    '%s escapes everything',
    async path => {
      const s = new Session(env.web.url);
      const r = await s.get(path);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain('<script>window');
      expect(r.text).not.toContain('<img src=x');
      expect(r.text).not.toMatch(/onerror="window/);
      // the only script tag is the same-origin asset
      expect([...r.text.matchAll(/<script\b[^>]*>/g)].map(m => m[0])).toEqual(['<script src="/assets/app.js" defer>']);
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    },
  );

  it('shows the escaped text itself', async () => {
    const s = new Session(env.web.url);
    const failed = await s.get('/failed?server=0&show=all');
    expect(failed.text).toContain('boom &lt;script&gt;window.__pwned=1&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;');
    expect(failed.text).toContain('not json &lt;script&gt;window.__pwned=3&lt;/script&gt;');
    const q = await s.get(`/queues/${encodeURIComponent(`q${XSS}`)}`);
    expect(q.text).toContain('<h1>Queue q&lt;script&gt;window.__pwned=1&lt;/script&gt;</h1>');
  });
});

describe('CSRF and methods', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(() => stopEnv(env));
  beforeEach(() => seed(env.a.url, env.b.url));

  const unchanged = async (): Promise<void> => {
    const a = client(env.a.url);
    expect(await a.lrange('resque:failed', 0, -1)).toEqual(RUBY_FAILURES);
    expect(await a.llen('resque:queue:p10')).toBe(2);
  };

  it.each([
    ['/failed/retry', { server: 0, index: 0 }],
    ['/failed/remove', { server: 0, index: 0 }],
    ['/failed/clear', { server: 0 }],
    ['/failed/retry-all', { server: 0 }],
    ['/failed/clear-retried', { server: 0 }],
    ['/masters/command', { server: 1, master: 'hostb:2000', cmd: 'pause' }],
  ] as Array<[string, Record<string, string | number>]>)("%s: refused without a token, with a wrong one, or with another browser's", async (path, fields) => {
    const s = new Session(env.web.url);
    await s.get('/failed');
    expect(s.csrf).toMatch(/^[0-9a-f]{64}$/);
    let r = await s.post(path, { ...fields, _csrf: null });
    expect(r.status).toBe(403);
    expect(r.text).toContain('security token is missing or wrong');
    r = await s.post(path, { ...fields, _csrf: '0'.repeat(64) });
    expect(r.status).toBe(403);
    const other = new Session(env.web.url);
    await other.get('/');
    r = await s.post(path, { ...fields, _csrf: other.csrf });
    expect(r.status).toBe(403);
    // a token without its cookie
    const bare = new Session(env.web.url);
    r = await bare.post(path, { ...fields, _csrf: s.csrf });
    expect(r.status).toBe(403);
    await unchanged();
    expect(await client(env.b.url).llen('jobs:pyres-ts:master:hostb:2000:commands')).toBe(0);
  });

  it('refuses a cross-site request even with a valid token', async () => {
    const s = new Session(env.web.url);
    await s.get('/failed');
    let r = await s.post('/failed/clear', { server: 0 }, { Origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('came from another site');
    r = await s.post('/failed/clear', { server: 0 }, { 'Sec-Fetch-Site': 'cross-site' });
    expect(r.status).toBe(403);
    r = await s.post('/failed/clear', { server: 0 }, { Origin: 'null' });
    expect(r.status).toBe(403);
    await unchanged();
    // same origin is fine
    r = await s.post('/failed/clear', { server: 0 }, { Origin: env.web.url, 'Sec-Fetch-Site': 'same-origin' });
    expect(r.status).toBe(303);
    expect(await client(env.a.url).exists('resque:failed')).toBe(0);
  });

  it("never changes state on GET (resque-web's GET /failed/requeue/:index has no equivalent)", async () => {
    const s = new Session(env.web.url);
    for (const p of ['/failed/retry?server=0&index=0', '/failed/requeue/0', '/failed/remove/0', '/failed/clear', '/failed/retry-all?server=0']) {
      expect((await s.get(p)).status).toBe(404);
    }
    await unchanged();
  });

  it('redirects only to local paths after an action', async () => {
    const s = new Session(env.web.url);
    await s.get('/failed');
    for (const back of ['//evil.example/x', 'http://evil.example/', '/\\evil.example']) {
      const r = await s.post('/failed/retry', { server: 0, index: 0, back });
      expect(r.status).toBe(303);
      expect(r.location).toBe('/failed');
    }
    const r = await s.post('/failed/retry', { server: 0, index: 0, back: '/queues/p10?server=0' });
    expect(r.location).toBe('/queues/p10?server=0');
    expect(flashOf((await s.get(r.location as string)).text)).toContain('ok: Retried failure 0');
  });

  it('sets the CSRF cookie HttpOnly and SameSite=Strict', async () => {
    const res = await fetch(`${env.web.url}/`);
    const c = res.headers.getSetCookie().find(x => x.startsWith('pyres_csrf='));
    expect(c).toMatch(/HttpOnly/);
    expect(c).toMatch(/SameSite=Strict/);
    await res.text();
  });
});

describe('basic auth and binding', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ auth: { username: 'ops', password: 's3cret:x' } });
  });
  afterAll(() => stopEnv(env));

  it('asks for credentials on every page, asset and action', async () => {
    for (const p of ['/', '/failed', '/api/live', '/assets/app.js']) {
      const r = await fetch(env.web.url + p);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="pyres-ts"/);
      await r.text();
    }
    expect((await new Session(env.web.url, 'ops:wrong').get('/')).status).toBe(401);
    expect((await new Session(env.web.url, 'ops:s3cret:x').get('/')).status).toBe(200);
    const anon = await fetch(`${env.web.url}/failed/clear`, { method: 'POST', body: 'server=0' });
    expect(anon.status).toBe(401);
    await anon.text();
    const s = new Session(env.web.url, 'ops:s3cret:x');
    await s.get('/failed');
    const ok = await s.post('/failed/retry', { server: 0, index: 0 });
    expect(ok.status).toBe(303);
  });

  it('binds 127.0.0.1 unless told otherwise', async () => {
    expect(env.web.http.address()).toMatchObject({ address: '127.0.0.1' });
    const d = new Dashboard(parseDsnList(env.a.url, { namespace: 'resque' }));
    const w = await startWebServer({ dashboard: d, port: 0 });
    try {
      expect(w.http.address()).toMatchObject({ address: '127.0.0.1' });
      expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await w.close();
    }
    const parsed = await webBuilder(yargs([])).parseAsync([]);
    expect(parsed.bind).toBe('127.0.0.1');
    expect(parsed['web-port']).toBe(5678);
  });
});
