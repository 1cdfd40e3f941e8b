import type { Admin, Server } from '../admin/admin';
import { AdminActionError } from '../admin/admin';
import { type RetryRow, removeRetry, retryPage } from '../admin/retries';
import { type Html, LIST_CLIP, clip, html, qs } from './html';
import { type PageContext, actionButton, layout } from './views';

/**
 * The Retries page (resque-web's Retry tab, over src/admin/retries.ts): pending retries found
 * through the delayed schedule — class, args, attempt (the `resque-retry:*` counter), next run
 * (the delayed timestamp), the suppressed failure's exception and message — and Remove per
 * retry. One server at a time (`?server=<id>`, default the first).
 */

function serverOf(d: Admin, id: string | undefined): Server {
  return id === undefined || id === '' ? (d.servers[0] as Server) : d.server(id);
}

/** resque-web's format, `%Y-%m-%d %H:%M:%S %z`, in UTC. */
function when(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? String(ts) : `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

function row(ctx: PageContext, s: Server, r: RetryRow): Html {
  const i = r.item;
  const job =
    i.className === null
      ? html`<span class="muted">—</span>`
      : html`<code>${i.className}</code>${i.queue ? html` → <a class="queue-tag" href="/queues/${encodeURIComponent(i.queue)}">${i.queue}</a>` : ''}`;
  const fail = r.failure
    ? r.failure.exception === null && r.failure.error === null
      ? html`<span class="badge down">unreadable record</span><pre class="args">${clip(r.failure.raw, LIST_CLIP)}</pre>`
      : html`<b>${r.failure.exception ?? '?'}</b>: ${r.failure.error ?? ''}${r.failure.failedAt ? html`<br><small class="muted">${r.failure.failedAt}</small>` : ''}`
    : html`<span class="muted">none</span>`;
  const remove =
    r.key === null
      ? html`<a href="/delayed/${encodeURIComponent(r.ts)}${qs({ server: s.id })}">Delayed page</a>`
      : actionButton(
          ctx,
          '/retries/action',
          'Remove',
          { op: 'remove', server: s.id, ts: r.ts, item: i.raw },
          { confirm: 'Remove this retry (its delayed job and its retry key)?', cls: 'danger' },
        );
  return html`<tr class="${r.problem ? 'broken' : ''}" data-ts="${r.ts}"><td><a href="/delayed/${encodeURIComponent(r.ts)}${qs({ server: s.id })}">${when(r.runAt)}</a><br><small class="muted">${r.ts}</small></td><td>${job}${
    r.problem ? html` <span class="badge down">${r.problem}</span>` : ''
  }</td><td><pre class="args">${clip(i.args === null ? i.raw : JSON.stringify(i.args), LIST_CLIP)}</pre></td><td class="num">${r.attempt ?? html`<span class="muted">n/a</span>`}</td><td>${fail}</td><td>${remove}</td></tr>`;
}

/** GET /retries. */
export async function retriesPage(ctx: PageContext, d: Admin, q: Record<string, string>, perPage: number): Promise<Html> {
  const s = serverOf(d, q['server']);
  const start = Math.max(0, Number.parseInt(q['start'] ?? '0', 10) || 0);
  const p = await retryPage(s, start, perPage);
  const sv = d.servers.length > 1 ? { server: s.id } : {};
  const pager =
    start > 0 || start + perPage < p.timestamps
      ? html`<nav class="pager">${start > 0 ? html`<a href="/retries${qs({ ...sv, start: Math.max(0, start - perPage) })}">« previous</a>` : ''} ${
          start + perPage < p.timestamps ? html`<a href="/retries${qs({ ...sv, start: start + perPage })}">next »</a>` : ''
        }</nav>`
      : html``;
  return layout(
    ctx,
    '/retries',
    'Retries',
    html`<p class="sub"><b>${p.rows.length}</b> pending retr${p.rows.length === 1 ? 'y' : 'ies'} in delayed timestamps ${start}–${start + Math.min(perPage, Math.max(0, p.timestamps - start))} of <b>${p.timestamps}</b> on ${s.label}.</p>
${
  p.rows.length === 0
    ? html`<p class="muted">No pending retries.</p>`
    : html`<table class="retries"><thead><tr><th>Next run</th><th>Class</th><th>Args</th><th class="num">Attempt</th><th>Last failure</th><th></th></tr></thead><tbody>${p.rows.map(r => row(ctx, s, r))}</tbody></table>`
}${pager}`,
  );
}

/** POST /retries/action: op = remove (one retry by its timestamp and item bytes). */
export async function retriesAction(d: Admin, f: Record<string, string>): Promise<string> {
  const s = serverOf(d, f['server']);
  if (f['op'] !== 'remove') throw new AdminActionError(`unknown retries action ${JSON.stringify(f['op'] ?? '')}`);
  const ts = f['ts'] ?? '';
  const r = await removeRetry(s, ts, f['item'] ?? '');
  return `Removed the retry at ${ts} (${r.key}).`;
}
