import type { MasterInfo } from '../master/master';
import type { HistorySample, ResqueStats } from '../store/adminStore';
import type { FailedFilter, FailedItem, FailedPage, QueueRow, Server, ServerMasters, Settled, WorkerRow } from '../admin/admin';
import type { FailureSearch, FailureSearchPage, QueuedJob } from '../admin/inspect';
import { digest } from '../admin/failures';
import { DETAIL_CLIP, type Html, type HtmlValue, LIST_CLIP, clip, html, qs, seg } from './html';

/**
 * Server-rendered pages. Everything from Redis goes through `html`, which escapes it.
 * Actions are POST forms carrying the CSRF token; nothing changes state on GET.
 */

export interface PageContext {
  csrf: string;
  /** The request path + query, for forms to come back to. */
  here: string;
  flash: { kind: 'ok' | 'error'; text: string } | null;
  servers: readonly Server[];
  version: string;
  /** How often (ms) app.js re-reads a live page. @defaultValue 3000 */
  liveEvery?: number;
}

export const NAV: ReadonlyArray<[string, string]> = [
  ['/', 'Overview'],
  ['/queues', 'Queues'],
  ['/workers', 'Workers'],
  ['/masters', 'Masters'],
  ['/failed', 'Failed'],
  ['/delayed', 'Delayed'],
  ['/stats', 'Stats'],
  ['/schedule', 'Schedule'],
  ['/statuses', 'Statuses'],
  ['/retries', 'Retries'],
];

/**
 * The page frame. The body is one live region (`data-live`): app.js re-reads the page every few
 * seconds and swaps each region for its new rendering (without JavaScript the page is as
 * served). `live: false` when the body places its own regions.
 */
export function layout(ctx: PageContext, current: string, title: string, body: HtmlValue, opts: { live?: boolean } = {}): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · pyres-ts</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body${ctx.liveEvery ? html` data-live-every="${ctx.liveEvery}"` : ''}>
<header>
  <a class="brand" href="/">pyres-ts</a>
  <nav>${NAV.map(([href, label]) => html`<a href="${href}"${current === href ? html` class="current" aria-current="page"` : ''}>${label}</a>`)}</nav>
  <span class="servers">${ctx.servers.map(s => html`<span class="srv ${s.store.ready ? 'up' : 'down'}" title="${s.store.error ?? 'connected'}">${s.label}</span>`)}</span>
</header>
<main>
${ctx.flash ? html`<p class="flash ${ctx.flash.kind}" role="status">${ctx.flash.text}</p>` : ''}
<h1>${title}</h1>
${opts.live === false ? body : html`<div data-live="page">${body}</div>`}
</main>
<footer>pyres-ts ${ctx.version} · ${ctx.servers.length} Redis server${ctx.servers.length === 1 ? '' : 's'} <span id="live-status" class="muted"></span></footer>
</body>
</html>`;
}

/** One block per server that could not be read: which one, and why. */
export function downNotices(results: ReadonlyArray<Settled<unknown>>): Html {
  return html`${results.map(r =>
    r.ok ? '' : html`<div class="down-notice" role="alert" data-server="${r.server.id}"><strong>${r.server.label} is down</strong>: ${r.error}</div>`,
  )}`;
}

function csrfField(ctx: PageContext): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${ctx.here}">`;
}

/** A POST button. `confirm` asks first (app.js). */
export function actionButton(
  ctx: PageContext,
  action: string,
  label: string,
  fields: Record<string, string | number>,
  opts: { confirm?: string; cls?: string } = {},
): Html {
  return html`<form method="post" action="${action}" class="inline"${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}>${csrfField(ctx)}${Object.entries(
    fields,
  ).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`,
  )}<button type="submit"${opts.cls ? html` class="${opts.cls}"` : ''}>${label}</button></form>`;
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 0) return 'in the future';
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

function time(raw: string | null, iso: string | null): Html {
  if (raw === null) return html`<span class="muted">—</span>`;
  return html`<time${iso ? html` datetime="${iso}"` : ''} title="${iso ?? raw}">${raw}</time>${iso ? html` <small class="muted">${ago(iso)}</small>` : ''}`;
}

function pager(
  path: string,
  params: Record<string, string | number | undefined>,
  start: number,
  count: number,
  total: number,
  hasMore: boolean = start + count < total,
  labels: [string, string] = ['« previous', 'next »'],
  totalUnknown = false,
): Html {
  if (start === 0 && !hasMore) return html``;
  const prev = start > 0 ? Math.max(0, start - count) : null;
  const next = hasMore ? start + count : null;
  return html`<nav class="pager">
    ${prev !== null ? html`<a rel="prev" href="${path}${qs({ ...params, start: prev || undefined })}">${labels[0]}</a>` : html`<span class="muted">${labels[0]}</span>`}
    <span>${total === 0 ? 0 : start + 1}–${Math.min(total, start + count)}${totalUnknown ? '' : ` of ${total}`}</span>
    ${next !== null ? html`<a rel="next" href="${path}${qs({ ...params, start: next })}">${labels[1]}</a>` : html`<span class="muted">${labels[1]}</span>`}
  </nav>`;
}

function serverTabs(
  path: string,
  servers: readonly Server[],
  selected: number,
  extra: Record<string, string | undefined>,
  counts: Record<number, number | string>,
): Html {
  return html`<nav class="tabs">${servers.map(
    s =>
      html`<a href="${path}${qs({ ...extra, server: s.id })}"${s.id === selected ? html` class="current" aria-current="page"` : ''}>${s.label} <span class="count">${String(counts[s.id] ?? '?')}</span></a>`,
  )}</nav>`;
}

// ---- overview ------------------------------------------------------------------------------

export interface OverviewData {
  stats: Array<Settled<ResqueStats>>;
  queues: { rows: QueueRow[]; perServer: Array<Settled<unknown>> };
  workers: { rows: WorkerRow[]; perServer: Array<Settled<unknown>> };
  history?: ServerHistory[];
}

/** A server's processed/failed history (see admin/inspect.ts). */
export interface ServerHistory {
  server: Server;
  ok: boolean;
  samples: HistorySample[];
  error?: string;
}

/** The numbers first: queues, pending jobs, workers, processed, failed, failure records (all servers). */
function tiles(d: OverviewData): Html {
  const ok = d.stats.flatMap(r => (r.ok ? [r.value] : []));
  const sum = (f: (s: ResqueStats) => number): number => ok.reduce((a, s) => a + f(s), 0);
  const pending = d.queues.rows.reduce((a, r) => a + r.total, 0);
  const working = d.workers.rows.filter(w => w.job).length;
  const tile = (key: string, label: string, value: HtmlValue, href: string, sub: HtmlValue = ''): Html =>
    html`<a class="tile" data-tile="${key}" href="${href}"><span class="label">${label}</span><span class="value">${value}</span><span class="tsub">${sub}</span></a>`;
  return html`<div class="tiles">
