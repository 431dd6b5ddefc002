/** core/svg-chart.ts: one bar per category, scaled to the largest value, every text escaped. */
import { describe, expect, it } from 'vitest';
import { barChart, escapeXml } from '../../core/svg-chart.js';

const bars = (svg: string) => [...svg.matchAll(/<rect class="bar" data-label="([^"]*)" data-value="([^"]*)" x="[^"]*" y="[^"]*" width="([^"]*)"/g)]
  .map((m) => ({ label: m[1], value: Number(m[2]), width: Number(m[3]) }));

describe('barChart', () => {
  it('draws one bar per datum, the longest for the largest value, with a spread bar behind', () => {
    const svg = barChart({ title: 'Removal', data: [{ label: 'NL', value: 50, spread: 100 }, { label: 'DE', value: 100 }, { label: 'FR', value: 0 }], width: 700 });
    const drawn = bars(svg);
    expect(drawn.map((b) => b.label)).toEqual(['NL', 'DE', 'FR']);
    const plot = 700 - 190 - 130;
    expect(drawn[1]?.width).toBeCloseTo(plot, 1);
    expect(drawn[0]?.width).toBeCloseTo(plot / 2, 1);
    // a zero value still shows a sliver, so the category is visible
    expect(drawn[2]?.width).toBe(1);
    expect(svg.match(/<rect class="spread"/g)).toHaveLength(1);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="chart" role="img"/);
    expect(svg.endsWith('</svg>')).toBe(true);
  });

  it('escapes titles, labels, notes and formatted values', () => {
    const svg = barChart({
      title: '<script>t</script>', legend: ['a&b', '"p90"'],
      data: [{ label: '<img src=x onerror=1>', value: 1, note: '</title><script>' }],
      format: () => '<b>',
    });
    expect(svg).not.toMatch(/<script|<img|<b>|<\/title><script/);
    expect(svg).toContain('&lt;img src=x onerror=1&gt;');
    expect(svg).toContain('a&amp;b');
  });

  it('says so when there is nothing to draw, and ignores non-finite values', () => {
    expect(barChart({ title: 'x', data: [] })).toContain('No data in this period');
    expect(bars(barChart({ title: 'x', data: [{ label: 'a', value: Number.NaN }, { label: 'b', value: -3 }] })).map((b) => b.value)).toEqual([0, 0]);
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
