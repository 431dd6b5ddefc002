/**
 * What a GeoIP/ASN database record says, in either schema vigil accepts (CONTRACT.md §3
 * `tracing.countryDb`, `tracing.asnDb`). Pure functions over the decoded record: the databases
 * are data from outside, so every field is checked, never trusted to have its documented type.
 */
import { isCountryCode } from '../config/country-codes.js';

/** Which field of the record gave the country. */
export type CountryField = 'country.iso_code' | 'registered_country.iso_code' | 'country_code' | 'country';

export interface CountryFromRecord {
  /** ISO 3166-1 alpha-2, uppercase */
  country: string;
  field: CountryField;
}

export interface AsnFromRecord {
  asn: number | null;
  org: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** An assigned country code, or null (continent codes such as `EU`/`AP`, `ZZ`, junk). */
function code(v: unknown): string | null {
  if (typeof v !== 'string' || v.length !== 2) return null;
  const upper = v.toUpperCase();
  return isCountryCode(upper) ? upper : null;
}

/**
 * The country of a record.
 *
 * - GeoIP2/GeoLite2 (`{country: {iso_code}, registered_country: {iso_code}}`): `country`, else
 *   `registered_country` (MaxMind leaves `country` out for some networks, e.g. satellite and
 *   anycast ranges, but still knows where the network is registered).
 * - ip-location-db (`{country_code}`).
 * - A bare `country` string holding a code (ipinfo-style files), as a last resort.
 *
 * @returns null when the record names no assigned country
 */
export function countryFromRecord(record: unknown): CountryFromRecord | null {
  if (!isObject(record)) return null;
  const { country, registered_country: registered, country_code: countryCode } = record;
  if (isObject(country)) {
    const c = code(country.iso_code);
    if (c !== null) return { country: c, field: 'country.iso_code' };
  }
  if (isObject(registered)) {
    const c = code(registered.iso_code);
    if (c !== null) return { country: c, field: 'registered_country.iso_code' };
  }
  const c = code(countryCode);
  if (c !== null) return { country: c, field: 'country_code' };
  const bare = code(country);
  if (bare !== null) return { country: bare, field: 'country' };
  return null;
}

/** Longest organisation name kept: a database is outside data too. */
const MAX_ORG_LENGTH = 256;

/**
 * The autonomous system of a GeoLite2-ASN record
 * (`{autonomous_system_number, autonomous_system_organization}`).
 * @returns null when the record carries no AS number
 */
export function asnFromRecord(record: unknown): AsnFromRecord | null {
  if (!isObject(record)) return null;
  const n = record.autonomous_system_number;
  const asn = typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 4_294_967_295 ? n : null;
  if (asn === null) return null;
  const o = record.autonomous_system_organization;
  const org = typeof o === 'string' && o.trim() !== '' ? o.trim().slice(0, MAX_ORG_LENGTH) : null;
  return { asn, org };
}