${tile('queues', 'Queues', d.queues.rows.length, '/queues', html`${pending} pending job${pending === 1 ? '' : 's'}`)}
${tile('workers', 'Workers', d.workers.rows.length, '/workers', `${working} working`)}
${tile(
  'processed',
  'Processed',
  sum(s => s.processed),
  '/stats',
  'stat:processed',
)}
${tile(
  'failed',
  'Failed',
  sum(s => s.failedStat),
  '/stats',
  'stat:failed',
)}
${tile(
  'failures',
  'Failure records',
  sum(s => s.failedList),
  '/failed',
  'to retry or remove',
)}
</div>`;
}

export function overviewPage(ctx: PageContext, d: OverviewData): Html {
  const working = d.workers.rows.filter(w => w.job);
  return layout(
    ctx,
    '/',
    'Overview',
    html`
<div data-live="numbers">
${downNotices(d.stats)}
${tiles(d)}
<section>
<h2>Servers</h2>
<table class="servers-table">
<thead><tr><th>Server</th><th>Namespace</th><th>Status</th><th class="num">Queues</th><th class="num">Pending jobs</th><th class="num">Workers</th><th class="num">Working</th><th class="num">Failed</th><th class="num">Processed</th></tr></thead>
<tbody>
${d.stats.map(r => {
  const q = d.queues.perServer.find(x => x.server.id === r.server.id);
  const pending = q && q.ok ? (q.value as Array<{ size: number }>).reduce((a, x) => a + x.size, 0) : null;
  const ws = d.workers.rows.filter(w => w.server === r.server.id);
  return r.ok
    ? html`<tr data-server="${r.server.id}"><td>${r.server.label}</td><td><code>${r.server.namespace}</code></td><td><span class="badge up">up</span>${r.value.pausedAll ? html` <span class="badge warn">paused (pause-all-workers)</span>` : ''}</td><td class="num">${r.value.queues}</td><td class="num">${pending ?? '?'}</td><td class="num">${r.value.workers}</td><td class="num">${ws.filter(w => w.job).length}</td><td class="num"><a href="/failed${qs({ server: r.server.id })}">${r.value.failedList}</a></td><td class="num">${r.value.processed}</td></tr>`
    : html`<tr data-server="${r.server.id}" class="down"><td>${r.server.label}</td><td><code>${r.server.namespace}</code></td><td colspan="7"><span class="badge down">down</span> ${r.error}</td></tr>`;
})}
</tbody>
</table>
</section>
</div>
<div data-live="lists">
<section>
<h2>Queues</h2>
${queuesTable(ctx.servers, d.queues.rows, d.queues.perServer)}
</section>
<section>
<h2>${working.length} of ${d.workers.rows.length} workers working</h2>
${working.length === 0 ? html`<p class="muted">No worker is working.</p>` : workingTable(working, ctx.servers.length > 1)}
</section>
</div>
<section>
<h2>Jobs per second</h2>
<div id="live-chart" class="chart" data-src="/api/live" aria-label="processed and failed jobs per second, all servers"><p class="muted">The live chart needs JavaScript.</p></div>
</section>
${d.history ? html`<section data-live="history"><h2>History</h2>${historyChart(d.history)}</section>` : ''}`,
    { live: false },
  );
}

/** Per-minute rates between consecutive samples, summed over servers, by minute. */
export function historyRates(h: readonly ServerHistory[]): Array<{ t: number; processed: number; failed: number }> {
  const byMinute = new Map<number, { processed: number; failed: number }>();
  for (const sh of h) {
    for (let i = 1; i < sh.samples.length; i++) {
      const a = sh.samples[i - 1] as HistorySample;
      const b = sh.samples[i] as HistorySample;
      const minutes = (b.t - a.t) / 60_000;
      if (!(minutes > 0)) continue;
      const m = Math.floor(b.t / 60_000) * 60_000;
      const cur = byMinute.get(m) ?? { processed: 0, failed: 0 };
      // A counter that went down was reset: no rate for that interval.
      cur.processed += Math.max(0, b.processed - a.processed) / minutes;
      cur.failed += Math.max(0, b.failed - a.failed) / minutes;
      byMinute.set(m, cur);
    }
  }
  return [...byMinute].sort((x, y) => x[0] - y[0]).map(([t, v]) => ({ t, ...v }));
}

/** The history as an SVG drawn on the server (no script needed): jobs per minute, processed and failed. */
export function historyChart(h: readonly ServerHistory[]): Html {
  const pts = historyRates(h);
  const n = h.reduce((a, x) => a + x.samples.length, 0);
  if (pts.length < 2)
    return html`<p class="muted history-empty" data-samples="${n}">Not enough history yet: a dashboard writes one sample a minute to <code>pyres-ts:stats:history</code> (${n} so far).</p>`;
  const W = 720;
  const H = 160;
  const L = 48;
  const R = 10;
  const T = 10;
  const B = 22;
  const t0 = (pts[0] as { t: number }).t;
  const t1 = (pts[pts.length - 1] as { t: number }).t;
  const span = Math.max(1, t1 - t0);
  const max = Math.max(1, ...pts.map(p => Math.max(p.processed, p.failed)));
  const x = (t: number): string => (L + ((W - L - R) * (t - t0)) / span).toFixed(1);
  const y = (v: number): string => (T + (H - T - B) * (1 - v / max)).toFixed(1);
  const line = (k: 'processed' | 'failed'): string => pts.map(p => `${x(p.t)},${y(p[k])}`).join(' ');
  const fmt = (t: number): string => new Date(t).toISOString().slice(11, 16);
  const last = pts[pts.length - 1] as { processed: number; failed: number };
  return html`<div class="chart history" data-points="${pts.length}"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="jobs per minute, processed and failed">
