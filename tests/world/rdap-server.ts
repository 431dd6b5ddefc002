/**
 * A programmable RDAP server (RFC 7480/9082/9083) on loopback, answering `application/rdap+json`
 * for `/ip/<addr>[/<len>]`, `/autnum/<n>` and `/domain/<name>` under a base path, plus
 * misbehaviours real registries show: 404s, rate limits, bad JSON, slowness, redirects.
 * Also writes IANA-format bootstrap files pointing at it (`rdapBootstrapFiles`).
 */
import http from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { assertLoopbackAddress, assertLoopbackNetwork, closeServer, delay, isLoopbackUrl, listen, trackSockets } from './loopback.js';
import type { RdapObject } from './rdap-fixtures.js';

export const RDAP_CONTENT_TYPE = 'application/rdap+json';

/** A misbehaviour to answer with instead of an object. */
export type RdapBehaviour =
  /** 404 with an RDAP error body. */
  | { behaviour: 'not-found' }
  /** Any status (429, 500, 503 …) with an RDAP error body and optional headers (Retry-After). */
  | { behaviour: 'status'; status: number; headers?: Record<string, string> }
  /** 200 with a truncated, unparsable body. */
  | { behaviour: 'bad-json' }
  /** `body` after `delayMs` (close() cuts the wait short). */
  | { behaviour: 'slow'; delayMs: number; body: RdapObject }
  /**
   * A redirect: to `location` as given (absolute URL or a path on this server), or to `base` with
   * the same query path appended (an RDAP referral to another server). Loopback targets only.
   */
  | { behaviour: 'redirect'; location?: string; base?: string; status?: 301 | 302 | 303 | 307 | 308 };

export type RdapAnswer = RdapObject | RdapBehaviour;

export interface RdapRequestLogEntry {
  method: string;
  /** Path relative to the base path, e.g. `ip/127.0.0.2`. */
  query: string;
  path: string;
  headers: IncomingHttpHeaders;
  at: Date;
}

export interface RdapServer {
  host: string;
  port: number;
  origin: string;
  /** Base URL for bootstrap files, ending in `/`. */
  baseUrl: string;
  /** Answer for an address or network (`127.0.0.2`, `127.0.0.0/24`); longest prefix wins. */
  setIp(network: string, answer: RdapAnswer): void;
  /** Answer for an AS number or an inclusive range `"64496-64511"`; the narrowest range wins. */
  setAutnum(asn: number | string, answer: RdapAnswer): void;
  /** Answer for a domain name (case-insensitive). */
  setDomain(name: string, answer: RdapAnswer): void;
  /** Forgets every answer. */
  clear(): void;
  readonly requests: RdapRequestLogEntry[];
  readonly server: http.Server;
  close(): Promise<void>;
}

export interface RdapServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** Path prefix of every query, e.g. `/rdap/`. @default '/' */
  basePath?: string;
}

const isBehaviour = (a: RdapAnswer): a is RdapBehaviour => typeof (a as { behaviour?: unknown }).behaviour === 'string';

function rdapError(status: number, title: string): RdapObject {
  return { rdapConformance: ['rdap_level_0'], errorCode: status, title, description: [`${title} (synthetic RDAP server)`] };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': RDAP_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'access-control-allow-origin': '*', ...headers });
  res.end(body);
}

/**
 * Starts an RDAP server on a free port.
 * @throws Error if `host` is not loopback.
 */
