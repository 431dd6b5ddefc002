/**
 * Database files reload when they change on disk: replaced atomically (rename over, as
 * geoipupdate does) or rewritten in place. A broken file never replaces a working one. Tests wait
 * for the reload event, never for time.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { GeoDatabases, type MmdbEvent } from '../../tracing/geo-databases.js';
import { asnDb, countryDb } from '../world/mmdb-writer.js';
import { tempDir, type TempDir } from './support/temp-dir.js';

let tmp: TempDir;
let geo: GeoDatabases | undefined;
let events: MmdbEvent[];

beforeEach(async () => {
  tmp = await tempDir();
  events = [];
});

afterEach(async () => {
  geo?.close();
  geo = undefined;
  await tmp.remove();
});

/** Resolves with the next event of `type` (from now on). */
function next(type: MmdbEvent['type']): Promise<MmdbEvent> {
  return new Promise((resolve) => {
    const stop = geo!.onEvent((e) => {
      if (e.type === type) {
        stop();
        resolve(e);
      }
    });
  });
}

async function openWatched(country: Buffer, asn?: Buffer): Promise<void> {
  const countryPath = await tmp.write('country.mmdb', country);
  const asnPaths = asn ? [await tmp.write('asn.mmdb', asn)] : [];
  geo = await GeoDatabases.open({ countryDb: [countryPath], asnDb: asnPaths, watch: true, debounceMs: 20 });
  geo.onEvent((e) => events.push(e));
}

test('an atomically replaced file is reloaded, with its new build time', async () => {
  await openWatched(countryDb([{ network: '127.0.0.2/32', country: 'NL' }], 'geoip2', { buildEpoch: 1_700_000_000 }));
  expect(geo!.country('127.0.0.2').country).toBe('NL');
  const reloaded = next('reloaded');
  await tmp.replace('country.mmdb', countryDb([{ network: '127.0.0.2/32', country: 'DE' }], 'geoip2', { buildEpoch: 1_700_086_400 }));
  const event = await reloaded;
  expect(event).toMatchObject({
    type: 'reloaded',
    path: tmp.path('country.mmdb'),
    previous: { buildEpoch: '2023-11-14T22:13:20.000Z' },
    version: { buildEpoch: '2023-11-15T22:13:20.000Z' },
  });
  expect(geo!.country('127.0.0.2').country).toBe('DE');
  expect(geo!.versions()[0]?.buildEpoch).toBe('2023-11-15T22:13:20.000Z');
});

test('a file rewritten in place is reloaded; the schema may change with it', async () => {
  await openWatched(countryDb([{ network: '127.0.0.3/32', country: 'DE' }], 'geoip2'));
  const reloaded = next('reloaded');
  await tmp.write('country.mmdb', countryDb([{ network: '127.0.0.3/32', country: 'US' }], 'country_code'));
  await reloaded;
  expect(geo!.country('127.0.0.3')).toMatchObject({ country: 'US', field: 'country_code' });
});

test('ASN files reload too', async () => {
  await openWatched(countryDb([{ network: '127.0.0.2/32', country: 'NL' }]), asnDb([{ network: '127.0.0.2/32', asn: 64496, org: 'Old Org' }]));
  const reloaded = next('reloaded');
  await tmp.replace('asn.mmdb', asnDb([{ network: '127.0.0.2/32', asn: 64500, org: 'New Org' }]));
  expect(await reloaded).toMatchObject({ path: tmp.path('asn.mmdb') });
  expect(geo!.asn('127.0.0.2')).toMatchObject({ asn: 64500, org: 'New Org' });
});

test('a broken replacement is refused and the old file keeps answering; a good one then loads', async () => {
  await openWatched(countryDb([{ network: '127.0.0.5/32', country: 'GB' }], 'geoip2', { buildEpoch: 1_700_000_000 }));
  const failed = next('reload-failed');
  await tmp.replace('country.mmdb', Buffer.from('truncated download'));
  const failure = await failed;
  expect(failure).toMatchObject({ type: 'reload-failed', path: tmp.path('country.mmdb') });
  expect(failure.type === 'reload-failed' && failure.error).toMatchObject({ code: 'VIGIL_GEO_DB_UNREADABLE' });
  expect(geo!.country('127.0.0.5').country).toBe('GB');
  expect(geo!.versions()[0]?.buildEpoch).toBe('2023-11-14T22:13:20.000Z');

  const reloaded = next('reloaded');
  await tmp.replace('country.mmdb', countryDb([{ network: '127.0.0.5/32', country: 'IE' }]));
  await reloaded;
  expect(geo!.country('127.0.0.5').country).toBe('IE');
});

test('a change to another file in the directory does not reload anything', async () => {
  await openWatched(countryDb([{ network: '127.0.0.2/32', country: 'NL' }]));
  await tmp.write('unrelated.txt', 'x');
  // An explicit reload of an unchanged file is a no-op: no event at all.
  await geo!.reload();
  // Then a real change: the first event seen must be the one for it.
  const reloaded = next('reloaded');
  await tmp.replace('country.mmdb', countryDb([{ network: '127.0.0.2/32', country: 'FR' }]));
  await reloaded;
  expect(events.filter((e) => e.type === 'reloaded')).toHaveLength(1);
  expect(geo!.country('127.0.0.2').country).toBe('FR');
});