<line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" stroke="#e3e8ee"></line><line x1="${L}" x2="${W - R}" y1="${y(max)}" y2="${y(max)}" stroke="#e3e8ee"></line>
<text x="${L - 6}" y="${Number(y(max)) + 4}" text-anchor="end" font-size="11" fill="#7a8794">${max >= 10 ? max.toFixed(0) : max.toFixed(1)}</text>
<text x="${L - 6}" y="${Number(y(0)) + 4}" text-anchor="end" font-size="11" fill="#7a8794">0</text>
<text x="${L}" y="${H - 6}" font-size="11" fill="#7a8794">${fmt(t0)} UTC</text>
<text x="${W - R}" y="${H - 6}" text-anchor="end" font-size="11" fill="#7a8794">${fmt(t1)} UTC</text>
<polyline class="series-p" points="${line('processed')}" fill="none" stroke="#1565c0" stroke-width="2"></polyline>
<polyline class="series-f" points="${line('failed')}" fill="none" stroke="#c62828" stroke-width="2"></polyline>
</svg><p class="legend"><span class="p">processed/min ${last.processed.toFixed(1)}</span>  ·  <span class="f">failed/min ${last.failed.toFixed(1)}</span>  ·  ${pts.length} minutes kept in Redis</p></div>`;
}

function workingTable(rows: WorkerRow[], showServer: boolean): Html {
  return html`<table class="working">
<thead><tr>${showServer ? html`<th>Server</th>` : ''}<th>Where</th><th>Queue</th><th>Processing</th><th>Since</th></tr></thead>
<tbody>${rows.map(
    w =>
      html`<tr>${showServer ? html`<td>${w.serverLabel}</td>` : ''}<td><a href="/worker${qs({ server: w.server, id: w.id })}" title="${w.id}">${w.host}:${w.pid ?? '?'}</a></td><td><a class="queue-tag" href="/queues/${seg(w.job?.queue ?? '')}${qs({ server: w.server })}">${w.job?.queue}</a></td><td><code>${w.job?.className}</code></td><td>${time(w.job?.runAt ?? null, w.job?.runAtIso ?? null)}</td></tr>`,
  )}</tbody></table>`;
}

// ---- queues --------------------------------------------------------------------------------

function queuesTable(servers: readonly Server[], rows: QueueRow[], perServer: ReadonlyArray<Settled<unknown>>): Html {
  if (rows.length === 0) return html`<p class="muted">No queues.</p>`;
  const down = new Set(perServer.filter(r => !r.ok).map(r => r.server.id));
  const multi = servers.length > 1;
  return html`<table class="queues">
<thead><tr><th>Queue</th><th class="num">Jobs</th>${multi ? servers.map(s => html`<th class="num">${s.label}</th>`) : ''}</tr></thead>
<tbody>${rows.map(
    r =>
      html`<tr data-queue="${r.queue}"><td><a class="queue" href="/queues/${seg(r.queue)}">${r.queue}</a></td><td class="num total">${r.total}</td>${
        multi
          ? servers.map(
              s =>
                html`<td class="num" data-server="${s.id}">${down.has(s.id) ? html`<span class="badge down">down</span>` : r.sizes[s.id] === undefined ? html`<span class="muted">—</span>` : r.sizes[s.id]}</td>`,
            )
          : ''
      }</tr>`,
  )}</tbody></table>`;
}

export function queuesPage(ctx: PageContext, d: { rows: QueueRow[]; perServer: Array<Settled<unknown>> }): Html {
  return layout(
    ctx,
    '/queues',
    'Queues',
    html`${downNotices(d.perServer)}<p class="intro">Every queue named in the <code>queues</code> set of any server, with its length on each server (— where a server does not list it).</p>${queuesTable(ctx.servers, d.rows, d.perServer)}`,
  );
}

export function queuePage(
  ctx: PageContext,
  name: string,
  results: Array<Settled<{ size: number; known: boolean; items: string[] }>>,
  selected: number,
  start: number,
  count: number,
): Html {
  const counts: Record<number, number | string> = {};
  for (const r of results) counts[r.server.id] = r.ok ? r.value.size : 'down';
  const sel = results.find(r => r.server.id === selected);
  const total = results.reduce((a, r) => a + (r.ok ? r.value.size : 0), 0);
  let body: Html;
  if (!sel) body = html``;
  else if (!sel.ok) body = html`<p class="muted">${sel.server.label} is down.</p>`;
  else {
    const qf = { server: sel.server.id, queue: name };
    const actions = html`<div class="controls bulk">${
      sel.value.size > 0
        ? actionButton(ctx, '/queues/clear', 'Clear queue', qf, {
            confirm: `Delete all ${sel.value.size} jobs in ${name} on ${sel.server.label}? The queue stays listed.`,
            cls: 'danger',
          })
        : ''
    }${actionButton({ ...ctx, here: '/queues' }, '/queues/remove', 'Remove queue', qf, {
      confirm: `Remove the queue ${name} from ${sel.server.label}, with its ${sel.value.size} jobs?`,
      cls: 'danger',
    })}</div>`;
    if (sel.value.items.length === 0)
      body = html`${actions}<p class="muted">No jobs in ${name} on ${sel.server.label}${start > 0 ? ' at this offset' : ''}.</p>`;
    else
      body = html`${actions}<table class="jobs">
