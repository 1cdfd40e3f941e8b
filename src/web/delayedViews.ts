import type { Admin, Server } from '../admin/admin';
import { AdminActionError } from '../admin/admin';
import { DelayedAdmin } from '../admin/delayed';
import type { DelayedItem } from '../protocol/delayed';
import { type Html, LIST_CLIP, clip, html, qs } from './html';
import { type PageContext, actionButton, layout } from './views';

/**
 * The Delayed page (resque-web's Delayed tab, over src/admin/delayed.ts): the scheduler leader,
 * timestamps with their counts, a timestamp's items, and Queue now / Remove per item or
 * timestamp. One server at a time (`?server=<id>`, default the first).
 */

function serverOf(d: Admin, id: string | undefined): Server {
  return id === undefined || id === '' ? (d.servers[0] as Server) : d.server(id);
}

function adminOf(s: Server): DelayedAdmin {
  return new DelayedAdmin(s.store.schedulerStore());
}

/** resque-web's format, `%Y-%m-%d %H:%M:%S %z`, in UTC. */
function when(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? String(ts) : `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

function itemCell(i: DelayedItem): Html {
  if (i.problem)
    return html`<span class="badge down">poison: ${i.problem}</span> <pre class="args">${clip(i.raw, LIST_CLIP, 'the whole item: `pyres-ts delayed list --json`')}</pre>`;
  return html`<code>${i.className}</code>${i.queue ? html` → <a class="queue-tag" href="/queues/${encodeURIComponent(i.queue)}">${i.queue}</a>` : html` <span class="muted">(no queue)</span>`}<pre class="args">${clip(i.raw, LIST_CLIP, 'the whole item: `pyres-ts delayed list --json`')}</pre>`;
}

function leaderLine(holder: { value: string; ttl: number } | null): Html {
  return holder
    ? html`<p class="sub">Scheduler leader: <b>${holder.value}</b> <small class="muted">(lock TTL ${holder.ttl} s)</small></p>`
    : html`<p class="sub">Scheduler leader: <span class="muted">none — no scheduler is moving due jobs</span></p>`;
}

/** GET /delayed. */
export async function delayedPage(ctx: PageContext, d: Admin, q: Record<string, string>, perPage: number): Promise<Html> {
  const s = serverOf(d, q['server']);
  const start = Math.max(0, Number.parseInt(q['start'] ?? '0', 10) || 0);
  const a = adminOf(s);
  const [o, items] = await Promise.all([a.overview(start, perPage), a.itemCount()]);
  const sv = d.servers.length > 1 ? { server: s.id } : {};
  const rows = o.rows.map(
    r =>
      html`<tr data-ts="${r.member}"><td><a href="/delayed/${encodeURIComponent(r.member)}${qs(sv)}">${when(r.ts)}</a><br><small class="muted">${r.member}</small></td><td class="num">${r.size}</td><td>${
        r.size === 1 && r.first ? itemCell(r.first) : html`<span class="muted">${r.size} jobs</span>`
      }</td><td>${actionButton(ctx, '/delayed/action', 'Queue all now', { op: 'queue-ts', server: s.id, ts: r.member })}</td></tr>`,
  );
  const pager =
    start > 0 || start + perPage < o.timestamps
      ? html`<nav class="pager">${start > 0 ? html`<a href="/delayed${qs({ ...sv, start: Math.max(0, start - perPage) })}">« previous</a>` : ''} ${
          start + perPage < o.timestamps ? html`<a href="/delayed${qs({ ...sv, start: start + perPage })}">next »</a>` : ''
        }</nav>`
      : html``;
  return layout(
    ctx,
    '/delayed',
    'Delayed',
    html`${leaderLine(o.leader)}<p class="sub"><b>${items}</b> delayed job${items === 1 ? '' : 's'} at <b>${o.timestamps}</b> timestamp${o.timestamps === 1 ? '' : 's'} on ${s.label}.</p>
${
  o.rows.length === 0
    ? html`<p class="muted">No delayed jobs.</p>`
    : html`<table class="delayed"><thead><tr><th>Time</th><th class="num">Jobs</th><th>Job</th><th></th></tr></thead><tbody>${rows}</tbody></table>${pager}
${actionButton(ctx, '/delayed/action', 'Clear all delayed jobs', { op: 'clear', server: s.id }, { confirm: 'Remove every delayed job?', cls: 'danger' })}`
}`,
  );
}

/** GET /delayed/:ts. */
export async function delayedTimestampPage(ctx: PageContext, d: Admin, ts: string, q: Record<string, string>, perPage: number): Promise<Html> {
  const s = serverOf(d, q['server']);
  const start = Math.max(0, Number.parseInt(q['start'] ?? '0', 10) || 0);
  const r = await adminOf(s).itemsAt(ts, start, perPage);
  const sv = d.servers.length > 1 ? { server: s.id } : {};
  return layout(
    ctx,
    '/delayed',
    `Delayed at ${when(Number(ts))}`,
    html`<p class="sub"><b>${r.size}</b> job${r.size === 1 ? '' : 's'} at <code>${ts}</code> on ${s.label}. <a href="/delayed${qs(sv)}">All timestamps</a></p>
${
  r.items.length === 0
    ? html`<p class="muted">No jobs at this timestamp.</p>`
    : html`<table class="jobs"><thead><tr><th class="num">#</th><th>Job</th><th></th></tr></thead><tbody>${r.items.map(
        (i, n) =>
          html`<tr><td class="num">${start + n}</td><td>${itemCell(i)}</td><td>${actionButton(ctx, '/delayed/action', 'Queue now', { op: 'queue-now', server: s.id, ts, item: i.raw })} ${actionButton(
            ctx,
            '/delayed/action',
            'Remove',
            { op: 'remove', server: s.id, ts, item: i.raw },
            { confirm: 'Remove this delayed job?', cls: 'danger' },
          )}</td></tr>`,
      )}</tbody></table>${
        start > 0 || start + perPage < r.size
          ? html`<nav class="pager">${start > 0 ? html`<a href="/delayed/${encodeURIComponent(ts)}${qs({ ...sv, start: Math.max(0, start - perPage) })}">« previous</a>` : ''} ${
              start + perPage < r.size ? html`<a href="/delayed/${encodeURIComponent(ts)}${qs({ ...sv, start: start + perPage })}">next »</a>` : ''
            }</nav>`
          : ''
      }`
}`,
  );
}

/** POST /delayed/action: op = queue-now | remove (one item by its bytes), queue-ts (a whole timestamp), clear. */
export async function delayedAction(d: Admin, f: Record<string, string>): Promise<string> {
  const s = serverOf(d, f['server']);
  const a = adminOf(s);
  const ts = f['ts'] ?? '';
  switch (f['op']) {
    case 'queue-now': {
      const q = await a.queueNow(ts, f['item'] ?? '');
      return q ? `Pushed the job at ${ts} to ${q}.` : `The item at ${ts} is not a job: the scheduler records it as a failure.`;
    }
    case 'remove':
      await a.remove(ts, f['item'] ?? '');
      return `Removed the job at ${ts}.`;
    case 'queue-ts': {
      const r = await a.queueNowTimestamp(ts);
      return `Pushed ${r.moved} job${r.moved === 1 ? '' : 's'} at ${ts} to their queues${r.poison ? ` (${r.poison} not jobs: recorded as failures by the scheduler)` : ''}.`;
    }
    case 'clear': {
      const n = await a.clear();
      return `Cleared ${n} delayed job${n === 1 ? '' : 's'} on ${s.label}.`;
    }
    default:
      throw new AdminActionError(`unknown delayed action ${JSON.stringify(f['op'] ?? '')}`);
  }
}
