/**
 * Country and ASN lookups in generated MaxMind DB files (tests/world/mmdb-writer.ts), both
 * country schemas, separate IPv4/IPv6 files, lookup order, version info and unusable files.
 * Every address is loopback.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GeoDatabases } from '../../tracing/geo-databases.js';
import { TracingError } from '../../tracing/tracing-errors.js';
import { asnDb, countryDb, mmdb, writeMmdb } from '../world/mmdb-writer.js';
import { tempDir, type TempDir } from './support/temp-dir.js';

const EPOCH = 1_700_000_000; // 2023-11-14T22:13:20Z
let tmp: TempDir;
const paths: Record<string, string> = {};

beforeAll(async () => {
  tmp = await tempDir();
  paths.geoip2 = await tmp.write('geoip2.mmdb', countryDb([
    { network: '127.0.0.2/32', country: 'NL' },
    { network: '127.0.0.0/29', country: 'FR' }, // shorter prefix: .2 stays NL (longest match)
  ], 'geoip2', { buildEpoch: EPOCH }));
  paths.countryCode = await tmp.write('country-code.mmdb', countryDb([
    { network: '127.0.0.2/32', country: 'BE' },
    { network: '127.0.0.3/32', country: 'DE' },
  ], 'country_code', { buildEpoch: EPOCH + 60 }));
  paths.v4only = await tmp.write('v4.mmdb', countryDb([{ network: '127.0.0.4/32', country: 'US' }], 'country_code', { ipVersion: 4 }));
  paths.v6only = await tmp.write('v6.mmdb', countryDb([{ network: '::1/128', country: 'GB' }], 'country_code', { ipVersion: 6 }));
  paths.odd = await tmp.write('odd.mmdb', writeMmdb({
    ipVersion: 6,
    databaseType: 'GeoIP2-Country',
    buildEpoch: EPOCH,
    records: [
      // no `country`, only where the network is registered (as for anycast/satellite ranges)
      { network: '127.0.0.10/32', data: { registered_country: { iso_code: 'SE' } } },
      // continent-level pseudo-code: not a country
      { network: '127.0.0.11/32', data: { country: { iso_code: 'EU' } } },
      // hostile types
      { network: '127.0.0.12/32', data: { country: { iso_code: mmdb.uint32(7) }, country_code: ['NL'] } },
      // lower case is still a code
      { network: '127.0.0.13/32', data: { country_code: 'ie' } },
      { network: '127.0.0.14/32', data: { country: 'CA' } },
    ],
  }));
  paths.asn = await tmp.write('asn.mmdb', asnDb([
    { network: '127.0.0.2/32', asn: 64496, org: 'Synthetic Hosting NL' },
    { network: '127.0.0.3/32', asn: 64497, org: 'Synthetic Hosting DE' },
  ], { buildEpoch: EPOCH }));
  paths.asnOdd = await tmp.write('asn-odd.mmdb', writeMmdb({
    ipVersion: 6, databaseType: 'GeoLite2-ASN', records: [
      { network: '127.0.0.2/32', data: { autonomous_system_organization: 'no number' } },
      { network: '127.0.0.5/32', data: { autonomous_system_number: mmdb.uint32(64499) } },
    ],
  }));
  paths.garbage = await tmp.write('garbage.mmdb', 'this is not a MaxMind DB');
  paths.gzipped = await tmp.write('gzipped.mmdb', gzipSync(countryDb([{ network: '127.0.0.2/32', country: 'NL' }])));
});

afterAll(async () => {
  await tmp.remove();
});

const open = (countryFiles: string[], asnFiles: string[] = []) => GeoDatabases.open({ countryDb: countryFiles, asnDb: asnFiles, watch: false });

describe('country', () => {
  test('GeoIP2 schema: country.iso_code, longest prefix wins', async () => {
    const geo = await open([paths.geoip2!]);
    expect(geo.country('127.0.0.2')).toEqual({ country: 'NL', database: paths.geoip2, field: 'country.iso_code' });
    expect(geo.country('127.0.0.5').country).toBe('FR');
    geo.close();
  });

  test('{country_code} schema', async () => {
    const geo = await open([paths.countryCode!]);
    expect(geo.country('127.0.0.3')).toEqual({ country: 'DE', database: paths.countryCode, field: 'country_code' });
    geo.close();
  });

  test('files are tried in order; the first that knows the address answers', async () => {
    const geo = await open([paths.countryCode!, paths.geoip2!]);
    expect(geo.country('127.0.0.2').country).toBe('BE'); // both know it: the first wins
    expect(geo.country('127.0.0.5')).toMatchObject({ country: 'FR', database: paths.geoip2 }); // only the second
    const reversed = await open([paths.geoip2!, paths.countryCode!]);
    expect(reversed.country('127.0.0.2').country).toBe('NL');
    geo.close();
    reversed.close();
  });

  test('separate IPv4 and IPv6 files: each family is looked up where it can be', async () => {
    const geo = await open([paths.v4only!, paths.v6only!]);
    expect(geo.country('127.0.0.4')).toMatchObject({ country: 'US', database: paths.v4only });
    expect(geo.country('::1')).toMatchObject({ country: 'GB', database: paths.v6only });
    expect(geo.country('[::1]').country).toBe('GB');
    expect(geo.versions().map((v) => v.ipVersion)).toEqual([4, 6]);
    geo.close();
  });

  test('IPv4-mapped IPv6 is looked up as the IPv4 address, in either notation', async () => {
    const geo = await open([paths.v4only!]);
    expect(geo.country('::ffff:127.0.0.4').country).toBe('US');
    expect(geo.country('::ffff:7f00:4').country).toBe('US');
    geo.close();
  });

  test('registered_country when country is missing; pseudo-codes and wrong types give nothing', async () => {
    const geo = await open([paths.odd!]);
    expect(geo.country('127.0.0.10')).toMatchObject({ country: 'SE', field: 'registered_country.iso_code' });
    expect(geo.country('127.0.0.11').country).toBeNull();
    expect(geo.country('127.0.0.12').country).toBeNull();
    expect(geo.country('127.0.0.13')).toMatchObject({ country: 'IE', field: 'country_code' });
    expect(geo.country('127.0.0.14')).toMatchObject({ country: 'CA', field: 'country' });
    geo.close();
  });

  test('unknown addresses and non-addresses give an empty answer, never a throw', async () => {
    const geo = await open([paths.geoip2!]);
    expect(geo.country('127.0.0.99')).toEqual({ country: null, database: null, field: null });
    expect(geo.country('not-an-ip')).toEqual({ country: null, database: null, field: null });
    expect(geo.country('')).toEqual({ country: null, database: null, field: null });
    geo.close();
  });
});

describe('asn', () => {
  test('GeoLite2-ASN schema: number and organisation', async () => {
    const geo = await open([paths.geoip2!], [paths.asn!]);
    expect(geo.asn('127.0.0.2')).toEqual({ asn: 64496, org: 'Synthetic Hosting NL', database: paths.asn });
    expect(geo.asn('::ffff:127.0.0.3')).toMatchObject({ asn: 64497 });
    expect(geo.asn('127.0.0.9')).toEqual({ asn: null, org: null, database: null });
    geo.close();
  });

  test('a record without a number is skipped for the next file; a number without an organisation is kept', async () => {
    const geo = await open([paths.geoip2!], [paths.asnOdd!, paths.asn!]);
    expect(geo.asn('127.0.0.2')).toMatchObject({ asn: 64496, database: paths.asn });
    expect(geo.asn('127.0.0.5')).toEqual({ asn: 64499, org: null, database: paths.asnOdd });
    geo.close();
  });

  test('no ASN database configured: no ASN', async () => {
    const geo = await open([paths.geoip2!]);
    expect(geo.asn('127.0.0.2')).toEqual({ asn: null, org: null, database: null });
    geo.close();
  });
});

describe('versions', () => {
  test('each file records its path, type, build time and IP version', async () => {
    const geo = await open([paths.geoip2!, paths.countryCode!], [paths.asn!]);
    expect(geo.versions()).toEqual([
      expect.objectContaining({ role: 'country', path: paths.geoip2, databaseType: 'GeoLite2-Country', buildEpoch: '2023-11-14T22:13:20.000Z', ipVersion: 6 }),
      expect.objectContaining({ role: 'country', path: paths.countryCode, databaseType: 'country ipvAll', buildEpoch: '2023-11-14T22:14:20.000Z' }),
      expect.objectContaining({ role: 'asn', path: paths.asn, databaseType: 'GeoLite2-ASN' }),
    ]);
    geo.close();
  });
});

describe('unusable files stop start-up with a code and the path', () => {
  test.each([
    ['missing', () => tmp.path('no-such.mmdb'), /no-such\.mmdb/],
    ['not an mmdb', () => paths.garbage!, /not a MaxMind DB/],
    ['gzipped', () => paths.gzipped!, /gunzip/],
  ])('%s', async (_name, path, message) => {
    const err = await open([paths.geoip2!, path()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TracingError);
    expect(err).toMatchObject({ code: 'VIGIL_GEO_DB_UNREADABLE' });
    expect((err as Error).message).toMatch(message);
  });

  test('a bad ASN file too', async () => {
    await expect(open([paths.geoip2!], [paths.garbage!])).rejects.toMatchObject({ code: 'VIGIL_GEO_DB_UNREADABLE' });
  });
});