<thead><tr><th class="num">#</th><th>Class</th><th>Payload</th><th></th></tr></thead>
<tbody>${sel.value.items.map((raw, i) => {
        const j = jobSummary(raw);
        const dg = digest(raw);
        return html`<tr data-index="${start + i}" data-digest="${dg}"><td class="num">${start + i}</td><td><code>${j.className}</code></td><td><pre class="args">${clip(j.args, LIST_CLIP, 'Details shows more')}</pre></td><td class="row-actions"><a href="/job${qs({ server: sel.server.id, queue: name, index: start + i, digest: dg })}">Details</a> ${actionButton(
          ctx,
          '/queues/delete-job',
          'Delete',
          { ...qf, index: start + i, digest: dg },
          { confirm: `Delete this ${j.className} job from ${name} on ${sel.server.label}?` },
        )}</td></tr>`;
      })}</tbody></table>${pager(`/queues/${seg(name)}`, { server: selected }, start, count, sel.value.size)}`;
  }
  return layout(
    ctx,
    '/queues',
    `Queue ${name}`,
    html`${downNotices(results)}<p class="sub"><b>${total}</b> job${total === 1 ? '' : 's'} in <code>${name}</code> on all servers.</p>
${ctx.servers.length > 1 ? serverTabs(`/queues/${seg(name)}`, ctx.servers, selected, {}, counts) : ''}
${body}`,
  );
}

/** A queue item for display: class and args text, tolerant of anything. */
export function jobSummary(raw: string): { className: string; args: string } {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const cls = typeof o['class'] === 'string' ? o['class'] : '(no class)';
      return { className: cls, args: raw };
    }
  } catch {
    /* not JSON */
  }
  return { className: '(not a job)', args: raw };
}

// ---- workers -------------------------------------------------------------------------------

export function workersPage(ctx: PageContext, d: { rows: WorkerRow[]; perServer: Array<Settled<unknown>> }): Html {
  const multi = ctx.servers.length > 1;
  const working = d.rows.filter(w => w.job).length;
  return layout(
    ctx,
    '/workers',
    'Workers',
    html`${downNotices(d.perServer)}<p class="sub"><b>${d.rows.length}</b> worker${d.rows.length === 1 ? '' : 's'}, <b>${working}</b> working.</p>
${
  d.rows.length === 0
    ? html`<p class="muted">No workers are registered.</p>`
    : html`<table class="workers">
<thead><tr>${multi ? html`<th>Server</th>` : ''}<th>Host</th><th class="num">Pid</th><th>Queues</th><th>Started</th><th>Current job</th><th>Heartbeat</th><th class="num">Processed</th><th class="num">Failed</th><th>Master</th></tr></thead>
<tbody>${d.rows.map(
        w =>
          html`<tr class="${w.job ? 'busy' : 'idle'}" data-worker="${w.id}">${multi ? html`<td>${w.serverLabel}</td>` : ''}<td><a href="/worker${qs({ server: w.server, id: w.id })}">${w.host}</a></td><td class="num">${w.pid ?? '?'}</td><td>${w.queues.map(
            q => html`<a class="queue-tag" href="/queues/${seg(q)}${qs({ server: w.server })}">${q}</a> `,
          )}</td><td>${time(w.started, w.startedIso)}</td><td>${
            w.job
              ? html`<code>${w.job.className}</code> from <a class="queue-tag" href="/queues/${seg(w.job.queue)}${qs({ server: w.server })}">${w.job.queue}</a><br><small>since ${time(w.job.runAt, w.job.runAtIso)}</small>`
              : html`<span class="muted">idle</span>`
          }</td><td>${time(w.heartbeat, w.heartbeatIso)}</td><td class="num">${w.processed}</td><td class="num">${w.failed}</td><td>${
            w.master ? html`<a href="/masters#${w.master}">${w.master}</a>` : html`<span class="muted">—</span>`
          }</td></tr>`,
      )}</tbody></table>`
}`,
  );
}

// ---- masters -------------------------------------------------------------------------------

export function mastersPage(ctx: PageContext, results: Array<Settled<ServerMasters>>): Html {
  const all = results.flatMap(r => (r.ok ? r.value.masters.map(m => ({ server: r.server, m })) : []));
  return layout(
    ctx,
    '/masters',
    'Masters',
    html`${downNotices(results)}${unreadableNotices(results)}<p class="intro">pyres-ts masters advertise themselves in Redis every few seconds; commands reach them within a second.</p>
${all.length === 0 ? html`<p class="muted">No pyres-ts master is running.</p>` : all.map(({ server, m }) => masterBlock(ctx, server, m))}`,
  );
}

/** One block per server with master records that are not a master's status: how many, which, why. */
function unreadableNotices(results: ReadonlyArray<Settled<ServerMasters>>): Html {
  return html`${results.map(r => {
    if (!r.ok || r.value.unreadable.length === 0) return '';
    const n = r.value.unreadable.length;
    return html`<div class="unreadable-notice" role="status" data-server="${r.server.id}"><strong>${n} master record${n === 1 ? '' : 's'} on ${r.server.label} could not be read</strong> and ${n === 1 ? 'is' : 'are'} not shown:<ul>${r.value.unreadable.map(
      u => html`<li><code>${u.id}</code>: ${u.reason}</li>`,
    )}</ul></div>`;
  })}`;
}

function masterBlock(ctx: PageContext, server: Server, m: MasterInfo): Html {
  const groups = Array.isArray(m.groups) ? m.groups : [];
  const children = Array.isArray(m.children) ? m.children : [];
  const fields = { server: server.id, master: m.id };
  return html`<section class="master" id="${m.id}" data-master="${m.id}">
