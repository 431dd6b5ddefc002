/** The pure rule that picks the browser for script-built pages (core/browser-choice.ts). */
import { describe, expect, test } from 'vitest';
import { explainBrowserChoice, needsBrowser, visibleText, type PageSummary } from '../../core/browser-choice.js';

const html = { 'content-type': 'text/html; charset=utf-8' };
const page = (textSample: string | null, over: Partial<PageSummary> = {}): PageSummary => ({
  status: 200,
  headers: html,
  textSample: textSample === null ? null : textSample.toLowerCase(),
  ...over,
});
const prose = 'This synthetic gallery page has a long description written in plain server-rendered HTML. '.repeat(4);

describe('explainBrowserChoice', () => {
  test.each<[string, PageSummary, boolean, string]>([
    ['React shell', page('<html><head><title>Host</title><script src="/main.js"></script></head><body><div id="root"></div></body></html>'), true, 'app_root'],
    ['Vue shell, unquoted id', page('<body><div id=app></div><script src=/app.js></script></body>'), true, 'app_root'],
    ['Next.js data', page('<body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{}</script></body>'), true, 'app_root'],
    ['Angular root', page('<body><app-root></app-root><script src="runtime.js"></script></body>'), true, 'app_root'],
    ['noscript prompt', page('<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="x"></div><script src="/b.js"></script></body>'), true, 'noscript_prompt'],
    ['noscript "javascript is required"', page('<body><noscript><p>JavaScript is required</p></noscript><main></main><script>boot()</script></body>'), true, 'noscript_prompt'],
    ['bare script shell', page('<html><body><script>document.write(atob("..."))</script></body></html>'), true, 'script_shell'],
    ['script redirect', page('<html><body>Loading…<script>location.href="/v/1"</script></body></html>'), true, 'script_shell'],
    ['server-rendered article', page(`<body><div id="root"><p>${prose}</p></div><script src="/h.js"></script></body>`), false, 'enough_text'],
    ['shell with an image', page('<body><div id="root"></div><img src="/a.jpg"><script src="/m.js"></script></body>'), false, 'has_media'],
    ['shell with og:image', page('<head><meta property="og:image" content="/a.jpg"></head><body><div id="root"></div><script src="/m.js"></script></body>'), false, 'has_media'],
    ['shell with a video source', page('<body><video><source src="/v.mp4"></video><div id="app"></div><script></script></body>'), false, 'has_media'],
    ['media refs found by the HTTP fetch', page('<body><div id="root"></div><script src="/m.js"></script></body>', { mediaRefs: ['http://h.test/a.jpg'] }), false, 'has_media'],
    ['no script at all', page('<html><body><div id="root"></div></body></html>'), false, 'no_script'],
    ['little text, no marker', page(`<body><p>${'A short synthetic note about nothing much. '.repeat(2)}</p><script>track()</script></body>`), false, 'little_text_no_marker'],
    ['404', page('<body><div id="root"></div><script></script></body>', { status: 404 }), false, 'not_2xx'],
    ['redirect', page('<body><div id="root"></div><script></script></body>', { status: 302 }), false, 'not_2xx'],
    ['JSON', page('{"id":"root"}<script', { headers: { 'content-type': 'application/json' } }), false, 'not_html'],
    ['image', page(null, { headers: { 'content-type': 'image/jpeg' } }), false, 'not_html'],
    ['no sample', page(null), false, 'no_sample'],
    ['empty sample', page('   '), false, 'no_sample'],
    ['XHTML shell', page('<body><div id="root"/><script src="/x.js"/></body>', { headers: { 'content-type': 'application/xhtml+xml' } }), true, 'app_root'],
  ])('%s', (_name, summary, browser, reason) => {
    expect(explainBrowserChoice(summary)).toEqual({ needsBrowser: browser, reason });
    expect(needsBrowser(summary)).toBe(browser);
  });
});

describe('visibleText', () => {
  test.each([
    ['<p>Hello <b>there</b></p>', 'hello there'],
    ['<script>var a = "<p>not text</p>";</script><p>x</p>', 'x'],
    ['<style>p{color:red}</style><!-- hidden --><noscript>enable javascript</noscript>y', 'y'],
    ['<title>site title</title><p>a&amp;b</p>', 'a b'],
    ['<script>never closed <p>text', ''],
    ['<!-- never closed <p>text', ''],
  ])('%s', (input, expected) => {
    expect(visibleText(input.toLowerCase())).toBe(expected);
  });

  test('is quick on a hostile 64 KiB sample', () => {
    const hostile = '<script'.repeat(9_000) + '<!--'.repeat(1_000);
    const started = performance.now();
    explainBrowserChoice(page(hostile));
    expect(performance.now() - started).toBeLessThan(500);
  });
});
