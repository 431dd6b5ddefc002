import { Reader } from 'maxmind';
import { Reader as LibReader } from 'mmdb-lib';
import { describe, expect, it } from 'vitest';
import { controlBytes, pointerBytes } from './mmdb-data.js';
import { asnDb, countryDb, mmdb, writeMmdb, type MmdbRecord } from './mmdb-writer.js';

type Any = Record<string, unknown>;

describe('writeMmdb', () => {
  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      it(`IPv${ipVersion}, ${recordSize}-bit records: exact, longest-prefix, misses`, () => {
        const db = writeMmdb({
          ipVersion, recordSize, databaseType: 'Test-DB', buildEpoch: 1_700_000_000,
          records: [
            { network: '127.0.0.2/32', data: { name: 'two' } },
            { network: '127.0.0.0/24', data: { name: 'net24' } },
            { network: '127.0.0.128/25', data: { name: 'net25' } },
            { network: '127.0.0.9', data: { name: 'nine' } },
            { network: '127.1.0.0/16', data: { name: 'other16' } },
          ],
        });
        const r = new Reader<Any>(db);
        expect(r.metadata).toMatchObject({ ipVersion, recordSize, databaseType: 'Test-DB', binaryFormatMajorVersion: 2, binaryFormatMinorVersion: 0 });
        expect(r.metadata.buildEpoch.getTime()).toBe(1_700_000_000_000);
        expect(r.get('127.0.0.2')).toEqual({ name: 'two' });
        expect(r.get('127.0.0.9')).toEqual({ name: 'nine' });
        expect(r.get('127.0.0.3')).toEqual({ name: 'net24' });
        expect(r.get('127.0.0.200')).toEqual({ name: 'net25' });
        expect(r.getWithPrefixLength('127.0.0.2')).toEqual([{ name: 'two' }, 32]);
        // Like real databases, a neighbour of a more specific network reports the tree block it
        // fell into (here 127.0.0.4/30), not the /24 it was inserted as.
        expect(r.getWithPrefixLength('127.0.0.4')).toEqual([{ name: 'net24' }, 30]);
        expect(r.getWithPrefixLength('127.0.0.77')).toEqual([{ name: 'net24' }, 26]);
        expect(r.getWithPrefixLength('127.0.0.129')).toEqual([{ name: 'net25' }, 25]);
        expect(r.get('127.1.200.7')).toEqual({ name: 'other16' });
        expect(r.get('127.0.1.1')).toBeNull();
        expect(r.get('127.2.0.1')).toBeNull();
        if (ipVersion === 6) {
          // IPv4 lives under ::/96 and, aliased, under ::ffff:0:0/96.
          expect(r.get('::127.0.0.2')).toEqual({ name: 'two' });
          expect(r.get('::ffff:127.0.0.2')).toEqual({ name: 'two' });
          expect(r.get('::ffff:127.0.0.3')).toEqual({ name: 'net24' });
          expect(r.get('::1')).toBeNull();
        }
      });
    }
  }

  it('IPv6 networks and IPv4 together; the order records are given in does not matter', () => {
    const db = writeMmdb({
      ipVersion: 6, databaseType: 'Test-DB',
      records: [
        { network: '127.0.0.5/32', data: { v: 'five' } },
        { network: '::1/128', data: { v: 'six' } },
        { network: '127.0.0.0/8', data: { v: 'eight' } },
      ],
    });
    const r = new LibReader<Any>(db);
    expect(r.get('::1')).toEqual({ v: 'six' });
    expect(r.get('127.0.0.5')).toEqual({ v: 'five' });
    expect(r.get('127.9.9.9')).toEqual({ v: 'eight' });
    expect(r.get('::2')).toBeNull();
  });

  it('round-trips every data type', () => {
    const long300 = 'x'.repeat(300);
    const long100 = 'é'.repeat(50);
    const data = {
      utf8: 'grüße ✓', empty: '', long100, long300,
      double: mmdb.double(1.5), float: mmdb.float(0.25), negDouble: -2.75,
      bytes: Buffer.from([0, 1, 2, 255]),
      u16: mmdb.uint16(65535), u16zero: mmdb.uint16(0), u32: 4294967295, u32small: 7,
      i32neg: -5, i32min: -(2 ** 31), i32pos: mmdb.int32(123456),
      u64: mmdb.uint64((1n << 64n) - 1n), u128: mmdb.uint128((1n << 128n) - 1n), u128small: mmdb.uint128(3n),
      bool: true, boolFalse: false,
      array: [1, 'two', false, { three: 3 }], emptyArray: [], emptyMap: {},
      nested: { a: { b: { c: ['deep'] } } },
    };
    const r = new Reader<Any>(writeMmdb({ ipVersion: 4, databaseType: 'Types', records: [{ network: '127.0.0.1/32', data }] }));
    expect(r.get('127.0.0.1')).toEqual({
      ...data,
      double: 1.5, float: 0.25, u16: 65535, u16zero: 0, i32pos: 123456,
      u64: (1n << 64n) - 1n, u128: (1n << 128n) - 1n, u128small: 3n,
    });
  });

  it('shares repeated values through pointers and stays readable', () => {
    const shared = { country: { iso_code: 'NL', names: { en: 'Netherlands' } } };
    const records = Array.from({ length: 50 }, (_, i) => ({ network: `127.0.0.${i + 1}/32`, data: shared }));
    const withSharing = writeMmdb({ ipVersion: 4, databaseType: 'T', records });
    const oneRecord = writeMmdb({ ipVersion: 4, databaseType: 'T', records: records.slice(0, 1) });
    const r = new Reader<Any>(withSharing);
    for (let i = 1; i <= 50; i++) expect(r.get(`127.0.0.${i}`)).toEqual(shared);
    // 49 more networks cost tree nodes only, not 49 more copies of the data.
    expect(withSharing.length - oneRecord.length).toBeLessThan(49 * 40);
  });

  it('pointers of every size and 28-bit records above 2^24 read back correctly', () => {
    const tag = 'late-shared-string';
    const records: MmdbRecord[] = [
      { network: '127.0.0.1/32', data: { pad: Buffer.alloc(3000, 1) } },
      { network: '127.0.0.2/32', data: { mid: 'mid-shared-string' } },
      { network: '127.0.0.3/32', data: { mid: 'mid-shared-string', n: 3 } },
      { network: '127.0.0.4/32', data: { pad2: Buffer.alloc(600_000, 2) } },
      { network: '127.0.0.5/32', data: { tag } },
      { network: '127.0.0.6/32', data: { tag, n: 6 } },
      // Two large fields (one field holds at most 65821 + 2^24 - 1 bytes) push later data
      // offsets past 2^24, so the 28-bit records' shared nibbles carry real bits.
      { network: '127.0.0.7/32', data: { big: Buffer.alloc(9_000_000, 3) } },
      { network: '127.0.0.10/32', data: { big: Buffer.alloc(9_000_000, 4) } },
      { network: '127.0.0.8/32', data: { tag, n: 8 } },
    ];
    for (const recordSize of [28, 32] as const) {
      const r = new Reader<Any>(writeMmdb({ ipVersion: 4, databaseType: 'Big', records, recordSize }));
      expect(r.metadata.recordSize).toBe(recordSize);
      expect(r.get('127.0.0.3')).toEqual({ mid: 'mid-shared-string', n: 3 });
      expect(r.get('127.0.0.6')).toEqual({ tag, n: 6 });
      expect(r.get('127.0.0.8')).toEqual({ tag, n: 8 });
      expect((r.get('127.0.0.7')?.big as Buffer).length).toBe(9_000_000);
      expect((r.get('127.0.0.10')?.big as Buffer)[0]).toBe(4);
      expect(r.get('127.0.0.9')).toBeNull();
    }
    expect(() => writeMmdb({ ipVersion: 4, databaseType: 'Big', records, recordSize: 24 })).toThrow(/record size 24/);
  });

  it('encodes control bytes and pointers as the spec says', () => {
    expect(controlBytes(2, 3)).toEqual(Buffer.from([0x43]));
    expect(controlBytes(2, 29)).toEqual(Buffer.from([0x5d, 0x00]));
    expect(controlBytes(2, 285)).toEqual(Buffer.from([0x5e, 0x00, 0x00]));
    expect(controlBytes(4, 65821)).toEqual(Buffer.from([0x9f, 0x00, 0x00, 0x00]));
    expect(controlBytes(14, 1)).toEqual(Buffer.from([0x01, 0x07])); // extended: boolean true
    expect(controlBytes(11, 2)).toEqual(Buffer.from([0x02, 0x04])); // extended: array of 2
    expect(pointerBytes(5)).toEqual(Buffer.from([0x20, 0x05]));
    expect(pointerBytes(2048)).toEqual(Buffer.from([0x28, 0x00, 0x00]));
    expect(pointerBytes(526336)).toEqual(Buffer.from([0x30, 0x00, 0x00, 0x00]));
    expect(pointerBytes(526336 + 2 ** 27)).toEqual(Buffer.from([0x38, 0x08, 0x08, 0x08, 0x00]));
  });

  it('refuses networks outside loopback space and IPv6 in an IPv4 tree', () => {
    expect(() => writeMmdb({ ipVersion: 4, databaseType: 'T', records: [{ network: '0.0.0.0/0', data: 'x' }] })).toThrow(/loopback/);
    expect(() => writeMmdb({ ipVersion: 4, databaseType: 'T', records: [{ network: '::1/128', data: 'x' }] })).toThrow(/IPv6/);
  });

  it('an empty database answers null everywhere', () => {
    const r = new Reader<Any>(writeMmdb({ ipVersion: 6, databaseType: 'Empty', records: [] }));
    expect(r.get('127.0.0.1')).toBeNull();
    expect(r.get('::1')).toBeNull();
  });
});

