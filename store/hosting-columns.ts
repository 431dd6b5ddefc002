/** The hosting columns of `reports`, as selected by report and submission queries. */
import type { Hosting } from '../core/store.js';

export const HOSTING_COLUMNS = 'r.hosting_ip, r.hosting_country, r.hosting_asn, r.hosting_org, r.hosting_via_cdn';

export interface HostingRow {
  hosting_ip: string | null;
  hosting_country: string | null;
  hosting_asn: number | null;
  hosting_org: string | null;
  hosting_via_cdn: boolean | null;
}

/** null until the report has been traced at least once */
export function toHosting(row: HostingRow): Hosting | null {
  if (row.hosting_ip === null && row.hosting_country === null && row.hosting_asn === null && row.hosting_org === null && row.hosting_via_cdn === null) {
    return null;
  }
  return { ip: row.hosting_ip, country: row.hosting_country, asn: row.hosting_asn, org: row.hosting_org, viaCdn: row.hosting_via_cdn ?? false };
}
