/**
 * `/admin`: the state of every case at a glance — reports by status and by hosting country,
 * overdue re-alerts, failing or disabled channels, cases routing could not place, CDN-fronted
 * cases, recent removals.
 */
import type { AdminOverview, AdminReportRow, CountedList } from '../../core/admin-reads.js';
import type { EndpointStats } from '../../core/notice-outbox.js';
import { REPORT_STATUSES } from '../../core/report-status.js';
import { count, duration, hosting, query, statusBadge, when } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';

/** An endpoint is failing when it is disabled, gave notices up, or its last attempt failed. */
export function endpointState(e: EndpointStats): 'disabled' | 'failing' | 'ok' {
  if (e.disabledAt) return 'disabled';
  const lastFailure = e.lastFailureAt?.getTime() ?? -Infinity;
  const lastSuccess = e.lastSuccessAt?.getTime() ?? -Infinity;
  return lastFailure > lastSuccess ? 'failing' : 'ok';
}

export function reportTable(rows: readonly AdminReportRow[], now: Date, extra?: { head: string; cell: (r: AdminReportRow) => SafeHtml | string }): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<table class="reports"><thead><tr><th>URL</th><th>Status</th><th>Hosting</th><th>First seen live</th>${extra ? html`<th>${extra.head}</th>` : ''}</tr></thead><tbody>
${rows.map((r) => html`<tr data-report="${r.id}"><td><a href="/admin/reports/${r.id}" class="open">open</a> <code class="url">${r.url}</code></td>
<td>${statusBadge(r.status)}${r.routingFlag ? html` <span class="tag warn">${r.routingFlag.replace('_', ' ')}</span>` : ''}</td>
<td>${hosting(r.country, r.asn, r.org, r.viaCdn)}</td><td>${when(r.firstSeenLiveAt, now)}</td>${extra ? html`<td>${extra.cell(r)}</td>` : ''}</tr>`)}
</tbody></table>`;
}

function listSection(title: string, id: string, list: CountedList, now: Date, more: string, extra?: Parameters<typeof reportTable>[2]): SafeHtml {
  return html`<section id="${id}"><h2>${title} <span class="muted">(${count(list.count)})</span></h2>
${reportTable(list.items, now, extra)}${list.count > list.items.length ? html`<p><a href="${more}">All ${count(list.count)} →</a></p>` : ''}</section>`;
}

function channelsSection(endpoints: readonly EndpointStats[], ctx: PageContext): SafeHtml {
  const troubled = endpoints.filter((e) => endpointState(e) !== 'ok');
  const rows = troubled.map((e) => {
    const state = endpointState(e);
    return html`<tr data-endpoint="${e.target}:${e.id}"><td>${e.target}</td><td><code>${e.id}</code></td>
<td class="${state === 'disabled' ? 'bad' : 'warn'}">${state}</td><td>${e.lastError ?? ''}${e.lastStatus ? ` (HTTP ${e.lastStatus})` : ''}</td>
<td>${when(e.lastFailureAt, ctx.now)}</td><td>${when(e.lastSuccessAt, ctx.now)}</td><td class="num">${count(e.delivered)}</td><td class="num">${count(e.givenUp)}</td>
<td>${state === 'disabled' && ctx.role === 'admin'
    ? html`<form method="post" action="/admin/channels/enable" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}">
<input type="hidden" name="target" value="${e.target}"><input type="hidden" name="id" value="${e.id}"><button class="action" type="submit">Re-enable</button></form>`
    : ''}</td></tr>`;
  });
  return html`<section id="channels"><h2>Failing or disabled channels <span class="muted">(${troubled.length} of ${endpoints.length})</span></h2>
${troubled.length === 0 ? html`<p class="muted">Every channel delivered on its last attempt.</p>` : html`<table><thead><tr><th>Target</th><th>Id</th><th>State</th><th>Last error</th>
<th>Last failure</th><th>Last success</th><th class="num">Delivered</th><th class="num">Given up</th><th></th></tr></thead><tbody>${rows}</tbody></table>`}</section>`;
}

export function overviewBody(data: AdminOverview, endpoints: readonly EndpointStats[], ctx: PageContext): SafeHtml {
  const total = Object.values(data.byStatus).reduce<number>((a, b) => a + (b ?? 0), 0);
  const cards = REPORT_STATUSES.map((s) => html`<a class="card" href="/admin/reports${query({ status: s })}" data-status="${s}"><div class="n">${count(data.byStatus[s])}</div><div class="l">${s}</div></a>`);
  const alerts = [
    ['overdue', 'overdue re-alerts', data.overdueRealerts.count],
    ['channels', 'channels failing', endpoints.filter((e) => endpointState(e) !== 'ok').length],
    ['routing', 'no country / unrouted', data.routingFlagged.count],
  ] as const;
  const countries = html`<table id="countries"><thead><tr><th>Hosting country</th><th class="num">Live</th><th class="num">Notified</th><th class="num">Open</th></tr></thead><tbody>
${data.openByCountry.map((c) => html`<tr><td>${c.country === null ? html`<a class="warn" href="/admin/reports?flag=routing">unknown</a>` : html`<a href="/admin/reports${query({ country: c.country })}">${c.country}</a>`}</td>
<td class="num">${count(c.live)}</td><td class="num">${count(c.notified)}</td><td class="num">${count(c.live + c.notified)}</td></tr>`)}
</tbody></table>`;
  return html`<section class="cards" id="by-status">${cards}<div class="card"><div class="n">${count(total)}</div><div class="l">all reports</div></div></section>
<section class="cards alerts">${alerts.map(([id, label, n]) => html`<a class="card${n > 0 ? ' alert' : ''}" href="#${id}"><div class="n">${count(n)}</div><div class="l">${label}</div></a>`)}</section>
${channelsSection(endpoints, ctx)}
${listSection('Overdue re-alerts', 'overdue', data.overdueRealerts, ctx.now, '/admin/reports?flag=overdue', { head: 'Re-alert due', cell: (r) => when(r.nextRealertAt, ctx.now) })}
${listSection('No country or no recipient', 'routing', data.routingFlagged, ctx.now, '/admin/reports?flag=routing')}
${listSection('Behind a CDN', 'cdn', data.cdnFronted, ctx.now, '/admin/reports?flag=cdn')}
<section id="by-country"><h2>Open cases by hosting country</h2>${data.openByCountry.length ? countries : html`<p class="muted">No open cases.</p>`}</section>
${listSection('Recent removals', 'removals', data.recentRemovals, ctx.now, '/admin/reports?status=removed',
    { head: 'Removed (time to removal)', cell: (r) => html`${when(r.removedAt, ctx.now)} <span class="muted">(${r.removedAt && r.firstSeenLiveAt ? duration((r.removedAt.getTime() - r.firstSeenLiveAt.getTime()) / 1000) : '—'})</span>` })}
<p class="muted">Recent removals: ${count(data.recentRemovals.count)} in the last 7 days.</p>`;
}
