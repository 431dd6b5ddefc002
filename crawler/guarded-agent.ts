/**
 * The undici Agent every crawler request goes through: the guarded connector for every new
 * connection, keep-alive pools per origin, and caps on what a hostile server can make it hold
 * (header size, idle time for headers and body). The per-fetch deadline, redirects and body cap
 * live in the fetcher (crawler/http-fetcher.ts).
 */
import { Agent, type buildConnector } from 'undici';
import type { HostResolver } from '../tracing/dns-resolver.js';
import type { ParsedCidr } from './address-policy.js';
import { createGuardedConnector } from './guarded-connector.js';

export interface GuardedAgentOptions {
  resolver: HostResolver;
  allow: readonly ParsedCidr[];
  connectTimeoutMs: number;
  /** longest wait for response headers once the request is sent */
  headersTimeoutMs: number;
  /** longest silence between body chunks */
  bodyTimeoutMs: number;
  /** sockets per origin */
  perHostConcurrency: number;
  /** cap on the response header block, bytes. @default 65536 */
  maxHeaderSize?: number;
  /** idle keep-alive sockets are closed after this. @default 4000 */
  keepAliveTimeoutMs?: number;
  /** origins whose last dialled address is remembered. @default 10000 */
  addressBookSize?: number;
}

export interface GuardedAgent {
  agent: Agent;
  /** the address the most recent new connection to `origin` was dialled at, if any */
  lastAddress(origin: string): string | null;
  close(): Promise<void>;
}

export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;

/** Agent limits shared by the direct guarded agent and the vantage agents. */
export type CrawlerAgentLimits = Pick<GuardedAgentOptions,
  'headersTimeoutMs' | 'bodyTimeoutMs' | 'perHostConcurrency' | 'maxHeaderSize' | 'keepAliveTimeoutMs' | 'addressBookSize'>;

/**
 * Wrap a connector (that guards every new connection itself) in a crawler agent: keep-alive pools
 * per origin, the caps on what a hostile server can make it hold, and a bounded book of the
 * address each origin was last dialled at. `remember` is handed to the connector's builder.
 */
export function createCrawlerAgent(
  limits: CrawlerAgentLimits,
  buildConnect: (remember: (origin: string, address: string) => void) => buildConnector.connector,
): GuardedAgent {
  const bookSize = limits.addressBookSize ?? 10_000;
  const addresses = new Map<string, string>();
  const remember = (origin: string, address: string): void => {
    addresses.delete(origin);
    if (addresses.size >= bookSize) {
      const oldest = addresses.keys().next();
      if (!oldest.done) addresses.delete(oldest.value);
    }
    addresses.set(origin, address);
  };

  const agent = new Agent({
    connect: buildConnect(remember),
    connections: limits.perHostConcurrency,
    pipelining: 1,
    maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    headersTimeout: limits.headersTimeoutMs,
    bodyTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? 4_000,
    keepAliveMaxTimeout: 60_000,
  });

  return {
    agent,
    lastAddress: (origin) => addresses.get(origin) ?? null,
    close: async () => {
      await agent.close();
    },
  };
}

/** Build the guarded agent. */
export function createGuardedAgent(options: GuardedAgentOptions): GuardedAgent {
  return createCrawlerAgent(options, (remember) => createGuardedConnector({
    resolver: options.resolver,
    allow: options.allow,
    connectTimeoutMs: options.connectTimeoutMs,
    onConnected: remember,
  }));
}
