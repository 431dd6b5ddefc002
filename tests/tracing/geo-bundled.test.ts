/**
 * The bundled country database (@ip-location-db/geo-whois-asn-country-mmdb): what vigil uses
 * when `tracing.countryDb` is empty. The public addresses below are LOOKUPS ONLY in the local
 * file: none is ever passed to a network function.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundledCountryDbPaths } from '../../tracing/bundled-databases.js';
import { GeoDatabases } from '../../tracing/geo-databases.js';

let geo: GeoDatabases;

beforeAll(async () => {
  geo = await GeoDatabases.open({ countryDb: [], asnDb: [], watch: false });
});
afterAll(() => geo.close());

test('empty countryDb = the package\'s separate IPv4 and IPv6 files, with their versions', () => {
  const versions = geo.versions();
  expect(versions.map((v) => v.path)).toEqual(bundledCountryDbPaths());
  expect(versions.map((v) => [v.role, v.ipVersion, v.databaseType])).toEqual([['country', 4, 'country ipv4'], ['country', 6, 'country ipv6']]);
  for (const v of versions) expect(Date.parse(v.buildEpoch)).toBeGreaterThan(Date.parse('2024-01-01T00:00:00Z'));
});

test('well-known public addresses get their registry country', () => {
  expect(geo.country('8.8.8.8').country).toBe('US'); // lookup only, never dialled
  expect(geo.country('193.0.6.139').country).toBe('NL'); // lookup only, never dialled
  expect(geo.country('2001:67c:2e8:22::c100:68b').country).toBe('NL'); // lookup only, never dialled
  expect(geo.country('2001:4860:4860::8888').country).toBe('US'); // lookup only, never dialled
});

test('IPv4 answers come from the IPv4 file, IPv6 from the IPv6 file, mapped IPv4 as IPv4', () => {
  const [v4, v6] = bundledCountryDbPaths();
  expect(geo.country('8.8.8.8')).toMatchObject({ database: v4, field: 'country_code' }); // lookup only, never dialled
  expect(geo.country('2001:4860:4860::8888')).toMatchObject({ database: v6 }); // lookup only, never dialled
  expect(geo.country('::ffff:8.8.8.8')).toMatchObject({ country: 'US', database: v4 }); // lookup only, never dialled
});

test('loopback is in no country', () => {
  expect(geo.country('127.0.0.2').country).toBeNull();
  expect(geo.country('::1').country).toBeNull();
});
