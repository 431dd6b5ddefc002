/**
 * HTML by template literal, escaped by default: every value put into an `html` template is
 * escaped unless it is itself `SafeHtml` (another `html` template, or `trustedSvg` from the chart
 * builder, which escapes its own text). A reported URL can contain `<script>`: it is shown as
 * text, never as markup, never as a link.
 */
import { escapeXml } from '../../core/svg-chart.js';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Escapes text for element content and quoted attribute values. */
export const escapeHtml = escapeXml;

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** A template whose interpolated values are escaped (arrays are joined; null, undefined, false are empty). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => { out += render(value) + (strings[i + 1] ?? ''); });
  return new SafeHtml(out);
}

/** An SVG document made by core/svg-chart.ts, which escapes every text it writes. */
export function trustedSvg(svg: string): SafeHtml {
  return new SafeHtml(svg);
}
