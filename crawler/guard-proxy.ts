/**
 * The guard proxy: the browser's only way to the network (DESIGN.md "Safety that is part of the
 * design": "The browser reaches the network only through a local proxy that applies the same
 * guard"). An HTTP proxy on 127.0.0.1, random port:
 *
 * - absolute-form requests (`GET http://host/path`) are forwarded through the guarded undici
 *   agent — every connection resolved and checked, the checked address dialled — streamed, not
 *   cached, bodies never logged (crawler/guard-proxy-forward.ts);
 * - CONNECT tunnels are resolved and checked with {@link guardDestination}, then opened to the
 *   checked address; only TLS may flow through them (crawler/guard-proxy-tunnel.ts);
 * - WebSocket upgrades and origin-form requests are refused.
 *
 * What the proxy refused, and why, is kept briefly by destination so the browser fetcher can
 * tell "the guard refused" or "the name does not exist" from a browser-side network error.
 */
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import type { HostResolver } from '../tracing/dns-resolver.js';
import { parseCidrList } from './address-policy.js';
import { createGuardedAgent } from './guarded-agent.js';
import { authorityOf, GUARD_HEADER, type ProxyContext, type ProxyVerdict } from './guard-proxy-context.js';
import { forwardRequest } from './guard-proxy-forward.js';
import { openTunnel } from './guard-proxy-tunnel.js';

export interface GuardProxyOptions {
  /** the tracing resolver: the guard resolves through it (tests pass a loopback DNS server) */
  resolver: HostResolver;
  /** `crawler.allowNetworks`: the only exceptions to the public-address rule */
  allowNetworks: readonly string[];
  /** TCP (+TLS) connect timeout per upstream connection, ms. @default 10000 */
  connectTimeoutMs?: number;
  /** deadline of one forwarded request (headers and body), and of a tunnel's life, ms. @default 30000 */
  requestTimeoutMs?: number;
  /** silence after which a tunnel is closed, ms. @default 15000 */
  tunnelIdleMs?: number;
  /** bytes of one forwarded response body at most; the connection is cut beyond. @default 10 MiB */
  maxBodyBytes?: number;
  /** sockets per upstream origin. @default 6 */
  perHostConcurrency?: number;
  /** refuse everything (the browser's own background traffic is pointed at such a proxy) */
  refuseAll?: boolean;
}

/** Counters for tests and metrics. */
export interface GuardProxyCounts {
  /** requests forwarded and tunnels opened to a checked address */
  allowed: number;
  /** refused by policy: guard, WebSocket, plaintext tunnel, media request, refuse-all, malformed */
  refused: number;
  /** allowed, but the upstream failed (DNS, connect, reset, timeout) */
  failed: number;
  /** refusals by reason (`blocked_address`, `websocket`, `plaintext_tunnel`, `media`, …) */
  refusedBy: Record<string, number>;
}

const VERDICTS_KEPT = 1024;

export {
  authorityOf, GUARD_DETAIL_HEADER, GUARD_HEADER, isFetchErrorKind, type ProxyVerdict, type RefusalReason,
} from './guard-proxy-context.js';

/** The guard proxy. `start()` it, point the browser at `url`, `close()` it. */
export class GuardProxy {
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly verdicts = new Map<string, ProxyVerdict>();
  private readonly tally: GuardProxyCounts = { allowed: 0, refused: 0, failed: 0, refusedBy: {} };
  private readonly context: ProxyContext;
  private listeningPort = 0;

  /** @throws Error when an `allowNetworks` entry is not a CIDR */
  constructor(options: GuardProxyOptions) {
    const allow = parseCidrList(options.allowNetworks);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.context = {
      resolver: options.resolver,
      allow,
      agent: createGuardedAgent({
        resolver: options.resolver,
        allow,
        connectTimeoutMs,
        headersTimeoutMs: requestTimeoutMs,
        bodyTimeoutMs: requestTimeoutMs,
        perHostConcurrency: options.perHostConcurrency ?? 6,
      }),
      connectTimeoutMs,
      requestTimeoutMs,
      tunnelIdleMs: options.tunnelIdleMs ?? 15_000,
      maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
      allowed: () => {
        this.tally.allowed++;
      },
      refuse: (authority, reason, detail) => {
        this.tally.refused++;
        this.tally.refusedBy[reason] = (this.tally.refusedBy[reason] ?? 0) + 1;
        const kind = reason === 'blocked_address' || reason === 'blocked_scheme' ? reason : 'other';
        this.remember(authority, { kind, detail: kind === 'other' ? reason : detail, at: performance.now() });
      },
      fail: (authority, kind, detail) => {
        this.tally.failed++;
        this.remember(authority, { kind, detail, at: performance.now() });
      },
    };

    this.server = http.createServer();
    this.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    if (options.refuseAll) {
      this.server.on('request', (req, res) => {
        this.context.refuse(authorityOf(req.url), 'refuse_all', '');
        res.writeHead(403, { [GUARD_HEADER]: 'refused', 'content-length': '0', connection: 'close' }).end();
      });
      this.server.on('connect', (req, socket: net.Socket) => {
        this.context.refuse(authorityOf(req.url), 'refuse_all', '');
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      });
    } else {
      this.server.on('request', (req, res) => void forwardRequest(this.context, req, res));
      this.server.on('connect', (req, socket: net.Socket, head: Buffer) => openTunnel(this.context, req, socket, head));
    }
    // A WebSocket (or any protocol) upgrade through the proxy is refused, whatever the target.
    this.server.on('upgrade', (req, socket: net.Socket) => {
      this.context.refuse(authorityOf(req.url), 'websocket', '');
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  }

  /** Listen on 127.0.0.1, on a port the system picks. */
  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.listeningPort = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** `http://127.0.0.1:PORT`, for `--proxy-server` / a context's `proxy.server` */
  get url(): string {
    return `http://127.0.0.1:${this.listeningPort}`;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** A snapshot of the counters. */
  counts(): GuardProxyCounts {
    return { ...this.tally, refusedBy: { ...this.tally.refusedBy } };
  }

  /**
   * The latest refusal or failure recorded for `authority` (`host:port`, host as the browser
   * canonicalises it) at or after `since` (`performance.now()`), if any.
   */
  verdictFor(authority: string, since: number): ProxyVerdict | null {
    const found = this.verdicts.get(authority.toLowerCase());
    return found !== undefined && found.at >= since ? found : null;
  }

  /** Stop listening, cut every connection and tunnel, close the upstream pools. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await Promise.all([closed, this.context.agent.close()]);
  }

  private remember(authority: string, verdict: ProxyVerdict): void {
    const key = authority.toLowerCase();
    this.verdicts.delete(key);
    if (this.verdicts.size >= VERDICTS_KEPT) {
      const oldest = this.verdicts.keys().next();
      if (!oldest.done) this.verdicts.delete(oldest.value);
    }
    this.verdicts.set(key, verdict);
  }
}