describe('countryDb and asnDb', () => {
  const entries = [{ network: '127.0.0.2/32', country: 'NL' }, { network: '127.0.0.3/32', country: 'de' }, { network: '::1/128', country: 'GB' }];

  it('geoip2 schema', () => {
    const r = new Reader<Any>(countryDb(entries, 'geoip2'));
    expect(r.metadata.databaseType).toBe('GeoLite2-Country');
    expect(r.metadata.ipVersion).toBe(6);
    expect(r.get('127.0.0.2')).toEqual({
      country: { iso_code: 'NL', names: { en: 'Netherlands' } },
      registered_country: { iso_code: 'NL', names: { en: 'Netherlands' } },
    });
    expect((r.get('127.0.0.3')?.country as Any).iso_code).toBe('DE');
    expect((r.get('::1')?.country as Any).iso_code).toBe('GB');
    expect(r.get('127.0.0.6')).toBeNull();
  });

  it('country_code schema, IPv4-only file', () => {
    const r = new Reader<Any>(countryDb(entries.slice(0, 2), 'country_code', { ipVersion: 4 }));
    expect(r.metadata.ipVersion).toBe(4);
    expect(r.get('127.0.0.2')).toEqual({ country_code: 'NL' });
    expect(r.get('127.0.0.3')).toEqual({ country_code: 'DE' });
    expect(r.get('127.0.0.4')).toBeNull();
  });

  it('GeoLite2-ASN schema', () => {
    const r = new Reader<Any>(asnDb([{ network: '127.0.0.2/32', asn: 64496, org: 'Synthetic Hosting NL' }, { network: '127.0.0.0/24', asn: 64511, org: 'Loopback Transit' }]));
    expect(r.metadata.databaseType).toBe('GeoLite2-ASN');
    expect(r.get('127.0.0.2')).toEqual({ autonomous_system_number: 64496, autonomous_system_organization: 'Synthetic Hosting NL' });
    expect(r.get('127.0.0.77')).toEqual({ autonomous_system_number: 64511, autonomous_system_organization: 'Loopback Transit' });
    expect(r.get('127.0.1.1')).toBeNull();
  });
});