export async function startRdapServer(options: RdapServerOptions = {}): Promise<RdapServer> {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackAddress(host, 'RDAP server host');
  const basePath = `/${(options.basePath ?? '/').replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
  const ips: { net: [ipaddr.IPv4 | ipaddr.IPv6, number]; answer: RdapAnswer }[] = [];
  const autnums: { from: number; to: number; answer: RdapAnswer }[] = [];
  const domains = new Map<string, RdapAnswer>();
  const requests: RdapRequestLogEntry[] = [];
  const closing = new AbortController();

  function lookupIp(spec: string): RdapAnswer | undefined | null {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    let len: number;
    try {
      [addr, len] = spec.includes('/') ? ipaddr.parseCIDR(spec) : [ipaddr.parse(spec), ipaddr.parse(spec).kind() === 'ipv4' ? 32 : 128];
    } catch {
      return null;
    }
    const candidates = ips.filter((e) => e.net[0].kind() === addr.kind() && e.net[1] <= len && addr.match(e.net));
    candidates.sort((a, b) => b.net[1] - a.net[1]);
    return candidates[0]?.answer;
  }

  function lookup(query: string): RdapAnswer | undefined | null {
    const [kind, ...rest] = query.split('/');
    const arg = decodeURIComponent(rest.join('/'));
    if (kind === 'ip') return lookupIp(arg);
    if (kind === 'autnum') {
      if (!/^\d+$/.test(arg)) return null;
      const n = Number(arg);
      return autnums.filter((a) => a.from <= n && n <= a.to).sort((a, b) => (a.to - a.from) - (b.to - b.from))[0]?.answer;
    }
    if (kind === 'domain') return domains.get(arg.toLowerCase().replace(/\.$/, ''));
    return null;
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const query = path.startsWith(basePath) ? path.slice(basePath.length) : '';
      requests.push({ method: req.method ?? 'GET', query, path, headers: req.headers, at: new Date() });
      if (req.method !== 'GET' && req.method !== 'HEAD') { send(res, 405, JSON.stringify(rdapError(405, 'Method Not Allowed')), { allow: 'GET, HEAD' }); return; }
      const answer = query ? lookup(query) : null;
      if (answer === null) { send(res, 400, JSON.stringify(rdapError(400, 'Bad Request'))); return; }
      if (answer === undefined) { send(res, 404, JSON.stringify(rdapError(404, 'Not Found'))); return; }
      if (!isBehaviour(answer)) { send(res, 200, JSON.stringify(answer)); return; }
      switch (answer.behaviour) {
        case 'not-found': send(res, 404, JSON.stringify(rdapError(404, 'Not Found'))); return;
        case 'status': send(res, answer.status, JSON.stringify(rdapError(answer.status, http.STATUS_CODES[answer.status] ?? 'Error')), answer.headers); return;
        case 'bad-json': send(res, 200, '{"objectClassName": "ip network", "handle": "TRUNC'); return;
        case 'slow':
          await delay(answer.delayMs, closing.signal);
          if (closing.signal.aborted) { res.destroy(); return; }
          send(res, 200, JSON.stringify(answer.body));
          return;
        case 'redirect': {
          const location = answer.location !== undefined
            ? (answer.location.startsWith('/') ? `${origin}${answer.location}` : answer.location)
            : `${(answer.base ?? baseUrl).replace(/\/?$/, '/')}${query}`;
          res.writeHead(answer.status ?? 302, { location, 'content-type': RDAP_CONTENT_TYPE, 'content-length': 0 });
          res.end();
          return;
        }
      }
    })().catch(() => res.destroy());
  });
  const tracker = trackSockets(server);
  const port = await listen(server, host);
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const baseUrl = `${origin}${basePath}`;

  function checkRedirect(answer: RdapAnswer): RdapAnswer {
    if (isBehaviour(answer) && answer.behaviour === 'redirect') {
      const target = answer.location ?? answer.base;
      if (target !== undefined && !isLoopbackUrl(target)) throw new Error(`tests/world rdap: redirect target must stay on loopback: ${target}`);
    }
    return answer;
  }

  let closed = false;
  return {
    host, port, origin, baseUrl,
    setIp(network, answer) {
      const cidr = network.includes('/') ? network : `${network}/${network.includes(':') ? 128 : 32}`;
      assertLoopbackNetwork(cidr, 'RDAP network');
      const net = ipaddr.parseCIDR(cidr);
      const existing = ips.findIndex((e) => e.net[1] === net[1] && e.net[0].toString() === net[0].toString());
      if (existing >= 0) ips.splice(existing, 1);
      ips.push({ net, answer: checkRedirect(answer) });
    },
    setAutnum(asn, answer) {
      const [from, to] = String(asn).split('-').map((x) => Number(x.trim()));
      if (from === undefined || !Number.isInteger(from) || (to !== undefined && !Number.isInteger(to))) throw new Error(`tests/world rdap: bad AS number or range ${asn}`);
      const range = { from, to: to ?? from };
      const existing = autnums.findIndex((a) => a.from === range.from && a.to === range.to);
      if (existing >= 0) autnums.splice(existing, 1);
      autnums.push({ ...range, answer: checkRedirect(answer) });
    },
    setDomain(name, answer) { domains.set(name.toLowerCase().replace(/\.$/, ''), checkRedirect(answer)); },
    clear() { ips.length = 0; autnums.length = 0; domains.clear(); },
    requests,
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
}

export interface RdapBootstrapFiles {
  /** The temporary directory holding the files. */
  dir: string;
  ipv4: string;
  ipv6: string;
  asn: string;
  dns: string;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

/** Base URLs per registry; a string means the same server for all four. */
export type RdapBootstrapTargets = string | { ipv4?: string; ipv6?: string; asn?: string; dns?: string };

/**
 * Writes ipv4.json, ipv6.json, asn.json and dns.json in the IANA bootstrap format (RFC 9224) to a
 * new temporary directory: 127.0.0.0/8, ::1/128, AS 64496-64511 (documentation ASNs) and the TLD
 * `test` point at the given server(s).
 */
export async function rdapBootstrapFiles(targets: RdapBootstrapTargets): Promise<RdapBootstrapFiles> {
  const t = typeof targets === 'string' ? { ipv4: targets, ipv6: targets, asn: targets, dns: targets } : targets;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-world-rdap-'));
  const publication = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const file = async (name: string, description: string, prefixes: string[], url: string | undefined): Promise<string> => {
    if (url !== undefined && !isLoopbackUrl(url)) throw new Error(`tests/world rdap: bootstrap URL must be on loopback: ${url}`);
    const services = url === undefined ? [] : [[prefixes, [url.endsWith('/') ? url : `${url}/`]]];
    const path = join(dir, name);
    await writeFile(path, `${JSON.stringify({ version: '1.0', publication, description, services }, null, 2)}\n`);
    return path;
  };
  try {
    return {
      dir,
      ipv4: await file('ipv4.json', 'RDAP bootstrap file for IPv4 address allocations (vigil test world)', ['127.0.0.0/8'], t.ipv4),
      ipv6: await file('ipv6.json', 'RDAP bootstrap file for IPv6 address allocations (vigil test world)', ['::1/128'], t.ipv6),
      asn: await file('asn.json', 'RDAP bootstrap file for Autonomous System Number allocations (vigil test world)', ['64496-64511'], t.asn),
      dns: await file('dns.json', 'RDAP bootstrap file for Domain Name System registrations (vigil test world)', ['test'], t.dns),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
