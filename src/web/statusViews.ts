import type { Admin, Settled } from '../admin/admin';
import { type StatusPage, checkState, checkUuid, clearStatusesOn, killStatusOn } from '../admin/status';
import { type DecodedStatus, STATUS_STATES, type StatusState } from '../protocol/status';
import { type Html, html } from './html';
import { type PageContext, actionButton, ago, downNotices, layout } from './views';

/**
 * The Statuses page: resque-status's statuses of every server, newest first, as resque-web's
 * Statuses tab lists them (`ZREVRANGE _statuses` + `MGET`): state, progress, name, message,
 * result, and Kill (resque-web's: `SADD _kill`). A value resque-web answers 500 for (not JSON,
 * `time` not integer seconds) is listed with why.
 */

/** Statuses per page. */
export const STATUSES_PER_PAGE = 50;

function progressCell(s: DecodedStatus): Html {
  const label = s.num !== null && s.total !== null ? `${s.num}/${s.total}` : '';
  return html`<progress max="100" value="${s.pct}" title="${s.pct}%">${s.pct}%</progress> <small>${s.pct}%${label ? ` (${label})` : ''}</small>`;
}

function row(ctx: PageContext, server: { id: number; label: string }, multi: boolean, s: DecodedStatus, killRequested: boolean): Html {
  const iso = s.time !== null ? new Date(s.time * 1000).toISOString() : null;
  const result = Object.hasOwn(s.fields, 'result') ? JSON.stringify(s.fields['result']) : '';
  const live = s.state === 'queued' || s.state === 'working';
  return html`<tr class="status-${s.state ?? 'unknown'}${s.problem ? ' broken' : ''}" data-uuid="${s.uuid}" data-server="${server.id}">${multi ? html`<td>${server.label}</td>` : ''}<td><code>${s.uuid}</code></td><td>${s.name ?? ''}</td><td><span class="state">${s.state ?? (s.problem ? 'broken' : '?')}</span>${
    killRequested ? html` <small class="muted">kill requested</small>` : ''
  }</td><td>${iso ? html`<time datetime="${iso}" title="${iso}">${ago(iso)}</time>` : ''}</td><td>${progressCell(s)}</td><td>${s.message ?? ''}${
    s.problem ? html`<br><strong>Broken</strong>: ${s.problem}` : ''
  }</td><td>${result ? html`<code>${result.length > 200 ? `${result.slice(0, 200)}…` : result}</code>` : ''}</td><td>${
    live && !killRequested
      ? actionButton(ctx, '/statuses/kill', 'Kill', { server: server.id, uuid: s.uuid }, { confirm: `Kill ${s.uuid}?`, cls: 'danger' })
      : ''
  }</td></tr>`;
}

/** The Statuses page (`state`: a filter, or all). */
export function statusesPage(ctx: PageContext, results: Array<Settled<StatusPage>>, state: StatusState | undefined, start: number): Html {
  const multi = ctx.servers.length > 1;
  const total = results.reduce((n, r) => n + (r.ok ? r.value.total : 0), 0);
  const items = results.flatMap(r => (r.ok ? r.value.items.map(s => ({ server: r.server, s, kill: r.value.killRequested.includes(s.uuid) })) : []));
  const filter = html`<p class="filters">${[undefined, ...STATUS_STATES].map(
    st => html`<a href="/statuses${st ? `?state=${st}` : ''}"${st === state ? html` class="current"` : ''}>${st ?? 'all'}</a> `,
  )}</p>`;
  const more = start + STATUSES_PER_PAGE < Math.max(0, ...results.map(r => (r.ok ? r.value.total : 0)));
  const pager = html`<p class="pager">${start > 0 ? html`<a href="/statuses?${state ? `state=${state}&` : ''}start=${Math.max(0, start - STATUSES_PER_PAGE)}">newer</a> ` : ''}${
    more ? html`<a href="/statuses?${state ? `state=${state}&` : ''}start=${start + STATUSES_PER_PAGE}">older</a>` : ''
  }</p>`;
  return layout(
    ctx,
    '/statuses',
    'Statuses',
    html`${downNotices(results)}<p class="sub"><b>${total}</b> status${total === 1 ? '' : 'es'}${state ? ` ${state}` : ''} in <code>_statuses</code> (resque-status).</p>
${filter}${
  items.length === 0
    ? html`<p class="muted">No statuses. Status jobs (<code>defineStatusJob</code>, Ruby's <code>Resque::Plugins::Status</code>) write them.</p>`
    : html`<table class="statuses">
<thead><tr>${multi ? html`<th>Server</th>` : ''}<th>ID</th><th>Name</th><th>Status</th><th>Created</th><th>Progress</th><th>Message</th><th>Result</th><th></th></tr></thead>
<tbody>${items.map(({ server, s, kill }) => row(ctx, server, multi, s, kill))}</tbody></table>`
}${pager}${results
  .filter(r => r.ok && r.value.total > 0)
  .map(r =>
    actionButton(
      ctx,
      '/statuses/clear',
      `Clear ${state ?? 'all'}${multi ? ` on ${r.server.label}` : ''}`,
      { server: r.server.id, state: state ?? '' },
      {
        confirm: `Remove every ${state ?? ''} status${multi ? ` on ${r.server.label}` : ''}?`,
        cls: 'danger',
      },
    ),
  )}`,
  );
}

/** The `state` query parameter, or undefined for none or a bad one. */
export function stateParam(q: string | undefined): StatusState | undefined {
  if (q === undefined || q === '') return undefined;
  try {
    return checkState(q);
  } catch {
    return undefined;
  }
}

/** POST /statuses/kill. */
export async function killAction(d: Admin, f: Record<string, string>): Promise<string> {
  const s = await killStatusOn(d, f['server'] ?? '', checkUuid(f['uuid']));
  return `Kill requested for ${s.uuid} (${s.state ?? 'unknown state'}): it ends killed at its next progress call.`;
}

/** POST /statuses/clear. */
export async function clearAction(d: Admin, f: Record<string, string>): Promise<string> {
  const state = f['state'] ? checkState(f['state']) : undefined;
  const gone = await clearStatusesOn(d, f['server'] ?? '', state);
  return `Removed ${gone.length} ${state ?? ''} status${gone.length === 1 ? '' : 'es'}.`.replace('  ', ' ');
}
