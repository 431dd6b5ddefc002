/**
 * The one DNS resolver vigil uses to find where a name points. The crawler's network guard
 * resolves through it too (the sanctioned crawler → tracing link, DESIGN.md), so the guard and
 * the hosting trace see the same answers, from the same TTL-respecting cache.
 *
 * It asks DNS servers directly through c-ares (`dns.promises.Resolver`), never `dns.lookup`:
 * /etc/hosts, nsswitch and the libc cache must not decide where a crawled URL goes, and only
 * the real DNS distinguishes NXDOMAIN ("the name is gone") from SERVFAIL/timeout ("cannot tell").
 * c-ares is asynchronous and every query has a timeout, so a slow or silent name server holds
 * only the lookups that wait for it, never the event loop or the thread pool.
 */
import { promises as dnsPromises } from 'node:dns';
import { walkCnameChain, type CnameChain, type CnameLink } from './cname-chain.js';

export type { CnameChain, CnameLink } from './cname-chain.js';

/** What resolving a host name gave. */
export type HostResolution =
  | { kind: 'ok'; addresses: string[] }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'failure'; code: string };

/** The port the network guard depends on. */
export interface HostResolver {
  /**
   * A and AAAA addresses of `name` (A first). Never throws: every problem is a
   * {@link HostResolution} kind.
   */
  resolveHost(name: string): Promise<HostResolution>;
}

/** One address record, for provenance. */
export interface AddressAnswer {
  address: string;
  type: 'A' | 'AAAA';
  /** seconds left of the record's TTL when it was handed out (a cached answer counts down) */
  ttl: number;
}

/**
 * What resolving a host name gave, with the evidence a trace keeps: the CNAME chain from the
 * asked name to the canonical name, and every address record with its TTL.
 */
export type DetailedResolution =
  | { kind: 'ok'; name: string; chain: CnameChain; answers: AddressAnswer[]; fromCache: boolean }
  | { kind: 'nxdomain'; name: string; chain: CnameChain }
  | { kind: 'nodata'; name: string; chain: CnameChain }
  | { kind: 'failure'; name: string; code: string; chain: CnameChain };

/** The resolver with the extras the tracer needs; the crawler keeps using {@link HostResolver}. */
export interface DnsResolver extends HostResolver {
  /**
   * Like {@link HostResolver.resolveHost}, plus the CNAME chain and per-record TTLs. Shares the
   * address cache with `resolveHost`. Never throws.
   */
  resolveDetailed(name: string): Promise<DetailedResolution>;
}

export interface DnsResolverOptions {
  /** `"127.0.0.1:5353"`, `"[::1]:53"` or a bare address; empty = the system's resolvers */
  servers: readonly string[];
  /** per-try timeout of one query, in ms */
  timeoutMs: number;
  /** tries per query before giving up */
  tries: number;
  /** answers kept at most (least recently used dropped first). @default 10000 */
  cacheSize?: number;
  /** cap on how long an answer is kept, whatever its TTL says. @default 300 */
  maxTtlSeconds?: number;
  /** longest CNAME chain followed by `resolveDetailed`. @default 8 */
  maxChain?: number;
  /** clock in ms, for tests. @default Date.now */
  now?: () => number;
}

interface CacheEntry {
  answers: AddressAnswer[];
  storedAt: number;
  expiresAt: number;
  /** filled in by the first `resolveDetailed` while the entry lives (complete chains only) */
  chain?: CnameLink[];
}

/** One query's outcome; `answers` may be empty only together with kind 'nodata'. */
type QueryOutcome =
  | { kind: 'ok'; answers: AddressAnswer[]; ttl: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'failure'; code: string };

type Looked = { outcome: QueryOutcome; entry: CacheEntry | null };

/** Lower-case, without the trailing dot: the cache key and the name reported back. */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Build a {@link DnsResolver}.
 *
 * Only positive answers are cached, for the smallest TTL of the answer (capped by
 * `maxTtlSeconds`; TTL 0 is not cached). Negative answers and failures are asked again each
 * time: a recheck is rare per name, and a stale "gone" would be the costly mistake.
 *
 * @throws Error when a server string is not an address (from `Resolver.setServers`)
 */
