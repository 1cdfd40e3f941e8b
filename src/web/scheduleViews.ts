import type { Admin, Settled } from '../admin/admin';
import { type ServerSchedules, enqueueScheduleNow, removeSchedule } from '../admin/schedule';
import { type Html, html } from './html';
import { type PageContext, actionButton, ago, downNotices, layout } from './views';

/**
 * The Schedule page: resque-scheduler's dynamic schedules (`persistent_schedules`) of every
 * server, as resque-web's Schedule tab shows them (name, description, interval, class, queue,
 * args, last enqueued), plus the next run, "Enqueue now" and "Remove" (resque-web's Delete). A config that cannot be
 * used (not JSON, a bad cron line or zone, no queue) is listed as broken with why, where
 * resque-web answers 500 (w2).
 */

function when(raw: string | null, iso: string | null, empty: string): Html {
  if (raw === null) return html`<span class="muted">${empty}</span>`;
  return html`<time${iso ? html` datetime="${iso}"` : ''} title="${iso ?? raw}">${raw}</time>${iso ? html` <small class="muted">${ago(iso)}</small>` : ''}`;
}

function nextCell(iso: string | null, nowIso: string): Html {
  if (iso === null) return html`<span class="muted">—</span>`;
  const s = Math.round((Date.parse(iso) - Date.parse(nowIso)) / 1000);
  const rel =
    s <= 0
      ? 'due now'
      : s < 120
        ? `in ${s}s`
        : s < 7200
          ? `in ${Math.round(s / 60)}m`
          : s < 172800
            ? `in ${Math.round(s / 3600)}h`
            : `in ${Math.round(s / 86400)}d`;
  return html`<time datetime="${iso}" title="${iso}">${`${iso.slice(0, 19).replace('T', ' ')} UTC`}</time> <small class="muted">${rel}</small>`;
}

function removeButton(ctx: PageContext, server: number, name: string): Html {
  return actionButton(ctx, '/schedule/remove', 'Remove', { server, name }, { confirm: `Remove the schedule ${name}?`, cls: 'danger' });
}

/** The Schedule page. */
export function schedulePage(ctx: PageContext, results: Array<Settled<ServerSchedules>>): Html {
  const multi = ctx.servers.length > 1;
  const all = results.flatMap(r => (r.ok ? r.value.rows.map(row => ({ server: r.server, nowIso: r.value.nowIso, row })) : []));
  const broken = all.filter(x => x.row.problem).length;
  return layout(
    ctx,
    '/schedule',
    'Schedule',
    html`${downNotices(results)}<p class="sub"><b>${all.length}</b> schedule${all.length === 1 ? '' : 's'} in <code>persistent_schedules</code>${
      broken ? html`, <b>${broken}</b> broken` : ''
    }. Static schedules (a scheduler's <code>--schedule</code> file) live in that scheduler only and are not listed.</p>
${
  all.length === 0
    ? html`<p class="muted">No dynamic schedules. Add one with <code>pyres-ts schedule set NAME --every 1h --queue Q --class C</code>.</p>`
    : html`<table class="schedules">
<thead><tr>${multi ? html`<th>Server</th>` : ''}<th>Name</th><th>Description</th><th>Interval</th><th>Class</th><th>Queue</th><th>Arguments</th><th>Last enqueued</th><th>Next run</th><th></th></tr></thead>
<tbody>${all.map(({ server, nowIso, row }) => {
        const e = row.entry;
        const lead = html`${multi ? html`<td>${server.label}</td>` : ''}<td>${row.name}</td>`;
        if (row.problem && e.className === null) {
          return html`<tr class="broken" data-schedule="${row.name}" data-server="${server.id}">${lead}<td colspan="5"><strong>Broken</strong>: ${row.problem}<br><code>${e.raw ?? ''}</code></td><td>${when(
            row.lastEnqueuedAt,
            row.lastIso,
            'Never',
          )}</td><td><span class="muted">—</span></td><td>${removeButton(ctx, server.id, row.name)}</td></tr>`;
        }
        return html`<tr class="${row.problem ? 'broken' : 'ok'}" data-schedule="${row.name}" data-server="${server.id}">${lead}<td>${e.description ?? ''}</td><td>${e.intervalText}${
          row.problem ? html`<br><strong>Broken</strong>: ${row.problem}` : ''
        }</td><td><code>${e.className ?? ''}</code></td><td>${e.queue ?? html`<span class="muted">none</span>`}</td><td><code>${e.argsText}</code></td><td>${when(
          row.lastEnqueuedAt,
          row.lastIso,
          'Never',
        )}</td><td>${row.problem ? html`<span class="muted">—</span>` : nextCell(row.nextIso, nowIso)}</td><td>${
          e.queue !== null && e.className !== null
            ? actionButton(ctx, '/schedule/enqueue-now', 'Enqueue now', { server: server.id, name: row.name }, { confirm: `Enqueue ${row.name} now?` })
            : ''
        } ${removeButton(ctx, server.id, row.name)}</td></tr>`;
      })}</tbody></table>`
}`,
  );
}

/** POST /schedule/remove: Ruby's `remove_schedule` (HDEL + SADD schedules_changed); the flash message. */
export async function removeAction(d: Admin, f: Record<string, string>): Promise<string> {
  await removeSchedule(d, f['server'] ?? '', f['name'] ?? '');
  return `Removed the schedule ${f['name']} (a dynamic scheduler stops it at its next pass).`;
}

/** POST /schedule/enqueue-now: the flash message. */
export async function enqueueNowAction(d: Admin, f: Record<string, string>): Promise<string> {
  const r = await enqueueScheduleNow(d, f['server'] ?? '', f['name'] ?? '');
  return `Enqueued ${f['name']} now: ${r.payload} to ${r.queue}.`;
}
