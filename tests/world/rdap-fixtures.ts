/**
 * Builders for RFC 9083-shaped RDAP objects: IP networks, autonomous systems, domains, and the
 * entities (with jCard vCards, RFC 7095) that carry registrant, registrar and abuse contacts.
 * E-mail addresses default to `example.test`.
 */
import ipaddr from 'ipaddr.js';

/** An RDAP JSON object (a response body). */
export type RdapObject = Record<string, unknown>;

/** A jCard property: [name, parameters, value type, value]. */
export type VCardProperty = [string, Record<string, string | string[]>, string, string | string[]];
export type VCardArray = ['vcard', VCardProperty[]];

export interface VCardOptions {
  fn: string;
  email?: string;
  /** @default 'org' */
  kind?: 'org' | 'individual' | 'group';
  tel?: string;
}

/** A jCard: `["vcard", [["version",{},"text","4.0"], ["fn",{},"text",…], ["email",{},"text",…]]]`. */
export function vcard(options: VCardOptions): VCardArray {
  const props: VCardProperty[] = [
    ['version', {}, 'text', '4.0'],
    ['fn', {}, 'text', options.fn],
    ['kind', {}, 'text', options.kind ?? 'org'],
  ];
  if (options.email !== undefined) props.push(['email', {}, 'text', options.email]);
  if (options.tel !== undefined) props.push(['tel', { type: 'voice' }, 'uri', `tel:${options.tel}`]);
  return ['vcard', props];
}

export interface EntityOptions {
  handle: string;
  roles: string[];
  /** Formatted name. @default handle */
  fn?: string;
  email?: string;
  /** Set false for an entity without a vcardArray (seen in the wild). @default true */
  vcard?: boolean;
  /** Entities nested inside this one (e.g. an abuse contact inside the registrant). */
  entities?: RdapObject[];
  publicIds?: { type: string; identifier: string }[];
}

/** An `entity` object. */
export function rdapEntity(options: EntityOptions): RdapObject {
  const entity: RdapObject = { objectClassName: 'entity', handle: options.handle, roles: [...options.roles] };
  if (options.vcard !== false) entity.vcardArray = vcard({ fn: options.fn ?? options.handle, email: options.email });
  if (options.publicIds) entity.publicIds = options.publicIds;
  if (options.entities?.length) entity.entities = options.entities;
  return entity;
}

/**
 * Where the abuse contact sits: nested inside the registrant/registrar entity (the common case at
 * ARIN and in domain registries), at the top level, or absent.
 */
export type AbusePlacement = 'nested' | 'top' | 'none';

export interface ContactOptions {
  /** @default derived from the handle, at example.test */
  abuseEmail?: string;
  /** @default 'nested' */
  abuse?: AbusePlacement;
  /** Give the abuse entity a vCard. @default true */
  abuseVcard?: boolean;
}

function contacts(holder: { handle: string; fn: string; role: string; email?: string; publicIds?: { type: string; identifier: string }[] }, options: ContactOptions): RdapObject[] {
  const placement = options.abuse ?? 'nested';
  const abuse = rdapEntity({
    handle: `${holder.handle}-ABUSE`,
    roles: ['abuse'],
    fn: `${holder.fn} Abuse Desk`,
    email: options.abuseEmail ?? `abuse@${holder.handle.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example.test`,
    vcard: options.abuseVcard,
  });
  const owner = rdapEntity({
    handle: holder.handle, roles: [holder.role], fn: holder.fn, email: holder.email, publicIds: holder.publicIds,
    entities: placement === 'nested' ? [abuse] : undefined,
  });
  return placement === 'top' ? [owner, abuse] : [owner];
}

const base = (objectClassName: string): RdapObject => ({
  rdapConformance: ['rdap_level_0'],
  objectClassName,
  notices: [{ title: 'Terms of Service', description: ['Synthetic RDAP data for vigil tests.'] }],
});

export interface IpNetworkOptions extends ContactOptions {
  /** CIDR or single address (loopback in tests). */
  network: string;
  /** @default 'LOOPBACK-NET' */
  name?: string;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  /** @default derived from the network */
  handle?: string;
  /** Registrant organisation. @default { handle: 'ORG-SYN1', fn: 'Synthetic Hosting' } */
  registrant?: { handle: string; fn: string; email?: string };
}