<h2>${m.id} <small class="muted">on ${server.label} · pyres-ts ${m.version} · up since ${time(m.startedAt, m.startedAt)}</small>
${m.paused ? html`<span class="badge warn">paused</span>` : ''}${m.stopping ? html`<span class="badge down">stopping</span>` : ''}</h2>
<div class="controls">
${m.paused ? actionButton(ctx, '/masters/command', 'Resume', { ...fields, cmd: 'resume' }) : actionButton(ctx, '/masters/command', 'Pause', { ...fields, cmd: 'pause' })}
</div>
<h3>Groups</h3>
<table class="groups">
<thead><tr><th>Queues</th><th class="num">Running</th><th class="num">Desired</th><th>Autoscale range</th><th>Scale to</th></tr></thead>
<tbody>${groups.map(
    g => html`${g.lastCrash && typeof g.lastCrash.reason === 'string' ? html`<tr class="crash"><td colspan="5"><span class="badge down">crash loop</span> <code>${g.queues}</code>: ${String(g.lastCrash.count)} in a row, last ${time(g.lastCrash.at, g.lastCrash.at)}: ${g.lastCrash.reason}</td></tr>` : ''}<tr><td><code>${g.queues}</code></td><td class="num">${g.running}</td><td class="num">${g.desired}</td><td>${g.min !== null && g.max !== null ? `${g.min}..${g.max}` : html`<span class="muted">fixed</span>`}</td><td>
<form method="post" action="/masters/command" class="inline scale">${csrfField(ctx)}<input type="hidden" name="server" value="${String(server.id)}"><input type="hidden" name="master" value="${m.id}"><input type="hidden" name="cmd" value="scale"><input type="hidden" name="queues" value="${g.queues}"><input type="number" name="count" min="0" max="1000" value="${String(g.desired)}" aria-label="workers for ${g.queues}"><button type="submit">Scale</button></form>
</td></tr>`,
  )}</tbody></table>
${
  m.autoscale
    ? html`<p class="autoscale">Autoscale: CPU cap ${m.autoscale.maxCpu}%, memory cap ${m.autoscale.maxMem}%, every ${m.autoscale.interval}s. Last decision: ${m.autoscale.last ?? html`<span class="muted">none yet</span>`}</p>`
    : html`<p class="autoscale muted">Autoscale off.</p>`
}
<h3>Children (${children.length})</h3>
${
  children.length === 0
    ? html`<p class="muted">No children.</p>`
    : html`<table class="children"><thead><tr><th class="num">Pid</th><th>Worker</th><th>Group</th><th>Started</th><th class="num">RSS MB</th><th>Job</th></tr></thead><tbody>${children.map(
        c =>
          html`<tr><td class="num">${c.pid}</td><td><code>${c.workerId}</code></td><td><code>${c.group}</code></td><td>${time(c.startedAt, c.startedAt)}</td><td class="num">${c.rssMb}</td><td>${
            c.job ? html`<code>${c.job.className}</code> from ${c.job.queue} since ${time(c.job.since, c.job.since)}` : html`<span class="muted">idle</span>`
          }</td></tr>`,
      )}</tbody></table>`
}
</section>`;
}

// ---- failed --------------------------------------------------------------------------------

const SHOW_LABEL: Record<FailedFilter, string> = { pending: 'Not retried', retried: 'Retried', all: 'All' };

export function failedPage(
  ctx: PageContext,
  counts: Array<Settled<number>>,
  selected: Server,
  page: FailedPage | FailureSearchPage | { error: string },
  lists: ReadonlyArray<{ list: string; size: number }> = [],
  search: FailureSearch = {},
): Html {
  const countMap: Record<number, number | string> = {};
  for (const c of counts) countMap[c.server.id] = c.ok ? c.value : 'down';
  const list = 'error' in page ? '' : page.list;
  const fields = { server: selected.id, ...(list ? { list } : {}) };
  const order = 'error' in page ? 'desc' : page.order;
  const show: FailedFilter = 'error' in page ? 'pending' : page.show;
  const where = list && list !== 'failed' ? `${list} on ${selected.label}` : selected.label;
  const base = {
    server: ctx.servers.length > 1 ? selected.id : undefined,
    list: list && list !== 'failed' ? list : undefined,
    order: order === 'asc' ? 'asc' : undefined,
    show: show === 'pending' ? undefined : show,
    class: search.className,
    exception: search.exception,
    queue: search.queue,
    q: search.text,
    groups: 'error' in page || !('groups' in page) || isSearchGiven(search) ? undefined : '1',
  };
  // Resque::Failure::RedisMultiQueue's per-queue lists, beside `failed` (resque-web's queue overview).
  const listTabs =
    lists.length > 1
      ? html`<nav class="tabs lists" aria-label="failure lists">${lists.map(
          l =>
            html`<a href="/failed${qs({ ...base, start: undefined, list: l.list === 'failed' ? 'failed' : l.list })}" data-list="${l.list}"${l.list === list ? html` class="current" aria-current="page"` : ''}>${l.list} <span class="count">${String(l.size)}</span></a>`,
        )}</nav>`
      : '';
  let body: Html;
  if ('error' in page) body = html`${listTabs}<p class="muted">${page.error}</p>`;
  else {
    const known = (n: number | null): string => (n === null ? '?' : String(n));
    const pending = page.show === 'all' ? null : page.show === 'pending' ? page.matched : page.retried === null ? null : page.total - page.retried;
    const retried = page.show === 'all' ? null : page.retried;
    const tabCount: Record<FailedFilter, string> = {
      pending: page.show === 'all' ? '' : known(pending),
      retried: page.show === 'all' ? '' : known(retried),
      all: String(page.total),
    };
    const filterTabs = html`<nav class="tabs filter">${(['pending', 'retried', 'all'] as const).map(
      f =>
        html`<a href="/failed${qs({ ...base, show: f === 'pending' ? undefined : f })}"${f === show ? html` class="current" aria-current="page"` : ''}>${SHOW_LABEL[f]}${tabCount[f] ? html` <span class="count">${tabCount[f]}</span>` : ''}</a>`,
    )}</nav>`;
    const shownTotal = page.matched ?? page.start + page.items.length + (page.hasMore ? 1 : 0);
    const pg = pager(
      '/failed',
      base,
      page.start,
      page.count,
      shownTotal,
      page.hasMore,
      order === 'desc' ? ['« newer', 'older »'] : ['« previous', 'next »'],
      page.matched === null,
    );
    body = html`${listTabs}
