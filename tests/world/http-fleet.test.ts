import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digests } from './content.js';
import { MAX_FLEET_SIZE, startFleet, type Fleet } from './http-fleet.js';

let fleet: Fleet;
beforeAll(async () => { fleet = await startFleet(4); });
afterAll(async () => { await fleet.close(); });

async function get(url: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

describe('startFleet', () => {
  it('binds 127.0.0.2 … 127.0.0.(n+1), sharing one port', () => {
    expect(fleet.addresses).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    expect(fleet.port).toBeGreaterThan(0);
    for (const h of fleet.hosts) expect(h.port).toBe(fleet.port);
    expect(fleet.host('127.0.0.4').address).toBe('127.0.0.4');
    expect(() => fleet.host('127.0.0.66')).toThrow();
  });

  it('each address is its own host with its own content and request log', async () => {
    const pages = await Promise.all(fleet.hosts.map((h) => get(h.url('/page.html'))));
    pages.forEach((p, i) => {
      const h = fleet.hosts[i]!;
      expect(p.status).toBe(200);
      expect(p.body.toString()).toContain(h.content.marker);
      expect(p.body.toString()).toContain('<img src="/image.png"');
      expect(h.requests.at(-1)?.path).toBe('/page.html');
    });
    expect(new Set(fleet.hosts.map((h) => h.content.marker)).size).toBe(4);
  });

  it('serves synthetic images whose digests the host knows', async () => {
    const h = fleet.host('127.0.0.3');
    const png = await get(h.url('/image.png'));
    expect(png.headers['content-type']).toBe('image/png');
    expect(digests(png.body).sha256).toBe(h.content.png.sha256);
    const jpg = await get(h.url('/image.jpg'));
    expect(jpg.headers['content-type']).toBe('image/jpeg');
    expect(digests(jpg.body).md5).toBe(h.content.jpeg.md5);
    expect(h.content.png.sha256).not.toBe(fleet.host('127.0.0.2').content.png.sha256);
  });

  it('404, 410 and arbitrary statuses', async () => {
    const h = fleet.hosts[0]!;
    expect((await get(h.url('/404'))).status).toBe(404);
    expect((await get(h.url('/410'))).status).toBe(410);
    expect((await get(h.url('/status/451'))).status).toBe(451);
    expect((await get(h.url('/status/503'))).status).toBe(503);
    expect((await get(h.url('/status/abc'))).status).toBe(400);
  });

  it('301/302 redirects, cross-host redirects, and refuses off-loopback targets', async () => {
    const h = fleet.hosts[0]!;
    const r301 = await get(h.url('/redirect/301'));
    expect(r301.status).toBe(301);
    expect(r301.headers.location).toBe('/page.html');
    const other = fleet.host('127.0.0.5').url('/image.png');
    const r302 = await get(h.url(`/redirect/302?to=${encodeURIComponent(other)}`));
    expect(r302.status).toBe(302);
    expect(r302.headers.location).toBe(other);
    const named = await get(h.url(`/redirect/307?to=${encodeURIComponent('http://host-3.fleet.test/x')}`));
    expect(named.headers.location).toBe('http://host-3.fleet.test/x');
    expect((await get(h.url(`/redirect/302?to=${encodeURIComponent('http://outside.example/')}`))).status).toBe(400);
    expect((await get(h.url('/redirect/302?to=//evil.invalid/'))).status).toBe(400);
    expect((await get(h.url('/redirect/200'))).status).toBe(400);
  });

  it('redirect chains of n hops end on the page', async () => {
    const h = fleet.hosts[1]!;
    let url = h.url('/chain/3');
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await get(url);
      seen.push(res.status);
      if (res.status !== 302) { expect(res.body.toString()).toContain(h.content.marker); break; }
      url = new URL(String(res.headers.location), url).toString();
    }
    expect(seen).toEqual([302, 302, 302, 200]);
  });

  it('per-host latency', async () => {
    const slow = fleet.host('127.0.0.4');
    const fast = fleet.host('127.0.0.5');
    slow.injectLatency(200);
    try {
      const t0 = Date.now();
      await get(fast.url('/'));
      const fastMs = Date.now() - t0;
      const t1 = Date.now();
      await get(slow.url('/'));
      expect(Date.now() - t1).toBeGreaterThanOrEqual(190);
      expect(fastMs).toBeLessThan(190);
    } finally {
      slow.injectLatency(0);
    }
  });

  it('rejects sizes that would reach the canary address', async () => {
    await expect(startFleet(0)).rejects.toThrow(RangeError);
    await expect(startFleet(MAX_FLEET_SIZE + 1)).rejects.toThrow(RangeError);
  });

  it('close() stops every host, even with keep-alive connections open', async () => {
    const own = await startFleet(3);
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      for (const h of own.hosts) await (await request(h.url('/'), { dispatcher: agent })).body.text();
      expect(own.hosts.map((h) => h.openConnections)).toEqual([1, 1, 1]);
      await own.close();
      expect(own.hosts.every((h) => !h.server.listening && h.openConnections === 0)).toBe(true);
    } finally {
      await agent.close();
    }
  });
});
