/**
 * The tracing resolver against a real DNS server on loopback (tests/crawler/support).
 * Every answer is a loopback address; the system's resolvers are never asked.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startDnsServer, type TestDnsServer } from '../crawler/support/test-dns-server.js';

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await startDnsServer({
    'both.test': { A: ['127.0.0.2', '127.0.0.3'], AAAA: ['::ffff:127.0.0.4'], ttl: 60 },
    'v4only.test': { A: ['127.0.0.2'] },
    'v6only.test': { AAAA: ['::ffff:127.0.0.5'] },
    'nodata.test': {},
    'servfail.test': { rcode: 'SERVFAIL' },
    'refused.test': { rcode: 'REFUSED' },
    'silent.test': { silent: true },
    'zero-ttl.test': { A: ['127.0.0.2'], ttl: 0 },
    'short-ttl.test': { A: ['127.0.0.2'], ttl: 5 },
  });
});
afterAll(async () => {
  await dns.close();
});

function resolverAt(now?: () => number, cacheSize?: number) {
  return createDnsResolver({ servers: [dns.server], timeoutMs: 150, tries: 1, now, cacheSize });
}

function queriesFor(name: string): number {
  return dns.queries.filter((q) => q.name === name).length;
}

describe('resolveHost', () => {
  test('returns A and AAAA answers together, A first', async () => {
    expect(await resolverAt().resolveHost('both.test')).toEqual({
      kind: 'ok',
      addresses: ['127.0.0.2', '127.0.0.3', '::ffff:127.0.0.4'],
    });
  });

  test('asks A and AAAA, and takes either alone', async () => {
    const r = resolverAt();
    expect(await r.resolveHost('v4only.test')).toEqual({ kind: 'ok', addresses: ['127.0.0.2'] });
    expect(await r.resolveHost('v6only.test')).toEqual({ kind: 'ok', addresses: ['::ffff:127.0.0.5'] });
    expect(dns.queries.filter((q) => q.name === 'v6only.test').map((q) => q.type).sort()).toEqual(['A', 'AAAA']);
  });

  test('NXDOMAIN is kept apart from NODATA and from failures', async () => {
    const r = resolverAt();
    expect(await r.resolveHost('no-such-name.test')).toEqual({ kind: 'nxdomain' });
    expect(await r.resolveHost('nodata.test')).toEqual({ kind: 'nodata' });
    expect(await r.resolveHost('servfail.test')).toEqual({ kind: 'failure', code: 'ESERVFAIL' });
    expect(await r.resolveHost('refused.test')).toEqual({ kind: 'failure', code: 'EREFUSED' });
  });

  test('a server that never answers is a failure (timeout), not NXDOMAIN', async () => {
    const result = await resolverAt().resolveHost('silent.test');
    expect(result).toEqual({ kind: 'failure', code: 'ETIMEOUT' });
  });

  test('names are case-insensitive and a trailing dot is ignored', async () => {
    expect(await resolverAt().resolveHost('V4ONLY.Test.')).toEqual({ kind: 'ok', addresses: ['127.0.0.2'] });
  });
});

describe('cache', () => {
  test('keeps an answer for its TTL, then asks again', async () => {
    let clock = 1_000_000;
    const r = resolverAt(() => clock);
    const before = queriesFor('short-ttl.test');
    await r.resolveHost('short-ttl.test');
    await r.resolveHost('short-ttl.test');
    expect(queriesFor('short-ttl.test') - before).toBe(2); // one A + one AAAA, once
    clock += 4_999;
    await r.resolveHost('short-ttl.test');
    expect(queriesFor('short-ttl.test') - before).toBe(2);
    clock += 2;
    await r.resolveHost('short-ttl.test');
    expect(queriesFor('short-ttl.test') - before).toBe(4);
  });

  test('TTL 0 is not cached; negative answers are not cached', async () => {
    const r = resolverAt();
    const zeroBefore = queriesFor('zero-ttl.test');
    await r.resolveHost('zero-ttl.test');
    await r.resolveHost('zero-ttl.test');
    expect(queriesFor('zero-ttl.test') - zeroBefore).toBe(4);
    const nxBefore = queriesFor('gone.test');
    await r.resolveHost('gone.test');
    await r.resolveHost('gone.test');
    expect(queriesFor('gone.test') - nxBefore).toBe(4);
  });

  test('is bounded: the least recently used answer is dropped', async () => {
    const r = resolverAt(undefined, 1);
    await r.resolveHost('v4only.test');
    await r.resolveHost('both.test'); // evicts v4only.test
    const before = queriesFor('v4only.test');
    await r.resolveHost('v4only.test');
    expect(queriesFor('v4only.test') - before).toBe(2);
  });

  test('concurrent lookups of one name share one query', async () => {
    const r = resolverAt();
    const before = queriesFor('both.test');
    const answers = await Promise.all([r.resolveHost('both.test'), r.resolveHost('both.test'), r.resolveHost('both.test')]);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(queriesFor('both.test') - before).toBe(2);
  });
});
