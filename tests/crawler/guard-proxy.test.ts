/**
 * The guard proxy on its own (no browser): absolute-form forwarding, CONNECT tunnels, refusals.
 * Allowed servers on 127.0.0.2/127.0.0.3 (allowNetworks 127.0.0.2/31, 127.0.0.4/31); CANARIES on
 * 127.0.0.1 and 127.0.0.66 must see zero connections whatever the route.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import type net from 'node:net';
import { GuardProxy, GUARD_HEADER } from '../../crawler/guard-proxy.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startHttpServer, startTcpServer, type TestHttpServer, type TestTcpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';

interface ProxyAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An absolute-form request sent to the proxy, as a browser sends it. */
function viaProxy(port: number, target: string, headers: Record<string, string> = {}): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A CONNECT request; resolves with the status and, on 200, the tunnel socket. */
function connectVia(port: number, target: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: target, agent: false });
    req.on('connect', (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, socket: res.socket });
    });
    req.on('error', reject);
    req.end();
  });
}

let dns: TestDnsServer;
let canary1: TestTcpServer;
let canary66: TestTcpServer;
let allowed: TestHttpServer;
let echo: TestTcpServer;
let echoed: Buffer[];
let proxy: GuardProxy;
let wsHost: TestTcpServer; // an allowed host a WebSocket upgrade must not reach

beforeAll(async () => {
  canary1 = await startTcpServer('127.0.0.1');
  canary66 = await startTcpServer('127.0.0.66');
  dns = await startDnsServer({
    'allowed.test': { A: ['127.0.0.2'] },
    'canary.test': { A: ['127.0.0.66'] },
    'canary-one.test': { A: ['127.0.0.1'] },
  });
  allowed = await startHttpServer('127.0.0.2', (req, res) => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/image') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': '8' }).end('PNGBYTES');
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('x'.repeat(64 * 1024));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html',
      [GUARD_HEADER]: 'dns_nxdomain', // a server forging a guard verdict
      connection: 'x-secret',
      'x-secret': 'hop-only',
    }).end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  wsHost = await startTcpServer('127.0.0.4', () => {});
  echoed = [];
  echo = await startTcpServer('127.0.0.3', (socket) => {
    socket.on('data', (chunk: Buffer) => {
      echoed.push(chunk);
      socket.write(chunk);
    });
  });
  proxy = await new GuardProxy({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }),
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/31'],
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 1_500,
    maxBodyBytes: 32 * 1024,
  }).start();
});

afterEach(() => {
  expect([canary1.connections, canary66.connections]).toEqual([0, 0]);
});

afterAll(async () => {
  await proxy.close();
  await Promise.all([dns, canary1, canary66, allowed, echo, wsHost].map((s) => s.close()));
});

