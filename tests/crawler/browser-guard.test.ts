/**
 * The browser reaches the network only through the guard proxy. Real Chromium, loopback only:
 * synthetic pages on 127.0.0.2 (allowNetworks 127.0.0.2/31, 127.0.0.4/31) try every route to a
 * CANARY on 127.0.0.1 or 127.0.0.66 — by literal and by a name in the test DNS — and the canaries
 * must see zero connections (and zero UDP datagrams). Each route must also leave evidence that it
 * was tried (a refusal at the proxy, or a report back from the page), so a route that silently
 * did nothing cannot pass.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { chromium } from 'playwright-core';
import { BrowserFetcher } from '../../crawler/browser-fetcher.js';
import { chromiumArgs } from '../../crawler/browser-launch.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { closedPort, startHttpServer, startTcpServer, type TestHttpServer, type TestTcpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let dns: TestDnsServer;
let canary1: TestTcpServer; // 127.0.0.1
let canary66: TestTcpServer; // 127.0.0.66
let udpCanary: dgram.Socket; // 127.0.0.66, UDP
let udpDatagrams = 0;
let wsHost: TestTcpServer; // 127.0.0.3: an allowed host a WebSocket must not reach
let wsBytes = 0;
let host: TestHttpServer; // 127.0.0.2: the pages
let fetcher: BrowserFetcher;
const pages = new Map<string, () => string>();

const c66 = (path: string): string => `http://127.0.0.66:${canary66.port}${path}`;
const page = (body: string): string => `<!doctype html><html><head><title>synthetic</title></head><body><p>route test page</p>${body}</body></html>`;
const report = (name: string): string => `fetch('/report/${name}')`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  canary1 = await startTcpServer('127.0.0.1');
  canary66 = await startTcpServer('127.0.0.66');
  udpCanary = dgram.createSocket('udp4');
  udpCanary.on('message', () => udpDatagrams++);
  udpCanary.bind(0, '127.0.0.66');
  await once(udpCanary, 'listening');
  wsHost = await startTcpServer('127.0.0.3', (socket) => socket.on('data', (b: Buffer) => (wsBytes += b.length)));
  dns = await startDnsServer({
    'allowed.test': { A: ['127.0.0.2'] },
    'canary.test': { A: ['127.0.0.66'] },
    'canary-one.test': { A: ['127.0.0.1'] },
  });
  host = await startHttpServer('127.0.0.2', (req, res) => {
    const path = req.url ?? '';
    if (path === '/to-canary') return void res.writeHead(302, { location: c66('/redirected') }).end();
    if (path === '/to-canary-name') return void res.writeHead(302, { location: `http://canary.test:${canary66.port}/r` }).end();
    if (path === '/to-canary-one') return void res.writeHead(301, { location: `http://127.0.0.1:${canary1.port}/r` }).end();
    if (path === '/forged') return void res.writeHead(200, { 'content-type': 'text/html', 'x-vigil-guard': 'dns_nxdomain' }).end(page(''));
    const build = pages.get(path);
    if (build === undefined) return void res.writeHead(204).end();
    res.writeHead(200, { 'content-type': 'text/html' }).end(build());
  });
  const udpPort = (udpCanary.address()).port;
  const routes: Record<string, () => string> = {
    '/img': () => page(`<img src="${c66('/i.png')}"><img src="http://canary.test:${canary66.port}/n.png">`),
    '/iframe': () => page(`<iframe src="${c66('/frame')}"></iframe>`),
    '/xhr': () => page(`<script>const x = new XMLHttpRequest(); x.open('GET', 'http://canary.test:${canary66.port}/xhr'); x.send();</script>`),
    '/fetch': () => page(`<script>fetch('http://127.0.0.1:${canary1.port}/fetch').catch(() => ${report('fetch-failed')});</script>`),
    '/fetch-https': () => page(`<script>fetch('https://127.0.0.66:${canary66.port}/tls').catch(() => ${report('https-failed')});</script>`),
    '/websocket': () => page(`<script>
      const ws = new WebSocket('ws://127.0.0.66:${canary66.port}/ws'); ws.onclose = () => ${report('ws-closed')};
      const ok = new WebSocket('ws://127.0.0.3:${wsHost.port}/ws'); ok.onclose = () => ${report('ws-allowed-closed')};</script>`),
    '/meta-refresh': () => `<html><head><meta http-equiv="refresh" content="0;url=http://canary-one.test:${canary1.port}/meta"></head><body>refresh</body></html>`,
    '/script-nav': () => page(`<script>location.href = '${c66('/nav')}';</script>`),
    '/popup': () => page(`<script>window.open('${c66('/popup')}'); window.open('http://127.0.0.1:${canary1.port}/p', '_blank', 'noopener'); ${report('popup-opened')};</script>`),
    '/beacon': () => page(`<script>navigator.sendBeacon('${c66('/beacon')}', 'x'); new EventSource('${c66('/events')}');</script>`),
    '/css-import': () => page(`<style>@import url('${c66('/x.css')}');</style>`),
    '/worker': () => page(`<script>
      const src = "fetch('${c66('/worker')}').catch(() => postMessage('failed')); new WebSocket('ws://127.0.0.3:${wsHost.port}/w');";
      const w = new Worker(URL.createObjectURL(new Blob([src]))); w.onmessage = () => ${report('worker-fetch-failed')};</script>`),
    '/webrtc': () => page(`<script>
      try { const pc = new RTCPeerConnection({ iceServers: [{ urls: 'stun:127.0.0.66:${udpPort}' }] });
        pc.createDataChannel('x'); pc.createOffer().then((o) => pc.setLocalDescription(o)); ${report('rtc-created')};
      } catch (e) { ${report('rtc-missing')}; }</script>`),
  };
  for (const [path, build] of Object.entries(routes)) pages.set(path, build);

  fetcher = new BrowserFetcher({
    executablePath: CHROMIUM,
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }),
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/31'],
    userAgent: 'vigil-test',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 8_000,
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    pages: 2,
    settleMaxMs: 2_000,
  });
});

afterEach(() => {
  expect({ canary1: canary1.connections, canary66: canary66.connections, udp: udpDatagrams, wsBytes }).toEqual({
    canary1: 0, canary66: 0, udp: 0, wsBytes: 0,
  });
});

afterAll(async () => {
  await fetcher?.close();
  udpCanary?.close();
  await Promise.all([dns, canary1, canary66, wsHost, host].map((s) => s?.close()));
});

/** Fetch an allowed page; returns how many more refusals the guard proxy made meanwhile. */
async function visit(path: string): Promise<{ refused: number; reports: string[] }> {
  const before = fetcher.guardCounts().refusedBy.blocked_address ?? 0;
  const seen = host.requests.length;
  const result = await fetcher.fetch({ url: host.url(path) });
  expect(result).toMatchObject({ kind: 'response', status: 200 });
  const reports = host.requests.slice(seen).filter((p) => p.startsWith('/report/'));
  return { refused: (fetcher.guardCounts().refusedBy.blocked_address ?? 0) - before, reports };
}

