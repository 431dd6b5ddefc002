/**
 * HttpFetcher against small, synthetic servers on loopback (127.0.0.2–5, all in allowNetworks)
 * and a test DNS server. Every test waits on results and server events, never on sleeps.
 */
import { once } from 'node:events';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classifyOutcome } from '../../core/classify-outcome.js';
import type { FetchResult } from '../../core/fetcher.js';
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

const RULES = { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
const KIB = 1024;
const MAX_BODY = 256 * KIB;

let dns: TestDnsServer;
let resolver: HostResolver;
let web: TestHttpServer; // 127.0.0.2
let slow: TestHttpServer; // 127.0.0.3
let hang: TestTcpServer; // 127.0.0.4: accepts, never answers
let overflow: TestTcpServer;
let garbage: TestTcpServer;
let reset: TestTcpServer;
let sni: Awaited<ReturnType<typeof startSniRecorder>>;
let fetcher: HttpFetcher;
const fetchers: HttpFetcher[] = [];
/** resolves when the client closes the connection of the /image or /octet request */
const clientClosed: Record<string, Promise<{ bytesWritten: number; planned: number }>> = {};
let seenHeaders: http.IncomingHttpHeaders = {};
let slowInFlight = 0;
let slowMaxInFlight = 0;

function makeFetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({
    resolver,
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/31'],
    userAgent: 'vigil-test/1',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBodyBytes: MAX_BODY,
    maxRedirects: 5,
    concurrency: 16,
    perHostConcurrency: 8,
    ...overrides,
  });
  fetchers.push(f);
  return f;
}

