/**
 * Full traces on the loopback world: DNS (with CNAMEs, answers changing mid-test), generated
 * country/ASN databases, RDAP with abuse contacts, CDN marking, and failures kept apart from
 * "no contact". RDAP referrals go through the crawler's guard (tests/tracing/support/world-guard).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../../core/clock.js';
import { hostingChanged } from '../../core/trace-change.js';
import { openTracer } from '../../tracing/create-tracer.js';
import { GeoDatabases } from '../../tracing/geo-databases.js';
import { RdapBootstrap } from '../../tracing/rdap-bootstrap.js';
import { RdapClient } from '../../tracing/rdap-client.js';
import { Tracer } from '../../tracing/tracer.js';
import { autnum, ipNetwork } from '../world/rdap-fixtures.js';
import { startWorld, type World } from '../world/world.js';
import { worldGuard, type WorldGuard } from './support/world-guard.js';

const TRACED_AT = new Date('2030-01-02T03:04:05.000Z');
const clock: Clock = { now: () => TRACED_AT };

let world: World;
let guard: WorldGuard;
let geo: GeoDatabases;
let bootstrap: RdapBootstrap;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  world = await startWorld();
  guard = worldGuard(world);
  const config = world.config();
  geo = await GeoDatabases.open({ countryDb: config.tracing.countryDb, asnDb: config.tracing.asnDb, watch: false });
  bootstrap = await RdapBootstrap.load(config.tracing.rdapBootstrap);
});

afterAll(async () => {
  for (const close of closers) await close();
  geo.close();
  await guard.close();
  await world.close();
});

/** A tracer with fresh caches. */
function tracer(options: { cdnAsns?: number[]; now?: () => number; rdap?: boolean } = {}): Tracer {
  const resolver = options.now ? worldGuard(world, { now: options.now }).resolver : guard.resolver;
  const rdap = options.rdap === false ? null : new RdapClient({ bootstrap, guardedDispatcher: guard.guarded.agent, deadlineMs: 2_000, now: options.now });
  if (rdap) closers.push(() => rdap.close());
  return new Tracer({ resolver, geo, rdap, rdapBootstrap: bootstrap.info, cdnAsns: options.cdnAsns ?? [13335], clock });
}

describe('a fleet host', () => {
  test('the whole record, with provenance', async () => {
    const url = world.url('127.0.0.2', '/page.html');
    const record = await tracer().trace(url);
    expect(record).toEqual({
      target: url,
      host: 'host-2.fleet.test',
      observedIp: null,
      dns: {
        name: 'host-2.fleet.test', outcome: 'ok', code: null, chain: [], chainComplete: true,
        answers: [{ address: '127.0.0.2', type: 'A', ttl: 60 }], fromCache: expect.any(Boolean),
      },
      addresses: ['127.0.0.2'],
      hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting NL AS64496', viaCdn: false },
      ipSource: 'dns',
      countrySource: { database: world.countryDbPath, field: 'country.iso_code' },
      orgSource: 'asn_db',
      network: { name: 'SYN-HOST-2', handle: expect.any(String), country: 'NL', startAddress: '127.0.0.2', endAddress: '127.0.0.2', org: 'Synthetic Hosting NL AS64496' },
      registrar: { domain: 'fleet.test', name: 'Synthetic Registrar', handle: 'REGISTRAR-9999', ianaId: '9999' },
      contacts: [
        { source: 'ip', role: 'abuse', email: 'abuse@as64496.example.test', name: 'Synthetic Hosting NL AS64496 Abuse Desk', handle: 'ORG-AS64496-ABUSE', viaCdn: false, rdapUrl: `${world.rdap.baseUrl}ip/127.0.0.2` },
        { source: 'domain', role: 'registrar_abuse', email: 'abuse@registrar.example.test', name: 'Synthetic Registrar Abuse Desk', handle: 'REGISTRAR-9999-ABUSE', viaCdn: false, rdapUrl: `${world.rdap.baseUrl}domain/fleet.test` },
      ],
      contactStatus: 'found',
      databases: [
        { role: 'country', path: world.countryDbPath, databaseType: 'GeoLite2-Country', buildEpoch: expect.stringMatching(/^\d{4}-/), ipVersion: 6 },
        { role: 'asn', path: world.asnDbPath, databaseType: 'GeoLite2-ASN', buildEpoch: expect.stringMatching(/^\d{4}-/), ipVersion: 6 },
      ],
      rdap: [
        { kind: 'ip', query: '127.0.0.2', outcome: 'found', urls: [`${world.rdap.baseUrl}ip/127.0.0.2`], reason: null, detail: null, fetchedAt: expect.any(String) },
        { kind: 'domain', query: 'fleet.test', outcome: 'found', urls: [`${world.rdap.baseUrl}domain/fleet.test`], reason: null, detail: null, fetchedAt: expect.any(String) },
      ],
      rdapBootstrap: { source: world.rdapBootstrap.dir, publications: { ipv4: expect.any(String), ipv6: expect.any(String), asn: expect.any(String), dns: expect.any(String) } },
      tracedAt: TRACED_AT,
    });
  });

  test.each([
    ['127.0.0.3', 'DE', 64497],
    ['127.0.0.4', 'US', 64498],
    ['127.0.0.5', 'GB', 64499],
  ])('%s is in %s, AS%i', async (address, country, asn) => {
    const record = await tracer().trace(world.url(address, '/'));
    expect(record.hosting).toMatchObject({ ip: address, country, asn });
  });

  test('an address no country database knows: country null, everything else still traced', async () => {
    const record = await tracer().trace(world.url('127.0.0.6', '/'));
    expect(record.hosting).toEqual({ ip: '127.0.0.6', country: null, asn: 64500, org: 'Synthetic Hosting XX AS64500', viaCdn: false });
    expect(record.countrySource).toBeNull();
    expect(record.contactStatus).toBe('found');
  });
});

