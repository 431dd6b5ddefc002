/**
 * Vantages: HttpFetcher through a tiny CONNECT proxy on 127.0.0.1 (operator-trusted, outside
 * allowNetworks). The destination must still pass the guard before the proxy is asked, and the
 * proxy is only ever asked for the checked address literal, never a name. The web host
 * (127.0.0.2) answers `/geo` only to the proxy's outgoing address (127.0.0.9): geo-blocking.
 * Canaries on 127.0.0.66 (outside allowNetworks) must see no connection and the proxy no CONNECT.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classifyOutcome } from '../../core/classify-outcome.js';
import { BUILTIN_CHALLENGE_PATTERNS, BUILTIN_TAKEDOWN_PATTERNS } from '../../core/takedown-patterns.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../crawler/http-fetcher.js';
import { createDnsResolver, type HostResolver } from '../../tracing/dns-resolver.js';
import {
  closedPort,
  startHttpServer,
  startSniRecorder,
  startTcpServer,
  type TestHttpServer,
  type TestTcpServer,
} from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

const PROXY_OUT = '127.0.0.9';

interface TestProxy {
  port: number;
  /** CONNECT targets, in order */
  connects: string[];
  close(): Promise<void>;
}

/** A CONNECT-only proxy on 127.0.0.1 whose outgoing sockets leave from 127.0.0.9. */
async function startConnectProxy(): Promise<TestProxy> {
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(405).end();
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    connects.push(target);
    sockets.add(client);
    const match = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(target);
    // loopback only, and only address literals: a name here would be a failure of the client
    if (!match || !match[1]!.startsWith('127.0.0.')) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: match[1], port: Number(match[2]), localAddress: PROXY_OUT });
    sockets.add(upstream);
    upstream.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let dns: TestDnsServer;
let resolver: HostResolver;
let proxy: TestProxy;
let web: TestHttpServer; // 127.0.0.2
let canary: TestTcpServer; // 127.0.0.66, outside allowNetworks
let sni: Awaited<ReturnType<typeof startSniRecorder>>; // 127.0.0.3
let fetcher: HttpFetcher;
const fetchers: HttpFetcher[] = [];

function makeFetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({
    resolver,
    allowNetworks: ['127.0.0.2/31'],
    userAgent: 'vigil-test/1',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBodyBytes: 64 * 1024,
    maxRedirects: 5,
    concurrency: 8,
    perHostConcurrency: 4,
    vantages: [{ id: 'v1', proxy: `http://127.0.0.1:${proxy.port}` }],
    ...overrides,
  });
  fetchers.push(f);
  return f;
}

beforeAll(async () => {
  proxy = await startConnectProxy();
  canary = await startTcpServer('127.0.0.66');
  sni = await startSniRecorder('127.0.0.3');
  web = await startHttpServer('127.0.0.2', (req, res) => {
    const path = req.url ?? '/';
    if (path === '/geo' && req.socket.remoteAddress !== PROXY_OUT) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>not found</body></html>');
      return;
    }
    if (path === '/to-canary') {
      res.writeHead(302, { location: `http://canary.test:${canary.port}/` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html', 'x-seen-host': req.headers.host ?? '' })
      .end('<html><body>synthetic page</body></html>');
  });
  dns = await startDnsServer({
    'web.test': { A: ['127.0.0.2'] },
    'sni.test': { A: ['127.0.0.3'] },
    'canary.test': { A: ['127.0.0.66'] },
  });
  resolver = createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 1 });
  fetcher = makeFetcher();
});

afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await Promise.all([proxy?.close(), web?.close(), canary?.close(), sni?.close(), dns?.close()]);
});

