/**
 * Which addresses vigil may connect to (CONTRACT.md §7): public unicast only, unless
 * `crawler.allowNetworks` names the address. Pure: no I/O, so it is tested exhaustively
 * with literals that are never dialled.
 *
 * Fail closed: an address that does not parse, or that ipaddr.js calls anything but `unicast`,
 * is refused; an IPv6 address outside 2000::/3 (global unicast) is refused even when ipaddr.js
 * calls it `unicast` (e.g. the deprecated IPv4-compatible `::7f00:1`).
 */
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
/** A network in `allowNetworks`, parsed once at start-up. */
export type ParsedCidr = readonly [IpAddress, number];

export type AddressDecision = { allowed: true } | { allowed: false; range: string };

/**
 * Parse `crawler.allowNetworks`. A bare address means that one address.
 * @throws Error naming the entry that is not a CIDR
 */
export function parseCidrList(list: readonly string[]): ParsedCidr[] {
  return list.map((entry) => {
    const text = entry.trim();
    try {
      if (!text.includes('/')) {
        const addr = ipaddr.parse(text);
        return [addr, addr.kind() === 'ipv4' ? 32 : 128] as const;
      }
      return ipaddr.parseCIDR(text);
    } catch (err) {
      throw new Error(`not a CIDR network: ${JSON.stringify(entry)}`, { cause: err });
    }
  });
}

// Defence in depth, should ipaddr.js ever call these `unicast`.
const EXTRA_DENIED: ReadonlyArray<readonly [string, ParsedCidr]> = [
  ['unspecified', ipaddr.parseCIDR('0.0.0.0/8')],
  ['documentation', ipaddr.parseCIDR('192.0.2.0/24')],
  ['documentation', ipaddr.parseCIDR('198.51.100.0/24')],
  ['documentation', ipaddr.parseCIDR('203.0.113.0/24')],
  ['documentation', ipaddr.parseCIDR('2001:db8::/32')],
  ['documentation', ipaddr.parseCIDR('3fff::/20')],
];
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * Decide whether `ip` may be dialled. `ip` is an address literal (any form ipaddr.js parses:
 * dotted, decimal, hex, octal IPv4; IPv6 with or without embedded IPv4; a zone id).
 */
export function checkAddress(ip: string, allow: readonly ParsedCidr[]): AddressDecision {
  let addr: IpAddress;
  try {
    addr = ipaddr.parse(ip);
  } catch {
    return { allowed: false, range: 'unparseable' };
  }
  return decide(addr, allow);
}

/**
 * The address to dial for a checked literal: IPv4-mapped IPv6 is dialled as plain IPv4, so
 * what is dialled is exactly what was checked. Returns null for text that is not an address.
 */
export function canonicalAddress(ip: string): string | null {
  try {
    const addr = ipaddr.parse(ip);
    return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
      ? (addr as ipaddr.IPv6).toIPv4Address().toString()
      : addr.toString();
  } catch {
    return null;
  }
}

function decide(addr: IpAddress, allow: readonly ParsedCidr[]): AddressDecision {
  const allowListed = inAny(addr, allow);

  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    // ::ffff:a.b.c.d is a.b.c.d on the wire: judge the IPv4 address.
    if (v6.isIPv4MappedAddress()) return allowListed ? { allowed: true } : decide(v6.toIPv4Address(), allow);

    // Forms that carry an IPv4 address a gateway may forward to: even where allowNetworks
    // names the IPv6 prefix (say, a NAT64 on an IPv6-only host), the carried address must pass.
    const carried = embeddedIPv4(v6);
    if (carried === 'opaque') return { allowed: false, range: v6.range() };
    for (const inner of carried) {
      const verdict = decide(inner, allow);
      if (!verdict.allowed) return { allowed: false, range: `${v6.range()}:${verdict.range}` };
    }
  }

  if (allowListed) return { allowed: true };

  const range = addr.range();
  if (range !== 'unicast') return { allowed: false, range };
  for (const [name, cidr] of EXTRA_DENIED) {
    if (matches(addr, cidr)) return { allowed: false, range: name };
  }
  if (addr.kind() === 'ipv6' && !matches(addr, GLOBAL_UNICAST_V6)) return { allowed: false, range: 'notGlobalUnicast' };
  return { allowed: true };
}

/**
 * IPv4 addresses carried inside NAT64, IPv4-translated, 6to4 and Teredo IPv6 addresses;
 * 'opaque' where the form carries one that cannot be located (refused outright).
 */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4[] | 'opaque' {
  const p = v6.parts;
  const v4 = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const at = (i: number): number => p[i] ?? 0;
  switch (v6.range()) {
    case 'rfc6052':
      // Only the /96 well-known prefix has the IPv4 address in the last 32 bits; other NAT64
      // prefixes (RFC 8215 local use) place it by prefix length, unknown here.
      return matches(v6, NAT64_WELL_KNOWN) ? [v4(at(6), at(7))] : 'opaque';
    case 'rfc6145':
      return [v4(at(6), at(7))];
    case '6to4':
      return [v4(at(1), at(2))];
    case 'teredo':
      // server address, and the client address (stored inverted)
      return [v4(at(2), at(3)), v4(~at(6) & 0xffff, ~at(7) & 0xffff)];
    default:
      return [];
  }
}

function inAny(addr: IpAddress, list: readonly ParsedCidr[]): boolean {
  return list.some((cidr) => matches(addr, cidr));
}

function matches(addr: IpAddress, [network, bits]: ParsedCidr): boolean {
  if (addr.kind() !== network.kind()) return false;
  return addr.kind() === 'ipv4'
    ? (addr as ipaddr.IPv4).match(network as ipaddr.IPv4, bits)
    : (addr as ipaddr.IPv6).match(network as ipaddr.IPv6, bits);
}