${
  isSearchGiven(search)
    ? html`<p class="sub">The bulk actions act on whole lists: clear the search to use them.</p>`
    : html`<div class="controls bulk">
${page.total > 0 ? actionButton(ctx, '/failed/retry-all', 'Retry all not yet retried', fields, { confirm: `Retry every failed job in ${where} that has not been retried yet?` }) : ''}
${page.total > 0 ? actionButton(ctx, '/failed/clear-retried', 'Clear retried', fields, { confirm: `Remove every retried failure in ${where}? This cannot be undone.` }) : ''}
${page.total > 0 ? actionButton(ctx, '/failed/clear', 'Clear all', fields, { confirm: `Delete all ${page.total} failures in ${where}? This cannot be undone.`, cls: 'danger' }) : ''}
</div>`
}
${filterTabs}
<p class="sub">${
      page.items.length === 0
        ? html`No ${show === 'all' ? '' : `${SHOW_LABEL[show].toLowerCase()} `}failed jobs in ${where}${page.start > 0 ? ' at this offset' : ''}.`
        : html`Showing <b>${page.items.length}</b> of <b>${page.matched === null ? `${page.start + page.items.length}+` : page.matched}</b> ${show === 'all' ? '' : `${SHOW_LABEL[show].toLowerCase()} `}failed job${page.matched === 1 ? '' : 's'} in ${where} (${page.total} in the list), ${
            order === 'desc'
              ? html`newest first (<a href="/failed${qs({ ...base, order: 'asc' })}">oldest first</a>)`
              : html`oldest first (<a href="/failed${qs({ ...base, order: undefined })}">newest first</a>)`
          }.`
    }</p>
${pg}
<ul class="failed">${page.items.map(it => failedItem(ctx, selected, it, page.list))}</ul>
${pg}`;
    body = html`${searchForm(selected, base, search)}${'groups' in page ? groupsTable(base, page, search) : html`<p class="sub"><a href="/failed${qs({ ...base, start: undefined, groups: '1' })}">Group by exception</a></p>`}${body}`;
  }
  return layout(
    ctx,
    '/failed',
    'Failed jobs',
    html`${downNotices(counts)}${ctx.servers.length > 1 ? serverTabs('/failed', ctx.servers, selected.id, { order: base.order, show: base.show }, countMap) : ''}${body}`,
  );
}

function isSearchGiven(f: FailureSearch): boolean {
  return Boolean(f.className || f.exception || f.queue || f.text);
}

/** GET /failed with the search criteria: class, exception, queue (exact) and text (a substring). */
function searchForm(server: Server, base: Record<string, string | number | undefined>, f: FailureSearch): Html {
  const hidden = { server: base['server'] ?? server.id, list: base['list'], order: base['order'], show: base['show'] };
  return html`<form method="get" action="/failed" class="search" role="search">${Object.entries(hidden).map(([k, v]) =>
    v === undefined ? '' : html`<input type="hidden" name="${k}" value="${String(v)}">`,
  )}<label>Class <input name="class" value="${f.className ?? ''}" size="16"></label> <label>Exception <input name="exception" value="${f.exception ?? ''}" size="16"></label> <label>Queue <input name="queue" value="${f.queue ?? ''}" size="10"></label> <label>Text <input name="q" type="search" value="${f.text ?? ''}" size="18"></label> <button type="submit">Search</button>${
    isSearchGiven(f) ? html` <a href="/failed${qs({ ...hidden })}">clear search</a>` : ''
  }</form>`;
}

/** The matching records' exceptions with their counts, each a link that filters by it. */
function groupsTable(base: Record<string, string | number | undefined>, page: FailureSearchPage, f: FailureSearch): Html {
  if (page.groups.length === 0) return html``;
  return html`<table class="groups-by-exception"><thead><tr><th>Exception</th><th class="num">Failures</th></tr></thead><tbody>${page.groups.map(
    g =>
      html`<tr data-exception="${g.exception}"${g.exception === f.exception ? html` class="current"` : ''}><td><a href="/failed${qs({ ...base, start: undefined, groups: undefined, exception: g.exception })}"><code>${g.exception}</code></a></td><td class="num">${g.count}</td></tr>`,
  )}</tbody></table>${page.scanned < page.total ? html`<p class="muted">Counted over the newest ${page.scanned} of ${page.total} records.</p>` : ''}`;
}

function failedItem(ctx: PageContext, server: Server, it: FailedPage['items'][number], list: string): Html {
  const v = it.view;
  const fields = { server: server.id, index: it.index, digest: it.digest, list };
  if (!v.parsed) {
    return html`<li class="failure unparsed" data-index="${it.index}"><p>Failure ${it.index} could not be parsed; it is not a JSON object.</p><pre class="raw">${it.raw}</pre><div class="controls">${actionButton(ctx, '/failed/remove', 'Remove', fields)}</div></li>`;
  }
  return html`<li class="failure${v.retriedAt ? ' retried' : ''}" data-index="${it.index}" data-digest="${it.digest}">
