/**
 * One spelling per address, so lookups, comparisons and provenance agree: IPv4-mapped IPv6
 * (`::ffff:127.0.0.2`, `::ffff:7f00:2`) is the IPv4 address, IPv6 is in RFC 5952 short form.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export interface CanonicalIp {
  ip: string;
  family: 4 | 6;
}

/**
 * Whether `s` is a dotted-quad IPv4 address without leading zeros (what `net.isIPv4` accepts),
 * checked by hand: it sits on the hot path of every database lookup, where a regular expression
 * costs as much as the lookup.
 */
export function isDottedQuad(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return false;
      dots += 1;
      digits = 0;
      value = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits > 0 && value === 0) return false; // a leading zero: octal in some parsers
    value = value * 10 + (c - 48);
    digits += 1;
    if (value > 255) return false;
  }
  return dots === 3 && digits > 0;
}

/**
 * The canonical form of an IP address literal (brackets allowed), or null when `input` is not one.
 * Zone ids (`fe80::1%eth0`) are not addresses a trace can use: null.
 */
export function canonicalIp(input: string): CanonicalIp | null {
  const raw = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  if (isDottedQuad(raw)) return { ip: raw, family: 4 };
  const kind = net.isIP(raw);
  if (kind === 4) return { ip: raw, family: 4 };
  if (kind !== 6 || raw.includes('%')) return null;
  const parsed = ipaddr.IPv6.parse(raw);
  if (parsed.isIPv4MappedAddress()) return { ip: parsed.toIPv4Address().toString(), family: 4 };
  return { ip: parsed.toString(), family: 6 };
}
