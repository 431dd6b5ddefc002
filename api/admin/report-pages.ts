/**
 * `/admin/reports`: the report list (filters, keyset pages), and `/admin/reports/:id`: one
 * report's whole timeline — checks, hosting traces, notices with their deliveries and
 * acknowledgements, and the audit trail — merged in time order. URLs are shown as text only.
 */
import type { AdminReportFilter, AdminReportPage, ReportTimeline } from '../../core/admin-reads.js';
import { REPORT_STATUSES } from '../../core/report-status.js';
import { duration, hosting, query, statusBadge, when } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';
import { reportTable } from './overview-page.js';

const FLAGS = [['', 'any'], ['overdue', 're-alert overdue'], ['routing', 'no country / unrouted'], ['cdn', 'behind a CDN']] as const;

export function reportListBody(filter: AdminReportFilter, pageData: AdminReportPage, nextCursor: string | null, ctx: PageContext): SafeHtml {
  const form = html`<form method="get" action="/admin/reports" class="filters">
<div><label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${REPORT_STATUSES.map((s) => html`<option${s === filter.status ? html` selected` : ''}>${s}</option>`)}</select></div>
<div><label for="f-country">Country</label><input id="f-country" name="country" size="3" maxlength="2" value="${filter.country ?? ''}"></div>
<div><label for="f-asn">ASN</label><input id="f-asn" name="asn" size="9" inputmode="numeric" value="${filter.asn ?? ''}"></div>
<div><label for="f-flag">Flag</label><select id="f-flag" name="flag">${FLAGS.map(([v, l]) => html`<option value="${v}"${v === (filter.flag ?? '') ? html` selected` : ''}>${l}</option>`)}</select></div>
<div><button class="action" type="submit">Filter</button></div></form>`;
  const next = nextCursor
    ? html`<a rel="next" href="/admin/reports${query({ status: filter.status, country: filter.country, asn: filter.asn, flag: filter.flag, cursor: nextCursor })}">Next page →</a>`
    : '';
  return html`${form}${reportTable(pageData.items, ctx.now, { head: 'Created', cell: (r) => when(r.createdAt, ctx.now) })}
<div class="pager"><a href="/admin/reports${query({ status: filter.status, country: filter.country, asn: filter.asn, flag: filter.flag })}">First page</a>${next}</div>`;
}

interface Event {
  at: Date;
  kind: string;
  what: SafeHtml;
}

function events(t: ReportTimeline): Event[] {
  const list: Event[] = [{ at: t.createdAt, kind: 'submitted', what: html`first submitted${t.forces.length ? html` by ${t.forces.join(', ')}` : ''}` }];
  for (const c of t.checks) {
    list.push({ at: c.startedAt, kind: 'check', what: html`<strong>${c.outcome}</strong> — ${c.reason}${c.httpStatus ? ` (HTTP ${c.httpStatus})` : ''}, ${c.durationMs} ms${c.vantage ? `, via ${c.vantage}` : ''} → ${statusBadge(c.statusAfter)}` });
  }
  for (const tr of t.traces) {
    list.push({ at: tr.createdAt, kind: 'trace', what: html`hosted at ${tr.ip ?? '?'} — ${hosting(tr.country, tr.asn, tr.org, tr.viaCdn)}` });
  }
  for (const n of t.notices) {
    const to = html`${n.kind}${n.sequence > 1 ? ` #${n.sequence}` : ''} to ${n.target === 'force' ? 'force ' : ''}<code>${n.recipient}</code>`;
    list.push({ at: n.createdAt, kind: 'notice', what: html`${to} planned` });
    if (n.sentAt) list.push({ at: n.sentAt, kind: 'delivered', what: html`${to} sent by ${n.channel ?? '?'} after ${n.attempts} attempt(s)` });
    else if (n.withdrawnAt) list.push({ at: n.withdrawnAt, kind: 'withdrawn', what: html`${to} withdrawn unsent: ${n.kind === 'removal_confirmed' ? 'no alert had reached the recipient' : 'the content was no longer live'}` });
    else if (n.status === 'failed') list.push({ at: n.createdAt, kind: 'failed', what: html`<span class="bad">${to} given up</span>: ${n.lastError ?? ''}${n.lastStatus ? ` (HTTP ${n.lastStatus})` : ''}` });
    else if (n.attempts > 0) list.push({ at: n.createdAt, kind: 'retrying', what: html`<span class="warn">${to}: ${n.attempts} failed attempt(s)</span> — ${n.lastError ?? ''}` });
    if (n.ackedAt) list.push({ at: n.ackedAt, kind: 'ack', what: html`${to} acknowledged: <strong>${n.ackStatus ?? 'received'}</strong>` });
  }
  for (const a of t.audit) list.push({ at: a.at, kind: 'audit', what: html`<span class="muted">${a.action} by ${a.actor}</span>` });
  if (t.removedAt) list.push({ at: t.removedAt, kind: 'removed', what: html`removal confirmed${t.firstSeenLiveAt ? ` — ${duration((t.removedAt.getTime() - t.firstSeenLiveAt.getTime()) / 1000)} after first seen live` : ''}` });
  // stable: same-time events keep the order they were added in (check before its trace)
  return list.map((e, i) => ({ e, i })).sort((a, b) => a.e.at.getTime() - b.e.at.getTime() || a.i - b.i).map(({ e }) => e);
}