<div class="head">
<span class="idx">#${it.index}</span>
<code class="class">${v.className ?? 'nil'}</code>
on <a class="queue-tag" href="/queues/${seg(v.queue ?? '')}${qs({ server: server.id })}">${v.queue ?? '?'}</a>
at ${time(v.failedAt, v.failedAtIso)}
by <span class="worker" title="${v.worker ?? ''}">${(v.worker ?? '?').split(':').slice(0, 2).join(':')}</span>
${v.retriedAt ? html`<span class="badge retried">retried ${v.retriedAt}</span>` : ''}
<a class="details" href="/failure${qs({ server: server.id, list: list === 'failed' ? undefined : list, index: it.index, digest: it.digest })}">Details</a>
<span class="controls">
${v.retryable ? actionButton(ctx, '/failed/retry', v.retriedAt ? 'Retry again' : 'Retry', fields) : html`<span class="muted" title="${v.whyNotRetryable ?? ''}">not retryable</span>`}
${actionButton(ctx, '/failed/remove', 'Remove', fields)}
</span>
</div>
<dl>
<dt>Exception</dt><dd><code>${v.exception ?? ''}</code></dd>
<dt>Error</dt><dd class="error"><pre>${v.error ?? ''}</pre></dd>
<dt>Arguments</dt><dd><pre class="args">${clip(v.args ?? v.payload ?? 'nil', LIST_CLIP, 'Details shows more')}</pre></dd>
${v.backtrace.length ? html`<dt>Backtrace</dt><dd><details><summary>${v.backtrace.length} line${v.backtrace.length === 1 ? '' : 's'}</summary><pre>${v.backtrace.join('\n')}</pre></details></dd>` : ''}
</dl>
</li>`;
}

// ---- stats ---------------------------------------------------------------------------------

const INFO_FIELDS: ReadonlyArray<[string, string]> = [
  ['redis_version', 'Redis version'],
  ['uptime_in_seconds', 'Uptime (s)'],
  ['connected_clients', 'Clients'],
  ['used_memory_human', 'Memory used'],
  ['used_memory_peak_human', 'Memory peak'],
  ['role', 'Role'],
];

export function statsPage(
  ctx: PageContext,
  results: Array<Settled<{ stats: ResqueStats; info: Record<string, string> }>>,
  history: ServerHistory[] = [],
): Html {
  const ok = results.flatMap(r => (r.ok ? [r.value.stats] : []));
  const sum = (f: (s: ResqueStats) => number): number => ok.reduce((a, s) => a + f(s), 0);
  const multi = ctx.servers.length > 1;
  const rows: Array<[string, (s: ResqueStats) => number | string]> = [
    ['Processed (stat:processed)', s => s.processed],
    ['Failed (stat:failed)', s => s.failedStat],
    ['Failed lists (LLEN failed + each <queue>_failed)', s => s.failedList],
    ['Queues', s => s.queues],
    ['Workers', s => s.workers],
    ['Paused (pause-all-workers)', s => (s.pausedAll ? 'yes' : 'no')],
  ];
  return layout(
    ctx,
    '/stats',
    'Stats',
    html`${downNotices(results)}
<h2>Resque</h2>
<table class="stats">
<thead><tr><th></th>${results.map(r => html`<th class="num">${r.server.label}</th>`)}${multi ? html`<th class="num">All servers</th>` : ''}</tr></thead>
<tbody>${rows.map(
      ([label, f], i) =>
        html`<tr><th>${label}</th>${results.map(r => html`<td class="num">${r.ok ? f(r.value.stats) : html`<span class="badge down">down</span>`}</td>`)}${
          multi ? html`<td class="num total">${i < 5 ? sum(f as (s: ResqueStats) => number) : ''}</td>` : ''
        }</tr>`,
    )}</tbody></table>
<h2>History</h2>
${historyChart(history)}
<h2>Redis</h2>
<table class="stats">
<thead><tr><th></th>${results.map(r => html`<th class="num">${r.server.label}</th>`)}</tr></thead>
<tbody>
<tr><th>Namespace</th>${results.map(r => html`<td class="num"><code>${r.server.namespace}</code></td>`)}</tr>
${INFO_FIELDS.map(([k, label]) => html`<tr><th>${label}</th>${results.map(r => html`<td class="num">${r.ok ? (r.value.info[k] ?? '') : ''}</td>`)}</tr>`)}
</tbody></table>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): Html {
  return layout(ctx, '', status === 404 ? 'Not found' : 'Error', html`<p class="error-text">${message}</p><p><a href="/">Back to the overview</a></p>`, {
    live: false,
  });
}

// ---- details and confirmation ----------------------------------------------------------------

