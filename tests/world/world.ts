/**
 * The whole simulated internet on loopback, for integration tests: DNS, a fleet of web hosts, a
 * canary host, RDAP with bootstrap files, country/ASN mmdb files, an SMTP sink and a webhook sink.
 *
 * Default layout (fleet of 5, zone `fleet.test`):
 *
 * | address    | name                 | country | ASN   |
 * |------------|----------------------|---------|-------|
 * | 127.0.0.2  | host-2.fleet.test    | NL      | 64496 |
 * | 127.0.0.3  | host-3.fleet.test    | DE      | 64497 |
 * | 127.0.0.4  | host-4.fleet.test    | US      | 64498 |
 * | 127.0.0.5  | host-5.fleet.test    | GB      | 64499 |
 * | 127.0.0.6  | host-6.fleet.test    | unknown | 64500 |
 * | 127.0.0.66 | canary.fleet.test    | —       | —     |  outside allowNetworks: must never be reached
 * | 127.0.0.1  | loopback.fleet.test  | —       | —     |  outside allowNetworks (the world's own servers)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { installCommonRoutes, startFleet, type Fleet, type FleetHost } from './http-fleet.js';
import { startHttpHost } from './http-host.js';
import { asnDb, countryDb } from './mmdb-writer.js';
import { autnum, domain, ipNetwork } from './rdap-fixtures.js';
import { rdapBootstrapFiles, startRdapServer, type RdapBootstrapFiles, type RdapServer } from './rdap-server.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { startWebhookSink, type WebhookSink } from './webhook-sink.js';

/** The address that must never be contacted: not in the fleet, not in allowNetworks. */
export const CANARY_ADDRESS = '127.0.0.66';
const DEFAULT_COUNTRIES = ['NL', 'DE', 'US', 'GB', null];
const FIRST_ASN = 64496;

export interface WorldOptions {
  /** @default 5 */
  fleetSize?: number;
  /** Country per fleet address; null = not in the country database. @default .2 NL, .3 DE, .4 US, .5 GB, others unknown */
  countries?: Record<string, string | null>;
  /** @default 'geoip2' */
  countrySchema?: 'geoip2' | 'country_code';
  /** DNS zone for host names. @default 'fleet.test' */
  zone?: string;
  /** Latency of every fleet host, in ms. */
  latencyMs?: number;
}

export interface WorldHost {
  address: string;
  hostname: string;
  country: string | null;
  asn: number;
  org: string;
  abuseEmail: string;
  http: FleetHost;
}

/** The part of vigil's configuration (CONTRACT.md §3) that points it at this world. */
export interface WorldConfig {
  crawler: { dnsServers: string[]; allowNetworks: string[] };
  tracing: { countryDb: string[]; asnDb: string[]; rdapBootstrap: string };
  notices: { smtp: { url: string } };
}

export interface World {
  dns: DnsServer;
  fleet: Fleet;
  hosts: WorldHost[];
  /** A host on 127.0.0.66 serving the common routes; any request it logs is a guard failure. */
  canary: FleetHost;
  rdap: RdapServer;
  rdapBootstrap: RdapBootstrapFiles;
  smtp: SmtpSink;
  webhooks: WebhookSink;
  /** Temporary directory with the mmdb files. */
  dir: string;
  countryDbPath: string;
  asnDbPath: string;
  zone: string;
  /** The world host on `address`. @throws Error if none. */
  host(address: string): WorldHost;
  /** `http://host-N.<zone>:PORT<path>` for the fleet host on `address`. */
  url(address: string, path?: string): string;
  config(): WorldConfig;
  /** Stops every server and removes the temporary files. */
  close(): Promise<void>;
}

const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toAddr = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The fewest CIDR blocks covering exactly the IPv4 range first…last. */
export function rangeToCidrs(first: string, last: string): string[] {
  let start = toInt(first);
  const end = toInt(last);
  const out: string[] = [];
  for (let guard = 0; start <= end && guard < 64; guard++) {
    let size = 1;
    // Grow the block while it stays aligned and inside the range.
    while (size < 2 ** 32 && start % (size * 2) === 0 && start + size * 2 - 1 <= end) size *= 2;
    out.push(`${toAddr(start)}/${32 - Math.log2(size)}`);
    start += size;
  }
  return out;
}

