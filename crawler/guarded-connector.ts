/**
 * The network guard, as an undici `connect` function (DESIGN.md "Safety that is part of the
 * design"): resolve the destination once, check every address, dial the checked address.
 * Because undici calls it for every new connection, every redirect hop and every request on
 * the guarded agent is checked, whatever the URL came from.
 *
 * Node is never given a host name to resolve: the socket is opened to the address literal that
 * was checked, so DNS rebinding between check and dial is not possible.
 */
import net from 'node:net';
import { buildConnector } from 'undici';
import type { HostResolver } from '../tracing/dns-resolver.js';
import { canonicalAddress, checkAddress, type ParsedCidr } from './address-policy.js';
import { NetworkGuardError } from './guard-errors.js';

export interface GuardedConnectorOptions {
  resolver: HostResolver;
  /** parsed `crawler.allowNetworks`: the only exceptions to the public-address rule */
  allow: readonly ParsedCidr[];
  /** TCP (+TLS) connect timeout in ms, DNS not included. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * What opens the socket to the checked address (tests inject one).
   * @default undici `buildConnector({ timeout: connectTimeoutMs })`, with name lookups refused
   */
  dial?: buildConnector.connector;
  /** told the dialled address of each new connection, by origin (`https://host:port`) */
  onConnected?: (origin: string, address: string) => void;
}

/**
 * Resolve `hostname` (or take it as an address literal, with or without brackets) and check
 * every address. A mixed answer — any refused address — refuses the whole name.
 *
 * @returns the address to dial (canonical form; IPv4-mapped IPv6 as IPv4)
 * @throws NetworkGuardError `VIGIL_BLOCKED_ADDRESS`, `VIGIL_DNS_NXDOMAIN`, `VIGIL_DNS_NODATA`,
 *   `VIGIL_DNS_FAILURE`
 */
export async function guardDestination(
  hostname: string,
  resolver: HostResolver,
  allow: readonly ParsedCidr[],
): Promise<string> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;

  if (net.isIP(host) !== 0) {
    const decision = checkAddress(host, allow);
    if (!decision.allowed) throw new NetworkGuardError('VIGIL_BLOCKED_ADDRESS', hostname, decision.range);
    return canonicalAddress(host) ?? host;
  }

  const answer = await resolver.resolveHost(host);
  switch (answer.kind) {
    case 'nxdomain':
      throw new NetworkGuardError('VIGIL_DNS_NXDOMAIN', hostname, 'ENOTFOUND');
    case 'nodata':
      throw new NetworkGuardError('VIGIL_DNS_NODATA', hostname, 'ENODATA');
    case 'failure':
      throw new NetworkGuardError('VIGIL_DNS_FAILURE', hostname, answer.code);
    case 'ok':
      break;
  }
  if (answer.addresses.length === 0) throw new NetworkGuardError('VIGIL_DNS_NODATA', hostname, 'ENODATA');
  for (const address of answer.addresses) {
    const decision = checkAddress(address, allow);
    if (!decision.allowed) throw new NetworkGuardError('VIGIL_BLOCKED_ADDRESS', hostname, decision.range);
  }
  // A records come first; a later issue may try the others when the first does not answer.
  const first = answer.addresses[0] as string;
  return canonicalAddress(first) ?? first;
}

/** Refuses every name lookup: the guard hands Node only address literals. */
function refuseLookup(hostname: string, _options: unknown, callback: (err: Error) => void): void {
  callback(new NetworkGuardError('VIGIL_BLOCKED_ADDRESS', hostname, 'unguarded_lookup'));
}

/** Build the guarded undici connector. */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const dial = options.dial ?? buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    lookup: refuseLookup as unknown as net.LookupFunction,
  });

  return function guardedConnect(connectOptions, callback) {
    const { hostname } = connectOptions;
    const isName = net.isIP(hostname.replace(/^\[|\]$/g, '')) === 0;
    const fail = (err: unknown): void => callback(err instanceof Error ? err : new Error(String(err)), null);

    guardDestination(hostname, options.resolver, options.allow).then((address) => {
      const checked = {
        ...connectOptions,
        hostname: address,
        // TLS SNI and certificate checks stay on the name; the Host header is set by undici
        // from the origin and is not touched here.
        servername: isName ? connectOptions.servername || hostname.replace(/\.$/, '') : connectOptions.servername,
      };
      try {
        dial(checked, (...args) => {
          const [err, socket] = args;
          if (err === null && options.onConnected) {
            const origin = `${connectOptions.protocol}//${connectOptions.host ?? `${hostname}:${connectOptions.port}`}`;
            options.onConnected(origin, socket.remoteAddress ?? address);
          }
          callback(...args);
        });
      } catch (err) {
        fail(err);
      }
    }, fail);
  };
}
