/**
 * The RDAP client against the world's RDAP server on loopback: answers, 404s, bad JSON, slow
 * servers, oversized bodies, redirects and referrals — the latter through the crawler's network
 * guard, which lets the fleet (127.0.0.2–.6) through and refuses the world's own 127.0.0.1 and the
 * canary on 127.0.0.66.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { RdapBootstrap } from '../../tracing/rdap-bootstrap.js';
import { RdapClient, type RdapClientOptions } from '../../tracing/rdap-client.js';
import { domain, ipNetwork, rdapEntity } from '../world/rdap-fixtures.js';
import { startRdapServer, type RdapServer } from '../world/rdap-server.js';
import { startWorld, type World } from '../world/world.js';
import { worldGuard, type WorldGuard } from './support/world-guard.js';

let world: World;
let guard: WorldGuard;
let bootstrap: RdapBootstrap;
/** A second RDAP server inside allowNetworks: where referrals may go. */
let referral: RdapServer;
const clients: RdapClient[] = [];

beforeAll(async () => {
  world = await startWorld();
  guard = worldGuard(world);
  bootstrap = await RdapBootstrap.load(world.config().tracing.rdapBootstrap);
  referral = await startRdapServer({ host: '127.0.0.3' });
});

afterEach(() => {
  // Whatever was answered, nothing ever reached the canary.
  expect(world.canary.requests).toEqual([]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await guard.close();
  await referral.close();
  await world.close();
});

function client(options: Partial<RdapClientOptions> = {}): RdapClient {
  const c = new RdapClient({ bootstrap, guardedDispatcher: guard.guarded.agent, deadlineMs: 2_000, ...options });
  clients.push(c);
  return c;
}

const asked = (server: RdapServer, query: string) => server.requests.filter((r) => r.query === query).length;

describe('IP networks', () => {
  test('a fleet address: network, registrant, country and the nested abuse contact', async () => {
    const r = await client().lookupIp('127.0.0.2');
    expect(r).toMatchObject({ outcome: 'found', urls: [`${world.rdap.baseUrl}ip/127.0.0.2`], fromCache: false });
    if (r.outcome !== 'found') throw new Error('unreachable');
    expect(r.data).toMatchObject({ name: 'SYN-HOST-2', country: 'NL', org: 'Synthetic Hosting NL AS64496' });
    expect(r.data.abuse.flatMap((c) => c.emails)).toEqual(['abuse@as64496.example.test']);
    // The first hop went to 127.0.0.1, which the guard refuses: bootstrap servers are trusted as written.
  });

  test('IPv4-mapped IPv6 is asked as IPv4', async () => {
    const r = await client().lookupIp('::ffff:127.0.0.3');
    expect(r.urls).toEqual([`${world.rdap.baseUrl}ip/127.0.0.3`]);
  });

  test('a network without abuse entity, or with one without vCard, is found with no e-mail — not a failure', async () => {
    world.rdap.setIp('127.0.1.1', ipNetwork({ network: '127.0.1.1', abuse: 'none' }));
    world.rdap.setIp('127.0.1.2', ipNetwork({ network: '127.0.1.2', abuseVcard: false }));
    const none = await client().lookupIp('127.0.1.1');
    const noCard = await client().lookupIp('127.0.1.2');
    expect(none).toMatchObject({ outcome: 'found', data: { abuse: [] } });
    expect(noCard).toMatchObject({ outcome: 'found', data: { abuse: [{ emails: [], roles: ['abuse'] }] } });
  });

  test('answers are cached for their TTL, then asked again', async () => {
    let now = 1_000_000;
    const c = client({ now: () => now, cacheTtlMs: 60_000 });
    world.rdap.setIp('127.0.1.3', ipNetwork({ network: '127.0.1.3' }));
    const before = asked(world.rdap, 'ip/127.0.1.3');
    expect(await c.lookupIp('127.0.1.3')).toMatchObject({ outcome: 'found', fromCache: false });
    expect(await c.lookupIp('127.0.1.3')).toMatchObject({ outcome: 'found', fromCache: true });
    expect(asked(world.rdap, 'ip/127.0.1.3') - before).toBe(1);
    now += 60_001;
    expect(await c.lookupIp('127.0.1.3')).toMatchObject({ outcome: 'found', fromCache: false });
    expect(asked(world.rdap, 'ip/127.0.1.3') - before).toBe(2);
  });

  test('concurrent lookups of one address share one request', async () => {
    world.rdap.setIp('127.0.1.4', { behaviour: 'slow', delayMs: 50, body: ipNetwork({ network: '127.0.1.4' }) });
    const c = client();
    const before = asked(world.rdap, 'ip/127.0.1.4');
    const all = await Promise.all([c.lookupIp('127.0.1.4'), c.lookupIp('127.0.1.4'), c.lookupIp('127.0.1.4')]);
    expect(all.map((r) => r.outcome)).toEqual(['found', 'found', 'found']);
    expect(asked(world.rdap, 'ip/127.0.1.4') - before).toBe(1);
  });
});

describe('failures are kept apart from "no contact"', () => {
  test('404: not_found (the registry has no such object), cached', async () => {
    const c = client();
    const before = asked(world.rdap, 'ip/127.0.2.1');
    expect(await c.lookupIp('127.0.2.1')).toMatchObject({ outcome: 'not_found', urls: [`${world.rdap.baseUrl}ip/127.0.2.1`] });
    expect(await c.lookupIp('127.0.2.1')).toMatchObject({ outcome: 'not_found', fromCache: true });
    expect(asked(world.rdap, 'ip/127.0.2.1') - before).toBe(1);
  });

  test('bad JSON: failed, and not cached', async () => {
    world.rdap.setIp('127.0.2.2', { behaviour: 'bad-json' });
    const c = client();
    expect(await c.lookupIp('127.0.2.2')).toMatchObject({ outcome: 'failed', reason: 'bad_json' });
    expect(await c.lookupIp('127.0.2.2')).toMatchObject({ outcome: 'failed', reason: 'bad_json' });
    expect(asked(world.rdap, 'ip/127.0.2.2')).toBe(2);
  });

  test('JSON that is not an object: failed', async () => {
    world.rdap.setIp('127.0.2.3', [1, 2, 3] as unknown as Record<string, unknown>);
    expect(await client().lookupIp('127.0.2.3')).toMatchObject({ outcome: 'failed', reason: 'bad_json', detail: 'not a JSON object' });
  });

  test.each([500, 503, 429])('status %i: failed with the status', async (status) => {
    world.rdap.setIp('127.0.2.4', { behaviour: 'status', status, headers: { 'retry-after': '120' } });
    const r = await client().lookupIp('127.0.2.4');
    expect(r).toMatchObject({ outcome: 'failed', reason: 'http_status', status, detail: `status ${status}, Retry-After 120` });
  });

  test('a slow server: failed at the deadline', async () => {
    world.rdap.setIp('127.0.2.5', { behaviour: 'slow', delayMs: 10_000, body: ipNetwork({ network: '127.0.2.5' }) });
    const started = Date.now();
    const r = await client({ deadlineMs: 200 }).lookupIp('127.0.2.5');
    expect(r).toMatchObject({ outcome: 'failed', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('the caller can abort too', async () => {
    world.rdap.setIp('127.0.2.6', { behaviour: 'slow', delayMs: 10_000, body: ipNetwork({ network: '127.0.2.6' }) });
    const controller = new AbortController();
    const pending = client({ deadlineMs: 10_000 }).lookupIp('127.0.2.6', controller.signal);
    controller.abort();
    expect(await pending).toMatchObject({ outcome: 'failed', reason: 'timeout' });
  });

  test('a body over the cap: failed, too_large', async () => {
    world.rdap.setIp('127.0.2.7', { ...ipNetwork({ network: '127.0.2.7' }), remarks: [{ description: ['x'.repeat(2 * 1024 * 1024)] }] });
    expect(await client().lookupIp('127.0.2.7')).toMatchObject({ outcome: 'failed', reason: 'too_large' });
    expect(await client({ maxBodyBytes: 4 * 1024 * 1024 }).lookupIp('127.0.2.7')).toMatchObject({ outcome: 'found' });
  });

  test('a refused connection: failed, network; the next server of the entry is tried', async () => {
    const closed = await startRdapServer();
    const deadUrl = closed.baseUrl;
    await closed.close();
    const twoServers = RdapBootstrap.fromJson({ ipv4: { services: [[['127.0.0.0/8'], [deadUrl, world.rdap.baseUrl]]] } }, 'inline');
    const oneServer = RdapBootstrap.fromJson({ ipv4: { services: [[['127.0.0.0/8'], [deadUrl]]] } }, 'inline');
    expect(await client({ bootstrap: oneServer }).lookupIp('127.0.0.2')).toMatchObject({ outcome: 'failed', reason: 'network', urls: [`${deadUrl}ip/127.0.0.2`] });
    expect(await client({ bootstrap: twoServers }).lookupIp('127.0.0.2')).toMatchObject({
      outcome: 'found', urls: [`${world.rdap.baseUrl}ip/127.0.0.2`],
    });
  });

  test('no server known: no_service', async () => {
    expect(await client().lookupAsn(65_000)).toEqual({ outcome: 'no_service', urls: [] });
    expect(await client().lookupDomain('example.invalid')).toEqual({ outcome: 'no_service', urls: [] });
  });
});

describe('redirects and referrals go through the network guard', () => {
  test('a redirect to another RDAP server inside allowNetworks is followed', async () => {
    referral.setIp('127.0.3.1', ipNetwork({ network: '127.0.3.1', name: 'REFERRED-NET', abuseEmail: 'abuse@referred.example.test' }));
    world.rdap.setIp('127.0.3.1', { behaviour: 'redirect', base: referral.baseUrl, status: 301 });
    const r = await client().lookupIp('127.0.3.1');
    expect(r).toMatchObject({ outcome: 'found', urls: [`${world.rdap.baseUrl}ip/127.0.3.1`, `${referral.baseUrl}ip/127.0.3.1`], data: { name: 'REFERRED-NET' } });
    expect(asked(referral, 'ip/127.0.3.1')).toBe(1);
  });

  test('a redirect to the canary, by address or by name, is refused by the guard', async () => {
    world.rdap.setIp('127.0.3.2', { behaviour: 'redirect', location: `${world.canary.origin}/ip/127.0.3.2` });
    world.rdap.setIp('127.0.3.3', { behaviour: 'redirect', location: `http://canary.${world.zone}:${world.canary.port}/ip/127.0.3.3` });
    expect(await client().lookupIp('127.0.3.2')).toMatchObject({ outcome: 'failed', reason: 'blocked', detail: 'VIGIL_BLOCKED_ADDRESS' });
    expect(await client().lookupIp('127.0.3.3')).toMatchObject({ outcome: 'failed', reason: 'blocked' });
  });

  test('even a redirect back to the bootstrap server is a network-sourced URL: guarded', async () => {
    world.rdap.setIp('127.0.3.4', { behaviour: 'redirect', location: '/ip/127.0.0.2' });
    const r = await client().lookupIp('127.0.3.4');
    expect(r).toMatchObject({ outcome: 'failed', reason: 'blocked', urls: [`${world.rdap.baseUrl}ip/127.0.3.4`, `${world.rdap.origin}/ip/127.0.0.2`] });
  });

  test('at most maxRedirects hops', async () => {
    // referral bounces the query to itself: 127.0.3.5 → 127.0.3.5 → …
    referral.setIp('127.0.3.5', { behaviour: 'redirect', base: referral.baseUrl });
    world.rdap.setIp('127.0.3.5', { behaviour: 'redirect', base: referral.baseUrl });
    const r = await client({ maxRedirects: 2 }).lookupIp('127.0.3.5');
    expect(r).toMatchObject({ outcome: 'failed', reason: 'too_many_redirects' });
    expect(r.urls).toHaveLength(3);
  });

  test('a redirect to a non-http URL is refused without a request', async () => {
    const host = world.host('127.0.0.4').http;
    host.route('GET', '/rdap-bad/*', (_req, res) => { res.writeHead(302, { location: 'file:///etc/passwd' }).end(); });
    world.rdap.setIp('127.0.3.6', { behaviour: 'redirect', location: `${host.origin}/rdap-bad/ip/127.0.3.6` });
    expect(await client().lookupIp('127.0.3.6')).toMatchObject({ outcome: 'failed', reason: 'bad_redirect' });
  });
});

describe('autonomous systems and domains', () => {
  test('an AS: holder and abuse contact', async () => {
    const r = await client().lookupAsn(64497);
    expect(r).toMatchObject({ outcome: 'found', urls: [`${world.rdap.baseUrl}autnum/64497`] });
    if (r.outcome === 'found') expect(r.data.abuse.flatMap((c) => c.emails)).toEqual(['abuse@as64497.example.test']);
  });

  test('a domain: registrar and the registrar abuse contact', async () => {
    const r = await client().lookupDomain(world.zone);
    expect(r).toMatchObject({ outcome: 'found', data: { registrar: { name: 'Synthetic Registrar', ianaId: '9999' } } });
    if (r.outcome === 'found') expect(r.data.registrar?.abuse.flatMap((c) => c.emails)).toEqual(['abuse@registrar.example.test']);
  });

  test('a thin registry: the referral to the registrar\'s RDAP server is followed, guarded', async () => {
    referral.setDomain('thin.test', domain({ name: 'thin.test', registrar: { handle: 'REG-7', fn: 'Referred Registrar', ianaId: '7' }, abuseEmail: 'abuse@referred-registrar.example.test' }));
    world.rdap.setDomain('thin.test', {
      ...domain({ name: 'thin.test', registrar: { handle: 'REG-7', fn: 'Referred Registrar', ianaId: '7' }, abuse: 'none' }),
      links: [{ rel: 'related', href: `${referral.baseUrl}domain/thin.test`, type: 'application/rdap+json' }],
    });
    const r = await client().lookupDomain('thin.test');
    expect(r).toMatchObject({ outcome: 'found', urls: [`${world.rdap.baseUrl}domain/thin.test`, `${referral.baseUrl}domain/thin.test`] });
    if (r.outcome === 'found') expect(r.data.registrar?.abuse.flatMap((c) => c.emails)).toEqual(['abuse@referred-registrar.example.test']);
  });

  test('a referral the guard refuses: the registry\'s answer stands, the failure is recorded', async () => {
    world.rdap.setDomain('thin-blocked.test', {
      ...domain({ name: 'thin-blocked.test', abuse: 'none' }),
      links: [{ rel: 'related', href: `${world.canary.origin}/domain/thin-blocked.test`, type: 'application/rdap+json' }],
    });
    const r = await client().lookupDomain('thin-blocked.test');
    expect(r).toMatchObject({ outcome: 'found', data: { registrar: { name: 'Synthetic Registrar', abuse: [] } }, referralFailure: { reason: 'blocked' } });
  });

  test('a registry answer that already has the abuse contact needs no referral', async () => {
    world.rdap.setDomain('thick.test', {
      ...domain({ name: 'thick.test', abuseEmail: 'abuse@thick.example.test' }),
      links: [{ rel: 'related', href: `${referral.baseUrl}domain/thick.test`, type: 'application/rdap+json' }],
    });
    const before = asked(referral, 'domain/thick.test');
    expect(await client().lookupDomain('thick.test')).toMatchObject({ outcome: 'found', urls: [`${world.rdap.baseUrl}domain/thick.test`] });
    expect(asked(referral, 'domain/thick.test')).toBe(before);
  });

  test('nested abuse entities of hostile depth do not break a lookup', async () => {
    let node: Record<string, unknown> = rdapEntity({ handle: 'BOTTOM', roles: ['abuse'], email: 'bottom@example.test' });
    for (let i = 0; i < 2_000; i++) node = { objectClassName: 'entity', handle: `E${i}`, roles: ['registrant'], entities: [node] };
    world.rdap.setIp('127.0.4.1', { ...ipNetwork({ network: '127.0.4.1', abuse: 'none' }), entities: [node] });
    expect(await client().lookupIp('127.0.4.1')).toMatchObject({ outcome: 'found', data: { abuse: [] } });
  });
});