describe('which address is the hosting address', () => {
  test('the address a check connected to wins over DNS', async () => {
    const record = await tracer().trace(world.url('127.0.0.2', '/'), { observedIp: '::ffff:127.0.0.3' });
    expect(record).toMatchObject({ observedIp: '127.0.0.3', ipSource: 'observed', addresses: ['127.0.0.2'], hosting: { ip: '127.0.0.3', country: 'DE' } });
  });

  test('an address literal needs no DNS and has no registrar', async () => {
    const record = await tracer().trace('http://127.0.0.4:8080/x');
    expect(record).toMatchObject({ host: '127.0.0.4', ipSource: 'literal', dns: { outcome: 'literal', name: null }, hosting: { ip: '127.0.0.4', country: 'US' }, registrar: null });
    expect(record.rdap.map((q) => q.kind)).toEqual(['ip']);
  });

  test('a bare host name and a host:port are targets too', async () => {
    expect((await tracer().trace('host-3.fleet.test')).hosting.country).toBe('DE');
    expect((await tracer().trace('HOST-3.fleet.test:8443')).host).toBe('host-3.fleet.test');
  });

  test('a CNAME chain is recorded, and the canonical name\'s address is traced', async () => {
    world.dns.setRecord('www.alias.test', { CNAME: 'cdn-edge.fleet.test' });
    world.dns.setRecord('cdn-edge.fleet.test', { CNAME: 'host-4.fleet.test' });
    const record = await tracer().trace('https://www.alias.test/img.jpg');
    expect(record.dns.chain).toEqual([{ name: 'www.alias.test', target: 'cdn-edge.fleet.test' }, { name: 'cdn-edge.fleet.test', target: 'host-4.fleet.test' }]);
    expect(record.hosting).toMatchObject({ ip: '127.0.0.4', country: 'US' });
    // The registrar is the alias's: alias.test is what the URL names.
    expect(record.rdap.find((q) => q.kind === 'domain')).toMatchObject({ query: 'alias.test', outcome: 'not_found' });
  });

  test('a name that is gone: no address, no hosting; the failure is in the record', async () => {
    const gone = await tracer().trace('http://gone.fleet.test/');
    expect(gone).toMatchObject({ dns: { outcome: 'nxdomain' }, addresses: [], ipSource: null, hosting: { ip: null, country: null, asn: null, org: null, viaCdn: false } });
    world.dns.setRecord('slow.fleet.test', { A: ['127.0.0.2'] });
    world.dns.setBehaviour('slow.fleet.test', 'servfail');
    expect((await tracer().trace('http://slow.fleet.test/')).dns).toMatchObject({ outcome: 'failure', code: 'ESERVFAIL' });
  });
});

describe('hosting that moves', () => {
  test('DNS answers that change mid-test: the next trace after the TTL sees the move, and the rule calls it a country change', async () => {
    let now = 1_000_000;
    const t = tracer({ now: () => now });
    world.dns.setRecord('mover.fleet.test', { A: ['127.0.0.2'], ttl: 30 });
    const first = await t.trace('http://mover.fleet.test/x');
    expect(first.hosting).toMatchObject({ ip: '127.0.0.2', country: 'NL' });

    world.dns.setRecord('mover.fleet.test', { A: ['127.0.0.3'], ttl: 30 });
    now += 29_000;
    const cached = await t.trace('http://mover.fleet.test/x');
    expect(cached).toMatchObject({ dns: { fromCache: true, answers: [{ ttl: 1 }] }, hosting: { ip: '127.0.0.2' } });
    expect(hostingChanged(first.hosting, cached.hosting)).toEqual({ countryChanged: false, ipChanged: false });

    now += 1_000;
    const moved = await t.trace('http://mover.fleet.test/x');
    expect(moved.hosting).toMatchObject({ ip: '127.0.0.3', country: 'DE', asn: 64497 });
    expect(hostingChanged(first.hosting, moved.hosting)).toEqual({ countryChanged: true, ipChanged: true });
  });
});

