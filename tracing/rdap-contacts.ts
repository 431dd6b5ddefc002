/**
 * What an RDAP answer (RFC 9083) says about who runs a network or registered a domain, and who
 * takes abuse reports: pure functions over parsed JSON.
 *
 * The JSON comes from the network, so nothing is trusted: every field is type-checked, entity
 * trees are walked to a bounded depth and breadth, strings are length-capped and e-mail
 * addresses must look like one address (no header injection into a notice).
 */

/** One contact from an entity (RFC 9083 §5.1) and its jCard (RFC 7095). */
export interface RdapContact {
  handle: string | null;
  /** vCard `fn` (or `org`) */
  name: string | null;
  /** vCard `email` values that are valid addresses, lower-cased domain part */
  emails: string[];
  roles: string[];
  /** entity depth (0 = top level); abuse contacts of the holder usually sit at depth 1 */
  depth: number;
}

export interface RdapIpNetworkInfo {
  handle: string | null;
  /** network name, e.g. `SYN-HOST-2` */
  name: string | null;
  country: string | null;
  startAddress: string | null;
  endAddress: string | null;
  /** registrant organisation */
  org: string | null;
  /** entities with role `abuse`, at any depth (with or without e-mail) */
  abuse: RdapContact[];
}

export interface RdapAutnumInfo {
  handle: string | null;
  name: string | null;
  country: string | null;
  org: string | null;
  abuse: RdapContact[];
}

export interface RdapRegistrar {
  name: string | null;
  handle: string | null;
  /** `publicIds` type `IANA Registrar ID` */
  ianaId: string | null;
  /** the registrar's abuse contacts (nested in the registrar entity, else top-level abuse entities) */
  abuse: RdapContact[];
}

export interface RdapDomainInfo {
  ldhName: string | null;
  registrar: RdapRegistrar | null;
  /** `links` with rel `related` to another RDAP server's object (the registrar's, in thin registries) */
  related: string[];
}

const MAX_DEPTH = 6;
const MAX_ENTITIES = 256;
const MAX_STRING = 256;
const MAX_EMAILS = 8;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A printable, trimmed, capped string, or null. */
function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const clean = v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean === '' ? null : clean.slice(0, MAX_STRING);
}

// One address: local@domain.tld, no spaces, quotes, brackets, commas or control characters.
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+$/;

/** A single, plausible e-mail address (a `mailto:` prefix is dropped), or null. */
export function cleanEmail(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 320) return null;
  const raw = v.trim().replace(/^mailto:/i, '');
  const at = raw.lastIndexOf('@');
  if (at < 1) return null;
  const address = `${raw.slice(0, at)}@${raw.slice(at + 1).toLowerCase()}`;
  return address.length <= 254 && EMAIL.test(address) ? address : null;
}

/** `fn`, `org` and `email` of a jCard `["vcard", [[name, params, type, value…], …]]`. */
export function parseVcard(vcardArray: unknown): { fn: string | null; org: string | null; emails: string[] } {
  const out = { fn: null as string | null, org: null as string | null, emails: [] as string[] };
  if (!Array.isArray(vcardArray) || vcardArray[0] !== 'vcard' || !Array.isArray(vcardArray[1])) return out;
  for (const prop of (vcardArray[1] as unknown[]).slice(0, 128)) {
    if (!Array.isArray(prop) || typeof prop[0] !== 'string') continue;
    const name = prop[0].toLowerCase();
    const values = prop.slice(3);
    if (name === 'fn' && out.fn === null) out.fn = text(values[0]);
    // `org` may be structured: [organisation, unit, …].
    if (name === 'org' && out.org === null) out.org = text(Array.isArray(values[0]) ? values[0][0] : values[0]);
    if (name === 'email' && out.emails.length < MAX_EMAILS) {
      const email = cleanEmail(values[0]);
      if (email !== null && !out.emails.includes(email)) out.emails.push(email);
    }
  }
  return out;
}

function roles(entity: Json): string[] {
  return Array.isArray(entity.roles) ? entity.roles.filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase()).slice(0, 16) : [];
}

