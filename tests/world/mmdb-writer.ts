/**
 * A test-only writer for MaxMind DB files (format 2.0), so tests can build GeoIP2/GeoLite2-style
 * country and ASN databases for loopback addresses.
 *
 * Layout: binary search tree (node_count nodes of two records, record_size 24/28/32 bits), a
 * 16-byte zero separator, the data section, then "\xAB\xCD\xEFMaxMind.com" and the metadata map.
 * Spec: https://maxmind.github.io/MaxMind-DB/
 */
import ipaddr from 'ipaddr.js';
import { DataSection, mmdb, type MmdbValue } from './mmdb-data.js';
import { assertLoopbackNetwork } from './loopback.js';

export { mmdb, MmdbTyped, type MmdbValue } from './mmdb-data.js';

export interface MmdbRecord {
  /** CIDR (`127.0.0.2/32`, `::1/128`) or a single address. Loopback space only. */
  network: string;
  data: MmdbValue;
}

export interface WriteMmdbOptions {
  ipVersion: 4 | 6;
  /** e.g. `GeoIP2-Country`, `GeoLite2-ASN`. */
  databaseType: string;
  /** Later, more specific networks win over shorter prefixes (longest-prefix match). */
  records: MmdbRecord[];
  /** Seconds since the epoch. @default now */
  buildEpoch?: number;
  /** @default smallest that fits */
  recordSize?: 24 | 28 | 32;
  /** @default ['en'] */
  languages?: string[];
  /** @default { en: 'vigil test database' } */
  description?: Record<string, string>;
  /** In an IPv6 tree, make ::ffff:0:0/96 lead to the IPv4 subtree (::/96), as MaxMind does. @default true */
  aliasIpv4Mapped?: boolean;
}

interface Leaf { offset: number }
interface TreeNode { children: [Child, Child] }
type Child = TreeNode | Leaf | null;

const isNode = (c: Child): c is TreeNode => c !== null && 'children' in c;
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);

/** Prefix bits of a network in a tree of `ipVersion` (IPv4 in an IPv6 tree goes under ::/96). */
function prefixBits(network: string, ipVersion: 4 | 6): number[] {
  const [addr, len] = network.includes('/') ? ipaddr.parseCIDR(network) : [ipaddr.parse(network), ipaddr.parse(network).kind() === 'ipv4' ? 32 : 128];
  if (addr.kind() === 'ipv6' && ipVersion === 4) throw new Error(`mmdb: IPv6 network ${network} in an IPv4 database`);
  const bytes = addr.toByteArray();
  const bits: number[] = [];
  for (let i = 0; i < len; i++) bits.push(((bytes[i >> 3] ?? 0) >> (7 - (i % 8))) & 1);
  return addr.kind() === 'ipv4' && ipVersion === 6 ? [...new Array<number>(96).fill(0), ...bits] : bits;
}

/** Points the slot at `bits` to `target`, splitting leaves on the way; returns false if taken. */
function place(root: TreeNode, bits: number[], target: Child, overwrite: boolean): boolean {
  if (bits.length === 0) throw new Error('mmdb: a zero-length prefix is not supported');
  let node = root;
  for (let i = 0; i < bits.length - 1; i++) {
    const bit = bits[i] as 0 | 1;
    let next = node.children[bit];
    if (!isNode(next)) {
      // An empty slot or a shorter prefix's leaf: descend through a new node that keeps it on both sides.
      next = { children: [next, next] };
      node.children[bit] = next;
    }
    node = next;
  }
  const last = bits[bits.length - 1] as 0 | 1;
  if (!overwrite && node.children[last] !== null) return false;
  node.children[last] = target;
  return true;
}

/** Writes one node's two records. */
function writeNode(out: Buffer, at: number, recordSize: number, left: number, right: number): void {
  if (recordSize === 24) {
    out.writeUIntBE(left, at, 3);
    out.writeUIntBE(right, at + 3, 3);
  } else if (recordSize === 28) {
    // 28 bits: the top nibble of each record shares the middle byte (left high, right low).
    out.writeUIntBE(left & 0xffffff, at, 3);
    out[at + 3] = (((left >>> 24) & 0x0f) << 4) | ((right >>> 24) & 0x0f);
    out.writeUIntBE(right & 0xffffff, at + 4, 3);
  } else {
    out.writeUInt32BE(left, at);
    out.writeUInt32BE(right, at + 4);
  }
}

/**
 * Builds a MaxMind DB file in memory.
 * @throws Error for networks outside loopback space, IPv6 networks in an IPv4 database, or a
 *   `recordSize` too small for the tree and data.
 */
