/** How the operator pages write times, durations, statuses and hosting. */
import { formatDuration } from '../../core/removal-stats.js';
import { html, type SafeHtml } from './html.js';

/** `2030-01-02 03:04 UTC` in a `<time>` element, with the age relative to `now` as its title. */
export function when(at: Date | null | undefined, now: Date): SafeHtml {
  if (!at) return html`<span class="muted">—</span>`;
  const iso = at.toISOString();
  const diff = (now.getTime() - at.getTime()) / 1000;
  const relative = diff >= 0 ? `${formatDuration(diff)} ago` : `in ${formatDuration(-diff)}`;
  return html`<time datetime="${iso}" title="${relative}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

export function duration(seconds: number | null | undefined): string {
  return formatDuration(seconds ?? null);
}

export function statusBadge(status: string): SafeHtml {
  return html`<span class="status status-${status.replace(/[^a-z_]/g, '')}">${status}</span>`;
}

export function hosting(country: string | null, asn: number | null, org: string | null, viaCdn = false): SafeHtml {
  if (country === null && asn === null && org === null) return html`<span class="muted">not traced</span>`;
  return html`${country ?? html`<span class="warn">country unknown</span>`}${asn !== null ? html` · <a href="/admin/reports?asn=${asn}">AS${asn}</a>` : ''}${org ? html` <span class="muted">${org}</span>` : ''}${viaCdn ? html` <span class="tag">CDN</span>` : ''}`;
}

export function count(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-GB');
}

/** A query string from the given parameters (empty values left out). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