function contactOf(entity: Json, depth: number): RdapContact {
  const card = parseVcard(entity.vcardArray);
  return { handle: text(entity.handle), name: card.fn ?? card.org, emails: card.emails, roles: roles(entity), depth };
}

/**
 * Every entity under `node` (its `entities`, theirs, …), depth-first, as contacts, with the
 * entity objects themselves; bounded in depth and count.
 */
export function walkEntities(node: unknown): { entity: Json; contact: RdapContact }[] {
  const found: { entity: Json; contact: RdapContact }[] = [];
  const visit = (list: unknown, depth: number): void => {
    if (!Array.isArray(list) || depth >= MAX_DEPTH) return;
    for (const e of list) {
      if (found.length >= MAX_ENTITIES) return;
      if (!isObject(e)) continue;
      found.push({ entity: e, contact: contactOf(e, depth) });
      visit(e.entities, depth + 1);
    }
  };
  if (isObject(node)) visit(node.entities, 0);
  return found;
}

/** Contacts with role `abuse`, at any depth, in document order. */
export function abuseContacts(node: unknown): RdapContact[] {
  return walkEntities(node).map((x) => x.contact).filter((c) => c.roles.includes('abuse'));
}

/** Name of the registrant organisation (role `registrant`, shallowest first). */
function registrantOrg(node: unknown): string | null {
  const registrants = walkEntities(node).map((x) => x.contact).filter((c) => c.roles.includes('registrant'));
  registrants.sort((a, b) => a.depth - b.depth);
  return registrants.find((c) => c.name !== null)?.name ?? null;
}

const country = (v: unknown): string | null => {
  const c = text(v);
  return c !== null && /^[A-Za-z]{2}$/.test(c) ? c.toUpperCase() : null;
};

/** An `ip network` answer. Never throws. */
export function parseIpNetwork(json: unknown): RdapIpNetworkInfo {
  const o = isObject(json) ? json : {};
  return {
    handle: text(o.handle),
    name: text(o.name),
    country: country(o.country),
    startAddress: text(o.startAddress),
    endAddress: text(o.endAddress),
    org: registrantOrg(o),
    abuse: abuseContacts(o),
  };
}

/** An `autnum` answer. Never throws. */
export function parseAutnum(json: unknown): RdapAutnumInfo {
  const o = isObject(json) ? json : {};
  return { handle: text(o.handle), name: text(o.name), country: country(o.country), org: registrantOrg(o), abuse: abuseContacts(o) };
}

/** A `domain` answer: its registrar and the registrar's abuse contacts. Never throws. */
export function parseDomain(json: unknown): RdapDomainInfo {
  const o = isObject(json) ? json : {};
  const registrarEntry = walkEntities(o).find((x) => x.contact.roles.includes('registrar'));
  let registrar: RdapRegistrar | null = null;
  if (registrarEntry !== undefined) {
    const { entity, contact } = registrarEntry;
    const ids = Array.isArray(entity.publicIds) ? entity.publicIds.filter(isObject) : [];
    const iana = ids.find((id) => typeof id.type === 'string' && id.type.toLowerCase() === 'iana registrar id');
    const nested = abuseContacts(entity);
    registrar = {
      name: contact.name,
      handle: contact.handle,
      ianaId: iana ? text(iana.identifier) : null,
      // ICANN's RDAP profile nests the registrar abuse contact in the registrar entity; some
      // registries put it at the top level instead.
      abuse: nested.length > 0 ? nested : abuseContacts(o).filter((c) => c.depth === 0),
    };
  }
  const related = (Array.isArray(o.links) ? o.links : [])
    .filter(isObject)
    .filter((l) => l.rel === 'related' && (l.type === undefined || (typeof l.type === 'string' && l.type.toLowerCase().includes('rdap'))))
    .map((l) => text(l.href))
    .filter((h): h is string => h !== null && /^https?:\/\//i.test(h) && /\/domain\//i.test(h))
    .slice(0, 2);
  return { ldhName: text(o.ldhName), registrar, related };
}
