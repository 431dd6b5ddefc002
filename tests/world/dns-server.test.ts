import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from './dns-server.js';

let dns: DnsServer;
let resolver: Resolver;

beforeAll(async () => {
  dns = await startDnsServer();
  resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([dns.address]);
});
afterAll(async () => { await dns.close(); });

/** The error code a rejected promise carries. */
async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (err) { return (err as NodeJS.ErrnoException).code; }
  return undefined;
}

describe('startDnsServer', () => {
  it('listens on loopback with a host:port address', () => {
    expect(dns.host).toBe('127.0.0.1');
    expect(dns.port).toBeGreaterThan(0);
    expect(dns.address).toBe(`127.0.0.1:${dns.port}`);
  });

  it('answers A and AAAA queries, case-insensitively, with TTLs', async () => {
    dns.setRecord('Shop.Example.TEST', { A: ['127.0.0.2', '127.0.0.3'], AAAA: ['::1'], ttl: 42 });
    expect((await resolver.resolve4('shop.example.test')).sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(await resolver.resolve4('SHOP.example.test', { ttl: true })).toContainEqual({ address: '127.0.0.2', ttl: 42 });
    expect(await resolver.resolve6('shop.example.test')).toEqual(['::1']);
    expect(dns.queries.filter((q) => q.name === 'shop.example.test').map((q) => q.type)).toEqual(['A', 'A', 'AAAA']);
  });

  it('follows CNAME chains like a recursive resolver', async () => {
    dns.setRecord('www.chain.test', { CNAME: 'cdn.chain.test' });
    dns.setRecord('cdn.chain.test', { CNAME: 'edge.chain.test' });
    dns.setRecord('edge.chain.test', { A: ['127.0.0.4'] });
    expect(await resolver.resolve4('www.chain.test')).toEqual(['127.0.0.4']);
    expect(await resolver.resolveCname('www.chain.test')).toEqual(['cdn.chain.test']);
    // The raw answer section carries the whole chain plus the address.
    const reply = await rawQuery(dns, 'www.chain.test', 'A', 'udp');
    expect(reply.answers?.map((a) => `${a.name} ${a.type} ${String((a as { data?: unknown }).data)}`)).toEqual([
      'www.chain.test CNAME cdn.chain.test',
      'cdn.chain.test CNAME edge.chain.test',
      'edge.chain.test A 127.0.0.4',
    ]);
  });

  it('answers NXDOMAIN with an SOA for unknown names and for removed ones', async () => {
    expect(await errorCode(resolver.resolve4('nothing-here.test'))).toBe('ENOTFOUND');
    const reply = await rawQuery(dns, 'nothing-here.test', 'A', 'udp');
    expect(reply.rcode).toBe('NXDOMAIN');
    expect(reply.authorities?.[0]?.type).toBe('SOA');
    dns.setRecord('brief.test', { A: ['127.0.0.5'] });
    expect(await resolver.resolve4('brief.test')).toEqual(['127.0.0.5']);
    dns.removeRecord('BRIEF.test');
    expect(await errorCode(resolver.resolve4('brief.test'))).toBe('ENOTFOUND');
  });

  it('answers NODATA for a known name without the asked type', async () => {
    dns.setRecord('v4only.test', { A: ['127.0.0.2'] });
    expect(await errorCode(resolver.resolve6('v4only.test'))).toBe('ENODATA');
    const reply = await rawQuery(dns, 'v4only.test', 'AAAA', 'udp');
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.answers).toEqual([]);
  });

  it('a chain ending in an unknown name is NXDOMAIN; a loop is SERVFAIL', async () => {
    dns.setRecord('dangling.test', { CNAME: 'gone.test' });
    expect(await errorCode(resolver.resolve4('dangling.test'))).toBe('ENOTFOUND');
    dns.setRecord('loop-a.test', { CNAME: 'loop-b.test' });
    dns.setRecord('loop-b.test', { CNAME: 'loop-a.test' });
    expect(await errorCode(resolver.resolve4('loop-a.test'))).toBe('ESERVFAIL');
  });

  it('changes answers at run time', async () => {
    dns.setRecord('moving.test', { A: ['127.0.0.2'] });
    expect(await resolver.resolve4('moving.test')).toEqual(['127.0.0.2']);
    dns.setRecord('moving.test', { A: ['127.0.0.3'] });
    expect(await resolver.resolve4('moving.test')).toEqual(['127.0.0.3']);
  });

  it('servfail and timeout behaviours, and back to normal', async () => {
    dns.setRecord('flaky.test', { A: ['127.0.0.2'] });
    dns.setBehaviour('flaky.test', 'servfail');
    expect(await errorCode(resolver.resolve4('flaky.test'))).toBe('ESERVFAIL');
    dns.setBehaviour('flaky.test', 'refused');
    expect(await errorCode(resolver.resolve4('flaky.test'))).toBe('EREFUSED');
    dns.setBehaviour('flaky.test', 'timeout');
    const quick = new Resolver({ timeout: 150, tries: 1 });
    quick.setServers([dns.address]);
    expect(await errorCode(quick.resolve4('flaky.test'))).toBe('ETIMEOUT');
    dns.setBehaviour('flaky.test', 'normal');
    expect(await resolver.resolve4('flaky.test')).toEqual(['127.0.0.2']);
  });

  it('answers over TCP on the same port', async () => {
    dns.setRecord('tcp.test', { A: ['127.0.0.6'] });
    const reply = await rawQuery(dns, 'tcp.test', 'A', 'tcp');
    expect(reply.answers?.[0]).toMatchObject({ type: 'A', data: '127.0.0.6' });
    expect(dns.queries.at(-1)).toMatchObject({ name: 'tcp.test', transport: 'tcp' });
  });

  it('refuses non-loopback answers', () => {
    // Non-routable placeholders only: the world never names a real address, even to refuse it.
    expect(() => dns.setRecord('bad.test', { A: ['0.0.0.0'] })).toThrow(/loopback/);
    expect(() => dns.setRecord('bad.test', { A: ['255.255.255.255'] })).toThrow(/loopback/);
    expect(() => dns.setRecord('bad.test', { AAAA: ['::'] })).toThrow(/loopback/);
    expect(() => dns.setRecord('bad.test', { CNAME: 'x.test', A: ['127.0.0.2'] })).toThrow(/CNAME/);
  });
});

/** One query by hand, over UDP or TCP, returning the decoded reply (with its rcode). */
async function rawQuery(server: DnsServer, name: string, type: 'A' | 'AAAA', transport: 'udp' | 'tcp'): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const query = { type: 'query' as const, id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' as const }] };
  if (transport === 'tcp') {
    const socket = net.connect({ host: server.host, port: server.port });
    try {
      socket.write(dnsPacket.streamEncode(query));
      const chunks: Buffer[] = [];
      for await (const chunk of socket) {
        chunks.push(chunk as Buffer);
        const all = Buffer.concat(chunks);
        if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) return dnsPacket.streamDecode(all) as dnsPacket.DecodedPacket;
      }
      throw new Error('TCP connection closed before a reply');
    } finally {
      socket.destroy();
    }
  }
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      socket.once('message', (msg) => resolve(dnsPacket.decode(msg)));
      socket.once('error', reject);
      socket.send(dnsPacket.encode(query), server.port, server.host);
    });
  } finally {
    socket.close();
  }
}
