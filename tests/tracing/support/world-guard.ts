/**
 * The crawler's network guard pointed at the loopback world, as the composition root would build
 * it for RDAP referrals: the world's DNS, and only the world's allowNetworks (127.0.0.2–.6).
 */
import { parseCidrList } from '../../../crawler/address-policy.js';
import { createGuardedAgent, type GuardedAgent } from '../../../crawler/guarded-agent.js';
import { createDnsResolver, type DnsResolver } from '../../../tracing/dns-resolver.js';
import type { World } from '../../world/world.js';

export interface WorldGuard {
  resolver: DnsResolver;
  guarded: GuardedAgent;
  close(): Promise<void>;
}

export function worldGuard(world: World, options: { now?: () => number; timeoutMs?: number } = {}): WorldGuard {
  const config = world.config();
  const resolver = createDnsResolver({ servers: config.crawler.dnsServers, timeoutMs: options.timeoutMs ?? 500, tries: 1, now: options.now });
  const guarded = createGuardedAgent({
    resolver,
    allow: parseCidrList(config.crawler.allowNetworks),
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    perHostConcurrency: 4,
  });
  return { resolver, guarded, close: () => guarded.close() };
}