/** Write `total` bytes of synthetic filler in chunks, honouring back-pressure. */
async function writeFiller(res: http.ServerResponse, total: number, chunk = 16 * KIB): Promise<void> {
  const block = Buffer.alloc(chunk, 'a');
  for (let sent = 0; sent < total && !res.destroyed; sent += chunk) {
    if (!res.write(block.subarray(0, Math.min(chunk, total - sent)))) {
      await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  }
  if (!res.destroyed) res.end();
}

/** Serve a media body that the client must not read: headers + first chunk, then wait. */
function serveUnreadable(name: string, contentType: string, res: http.ServerResponse): void {
  const planned = 4 * 1024 * KIB;
  clientClosed[name] = new Promise((resolve) => {
    res.on('close', () => resolve({ bytesWritten: res.socket?.bytesWritten ?? -1, planned }));
  });
  res.writeHead(200, { 'content-type': contentType, 'content-length': String(planned) });
  res.write(Buffer.alloc(16 * KIB, 0x89)); // synthetic bytes; the rest only if the client asks
}

beforeAll(async () => {
  dns = await startDnsServer({
    'web.test': { A: ['127.0.0.2'] },
    'sni.test': { A: ['127.0.0.2'] },
    'nodata.test': {},
    'servfail.test': { rcode: 'SERVFAIL' },
    'silent.test': { silent: true },
  });
  resolver = createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 1 });

  web = await startHttpServer('127.0.0.2', (req, res) => {
    const url = req.url ?? '/';
    const chain = /^\/r\/(\d+)$/.exec(url);
    if (chain) {
      const n = Number(chain[1]);
      // alternate absolute-path and relative forms of Location
      const next = n <= 1 ? '/final' : n % 2 === 0 ? `/r/${n - 1}` : `${n - 1}`;
      res.writeHead(302, { location: next }).end();
      return;
    }
    switch (url) {
      case '/page':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html><body>Hello VIGIL synthetic Page</body></html>');
        return;
      case '/final':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('final');
        return;
      case '/headers':
        seenHeaders = req.headers;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      case '/takedown':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>This file has been removed</h1>');
        return;
      case '/404':
        res.writeHead(404, { 'content-type': 'text/html' }).end('not found');
        return;
      case '/410':
        res.writeHead(410).end();
        return;
      case '/loop':
        res.writeHead(301, { location: '/loop' }).end();
        return;
      case '/to-ftp':
        res.writeHead(302, { location: 'ftp://web.test/file' }).end();
        return;
      case '/to-file':
        res.writeHead(302, { location: 'file:///etc/passwd' }).end();
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'application/json' });
        void writeFiller(res, 4 * MAX_BODY);
        return;
      case '/big-html':
        res.writeHead(200, { 'content-type': 'text/html' });
        void writeFiller(res, 200 * KIB, 10 * KIB);
        return;
      case '/exact':
        res.writeHead(200, { 'content-type': 'text/plain' });
        void writeFiller(res, MAX_BODY);
        return;
      case '/image':
        serveUnreadable('image', 'image/jpeg', res);
        return;
      case '/video':
        serveUnreadable('video', 'video/mp4', res);
        return;
      case '/octet':
        serveUnreadable('octet', 'application/octet-stream', res);
        return;
      case '/stall-body':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html>partial');
        return; // and never more
      default:
        res.writeHead(500).end();
    }
  });

  slow = await startHttpServer('127.0.0.3', (_req, res) => {
    slowInFlight++;
    slowMaxInFlight = Math.max(slowMaxInFlight, slowInFlight);
    // the server's own pacing (not a test sleep): long enough for concurrent requests to overlap
    setTimeout(() => {
      slowInFlight--;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('slow');
    }, 40);
  });

  hang = await startTcpServer('127.0.0.4', () => {});
  overflow = await startTcpServer('127.0.0.4', (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nx-filler: ${'a'.repeat(100 * KIB)}\r\n\r\n`);
  });
  garbage = await startTcpServer('127.0.0.4', (socket) => {
    socket.end('THIS IS NOT HTTP\r\n\r\n');
  });
  reset = await startTcpServer('127.0.0.5', (socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
  sni = await startSniRecorder('127.0.0.2');
  fetcher = makeFetcher();
});

afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await Promise.all([dns, web, slow, hang, overflow, garbage, reset, sni].map((s) => s.close()));
});

function expectResponse(result: FetchResult): Extract<FetchResult, { kind: 'response' }> {
  if (result.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

describe('responses', () => {
  test('200 page: status, headers, remote address, lower-cased text sample → live', async () => {
    const result = expectResponse(await fetcher.fetch({ url: `http://web.test:${web.port}/page` }));
    expect(result).toMatchObject({ status: 200, redirects: 0, remoteAddress: '127.0.0.2', truncated: false });
    expect(result.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(result.textSample).toBe('<html><body>hello vigil synthetic page</body></html>');
    expect(result.bodyBytes).toBe(Buffer.byteLength('<html><body>Hello VIGIL synthetic Page</body></html>'));
    expect(result.finalUrl).toBe(`http://web.test:${web.port}/page`);
    expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'live', reason: 'http_200' });
    expect(result.media).toEqual({ contentType: 'text/html', contentLength: null, etag: null, lastModified: null }); // chunked
    expect(result.mediaRefs).toEqual([]);
    expect(result.digests).toBeNull();
  });

  test('sends user-agent and accept-encoding: gzip, deflate, br (vigil decodes them itself)', async () => {
    const result = expectResponse(await fetcher.fetch({ url: web.url('/headers') }));
    expect(result.textSample).toBeNull(); // not a sampled type
    expect(seenHeaders['user-agent']).toBe('vigil-test/1');
    expect(seenHeaders['accept-encoding']).toBe('gzip, deflate, br');
    expect(seenHeaders.host).toBe(`127.0.0.2:${web.port}`);
  });

  test('the Host header carries the name, not the dialled address', async () => {
    await fetcher.fetch({ url: `http://web.test:${web.port}/headers` });
    expect(seenHeaders.host).toBe(`web.test:${web.port}`);
  });

  test('a takedown page → gone', async () => {
    const result = await fetcher.fetch({ url: web.url('/takedown') });
    expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'gone', reason: 'takedown_page' });
  });

  test.each([
    ['/404', 404],
    ['/410', 410],
  ])('%s → gone', async (path, status) => {
    const result = await fetcher.fetch({ url: web.url(path) });
    expect(result).toMatchObject({ kind: 'response', status });
    expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'gone', reason: `http_${status}` });
  });
});


