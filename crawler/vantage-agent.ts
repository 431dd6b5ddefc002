/**
 * Vantages (`crawler.vantages`): an undici Agent per configured HTTP proxy, so a check can be
 * made from another network (geo-blocking must not read as removal).
 *
 * The proxy is operator configuration and is trusted as written (CONTRACT.md §7); the
 * DESTINATION is not. For every new connection the destination host is resolved and checked by
 * the network guard ({@link guardDestination}) BEFORE the proxy is asked, and the proxy is then
 * asked for a tunnel to the checked address literal (`CONNECT <ip>:<port>`), never to the name,
 * so the proxy cannot resolve the name to something else. Both http and https are tunnelled:
 * for https, TLS runs inside the tunnel with SNI and certificate checks on the original name;
 * the Host header is set by undici from the origin, as on the direct agent. Redirect hops are
 * new origins, so each is checked again (the fetcher re-enters per hop).
 *
 * A proxy that cannot be reached, or that will not open the tunnel, says nothing about the site:
 * those errors carry `VIGIL_PROXY_FAILURE`, which the fetcher maps to `other` (inconclusive).
 */
import net from 'node:net';
import tls from 'node:tls';
import { buildConnector } from 'undici';
import type { HostResolver } from '../tracing/dns-resolver.js';
import type { ParsedCidr } from './address-policy.js';
import { createCrawlerAgent, type GuardedAgent } from './guarded-agent.js';
import { guardDestination } from './guarded-connector.js';

/** One `crawler.vantages` entry. */
export interface VantageConfig {
  id: string;
  /** `http://host:port` or `https://host:port`, optionally with `user:password@` */
  proxy: string;
}

export interface VantageAgentOptions {
  vantage: VantageConfig;
  resolver: HostResolver;
  allow: readonly ParsedCidr[];
  /** proxy TCP (+TLS) connect, CONNECT answer and destination TLS, per connection */
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  perHostConcurrency: number;
  /** @default 65536 */
  maxHeaderSize?: number;
  /** @default 4000 */
  keepAliveTimeoutMs?: number;
  /** origins whose last dialled address is remembered. @default 10000 */
  addressBookSize?: number;
}

/** A proxy that could not be reached or refused the tunnel: says nothing about the destination. */
export class VantageProxyError extends Error {
  readonly code = 'VIGIL_PROXY_FAILURE';
  /** short code: `proxy_status_502`, `proxy_ECONNREFUSED`, `proxy_timeout`, … (never proxy text) */
  readonly detail: string;

  constructor(detail: string, options?: { cause?: unknown }) {
    super(`VIGIL_PROXY_FAILURE: ${detail}`, options);
    this.name = 'VantageProxyError';
    this.detail = detail;
  }
}

/** Longest CONNECT answer header block read from the proxy. */
const MAX_CONNECT_ANSWER = 16 * 1024;

interface ProxyTarget {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
  authorization: string | null;
}

/** @throws Error when the proxy URL is not `http(s)://host:port` */
export function parseProxyUrl(proxy: string): ProxyTarget {
  const url = new URL(proxy);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`vantage proxy must be http(s), not ${url.protocol}`);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const authorization = url.username !== ''
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : null;
  return { protocol: url.protocol, host: url.hostname.replace(/^\[|\]$/g, ''), port, authorization };
}

/** Build the agent of one vantage. */
export function createVantageAgent(options: VantageAgentOptions): GuardedAgent {
  const proxy = parseProxyUrl(options.vantage.proxy);
  return createCrawlerAgent(options, (remember) => vantageConnector(proxy, options, remember));
}

/** The connector of one vantage: guard the destination, then tunnel to its checked address. */
function vantageConnector(proxy: ProxyTarget, options: VantageAgentOptions, remember: (origin: string, address: string) => void): buildConnector.connector {
  // TLS to the destination, inside the tunnel (undici's own connector: session cache, ALPN off)
  const tlsInside = buildConnector({ timeout: options.connectTimeoutMs });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    const { hostname } = connectOptions;
    const bare = hostname.replace(/^\[|\]$/g, '');
    const isName = net.isIP(bare) === 0;
    const port = Number(connectOptions.port) || (connectOptions.protocol === 'https:' ? 443 : 80);
    const origin = `${connectOptions.protocol}//${connectOptions.host ?? `${hostname}:${port}`}`;
    const fail = (err: unknown): void => callback(err instanceof Error ? err : new Error(String(err)), null);

    guardDestination(hostname, options.resolver, options.allow)
      .then((address) => openTunnel(proxy, address, port, options.connectTimeoutMs).then((socket) => ({ address, socket })))
      .then(({ address, socket }) => {
        if (connectOptions.protocol !== 'https:') {
          remember(origin, address);
          callback(null, socket);
          return;
        }
        const servername = isName ? connectOptions.servername || bare.replace(/\.$/, '') : connectOptions.servername;
        try {
          tlsInside({ ...connectOptions, hostname: address, servername, httpSocket: socket }, (...args) => {
            const [err] = args;
            if (err === null) remember(origin, address);
            else socket.destroy();
            callback(...args);
          });
        } catch (err) {
          socket.destroy();
          fail(err);
        }
      })
      .catch(fail);
  };

  return connect;
}

/**
 * Connect to the proxy and ask for a tunnel to `address:port` (a checked literal). Resolves with
 * the socket once the proxy answered 2xx; any bytes after the answer are handed back to it.
 */
function openTunnel(proxy: ProxyTarget, address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const authority = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
    // the proxy's own name is operator configuration: resolved normally (CONTRACT.md §7)
    const socket: net.Socket = proxy.protocol === 'https:'
      ? tls.connect({ host: proxy.host, port: proxy.port, servername: net.isIP(proxy.host) === 0 ? proxy.host : undefined })
      : net.connect({ host: proxy.host, port: proxy.port });
    let settled = false;
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => done(new VantageProxyError('proxy_timeout')), timeoutMs);

    function done(err: Error | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    }
    function onError(err: Error): void {
      const code = (err as { code?: unknown }).code;
      done(new VantageProxyError(`proxy_${typeof code === 'string' ? code : 'error'}`, { cause: err }));
    }
    function onClose(): void {
      done(new VantageProxyError('proxy_closed'));
    }
    function onData(chunk: Buffer): void {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) {
        if (received.length > MAX_CONNECT_ANSWER) done(new VantageProxyError('proxy_bad_answer'));
        return;
      }
      const statusLine = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!match) {
        done(new VantageProxyError('proxy_bad_answer'));
        return;
      }
      const status = Number(match[1]);
      if (status < 200 || status > 299) {
        done(new VantageProxyError(`proxy_status_${status}`));
        return;
      }
      const rest = received.subarray(end + 4);
      socket.pause();
      done(null);
      if (rest.length > 0) socket.unshift(rest);
    }

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
      if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
