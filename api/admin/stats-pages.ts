/**
 * `/admin/stats`: time to removal (median and p90) per hosting country, per network, per
 * recipient and per week, as SVG bar charts with the numbers in a table beside them; and
 * `/admin/networks`: a scorecard per hosting network. Both over a window of removal times.
 */
import type { NetworkScorecard, RemovalGrouping, RemovalStat } from '../../core/admin-reads.js';
import { barChart } from '../../core/svg-chart.js';
import { count, duration, query, when } from './format.js';
import { html, trustedSvg, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';

export const WINDOWS = [7, 30, 90, 365] as const;
export type WindowDays = (typeof WINDOWS)[number];

export const GROUPINGS: readonly { by: RemovalGrouping; title: string; head: string }[] = [
  { by: 'country', title: 'Time to removal by hosting country', head: 'Country' },
  { by: 'asn', title: 'Time to removal by hosting network', head: 'Network' },
  { by: 'recipient', title: 'Time to removal by recipient (from the first alert sent)', head: 'Recipient' },
  { by: 'week', title: 'Time to removal by week of removal', head: 'Week of' },
];

function labelOf(by: RemovalGrouping, s: RemovalStat): string {
  if (s.key === null) return by === 'country' ? 'unknown' : by === 'asn' ? 'unknown network' : '—';
  if (by === 'asn') return `AS${s.key}${s.label ? ` ${s.label}` : ''}`;
  return s.key;
}

function windowPicker(path: string, days: WindowDays): SafeHtml {
  return html`<p class="window">Removals in the last ${WINDOWS.map((d) => (d === days ? html` <strong>${d} days</strong>` : html` <a href="${path}${query({ days: d })}">${d} days</a>`))}</p>`;
}

export function statsBody(days: WindowDays, groups: readonly { by: RemovalGrouping; stats: RemovalStat[] }[]): SafeHtml {
  const sections = groups.map(({ by, stats }) => {
    const meta = GROUPINGS.find((g) => g.by === by);
    const chart = barChart({
      title: meta?.title ?? by,
      data: stats.map((s) => ({ label: labelOf(by, s), value: s.medianSeconds, spread: s.p90Seconds, note: `${s.count} removals` })),
      format: (v) => duration(v),
      legend: ['median', 'p90'],
    });
    return html`<section class="stat" id="by-${by}"><h2>${meta?.title ?? by}</h2>${trustedSvg(chart)}
<table><thead><tr><th>${meta?.head ?? by}</th><th class="num">Removals</th><th class="num">Median</th><th class="num">p90</th></tr></thead><tbody>
${stats.map((s) => html`<tr><td>${labelOf(by, s)}</td><td class="num">${count(s.count)}</td><td class="num">${duration(s.medianSeconds)}</td><td class="num">${duration(s.p90Seconds)}</td></tr>`)}
</tbody></table></section>`;
  });
  return html`${windowPicker('/admin/stats', days)}
<p class="muted">Time to removal runs from the first check that found the content live to the first check that found it gone in the streak that confirmed its removal.
Per recipient, it runs from the first alert delivered to that recipient.</p>
<div class="grid2">${sections}</div>`;
}

export function networksBody(days: WindowDays, rows: readonly NetworkScorecard[], total: number, pageNo: number, pageSize: number, ctx: PageContext): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const table = html`<table id="scorecards"><thead><tr><th>Network</th><th class="num">Open now</th><th>Oldest open case live since</th>
<th class="num">Removed (${days} d)</th><th class="num">Median</th><th class="num">p90</th></tr></thead><tbody>
${rows.map((r) => html`<tr data-asn="${r.asn}"><td><a href="/admin/reports${query({ asn: r.asn })}">AS${r.asn}</a> <span class="muted">${r.org ?? ''}</span></td>
<td class="num${r.open > 0 ? ' bad' : ''}">${count(r.open)}</td><td>${when(r.oldestOpenSince, ctx.now)}</td><td class="num">${count(r.removed)}</td>
<td class="num">${duration(r.medianSeconds)}</td><td class="num">${duration(r.p90Seconds)}</td></tr>`)}
</tbody></table>`;
  const link = (p: number, label: string) => html`<a href="/admin/networks${query({ days, page: p })}">${label}</a>`;
  return html`${windowPicker('/admin/networks', days)}
${rows.length ? table : html`<p class="muted">No network has open cases or removals in this window.</p>`}
<div class="pager">${pageNo > 1 ? link(pageNo - 1, '← Previous') : ''}<span class="muted">page ${pageNo} of ${pages} (${count(total)} networks)</span>${pageNo < pages ? link(pageNo + 1, 'Next →') : ''}</div>`;
}