describe('redirects', () => {
  test('a chain within the cap is followed; relative Locations resolve against the current URL', async () => {
    const result = expectResponse(await fetcher.fetch({ url: web.url('/r/5') }));
    expect(result).toMatchObject({ status: 200, redirects: 5, finalUrl: web.url('/final') });
  });

  test('one redirect over the cap → too_many_redirects', async () => {
    const before = web.requests.filter((p) => p.startsWith('/r/') || p === '/final').length;
    const result = await fetcher.fetch({ url: web.url('/r/6') });
    expect(result).toMatchObject({ kind: 'error', error: 'too_many_redirects', redirects: 5 });
    // 6 redirect responses fetched, the 6th not followed
    expect(web.requests.filter((p) => p.startsWith('/r/') || p === '/final').length - before).toBe(6);
  });

  test('a redirect loop → too_many_redirects, after 1 + maxRedirects requests', async () => {
    const before = web.requests.filter((p) => p === '/loop').length;
    const result = await fetcher.fetch({ url: web.url('/loop') });
    expect(result).toMatchObject({ kind: 'error', error: 'too_many_redirects', redirects: 5 });
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
    expect(web.requests.filter((p) => p === '/loop').length - before).toBe(6);
  });

  test.each([
    ['/to-ftp', 'ftp://web.test/file'],
    ['/to-file', 'file:///etc/passwd'],
  ])('a redirect to a non-http scheme (%s) → blocked_scheme', async (path, target) => {
    const result = await fetcher.fetch({ url: web.url(path) });
    expect(result).toMatchObject({ kind: 'error', error: 'blocked_scheme', finalUrl: target, redirects: 1 });
    expect(classifyOutcome(result, RULES).outcome).toBe('refused');
  });
});

describe('schemes', () => {
  test.each(['ftp://web.test/x', 'file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)', 'gopher://web.test/'])(
    '%s → blocked_scheme, without DNS or connection',
    async (url) => {
      const queries = dns.queries.length;
      const connections = web.connections;
      const result = await fetcher.fetch({ url });
      expect(result).toMatchObject({ kind: 'error', error: 'blocked_scheme', redirects: 0 });
      expect(dns.queries.length).toBe(queries);
      expect(web.connections).toBe(connections);
    },
  );

  test('an unparseable URL → other', async () => {
    expect(await fetcher.fetch({ url: 'not a url' })).toMatchObject({ kind: 'error', error: 'other', detail: 'invalid_url' });
  });

  test('an unknown vantage is refused rather than silently going direct', async () => {
    const connections = web.connections;
    expect(await fetcher.fetch({ url: web.url('/page'), vantage: 'nl-1' })).toMatchObject({ error: 'other', detail: 'vantage_unknown', vantage: 'nl-1' });
    expect(web.connections).toBe(connections);
  });
});

describe('bodies', () => {
  test('a body over the cap is cut at the cap: truncated', async () => {
    const result = expectResponse(await fetcher.fetch({ url: web.url('/big') }));
    expect(result).toMatchObject({ status: 200, truncated: true, bodyBytes: MAX_BODY, textSample: null });
  });

  test('a body of exactly the cap is not truncated', async () => {
    const result = expectResponse(await fetcher.fetch({ url: web.url('/exact') }));
    expect(result).toMatchObject({ truncated: false, bodyBytes: MAX_BODY });
  });

  test('the text sample stops at 64 KiB; the body is still counted', async () => {
    const result = expectResponse(await fetcher.fetch({ url: web.url('/big-html') }));
    expect(result.bodyBytes).toBe(200 * KIB);
    expect(result.textSample?.length).toBe(64 * KIB);
  });

  test.each([
    ['image', '/image'],
    ['video', '/video'],
    ['octet', '/octet'],
  ])('a %s body is not read: the client closes before the server has sent it', async (name, path) => {
    const result = expectResponse(await fetcher.fetch({ url: web.url(path) }));
    expect(result).toMatchObject({ status: 200, bodyBytes: 0, truncated: false, textSample: null });
    const closed = await clientClosed[name];
    expect(closed?.bytesWritten).toBeLessThan(closed?.planned ?? 0);
  });
});

