/**
 * The one DNS resolver vigil uses to find where a name points. The crawler's network guard
 * resolves through it too (the sanctioned crawler → tracing link, DESIGN.md), so the guard and
 * the hosting trace see the same answers.
 *
 * It asks DNS servers directly through c-ares (`dns.promises.Resolver`), never `dns.lookup`:
 * /etc/hosts, nsswitch and the libc cache must not decide where a crawled URL goes, and only
 * the real DNS distinguishes NXDOMAIN ("the name is gone") from SERVFAIL/timeout ("cannot tell").
 */
import { promises as dnsPromises } from 'node:dns';

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
  /** clock in ms, for tests. @default Date.now */
  now?: () => number;
}

interface CacheEntry {
  addresses: string[];
  expiresAt: number;
}

/** One query's outcome; `addresses` may be empty only together with kind 'nodata'. */
type QueryOutcome =
  | { kind: 'ok'; addresses: string[]; ttl: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'failure'; code: string };

/**
 * Build a {@link HostResolver}.
 *
 * Only positive answers are cached, for the smallest TTL of the answer (capped by
 * `maxTtlSeconds`; TTL 0 is not cached). Negative answers and failures are asked again each
 * time: a recheck is rare per name, and a stale "gone" would be the costly mistake.
 *
 * @throws Error when a server string is not an address (from `Resolver.setServers`)
 */
export function createDnsResolver(options: DnsResolverOptions): HostResolver {
  const resolver = new dnsPromises.Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  const cacheSize = options.cacheSize ?? 10_000;
  const maxTtlMs = (options.maxTtlSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<HostResolution>>();

  async function query(name: string, family: 4 | 6): Promise<QueryOutcome> {
    try {
      const records = family === 4
        ? await resolver.resolve4(name, { ttl: true })
        : await resolver.resolve6(name, { ttl: true });
      if (records.length === 0) return { kind: 'nodata' };
      return {
        kind: 'ok',
        addresses: records.map((r) => r.address),
        ttl: Math.min(...records.map((r) => r.ttl)),
      };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
      if (code === 'ENODATA') return { kind: 'nodata' };
      return { kind: 'failure', code: typeof code === 'string' ? code : 'EUNKNOWN' };
    }
  }

  async function resolveUncached(name: string): Promise<HostResolution> {
    const [a, aaaa] = await Promise.all([query(name, 4), query(name, 6)]);
    const combined = combine(a, aaaa);
    if (combined.kind === 'ok' && combined.ttl > 0 && maxTtlMs > 0) {
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(name, { addresses: combined.addresses, expiresAt: now() + Math.min(combined.ttl * 1000, maxTtlMs) });
    }
    return combined.kind === 'ok' ? { kind: 'ok', addresses: combined.addresses } : combined;
  }

  return {
    resolveHost(rawName: string): Promise<HostResolution> {
      const name = rawName.toLowerCase().replace(/\.$/, '');
      const hit = cache.get(name);
      if (hit !== undefined) {
        cache.delete(name);
        if (hit.expiresAt > now()) {
          cache.set(name, hit); // most recently used goes last
          return Promise.resolve({ kind: 'ok', addresses: [...hit.addresses] });
        }
      }
      // Concurrent checks of one name share one query.
      const pending = inFlight.get(name);
      if (pending !== undefined) return pending;
      const started = resolveUncached(name).finally(() => inFlight.delete(name));
      inFlight.set(name, started);
      return started;
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
      addresses: parts.flatMap((q) => q.addresses),
      ttl: Math.min(...parts.map((q) => q.ttl)),
    };
  }
  if (a.kind === 'failure') return a;
  if (aaaa.kind === 'failure') return aaaa;
  if (a.kind === 'nxdomain' && aaaa.kind === 'nxdomain') return a;
  return { kind: 'nodata' };
}
