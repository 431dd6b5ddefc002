import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abuseEmails, autnum, domain, ipNetwork, rdapEntity, vcard } from './rdap-fixtures.js';
import { RDAP_CONTENT_TYPE, rdapBootstrapFiles, startRdapServer, type RdapServer } from './rdap-server.js';

let rdap: RdapServer;
let other: RdapServer;
beforeAll(async () => {
  rdap = await startRdapServer();
  other = await startRdapServer({ basePath: '/registry/rdap/' });
});
afterAll(async () => { await Promise.all([rdap.close(), other.close()]); });

async function get(url: string): Promise<{ status: number; type: unknown; location: unknown; text: string; json: () => Record<string, unknown> }> {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, type: res.headers['content-type'], location: res.headers.location, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('rdap fixtures', () => {
  it('vcard has the jCard shape', () => {
    expect(vcard({ fn: 'Abuse Desk', email: 'abuse@example.test' })).toEqual(['vcard', [
      ['version', {}, 'text', '4.0'], ['fn', {}, 'text', 'Abuse Desk'], ['kind', {}, 'text', 'org'], ['email', {}, 'text', 'abuse@example.test'],
    ]]);
  });

  it('ip network: start/end from the CIDR, registrant with a nested abuse entity', () => {
    const net = ipNetwork({ network: '127.0.0.0/24', country: 'NL', name: 'SYN-NL', abuseEmail: 'abuse@nl.example.test' });
    expect(net).toMatchObject({ objectClassName: 'ip network', startAddress: '127.0.0.0', endAddress: '127.0.0.255', ipVersion: 'v4', country: 'NL', name: 'SYN-NL' });
    const entities = net.entities as Record<string, unknown>[];
    expect(entities).toHaveLength(1);
    expect(entities[0]?.roles).toEqual(['registrant']);
    expect((entities[0]?.entities as Record<string, unknown>[])[0]?.roles).toEqual(['abuse']);
    expect(abuseEmails(net)).toEqual(['abuse@nl.example.test']);
    expect(ipNetwork({ network: '::1' })).toMatchObject({ startAddress: '::1', endAddress: '::1', ipVersion: 'v6' });
  });

  it('abuse placements: top level, none, and without a vCard', () => {
    expect((ipNetwork({ network: '127.0.0.2', abuse: 'top' }).entities as unknown[]).length).toBe(2);
    expect(abuseEmails(ipNetwork({ network: '127.0.0.2', abuse: 'top', abuseEmail: 'a@example.test' }))).toEqual(['a@example.test']);
    expect(abuseEmails(ipNetwork({ network: '127.0.0.2', abuse: 'none' }))).toEqual([]);
    const noCard = ipNetwork({ network: '127.0.0.2', abuseVcard: false });
    expect(abuseEmails(noCard)).toEqual([]);
    expect(JSON.stringify(noCard)).toContain('"roles":["abuse"]');
    expect(rdapEntity({ handle: 'X', roles: ['abuse'], vcard: false })).not.toHaveProperty('vcardArray');
  });

  it('autnum and domain (registrar with nested abuse)', () => {
    expect(autnum({ asn: 64500, country: 'DE' })).toMatchObject({ objectClassName: 'autnum', startAutnum: 64500, endAutnum: 64500, handle: 'AS64500' });
    const d = domain({ name: 'Fleet.TEST', abuseEmail: 'abuse@registrar.example.test' });
    expect(d).toMatchObject({ objectClassName: 'domain', ldhName: 'fleet.test' });
    const registrar = (d.entities as Record<string, unknown>[])[0];
    expect(registrar?.roles).toEqual(['registrar']);
    expect(registrar?.publicIds).toEqual([{ type: 'IANA Registrar ID', identifier: '9999' }]);
    expect(abuseEmails(d)).toEqual(['abuse@registrar.example.test']);
  });
});

describe('startRdapServer', () => {
  it('answers /ip with the longest matching prefix, as application/rdap+json', async () => {
    rdap.setIp('127.0.0.0/8', ipNetwork({ network: '127.0.0.0/8', name: 'LOOPBACK' }));
    rdap.setIp('127.0.0.2', ipNetwork({ network: '127.0.0.2/32', name: 'HOST-2', country: 'NL' }));
    const exact = await get(`${rdap.baseUrl}ip/127.0.0.2`);
    expect(exact.status).toBe(200);
    expect(exact.type).toBe(RDAP_CONTENT_TYPE);
    expect(exact.json()).toMatchObject({ name: 'HOST-2', country: 'NL' });
    expect((await get(`${rdap.baseUrl}ip/127.0.0.3`)).json()).toMatchObject({ name: 'LOOPBACK' });
    expect((await get(`${rdap.baseUrl}ip/127.0.0.0/16`)).json()).toMatchObject({ name: 'LOOPBACK' });
    expect(rdap.requests.at(-1)).toMatchObject({ method: 'GET', query: 'ip/127.0.0.0/16' });
  });

  it('404 for unknown objects, 400 for malformed queries, IPv6', async () => {
    const miss = await get(`${rdap.baseUrl}ip/::1`);
    expect(miss.status).toBe(404);
    expect(miss.json()).toMatchObject({ errorCode: 404 });
    rdap.setIp('::1', ipNetwork({ network: '::1/128', name: 'V6' }));
    expect((await get(`${rdap.baseUrl}ip/::1`)).json()).toMatchObject({ name: 'V6' });
    expect((await get(`${rdap.baseUrl}ip/not-an-ip`)).status).toBe(400);
    expect((await get(`${rdap.baseUrl}autnum/AS1`)).status).toBe(400);
    expect((await get(`${rdap.baseUrl}nameserver/x`)).status).toBe(400);
  });

  it('autnum numbers and ranges, domains case-insensitively', async () => {
    rdap.setAutnum('64496-64511', autnum({ asn: 64496, name: 'RANGE' }));
    rdap.setAutnum(64500, autnum({ asn: 64500, name: 'EXACT' }));
    expect((await get(`${rdap.baseUrl}autnum/64500`)).json()).toMatchObject({ name: 'EXACT' });
    expect((await get(`${rdap.baseUrl}autnum/64510`)).json()).toMatchObject({ name: 'RANGE' });
    expect((await get(`${rdap.baseUrl}autnum/64512`)).status).toBe(404);
    rdap.setDomain('Fleet.Test', domain({ name: 'fleet.test' }));
    const d = await get(`${rdap.baseUrl}domain/FLEET.test`);
    expect(d.json()).toMatchObject({ objectClassName: 'domain', ldhName: 'fleet.test' });
    expect(abuseEmails(d.json())).toHaveLength(1);
  });

  it('behaviours: not-found, status with Retry-After, bad JSON', async () => {
    rdap.setIp('127.0.0.20', { behaviour: 'not-found' });
    expect((await get(`${rdap.baseUrl}ip/127.0.0.20`)).status).toBe(404);
    rdap.setIp('127.0.0.21', { behaviour: 'status', status: 429, headers: { 'retry-after': '2' } });
    const limited = await request(`${rdap.baseUrl}ip/127.0.0.21`);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    await limited.body.dump();
    rdap.setIp('127.0.0.22', { behaviour: 'bad-json' });
    const bad = await get(`${rdap.baseUrl}ip/127.0.0.22`);
    expect(bad.status).toBe(200);
    expect(() => bad.json()).toThrow(SyntaxError);
  });

  it('slow answers take their time; close() does not wait for them', async () => {
    rdap.setIp('127.0.0.23', { behaviour: 'slow', delayMs: 150, body: ipNetwork({ network: '127.0.0.23', name: 'SLOW' }) });
    const t0 = Date.now();
    expect((await get(`${rdap.baseUrl}ip/127.0.0.23`)).json()).toMatchObject({ name: 'SLOW' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    const lone = await startRdapServer();
    lone.setIp('127.0.0.24', { behaviour: 'slow', delayMs: 60_000, body: {} });
    const arrived = once(lone.server, 'request');
    const pending = request(`${lone.baseUrl}ip/127.0.0.24`).then(() => 'answered', () => 'failed');
    const t1 = Date.now();
    await arrived;
    await lone.close();
    expect(await pending).toBe('failed');
    expect(Date.now() - t1).toBeLessThan(2000);
  });

  it('redirects to another RDAP server, keeping the query path (a referral)', async () => {
    other.setIp('127.0.0.0/24', ipNetwork({ network: '127.0.0.0/24', name: 'AUTHORITATIVE' }));
    rdap.setIp('127.0.0.30', { behaviour: 'redirect', base: other.baseUrl });
    const hop = await get(`${rdap.baseUrl}ip/127.0.0.30`);
    expect(hop.status).toBe(302);
    expect(hop.location).toBe(`${other.baseUrl}ip/127.0.0.30`);
    expect(String(hop.location)).toContain('/registry/rdap/');
    expect((await get(String(hop.location))).json()).toMatchObject({ name: 'AUTHORITATIVE' });
    rdap.setIp('127.0.0.31', { behaviour: 'redirect', location: '/ip/127.0.0.2', status: 301 });
    const local = await get(`${rdap.baseUrl}ip/127.0.0.31`);
    expect(local.status).toBe(301);
    expect(local.location).toBe(`${rdap.origin}/ip/127.0.0.2`);
    expect(() => rdap.setIp('127.0.0.32', { behaviour: 'redirect', location: 'https://rdap.outside.example/ip/1' })).toThrow(/loopback/);
  });

  it('refuses non-loopback networks', () => {
    expect(() => rdap.setIp('0.0.0.0/0', { behaviour: 'not-found' })).toThrow(/loopback/);
  });
});

describe('rdapBootstrapFiles', () => {
  it('writes IANA-format files pointing at the server, and removes them', async () => {
    const files = await rdapBootstrapFiles(other.baseUrl);
    const ipv4 = JSON.parse(await readFile(files.ipv4, 'utf8')) as { version: string; publication: string; description: string; services: unknown };
    expect(ipv4.version).toBe('1.0');
    expect(ipv4.publication).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ipv4.services).toEqual([[['127.0.0.0/8'], [other.baseUrl]]]);
    expect(JSON.parse(await readFile(files.ipv6, 'utf8')).services).toEqual([[['::1/128'], [other.baseUrl]]]);
    expect(JSON.parse(await readFile(files.asn, 'utf8')).services).toEqual([[['64496-64511'], [other.baseUrl]]]);
    expect(JSON.parse(await readFile(files.dns, 'utf8')).services).toEqual([[['test'], [other.baseUrl]]]);
    expect(ipv4.description).toMatch(/IPv4/);
    await files.remove();
    expect(existsSync(files.dir)).toBe(false);
  });

  it('per-registry targets, and an empty service list where none is given', async () => {
    const files = await rdapBootstrapFiles({ ipv4: rdap.baseUrl, dns: other.baseUrl });
    try {
      expect(JSON.parse(await readFile(files.ipv4, 'utf8')).services[0][1]).toEqual([rdap.baseUrl]);
      expect(JSON.parse(await readFile(files.dns, 'utf8')).services[0][1]).toEqual([other.baseUrl]);
      expect(JSON.parse(await readFile(files.asn, 'utf8')).services).toEqual([]);
    } finally {
      await files.remove();
    }
  });
});