describe('CDNs', () => {
  test('an address in a CDN\'s AS is viaCdn, and the CDN\'s abuse desk is kept, marked', async () => {
    const record = await tracer({ cdnAsns: [64497] }).trace(world.url('127.0.0.3', '/'));
    expect(record.hosting).toMatchObject({ asn: 64497, viaCdn: true });
    expect(record.contacts).toEqual([
      expect.objectContaining({ source: 'ip', email: 'abuse@as64497.example.test', viaCdn: true }),
      expect.objectContaining({ source: 'domain', email: 'abuse@registrar.example.test', viaCdn: false }),
    ]);
    expect((await tracer({ cdnAsns: [64497] }).trace(world.url('127.0.0.2', '/'))).hosting.viaCdn).toBe(false);
  });
});

describe('contacts: found, none found, lookup failed', () => {
  test('no abuse e-mail on the network: the AS holder\'s is used', async () => {
    world.rdap.setIp('127.0.0.5', ipNetwork({ network: '127.0.0.5', abuse: 'none' }));
    const record = await tracer().trace('127.0.0.5');
    expect(record.rdap.map((q) => [q.kind, q.outcome])).toEqual([['ip', 'found'], ['autnum', 'found']]);
    expect(record.contacts).toEqual([expect.objectContaining({ source: 'autnum', email: 'abuse@as64499.example.test' })]);
    expect(record.contactStatus).toBe('found');
  });

  test('every lookup answered, none had an e-mail: none_found', async () => {
    world.rdap.setIp('127.0.0.5', ipNetwork({ network: '127.0.0.5', abuseVcard: false }));
    world.rdap.setAutnum(64499, autnum({ asn: 64499, abuse: 'none' }));
    const record = await tracer().trace('127.0.0.5');
    expect(record.contacts).toEqual([expect.objectContaining({ source: 'ip', email: null, handle: expect.stringContaining('ABUSE') })]);
    expect(record.contactStatus).toBe('none_found');
  });

  test('a lookup that failed is not "no contact": lookup_failed, with the reason', async () => {
    world.rdap.setIp('127.0.0.5', { behaviour: 'bad-json' });
    world.rdap.setAutnum(64499, { behaviour: 'status', status: 503 });
    const record = await tracer().trace('127.0.0.5');
    expect(record.rdap).toEqual([
      expect.objectContaining({ kind: 'ip', outcome: 'failed', reason: 'bad_json' }),
      expect.objectContaining({ kind: 'autnum', outcome: 'failed', reason: 'http_status', detail: 'status 503' }),
    ]);
    expect(record.contactStatus).toBe('lookup_failed');
    expect(record.hosting).toMatchObject({ country: 'GB', asn: 64499 }); // the databases still answered
  });

  test('no RDAP client: lookup_failed, hosting from the databases', async () => {
    const record = await tracer({ rdap: false }).trace(world.url('127.0.0.2', '/'));
    expect(record).toMatchObject({ contacts: [], rdap: [], contactStatus: 'lookup_failed', hosting: { country: 'NL' } });
  });
});

describe('bad targets', () => {
  test.each(['', 'http://', 'http://[zz/', 'http://exa mple.test/'])('%j throws VIGIL_TRACE_BAD_TARGET', async (target) => {
    await expect(tracer().trace(target)).rejects.toMatchObject({ code: 'VIGIL_TRACE_BAD_TARGET' });
  });
});

describe('openTracer: built from the tracing configuration, as the composition root does', () => {
  test('traces a fleet host', async () => {
    const opened = await openTracer({
      tracing: { ...world.config().tracing, cdnAsns: [64498] },
      resolver: guard.resolver,
      guardedDispatcher: guard.guarded.agent,
      clock,
      watch: false,
    });
    closers.push(() => opened.close());
    const record = await opened.tracer.trace(world.url('127.0.0.4', '/page.html'));
    expect(record.hosting).toEqual({ ip: '127.0.0.4', country: 'US', asn: 64498, org: 'Synthetic Hosting US AS64498', viaCdn: true });
    expect(record.contactStatus).toBe('found');
  });
});