export function writeMmdb(options: WriteMmdbOptions): Buffer {
  const { ipVersion } = options;
  const data = new DataSection(true);
  const root: TreeNode = { children: [null, null] };
  // Shorter prefixes first, so more specific networks split them and win.
  const entries = options.records.map((r, i) => {
    const network = r.network.includes('/') ? r.network : `${r.network}/${r.network.includes(':') ? 128 : 32}`;
    assertLoopbackNetwork(network, 'mmdb network');
    return { bits: prefixBits(network, ipVersion), data: r.data, i };
  }).sort((a, b) => a.bits.length - b.bits.length || a.i - b.i);
  for (const e of entries) place(root, e.bits, { offset: data.store(e.data) }, true);

  if (ipVersion === 6 && options.aliasIpv4Mapped !== false) {
    let v4: Child = root;
    let depth = 0;
    for (; depth < 96 && isNode(v4); depth++) v4 = v4.children[0];
    if (depth === 96 && v4 !== null) {
      const mapped = [...new Array<number>(80).fill(0), ...new Array<number>(16).fill(1)];
      place(root, mapped, v4, false);
    }
  }

  // Number nodes breadth-first; an aliased subtree is numbered once.
  const numbers = new Map<TreeNode, number>();
  const order: TreeNode[] = [root];
  numbers.set(root, 0);
  for (let i = 0; i < order.length; i++) {
    for (const c of (order[i] as TreeNode).children) {
      if (isNode(c) && !numbers.has(c)) { numbers.set(c, order.length); order.push(c); }
    }
  }
  const nodeCount = order.length;
  const recordValue = (c: Child): number => {
    if (c === null) return nodeCount;
    if (isNode(c)) return numbers.get(c) as number;
    return nodeCount + 16 + c.offset;
  };
  const maxValue = nodeCount + 16 + data.length;
  const recordSize = options.recordSize ?? (maxValue < 2 ** 24 ? 24 : maxValue < 2 ** 28 ? 28 : 32);
  if (maxValue >= 2 ** recordSize) throw new Error(`mmdb: record size ${recordSize} cannot hold ${maxValue}`);

  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((node, n) => writeNode(tree, n * nodeBytes, recordSize, recordValue(node.children[0]), recordValue(node.children[1])));

  const metadata = new DataSection(false).encode({
    node_count: mmdb.uint32(nodeCount),
    record_size: mmdb.uint16(recordSize),
    ip_version: mmdb.uint16(ipVersion),
    database_type: options.databaseType,
    languages: options.languages ?? ['en'],
    binary_format_major_version: mmdb.uint16(2),
    binary_format_minor_version: mmdb.uint16(0),
    build_epoch: mmdb.uint64(options.buildEpoch ?? Math.floor(Date.now() / 1000)),
    description: options.description ?? { en: 'vigil test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), data.toBuffer(), METADATA_MARKER, metadata]);
}

const COUNTRY_NAMES: Record<string, string> = {
  NL: 'Netherlands', DE: 'Germany', US: 'United States', GB: 'United Kingdom', FR: 'France',
  BE: 'Belgium', IE: 'Ireland', SE: 'Sweden', CA: 'Canada', AU: 'Australia', RU: 'Russia',
};

export interface CountryDbOptions {
  /** @default 6 (as the real GeoIP2/GeoLite2 files) */
  ipVersion?: 4 | 6;
  recordSize?: 24 | 28 | 32;
  buildEpoch?: number;
}

/**
 * A country database. `geoip2`: GeoIP2/GeoLite2-Country shape
 * (`{country: {iso_code, names: {en}}, registered_country: …}`); `country_code`: the
 * ip-location-db shape (`{country_code: 'NL'}`).
 */
export function countryDb(entries: { network: string; country: string }[], schema: 'geoip2' | 'country_code' = 'geoip2', options: CountryDbOptions = {}): Buffer {
  const records = entries.map(({ network, country }): MmdbRecord => {
    const iso = country.toUpperCase();
    const place = { iso_code: iso, names: { en: COUNTRY_NAMES[iso] ?? iso } };
    return { network, data: schema === 'geoip2' ? { country: place, registered_country: place } : { country_code: iso } };
  });
  return writeMmdb({
    ipVersion: options.ipVersion ?? 6,
    databaseType: schema === 'geoip2' ? 'GeoLite2-Country' : 'country ipvAll',
    records,
    recordSize: options.recordSize,
    buildEpoch: options.buildEpoch,
    languages: schema === 'geoip2' ? ['en'] : [],
  });
}

/** A GeoLite2-ASN database: `{autonomous_system_number, autonomous_system_organization}`. */
export function asnDb(entries: { network: string; asn: number; org: string }[], options: CountryDbOptions = {}): Buffer {
  return writeMmdb({
    ipVersion: options.ipVersion ?? 6,
    databaseType: 'GeoLite2-ASN',
    records: entries.map(({ network, asn, org }) => ({
      network,
      data: { autonomous_system_number: mmdb.uint32(asn), autonomous_system_organization: org },
    })),
    recordSize: options.recordSize,
    buildEpoch: options.buildEpoch,
  });
}
