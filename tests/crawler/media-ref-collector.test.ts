/**
 * Media references of synthetic HTML pages, parsed in streaming mode: every element kind, <base>,
 * srcset, the bound, what is skipped, and chunk boundaries anywhere in the markup.
 */
import { describe, expect, test } from 'vitest';
import { MediaRefCollector } from '../../crawler/media-ref-collector.js';

const PAGE_URL = 'https://host.test/gallery/page.html';

function collect(html: string, chunkSize = html.length, max?: number): { refs: string[]; capped: boolean } {
  const collector = new MediaRefCollector(PAGE_URL, max);
  const bytes = new TextEncoder().encode(html);
  for (let i = 0; i < bytes.length; i += chunkSize) collector.write(bytes.subarray(i, i + chunkSize));
  return collector.end();
}

const ALL_KINDS = `<!doctype html><html><head>
  <meta property="og:image" content="https://cdn.test/og.jpg">
  <meta name="twitter:image" content="/tw.png">
  <meta property="og:title" content="not media">
  <link rel="image_src" href="imgsrc.jpg"><link rel="stylesheet" href="style.css">
</head><body>
  <img src="a.jpg" alt="x"><IMG SRC="/b.png">
  <img data-src="lazy.webp" src="data:image/gif;base64,R0lGOD">
  <img srcset="s1.jpg 1x, s2.jpg 2x">
  <picture><source srcset="p.avif 640w, p2.avif 1280w" type="image/avif"><img src="p.jpg"></picture>
  <video src="v.mp4" poster="poster.jpg"><source src="v.webm" type="video/webm"></video>
  <audio><source src="sound.ogg"></audio>
  <a href="full/size.JPEG">full</a><a href="next.html">next page</a><a href="movie.mp4?dl=1#t">movie</a>
  <a href="javascript:void(0)">js</a><a href="mailto:a@b.test">mail</a>
</body></html>`;

const ALL_EXPECTED = [
  'https://cdn.test/og.jpg',
  'https://host.test/tw.png',
  'https://host.test/gallery/imgsrc.jpg',
  'https://host.test/gallery/a.jpg',
  'https://host.test/b.png',
  'https://host.test/gallery/lazy.webp',
  'https://host.test/gallery/s1.jpg',
  'https://host.test/gallery/s2.jpg',
  'https://host.test/gallery/p.avif',
  'https://host.test/gallery/p2.avif',
  'https://host.test/gallery/p.jpg',
  'https://host.test/gallery/v.mp4',
  'https://host.test/gallery/poster.jpg',
  'https://host.test/gallery/v.webm',
  'https://host.test/gallery/sound.ogg',
  'https://host.test/gallery/full/size.JPEG',
  'https://host.test/gallery/movie.mp4?dl=1',
];

describe('MediaRefCollector', () => {
  test('every kind of media reference, resolved against the page URL, in document order', () => {
    expect(collect(ALL_KINDS)).toEqual({ refs: ALL_EXPECTED, capped: false });
  });

  test.each([1, 2, 3, 7, 64])('the same references when the page arrives in %i-byte chunks', (size) => {
    expect(collect(ALL_KINDS, size).refs).toEqual(ALL_EXPECTED);
  });

  test('<base href> sets the base; only the first one counts; it resolves against the page', () => {
    const html = '<head><base href="/media/"><base href="https://other.test/"></head><img src="x.jpg"><img src="//cdn.test/y.jpg">';
    expect(collect(html).refs).toEqual(['https://host.test/media/x.jpg', 'https://cdn.test/y.jpg']);
  });

  test('entities are decoded; fragments dropped; duplicates kept once', () => {
    const html = '<img src="a.jpg?x=1&amp;y=2"><img src="a.jpg?x=1&y=2#frag"><img src=" a.jpg?x=1&amp;y=2 ">';
    expect(collect(html).refs).toEqual(['https://host.test/gallery/a.jpg?x=1&y=2']);
  });

  test('a repeated attribute: the first one counts, as in HTML', () => {
    expect(collect('<img src="first.jpg" SRC="second.jpg">').refs).toEqual(['https://host.test/gallery/first.jpg']);
  });

  test('data:, blob:, non-http and overlong values are skipped', () => {
    const html = `<img src="data:image/png;base64,AAAA"><img src="blob:https://host.test/1"><img src="ftp://host.test/a.jpg">
      <img src="/${'x'.repeat(5000)}.jpg"><img src="">`;
    expect(collect(html).refs).toEqual([]);
  });

  test('references inside <noscript> count (lazy-loading fallbacks)', () => {
    expect(collect('<noscript><img src="real.jpg"></noscript>').refs).toEqual(['https://host.test/gallery/real.jpg']);
  });

  test('bounded: stops at max distinct references and says so', () => {
    const html = Array.from({ length: 20 }, (_, i) => `<img src="/i/${i}.jpg">`).join('');
    const result = collect(html, 50, 5);
    expect(result.refs).toHaveLength(5);
    expect(result.capped).toBe(true);
    expect(collect(html, 50, 20).capped).toBe(false);
  });

  test('a page without media, and not HTML at all', () => {
    expect(collect('<p>text only</p>')).toEqual({ refs: [], capped: false });
    expect(collect('\u0000\u0000 binary-ish \uFFFD')).toEqual({ refs: [], capped: false });
  });
});
