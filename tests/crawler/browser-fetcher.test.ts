/**
 * BrowserFetcher with real Chromium on loopback: script-built text, zero media requests, no
 * downloaded file, deadlines, the watchdog, the page cap, context recycling, and no process left
 * after close(). Synthetic content only; pages on 127.0.0.2 (allowNetworks 127.0.0.2/31).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrowserFetcher, type BrowserFetcherOptions } from '../../crawler/browser-fetcher.js';
import { isAlive, processesMentioning, processTree } from '../../crawler/browser-process.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startHttpServer, type TestHttpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DEADLINE_MS = 4_000;
const GRACE_MS = 1_000;
/** a marker made at run time, so no copy of this file can contain it */
const DOWNLOAD_MARKER = `synthetic-download-${randomUUID()}`;

let dns: TestDnsServer;
let host: TestHttpServer;
let fetcher: BrowserFetcher;
let capActive = 0;
let capPeak = 0;

const MEDIA_PAGE = `<!doctype html><html><head><title>media page</title>
<link rel="icon" href="/m/favicon"><link rel="preload" as="image" href="/m/preload.png">
<link rel="stylesheet" href="/m/style.css">
<style>@font-face { font-family: f; src: url(/m/font.woff2); } body { font-family: f; background-image: url(/m/bg.png); }
ul { list-style-image: url(/m/bullet.gif); }</style></head>
<body><div id="root"></div><ul><li>item</li></ul>
<img src="/m/img.jpg" srcset="/m/img-2x.jpg 2x"><picture><source srcset="/m/pic.webp"><img src="/m/pic.jpg"></picture>
<video src="/m/video.mp4" poster="/m/poster.jpg" autoplay muted><source src="/m/source.webm"><track src="/m/subs.vtt"></video>
<audio src="/m/audio.mp3" autoplay></audio><object data="/m/object.swf"></object><embed src="/m/embed.mp4">
<svg><image href="/m/svg-image.png"/></svg><input type="image" src="/m/input.png">
<script>new Image().src = '/m/js-image.png'; fetch('/m/clip.mp4').catch(() => {});
document.getElementById('root').textContent = 'media page built';</script></body></html>`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  dns = await startDnsServer({});
  host = await startHttpServer('127.0.0.2', (req, res) => {
    const url = req.url ?? '';
    const html = (body: string): void => void res.writeHead(200, { 'content-type': 'text/html' }).end(body);
    if (url === '/built') {
      return html(`<!doctype html><html><head><title>Shell</title></head><body><div id="root"></div><script>
        document.getElementById('root').textContent = 'Synthetic Marker ' + (6 * 7);
        fetch('/api/data').then((r) => r.text()).then((t) => { const p = document.createElement('p'); p.textContent = t; document.body.append(p); });
      </script></body></html>`);
    }
    if (url === '/slow-built') return void setTimeout(() => html('<body><p>slow page</p></body>'), 800);
    if (url === '/api/data') return void setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('Async Part Loaded'), 150);
    if (url === '/media') return html(MEDIA_PAGE);
    if (url === '/m/style.css') return void res.writeHead(200, { 'content-type': 'text/css' }).end('p { background: url(/m/css-bg.png) }');
    if (url === '/r1') return void res.writeHead(302, { location: '/r2' }).end();
    if (url === '/r2') return void res.writeHead(301, { location: '/built' }).end();
    if (url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (url === '/gone') return void res.writeHead(404, { 'content-type': 'text/html' }).end('<p>not here</p>');
    if (url === '/download') {
      return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="x.bin"' })
        .end(DOWNLOAD_MARKER.repeat(100));
    }
    if (url === '/download-link') {
      return html(`<body><a id="a" href="/download" download="y.bin">file</a><p>download page</p>
        <script>document.getElementById('a').click(); window.open('/download');</script></body>`);
    }
    if (url === '/hang') return; // accepts, never answers
    if (url === '/ticking') return html('<body><p>ticking</p><script>fetch("/tick"); setInterval(() => fetch("/tick"), 350);</script></body>');
    if (url === '/busy') return html('<body><p>busy</p><script>for (;;) {}</script></body>');
    if (url.startsWith('/cap/')) {
      capActive++;
      capPeak = Math.max(capPeak, capActive);
      return void setTimeout(() => {
        capActive--;
        html('<body><p>cap page</p></body>');
      }, 300);
    }
    res.writeHead(404).end();
  });
  fetcher = newFetcher({});
  // launch once, outside the tests' timing
  await fetcher.fetch({ url: host.url('/gone') });
});