export function reportBody(t: ReportTimeline, ctx: PageContext): SafeHtml {
  const facts = html`<dl class="facts">
<dt>URL</dt><dd><code class="url" id="report-url">${t.url}</code></dd>
<dt>Status</dt><dd>${statusBadge(t.status)}${t.reopenCount ? html` <span class="tag">reopened ${t.reopenCount}×</span>` : ''}</dd>
<dt>Verdict</dt><dd>${t.verdict ?? html`<span class="muted">none yet</span>`}${t.verdictSource ? html` <span class="muted">(${t.verdictSource})</span>` : ''}</dd>
<dt>Hosting</dt><dd>${hosting(t.country, t.asn, t.org, t.viaCdn)}${t.ip ? html` <span class="muted">${t.ip}</span>` : ''}${t.routingFlag ? html` <span class="tag warn">${t.routingFlag.replace('_', ' ')}</span>` : ''}</dd>
<dt>Forces</dt><dd>${t.forces.join(', ') || '—'}</dd>
<dt>First seen live</dt><dd>${when(t.firstSeenLiveAt, ctx.now)}</dd>
<dt>Last seen live</dt><dd>${when(t.lastSeenLiveAt, ctx.now)}</dd>
<dt>Removed</dt><dd>${when(t.removedAt, ctx.now)}</dd>
<dt>Last checked</dt><dd>${when(t.lastCheckedAt, ctx.now)}</dd>
<dt>Next check</dt><dd>${when(t.nextCheckAt, ctx.now)}</dd>
<dt>Next re-alert</dt><dd>${when(t.nextRealertAt, ctx.now)}${t.status === 'notified' && t.nextRealertAt && t.nextRealertAt < ctx.now ? html` <span class="bad">overdue</span>` : ''}</dd>
<dt>Evidence hold until</dt><dd>${when(t.holdUntil, ctx.now)}</dd>
<dt>Monitoring ends</dt><dd>${when(t.expiresAt, ctx.now)}</dd>
</dl>`;
  const recheck = html`<form method="post" action="/admin/reports/${t.id}/recheck" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button class="action" type="submit">Check now</button></form>`;
  const items = events(t).map((e) => html`<li class="event event-${e.kind}"><span>${when(e.at, ctx.now)}</span><span class="kind">${e.kind}</span><span>${e.what}</span></li>`);
  return html`${facts}<p>${recheck}</p>
<h2>Timeline <span class="muted">(${t.checks.length} checks, ${t.traces.length} traces, ${t.notices.length} notices)</span></h2>
<ol class="timeline" id="timeline">${items}</ol>`;
}