describe('absolute-form requests', () => {
  test('are forwarded to an allowed host, hop-by-hop and forged guard headers removed', async () => {
    const answer = await viaProxy(proxy.port, `${allowed.url('/page')}`, { 'proxy-connection': 'keep-alive', 'x-ok': '1' });
    expect(answer.status).toBe(200);
    expect(answer.headers[GUARD_HEADER]).toBeUndefined();
    expect(answer.headers['x-secret']).toBeUndefined();
    const seen = JSON.parse(answer.body) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe('/page');
    expect(seen.headers['x-ok']).toBe('1');
    expect(seen.headers['proxy-connection']).toBeUndefined();
  });

  test('reach an allowed host by a name in the test DNS', async () => {
    const answer = await viaProxy(proxy.port, `http://allowed.test:${allowed.port}/named`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ path: '/named' });
  });

  test.each([
    ['127.0.0.1', () => `http://127.0.0.1:${canary1.port}/`],
    ['decimal 127.0.0.1', () => `http://2130706433:${canary1.port}/`],
    ['mapped IPv6', () => `http://[::ffff:127.0.0.1]:${canary1.port}/`],
    ['127.0.0.66', () => `http://127.0.0.66:${canary66.port}/`],
    ['a name pointing at the canary', () => `http://canary.test:${canary66.port}/`],
    ['a name pointing at 127.0.0.1', () => `http://canary-one.test:${canary1.port}/`],
  ])('to a canary (%s) are refused with the guard verdict', async (_name, target) => {
    const before = proxy.counts().refusedBy.blocked_address ?? 0;
    const answer = await viaProxy(proxy.port, target());
    expect(answer.status).toBe(502);
    expect(answer.headers[GUARD_HEADER]).toBe('blocked_address');
    expect(proxy.counts().refusedBy.blocked_address).toBe(before + 1);
  });

  test('to a name that does not exist say so', async () => {
    const since = performance.now();
    const answer = await viaProxy(proxy.port, 'http://gone.test/');
    expect(answer.headers[GUARD_HEADER]).toBe('dns_nxdomain');
    expect(proxy.verdictFor('gone.test:80', since)).toMatchObject({ kind: 'dns_nxdomain' });
  });

  test('for media are refused, and media bodies are dropped unread', async () => {
    const favicon = await viaProxy(proxy.port, allowed.url('/icon'), { accept: 'image/avif,image/webp,*/*' });
    expect([favicon.status, favicon.headers[GUARD_HEADER]]).toEqual([403, 'other']);
    const byName = await viaProxy(proxy.port, allowed.url('/clip.mp4'));
    expect(byName.status).toBe(403);
    const image = await viaProxy(proxy.port, allowed.url('/image'));
    expect([image.status, image.body, image.headers['content-type']]).toEqual([200, '', 'image/png']);
    expect(allowed.requests).not.toContain('/icon');
    expect(allowed.requests).not.toContain('/clip.mp4');
  });

  test('in origin form, or for https, are refused', async () => {
    expect((await viaProxy(proxy.port, '/local')).status).toBe(400);
    expect((await viaProxy(proxy.port, `https://127.0.0.2:${allowed.port}/`)).status).toBe(403);
  });

  test('end within the request deadline when the upstream hangs', async () => {
    const started = performance.now();
    const answer = await viaProxy(proxy.port, allowed.url('/hang'));
    expect([answer.status, answer.headers[GUARD_HEADER]]).toEqual([504, 'timeout']);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test('have their body cut at the byte cap', async () => {
    await expect(viaProxy(proxy.port, allowed.url('/big'))).rejects.toThrow();
  });
});

describe('WebSocket upgrades', () => {
  test('are refused before they reach the host', async () => {
    const before = proxy.counts().refusedBy.websocket ?? 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.4:${wsHost.port}/ws`, agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => resolve(101));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(proxy.counts().refusedBy.websocket).toBe(before + 1);
    expect(wsHost.connections).toBe(0);
  });
});

describe('CONNECT tunnels', () => {
  test('to an allowed host relay a TLS-looking stream', async () => {
    const { status, socket } = await connectVia(proxy.port, `127.0.0.3:${echo.port}`);
    expect(status).toBe(200);
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x2a]);
    socket.write(hello);
    const [back] = (await new Promise<Buffer[]>((resolve) => socket.once('data', (b: Buffer) => resolve([b])))) as [Buffer];
    expect(back.equals(hello)).toBe(true);
    socket.destroy();
  });

  test('that start in plain text (ws://) are cut before a byte is relayed', async () => {
    const before = echoed.length;
    const { status, socket } = await connectVia(proxy.port, `127.0.0.3:${echo.port}`);
    expect(status).toBe(200);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n');
    await closed;
    expect(echoed.length).toBe(before);
    expect(proxy.counts().refusedBy.plaintext_tunnel).toBeGreaterThan(0);
  });

  test.each([
    ['127.0.0.66', () => `127.0.0.66:${canary66.port}`, 'blocked_address'],
    ['127.0.0.1', () => `127.0.0.1:${canary1.port}`, 'blocked_address'],
    ['a name pointing at the canary', () => `canary.test:${canary66.port}`, 'blocked_address'],
    ['a name that does not exist', () => 'gone.test:443', 'dns_nxdomain'],
  ])('to %s are refused, and the verdict is kept', async (_name, target, kind) => {
    const since = performance.now();
    const { status, socket } = await connectVia(proxy.port, target());
    socket.destroy();
    expect(status).toBe(kind === 'blocked_address' ? 403 : 502);
    expect(proxy.verdictFor(target(), since)).toMatchObject({ kind });
  });
});

test('a refuse-all proxy refuses everything', async () => {
  const background = await new GuardProxy({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }),
    allowNetworks: ['127.0.0.2/31'],
    refuseAll: true,
  }).start();
  try {
    expect((await viaProxy(background.port, allowed.url('/bg'))).status).toBe(403);
    const { status, socket } = await connectVia(background.port, `127.0.0.3:${echo.port}`);
    socket.destroy();
    expect(status).toBe(403);
    expect(background.counts()).toMatchObject({ allowed: 0, refused: 2 });
    expect(allowed.requests).not.toContain('/bg');
  } finally {
    await background.close();
  }
});
