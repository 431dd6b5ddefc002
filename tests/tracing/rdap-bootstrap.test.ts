/**
 * RDAP bootstrap (RFC 9224): which server answers for an address, an AS or a domain, from a
 * directory, a single file, or the bundled IANA snapshot. No network: only table lookups.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundledRdapBootstrapDir } from '../../tracing/bundled-databases.js';
import { RdapBootstrap } from '../../tracing/rdap-bootstrap.js';
import { rdapBootstrapFiles, type RdapBootstrapFiles } from '../world/rdap-server.js';
import { tempDir, type TempDir } from './support/temp-dir.js';

const A = 'http://127.0.0.1:4001/rdap/';
const B = 'http://127.0.0.1:4002/';
let files: RdapBootstrapFiles;
let tmp: TempDir;

beforeAll(async () => {
  files = await rdapBootstrapFiles({ ipv4: A, ipv6: B, asn: A, dns: B });
  tmp = await tempDir();
});
afterAll(async () => {
  await files.remove();
  await tmp.remove();
});

const doc = (services: unknown[]) => ({ version: '1.0', publication: '2024-01-01T00:00:00Z', description: 'test', services });

describe('a directory of IANA files', () => {
  test('each registry answers for its kind', async () => {
    const b = await RdapBootstrap.load(files.dir);
    expect(b.serversForIp('127.0.0.2')).toEqual([A]);
    expect(b.serversForIp('::ffff:127.0.0.2')).toEqual([A]);
    expect(b.serversForIp('::1')).toEqual([B]);
    expect(b.serversForAsn(64500)).toEqual([A]);
    expect(b.serversForDomain('host-2.fleet.test')).toEqual([B]);
    expect(b.serversForDomain('FLEET.TEST.')).toEqual([B]);
    expect(b.info.source).toBe(files.dir);
    expect(Object.keys(b.info.publications).sort()).toEqual(['asn', 'dns', 'ipv4', 'ipv6']);
  });

  test('nothing known: no servers', async () => {
    const b = await RdapBootstrap.load(files.dir);
    expect(b.serversForAsn(65_000)).toEqual([]);
    expect(b.serversForDomain('example.invalid')).toEqual([]);
    expect(b.serversForIp('not an address')).toEqual([]);
  });

  test('a directory with only some files is fine', async () => {
    const dir = tmp.path('partial');
    await mkdir(dir);
    await writeFile(`${dir}/asn.json`, JSON.stringify(doc([[['64496-64511'], [A]]])));
    const b = await RdapBootstrap.load(dir);
    expect(b.serversForAsn(64496)).toEqual([A]);
    expect(b.serversForIp('127.0.0.2')).toEqual([]);
    expect(b.info.publications).toEqual({ asn: '2024-01-01T00:00:00Z' });
  });
});

describe('a single file', () => {
  test('entries of every kind are recognised by their shape', async () => {
    const path = await tmp.write('mixed.json', JSON.stringify(doc([
      [['127.0.0.0/24', '::1/128'], [A]],
      [['64496', '64500-64510'], [B]],
      [['test', 'fleet.test'], ['https://127.0.0.1:4003/x']],
    ])));
    const b = await RdapBootstrap.load(path);
    expect(b.serversForIp('127.0.0.9')).toEqual([A]);
    expect(b.serversForIp('127.0.1.9')).toEqual([]);
    expect(b.serversForIp('::1')).toEqual([A]);
    expect(b.serversForAsn(64496)).toEqual([B]);
    expect(b.serversForAsn(64497)).toEqual([]);
    expect(b.serversForAsn(64510)).toEqual([B]);
    expect(b.serversForDomain('a.fleet.test')).toEqual(['https://127.0.0.1:4003/x/']);
  });

  test('the most specific entry wins; https is preferred; other schemes are dropped', () => {
    const b = RdapBootstrap.fromJson({
      ipv4: doc([
        [['127.0.0.0/8'], [A]],
        [['127.0.0.0/24'], ['http://127.0.0.1:4005/', 'https://127.0.0.1:4006/', 'ftp://127.0.0.1/']],
      ]),
      asn: doc([[['64496-64511'], [A]], [['64500'], [B]]]),
      dns: doc([[['test'], [A]], [['fleet.test'], [B]]]),
    }, 'inline');
    expect(b.serversForIp('127.0.0.2')).toEqual(['https://127.0.0.1:4006/', 'http://127.0.0.1:4005/']);
    expect(b.serversForIp('127.1.0.2')).toEqual([A]);
    expect(b.serversForAsn(64500)).toEqual([B]);
    expect(b.serversForAsn(64501)).toEqual([A]);
    expect(b.serversForDomain('x.fleet.test')).toEqual([B]);
    expect(b.serversForDomain('other.test')).toEqual([A]);
  });
});

describe('the bundled IANA snapshot', () => {
  test('null = tracing/data/rdap-bootstrap, all four registries', async () => {
    const b = await RdapBootstrap.load(null);
    expect(b.info.source).toBe(bundledRdapBootstrapDir());
    expect(b.info.publications).toEqual({
      ipv4: '2019-06-07T19:00:02Z', ipv6: '2024-11-01T22:00:01Z', asn: '2025-01-17T20:00:02Z', dns: '2025-06-27T17:00:02Z',
    });
    expect(b.serversForAsn(1)).toEqual(['https://rdap.arin.net/registry/', 'http://rdap.arin.net/registry/']);
    expect(b.serversForDomain('example.nl')).toEqual(['https://rdap.sidn.nl/']);
    // Loopback and test names are in no registry.
    expect(b.serversForIp('127.0.0.2')).toEqual([]);
    expect(b.serversForDomain('fleet.test')).toEqual([]);
  });
});

describe('unusable bootstrap data stops start-up', () => {
  test.each([
    ['a missing path', async () => tmp.path('nope')],
    ['an empty directory', () => mkdtemp(tmp.path('empty-'))],
    ['bad JSON', () => tmp.write('bad.json', '{"services": [')],
    ['no services array', () => tmp.write('noservices.json', JSON.stringify({ version: '1.0' }))],
    ['a malformed service', () => tmp.write('badservice.json', JSON.stringify(doc([[['127.0.0.0/8'], 'http://x/']])))],
    ['an entry of no known kind', () => tmp.write('badentry.json', JSON.stringify(doc([[['not a thing!'], [A]]])))],
  ])('%s', async (_name, make) => {
    const path = await make();
    await expect(RdapBootstrap.load(path)).rejects.toMatchObject({ code: 'VIGIL_RDAP_BOOTSTRAP_INVALID' });
  });
});
