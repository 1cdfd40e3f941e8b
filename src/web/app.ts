import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { coerceError } from '../errors';
import type { MasterCommand } from '../master/master';
import { VERSION } from '../version';
import { APP_CSS, APP_JS } from './assets';
import { AdminActionError, type Admin, type Server } from '../admin/admin';
import { hostPolicy, refusedHostText } from './hosts';
import type { Html } from './html';
import * as v from './views';
import { schedules } from '../admin/schedule';
import { enqueueNowAction, removeAction, schedulePage } from './scheduleViews';
import { statusPages } from '../admin/status';
import { STATUSES_PER_PAGE, clearAction, killAction, stateParam, statusesPage } from './statusViews';

/**
 * The dashboard's HTTP app (Hono). Safe by default:
 * - every page escapes what it shows (views.ts builds HTML only through `html`);
 * - nothing changes on GET; every action is a POST that must carry a CSRF token, an HMAC of
 *   a random per-browser cookie (SameSite=Strict, HttpOnly) under a per-process secret, and
 *   must not come from another origin (Origin / Sec-Fetch-Site);
 * - a Content-Security-Policy allows only the same-origin /assets/ script and stylesheet;
 * - optional HTTP basic auth in front of everything;
 * - without auth, only requests for the dashboard's own names (hosts.ts: DNS rebinding).
 */
export interface WebAppOptions {
  dashboard: Admin;
  /** Basic auth; null or absent = none. */
  auth?: { username: string; password: string } | null;
  /** Key of the CSRF HMAC. @defaultValue 32 random bytes per process */
  secret?: Buffer;
  /** Items per page on the failed and queue pages. @defaultValue 20 */
  perPage?: number;
  /** The address served (accepted as a Host, see hosts.ts). @defaultValue '127.0.0.1' */
  bind?: string;
  /** Host header values served besides the loopback names and `bind` (--allowed-host). */
  allowedHosts?: readonly string[];
}

const CSRF_COOKIE = 'pyres_csrf';
const FLASH_COOKIE = 'pyres_flash';

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

type Flash = { kind: 'ok' | 'error'; text: string };

