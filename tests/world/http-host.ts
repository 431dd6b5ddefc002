/**
 * One simulated web host on a loopback address: programmable routes, a request log, optional TLS
 * and injected latency. close() destroys every socket, keep-alive ones included.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { assertLoopbackAddress, closeServer, delay, listen, trackSockets } from './loopback.js';

/** Handles one request; may be async. Thrown errors become a 500. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface StaticResponse {
  /** @default 200 */
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

export interface HttpRequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  remotePort: number | undefined;
  at: Date;
}

export interface HttpHostOptions {
  /** Loopback address to bind, e.g. `127.0.0.2`. */
  address: string;
  /** Port to bind; 0 picks a free one. @default 0 */
  port?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Delay before every response, in milliseconds. @default 0 */
  latencyMs?: number;
}

export interface HttpHost {
  address: string;
  port: number;
  /** `http://127.0.0.X:PORT` (or https). */
  origin: string;
  /** `origin + path`. */
  url(path: string): string;
  /**
   * Routes `method` (`*` for any) and `path` to `handler`. `path` is an exact path, or a prefix
   * ending in `/*`. Later routes replace earlier ones with the same method and path.
   */
  route(method: string, path: string, handler: RouteHandler): void;
  /** A fixed response for GET and HEAD on `path`. */
  routeStatic(path: string, response: StaticResponse): void;
  /** Removes a route set by `route` or `routeStatic` (all methods when omitted). */
  unroute(path: string, method?: string): void;
  /** Every request received, in order of arrival. */
  readonly requests: HttpRequestLogEntry[];
  /** TCP connections accepted so far (shows keep-alive reuse). */
  readonly connections: number;
  /** TCP connections open now. */
  readonly openConnections: number;
  /** Delays every later response by `ms`. */
  injectLatency(ms: number): void;
  readonly server: http.Server;
  close(): Promise<void>;
}

interface Route { method: string; path: string; handler: RouteHandler }

function matches(route: Route, method: string, path: string): boolean {
  if (route.method !== '*' && route.method !== method) return false;
  if (route.path.endsWith('/*')) return path.startsWith(route.path.slice(0, -1)) || path === route.path.slice(0, -2);
  return route.path === path;
}

/** Sends a fixed response. */
export function sendStatic(res: ServerResponse, response: StaticResponse): void {
  const body = response.body === undefined ? undefined : Buffer.from(response.body);
  const headers: OutgoingHttpHeaders = { ...response.headers };
  if (body && headers['content-length'] === undefined) headers['content-length'] = body.length;
  res.writeHead(response.status ?? 200, headers);
  res.end(body);
}

/**
 * Starts a host on `options.address` (loopback only).
 * @throws Error for a non-loopback address; the listen error (e.g. EADDRINUSE) for a taken port.
 */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  assertLoopbackAddress(options.address, 'HTTP host address');
  const routes: Route[] = [];
  const requests: HttpRequestLogEntry[] = [];
  let latencyMs = options.latencyMs ?? 0;
  const closing = new AbortController();

  const listener = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    requests.push({ method, path, url, headers: req.headers, remotePort: req.socket.remotePort, at: new Date() });
    if (latencyMs > 0) await delay(latencyMs, closing.signal);
    if (closing.signal.aborted) { req.socket.destroy(); return; }
    // Latest matching route wins; HEAD falls back to GET routes.
    const route = [...routes].reverse().find((r) => matches(r, method, path))
      ?? (method === 'HEAD' ? [...routes].reverse().find((r) => matches(r, 'GET', path)) : undefined);
    try {
      if (route) await route.handler(req, res);
      else sendStatic(res, { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><title>404 Not Found</title><h1>Not Found</h1>\n' });
    } catch (err) {
      if (!res.headersSent) sendStatic(res, { status: 500, headers: { 'content-type': 'text/plain' }, body: `handler error: ${String(err)}\n` });
      else res.destroy();
    }
  };

  const server: http.Server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(listener);
  const tracker = trackSockets(server);
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  const port = await listen(server, options.address, options.port ?? 0);
  const origin = `${options.tls ? 'https' : 'http'}://${options.address}:${port}`;

  let closed = false;
  const host: HttpHost = {
    address: options.address,
    port,
    origin,
    url: (path) => `${origin}${path.startsWith('/') ? path : `/${path}`}`,
    route(method, path, handler) {
      const m = method.toUpperCase();
      const existing = routes.findIndex((r) => r.method === m && r.path === path);
      if (existing >= 0) routes.splice(existing, 1);
      routes.push({ method: m, path, handler });
    },
    routeStatic(path, response) {
      const handler: RouteHandler = (_req, res) => sendStatic(res, response);
      host.route('GET', path, handler);
      host.route('HEAD', path, handler);
    },
    unroute(path, method) {
      for (let i = routes.length - 1; i >= 0; i--) {
        const r = routes[i];
        if (r && r.path === path && (method === undefined || r.method === method.toUpperCase())) routes.splice(i, 1);
      }
    },
    requests,
    get connections() { return tracker.total; },
    get openConnections() { return tracker.open; },
    injectLatency(ms) { latencyMs = Math.max(0, ms); },
    server,
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      const done = closeServer(server);
      server.closeAllConnections();
      tracker.destroyAll();
      await done;
    },
  };
  return host;
}
