import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { open, type AsnResponse, type CountryResponse } from 'maxmind';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abuseEmails } from './rdap-fixtures.js';
import { sendSmtpMessage } from './smtp-dialogue.js';
import { CANARY_ADDRESS, rangeToCidrs, startWorld, type World } from './world.js';

let world: World;
let resolver: Resolver;
let agent: Agent;

/** Resolves names through the world's DNS only (never the system resolver). */
function worldLookup(r: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    r.resolve4(hostname).then(
      (addrs) => {
        if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, addrs.map((address) => ({ address, family: 4 })));
        else callback(null, addrs[0] ?? '', 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

beforeAll(async () => {
  world = await startWorld();
  resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers(world.config().crawler.dnsServers);
  agent = new Agent({ connect: { lookup: worldLookup(resolver) } });
});
afterAll(async () => {
  await agent.close();
  await world.close();
});

describe('rangeToCidrs', () => {
  it('covers exactly the range with the fewest blocks', () => {
    expect(rangeToCidrs('127.0.0.2', '127.0.0.6')).toEqual(['127.0.0.2/31', '127.0.0.4/31', '127.0.0.6/32']);
    expect(rangeToCidrs('127.0.0.2', '127.0.0.2')).toEqual(['127.0.0.2/32']);
    expect(rangeToCidrs('127.0.0.2', '127.0.0.61')).toEqual(['127.0.0.2/31', '127.0.0.4/30', '127.0.0.8/29', '127.0.0.16/28', '127.0.0.32/28', '127.0.0.48/29', '127.0.0.56/30', '127.0.0.60/31']);
    expect(rangeToCidrs('127.0.0.0', '127.0.0.255')).toEqual(['127.0.0.0/24']);
  });
});

describe('startWorld', () => {
  it('config() points vigil at the world; allowNetworks covers only the fleet', () => {
    const c = world.config();
    expect(c.crawler.dnsServers).toEqual([world.dns.address]);
    expect(c.crawler.allowNetworks).toEqual(['127.0.0.2/31', '127.0.0.4/31', '127.0.0.6/32']);
    expect(c.tracing.countryDb).toEqual([world.countryDbPath]);
    expect(c.tracing.asnDb).toEqual([world.asnDbPath]);
    expect(c.tracing.rdapBootstrap).toBe(world.rdapBootstrap.dir);
    expect(c.notices.smtp.url).toBe(world.smtp.url);
    for (const path of [world.countryDbPath, world.asnDbPath, world.rdapBootstrap.ipv4]) expect(existsSync(path)).toBe(true);
  });

  it('DNS names resolve to the fleet, the canary and the world host', async () => {
    expect(world.hosts.map((h) => h.hostname)).toEqual(['host-2.fleet.test', 'host-3.fleet.test', 'host-4.fleet.test', 'host-5.fleet.test', 'host-6.fleet.test']);
    for (const h of world.hosts) expect(await resolver.resolve4(h.hostname)).toEqual([h.address]);
    expect(await resolver.resolve4('canary.fleet.test')).toEqual([CANARY_ADDRESS]);
    expect(await resolver.resolve4('loopback.fleet.test')).toEqual(['127.0.0.1']);
  });

  it('fleet pages are reachable by name through the world DNS', async () => {
    for (const h of world.hosts) {
      const res = await request(world.url(h.address, '/page.html'), { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toContain(h.http.content.marker);
      expect(h.http.requests.at(-1)?.headers.host).toBe(`${h.hostname}:${h.http.port}`);
    }
  });

  it('the canary answers (so a guard failure would show) and logs every hit', async () => {
    expect(world.canary.address).toBe(CANARY_ADDRESS);
    const before = world.canary.requests.length;
    const res = await request(world.canary.url('/page.html'));
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(world.canary.requests.length).toBe(before + 1);
  });

  it('mmdb files map fleet addresses to countries and ASNs', async () => {
    const country = await open<CountryResponse>(world.countryDbPath);
    expect(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((a) => country.get(a)?.country?.iso_code ?? null))
      .toEqual(['NL', 'DE', 'US', 'GB', null]);
    expect(country.get(CANARY_ADDRESS)).toBeNull();
    const asn = await open<AsnResponse>(world.asnDbPath);
    expect(asn.get('127.0.0.2')).toEqual({ autonomous_system_number: 64496, autonomous_system_organization: world.host('127.0.0.2').org });
    expect(asn.get('127.0.0.6')?.autonomous_system_number).toBe(64500);
  });

  it('RDAP through the bootstrap files: ip network with abuse contact, autnum, domain', async () => {
    const ipv4 = JSON.parse(await readFile(world.rdapBootstrap.ipv4, 'utf8')) as { services: [string[], string[]][] };
    const base = ipv4.services[0]?.[1][0];
    expect(base).toBe(world.rdap.baseUrl);
    const ip = await request(`${base}ip/127.0.0.3`);
    const net = (await ip.body.json()) as Record<string, unknown>;
    expect(net).toMatchObject({ objectClassName: 'ip network', country: 'DE', startAddress: '127.0.0.3' });
    expect(abuseEmails(net)).toEqual([world.host('127.0.0.3').abuseEmail]);
    const as = (await (await request(`${base}autnum/64497`)).body.json()) as Record<string, unknown>;
    expect(as).toMatchObject({ objectClassName: 'autnum', startAutnum: 64497 });
    const dnsFile = JSON.parse(await readFile(world.rdapBootstrap.dns, 'utf8')) as { services: [string[], string[]][] };
    expect(dnsFile.services[0]?.[0]).toEqual(['test']);
    const dom = (await (await request(`${dnsFile.services[0]?.[1][0]}domain/fleet.test`)).body.json()) as Record<string, unknown>;
    expect(abuseEmails(dom)).toEqual(['abuse@registrar.example.test']);
  });

  it('SMTP and webhook sinks receive', async () => {
    const port = Number(new URL(world.config().notices.smtp.url).port);
    await sendSmtpMessage({ port, from: 'vigil@localhost', to: ['hotline@example.test'], message: 'Subject: hi\nX-Vigil-Notice-Id: w1\n\nbody\n' });
    expect((await world.smtp.waitForMessages(1, 2000))[0]?.headers['x-vigil-notice-id']).toBe('w1');
    const res = await request(world.webhooks.url('/nl'), { method: 'POST', body: '{"id":"w2"}' });
    await res.body.dump();
    expect((await world.webhooks.waitForDeliveries(1, 2000, '/nl'))[0]?.json).toEqual({ id: 'w2' });
  });

  it('custom countries and the country_code schema', async () => {
    const other = await startWorld({ fleetSize: 2, countries: { '127.0.0.2': 'FR', '127.0.0.3': null }, countrySchema: 'country_code', zone: 'other.test' });
    try {
      const country = await open<CountryResponse & { country_code?: string }>(other.countryDbPath);
      expect(country.get('127.0.0.2')).toEqual({ country_code: 'FR' });
      expect(country.get('127.0.0.3')).toBeNull();
      expect(other.config().crawler.allowNetworks).toEqual(['127.0.0.2/31']);
      expect(other.url('127.0.0.3', '/x')).toBe(`http://host-3.other.test:${other.host('127.0.0.3').http.port}/x`);
    } finally {
      await other.close();
    }
  });

  it('close() stops every server, frees every socket and removes temporary files', async () => {
    const servers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'UDPWrap').length;
    const baseline = servers();
    const w = await startWorld({ fleetSize: 3 });
    expect(servers()).toBeGreaterThan(baseline);
    // Leave a keep-alive connection open to be sure close() does not wait for it.
    const keepAlive = new Agent({ keepAliveTimeout: 60_000 });
    await (await request(w.fleet.hosts[0]!.url('/'), { dispatcher: keepAlive })).body.text();
    const t0 = Date.now();
    await w.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const s of [w.canary.server, w.rdap.server, w.webhooks.server, w.smtp.server.server, ...w.fleet.hosts.map((h) => h.server)]) {
      expect(s.listening).toBe(false);
    }
    expect(w.fleet.hosts[0]!.openConnections).toBe(0);
    expect(existsSync(w.dir)).toBe(false);
    expect(existsSync(w.rdapBootstrap.dir)).toBe(false);
    expect(servers()).toBe(baseline);
    await w.close(); // idempotent
    await keepAlive.close();
  });
});
