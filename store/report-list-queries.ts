/**
 * Lists of reports for `GET /v1/reports` (newest first, keyset-paginated on (created_at, id)),
 * and a report's hosting traces for its timeline.
 *
 * Tenant scoping is in the statement: a force (`$1` not NULL) sees a report only while it
 * monitors it (report_forces).
 */
import type { ReportStatus, Verdict, VerdictSource } from '../core/report-status.js';
import type { ReportListCursor, ReportListFilter, ReportListPage, ReportSummary, Scope, TraceView } from '../core/store.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import type { SqlClient } from './sql-client.js';

/** the most reports one page may hold */
export const MAX_REPORT_PAGE = 1000;
/** traces returned with a report, newest first */
export const REPORT_TRACES_LIMIT = 100;

// created_key: created_at to the microsecond (a Date keeps milliseconds), for the cursor.
const SELECT_REPORTS = `SELECT r.id, r.url, r.status, r.verdict, r.verdict_source, r.registrable_domain, r.created_at,
         to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
         r.first_seen_live_at, r.last_seen_live_at, r.removed_at, r.last_checked_at, ${HOSTING_COLUMNS}
  FROM reports r
  WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM report_forces rf WHERE rf.report_id = r.id AND rf.force_id = $1))
    AND ($2::text IS NULL OR r.status = $2)
    AND ($3::text IS NULL OR r.hosting_country = $3)
    AND ($4::text IS NULL OR r.registrable_domain = $4)
    AND ($5::timestamptz IS NULL OR (r.created_at, r.id) < ($5::timestamptz, $6::uuid))
  ORDER BY r.created_at DESC, r.id DESC
  LIMIT $7`;

const SELECT_SCOPED_REPORT = `SELECT 1 FROM reports r WHERE r.id = $1
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM report_forces rf WHERE rf.report_id = r.id AND rf.force_id = $2))`;

const SELECT_TRACES = `SELECT id, check_id, created_at, ip, country, asn, org, via_cdn, provenance
  FROM traces WHERE report_id = $1 ORDER BY created_at DESC, id LIMIT ${REPORT_TRACES_LIMIT}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isReportId = (id: string): boolean => UUID.test(id);
const TIMESTAMP_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface SummaryRow extends HostingRow {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdict_source: VerdictSource | null;
  registrable_domain: string | null;
  created_at: Date;
  created_key: string;
  first_seen_live_at: Date | null;
  last_seen_live_at: Date | null;
  removed_at: Date | null;
  last_checked_at: Date | null;
}

interface TraceRow {
  id: string;
  check_id: string | null;
  created_at: Date;
  ip: string | null;
  country: string | null;
  asn: number | null;
  org: string | null;
  via_cdn: boolean;
  provenance: Record<string, unknown>;
}

const toSummary = (r: SummaryRow): ReportSummary => ({
  id: r.id,
  url: r.url,
  status: r.status,
  verdict: r.verdict,
  verdictSource: r.verdict_source,
  registrableDomain: r.registrable_domain,
  hosting: toHosting(r),
  createdAt: r.created_at,
  firstSeenLiveAt: r.first_seen_live_at,
  lastSeenLiveAt: r.last_seen_live_at,
  removedAt: r.removed_at,
  lastCheckedAt: r.last_checked_at,
});

/** Up to `limit` reports after `after` (exclusive), newest first. */
export async function listReports(
  db: SqlClient, scope: Scope, filter: ReportListFilter, page: { after: ReportListCursor | null; limit: number },
): Promise<ReportListPage> {
  const limit = Math.max(1, Math.min(MAX_REPORT_PAGE, Math.floor(page.limit)));
  // A cursor id that is not a uuid cannot come from this list: start from the top rather than fail the cast.
  const after = page.after && isReportId(page.after.id) && TIMESTAMP_KEY.test(page.after.createdAt) ? page.after : null;
  const { rows } = await db.query<SummaryRow>(SELECT_REPORTS, [
    scope.forceId, filter.status ?? null, filter.country ?? null, filter.registrableDomain ?? null,
    after?.createdAt ?? null, after?.id ?? null, limit + 1,
  ]);
  const rowsOfPage = rows.slice(0, limit);
  const last = rowsOfPage[rowsOfPage.length - 1];
  return { items: rowsOfPage.map(toSummary), next: rows.length > limit && last ? { createdAt: last.created_key, id: last.id } : null };
}

/** The report's latest traces, newest first; null when the report is outside `scope`. */
export async function listReportTraces(db: SqlClient, reportId: string, scope: Scope): Promise<TraceView[] | null> {
  if (!isReportId(reportId)) return null;
  const visible = await db.query(SELECT_SCOPED_REPORT, [reportId, scope.forceId]);
  if (visible.rowCount === 0) return null;
  const { rows } = await db.query<TraceRow>(SELECT_TRACES, [reportId]);
  return rows.map((r) => ({
    id: r.id, checkId: r.check_id, createdAt: r.created_at, ip: r.ip, country: r.country, asn: r.asn, org: r.org, viaCdn: r.via_cdn, provenance: r.provenance,
  }));
}
