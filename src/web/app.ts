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
import { type FailureSearch, HISTORY, deleteQueuedJob, findFailure, findQueuedJob, historyOf, isSearch, sampleHistory, searchFailures } from '../admin/inspect';
import { getPath } from 'hono/utils/url';
import { parseBasePath } from '../config/basePath';
import { hostPolicy, refusedHostText } from './hosts';
import type { Html } from './html';
import * as v from './views';
import { schedules } from '../admin/schedule';
import { enqueueNowAction, removeAction, schedulePage } from './scheduleViews';
import { DashboardMetrics } from '../metrics/dashboard';
import { METRICS_CONTENT_TYPE } from '../metrics/processMetrics';

export { parseBasePath };
import { delayedAction, delayedPage, delayedTimestampPage } from './delayedViews';
import { retriesAction, retriesPage } from './retriesViews';
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
 * Mountable under a path (`basePath`); every page refreshes its `data-live` regions (assets.ts).
 * See docs/DASHBOARD.md.
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
  /**
   * The URL prefix the dashboard is served under (`--base-path /resque`): every link, form and
   * asset carries it. Requests are answered with or without it (a parent that strips the prefix,
   * as Express' `app.use('/resque', …)` and Hono's `mount` do, and one that does not, as Node's
   * http server or Hono's `route` do). Checked by parseBasePath (config/basePath.ts). @defaultValue '' (the root)
   */
  basePath?: string;
  /**
   * Write a processed/failed sample to each server's history when a GET is answered and this app
   * wrote none in the last minute (see docs/DASHBOARD.md). startWebServer turns this off and
   * samples on a timer. @defaultValue true
   */
  sampleHistory?: boolean;
  /** How often (ms) an open page refreshes its live regions. @defaultValue 3000 */
  liveEvery?: number;
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
  const base = parseBasePath(o.basePath);
  /** The path without the base prefix (a parent may or may not have stripped it). */
  const strip = (path: string): string => (base && (path === base || path.startsWith(`${base}/`)) ? path.slice(base.length) || '/' : path);
  const app = new Hono({ getPath: req => strip(getPath(req)) });
  const cookiePath = base || '/';
  let lastSample = 0;

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
  // A mounted app writes the history when asked for a page, at most once per interval, before
  // the answer goes out (so no work outlives a request). startWebServer samples on a timer instead.
  if (o.sampleHistory !== false) {
    app.use('*', async (c, next) => {
      await next();
      if (c.req.method !== 'GET' || Date.now() - lastSample < HISTORY.intervalMs) return;
      lastSample = Date.now();
      await sampleHistory(d).catch(() => undefined);
    });
  }
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: c => c.text('request body too large', 413) }));

  /** The page context: makes sure the browser has a CSRF cookie, reads the flash once. */
  const ctxOf = (c: Context): v.PageContext => {
    let cookie = getCookie(c, CSRF_COOKIE);
    if (!cookie || !/^[0-9a-f]{32}$/.test(cookie)) {
      cookie = randomBytes(16).toString('hex');
      setCookie(c, CSRF_COOKIE, cookie, { path: cookiePath, httpOnly: true, sameSite: 'Strict' });
    }
    let flash: Flash | null = null;
    const f = getCookie(c, FLASH_COOKIE);
    if (f) {
      deleteCookie(c, FLASH_COOKIE, { path: cookiePath });
      try {
        const parsed = JSON.parse(Buffer.from(f, 'base64url').toString('utf8')) as Flash;
        if ((parsed.kind === 'ok' || parsed.kind === 'error') && typeof parsed.text === 'string') flash = parsed;
      } catch {
        /* ignore a bad flash */
      }
    }
    const url = new URL(c.req.url);
    return {
      csrf: tokenFor(cookie),
      here: strip(c.req.path) + url.search,
      flash,
      servers: d.servers,
      version: VERSION,
      ...(o.liveEvery ? { liveEvery: o.liveEvery } : {}),
    };
  };

  /**
   * Every link, form and asset of the views is an absolute path ('/failed'); under a base path
   * they get its prefix here. Only markup from the templates can match: a value from Redis or a
   * request is escaped, so it never contains a literal '"'.
   */
  const rebase = (text: string): string =>
    base
      ? text.replace(/(\s(?:href|action|src|data-src)="|\sname="back" value=")\/("?)/g, (_, attr: string, end: string) =>
          end ? `${attr}${base}"` : `${attr}${base}/`,
        )
      : text;
  const page = (c: Context, h: Html, status: 200 | 404 | 400 | 403 | 500 = 200): Response => c.html(rebase(h.value), status);

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
    const [stats, queues, workers, history] = await Promise.all([d.each(s => s.store.stats()), d.queues(), d.workers(), historyOf(d)]);
    return page(c, v.overviewPage(ctx, { stats, queues, workers, history }));
  });
  app.get('/overview', c => c.redirect(base || '/', 301));

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
    const search: FailureSearch = {
      className: c.req.query('class') || undefined,
      exception: c.req.query('exception') || undefined,
      queue: c.req.query('queue') || undefined,
      text: c.req.query('q') || undefined,
    };
    let data: Awaited<ReturnType<Admin['failed']>> | Awaited<ReturnType<typeof searchFailures>> | { error: string };
    try {
      const start = intParam(c.req.query('start'), 0);
      data =
        isSearch(search) || c.req.query('groups') === '1'
          ? await searchFailures(d, sid, search, { start, count: perPage, order, show, list })
          : await d.failed(sid, start, perPage, order, show, list);
    } catch (e) {
      data = { error: e instanceof AdminActionError ? e.message : `${server.label} is down: ${coerceError(e).message}` };
    }
    return page(c, v.failedPage(ctx, counts, server, data, known, search));
  });

  app.get('/stats', async c => {
    const ctx = ctxOf(c);
    const [stats, history] = await Promise.all([d.stats(), historyOf(d)]);
    return page(c, v.statsPage(ctx, stats, history));
  });

  app.get('/schedule', async c => page(c, schedulePage(ctxOf(c), await schedules(d))));

  app.get('/statuses', async c => {
    const state = stateParam(c.req.query('state'));
    const start = intParam(c.req.query('start'), 0);
    return page(c, statusesPage(ctxOf(c), await statusPages(d, start, STATUSES_PER_PAGE, state), state, start));
  });

  app.get('/api/live', async c => c.json(await d.live()));
  app.get('/delayed', async c => page(c, await delayedPage(ctxOf(c), d, c.req.query(), perPage)));
  app.get('/delayed/:ts{-?[0-9]+}', async c => page(c, await delayedTimestampPage(ctxOf(c), d, c.req.param('ts'), c.req.query(), perPage)));
  app.get('/retries', async c => page(c, await retriesPage(ctxOf(c), d, c.req.query(), perPage)));

  // Prometheus (src/metrics/dashboard.ts): queue depth, oldest job age, stats, workers, failures by class.
  const metrics = new DashboardMetrics(d);
  app.get('/metrics', async c => c.body(await metrics.text(), 200, { 'Content-Type': METRICS_CONTENT_TYPE }));
  app.get('/api/history', async c =>
    c.json(
      (await historyOf(d)).map(h => ({ server: h.server.id, label: h.server.label, ok: h.ok, samples: h.samples, ...(h.error ? { error: h.error } : {}) })),
    ),
  );

  const digestParam = (s: string | undefined): string => (s && /^[0-9a-f]{6,40}$/.test(s) ? s : '');

  // One failure: payload, args, worker, times, backtrace.
  app.get('/failure', async c => {
    const ctx = ctxOf(c);
    const want = digestParam(c.req.query('digest'));
    const list = c.req.query('list') || 'failed';
    let server: Server;
    try {
      server = d.server(c.req.query('server') ?? '0');
    } catch (e) {
      return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
    }
    if (!want) return page(c, v.errorPage(ctx, 400, 'which failure? (digest= is missing or not a SHA-1)'), 400);
    try {
      const it = await findFailure(d, server.id, list, intParam(c.req.query('index'), -1), want);
      return page(c, v.failureDetailPage(ctx, server, list, it, want), it ? 200 : 404);
    } catch (e) {
      return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
    }
  });

  // One worker and the job it is running (payload, args, since when).
  app.get('/worker', async c => {
    const ctx = ctxOf(c);
    const id = c.req.query('id') ?? '';
    let server: Server;
    try {
      server = d.server(c.req.query('server') ?? '0');
    } catch (e) {
      return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
    }
    const { perServer } = await d.workers();
    const mine = perServer.find(r => r.server.id === server.id);
    if (mine && !mine.ok) return page(c, v.errorPage(ctx, 500, mine.error), 500);
    const row = mine?.ok ? (mine.value.find(w => w.id === id) ?? null) : null;
    return page(c, v.workerDetailPage(ctx, server, id, row), row ? 200 : 404);
  });

  // One queued job.
  app.get('/job', async c => {
    const ctx = ctxOf(c);
    const want = digestParam(c.req.query('digest'));
    const queue = c.req.query('queue') ?? '';
    let server: Server;
    try {
      server = d.server(c.req.query('server') ?? '0');
    } catch (e) {
      return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
    }
    if (!want || !queue) return page(c, v.errorPage(ctx, 400, 'which job? (queue= and digest= are needed)'), 400);
    try {
      const job = await findQueuedJob(d, server.id, queue, intParam(c.req.query('index'), -1), want);
      return page(c, v.jobDetailPage(ctx, server, queue, job, want), job ? 200 : 404);
    } catch (e) {
      return page(c, v.errorPage(ctx, 404, coerceError(e).message), 404);
    }
  });

  // ---- actions -----------------------------------------------------------------------------

  /**
   * Checks origin and CSRF token, runs `act`, and redirects back with its message. When `act`
   * returns a page instead (a confirmation step), that page is shown and nothing was done.
   */
  const action = (fallback: string, act: (f: Record<string, string>, c: Context) => Promise<string | Html>) => async (c: Context) => {
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
    const back = base + strip(safeBack(f['back'], fallback));
    let flash: Flash;
    try {
      const done = await act(f, c);
      if (typeof done !== 'string') return page(c, done);
      flash = { kind: 'ok', text: done };
    } catch (e) {
      flash = { kind: 'error', text: coerceError(e).message };
      if (!(e instanceof AdminActionError)) flash.text = `Failed: ${flash.text}`;
    }
    setCookie(c, FLASH_COOKIE, Buffer.from(JSON.stringify(flash)).toString('base64url'), { path: cookiePath, httpOnly: true, sameSite: 'Strict' });
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
    '/delayed/action',
    action('/delayed', f => delayedAction(d, f)),
  );
  app.post(
    '/retries/action',
    action('/retries', f => retriesAction(d, f)),
  );
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
  // Queue actions. Each asks first: without `confirmed=yes` (app.js adds it when the browser's
  // dialog is accepted) the answer is a page that asks, with a form that sends it.
  const queueOf = (f: Record<string, string>): string => {
    const q = f['queue'] ?? '';
    if (q === '') throw new AdminActionError('which queue?');
    return q;
  };
  const confirmed = (f: Record<string, string>): boolean => f['confirmed'] === 'yes';
  const ask = (c: Context, f: Record<string, string>, action: string, question: string, label: string): Html =>
    v.confirmPage(ctxOf(c), {
      action,
      question,
      label,
      fields: { ...f, back: strip(safeBack(f['back'], '/queues')) },
      cancel: strip(safeBack(f['back'], '/queues')),
    });
  app.post(
    '/queues/clear',
    action('/queues', async (f, c) => {
      const s = d.server(f['server']);
      const q = queueOf(f);
      if (!confirmed(f))
        return ask(
          c,
          f,
          '/queues/clear',
          `Delete every job in ${q} on ${s.label} (${await s.store.queueSize(q)} now)? The queue stays listed.`,
          'Clear the queue',
        );
      const n = await d.clearQueue(s.id, q);
      return `Cleared ${q} on ${s.label}: ${n} job${n === 1 ? '' : 's'} deleted.`;
    }),
  );
  app.post(
    '/queues/remove',
    action('/queues', async (f, c) => {
      const s = d.server(f['server']);
      const q = queueOf(f);
      if (!confirmed(f))
        return ask(c, f, '/queues/remove', `Remove the queue ${q} from ${s.label}, with its ${await s.store.queueSize(q)} jobs?`, 'Remove the queue');
      const n = await d.removeQueue(s.id, q);
      return `Removed the queue ${q} from ${s.label} (${n} job${n === 1 ? '' : 's'} deleted).`;
    }),
  );
  app.post(
    '/queues/delete-job',
    action('/queues', async (f, c) => {
      const s = d.server(f['server']);
      const q = queueOf(f);
      const want = digestParam(f['digest']);
      if (!want) throw new AdminActionError('which job? (digest is missing or not a SHA-1)');
      const index = intParam(f['index'], -1);
      if (!confirmed(f)) {
        const job = await findQueuedJob(d, s.id, q, index, want);
        if (!job) throw new AdminActionError(`job ${want.slice(0, 12)} is no longer in ${q} on ${s.label}`);
        return ask(c, f, '/queues/delete-job', `Delete this job from ${q} on ${s.label}? ${job.raw}`, 'Delete the job');
      }
      const job = await deleteQueuedJob(d, s.id, q, index, want);
      return `Deleted job ${job.index} (${v.jobSummary(job.raw).className}) from ${q} on ${s.label}.`;
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
