/**
 * The tracer, as a port: where a URL's content is hosted, who runs the network, and who takes
 * abuse reports, with the evidence for each answer (DESIGN.md "trace"). Implemented in tracing/
 * (c-ares DNS, MaxMind DB files, RDAP). The hosting block is what routing and notices use
 * (CONTRACT.md §5, §6); the rest is provenance for analysts and for the audit trail.
 */
import type { Hosting } from './store.js';

/** One A/AAAA record as answered. */
export interface TraceDnsAnswer {
  address: string;
  type: 'A' | 'AAAA';
  /** seconds left of the record's TTL when the trace read it */
  ttl: number;
}

export interface TraceDns {
  /** the name asked; null when the target was an IP address literal */
  name: string | null;
  /** `literal`: no DNS needed; `nxdomain`/`nodata`/`failure` as the resolver reported */
  outcome: 'ok' | 'nxdomain' | 'nodata' | 'failure' | 'literal';
  /** resolver error code for `failure` (e.g. `ETIMEOUT`, `ESERVFAIL`) */
  code: string | null;
  /** CNAME hops from `name` to the canonical name */
  chain: { name: string; target: string }[];
  /** false when a CNAME hop failed, looped or was too long */
  chainComplete: boolean;
  answers: TraceDnsAnswer[];
  fromCache: boolean;
}

/** A database the trace consulted, with its version. */
export interface TraceDatabase {
  role: 'country' | 'asn';
  path: string;
  databaseType: string;
  /** ISO 8601 build time from the file's metadata */
  buildEpoch: string;
  ipVersion: 4 | 6;
}

/** One RDAP lookup made for the trace (or why none was). */
export interface TraceRdapQuery {
  kind: 'ip' | 'autnum' | 'domain';
  /** the address, AS number or domain asked about */
  query: string;
  /** `failed` (no answer could be had) is kept apart from `found` with no contact in it */
  outcome: 'found' | 'not_found' | 'no_service' | 'failed';
  /** every URL requested, redirects and referrals included, in order */
  urls: string[];
  /** for `failed`: network, timeout, http_status, bad_json, too_large, too_many_redirects, bad_redirect, blocked */
  reason: string | null;
  detail: string | null;
  /** when the answer was fetched (earlier than `tracedAt` when it came from the cache) */
  fetchedAt: string | null;
}

/** An abuse contact found through RDAP. */
export interface TraceContact {
  /** which lookup found it */
  source: 'ip' | 'autnum' | 'domain';
  /** `abuse`: of the network; `registrar_abuse`: of the domain's registrar */
  role: 'abuse' | 'registrar_abuse';
  /** null when the abuse entity has no vCard e-mail */
  email: string | null;
  name: string | null;
  handle: string | null;
  /** the network is a CDN's (`tracing.cdnAsns`): this desk forwards to the origin host */
  viaCdn: boolean;
  /** the RDAP URL the contact was read from */
  rdapUrl: string | null;
}

export interface TraceNetwork {
  name: string | null;
  handle: string | null;
  /** the registrant's country per RDAP (not the hosting country, which comes from the database) */
  country: string | null;
  startAddress: string | null;
  endAddress: string | null;
  org: string | null;
}

export interface TraceRegistrar {
  /** the registrable domain looked up */
  domain: string;
  name: string | null;
  handle: string | null;
  ianaId: string | null;
}

export interface TraceRecord {
  /** the URL, host name or address as given */
  target: string;
  /** host name or address literal taken from the target */
  host: string;
  /** the address a check connected to, if one was given */
  observedIp: string | null;
  dns: TraceDns;
  /** every address the name resolved to, canonical (IPv4-mapped IPv6 as IPv4), without repeats */
  addresses: string[];
  /** CONTRACT.md §6 hosting block; `ip` null when no address could be found */
  hosting: Hosting;
  /** where `hosting.ip` came from */
  ipSource: 'observed' | 'dns' | 'literal' | null;
  /** the database and field that gave `hosting.country` */
  countrySource: { database: string; field: string } | null;
  /** where `hosting.org` came from: the ASN database or the RDAP registrant */
  orgSource: 'asn_db' | 'rdap' | null;
  network: TraceNetwork | null;
  registrar: TraceRegistrar | null;
  contacts: TraceContact[];
  /**
   * `found`: at least one abuse e-mail; `lookup_failed`: none, and a lookup that could have
   * given one failed (ask again later); `none_found`: every lookup answered, none had an e-mail.
   */
  contactStatus: 'found' | 'none_found' | 'lookup_failed';
  databases: TraceDatabase[];
  rdap: TraceRdapQuery[];
  /** where the RDAP servers came from */
  rdapBootstrap: { source: string; publications: Record<string, string | null> } | null;
  tracedAt: Date;
}

export interface TraceOptions {
  /** the address a check saw the content served from: it is the hosting address, whatever DNS says now */
  observedIp?: string | null;
  /** aborts the DNS and RDAP lookups still running */
  signal?: AbortSignal;
}

export interface Tracer {
  /**
   * Trace a URL, a host name or an IP address. Lookup failures are values in the record, not
   * exceptions.
   * @throws an error with code `VIGIL_TRACE_BAD_TARGET` when `target` is none of those
   */
  trace(target: string, options?: TraceOptions): Promise<TraceRecord>;
}
