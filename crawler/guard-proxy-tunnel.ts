/**
 * The guard proxy's CONNECT path (https, and the browser's ws:// and wss://): resolve the target
 * and check every address with {@link guardDestination}, open a TCP connection to the checked
 * address (never to a name), answer 200, then relay. Refused targets get 403 and no connection.
 *
 * Only TLS may flow through a tunnel: the browser tunnels plain `ws://` too, so a tunnel whose
 * first client byte is not a TLS handshake record is cut before a byte is relayed. Tunnels are
 * closed when idle and when their life exceeds the request deadline.
 */
import type http from 'node:http';
import net from 'node:net';
import { mapFetchError } from './fetch-error-kind.js';
import { guardDestination } from './guarded-connector.js';
import { authorityOf, type ProxyContext } from './guard-proxy-context.js';

/** First byte of a TLS record carrying a handshake (ClientHello). */
const TLS_HANDSHAKE = 0x16;

function reply(socket: net.Socket, status: number, reason: string): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}

/** Parse a CONNECT target (`host:port`, `[v6]:port`); null when it is not one. */
function parseTarget(target: string): { host: string; port: number } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:/?#@\s[\]]+):(\d{1,5})$/.exec(target);
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  try {
    // Canonicalise the way the browser does (decimal/hex IPv4 forms become dotted).
    const url = new URL(`http://${match[1]}:${port}`);
    return { host: url.hostname, port };
  } catch {
    return null;
  }
}

/** Serve one CONNECT request. Never throws. */
export function openTunnel(ctx: ProxyContext, req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
  client.on('error', () => {});
  const authority = authorityOf(req.url);
  const target = parseTarget(req.url ?? '');
  if (target === null) {
    ctx.refuse(authority, 'not_proxy_request', '');
    reply(client, 400, 'Bad Request');
    return;
  }

  guardDestination(target.host, ctx.resolver, ctx.allow).then(
    (address) => dial(ctx, authority, address, target.port, client, head),
    (err: unknown) => {
      const mapped = mapFetchError(err);
      if (mapped.kind === 'blocked_address') ctx.refuse(authority, 'blocked_address', mapped.detail);
      else ctx.fail(authority, mapped.kind, mapped.detail);
      reply(client, mapped.kind === 'blocked_address' ? 403 : 502, mapped.kind === 'blocked_address' ? 'Forbidden' : 'Bad Gateway');
    },
  );
}

function dial(ctx: ProxyContext, authority: string, address: string, port: number, client: net.Socket, head: Buffer): void {
  if (client.destroyed) return;
  // `address` is the checked literal: net does no name lookup for it.
  const upstream = net.connect({ host: address, port, timeout: ctx.connectTimeoutMs });
  let state: 'dialling' | 'open' | 'done' = 'dialling';
  const finish = (): void => {
    if (state === 'done') return;
    state = 'done';
    clearTimeout(lifetime);
    upstream.destroy();
    client.destroy();
  };
  const dialFailed = (kind: Parameters<ProxyContext['fail']>[1], detail: string, status: number, reason: string): void => {
    if (state !== 'dialling') return finish();
    state = 'done';
    clearTimeout(lifetime);
    ctx.fail(authority, kind, detail);
    upstream.destroy();
    reply(client, status, reason);
  };
  const lifetime = setTimeout(finish, ctx.requestTimeoutMs);
  lifetime.unref();
  client.on('close', finish);
  upstream.on('close', finish);
  upstream.on('timeout', () => dialFailed('timeout', 'connect', 504, 'Gateway Timeout'));
  upstream.on('error', (err) => {
    const mapped = mapFetchError(err);
    dialFailed(mapped.kind, mapped.detail, 502, 'Bad Gateway');
  });

  upstream.once('connect', () => {
    if (state !== 'dialling') return;
    state = 'open';
    ctx.allowed();
    upstream.setTimeout(ctx.tunnelIdleMs);
    client.setTimeout(ctx.tunnelIdleMs, finish);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const start = (first: Buffer): void => {
      if (first[0] !== TLS_HANDSHAKE) {
        ctx.refuse(authority, 'plaintext_tunnel', '');
        finish();
        return;
      }
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (head.length > 0) start(head);
    else client.once('data', start);
  });
}