/** An `ip network` object with start/end addresses computed from the CIDR. */
export function ipNetwork(options: IpNetworkOptions): RdapObject {
  const [addr, len] = options.network.includes('/') ? ipaddr.parseCIDR(options.network) : [ipaddr.parse(options.network), ipaddr.parse(options.network).kind() === 'ipv4' ? 32 : 128];
  const cidr = `${addr.toString()}/${len}`;
  const start = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const end = addr.kind() === 'ipv4' ? ipaddr.IPv4.broadcastAddressFromCIDR(cidr) : ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
  const registrant = options.registrant ?? { handle: 'ORG-SYN1', fn: 'Synthetic Hosting' };
  const obj: RdapObject = {
    ...base('ip network'),
    handle: options.handle ?? `NET-${start.toString().replace(/[.:]/g, '-')}-${len}`,
    startAddress: start.toString(),
    endAddress: end.toString(),
    ipVersion: addr.kind() === 'ipv4' ? 'v4' : 'v6',
    name: options.name ?? 'LOOPBACK-NET',
    type: 'ASSIGNED PA',
    status: ['active'],
    cidr0_cidrs: [addr.kind() === 'ipv4' ? { v4prefix: start.toString(), length: len } : { v6prefix: start.toString(), length: len }],
    entities: contacts({ ...registrant, role: 'registrant' }, options),
    events: [{ eventAction: 'registration', eventDate: '2020-01-01T00:00:00Z' }],
  };
  if (options.country !== undefined) obj.country = options.country;
  return obj;
}

export interface AutnumOptions extends ContactOptions {
  asn: number;
  /** @default `AS${asn}-SYNTHETIC` */
  name?: string;
  country?: string;
  /** @default { handle: `ORG-AS${asn}`, fn: `Synthetic Network ${asn}` } */
  registrant?: { handle: string; fn: string; email?: string };
}

/** An `autnum` object for one AS number. */
export function autnum(options: AutnumOptions): RdapObject {
  const registrant = options.registrant ?? { handle: `ORG-AS${options.asn}`, fn: `Synthetic Network ${options.asn}` };
  const obj: RdapObject = {
    ...base('autnum'),
    handle: `AS${options.asn}`,
    startAutnum: options.asn,
    endAutnum: options.asn,
    name: options.name ?? `AS${options.asn}-SYNTHETIC`,
    type: 'DIRECT ALLOCATION',
    status: ['active'],
    entities: contacts({ ...registrant, role: 'registrant' }, options),
  };
  if (options.country !== undefined) obj.country = options.country;
  return obj;
}

export interface DomainOptions extends ContactOptions {
  /** e.g. `fleet.test`. */
  name: string;
  /** @default { handle: 'REGISTRAR-9999', fn: 'Synthetic Registrar', ianaId: '9999' } */
  registrar?: { handle: string; fn: string; ianaId?: string; email?: string };
  /** @default [`ns1.${name}`] */
  nameservers?: string[];
}

/** A `domain` object whose registrar entity carries (by default, nested) the abuse contact. */
export function domain(options: DomainOptions): RdapObject {
  const registrar = options.registrar ?? { handle: 'REGISTRAR-9999', fn: 'Synthetic Registrar', ianaId: '9999' };
  const ldhName = options.name.toLowerCase().replace(/\.$/, '');
  return {
    ...base('domain'),
    handle: `DOM-${ldhName.replace(/\./g, '-').toUpperCase()}`,
    ldhName,
    status: ['active'],
    nameservers: (options.nameservers ?? [`ns1.${ldhName}`]).map((ns) => ({ objectClassName: 'nameserver', ldhName: ns })),
    entities: contacts({
      handle: registrar.handle, fn: registrar.fn, email: registrar.email, role: 'registrar',
      publicIds: registrar.ianaId ? [{ type: 'IANA Registrar ID', identifier: registrar.ianaId }] : undefined,
    }, options),
    events: [{ eventAction: 'registration', eventDate: '2020-01-01T00:00:00Z' }],
  };
}

/** Every e-mail address of entities with role `abuse`, however deeply nested. */
export function abuseEmails(obj: RdapObject): string[] {
  const found: string[] = [];
  const visit = (entities: unknown, depth: number): void => {
    if (!Array.isArray(entities) || depth > 8) return;
    for (const e of entities as RdapObject[]) {
      const roles = Array.isArray(e.roles) ? e.roles : [];
      const card = e.vcardArray as VCardArray | undefined;
      if (roles.includes('abuse') && Array.isArray(card?.[1])) {
        for (const p of card[1]) if (p[0] === 'email') found.push(String(p[3]));
      }
      visit(e.entities, depth + 1);
    }
  };
  visit(obj.entities, 0);
  return found;
}
