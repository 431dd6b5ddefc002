/**
 * HttpFetcher against hostile servers (issue 3) not already covered by http-fetcher.test.ts:
 * drip-fed headers and bodies, endless chunked bodies, lying Content-Length, long redirect chains,
 * malformed framing, untrusted and expired certificates, and memory under many endless bodies.
 *
 * Every fetch must END within its deadline (plus a margin) with the right FetchResult and
 * classifyOutcome. Servers bind loopback (127.0.0.2–5, in allowNetworks) and serve synthetic
 * bytes; the servers may pace themselves with timers, the tests only wait on fetch promises and
 * server events.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classifyOutcome } from '../../core/classify-outcome.js';
import type { FetchResult } from '../../core/fetcher.js';
import { BUILTIN_CHALLENGE_PATTERNS, BUILTIN_TAKEDOWN_PATTERNS } from '../../core/takedown-patterns.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../crawler/http-fetcher.js';
import { createDnsResolver, type HostResolver } from '../../tracing/dns-resolver.js';
import { selfSignedCert } from '../world/tls-cert.js';
import { startHttpServer, startTcpServer, type TestHttpServer, type TestTcpServer } from './support/loopback-servers.js';
import { KIB, MIB } from './support/synthetic-bodies.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

const RULES = { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
/** how late past its deadline a fetch may end */
const MARGIN_MS = 1_500;
/** the deadline of the drip tests: the servers would need far longer to finish */
const SHORT_DEADLINE_MS = 1_000;
const DEFAULT_DEADLINE_MS = 5_000;
const DRIP_INTERVAL_MS = 100;

let dns: TestDnsServer;
let resolver: HostResolver;
let web: TestHttpServer; // 127.0.0.2: slow and endless bodies, redirect chain
let raw: Record<string, TestTcpServer> = {}; // 127.0.0.4: hand-written (broken) responses
let tlsSelf: https.Server; // 127.0.0.3
let tlsExpired: https.Server; // 127.0.0.3
let expiredCertMade = false;
const fetchers: HttpFetcher[] = [];
/** server-side sockets of the header-drip server, resolved on close */
const dripClosed: Array<Promise<void>> = [];
/** bytes the endless body server had written per response when the client hung up */
const endlessWritten: number[] = [];

function makeFetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({
    resolver,
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/31'],
    userAgent: 'vigil-test/1',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: DEFAULT_DEADLINE_MS,
    maxBodyBytes: 256 * KIB,
    maxRedirects: 10,
    concurrency: 32,
    perHostConcurrency: 32,
    ...overrides,
  });
  fetchers.push(f);
  return f;
}

/** Fetch and measure wall-clock time from the caller's side. */
async function timed(f: HttpFetcher, url: string): Promise<{ result: FetchResult; elapsed: number }> {
  const start = performance.now();
  const result = await f.fetch({ url });
  return { result, elapsed: performance.now() - start };
}