export function createWebApp(o: WebAppOptions): Hono {
  const d = o.dashboard;
  const secret = o.secret ?? randomBytes(32);
  const perPage = o.perPage ?? 20;
  const app = new Hono();

  const tokenFor = (cookie: string): string => createHmac('sha256', secret).update(cookie).digest('hex');

  app.use('*', async (c, next) => {
    await next();
    for (const [k, val] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, val);
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  const hostOk = hostPolicy({ ...(o.bind !== undefined ? { bind: o.bind } : {}), allowedHosts: o.allowedHosts ?? [], auth: Boolean(o.auth) });
  if (hostOk) {
    app.use('*', async (c, next) => {
      const host = c.req.header('Host');
      if (!hostOk(host)) return c.text(refusedHostText(host ?? ''), 403);
      await next();
    });
  }
  if (o.auth) app.use('*', basicAuth({ username: o.auth.username, password: o.auth.password, realm: 'pyres-ts' }));
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: c => c.text('request body too large', 413) }));

  /** The page context: makes sure the browser has a CSRF cookie, reads the flash once. */
  const ctxOf = (c: Context): v.PageContext => {
    let cookie = getCookie(c, CSRF_COOKIE);
    if (!cookie || !/^[0-9a-f]{32}$/.test(cookie)) {
      cookie = randomBytes(16).toString('hex');
      setCookie(c, CSRF_COOKIE, cookie, { path: '/', httpOnly: true, sameSite: 'Strict' });
    }
    let flash: Flash | null = null;
    const f = getCookie(c, FLASH_COOKIE);
    if (f) {
      deleteCookie(c, FLASH_COOKIE, { path: '/' });
      try {
        const parsed = JSON.parse(Buffer.from(f, 'base64url').toString('utf8')) as Flash;
        if ((parsed.kind === 'ok' || parsed.kind === 'error') && typeof parsed.text === 'string') flash = parsed;
      } catch {
        /* ignore a bad flash */
      }
    }
    const url = new URL(c.req.url);
    return { csrf: tokenFor(cookie), here: url.pathname + url.search, flash, servers: d.servers, version: VERSION };
  };

  const page = (c: Context, h: Html, status: 200 | 404 | 400 | 403 | 500 = 200): Response => c.html(h.value, status);

  const intParam = (s: string | undefined, def: number): number => {
    const n = Number(s);
    return s !== undefined && s !== '' && Number.isInteger(n) && n >= 0 ? n : def;
  };

  // ---- assets ------------------------------------------------------------------------------

  app.get('/assets/app.css', c => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(APP_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
  app.get('/assets/app.js', c => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(APP_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  app.get('/favicon.ico', c => {
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(null, 204);
  });

  // ---- pages -------------------------------------------------------------------------------

  app.get('/', async c => {
    const ctx = ctxOf(c);
    const [stats, queues, workers] = await Promise.all([d.each(s => s.store.stats()), d.queues(), d.workers()]);
    return page(c, v.overviewPage(ctx, { stats, queues, workers }));
  });
  app.get('/overview', c => c.redirect('/', 301));

  app.get('/queues', async c => page(c, v.queuesPage(ctxOf(c), await d.queues())));

  app.get('/queues/:name{.+}', async c => {
    const ctx = ctxOf(c);
    const name = c.req.param('name');
    const start = intParam(c.req.query('start'), 0);
    const results = await d.queue(name, start, perPage);
    let selected = Number(c.req.query('server'));
    if (!d.servers.some(s => s.id === selected)) {
      const withJobs = results.find(r => r.ok && r.value.size > 0) ?? results.find(r => r.ok && r.value.known);
      selected = (withJobs ?? results[0])?.server.id ?? 0;
    }
    return page(c, v.queuePage(ctx, name, results, selected, start, perPage));
  });

  app.get('/workers', async c => page(c, v.workersPage(ctxOf(c), await d.workers())));

  app.get('/masters', async c => page(c, v.mastersPage(ctxOf(c), await d.masters())));

  app.get('/failed', async c => {
    const ctx = ctxOf(c);
    // Every failure list counts: `failed` and RedisMultiQueue's `<queue>_failed` lists.
    const listsOf = await d.each(s => s.store.failureLists());
    const counts = listsOf.map(r => (r.ok ? { ...r, value: r.value.reduce((n, l) => n + l.size, 0) } : r));
    let server: Server | undefined;
    const q = c.req.query('server');
    if (q !== undefined && q !== '') {
      try {
        server = d.server(q);
      } catch (e) {
        return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
      }
    }
    server ??= (counts.find(r => r.ok && r.value > 0) ?? counts.find(r => r.ok) ?? counts[0])?.server;
    if (!server) return page(c, v.errorPage(ctx, 404, 'no servers'), 404);
    const order = c.req.query('order') === 'asc' ? 'asc' : 'desc';
    const showQ = c.req.query('show');
    const show = showQ === 'all' || showQ === 'retried' ? showQ : 'pending';
    const sid = server.id;
    const lists = listsOf.find(r => r.server.id === sid);
    const known = lists?.ok ? lists.value : [];
    const listQ = c.req.query('list');
    const list =
      listQ !== undefined && listQ !== '' ? listQ : (known.find(l => l.list === 'failed' && l.size > 0)?.list ?? known.find(l => l.size > 0)?.list ?? 'failed');
    let data: Awaited<ReturnType<Admin['failed']>> | { error: string };
    try {
      data = await d.failed(sid, intParam(c.req.query('start'), 0), perPage, order, show, list);
    } catch (e) {
      data = { error: e instanceof AdminActionError ? e.message : `${server.label} is down: ${coerceError(e).message}` };
    }
    return page(c, v.failedPage(ctx, counts, server, data, known));
  });

  app.get('/stats', async c => page(c, v.statsPage(ctxOf(c), await d.stats())));

  app.get('/schedule', async c => page(c, schedulePage(ctxOf(c), await schedules(d))));

  app.get('/statuses', async c => {
    const state = stateParam(c.req.query('state'));
    const start = intParam(c.req.query('start'), 0);
    return page(c, statusesPage(ctxOf(c), await statusPages(d, start, STATUSES_PER_PAGE, state), state, start));
  });

  app.get('/api/live', async c => c.json(await d.live()));

  // ---- actions -----------------------------------------------------------------------------

  /** Checks origin and CSRF token, runs `act`, and redirects back with its message. */
  const action = (fallback: string, act: (f: Record<string, string>) => Promise<string>) => async (c: Context) => {
    const site = c.req.header('Sec-Fetch-Site');
    const origin = c.req.header('Origin');
    const host = c.req.header('Host');
    let crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
    if (!crossSite && origin !== undefined && origin !== 'null') {
      try {
        crossSite = new URL(origin).host !== host;
      } catch {
        crossSite = true;
      }
    } else if (origin === 'null') crossSite = true;
    const body = await c.req.parseBody();
    const f: Record<string, string> = {};
    for (const [k, val] of Object.entries(body)) if (typeof val === 'string') f[k] = val;
    const cookie = getCookie(c, CSRF_COOKIE);
    const given = f['_csrf'] ?? '';
    const expected = cookie ? tokenFor(cookie) : '';
    const tokenOk = expected !== '' && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (crossSite || !tokenOk) {
      const ctx = ctxOf(c);
      return page(
        c,
        v.errorPage(
          ctx,
          403,
          crossSite
            ? 'Refused: this request came from another site.'
            : "Refused: the form's security token is missing or wrong. Reload the page and try again.",
        ),
        403,
      );
    }
    const back = safeBack(f['back'], fallback);
    let flash: Flash;
    try {
      flash = { kind: 'ok', text: await act(f) };
    } catch (e) {
      flash = { kind: 'error', text: coerceError(e).message };
      if (!(e instanceof AdminActionError)) flash.text = `Failed: ${flash.text}`;
    }
    setCookie(c, FLASH_COOKIE, Buffer.from(JSON.stringify(flash)).toString('base64url'), { path: '/', httpOnly: true, sameSite: 'Strict' });
    return c.redirect(back, 303);
  };

  const idx = (f: Record<string, string>): number => {
    const n = Number(f['index']);
    if (f['index'] === undefined || f['index'] === '' || !Number.isInteger(n) || n < 0)
      throw new AdminActionError(`bad failure index ${JSON.stringify(f['index'] ?? '')}`);
    return n;
  };
  const want = (f: Record<string, string>): string | undefined => (f['digest'] && /^[0-9a-f]{6,40}$/.test(f['digest']) ? f['digest'] : undefined);

  app.post(
    '/failed/retry',
    action('/failed', async f => {
      const r = await d.retryFailed(f['server'] ?? '', idx(f), want(f), f['list'] || 'failed');
      return `Retried failure ${r.index}${r.list === 'failed' ? '' : ` in ${r.list}`}: the job is back on ${r.queue}.`;
    }),
  );
  app.post(
    '/failed/remove',
    action('/failed', async f => {
      const r = await d.removeFailed(f['server'] ?? '', idx(f), want(f), f['list'] || 'failed');
      return `Removed failure ${r.index}${r.list === 'failed' ? '' : ` from ${r.list}`}.`;
    }),
  );
  app.post(
    '/failed/clear',
    action('/failed', async f => {
      const n = await d.clearFailed(f['server'] ?? '', f['list'] || undefined);
      return `Cleared ${n} failure${n === 1 ? '' : 's'} on ${d.server(f['server']).label}.`;
    }),
  );
  app.post(
    '/failed/retry-all',
    action('/failed', async f => {
      const r = await d.retryAll(f['server'] ?? '', f['list'] || undefined);
      return (
        `Retried ${r.retried} failure${r.retried === 1 ? '' : 's'} on ${d.server(f['server']).label}` +
        `; ${r.alreadyRetried} already retried (skipped)` +
        (r.notRetryable ? `; ${r.notRetryable} not retryable` : '') +
        (r.gone ? `; ${r.gone} gone meanwhile` : '') +
        '.'
      );
    }),
  );
  app.post(
    '/failed/clear-retried',
    action('/failed', async f => {
      const n = await d.clearRetried(f['server'] ?? '', f['list'] || undefined);
      return `Removed ${n} retried failure${n === 1 ? '' : 's'} on ${d.server(f['server']).label}.`;
    }),
  );
  app.post(
    '/schedule/enqueue-now',
    action('/schedule', f => enqueueNowAction(d, f)),
  );
  app.post(
    '/schedule/remove',
    action('/schedule', f => removeAction(d, f)),
  );
  app.post(
    '/statuses/kill',
    action('/statuses', f => killAction(d, f)),
  );
  app.post(
    '/statuses/clear',
    action('/statuses', f => clearAction(d, f)),
  );
  app.post(
    '/masters/command',
    action('/masters', async f => {
      const master = f['master'] ?? '';
      let cmd: MasterCommand;
      switch (f['cmd']) {
        case 'pause':
        case 'resume':
          cmd = { cmd: f['cmd'] };
          break;
        case 'scale': {
          const count = Number(f['count']);
          const queues = f['queues'] ?? '';
          if (!queues) throw new AdminActionError('scale: which group (queues)?');
          if (f['count'] === undefined || f['count'] === '' || !Number.isInteger(count) || count < 0 || count > 1000) {
            throw new AdminActionError(`scale: ${JSON.stringify(f['count'] ?? '')} is not a worker count (0..1000)`);
          }
          cmd = { cmd: 'scale', queues, count };
          break;
        }
        default:
          throw new AdminActionError(`unknown master command ${JSON.stringify(f['cmd'] ?? '')}`);
      }
      await d.masterCommand(f['server'] ?? '', master, cmd);
      return `Sent ${cmd.cmd}${cmd.cmd === 'scale' ? ` ${cmd.queues}=${cmd.count}` : ''} to ${master}.`;
    }),
  );

  // ---- errors ------------------------------------------------------------------------------

  app.notFound(c => page(c, v.errorPage(ctxOf(c), 404, `No page at ${new URL(c.req.url).pathname}.`), 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    return page(c, v.errorPage(ctxOf(c), 500, coerceError(err).message), 500);
  });

  return app;
}

/** Only a local path: never another origin (`//host`, `/\host`, a scheme). */
function safeBack(back: string | undefined, fallback: string): string {
  if (!back || !back.startsWith('/') || back.startsWith('//') || back.startsWith('/\\') || /[\r\n]/.test(back)) return fallback;
  return back;
}
