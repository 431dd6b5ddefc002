/**
 * A webhook receiver on loopback: records every delivery attempt and answers with programmable
 * responses — a default per path, or a queue of scripted ones (503 + Retry-After, then 200; 410).
 * Also verifies Standard Webhooks signatures.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertLoopbackAddress, closeServer, delay, listen, trackSockets } from './loopback.js';

export interface WebhookResponse {
  /** @default 200 */
  status?: number;
  headers?: Record<string, string>;
  /** @default '' */
  body?: string;
  /** Wait before answering (close() cuts it short). */
  delayMs?: number;
}

export interface WebhookDelivery {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: unknown;
  /** Status the sink answered with. */
  status: number;
  at: Date;
}

export interface WebhookSink {
  host: string;
  port: number;
  origin: string;
  /** `origin + path`. */
  url(path?: string): string;
  /** Every delivery attempt, answered or not, in order of arrival. */
  readonly deliveries: WebhookDelivery[];
  /** Deliveries to one path. */
  deliveriesTo(path: string): WebhookDelivery[];
  /** Default response for `path` (or, without a path, for every path without its own). */
  respondWith(path: string | WebhookResponse, response?: WebhookResponse): void;
  /** Responses used once each, in order, before falling back to the default (per path or for all). */
  script(path: string | WebhookResponse[], responses?: WebhookResponse[]): void;
  /**
   * Resolves with the deliveries (to `path`, if given) once at least `n` have arrived.
   * @default timeoutMs 5000
   * @throws Error on timeout (naming how many arrived) or when the sink closes first.
   */
  waitForDeliveries(n: number, timeoutMs?: number, path?: string): Promise<WebhookDelivery[]>;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Bounds a recorded body (tests never need more; a runaway sender should not fill memory). */
const MAX_BODY = 5 * 1024 * 1024;

/**
 * Whether `delivery` carries a valid Standard Webhooks signature for `secret` (`whsec_…`):
 * `webhook-signature` holds `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (space-separated list).
 */
export function verifyWebhookSignature(delivery: Pick<WebhookDelivery, 'headers' | 'body'>, secret: string): boolean {
  const id = delivery.headers['webhook-id'];
  const timestamp = delivery.headers['webhook-timestamp'];
  const signatures = delivery.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest();
  return signatures.split(' ').some((sig) => {
    const [version, value] = sig.split(',');
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * Starts the sink on a free port.
 * @throws Error if `host` is not loopback.
 */
export async function startWebhookSink(options: { host?: string } = {}): Promise<WebhookSink> {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackAddress(host, 'webhook sink host');
  const deliveries: WebhookDelivery[] = [];
  const defaults = new Map<string | undefined, WebhookResponse>();
  const scripts = new Map<string | undefined, WebhookResponse[]>();
  const events = new EventEmitter();
  const closing = new AbortController();

  function next(path: string): WebhookResponse {
    for (const key of [path, undefined]) {
      const queue = scripts.get(key);
      if (queue?.length) return queue.shift() as WebhookResponse;
    }
    return defaults.get(path) ?? defaults.get(undefined) ?? { status: 200 };
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size <= MAX_BODY) chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try { json = JSON.parse(body); } catch { json = undefined; }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const response = next(path);
      const status = response.status ?? 200;
      deliveries.push({ method: req.method ?? 'POST', path, headers: req.headers, body, json, status, at: new Date() });
      events.emit('delivery');
      if (response.delayMs) await delay(response.delayMs, closing.signal);
      if (closing.signal.aborted) { res.destroy(); return; }
      const out = Buffer.from(response.body ?? '');
      res.writeHead(status, { 'content-length': out.length, ...response.headers });
      res.end(out);
    })().catch(() => res.destroy());
  });
  const tracker = trackSockets(server);
  const port = await listen(server, host);
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closed = false;

  return {
    host, port, origin,
    url: (path = '/') => `${origin}${path.startsWith('/') ? path : `/${path}`}`,
    deliveries,
    deliveriesTo: (path) => deliveries.filter((d) => d.path === path),
    respondWith(path, response) {
      if (typeof path === 'string') defaults.set(path, response ?? {});
      else defaults.set(undefined, path);
    },
    script(path, responses) {
      if (typeof path === 'string') scripts.set(path, [...(responses ?? [])]);
      else scripts.set(undefined, [...path]);
    },
    waitForDeliveries(n, timeoutMs = 5000, path) {
      const matching = (): WebhookDelivery[] => (path === undefined ? deliveries : deliveries.filter((d) => d.path === path));
      if (matching().length >= n) return Promise.resolve(matching());
      if (closed) return Promise.reject(new Error('webhook sink is closed'));
      return new Promise((resolve, reject) => {
        const onDelivery = (): void => { const m = matching(); if (m.length >= n) { cleanup(); resolve(m); } };
        const onClose = (): void => { cleanup(); reject(new Error(`webhook sink closed while waiting for ${n} deliveries (got ${matching().length})`)); };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`expected ${n} webhook deliveries${path ? ` to ${path}` : ''} within ${timeoutMs}ms, got ${matching().length}`)); }, timeoutMs);
        function cleanup(): void { clearTimeout(timer); events.off('delivery', onDelivery); events.off('close', onClose); }
        events.on('delivery', onDelivery);
        events.once('close', onClose);
      });
    },
    server,
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      events.emit('close');
      const done = closeServer(server);
      server.closeAllConnections();
      tracker.destroyAll();
      await done;
    },
  };
}
