/**
 * A small RDAP client (RFC 7480–7484, 9082, 9083, 9224): who holds an IP network or an AS, who
 * registered a domain, and their abuse contacts.
 *
 * - The bootstrap data picks the server; the first request to it is trusted (CONTRACT.md §7).
 *   Redirects and referrals come from the network and go through the guarded dispatcher.
 * - At most `maxRedirects` hops per lookup (redirects plus the registrar referral together),
 *   all within one deadline.
 * - Answers (and 404s) are cached for `cacheTtlMs`; failures are not cached, and are reported
 *   as `failed`, never as "no contact": a registry that could not be asked is not a registry
 *   that has no abuse desk.
 */
import { Agent, type Dispatcher } from 'undici';
import { canonicalIp } from './canonical-ip.js';
import type { RdapBootstrap } from './rdap-bootstrap.js';
import { parseAutnum, parseDomain, parseIpNetwork, type RdapAutnumInfo, type RdapDomainInfo, type RdapIpNetworkInfo } from './rdap-contacts.js';
import { fetchRdap, type RdapFailureReason, type RdapFetchResult } from './rdap-fetch.js';
import { TtlCache } from './ttl-cache.js';

export type { RdapFailureReason } from './rdap-fetch.js';

/** The outcome of one lookup. */
export type RdapLookup<T> =
  /** the server answered with the object; `data` may still hold no contact */
  | { outcome: 'found'; urls: string[]; data: T; fetchedAt: string; fromCache: boolean; referralFailure?: { urls: string[]; reason: RdapFailureReason; detail: string } }
  /** the server answered 404: it holds no such object */
  | { outcome: 'not_found'; urls: string[]; fetchedAt: string; fromCache: boolean }
  /** the bootstrap data names no server for it */
  | { outcome: 'no_service'; urls: [] }
  /** no answer could be had: network, timeout, bad status, bad JSON, too large, blocked */
  | { outcome: 'failed'; urls: string[]; reason: RdapFailureReason; detail: string; status?: number };

export interface RdapClientOptions {
  bootstrap: RdapBootstrap;
  /**
   * For URLs that came from the network (redirects, referrals): the crawler's guarded agent,
   * passed in by the composition root.
   */
  guardedDispatcher: Dispatcher;
  /**
   * For the first request to a bootstrap server (trusted as written).
   * @default an undici Agent owned by the client (closed by `close()`)
   */
  trustedDispatcher?: Dispatcher;
  /** Deadline of one lookup, all hops included, ms. @default 10000 */
  deadlineMs?: number;
  /** Redirects and referrals followed per lookup. @default 3 */
  maxRedirects?: number;
  /** Cap on a response body, bytes. @default 1 MiB */
  maxBodyBytes?: number;
  /** How long an answer (or a 404) is reused, ms. @default 6 hours */
  cacheTtlMs?: number;
  /** Lookups cached at most. @default 10000 */
  cacheSize?: number;
  /** @default 'vigil (RDAP; hosting trace)' */
  userAgent?: string;
  /** clock in ms. @default Date.now */
  now?: () => number;
}

type Cached = Extract<RdapLookup<unknown>, { outcome: 'found' | 'not_found' }>;

/** The RDAP client. Lookups never throw. */
export class RdapClient {
  private readonly trusted: Dispatcher;
  private readonly ownsTrusted: boolean;
  private readonly cache: TtlCache<Cached>;
  private readonly inFlight = new Map<string, Promise<RdapLookup<unknown>>>();
  private readonly deadlineMs: number;
  private readonly maxRedirects: number;
  private readonly maxBodyBytes: number;
  private readonly cacheTtlMs: number;
  private readonly userAgent: string;
  private readonly now: () => number;

  constructor(private readonly options: RdapClientOptions) {
    this.ownsTrusted = options.trustedDispatcher === undefined;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.trusted = options.trustedDispatcher ?? new Agent({
      connect: { timeout: this.deadlineMs },
      headersTimeout: this.deadlineMs,
      bodyTimeout: this.deadlineMs,
      maxHeaderSize: 64 * 1024,
    });
    this.maxRedirects = options.maxRedirects ?? 3;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.cacheTtlMs = options.cacheTtlMs ?? 6 * 3600_000;
    this.now = options.now ?? Date.now;
    this.cache = new TtlCache(options.cacheSize ?? 10_000, this.now);
    this.userAgent = options.userAgent ?? 'vigil (RDAP; hosting trace)';
  }

  /** The IP network holding `ip`: name, registrant, country, abuse contacts. */
  lookupIp(ip: string, signal?: AbortSignal): Promise<RdapLookup<RdapIpNetworkInfo>> {
    const at = canonicalIp(ip);
    if (at === null) return Promise.resolve({ outcome: 'no_service', urls: [] });
    return this.cached(`ip:${at.ip}`, signal, (s) =>
      this.query(this.options.bootstrap.serversForIp(at.ip), `ip/${at.ip}`, s, parseIpNetwork));
  }

