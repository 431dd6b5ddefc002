/**
 * A fleet of simulated web hosts on 127.0.0.2 … 127.0.0.(n+1), sharing one port when the system
 * allows (Linux routes all of 127/8 to lo), each serving the same set of common routes with its own
 * synthetic content.
 *
 * Common routes on every host:
 * - `/` and `/page.html`: an HTML page with `<img>` tags for `/image.png` and `/image.jpg`
 *   and a unique text marker (`content.marker`)
 * - `/image.png`, `/image.jpg`: synthetic images (`content.png`, `content.jpeg`)
 * - `/404`, `/410`, `/status/<code>`: that status with a small HTML body
 * - `/redirect/<301|302|303|307|308>?to=<target>`: redirect (default target `/page.html`); the
 *   target is a path or an absolute http(s) URL on a loopback literal or a `.test` name
 * - `/chain/<n>`: n redirects (302) through `/chain/<n-1>` … to `/chain/0`, which is the page
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { syntheticImage, syntheticPage, type SyntheticImage } from './content.js';
import { sendStatic, startHttpHost, type HttpHost, type HttpHostOptions } from './http-host.js';
import { isLoopbackUrl } from './loopback.js';

/** Fleet size limit: keeps 127.0.0.66 (a canary address) outside any fleet. */
export const MAX_FLEET_SIZE = 60;
/** Longest `/chain/<n>` served. */
export const MAX_CHAIN_LENGTH = 100;

export interface FleetHostContent {
  png: SyntheticImage;
  jpeg: SyntheticImage;
  /** HTML of `/page.html`. */
  page: string;
  /** A unique string inside the page text. */
  marker: string;
}

export interface FleetHost extends HttpHost {
  content: FleetHostContent;
}

export interface Fleet {
  hosts: FleetHost[];
  /** Addresses in order: 127.0.0.2, 127.0.0.3, … */
  addresses: string[];
  /** The shared port, or undefined when hosts had to use different ports. */
  port: number | undefined;
  /** The host bound to `address`. @throws Error if there is none. */
  host(address: string): FleetHost;
  close(): Promise<void>;
}

export interface FleetOptions {
  /** Latency for every host, in ms (each host can change its own with `injectLatency`). */
  latencyMs?: number;
  tls?: HttpHostOptions['tls'];
  /** Size of each synthetic image in bytes. @default 2048 */
  imageBytes?: number;
}

function redirect(res: ServerResponse, status: number, location: string): void {
  sendStatic(res, { status, headers: { location, 'content-type': 'text/html; charset=utf-8' }, body: `<a href="${location}">moved</a>\n` });
}

/** Installs the common routes on `host` and returns its content. */
export function installCommonRoutes(host: HttpHost, imageBytes = 2048): FleetHostContent {
  const marker = `vigil-world-marker-${randomBytes(8).toString('hex')}`;
  const png = syntheticImage(imageBytes, 'png');
  const jpeg = syntheticImage(imageBytes, 'jpeg');
  const page = syntheticPage({ title: `Synthetic host ${host.address}`, images: ['/image.png', '/image.jpg'], text: `Synthetic text ${marker}` });
  const html = { 'content-type': 'text/html; charset=utf-8' };
  host.routeStatic('/', { headers: html, body: page });
  host.routeStatic('/page.html', { headers: html, body: page });
  host.routeStatic('/image.png', { headers: { 'content-type': png.contentType }, body: png.body });
  host.routeStatic('/image.jpg', { headers: { 'content-type': jpeg.contentType }, body: jpeg.body });
  host.routeStatic('/404', { status: 404, headers: html, body: '<h1>Not Found</h1>\n' });
  host.routeStatic('/410', { status: 410, headers: html, body: '<h1>Gone</h1>\n' });
  host.route('*', '/status/*', (req: IncomingMessage, res: ServerResponse) => {
    const code = Number((req.url ?? '').split('?')[0]?.split('/')[2]);
    if (!Number.isInteger(code) || code < 200 || code > 599) { sendStatic(res, { status: 400, body: 'bad status\n' }); return; }
    sendStatic(res, { status: code, headers: html, body: `<h1>Status ${code}</h1>\n` });
  });
  host.route('*', '/redirect/*', (req, res) => {
    const url = new URL(req.url ?? '/', host.origin);
    const code = Number(url.pathname.split('/')[2]);
    const to = url.searchParams.get('to') ?? '/page.html';
    if (![301, 302, 303, 307, 308].includes(code) || !isLoopbackUrl(to)) { sendStatic(res, { status: 400, body: 'bad redirect\n' }); return; }
    redirect(res, code, to);
  });
  host.route('*', '/chain/*', (req, res) => {
    const n = Number((req.url ?? '').split('?')[0]?.split('/')[2]);
    if (!Number.isInteger(n) || n < 0 || n > MAX_CHAIN_LENGTH) { sendStatic(res, { status: 400, body: 'bad chain\n' }); return; }
    if (n === 0) sendStatic(res, { headers: html, body: page });
    else redirect(res, 302, `/chain/${n - 1}`);
  });
  return { png, jpeg, page, marker };
}

async function startOn(addresses: string[], port: number, options: FleetOptions): Promise<FleetHost[]> {
  const hosts: FleetHost[] = [];
  try {
    for (const address of addresses) {
      const host = await startHttpHost({ address, port, tls: options.tls, latencyMs: options.latencyMs });
      hosts.push(Object.assign(host, { content: installCommonRoutes(host, options.imageBytes) }));
      if (port === 0) port = host.port;
    }
    return hosts;
  } catch (err) {
    await Promise.all(hosts.map((h) => h.close()));
    throw err;
  }
}

/**
 * Starts `n` hosts on 127.0.0.2 … 127.0.0.(n+1), on one shared port when possible.
 * @throws RangeError unless 1 ≤ n ≤ MAX_FLEET_SIZE.
 */
export async function startFleet(n: number, options: FleetOptions = {}): Promise<Fleet> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_FLEET_SIZE) throw new RangeError(`startFleet: n must be 1…${MAX_FLEET_SIZE}, got ${n}`);
  const addresses = Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
  let hosts: FleetHost[] | undefined;
  // The first host picks a free port; another process may hold it on a later address: retry.
  for (let attempt = 0; attempt < 10 && !hosts; attempt++) {
    try {
      hosts = await startOn(addresses, 0, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  let shared = true;
  if (!hosts) {
    shared = false;
    const started: FleetHost[] = [];
    try {
      for (const address of addresses) started.push(...(await startOn([address], 0, options)));
    } catch (err) {
      await Promise.all(started.map((h) => h.close()));
      throw err;
    }
    hosts = started;
  }
  const all = hosts;
  return {
    hosts: all,
    addresses,
    port: shared ? all[0]?.port : undefined,
    host(address) {
      const h = all.find((x) => x.address === address);
      if (!h) throw new Error(`startFleet: no host on ${address}`);
      return h;
    },
    async close() { await Promise.all(all.map((h) => h.close())); },
  };
}