export function createDnsResolver(options: DnsResolverOptions): DnsResolver {
  const resolver = new dnsPromises.Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  const cacheSize = options.cacheSize ?? 10_000;
  const maxTtlMs = (options.maxTtlSeconds ?? 300) * 1000;
  const maxChain = options.maxChain ?? 8;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<Looked>>();

  async function query(name: string, family: 4 | 6): Promise<QueryOutcome> {
    const type = family === 4 ? 'A' : 'AAAA';
    try {
      const records = family === 4
        ? await resolver.resolve4(name, { ttl: true })
        : await resolver.resolve6(name, { ttl: true });
      if (records.length === 0) return { kind: 'nodata' };
      return {
        kind: 'ok',
        answers: records.map((r) => ({ address: r.address, type, ttl: r.ttl })),
        ttl: Math.min(...records.map((r) => r.ttl)),
      };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
      if (code === 'ENODATA') return { kind: 'nodata' };
      return { kind: 'failure', code: typeof code === 'string' ? code : 'EUNKNOWN' };
    }
  }

  async function lookupUncached(name: string): Promise<Looked> {
    const [a, aaaa] = await Promise.all([query(name, 4), query(name, 6)]);
    const combined = combine(a, aaaa);
    let entry: CacheEntry | null = null;
    if (combined.kind === 'ok') {
      const storedAt = now();
      entry = { answers: combined.answers, storedAt, expiresAt: storedAt + Math.min(combined.ttl * 1000, maxTtlMs) };
      if (combined.ttl > 0 && maxTtlMs > 0) {
        if (cache.size >= cacheSize) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
        cache.set(name, entry);
      }
    }
    return { outcome: combined, entry };
  }

  /** A fresh cache entry for `name` (marked most recently used), or undefined. */
  function cached(name: string): CacheEntry | undefined {
    const hit = cache.get(name);
    if (hit === undefined) return undefined;
    cache.delete(name);
    if (hit.expiresAt <= now()) return undefined;
    cache.set(name, hit); // most recently used goes last
    return hit;
  }

  function lookup(name: string): Promise<Looked> {
    // Concurrent lookups of one name share one query.
    const pending = inFlight.get(name);
    if (pending !== undefined) return pending;
    const started = lookupUncached(name).finally(() => inFlight.delete(name));
    inFlight.set(name, started);
    return started;
  }

  /** The answers of an entry with their TTLs counted down to `at`. */
  function aged(entry: CacheEntry, at: number): AddressAnswer[] {
    const elapsed = Math.max(0, Math.floor((at - entry.storedAt) / 1000));
    return entry.answers.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - elapsed) }));
  }

  return {
    async resolveHost(rawName: string): Promise<HostResolution> {
      const name = normaliseName(rawName);
      const hit = cached(name);
      if (hit !== undefined) return { kind: 'ok', addresses: hit.answers.map((r) => r.address) };
      const { outcome } = await lookup(name);
      return outcome.kind === 'ok' ? { kind: 'ok', addresses: outcome.answers.map((r) => r.address) } : outcome;
    },

    async resolveDetailed(rawName: string): Promise<DetailedResolution> {
      const name = normaliseName(rawName);
      const hit = cached(name);
      if (hit?.chain !== undefined) {
        return { kind: 'ok', name, chain: { links: [...hit.chain], complete: true }, answers: aged(hit, now()), fromCache: true };
      }
      const [looked, chain] = await Promise.all([
        hit !== undefined ? Promise.resolve<Looked>({ outcome: { kind: 'ok', answers: hit.answers, ttl: 0 }, entry: hit }) : lookup(name),
        walkCnameChain(resolver, name, maxChain),
      ]);
      const { outcome, entry } = looked;
      if (outcome.kind !== 'ok' || entry === null) return { ...(outcome as Exclude<QueryOutcome, { kind: 'ok' }>), name, chain };
      // The chain is cached with the addresses it led to, only when the walk finished cleanly.
      if (chain.complete) entry.chain = chain.links;
      return { kind: 'ok', name, chain, answers: aged(entry, now()), fromCache: hit !== undefined };
    },
  };
}

/**
 * Merge the A and AAAA outcomes. Any address wins (the guard checks each one). Otherwise a
 * failure of either query wins over NXDOMAIN/NODATA: "gone" must rest on both answers.
 */
function combine(a: QueryOutcome, aaaa: QueryOutcome): QueryOutcome {
  if (a.kind === 'ok' || aaaa.kind === 'ok') {
    const parts = [a, aaaa].filter((q): q is Extract<QueryOutcome, { kind: 'ok' }> => q.kind === 'ok');
    return {
      kind: 'ok',
      answers: parts.flatMap((q) => q.answers),
      ttl: Math.min(...parts.map((q) => q.ttl)),
    };
  }
  if (a.kind === 'failure') return a;
  if (aaaa.kind === 'failure') return aaaa;
  if (a.kind === 'nxdomain' && aaaa.kind === 'nxdomain') return a;
  return { kind: 'nodata' };
}
