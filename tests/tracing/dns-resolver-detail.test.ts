/**
 * `resolveDetailed`: the CNAME chain and per-record TTLs a trace keeps as provenance, against the
 * world's DNS server on loopback (answers change mid-test; time is a fake clock).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startDnsServer, type DnsServer } from '../world/dns-server.js';

let dns: DnsServer;

beforeAll(async () => {
  dns = await startDnsServer();
  dns.setRecord('plain.test', { A: ['127.0.0.2'], AAAA: ['::1'], ttl: 120 });
  dns.setRecord('alias.test', { CNAME: 'cdn.test', ttl: 300 });
  dns.setRecord('cdn.test', { CNAME: 'edge.cdn.test', ttl: 300 });
  dns.setRecord('edge.cdn.test', { A: ['127.0.0.3'], ttl: 30 });
  dns.setRecord('dangling.test', { CNAME: 'missing.test' });
  dns.setRecord('loop-a.test', { CNAME: 'loop-b.test' });
  dns.setRecord('loop-b.test', { CNAME: 'loop-a.test' });
  dns.setRecord('silent.test', { A: ['127.0.0.2'] });
  dns.setBehaviour('silent.test', 'timeout');
  dns.setRecord('broken.test', { A: ['127.0.0.2'] });
  dns.setBehaviour('broken.test', 'servfail');
});
afterAll(() => dns.close());

const resolverAt = (now?: () => number) => createDnsResolver({ servers: [dns.address], timeoutMs: 200, tries: 1, now });
const queries = (name: string, type?: string) => dns.queries.filter((q) => q.name === name && (type === undefined || q.type === type)).length;

describe('resolveDetailed', () => {
  test('a plain name: no chain, A and AAAA with their TTLs', async () => {
    expect(await resolverAt().resolveDetailed('Plain.Test.')).toEqual({
      kind: 'ok', name: 'plain.test', fromCache: false,
      chain: { links: [], complete: true },
      answers: [{ address: '127.0.0.2', type: 'A', ttl: 120 }, { address: '::1', type: 'AAAA', ttl: 120 }],
    });
  });

  test('a CNAME chain is reported hop by hop', async () => {
    const r = await resolverAt().resolveDetailed('alias.test');
    expect(r).toMatchObject({
      kind: 'ok',
      chain: { links: [{ name: 'alias.test', target: 'cdn.test' }, { name: 'cdn.test', target: 'edge.cdn.test' }], complete: true },
      answers: [{ address: '127.0.0.3', type: 'A', ttl: 30 }],
    });
  });

  test('cached answers count their TTL down; the chain is cached with them', async () => {
    let now = 5_000_000;
    const r = resolverAt(() => now);
    await r.resolveDetailed('alias.test');
    const cnameQueries = queries('alias.test', 'CNAME');
    now += 10_000;
    const again = await r.resolveDetailed('alias.test');
    expect(again).toMatchObject({ kind: 'ok', fromCache: true, answers: [{ address: '127.0.0.3', ttl: 20 }] });
    expect(again.chain.links).toHaveLength(2);
    expect(queries('alias.test', 'CNAME')).toBe(cnameQueries);
  });

  test('shares the cache with resolveHost (the crawler\'s view)', async () => {
    const r = resolverAt();
    await r.resolveHost('plain.test');
    const before = queries('plain.test', 'A');
    expect(await r.resolveDetailed('plain.test')).toMatchObject({ kind: 'ok', fromCache: true });
    expect(queries('plain.test', 'A')).toBe(before);
  });

  test('answers that change mid-test are seen once the TTL has run out', async () => {
    let now = 9_000_000;
    const r = resolverAt(() => now);
    dns.setRecord('moving.test', { A: ['127.0.0.2'], ttl: 60 });
    expect((await r.resolveDetailed('moving.test')).kind === 'ok').toBe(true);
    dns.setRecord('moving.test', { A: ['127.0.0.4'], ttl: 60 });
    now += 59_000;
    expect(await r.resolveDetailed('moving.test')).toMatchObject({ answers: [{ address: '127.0.0.2', ttl: 1 }] });
    expect(await r.resolveHost('moving.test')).toEqual({ kind: 'ok', addresses: ['127.0.0.2'] });
    now += 1_000;
    expect(await r.resolveDetailed('moving.test')).toMatchObject({ fromCache: false, answers: [{ address: '127.0.0.4', ttl: 60 }] });
    expect(await r.resolveHost('moving.test')).toEqual({ kind: 'ok', addresses: ['127.0.0.4'] });
  });

  test('NXDOMAIN, a dangling alias, a loop, SERVFAIL and silence are each told apart', async () => {
    const r = resolverAt();
    expect(await r.resolveDetailed('gone.test')).toEqual({ kind: 'nxdomain', name: 'gone.test', chain: { links: [], complete: true } });
    expect(await r.resolveDetailed('dangling.test')).toEqual({
      kind: 'nxdomain', name: 'dangling.test', chain: { links: [{ name: 'dangling.test', target: 'missing.test' }], complete: true },
    });
    const loop = await r.resolveDetailed('loop-a.test');
    expect(loop).toMatchObject({ kind: 'failure', chain: { complete: false } });
    expect(loop.chain.links.map((l) => l.target)).toEqual(['loop-b.test', 'loop-a.test']);
    expect(await r.resolveDetailed('broken.test')).toMatchObject({ kind: 'failure', code: 'ESERVFAIL', chain: { complete: false } });
    expect(await r.resolveDetailed('silent.test')).toMatchObject({ kind: 'failure', code: 'ETIMEOUT', chain: { complete: false } });
  });
});
