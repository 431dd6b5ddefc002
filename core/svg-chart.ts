/**
 * Server-side SVG bar charts for the operator pages: pure string building, no script, no
 * external resources, every text escaped. One horizontal bar per category (labels such as
 * country codes, network names or week starts read well on the left), a solid bar for the main
 * value and, optionally, a lighter bar behind it for a spread value (p90 behind the median).
 *
 * Each main bar is a `<rect class="bar">` carrying `data-label` and `data-value`, and a `<title>`
 * a screen reader or a mouse-over reads; tests count bars by that class.
 */

export interface BarDatum {
  label: string;
  /** length of the solid bar; ≥ 0 */
  value: number;
  /** length of the lighter bar behind it (e.g. p90); null/undefined: none */
  spread?: number | null;
  /** extra text for the bar's tooltip, e.g. "12 removals" */
  note?: string;
}

export interface BarChartSpec {
  /** accessible name of the chart */
  title: string;
  data: readonly BarDatum[];
  /** how values are written on the axis and the bars @default String */
  format?: (value: number) => string;
  /** legend names of the solid and the lighter bar, e.g. ["median", "p90"] */
  legend?: readonly [string, string?];
  /** @default 720 */
  width?: number;
}

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const BAR_HEIGHT = 18;
const BAR_GAP = 8;
const LABEL_WIDTH = 190;
const VALUE_WIDTH = 130;
const TOP = 28;
const AXIS_HEIGHT = 22;
const TICKS = 4;

const clean = (n: number | null | undefined): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);
const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Shortens a label to fit the label column (a full label stays in the bar's tooltip). */
function clip(label: string, max = 27): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** An SVG document fragment (an `<svg>` element) drawing `spec.data` as horizontal bars. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 720;
  const format = spec.format ?? String;
  const plot = Math.max(60, width - LABEL_WIDTH - VALUE_WIDTH);
  const title = escapeXml(spec.title);
  if (spec.data.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="48" viewBox="0 0 ${width} 48" aria-label="${title}">`
      + `<title>${title}</title><text class="empty" x="${LABEL_WIDTH}" y="28">No data in this period</text></svg>`;
  }
  const max = Math.max(...spec.data.map((d) => Math.max(clean(d.value), clean(d.spread)))) || 1;
  const scale = (v: number) => (clean(v) / max) * plot;
  const height = TOP + spec.data.length * (BAR_HEIGHT + BAR_GAP) + AXIS_HEIGHT;
  const axisY = height - AXIS_HEIGHT + 4;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${title}">`);
  parts.push(`<title>${title}</title>`);
  if (spec.legend) {
    const [main, spread] = spec.legend;
    parts.push(`<g class="legend"><rect class="legend-bar" x="${LABEL_WIDTH}" y="6" width="12" height="10"/><text x="${LABEL_WIDTH + 16}" y="15">${escapeXml(main)}</text>`);
    if (spread) parts.push(`<rect class="legend-spread" x="${LABEL_WIDTH + 110}" y="6" width="12" height="10"/><text x="${LABEL_WIDTH + 126}" y="15">${escapeXml(spread)}</text>`);
    parts.push('</g>');
  }
  for (let i = 0; i <= TICKS; i++) {
    const x = LABEL_WIDTH + (plot * i) / TICKS;
    parts.push(`<line class="grid" x1="${fixed(x)}" y1="${TOP - 4}" x2="${fixed(x)}" y2="${axisY - 4}"/>`);
    parts.push(`<text class="tick" x="${fixed(x)}" y="${axisY + 10}" text-anchor="middle">${escapeXml(format((max * i) / TICKS))}</text>`);
  }
  spec.data.forEach((d, i) => {
    const y = TOP + i * (BAR_HEIGHT + BAR_GAP);
    const label = escapeXml(d.label);
    const valueText = escapeXml(format(clean(d.value)));
    const spreadText = d.spread === null || d.spread === undefined ? '' : escapeXml(format(clean(d.spread)));
    const tip = `${label}: ${valueText}${spreadText ? ` (${escapeXml(spec.legend?.[1] ?? 'spread')} ${spreadText})` : ''}${d.note ? `, ${escapeXml(d.note)}` : ''}`;
    parts.push(`<text class="label" x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT - 5}" text-anchor="end">${escapeXml(clip(d.label))}</text>`);
    if (spreadText) {
      parts.push(`<rect class="spread" x="${LABEL_WIDTH}" y="${y}" width="${fixed(scale(d.spread ?? 0))}" height="${BAR_HEIGHT}"/>`);
    }
    parts.push(`<rect class="bar" data-label="${label}" data-value="${clean(d.value)}" x="${LABEL_WIDTH}" y="${y}" width="${fixed(Math.max(scale(d.value), 1))}" height="${BAR_HEIGHT}"><title>${tip}</title></rect>`);
    const end = LABEL_WIDTH + Math.max(scale(d.value), scale(d.spread ?? 0));
    parts.push(`<text class="value" x="${fixed(end + 6)}" y="${y + BAR_HEIGHT - 5}">${valueText}${spreadText ? ` / ${spreadText}` : ''}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
