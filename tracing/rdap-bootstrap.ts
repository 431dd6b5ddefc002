/**
 * Which RDAP server answers for an address, an AS number or a domain: the IANA bootstrap
 * registries (RFC 9224) — `ipv4.json`, `ipv6.json`, `asn.json`, `dns.json`.
 *
 * The source is `tracing.rdapBootstrap` (a directory holding those files, or one file whose
 * entries may mix kinds) or, when null, the snapshot bundled in `tracing/data/rdap-bootstrap/`.
 * The servers named here are trusted as written (CONTRACT.md §7); where they redirect is not.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { bundledRdapBootstrapDir } from './bundled-databases.js';
import { canonicalIp } from './canonical-ip.js';
import { TracingError } from './tracing-errors.js';

export type RdapRegistry = 'ipv4' | 'ipv6' | 'asn' | 'dns';
export const RDAP_REGISTRIES: readonly RdapRegistry[] = ['ipv4', 'ipv6', 'asn', 'dns'];

/** Where the bootstrap data came from, for a trace's provenance. */
export interface RdapBootstrapInfo {
  /** the file or directory read */
  source: string;
  /** `publication` of each registry file read (null when a file had none) */
  publications: Partial<Record<RdapRegistry, string | null>>;
}

type Net = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface Tables {
  ip: { net: Net; urls: string[] }[];
  asn: { from: number; to: number; urls: string[] }[];
  dns: Map<string, string[]>;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** https first (RFC 9224 §3: prefer https), only http(s), each ending in `/`. */
function baseUrls(urls: string[]): string[] {
  const ok = urls.filter((u) => /^https?:\/\//i.test(u)).map((u) => (u.endsWith('/') ? u : `${u}/`));
  return [...ok.filter((u) => /^https:/i.test(u)), ...ok.filter((u) => /^http:/i.test(u))];
}

/** Adds one IANA-format file's services to the tables; entries are classified one by one. */
function addServices(tables: Tables, json: unknown, source: string): string | null {
  const doc = json as { services?: unknown; publication?: unknown };
  if (typeof json !== 'object' || json === null || !Array.isArray(doc.services)) {
    throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${source}: expected an RFC 9224 bootstrap file with a "services" array`);
  }
  for (const [i, service] of (doc.services as unknown[]).entries()) {
    if (!Array.isArray(service) || !isStringArray(service[0]) || !isStringArray(service[1])) {
      throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${source}: services[${i}] is not [[entries…], [urls…]]`);
    }
    const urls = baseUrls(service[1]);
    if (urls.length === 0) continue;
    for (const raw of service[0]) {
      const entry = raw.trim().toLowerCase();
      if (/^\d+(-\d+)?$/.test(entry)) {
        const [from, to] = entry.split('-').map(Number) as [number, number | undefined];
        tables.asn.push({ from, to: to ?? from, urls });
      } else if (entry.includes('/') && ipaddr.isValidCIDR(entry)) {
        tables.ip.push({ net: ipaddr.parseCIDR(entry), urls });
      } else if (/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(entry.replace(/\.$/, ''))) {
        tables.dns.set(entry.replace(/\.$/, ''), urls);
      } else {
        throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${source}: services[${i}] has an entry that is neither a CIDR, an AS range nor a DNS label: ${JSON.stringify(raw)}`);
      }
    }
  }
  return typeof doc.publication === 'string' ? doc.publication : null;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The loaded bootstrap registries. Create with {@link RdapBootstrap.load} or {@link RdapBootstrap.fromJson}. */
export class RdapBootstrap {
  private constructor(private readonly tables: Tables, readonly info: RdapBootstrapInfo) {
    // Most specific first: the longest prefix, the narrowest AS range wins.
    tables.ip.sort((a, b) => b.net[1] - a.net[1]);
    tables.asn.sort((a, b) => (a.to - a.from) - (b.to - b.from));
  }

  /**
   * Load a directory (`ipv4.json`, `ipv6.json`, `asn.json`, `dns.json`, any present) or one
   * file; `null` = the bundled snapshot.
   * @throws TracingError VIGIL_RDAP_BOOTSTRAP_INVALID when nothing usable is found or a file is malformed
   */
  static async load(source: string | null): Promise<RdapBootstrap> {
    const path = source ?? bundledRdapBootstrapDir();
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (err) {
      throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${path}: ${(err as Error).message}`, { cause: err });
    }
    if (!isDir) return RdapBootstrap.fromJson({ file: await readJson(path) }, path);
    const files: Record<string, unknown> = {};
    for (const registry of RDAP_REGISTRIES) {
      const file = join(path, `${registry}.json`);
      const exists = await stat(file).then((s) => s.isFile(), () => false);
      if (exists) files[registry] = await readJson(file);
    }
    if (Object.keys(files).length === 0) {
      throw new TracingError('VIGIL_RDAP_BOOTSTRAP_INVALID', `${path}: none of ${RDAP_REGISTRIES.map((r) => `${r}.json`).join(', ')} found`);
    }
    return RdapBootstrap.fromJson(files, path);
  }

  /**
   * Build from parsed bootstrap documents, keyed by registry name (or any name: entries are
   * classified by their shape).
   * @throws TracingError VIGIL_RDAP_BOOTSTRAP_INVALID
   */
  static fromJson(documents: Record<string, unknown>, source: string): RdapBootstrap {
    const tables: Tables = { ip: [], asn: [], dns: new Map() };
    const publications: Partial<Record<RdapRegistry, string | null>> = {};
    for (const [name, json] of Object.entries(documents)) {
      const publication = addServices(tables, json, `${source}${name === 'file' ? '' : ` (${name}.json)`}`);
      if ((RDAP_REGISTRIES as readonly string[]).includes(name)) publications[name as RdapRegistry] = publication;
    }
    return new RdapBootstrap(tables, { source, publications });
  }

  /** Base URLs (ending in `/`) of the servers for an address; empty when none is known. */
  serversForIp(ip: string): string[] {
    const at = canonicalIp(ip);
    if (at === null) return [];
    const addr = ipaddr.parse(at.ip);
    return this.tables.ip.find((e) => e.net[0].kind() === addr.kind() && addr.match(e.net))?.urls ?? [];
  }

  /** Base URLs of the servers for an AS number; empty when none is known. */
  serversForAsn(asn: number): string[] {
    return this.tables.asn.find((e) => e.from <= asn && asn <= e.to)?.urls ?? [];
  }

  /** Base URLs of the servers for a domain (longest matching label suffix); empty when none. */
  serversForDomain(name: string): string[] {
    const labels = name.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const urls = this.tables.dns.get(labels.slice(i).join('.'));
      if (urls !== undefined) return urls;
    }
    return [];
  }
}