function expectResponse(result: FetchResult): Extract<FetchResult, { kind: 'response' }> {
  if (result.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

function expectError(result: FetchResult): Extract<FetchResult, { kind: 'error' }> {
  if (result.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify({ ...result, headers: undefined })}`);
  return result;
}

/** Synthetic filler forever, produced only as fast as the client reads it. */
function endless(chunk = 16 * KIB): { stream: Readable; produced(): number } {
  const block = Buffer.alloc(chunk, 'v');
  let produced = 0;
  const stream = new Readable({
    read() {
      produced += block.length;
      this.push(block);
    },
  });
  return { stream, produced: () => produced };
}

/** Write `bytes` one at a time, every DRIP_INTERVAL_MS, until done or the socket closes. */
function drip(write: (b: string) => void, closed: () => boolean, bytes: string, onDone?: () => void): void {
  let i = 0;
  const timer = setInterval(() => {
    if (closed()) {
      clearInterval(timer);
      return;
    }
    if (i >= bytes.length) {
      clearInterval(timer);
      onDone?.();
      return;
    }
    write(bytes[i++] ?? '');
  }, DRIP_INTERVAL_MS);
}

/** A raw server that answers the first request on each connection with `respond`. */
async function rawServer(respond: (socket: net.Socket, path: string) => void): Promise<TestTcpServer> {
  return startTcpServer('127.0.0.4', (socket) => {
    let buffered = '';
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const path = /^GET (\S+) HTTP/.exec(head)?.[1] ?? '/';
        respond(socket, path);
      }
    });
  });
}

/** An expired self-signed certificate (notAfter before now), or null if openssl cannot make one. */
function expiredCert(): { key: string; cert: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hostile-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const csr = join(dir, 'req.csr');
    const cert = join(dir, 'cert.pem');
    const ext = join(dir, 'ext.cnf');
    writeFileSync(ext, 'subjectAltName=DNS:expired.test\n');
    const quiet = { stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'] };
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', csr, '-subj', '/CN=expired.test'], quiet);
    // OpenSSL 3.0 has no `req -not_after`; a negative validity puts notAfter a day in the past
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-signkey', key, '-days', '-1', '-extfile', ext, '-out', cert], quiet);
    const pem = readFileSync(cert, 'utf8');
    const dates = execFileSync('openssl', ['x509', '-noout', '-enddate', '-in', cert], { encoding: 'utf8' });
    const notAfter = Date.parse(dates.replace(/^notAfter=/, '').trim());
    if (!(notAfter < Date.now())) return null;
    return { key: readFileSync(key, 'utf8'), cert: pem };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startTls(host: string, creds: { key: string; cert: string }): Promise<https.Server> {
  const server = https.createServer(creds, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>synthetic</p>');
  });
  server.on('tlsClientError', () => {});
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

function portOf(server: https.Server): number {
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  dns = await startDnsServer({
    'hostile.test': { A: ['127.0.0.2'] },
    'self.test': { A: ['127.0.0.3'] },
    'expired.test': { A: ['127.0.0.3'] },
  });
  resolver = createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 1 });

  web = await startHttpServer('127.0.0.2', (req, res) => {
    const url = req.url ?? '/';
    const hop = /^\/hop\/(\d+)$/.exec(url);
    if (hop) {
      const n = Number(hop[1]);
      res.writeHead(302, { location: n <= 1 ? '/end' : `/hop/${n - 1}` }).end();
      return;
    }
    switch (url) {
      case '/end':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('end of the chain');
        return;
      case '/drip-body': {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.flushHeaders();
        // 600 bytes at 10 B/s: a minute, far beyond any deadline here
        drip((b) => res.write(b), () => res.destroyed, '<p>'.padEnd(600, 'x'), () => res.end());
        return;
      }
      case '/endless': {
        res.writeHead(200, { 'content-type': 'text/plain' }); // no length: chunked, forever
        const source = endless();
        source.stream.pipe(res);
        res.on('close', () => {
          endlessWritten.push(source.produced());
          source.stream.destroy();
        });
        return;
      }
      default:
        res.writeHead(500).end();
    }
  });

  raw = {
    // the status line, then header bytes one by one: the header block never completes in time
    dripHeaders: await startTcpServer('127.0.0.4', (socket) => {
      dripClosed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n');
        drip((b) => socket.write(b), () => socket.destroyed, `x-drip: ${'d'.repeat(300)}\r\n\r\n`);
      });
    }),
    // announces 100000 bytes, sends 10, closes
    longerLength: await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n<p>short</p>');
    }),
    // announces 5 bytes, sends more (here: bytes shaped like a second response) and keeps the socket
    shorterLength: await rawServer((socket, path) => {
      if (path === '/less') {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\n'
          + '<p>hiHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      } else {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');
      }
    }),
    badStatus: await rawServer((socket) => {
      socket.end('HTTP/1.1 2x0 WHAT\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok');
    }),
    twoLengths: await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\ncontent-length: 12\r\n\r\n<p>abc</p>xx');
    }),
    badChunk: await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n'
        + '5\r\n<p>ab\r\nZZZ\r\nnot a chunk\r\n0\r\n\r\n');
    }),
  };

  tlsSelf = await startTls('127.0.0.3', selfSignedCert({ dnsNames: ['self.test'], ipAddresses: ['127.0.0.3'] }));
  const expired = expiredCert();
  expiredCertMade = expired !== null;
  // without an expired certificate the server still starts (self-signed) so afterAll is uniform
  tlsExpired = await startTls('127.0.0.3', expired ?? selfSignedCert({ dnsNames: ['expired.test'], ipAddresses: ['127.0.0.3'] }));
});

afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  for (const s of [tlsSelf, tlsExpired]) s.closeAllConnections();
  await Promise.all([
    dns.close(),
    web.close(),
    ...Object.values(raw).map((s) => s.close()),
    ...[tlsSelf, tlsExpired].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  ]);
});

describe('slow servers end at the deadline', () => {
  test('headers dripped one byte every 100 ms → timeout (inconclusive), and the socket is dropped', async () => {
    const f = makeFetcher({ totalTimeoutMs: SHORT_DEADLINE_MS });
    const before = dripClosed.length;
    const { result, elapsed } = await timed(f, `http://127.0.0.4:${raw.dripHeaders?.port}/`);
    expect(expectError(result)).toMatchObject({ error: 'timeout', detail: 'deadline' });
    expect(elapsed).toBeGreaterThanOrEqual(SHORT_DEADLINE_MS - 50);
    expect(elapsed).toBeLessThan(SHORT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
    expect(dripClosed.length).toBe(before + 1);
    await dripClosed[before]; // the client hung up rather than keep the drip going
  }, 10_000);

  test('a body dripped one byte every 100 ms → timeout (inconclusive)', async () => {
    const f = makeFetcher({ totalTimeoutMs: SHORT_DEADLINE_MS });
    const { result, elapsed } = await timed(f, `http://hostile.test:${web.port}/drip-body`);
    expect(expectError(result)).toMatchObject({ error: 'timeout', detail: 'deadline' });
    expect(elapsed).toBeLessThan(SHORT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  }, 10_000);
});

describe('endless and lying bodies', () => {
  test('an endless chunked body is cut at maxBodyBytes: truncated, live', async () => {
    const f = makeFetcher({ maxBodyBytes: 256 * KIB });
    const written = endlessWritten.length;
    const { result, elapsed } = await timed(f, `http://hostile.test:${web.port}/endless`);
    const response = expectResponse(result);
    expect(response).toMatchObject({ status: 200, truncated: true, bodyBytes: 256 * KIB });
    expect(response.textSample?.length).toBe(64 * KIB);
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'live', reason: 'http_200' });
    // the client hung up: the server stopped producing soon after the cap
    await expect.poll(() => endlessWritten.length, { timeout: 3_000 }).toBe(written + 1);
    expect(endlessWritten[written]).toBeLessThan(16 * MIB);
  });

  test('Content-Length larger than the body, then close → an error (inconclusive), never live', async () => {
    const { result, elapsed } = await timed(makeFetcher(), `http://127.0.0.4:${raw.longerLength?.port}/`);
    const failure = expectError(result);
    expect(['connection_reset', 'protocol']).toContain(failure.error);
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });

  test('Content-Length smaller than the body → the announced bytes only; the rest is not taken as the next response', async () => {
    const f = makeFetcher();
    const base = `http://127.0.0.4:${raw.shorterLength?.port}`;
    const first = expectResponse((await timed(f, `${base}/less`)).result);
    expect(first).toMatchObject({ status: 200, bodyBytes: 5, truncated: false, textSample: '<p>hi' });
    expect(classifyOutcome(first, RULES).outcome).toBe('live');
    // the surplus looked like a 404: the next fetch on that origin must not be answered by it
    const { result, elapsed } = await timed(f, `${base}/after`);
    expect(expectResponse(result)).toMatchObject({ status: 200, bodyBytes: 2 });
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
  });
});