describe('deadline', () => {
  const quick = (): HttpFetcher => makeFetcher({ totalTimeoutMs: 300 });

  test('a server that accepts and never answers → timeout, at the deadline', async () => {
    const accepted = hang.connections;
    const result = await quick().fetch({ url: `http://127.0.0.4:${hang.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'timeout', detail: 'deadline' });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(3_000);
    expect(hang.connections).toBe(accepted + 1);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });

  test('a body that stalls → timeout', async () => {
    const result = await quick().fetch({ url: web.url('/stall-body') });
    expect(result).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(result.durationMs).toBeLessThan(3_000);
  });

  test('the deadline covers DNS: a resolver that never answers cannot hold the fetch', async () => {
    const result = await quick().fetch({ url: `http://silent.test:${web.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'timeout', detail: 'deadline' });
    expect(result.durationMs).toBeLessThan(1_500); // the resolver's own timeout is 2 s
  });

  test("the caller's signal aborts the fetch", async () => {
    const controller = new AbortController();
    const next = hang.nextConnection();
    const pending = fetcher.fetch({ url: `http://127.0.0.4:${hang.port}/`, signal: controller.signal });
    await next;
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'error', error: 'timeout', detail: 'aborted' });
  });
});

describe('failures', () => {
  test('NXDOMAIN → dns_nxdomain (gone); SERVFAIL → dns_failure (inconclusive); NODATA → dns_nodata', async () => {
    const nx = await fetcher.fetch({ url: 'http://no-such-host.test/' });
    expect(nx).toMatchObject({ kind: 'error', error: 'dns_nxdomain' });
    expect(classifyOutcome(nx, RULES).outcome).toBe('gone');
    const servfail = await fetcher.fetch({ url: 'http://servfail.test/' });
    expect(servfail).toMatchObject({ kind: 'error', error: 'dns_failure', detail: 'ESERVFAIL' });
    expect(classifyOutcome(servfail, RULES).outcome).toBe('inconclusive');
    expect(await fetcher.fetch({ url: 'http://nodata.test/' })).toMatchObject({ kind: 'error', error: 'dns_nodata' });
  });

  test('connection refused → connection_refused (gone)', async () => {
    const port = await closedPort('127.0.0.5');
    const result = await fetcher.fetch({ url: `http://127.0.0.5:${port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'connection_refused', detail: 'ECONNREFUSED' });
    expect(classifyOutcome(result, RULES).outcome).toBe('gone');
  });

  test('a reset connection → connection_reset', async () => {
    const result = await fetcher.fetch({ url: `http://127.0.0.5:${reset.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'connection_reset' });
  });

  test('oversized response headers → protocol', async () => {
    const result = await fetcher.fetch({ url: `http://127.0.0.4:${overflow.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'protocol', detail: 'UND_ERR_HEADERS_OVERFLOW' });
  });

  test('a response that is not HTTP → protocol', async () => {
    const result = await fetcher.fetch({ url: `http://127.0.0.4:${garbage.port}/` });
    expect(result).toMatchObject({ kind: 'error', error: 'protocol' });
    expect(result.kind === 'error' && result.detail).toMatch(/^(HPE_|HTTPParserError)/);
  });

  test('TLS: the SNI name is the host name; a handshake the server drops is inconclusive', async () => {
    const result = await fetcher.fetch({ url: `https://sni.test:${sni.port}/` });
    // Node's server just closes the socket when SNICallback fails: seen as a reset mid-handshake
    expect(result.kind === 'error' && result.error).toMatch(/^(tls|connection_reset)$/);
    expect(sni.servernames).toContain('sni.test');
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });

  test('TLS spoken to a plain HTTP server → tls', async () => {
    const result = await fetcher.fetch({ url: `https://127.0.0.2:${web.port}/page` });
    expect(result).toMatchObject({ kind: 'error', error: 'tls' });
  });
});

describe('limits', () => {
  test('global concurrency: at most `concurrency` fetches run at once', async () => {
    slowMaxInFlight = 0;
    const limited = makeFetcher({ concurrency: 2, perHostConcurrency: 8 });
    const results = await Promise.all(Array.from({ length: 6 }, () => limited.fetch({ url: slow.url('/') })));
    expect(results.every((r) => r.kind === 'response' && r.status === 200)).toBe(true);
    expect(slowMaxInFlight).toBe(2);
  });

  test('per-host concurrency: at most `perHostConcurrency` connections to one origin', async () => {
    slowMaxInFlight = 0;
    const connections = slow.connections;
    const limited = makeFetcher({ concurrency: 16, perHostConcurrency: 1 });
    const results = await Promise.all(Array.from({ length: 4 }, () => limited.fetch({ url: slow.url('/') })));
    expect(results.every((r) => r.kind === 'response')).toBe(true);
    expect(slowMaxInFlight).toBe(1);
    expect(slow.connections - connections).toBe(1); // keep-alive: one socket reused
  });
});