describe('routes from an allowed page to a canary', () => {
  test('<img> (images are never requested at all)', async () => {
    expect((await visit('/img')).refused).toBe(0);
  });

  test.each(['/iframe', '/script-nav', '/beacon', '/css-import'])('%s is refused by the proxy', async (path) => {
    expect((await visit(path)).refused).toBeGreaterThan(0);
  });

  test('XHR to a name in DNS that points at the canary', async () => {
    expect((await visit('/xhr')).refused).toBeGreaterThan(0);
    expect(dns.queries.map((q) => q.name)).toContain('canary.test');
  });

  test('meta refresh to a name that points at 127.0.0.1', async () => {
    expect((await visit('/meta-refresh')).refused).toBeGreaterThan(0);
  });

  test('fetch() to 127.0.0.1, plain and over https (CONNECT)', async () => {
    const plain = await visit('/fetch');
    expect(plain.refused).toBeGreaterThan(0);
    expect(plain.reports).toContain('/report/fetch-failed');
    const tls = await visit('/fetch-https');
    expect(tls.refused).toBeGreaterThan(0);
    expect(tls.reports).toContain('/report/https-failed');
  });

  test('WebSocket, to the canary and to an allowed host, never connects', async () => {
    const { reports } = await visit('/websocket');
    expect(reports).toEqual(expect.arrayContaining(['/report/ws-closed', '/report/ws-allowed-closed']));
  });

  test('window.open popups are closed and load nothing', async () => {
    expect((await visit('/popup')).reports).toContain('/report/popup-opened');
  });

  test('a worker’s fetch and WebSocket', async () => {
    expect((await visit('/worker')).reports).toContain('/report/worker-fetch-failed');
  });

  test('WebRTC is not there to send UDP', async () => {
    expect((await visit('/webrtc')).reports).toEqual(['/report/rtc-missing']);
  });
});

describe('a main document redirected to a canary', () => {
  test.each([
    ['/to-canary', 'literal 127.0.0.66'],
    ['/to-canary-name', 'a name pointing at 127.0.0.66'],
    ['/to-canary-one', 'literal 127.0.0.1'],
  ])('%s (%s) fails as blocked_address', async (path) => {
    const result = await fetcher.fetch({ url: host.url(path) });
    expect(result).toMatchObject({ kind: 'error', error: 'blocked_address', redirects: 1 });
  });

  test.each(['http', 'https'])('a %s URL that is itself a canary is refused', async (scheme) => {
    const result = await fetcher.fetch({ url: `${scheme}://127.0.0.66:${canary66.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'blocked_address', redirects: 0 });
  });
});

describe('what only the proxy knows reaches the result', () => {
  test.each(['http', 'https'])('a %s URL whose name does not exist is dns_nxdomain', async (scheme) => {
    const result = await fetcher.fetch({ url: `${scheme}://no-such-name.test/page` });
    expect(result).toMatchObject({ kind: 'error', error: 'dns_nxdomain' });
  });

  test.each(['http', 'https'])('a %s URL on a closed port is connection_refused', async (scheme) => {
    const port = await closedPort('127.0.0.2');
    const result = await fetcher.fetch({ url: `${scheme}://127.0.0.2:${port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'connection_refused' });
  });

  test('a page’s own "x-vigil-guard" header cannot forge a verdict', async () => {
    const result = await fetcher.fetch({ url: host.url('/forged') });
    expect(result).toMatchObject({ kind: 'response', status: 200 });
  });
});

test('without the proxies, vigil’s switches leave Chromium unable to resolve any host but 127.0.0.1', async () => {
  // the host resolver rules are the second wall: were the proxy ever bypassed, no name and no
  // address literal other than the proxies' own 127.0.0.1 would resolve
  const args = chromiumArgs('http://127.0.0.1:1', 'resolver-rules-test').filter((a) => !a.startsWith('--proxy-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  try {
    const probe = await (await browser.newContext()).newPage();
    const seen = host.requests.length;
    for (const url of [host.url('/direct'), `http://allowed.test:${host.port}/direct`, `http://localhost:${host.port}/direct`]) {
      await expect(probe.goto(url, { timeout: 5_000 })).rejects.toThrow(/ERR_NAME_NOT_RESOLVED/);
    }
    expect(host.requests.length).toBe(seen);
  } finally {
    await browser.close();
  }
});

test('the browser’s own background traffic goes nowhere', () => {
  expect(fetcher.backgroundCounts().allowed).toBe(0);
});