describe('redirect chains', () => {
  test('50 hops with maxRedirects 10 → too_many_redirects after 11 requests', async () => {
    const before = web.requests.length;
    const { result, elapsed } = await timed(makeFetcher({ maxRedirects: 10 }), `http://hostile.test:${web.port}/hop/50`);
    expect(expectError(result)).toMatchObject({ error: 'too_many_redirects', redirects: 10 });
    expect(web.requests.length - before).toBe(11);
    expect(web.requests.slice(before).at(-1)).toBe('/hop/40');
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });

  test('50 hops with maxRedirects 60 → followed to the end, live', async () => {
    const before = web.requests.length;
    const { result, elapsed } = await timed(makeFetcher({ maxRedirects: 60 }), `http://hostile.test:${web.port}/hop/50`);
    expect(expectResponse(result)).toMatchObject({ status: 200, redirects: 50, finalUrl: `http://hostile.test:${web.port}/end` });
    expect(web.requests.length - before).toBe(51);
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'live', reason: 'http_200' });
  });
});

describe('malformed responses → protocol, inconclusive, no crash', () => {
  // (a 100 KB header block and a response that is not HTTP at all: http-fetcher.test.ts)
  test.each([
    ['a garbage status code', 'badStatus'],
    ['two conflicting Content-Length headers', 'twoLengths'],
    ['an invalid chunk size', 'badChunk'],
  ])('%s', async (_name, server) => {
    const { result, elapsed } = await timed(makeFetcher(), `http://127.0.0.4:${raw[server]?.port}/`);
    const failure = expectError(result);
    expect(failure.error).toBe('protocol');
    expect(failure.detail).toMatch(/^(HPE_|HTTPParserError|UND_ERR_)/);
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });
});

