/**
 * The tracer (core/tracer.ts port): DNS → address → country and network (mmdb) → RDAP abuse
 * contacts, with the evidence for each step in the record.
 *
 * The hosting address is the one a check actually connected to when it is known (`observedIp`),
 * else the first DNS answer — the same address the network guard dials. The country comes only
 * from the country databases: the RDAP registrant's country says where a network's holder is
 * registered, not where the server is, and is recorded apart (`network.country`).
 */
import type { Clock } from '../core/clock.js';
import type { TraceContact, TraceDns, TraceOptions, TraceRdapQuery, TraceRecord, Tracer as TracerPort } from '../core/tracer.js';
import { canonicalIp } from './canonical-ip.js';
import type { DnsResolver } from './dns-resolver.js';
import type { GeoDatabases } from './geo-databases.js';
import type { RdapBootstrapInfo } from './rdap-bootstrap.js';
import type { RdapClient, RdapLookup } from './rdap-client.js';
import type { RdapContact } from './rdap-contacts.js';
import { parseTraceTarget } from './trace-target.js';

/** What the tracer needs of the RDAP client (tests may pass a stand-in). */
export type RdapLookups = Pick<RdapClient, 'lookupIp' | 'lookupAsn' | 'lookupDomain'>;

export interface TracerOptions {
  resolver: DnsResolver;
  geo: Pick<GeoDatabases, 'country' | 'asn' | 'versions'>;
  /** null: no RDAP lookups (contacts stay empty, `contactStatus` is `lookup_failed`) */
  rdap: RdapLookups | null;
  /** where the RDAP servers came from, for provenance */
  rdapBootstrap?: RdapBootstrapInfo | null;
  /** `tracing.cdnAsns` */
  cdnAsns: readonly number[];
  clock: Clock;
}

function query<T>(kind: TraceRdapQuery['kind'], q: string, r: RdapLookup<T>): TraceRdapQuery {
  return {
    kind,
    query: q,
    outcome: r.outcome,
    urls: [...r.urls],
    reason: r.outcome === 'failed' ? r.reason : r.outcome === 'found' && r.referralFailure ? `referral ${r.referralFailure.reason}` : null,
    detail: r.outcome === 'failed' ? r.detail : r.outcome === 'found' && r.referralFailure ? r.referralFailure.detail : null,
    fetchedAt: r.outcome === 'found' || r.outcome === 'not_found' ? r.fetchedAt : null,
  };
}

function contacts(found: RdapContact[], source: TraceContact['source'], role: TraceContact['role'], viaCdn: boolean, rdapUrl: string | null): TraceContact[] {
  return found.flatMap((c): TraceContact[] => {
    const base = { source, role, name: c.name, handle: c.handle, viaCdn, rdapUrl };
    return c.emails.length === 0 ? [{ ...base, email: null }] : c.emails.map((email) => ({ ...base, email }));
  });
}

const lastUrl = (urls: readonly string[]): string | null => urls[urls.length - 1] ?? null;

/** The tracer. Lookups fail into the record; only a target that is not a URL/host/address throws. */
export class Tracer implements TracerPort {
  private readonly cdn: ReadonlySet<number>;

  constructor(private readonly options: TracerOptions) {
    this.cdn = new Set(options.cdnAsns);
  }

