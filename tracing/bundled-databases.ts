/**
 * Where the data vigil ships with lives: the country database from the npm package
 * `@ip-location-db/geo-whois-asn-country-mmdb` and the IANA RDAP bootstrap snapshot in
 * `tracing/data/rdap-bootstrap/`. Used when `tracing.countryDb` is empty or
 * `tracing.rdapBootstrap` is null (CONTRACT.md §3).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLED_COUNTRY_PACKAGE = '@ip-location-db/geo-whois-asn-country-mmdb';

/**
 * The bundled country databases: the package's separate IPv4 and IPv6 files (`{country_code}`
 * schema), IPv4 first.
 * @throws Error when the package is not installed
 */
export function bundledCountryDbPaths(): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve(`${BUNDLED_COUNTRY_PACKAGE}/package.json`));
  return [join(dir, 'geo-whois-asn-country-ipv4.mmdb'), join(dir, 'geo-whois-asn-country-ipv6.mmdb')];
}

/** The directory of the bundled IANA RDAP bootstrap snapshot (ipv4/ipv6/asn/dns.json). */
export function bundledRdapBootstrapDir(): string {
  return fileURLToPath(new URL('./data/rdap-bootstrap/', import.meta.url));
}