describe('TLS certificates → tls, inconclusive', () => {
  test('a self-signed certificate', async () => {
    const { result, elapsed } = await timed(makeFetcher(), `https://self.test:${portOf(tlsSelf)}/`);
    expect(expectError(result)).toMatchObject({ error: 'tls' });
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });

  test('an expired certificate', async () => {
    // never skipped: if openssl cannot make one here, that is a failure to fix, not to hide
    expect(expiredCertMade, 'openssl could not make an expired certificate').toBe(true);
    const { result, elapsed } = await timed(makeFetcher(), `https://expired.test:${portOf(tlsExpired)}/`);
    // the certificate is also self-signed; Node checks the dates first, so it is the expiry that fails
    const failure = expectError(result);
    expect(failure.error).toBe('tls');
    expect(failure.detail).toBe('CERT_HAS_EXPIRED');
    expect(elapsed).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
    expect(classifyOutcome(result, RULES).outcome).toBe('inconclusive');
  });
});

describe('memory', () => {
  test('20 concurrent fetches of an endless body, 1 MiB cap, 3 rounds: RSS grows < 150 MB', async () => {
    const f = makeFetcher({ maxBodyBytes: MIB, concurrency: 20, perHostConcurrency: 20 });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      for (let round = 0; round < 3; round++) {
        const start = performance.now();
        const results = await Promise.all(Array.from({ length: 20 }, () => f.fetch({ url: `http://hostile.test:${web.port}/endless` })));
        expect(performance.now() - start).toBeLessThan(DEFAULT_DEADLINE_MS + MARGIN_MS);
        for (const r of results) expect(expectResponse(r)).toMatchObject({ status: 200, truncated: true, bodyBytes: MIB });
      }
      peak = Math.max(peak, process.memoryUsage().rss);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(150 * 1000 * 1000);
  }, 30_000);
});