afterAll(async () => {
  await fetcher?.close();
  await Promise.all([dns, host].map((s) => s?.close()));
});

function newFetcher(over: Partial<BrowserFetcherOptions>): BrowserFetcher {
  return new BrowserFetcher({
    executablePath: CHROMIUM,
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }),
    allowNetworks: ['127.0.0.2/31'],
    userAgent: 'vigil-test',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: DEADLINE_MS,
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    pages: 2,
    pagesPerContext: 3,
    watchdogGraceMs: GRACE_MS,
    settleMaxMs: 2_000,
    ...over,
  });
}

/** Every file under `dir` (depth-limited), for the no-download check. */
function filesUnder(dir: string, depth = 6): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    try {
      const s = statSync(full);
      if (s.isDirectory()) out.push(...filesUnder(full, depth - 1));
      else if (s.isFile() && s.size < 64 * 1024 * 1024) out.push(full);
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

describe('content', () => {
  test('a script-built page yields the injected text, lower-cased', async () => {
    const result = await fetcher.fetch({ url: host.url('/built') });
    expect(result).toMatchObject({ kind: 'response', status: 200, redirects: 0, remoteAddress: null, finalUrl: host.url('/built') });
    if (result.kind !== 'response') return;
    expect(result.textSample).toContain('synthetic marker 42');
    expect(result.textSample).toContain('async part loaded');
    expect(result.headers['content-type']).toBe('text/html');
  });

  test('redirects of the main document are followed and counted', async () => {
    const result = await fetcher.fetch({ url: host.url('/r1') });
    expect(result).toMatchObject({ kind: 'response', status: 200, redirects: 2, finalUrl: host.url('/built') });
  });

  test('a redirect loop is too_many_redirects; a 404 is a 404', async () => {
    expect(await fetcher.fetch({ url: host.url('/loop') })).toMatchObject({ kind: 'error', error: 'too_many_redirects' });
    expect(await fetcher.fetch({ url: host.url('/gone') })).toMatchObject({ kind: 'response', status: 404 });
  });

  test('image, video and non-http URLs are never opened', async () => {
    expect(await fetcher.fetch({ url: host.url('/photo.jpg') })).toMatchObject({ kind: 'error', detail: 'media_url' });
    expect(await fetcher.fetch({ url: 'file:///etc/hostname' })).toMatchObject({ kind: 'error', error: 'blocked_scheme' });
    expect(host.requests).not.toContain('/photo.jpg');
  });
});

test('zero image, media and font requests reach the host', async () => {
  const seen = host.requests.length;
  const result = await fetcher.fetch({ url: host.url('/media') });
  expect(result).toMatchObject({ kind: 'response', status: 200 });
  expect(result.kind === 'response' && result.textSample).toContain('media page built');
  // the page and its stylesheet, nothing else
  expect(host.requests.slice(seen).sort()).toEqual(['/m/style.css', '/media']);
});

test('a download leaves no file in the temp dirs (/tmp, /dev/shm) or a downloads dir', async () => {
  const main = await fetcher.fetch({ url: host.url('/download') });
  expect(main).toMatchObject({ kind: 'response', status: 200, textSample: null });
  const linked = await fetcher.fetch({ url: host.url('/download-link') });
  expect(linked).toMatchObject({ kind: 'response', status: 200 });
  const places = [os.tmpdir(), '/dev/shm', path.join(os.homedir(), 'Downloads'), process.cwd()].map((d) => filesUnder(d));
  const holding = places.flat().filter((file) => {
    try {
      return readFileSync(file).includes(DOWNLOAD_MARKER);
    } catch {
      return false;
    }
  });
  expect(holding).toEqual([]);
});

test('a finished page is blanked while it waits for reuse: its timers stop', async () => {
  // its own fetcher: one context for all these visits, so kept pages are not closed by a recycle
  const keeper = newFetcher({ pagesPerContext: 100 });
  try {
    const ticks = (): number => host.requests.filter((p) => p === '/tick').length;
    // the ticking page finishes first and waits under the slower one (kept pages are reused last-in first-out)
    const [ticking] = await Promise.all([keeper.fetch({ url: host.url('/ticking') }), keeper.fetch({ url: host.url('/slow-built') })]);
    expect(ticking).toMatchObject({ kind: 'response', status: 200 });
    expect(ticks()).toBeGreaterThan(0);
    await keeper.settled(); // both pages given back: the ticking one first, the slow one on top
    const after = ticks();
    // reuses the slow one's page; for its 800 ms the ticking page is idle, and would tick if not blank
    expect(await keeper.fetch({ url: host.url('/slow-built') })).toMatchObject({ kind: 'response', status: 200 });
    expect(ticks()).toBe(after);
    expect(keeper.poolStats().contexts).toBe(1);
  } finally {
    await keeper.close();
  }
});

describe('deadlines and the watchdog', () => {
  test('a page whose server never answers ends within its deadline', async () => {
    const started = performance.now();
    const result = await fetcher.fetch({ url: host.url('/hang') });
    expect(result).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + 500);
  });

  test('a page whose script never yields ends within its deadline, and the browser goes on', async () => {
    const started = performance.now();
    expect(await fetcher.fetch({ url: host.url('/busy') })).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + 500);
    expect(await fetcher.fetch({ url: host.url('/built') })).toMatchObject({ kind: 'response', status: 200 });
  });

  test('a wedged browser is killed and replaced', async () => {
    const pid = fetcher.browserPid();
    const dir = fetcher.browserDir() as string;
    expect(pid).not.toBeNull();
    const tree = processTree(pid as number);
    const kills = fetcher.poolStats().kills;
    process.kill(pid as number, 'SIGSTOP'); // the browser stops answering
    const started = performance.now();
    // ends at the deadline (timeout), or sooner if the watchdog already killed the browser
    const wedged = await fetcher.fetch({ url: host.url('/built') });
    expect(wedged.kind).toBe('error');
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + 500);
    await expect.poll(() => fetcher.poolStats().kills, { timeout: GRACE_MS * 3 }).toBe(kills + 1);
    await expect.poll(() => tree.filter(isAlive), { timeout: 5_000 }).toEqual([]);
    await expect.poll(() => processesMentioning(dir), { timeout: 5_000 }).toEqual([]);
    await expect.poll(() => existsSync(dir), { timeout: 5_000 }).toBe(false);
    expect(await fetcher.fetch({ url: host.url('/built') })).toMatchObject({ kind: 'response', status: 200 });
    expect(fetcher.browserPid()).not.toBe(pid);
  });
});

test('no more than `pages` pages at once, and contexts are recycled', async () => {
  const contexts = fetcher.poolStats().contexts;
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => fetcher.fetch({ url: host.url(`/cap/${n}`) })));
  expect(results.map((r) => r.kind === 'response' && r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  expect(capPeak).toBeGreaterThan(0);
  expect(capPeak).toBeLessThanOrEqual(2);
  expect(fetcher.poolStats().contexts).toBeGreaterThanOrEqual(contexts + 2); // 3 pages per context
});

test('close() leaves no Chromium process behind', async () => {
  await fetcher.fetch({ url: host.url('/built') });
  const pid = fetcher.browserPid() as number;
  const dir = fetcher.browserDir() as string;
  const tree = processTree(pid);
  expect(tree.length).toBeGreaterThan(1); // the browser and its helpers
  expect(processesMentioning(dir).length).toBeGreaterThan(tree.length); // and the crash handler, outside the tree
  await fetcher.close();
  expect(tree.filter(isAlive)).toEqual([]);
  expect(processesMentioning(dir)).toEqual([]);
  expect(existsSync(dir)).toBe(false); // its private directory is gone too
});
