/**
 * The network guard end to end, through HttpFetcher. Allowed test servers live on 127.0.0.2–5
 * (allowNetworks 127.0.0.2/31, 127.0.0.4/31); CANARIES listen on 127.0.0.1, 127.0.0.66 and ::1,
 * which allowNetworks leaves out. Whatever route a URL takes — literal in any notation, DNS,
 * mixed DNS answer, redirect — a canary must see zero connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { classifyOutcome } from '../../core/classify-outcome.js';
import { BUILTIN_CHALLENGE_PATTERNS, BUILTIN_TAKEDOWN_PATTERNS } from '../../core/takedown-patterns.js';
import { HttpFetcher } from '../../crawler/http-fetcher.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startHttpServer, startTcpServer, type TestHttpServer, type TestTcpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

const RULES = { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS };

let dns: TestDnsServer;
let canary1: TestTcpServer; // 127.0.0.1
let canary66: TestTcpServer; // 127.0.0.66
let canary6: TestTcpServer; // ::1
let allowed: TestHttpServer; // 127.0.0.2
let allowed3: TestHttpServer; // 127.0.0.3
let fetcher: HttpFetcher;

beforeAll(async () => {
  canary1 = await startTcpServer('127.0.0.1');
  canary66 = await startTcpServer('127.0.0.66');
  canary6 = await startTcpServer('::1');
  dns = await startDnsServer({
    'allowed.test': { A: ['127.0.0.2'] },
    'mapped-ok.test': { AAAA: ['::ffff:127.0.0.3'] },
    'canary.test': { A: ['127.0.0.66'] },
    'canary-one.test': { A: ['127.0.0.1'] },
    'canary-mapped.test': { AAAA: ['::ffff:127.0.0.1'] },
    'mixed.test': { A: ['127.0.0.2', '127.0.0.66'] },
    'mixed-family.test': { A: ['127.0.0.2'], AAAA: ['::ffff:127.0.0.1'] },
  });
  allowed = await startHttpServer('127.0.0.2', (req, res) => {
    const redirects: Record<string, string> = {
      '/to-canary-literal': `http://127.0.0.1:${canary1.port}/`,
      '/to-canary-decimal': `http://2130706433:${canary1.port}/`,
      '/to-canary-name': `http://canary.test:${canary66.port}/`,
      '/to-mixed': `http://mixed.test:${canary66.port}/`,
      '/to-canary-v6': `http://[::1]:${canary6.port}/`,
      '/to-allowed3': `http://127.0.0.3:${allowed3.port}/`,
    };
    const target = redirects[req.url ?? ''];
    if (target) {
      res.writeHead(302, { location: target }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>synthetic allowed page</p>');
  });
  allowed3 = await startHttpServer('127.0.0.3', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('synthetic page three');
  });
  fetcher = new HttpFetcher({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }),
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/31'],
    userAgent: 'vigil-test',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    concurrency: 8,
    perHostConcurrency: 2,
  });
});

afterEach(() => {
  // The point of this file: nothing ever reached a canary.
  expect([canary1.connections, canary66.connections, canary6.connections]).toEqual([0, 0, 0]);
});

afterAll(async () => {
  await fetcher.close();
  await Promise.all([dns, canary1, canary66, canary6, allowed, allowed3].map((s) => s.close()));
});

async function expectRefused(url: string, expectedFinalUrl?: string): Promise<void> {
  const result = await fetcher.fetch({ url });
  expect(result).toMatchObject({ kind: 'error', error: 'blocked_address' });
  if (expectedFinalUrl !== undefined) expect(result.kind === 'error' && result.finalUrl).toBe(expectedFinalUrl);
  expect(classifyOutcome(result, RULES)).toEqual({ outcome: 'refused', reason: 'blocked_address' });
}

describe('controls', () => {
  test('a canary counts connections (harness check, on a separate canary)', async () => {
    const probe = await startTcpServer('127.0.0.66');
    const socket = net.connect(probe.port, '127.0.0.66');
    await once(socket, 'close');
    expect(probe.connections).toBe(1);
    await probe.close();
  });

  test('an allowed name and an allowed literal are fetched', async () => {
    const byName = await fetcher.fetch({ url: `http://allowed.test:${allowed.port}/` });
    expect(byName).toMatchObject({ kind: 'response', status: 200, remoteAddress: '127.0.0.2' });
    const byLiteral = await fetcher.fetch({ url: allowed3.url('/') });
    expect(byLiteral).toMatchObject({ kind: 'response', status: 200, remoteAddress: '127.0.0.3' });
  });

  test('an AAAA answer in IPv4-mapped form is judged and dialled as IPv4', async () => {
    const before = allowed3.requests.length;
    const result = await fetcher.fetch({ url: `http://mapped-ok.test:${allowed3.port}/` });
    expect(result).toMatchObject({ kind: 'response', status: 200, remoteAddress: '127.0.0.3' });
    expect(allowed3.requests.length).toBe(before + 1);
  });

  test('a redirect to another allowed host is followed', async () => {
    const result = await fetcher.fetch({ url: allowed.url('/to-allowed3') });
    expect(result).toMatchObject({ kind: 'response', status: 200, redirects: 1, remoteAddress: '127.0.0.3' });
  });
});

describe('literal URLs outside allowNetworks are refused in every notation', () => {
  const forms = (port: number): string[] => [
    `http://127.0.0.1:${port}/`,
    `http://2130706433:${port}/`, // decimal
    `http://0x7f000001:${port}/`, // hex
    `http://0177.0.0.1:${port}/`, // octal
    `http://127.1:${port}/`, // short
    `http://0x7f.0.0.1:${port}/`, // mixed
    `http://[::ffff:127.0.0.1]:${port}/`, // IPv4-mapped IPv6
    `http://[::ffff:7f00:1]:${port}/`,
    `https://127.0.0.1:${port}/`,
  ];

  test.each([0, 1, 2, 3, 4, 5, 6, 7, 8])('form %i', async (i) => {
    await expectRefused(forms(canary1.port)[i] as string);
  });

  test('IPv6 loopback', async () => {
    await expectRefused(`http://[::1]:${canary6.port}/`);
    await expectRefused(`http://[0:0:0:0:0:0:0:1]:${canary6.port}/`);
  });

  test('127.0.0.66 (loopback, not in allowNetworks)', async () => {
    await expectRefused(`http://127.0.0.66:${canary66.port}/`);
  });
});

describe('DNS routes to a refused address', () => {
  test('a name whose only address is refused', async () => {
    await expectRefused(`http://canary.test:${canary66.port}/`);
    await expectRefused(`http://canary-one.test:${canary1.port}/`);
  });

  test('a name whose AAAA answer is a mapped refused address', async () => {
    await expectRefused(`http://canary-mapped.test:${canary1.port}/`);
  });

  test('a mixed answer (allowed + refused) refuses the name: neither address is dialled', async () => {
    const before = allowed.connections;
    await expectRefused(`http://mixed.test:${allowed.port}/`);
    await expectRefused(`http://mixed-family.test:${allowed.port}/`);
    expect(allowed.connections).toBe(before);
  });
});

describe('redirects from an allowed host to a refused address', () => {
  test.each([
    ['/to-canary-literal', () => `http://127.0.0.1:${canary1.port}/`],
    ['/to-canary-decimal', () => `http://127.0.0.1:${canary1.port}/`],
    ['/to-canary-name', () => `http://canary.test:${canary66.port}/`],
    ['/to-mixed', () => `http://mixed.test:${canary66.port}/`],
    ['/to-canary-v6', () => `http://[::1]:${canary6.port}/`],
  ])('%s', async (path, target) => {
    const before = allowed.requests.filter((p) => p === path).length;
    await expectRefused(allowed.url(path), target());
    // the first hop really happened: the refusal is the redirect's
    expect(allowed.requests.filter((p) => p === path).length).toBe(before + 1);
  });
});
