/**
 * The CNAME chain from a name to its canonical name, for a trace's provenance ("this URL's host
 * is an alias of a CDN's name"). c-ares follows CNAMEs by itself when asked for A/AAAA but does
 * not report the hops, so the chain is walked one `CNAME` question at a time.
 */
import type { promises as dnsPromises } from 'node:dns';

/** One alias hop: `name` is an alias of `target`. */
export interface CnameLink {
  name: string;
  target: string;
}

/** The walked chain; `complete` is false when a hop failed, looped or the chain was too long. */
export interface CnameChain {
  links: CnameLink[];
  complete: boolean;
}

/**
 * Follow CNAME records from `name` until a name has none (NODATA/NXDOMAIN: the end of the chain).
 * Never throws.
 */
export async function walkCnameChain(resolver: dnsPromises.Resolver, name: string, maxHops: number): Promise<CnameChain> {
  const links: CnameLink[] = [];
  const seen = new Set<string>([name]);
  let current = name;
  for (let hop = 0; hop < maxHops; hop++) {
    let targets: string[];
    try {
      targets = await resolver.resolveCname(current);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // No CNAME at this name (or no such name): the chain ends here, cleanly.
      return { links, complete: code === 'ENODATA' || code === 'ENOTFOUND' };
    }
    const target = targets[0]?.toLowerCase().replace(/\.$/, '');
    if (target === undefined || target === '') return { links, complete: true };
    links.push({ name: current, target });
    if (seen.has(target)) return { links, complete: false };
    seen.add(target);
    current = target;
  }
  return { links, complete: false };
}