/** JSON text indented for reading; the text itself when it is not JSON. */
export function pretty(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** One failure: what ran, where, when, why, the raw record; retry and remove. */
export function failureDetailPage(ctx: PageContext, server: Server, list: string, it: FailedItem | null, want: string): Html {
  if (!it)
    return layout(
      ctx,
      '/failed',
      'Failure not found',
      html`<p class="muted">No failure with digest <code>${want.slice(0, 12)}</code> in ${list} on ${server.label}: it was removed, cleared or retried away.</p><p><a href="/failed${qs({ server: server.id })}">Back to the failed jobs</a></p>`,
      { live: false },
    );
  const v = it.view;
  const fields = { server: server.id, index: it.index, digest: it.digest, list };
  let args = '';
  if (v.args !== null) args = pretty(v.args);
  return layout(
    ctx,
    '/failed',
    `Failure ${it.index}: ${v.className ?? '(not parsed)'}`,
    html`<p class="sub">In <code>${list}</code> on ${server.label} · <a href="/failed${qs({ server: server.id, list: list === 'failed' ? undefined : list })}">all failures</a></p>
<div class="controls">${v.retryable ? actionButton({ ...ctx, here: `/failed${qs({ server: server.id, list: list === 'failed' ? undefined : list, show: 'all' })}` }, '/failed/retry', v.retriedAt ? 'Retry again' : 'Retry', fields) : html`<span class="muted">not retryable: ${v.whyNotRetryable ?? ''}</span>`} ${actionButton(
      { ...ctx, here: `/failed${qs({ server: server.id })}` },
      '/failed/remove',
      'Remove',
      fields,
      { confirm: 'Remove this failure? This cannot be undone.' },
    )}</div>
<dl class="detail">
<dt>Class</dt><dd><code>${v.className ?? 'nil'}</code></dd>
<dt>Queue</dt><dd>${v.queue ? html`<a class="queue-tag" href="/queues/${seg(v.queue)}${qs({ server: server.id })}">${v.queue}</a>` : '?'}</dd>
<dt>Worker</dt><dd><code>${v.worker ?? '?'}</code></dd>
<dt>Failed at</dt><dd>${time(v.failedAt, v.failedAtIso)}</dd>
<dt>Retried at</dt><dd>${v.retriedAt ?? html`<span class="muted">not retried</span>`}</dd>
<dt>Exception</dt><dd><code>${v.exception ?? ''}</code></dd>
<dt>Error</dt><dd class="error"><pre>${v.error ?? ''}</pre></dd>
<dt>Arguments</dt><dd><pre class="args pretty">${clip(args || 'nil', DETAIL_CLIP)}</pre></dd>
<dt>Backtrace</dt><dd>${v.backtrace.length ? html`<pre class="backtrace">${v.backtrace.join('\n')}</pre>` : html`<span class="muted">none</span>`}</dd>
<dt>Payload</dt><dd><pre class="payload">${clip(v.payload ?? '', DETAIL_CLIP)}</pre></dd>
<dt>Record</dt><dd><pre class="raw">${clip(it.raw, DETAIL_CLIP)}</pre><small class="muted">SHA-1 ${it.digest}</small></dd>
</dl>`,
  );
}

/** One queued job: class, args pretty-printed, the raw bytes; delete. */
export function jobDetailPage(ctx: PageContext, server: Server, queue: string, job: QueuedJob | null, want: string): Html {
  const back = `/queues/${seg(queue)}${qs({ server: server.id })}`;
  if (!job)
    return layout(
      ctx,
      '/queues',
      'Job not found',
      html`<p class="muted">No job with digest <code>${want.slice(0, 12)}</code> in ${queue} on ${server.label}: a worker took it, or it was deleted.</p><p><a href="${back}">Back to ${queue}</a></p>`,
      { live: false },
    );
  const j = jobSummary(job.raw);
  let args = '';
  let extra = '';
  try {
    const o = JSON.parse(job.raw) as Record<string, unknown>;
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      args = JSON.stringify(o['args'] ?? null, null, 2);
      const rest = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'class' && k !== 'args'));
      if (Object.keys(rest).length) extra = JSON.stringify(rest, null, 2);
    }
  } catch {
    /* not JSON: shown raw */
  }
  return layout(
    ctx,
    '/queues',
    `Job ${job.index} in ${queue}: ${j.className}`,
    html`<p class="sub">On ${server.label} · <a href="${back}">all jobs in ${queue}</a></p>
<div class="controls">${actionButton({ ...ctx, here: back }, '/queues/delete-job', 'Delete', { server: server.id, queue, index: job.index, digest: job.digest }, { confirm: `Delete this ${j.className} job from ${queue}?`, cls: 'danger' })}</div>
<dl class="detail">
<dt>Class</dt><dd><code>${j.className}</code></dd>
<dt>Queue</dt><dd><a class="queue-tag" href="${back}">${queue}</a>, position ${job.index} (${job.index === 0 ? 'next to run' : `${job.index} ahead of it`})</dd>
<dt>Arguments</dt><dd><pre class="args pretty">${clip(args || 'nil', DETAIL_CLIP)}</pre></dd>
${extra ? html`<dt>Other keys</dt><dd><pre class="pretty">${extra}</pre></dd>` : ''}
<dt>Payload</dt><dd><pre class="raw">${clip(job.raw, DETAIL_CLIP)}</pre><small class="muted">SHA-1 ${job.digest}</small></dd>
</dl>`,
  );
}

/** The confirmation step of a queue action when the browser did not ask (no JavaScript). */
export function confirmPage(ctx: PageContext, o: { action: string; question: string; label: string; fields: Record<string, string>; cancel: string }): Html {
  const keep = Object.entries(o.fields).filter(([k]) => k !== '_csrf' && k !== 'confirmed');
  return layout(
    ctx,
    '',
    'Are you sure?',
    html`<p class="confirm-question">${o.question}</p>
<form method="post" action="${o.action}" class="confirm"><input type="hidden" name="_csrf" value="${ctx.csrf}">${keep.map(
      ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
    )}<input type="hidden" name="confirmed" value="yes"><button type="submit" class="danger">${o.label}</button> <a href="${o.cancel}">Cancel</a></form>`,
    { live: false },
  );
}

/** One worker: its registration, counters, and the job it runs now (args pretty-printed, since when). */
export function workerDetailPage(ctx: PageContext, server: Server, id: string, w: WorkerRow | null): Html {
  if (!w)
    return layout(
      ctx,
      '/workers',
      'Worker not found',
      html`<p class="muted">No worker <code>${id}</code> is registered on ${server.label}: it stopped, or was pruned.</p><p><a href="/workers">Back to the workers</a></p>`,
      { live: false },
    );
  let args = '';
  if (w.job) {
    try {
      const o = JSON.parse(w.job.payload) as Record<string, unknown>;
      args = JSON.stringify(o && typeof o === 'object' ? (o['args'] ?? null) : null, null, 2);
    } catch {
      /* not JSON: shown raw */
    }
  }
  return layout(
    ctx,
    '/workers',
    `Worker ${w.host}:${w.pid ?? '?'}`,
    html`<p class="sub">On ${server.label} · <a href="/workers">all workers</a></p>
<dl class="detail">
<dt>Id</dt><dd><code>${w.id}</code></dd>
<dt>Queues</dt><dd>${w.queues.map(q => html`<a class="queue-tag" href="/queues/${seg(q)}${qs({ server: server.id })}">${q}</a> `)}</dd>
<dt>Started</dt><dd>${time(w.started, w.startedIso)}</dd>
<dt>Heartbeat</dt><dd>${time(w.heartbeat, w.heartbeatIso)}</dd>
<dt>Processed</dt><dd>${w.processed}</dd>
<dt>Failed</dt><dd>${w.failed}</dd>
<dt>Master</dt><dd>${w.master ? html`<a href="/masters#${w.master}">${w.master}</a>` : html`<span class="muted">—</span>`}</dd>
</dl>
<h2>Current job</h2>
${
  w.job
    ? html`<dl class="detail job-now">
<dt>Class</dt><dd><code>${w.job.className}</code></dd>
<dt>Queue</dt><dd><a class="queue-tag" href="/queues/${seg(w.job.queue)}${qs({ server: server.id })}">${w.job.queue}</a></dd>
<dt>Running since</dt><dd>${time(w.job.runAt, w.job.runAtIso)}</dd>
<dt>Arguments</dt><dd><pre class="args pretty">${clip(args || 'nil', DETAIL_CLIP)}</pre></dd>
<dt>Payload</dt><dd><pre class="raw">${clip(w.job.payload, DETAIL_CLIP)}</pre></dd>
</dl>`
    : html`<p class="muted">Idle.</p>`
}`,
  );
}