  /** The autonomous system `asn`: name, holder, abuse contacts. */
  lookupAsn(asn: number, signal?: AbortSignal): Promise<RdapLookup<RdapAutnumInfo>> {
    return this.cached(`autnum:${asn}`, signal, (s) =>
      this.query(this.options.bootstrap.serversForAsn(asn), `autnum/${asn}`, s, parseAutnum));
  }

  /**
   * A domain (pass the registrable domain, e.g. `example.co.uk`): its registrar and the
   * registrar's abuse contact. When the registry's answer has no registrar abuse e-mail and links
   * to the registrar's own RDAP object (thin registries), that referral is followed.
   */
  lookupDomain(name: string, signal?: AbortSignal): Promise<RdapLookup<RdapDomainInfo>> {
    const domain = name.toLowerCase().replace(/\.$/, '');
    return this.cached(`domain:${domain}`, signal, async (s) => {
      const first = await this.query(this.options.bootstrap.serversForDomain(domain), `domain/${encodeURIComponent(domain)}`, s, parseDomain);
      if (first.outcome !== 'found') return first;
      const hasAbuse = first.data.registrar?.abuse.some((c) => c.emails.length > 0) ?? false;
      const referral = first.data.related[0];
      const budget = this.maxRedirects - (first.urls.length - 1) - 1;
      if (hasAbuse || referral === undefined || budget < 0) return first;
      const next = await fetchRdap(referral, this.fetchOptions(s, false, budget));
      if (next.kind !== 'ok') {
        const reason = next.kind === 'not_found' ? 'http_status' : next.reason;
        const detail = next.kind === 'not_found' ? 'status 404' : next.detail;
        return { ...first, urls: [...first.urls, ...next.urls], referralFailure: { urls: next.urls, reason, detail } };
      }
      const referred = parseDomain(next.body);
      const better = referred.registrar?.abuse.some((c) => c.emails.length > 0) ? referred.registrar : first.data.registrar;
      return { ...first, urls: [...first.urls, ...next.urls], data: { ...first.data, registrar: better } };
    });
  }

  /** Close the dispatcher the client created (not the ones passed in). */
  async close(): Promise<void> {
    if (this.ownsTrusted) await this.trusted.close();
  }

  private fetchOptions(signal: AbortSignal, firstHopTrusted: boolean, maxRedirects: number) {
    return {
      trustedDispatcher: this.trusted,
      guardedDispatcher: this.options.guardedDispatcher,
      firstHopTrusted,
      maxRedirects,
      maxBodyBytes: this.maxBodyBytes,
      signal,
      userAgent: this.userAgent,
    };
  }

  /** Ask each server for `path` in turn until one answers (or says 404); all within `signal`. */
  private async query<T>(servers: string[], path: string, signal: AbortSignal, parse: (body: unknown) => T): Promise<RdapLookup<T>> {
    if (servers.length === 0) return { outcome: 'no_service', urls: [] };
    let last: RdapFetchResult | undefined;
    const tried: string[] = [];
    for (const base of servers) {
      last = await fetchRdap(`${base}${path}`, this.fetchOptions(signal, true, this.maxRedirects));
      tried.push(...last.urls);
      if (last.kind !== 'failed' || last.reason === 'timeout' || signal.aborted) break;
    }
    const fetchedAt = new Date(this.now()).toISOString();
    const result = last as RdapFetchResult;
    if (result.kind === 'ok') return { outcome: 'found', urls: result.urls, data: parse(result.body), fetchedAt, fromCache: false };
    if (result.kind === 'not_found') return { outcome: 'not_found', urls: result.urls, fetchedAt, fromCache: false };
    // A failure lists every URL tried, on every server.
    return result.status === undefined
      ? { outcome: 'failed', urls: tried, reason: result.reason, detail: result.detail }
      : { outcome: 'failed', urls: tried, reason: result.reason, detail: result.detail, status: result.status };
  }

  /** Cache, in-flight sharing and the per-lookup deadline around `run`. */
  private async cached<T>(key: string, signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<RdapLookup<T>>): Promise<RdapLookup<T>> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return { ...(hit as RdapLookup<T> & Cached), fromCache: true };
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending as Promise<RdapLookup<T>>;
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
    const started = run(combined).then((result) => {
      if (result.outcome === 'found' || result.outcome === 'not_found') this.cache.set(key, result as Cached, this.cacheTtlMs);
      return result;
    }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started as Promise<RdapLookup<unknown>>);
    return started;
  }
}