describe('fetching through a vantage', () => {
  test('goes through the proxy, which is asked for the checked address, never the name; tagged with the vantage', async () => {
    const before = proxy.connects.length;
    const result = await fetcher.fetch({ url: `http://web.test:${web.port}/page`, vantage: 'v1' });
    expect(result).toMatchObject({ kind: 'response', status: 200, vantage: 'v1', remoteAddress: '127.0.0.2' });
    // the Host header is still the original name
    expect(result.kind === 'response' && result.headers['x-seen-host']).toBe(`web.test:${web.port}`);
    expect(proxy.connects.slice(before)).toEqual([`127.0.0.2:${web.port}`]);
    expect(proxy.connects.every((c) => !/[a-z]/i.test(c))).toBe(true);
  });

  test('a direct fetch is not tagged and does not use the proxy', async () => {
    const before = proxy.connects.length;
    const result = await fetcher.fetch({ url: `http://web.test:${web.port}/page` });
    expect(result).toMatchObject({ kind: 'response', status: 200 });
    expect(result.vantage ?? null).toBeNull();
    expect(proxy.connects.length).toBe(before);
  });

  test('a geo-blocked page: gone direct, live through the vantage', async () => {
    const rules = { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
    const direct = await fetcher.fetch({ url: `http://web.test:${web.port}/geo` });
    const viaVantage = await fetcher.fetch({ url: `http://web.test:${web.port}/geo`, vantage: 'v1' });
    expect(direct).toMatchObject({ kind: 'response', status: 404 });
    expect(viaVantage).toMatchObject({ kind: 'response', status: 200, vantage: 'v1' });
    expect(classifyOutcome(direct, rules).outcome).toBe('gone');
    expect(classifyOutcome(viaVantage, rules).outcome).toBe('live');
  });

  test('https: CONNECT to the checked address, TLS inside the tunnel with SNI = the original name', async () => {
    const before = proxy.connects.length;
    const result = await fetcher.fetch({ url: `https://sni.test:${sni.port}/`, vantage: 'v1' });
    // the recorder has no certificate: the handshake fails after the name was sent (the alert may
    // arrive as a reset through the test proxy's pipe)
    expect(result).toMatchObject({ kind: 'error', vantage: 'v1' });
    expect(['tls', 'connection_reset']).toContain(result.kind === 'error' ? result.error : null);
    expect(proxy.connects.slice(before)).toEqual([`127.0.0.3:${sni.port}`]);
    expect(sni.servernames).toContain('sni.test');
  }, 10_000);

  test('an unknown vantage: other/vantage_unknown, nothing dialled', async () => {
    const before = proxy.connects.length;
    const connections = web.connections;
    expect(await fetcher.fetch({ url: `http://web.test:${web.port}/page`, vantage: 'nope' }))
      .toMatchObject({ kind: 'error', error: 'other', detail: 'vantage_unknown', vantage: 'nope' });
    expect(proxy.connects.length).toBe(before);
    expect(web.connections).toBe(connections);
  });

  test('a proxy that is down: other (says nothing about the site)', async () => {
    const down = makeFetcher({ vantages: [{ id: 'down', proxy: `http://127.0.0.1:${await closedPort('127.0.0.1')}` }] });
    expect(await down.fetch({ url: `http://web.test:${web.port}/page`, vantage: 'down' }))
      .toMatchObject({ kind: 'error', error: 'other', detail: 'proxy_ECONNREFUSED', vantage: 'down' });
  });
});

describe('the guard still applies to the destination', () => {
  test('a name resolving to the canary is refused before the proxy is asked', async () => {
    const before = proxy.connects.length;
    expect(await fetcher.fetch({ url: `http://canary.test:${canary.port}/`, vantage: 'v1' }))
      .toMatchObject({ kind: 'error', error: 'blocked_address', vantage: 'v1' });
    expect(proxy.connects.length).toBe(before);
    expect(canary.connections).toBe(0);
  });

  test('the canary literal is refused before the proxy is asked', async () => {
    const before = proxy.connects.length;
    expect(await fetcher.fetch({ url: `http://127.0.0.66:${canary.port}/`, vantage: 'v1' }))
      .toMatchObject({ kind: 'error', error: 'blocked_address' });
    expect(await fetcher.fetch({ url: `https://canary.test:${canary.port}/`, vantage: 'v1' }))
      .toMatchObject({ kind: 'error', error: 'blocked_address' });
    expect(proxy.connects.length).toBe(before);
    expect(canary.connections).toBe(0);
  });

  test('a redirect to the canary, through the proxy, is refused: the proxy only saw the first hop', async () => {
    const before = proxy.connects.length;
    expect(await fetcher.fetch({ url: `http://web.test:${web.port}/to-canary`, vantage: 'v1' }))
      .toMatchObject({ kind: 'error', error: 'blocked_address', redirects: 1, vantage: 'v1' });
    expect(proxy.connects.slice(before).every((c) => c === `127.0.0.2:${web.port}`)).toBe(true);
    expect(canary.connections).toBe(0);
  });
});
