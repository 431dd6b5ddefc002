import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticImage, syntheticPage } from './content.js';
import { startHttpHost, type HttpHost } from './http-host.js';
import { selfSignedCert } from './tls-cert.js';

const started: HttpHost[] = [];
async function host(options: Parameters<typeof startHttpHost>[0]): Promise<HttpHost> {
  const h = await startHttpHost(options);
  started.push(h);
  return h;
}
afterEach(async () => { await Promise.all(started.splice(0).map((h) => h.close())); });

describe('content', () => {
  it('syntheticImage: random bytes behind a PNG or JPEG signature, with matching digests', () => {
    const png = syntheticImage(512);
    expect(png.body.length).toBe(512);
    expect(png.body.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.sha256).toBe(createHash('sha256').update(png.body).digest('hex'));
    expect(png.sha1).toBe(createHash('sha1').update(png.body).digest('hex'));
    expect(png.md5).toBe(createHash('md5').update(png.body).digest('hex'));
    const jpeg = syntheticImage(64, 'jpeg');
    expect(jpeg.body.subarray(0, 3).toString('hex')).toBe('ffd8ff');
    expect(jpeg.contentType).toBe('image/jpeg');
    expect(syntheticImage(512).sha256).not.toBe(png.sha256);
    expect(() => syntheticImage(3)).toThrow(RangeError);
  });

  it('syntheticPage: title, images, links and escaped text', () => {
    const html = syntheticPage({ title: 'T <1>', images: ['/a.png', 'http://127.0.0.2/b.jpg'], text: 'x & y', links: ['/next'] });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>T &lt;1&gt;</title>');
    expect(html).toContain('<img src="/a.png"');
    expect(html).toContain('<img src="http://127.0.0.2/b.jpg"');
    expect(html).toContain('<p>x &amp; y</p>');
    expect(html).toContain('<a href="/next">');
  });
});

describe('startHttpHost', () => {
  it('serves programmable and static routes on a 127.0.0.X address, logs requests', async () => {
    const h = await host({ address: '127.0.0.2' });
    expect(h.origin).toBe(`http://127.0.0.2:${h.port}`);
    h.route('POST', '/echo', async (req, res) => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      res.writeHead(201, { 'content-type': 'text/plain' }).end(`got ${body}`);
    });
    h.routeStatic('/hello', { status: 200, headers: { 'content-type': 'text/plain', 'x-test': 'yes' }, body: 'hello' });

    const echo = await request(h.url('/echo?q=1'), { method: 'POST', body: 'ping' });
    expect(echo.statusCode).toBe(201);
    expect(await echo.body.text()).toBe('got ping');
    const hello = await request(h.url('/hello'), { headers: { 'user-agent': 'world-test' } });
    expect(hello.headers['x-test']).toBe('yes');
    expect(await hello.body.text()).toBe('hello');
    const head = await request(h.url('/hello'), { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(await head.body.text()).toBe('');
    const missing = await request(h.url('/nope'));
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();

    expect(h.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /echo', 'GET /hello', 'HEAD /hello', 'GET /nope']);
    expect(h.requests[0]?.url).toBe('/echo?q=1');
    expect(h.requests[1]?.headers['user-agent']).toBe('world-test');
  });

  it('prefix routes, replacement, unroute, and handler errors become 500', async () => {
    const h = await host({ address: '127.0.0.3' });
    h.route('GET', '/files/*', (req, res) => { res.end(`file ${req.url}`); });
    h.route('GET', '/boom', () => { throw new Error('boom'); });
    expect(await (await request(h.url('/files/a/b'))).body.text()).toBe('file /files/a/b');
    h.routeStatic('/x', { body: 'one' });
    h.routeStatic('/x', { body: 'two' });
    expect(await (await request(h.url('/x'))).body.text()).toBe('two');
    h.unroute('/x');
    const gone = await request(h.url('/x'));
    expect(gone.statusCode).toBe(404);
    await gone.body.dump();
    const boom = await request(h.url('/boom'));
    expect(boom.statusCode).toBe(500);
    await boom.body.dump();
  });

  it('counts connections (keep-alive reuse) and close() destroys idle keep-alive sockets', async () => {
    const h = await host({ address: '127.0.0.4' });
    h.routeStatic('/', { body: 'ok' });
    // One connection per origin, so a second TCP connection would mean keep-alive failed.
    const agent = new Agent({ keepAliveTimeout: 60_000, connections: 1 });
    try {
      for (let i = 0; i < 3; i++) await (await request(h.url('/'), { dispatcher: agent })).body.text();
      expect(h.connections).toBe(1);
      expect(h.openConnections).toBe(1);
      const t0 = Date.now();
      await h.close();
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(h.server.listening).toBe(false);
      expect(h.openConnections).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('injectLatency delays responses; close() does not wait for it', async () => {
    const h = await host({ address: '127.0.0.5' });
    h.routeStatic('/', { body: 'ok' });
    h.injectLatency(150);
    const t0 = Date.now();
    await (await request(h.url('/'))).body.text();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    h.injectLatency(10_000);
    const arrived = once(h.server, 'request');
    const pending = request(h.url('/')).then(() => 'answered', () => 'failed');
    await arrived;
    const t1 = Date.now();
    await h.close();
    expect(await pending).toBe('failed');
    expect(Date.now() - t1).toBeLessThan(1000);
  });

  it('serves HTTPS with a given key and certificate', async () => {
    const tls = selfSignedCert({ ipAddresses: ['127.0.0.6'] });
    const h = await host({ address: '127.0.0.6', tls });
    h.routeStatic('/', { body: 'secure' });
    expect(h.origin).toMatch(/^https:\/\/127\.0\.0\.6:/);
    const trusting = new Agent({ connect: { ca: tls.cert } });
    try {
      expect(await (await request(h.url('/'), { dispatcher: trusting })).body.text()).toBe('secure');
    } finally {
      await trusting.close();
    }
    await expect(request(h.url('/'))).rejects.toThrow(/self.signed|certificate/i);
  });

  it('refuses non-loopback addresses', async () => {
    await expect(startHttpHost({ address: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});
