/**
 * What a trace is about: the host of a URL (or a bare host name or address), and the registrable
 * domain whose registrar can act on it.
 */
import { getDomain } from 'tldts';
import { canonicalIp, type CanonicalIp } from './canonical-ip.js';
import { TracingError } from './tracing-errors.js';

export interface TraceTarget {
  /** lower-case host name (IDN as punycode) or canonical address */
  host: string;
  /** set when the host is an address literal */
  ip: CanonicalIp | null;
  /** e.g. `example.co.uk` for `cdn.files.example.co.uk` (ICANN suffixes only); null for addresses */
  registrableDomain: string | null;
}

/**
 * Parse a URL (`https://host:port/path`), a host (`host`, `host:port`) or an address literal
 * (`127.0.0.2`, `[::1]`, `::1`).
 * @throws TracingError VIGIL_TRACE_BAD_TARGET
 */
export function parseTraceTarget(target: string): TraceTarget {
  const input = target.trim();
  const literal = canonicalIp(input);
  if (literal !== null) return { host: literal.ip, ip: literal, registrableDomain: null };
  let hostname: string;
  try {
    hostname = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`).hostname;
  } catch (err) {
    throw new TracingError('VIGIL_TRACE_BAD_TARGET', `not a URL, host name or IP address: ${JSON.stringify(input.slice(0, 200))}`, { cause: err });
  }
  if (hostname === '') throw new TracingError('VIGIL_TRACE_BAD_TARGET', `no host in ${JSON.stringify(input.slice(0, 200))}`);
  // The URL parser has already turned 0x7f.1, 2130706433 and the like into dotted addresses.
  const ip = canonicalIp(hostname);
  if (ip !== null) return { host: ip.ip, ip, registrableDomain: null };
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return { host, ip: null, registrableDomain: getDomain(host) };
}