/**
 * Starts everything, with DNS names, RDAP objects and mmdb entries for every fleet host.
 * @throws whatever a part throws while starting; parts already started are stopped first.
 */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const zone = options.zone ?? 'fleet.test';
  const cleanups: (() => Promise<unknown>)[] = [];
  const track = <T extends { close(): Promise<void> }>(part: T): T => { cleanups.push(() => part.close()); return part; };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-world-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const starting = {
      dns: startDnsServer().then(track),
      fleet: startFleet(options.fleetSize ?? 5, { latencyMs: options.latencyMs }).then(track),
      rdap: startRdapServer().then(track),
      smtp: startSmtpSink().then(track),
      webhooks: startWebhookSink().then(track),
    };
    // Let every part settle (and be tracked for cleanup) before giving up on any failure.
    const failure = (await Promise.allSettled(Object.values(starting))).find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const [dns, fleet, rdap, smtp, webhooks] = await Promise.all([starting.dns, starting.fleet, starting.rdap, starting.smtp, starting.webhooks]);
    const canaryHttp = track(await startHttpHost({ address: CANARY_ADDRESS, port: fleet.port ?? 0 })
      .catch(() => startHttpHost({ address: CANARY_ADDRESS })));
    const canary: FleetHost = Object.assign(canaryHttp, { content: installCommonRoutes(canaryHttp) });
    const rdapBootstrap = await rdapBootstrapFiles(rdap.baseUrl);
    cleanups.push(() => rdapBootstrap.remove());

    const hosts: WorldHost[] = fleet.hosts.map((http, i) => {
      const asn = FIRST_ASN + i;
      const country = options.countries ? (options.countries[http.address] ?? null) : (DEFAULT_COUNTRIES[i] ?? null);
      return {
        address: http.address,
        hostname: `host-${http.address.split('.')[3]}.${zone}`,
        country,
        asn,
        org: `Synthetic Hosting ${country ?? 'XX'} AS${asn}`,
        abuseEmail: `abuse@as${asn}.example.test`,
        http,
      };
    });

    for (const h of hosts) {
      dns.setRecord(h.hostname, { A: [h.address] });
      const registrant = { handle: `ORG-AS${h.asn}`, fn: h.org };
      rdap.setIp(`${h.address}/32`, ipNetwork({
        network: `${h.address}/32`, name: `SYN-${h.hostname.split('.')[0]?.toUpperCase()}`, country: h.country ?? undefined,
        registrant, abuseEmail: h.abuseEmail,
      }));
      rdap.setAutnum(h.asn, autnum({ asn: h.asn, country: h.country ?? undefined, registrant, abuseEmail: h.abuseEmail }));
    }
    dns.setRecord(`canary.${zone}`, { A: [CANARY_ADDRESS] });
    dns.setRecord(`loopback.${zone}`, { A: ['127.0.0.1'] });
    rdap.setDomain(zone, domain({ name: zone, abuseEmail: 'abuse@registrar.example.test' }));

    const countryDbPath = join(dir, 'country.mmdb');
    const asnDbPath = join(dir, 'asn.mmdb');
    await writeFile(countryDbPath, countryDb(
      hosts.flatMap((h) => (h.country ? [{ network: `${h.address}/32`, country: h.country }] : [])),
      options.countrySchema ?? 'geoip2',
    ));
    await writeFile(asnDbPath, asnDb(hosts.map((h) => ({ network: `${h.address}/32`, asn: h.asn, org: h.org }))));

    const first = fleet.addresses[0] as string;
    const last = fleet.addresses[fleet.addresses.length - 1] as string;
    const allowNetworks = rangeToCidrs(first, last);
    let closed: Promise<void> | undefined;

    const hostOn = (address: string): WorldHost => {
      const h = hosts.find((x) => x.address === address);
      if (!h) throw new Error(`startWorld: no host on ${address}`);
      return h;
    };

    return {
      dns, fleet, hosts, canary, rdap, rdapBootstrap, smtp, webhooks, dir, countryDbPath, asnDbPath, zone,
      host: hostOn,
      url(address, path = '/') {
        const h = hostOn(address);
        return `${h.http.origin.split('://')[0]}://${h.hostname}:${h.http.port}${path.startsWith('/') ? path : `/${path}`}`;
      },
      config: () => ({
        crawler: { dnsServers: [dns.address], allowNetworks: [...allowNetworks] },
        tracing: { countryDb: [countryDbPath], asnDb: [asnDbPath], rdapBootstrap: rdapBootstrap.dir },
        notices: { smtp: { url: smtp.url } },
      }),
      close() {
        closed ??= Promise.allSettled(cleanups.reverse().map((c) => c())).then(() => undefined);
        return closed;
      },
    };
  } catch (err) {
    await Promise.allSettled(cleanups.reverse().map((c) => c()));
    throw err;
  }
}
