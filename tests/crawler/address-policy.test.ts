/**
 * The address policy, as a pure function. NEVER DIALLED: every literal here is a loopback,
 * unspecified, documentation or reserved address, and nothing in this file opens a socket.
 */
import ipaddr from 'ipaddr.js';
import { describe, expect, test } from 'vitest';
import { canonicalAddress, checkAddress, parseCidrList } from '../../crawler/address-policy.js';

const NONE = parseCidrList([]);
const TEST_ALLOW = parseCidrList(['127.0.0.2/31', '127.0.0.4/31']);

describe('checkAddress refuses non-public addresses', () => {
  // [literal (never dialled), expected range]
  const table: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['127.1', 'loopback'], // short form
    ['2130706433', 'loopback'], // decimal
    ['0x7f000001', 'loopback'], // hex
    ['0177.0.0.1', 'loopback'], // octal
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped, dotted
    ['::ffff:7f00:1', 'loopback'], // IPv4-mapped, hex
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::7f00:1', 'notGlobalUnicast'], // deprecated IPv4-compatible form; ipaddr.js says "unicast"
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'], // TEST-NET-1 (documentation)
    ['198.51.100.10', 'reserved'], // TEST-NET-2
    ['203.0.113.10', 'reserved'], // TEST-NET-3
    ['198.18.0.1', 'reserved'], // benchmarking
    ['240.0.0.1', 'reserved'],
    ['::ffff:192.0.2.10', 'reserved'], // mapped documentation address
    ['2001:db8::1', 'reserved'], // IPv6 documentation
    ['3fff::1', 'reserved'], // IPv6 documentation (RFC 9637)
    ['64:ff9b::7f00:1', 'rfc6052:loopback'], // NAT64 carrying loopback
    ['64:ff9b::192.0.2.10', 'rfc6052:reserved'],
    ['64:ff9b:1::7f00:1', 'rfc6052'], // local-use NAT64: carried address not located, refused
    ['::ffff:0:7f00:1', 'rfc6145:loopback'], // IPv4-translated
    ['2002:7f00:1::1', '6to4:loopback'], // 6to4 carrying loopback
    ['2002:c000:20a::1', '6to4:reserved'], // 6to4 carrying 192.0.2.10
    ['2001:0:7f00:1::1', 'teredo:loopback'], // Teredo, server address loopback
    ['4000::1', 'notGlobalUnicast'], // outside 2000::/3
    ['not an address', 'unparseable'],
    ['', 'unparseable'],
    ['127.0.0.1:80', 'unparseable'],
  ];

  test.each(table)('%s → refused (%s)', (ip, range) => {
    expect(checkAddress(ip, NONE)).toEqual({ allowed: false, range });
  });

  test('every special range ipaddr.js knows is refused (its own network addresses, never dialled)', () => {
    const ranges = {
      ...(ipaddr.IPv4.prototype as unknown as { SpecialRanges: Record<string, unknown[]> }).SpecialRanges,
      ...(ipaddr.IPv6.prototype as unknown as { SpecialRanges: Record<string, unknown[]> }).SpecialRanges,
    };
    let checked = 0;
    for (const [name, value] of Object.entries(ranges)) {
      // each value is [addr, bits] or an array of them
      const list = (Array.isArray(value[0]) ? value : [value]) as Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
      for (const [network] of list) {
        const decision = checkAddress(network.toString(), NONE);
        expect(decision, `${name} ${network.toString()}`).toMatchObject({ allowed: false });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(25);
  });
});

describe('allowNetworks is the only exception', () => {
  test.each([
    ['127.0.0.2', true],
    ['127.0.0.3', true],
    ['127.0.0.4', true],
    ['127.0.0.5', true],
    ['127.0.0.1', false],
    ['127.0.0.6', false],
    ['127.0.0.66', false],
    ['::ffff:127.0.0.2', true], // mapped form of an allowed address
    ['::ffff:127.0.0.1', false],
    ['0x7f000002', true],
    ['::1', false],
  ])('%s allowed: %s', (ip, allowed) => {
    expect(checkAddress(ip, TEST_ALLOW).allowed).toBe(allowed);
  });

  test('an allow-listed NAT64 prefix does not let a carried non-public address through', () => {
    const allow = parseCidrList(['64:ff9b::/96', '192.0.2.0/24']); // documentation, never dialled
    expect(checkAddress('64:ff9b::192.0.2.10', allow)).toEqual({ allowed: true });
    expect(checkAddress('64:ff9b::7f00:1', allow)).toEqual({ allowed: false, range: 'rfc6052:loopback' });
  });

  test('IPv6 networks match IPv6 addresses only', () => {
    expect(checkAddress('::1', parseCidrList(['::1/128']))).toEqual({ allowed: true });
    expect(checkAddress('127.0.0.1', parseCidrList(['::1/128'])).allowed).toBe(false);
  });
});

describe('parseCidrList', () => {
  test('takes CIDRs and bare addresses', () => {
    const list = parseCidrList([' 127.0.0.2/31 ', '127.0.0.9', '::1']);
    expect(list.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(['127.0.0.2/31', '127.0.0.9/32', '::1/128']);
  });

  test('names the entry that is not a network', () => {
    expect(() => parseCidrList(['127.0.0.2/31', 'localhost'])).toThrow(/"localhost"/);
    expect(() => parseCidrList(['127.0.0.0/33'])).toThrow(/127\.0\.0\.0\/33/);
  });
});

describe('canonicalAddress', () => {
  test.each([
    ['::ffff:7f00:2', '127.0.0.2'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['0x7f000002', '127.0.0.2'],
    ['0:0::1', '::1'],
    ['nonsense', null],
  ])('%s → %s', (ip, canonical) => {
    expect(canonicalAddress(ip)).toBe(canonical);
  });
});
