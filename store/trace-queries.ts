/**
 * Traces, writing side: a trace row with its provenance and the report's hosting columns in one
 * transaction, idempotent by the trace id; and the latest trace, for deciding whether to trace
 * again. The read side for the API is `listReportTraces` (report-list-queries.ts).
 *
 * When the trace changes routing (core/trace-change.ts `afterTrace`), the same transaction makes
 * the report's notice decision due now (`next_realert_at`): the outbox dispatcher then decides
 * its notices with the new hosting, as it does for every other change.
 */
import { VigilError } from '../core/errors.js';
import type { ReportStatus, Verdict } from '../core/report-status.js';
import type { Hosting, LastTrace, NewTrace, TraceRecorded } from '../core/store.js';
import { afterTrace } from '../core/trace-change.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

const LOCK_REPORT = `SELECT r.status, r.verdict, ${HOSTING_COLUMNS} FROM reports r WHERE r.id = $1 FOR UPDATE`;
const INSERT_TRACE = `INSERT INTO traces (id, report_id, check_id, created_at, ip, country, asn, org, via_cdn, provenance)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
  ON CONFLICT (id) DO NOTHING`;
const SET_HOSTING = `UPDATE reports SET hosting_ip = $2, hosting_country = $3, hosting_asn = $4, hosting_org = $5, hosting_via_cdn = $6
  WHERE id = $1`;
// Never later than a decision already due sooner (a lease in flight moves it forward itself).
const DECIDE_NOW = `UPDATE reports SET next_realert_at = LEAST(COALESCE(next_realert_at, $2::timestamptz), $2::timestamptz)
  WHERE id = $1`;
const SELECT_LAST_TRACE = `SELECT ip, country, asn, org, via_cdn, created_at FROM traces
  WHERE report_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`;

interface LockedRow extends HostingRow {
  status: ReportStatus;
  verdict: Verdict | null;
}

/** A country code the `traces`/`reports` check constraints accept, else null. */
const countryOf = (c: string | null): string | null => (c !== null && /^[A-Z]{2}$/.test(c.trim().toUpperCase()) ? c.trim().toUpperCase() : null);

/**
 * Writes a trace and applies its hosting to the report, once per `trace.id`.
 * @returns applied: false when this trace id was already written (nothing changes)
 * @throws VigilError NOT_FOUND when the report does not exist
 */
export async function recordTrace(db: SqlClient, trace: NewTrace): Promise<TraceRecorded> {
  if (!isReportId(trace.reportId)) throw new VigilError('NOT_FOUND', `report ${trace.reportId} does not exist`);
  const h = trace.hosting;
  const current: Hosting = { ip: h.ip, country: countryOf(h.country), asn: h.asn, org: h.org, viaCdn: h.viaCdn };
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<LockedRow>(LOCK_REPORT, [trace.reportId]);
    const report = rows[0];
    if (!report) throw new VigilError('NOT_FOUND', `report ${trace.reportId} does not exist`);
    const inserted = await tx.query(INSERT_TRACE, [
      trace.id, trace.reportId, trace.checkId, trace.tracedAt,
      current.ip, current.country, current.asn, current.org, current.viaCdn, JSON.stringify(trace.provenance),
    ]);
    if (inserted.rowCount === 0) return { applied: false, decideNow: false, previous: toHosting(report) };
    const previous = toHosting(report);
    const effect = afterTrace({ previous, current, status: report.status, verdict: report.verdict });
    if (!effect.keepHosting) {
      await tx.query(SET_HOSTING, [trace.reportId, current.ip, current.country, current.asn, current.org, current.viaCdn]);
    }
    if (effect.decideNow) await tx.query(DECIDE_NOW, [trace.reportId, trace.now]);
    return { applied: true, decideNow: effect.decideNow, previous };
  });
}

/** The report's latest trace; null when never traced (or no such report). */
export async function getLastTrace(db: SqlClient, reportId: string): Promise<LastTrace | null> {
  if (!isReportId(reportId)) return null;
  const { rows } = await db.query<{ ip: string | null; country: string | null; asn: number | string | null; org: string | null; via_cdn: boolean; created_at: Date }>(
    SELECT_LAST_TRACE, [reportId]);
  const r = rows[0];
  if (!r) return null;
  return {
    hosting: { ip: r.ip, country: r.country, asn: r.asn === null ? null : Number(r.asn), org: r.org, viaCdn: r.via_cdn },
    tracedAt: r.created_at,
  };
}