  /** @throws TracingError VIGIL_TRACE_BAD_TARGET */
  async trace(target: string, traceOptions: TraceOptions = {}): Promise<TraceRecord> {
    const { resolver, geo, rdap } = this.options;
    const parsed = parseTraceTarget(target);
    const observed = traceOptions.observedIp ? canonicalIp(traceOptions.observedIp) : null;
    const signal = traceOptions.signal;

    // The registrar lookup needs no address: start it with DNS.
    const domainLookup = rdap !== null && parsed.registrableDomain !== null ? rdap.lookupDomain(parsed.registrableDomain, signal) : null;

    let dns: TraceDns;
    if (parsed.ip !== null) {
      dns = { name: null, outcome: 'literal', code: null, chain: [], chainComplete: true, answers: [], fromCache: false };
    } else {
      const r = await resolver.resolveDetailed(parsed.host);
      dns = {
        name: r.name,
        outcome: r.kind,
        code: r.kind === 'failure' ? r.code : null,
        chain: r.chain.links.map((l) => ({ ...l })),
        chainComplete: r.chain.complete,
        answers: r.kind === 'ok' ? r.answers.map((a) => ({ ...a })) : [],
        fromCache: r.kind === 'ok' ? r.fromCache : false,
      };
    }
    const addresses = [...new Set(parsed.ip !== null ? [parsed.ip.ip] : dns.answers.flatMap((a) => canonicalIp(a.address)?.ip ?? []))];
    const ip = observed?.ip ?? addresses[0] ?? null;
    const ipSource = observed !== null ? 'observed' : ip === null ? null : parsed.ip !== null ? 'literal' : 'dns';

    const country = ip === null ? null : geo.country(ip);
    const asn = ip === null ? null : geo.asn(ip);
    const viaCdn = asn?.asn != null && this.cdn.has(asn.asn);

    const ipLookup = rdap !== null && ip !== null ? await rdap.lookupIp(ip, signal) : null;
    const ipHasEmail = ipLookup?.outcome === 'found' && ipLookup.data.abuse.some((c) => c.emails.length > 0);
    // The AS holder is the next best abuse desk when the network object has none.
    const asLookup = rdap !== null && asn?.asn != null && !ipHasEmail ? await rdap.lookupAsn(asn.asn, signal) : null;
    const domain = domainLookup === null ? null : await domainLookup;

    const rdapQueries: TraceRdapQuery[] = [];
    const found: TraceContact[] = [];
    if (ipLookup !== null && ip !== null) {
      rdapQueries.push(query('ip', ip, ipLookup));
      if (ipLookup.outcome === 'found') found.push(...contacts(ipLookup.data.abuse, 'ip', 'abuse', viaCdn, lastUrl(ipLookup.urls)));
    }
    if (asLookup !== null && asn?.asn != null) {
      rdapQueries.push(query('autnum', String(asn.asn), asLookup));
      if (asLookup.outcome === 'found') found.push(...contacts(asLookup.data.abuse, 'autnum', 'abuse', viaCdn, lastUrl(asLookup.urls)));
    }
    if (domain !== null && parsed.registrableDomain !== null) {
      rdapQueries.push(query('domain', parsed.registrableDomain, domain));
      if (domain.outcome === 'found' && domain.data.registrar !== null) {
        found.push(...contacts(domain.data.registrar.abuse, 'domain', 'registrar_abuse', false, lastUrl(domain.urls)));
      }
    }

    const network = ipLookup?.outcome === 'found'
      ? { name: ipLookup.data.name, handle: ipLookup.data.handle, country: ipLookup.data.country, startAddress: ipLookup.data.startAddress, endAddress: ipLookup.data.endAddress, org: ipLookup.data.org }
      : null;
    const org = asn?.org ?? network?.org ?? null;
    const anyEmail = found.some((c) => c.email !== null);
    const anyFailed = rdap === null || rdapQueries.some((q) => q.outcome === 'failed' || q.reason !== null);
    const registrar = domain?.outcome === 'found' && domain.data.registrar !== null && parsed.registrableDomain !== null
      ? { domain: parsed.registrableDomain, name: domain.data.registrar.name, handle: domain.data.registrar.handle, ianaId: domain.data.registrar.ianaId }
      : null;
    const bootstrap = this.options.rdapBootstrap ?? null;

    return {
      target,
      host: parsed.host,
      observedIp: observed?.ip ?? null,
      dns,
      addresses,
      hosting: { ip, country: country?.country ?? null, asn: asn?.asn ?? null, org, viaCdn },
      ipSource,
      countrySource: country?.database != null && country.field !== null ? { database: country.database, field: country.field } : null,
      orgSource: asn?.org != null ? 'asn_db' : network?.org != null ? 'rdap' : null,
      network,
      registrar,
      contacts: found,
      contactStatus: anyEmail ? 'found' : anyFailed ? 'lookup_failed' : 'none_found',
      databases: geo.versions().map(({ role, path, databaseType, buildEpoch, ipVersion }) => ({ role, path, databaseType, buildEpoch, ipVersion })),
      rdap: rdapQueries,
      rdapBootstrap: bootstrap === null ? null : { source: bootstrap.source, publications: { ...bootstrap.publications } },
      tracedAt: this.options.clock.now(),
    };
  }
}
