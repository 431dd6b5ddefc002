/**
 * Traces, writing side: a trace row with its provenance and the report's hosting, atomically and
 * idempotent by the trace id; and the latest trace, for deciding whether to trace again. The read
 * side for the API is `listReportTraces` (report-list-queries.ts).
 *
 * When the trace changes routing (core/trace-change.ts `afterTrace`), the same write makes the
 * report's notice decision due now (`next_realert_at`): the outbox dispatcher then decides its
 * notices with the new hosting, as it does for every other change.
 *
 * Two round trips, no BEGIN/COMMIT: read the report, apply the rule in TypeScript, then one
 * statement locks the report row and writes only if what the rule read (status, verdict,
 * hosting) is still so under the lock — a compare-and-set. When it is not (a write in between),
 * the rule runs again inside a transaction holding the lock, as before.
 */
import { VigilError } from '../core/errors.js';
import type { ReportStatus, Verdict } from '../core/report-status.js';
import type { Hosting, LastTrace, NewTrace, TraceRecorded } from '../core/store.js';
import { afterTrace } from '../core/trace-change.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

/** The rule's inputs: what the write is conditional on. */
const SELECT_REPORT = `SELECT r.status, r.verdict, ${HOSTING_COLUMNS} FROM reports r WHERE r.id = $1`;
const LOCK_REPORT = `${SELECT_REPORT} FOR UPDATE`;
// One statement. `locked`: the report row under FOR UPDATE, returned as it was (the previous
// hosting). `unchanged`: it, when the rule's inputs still equal $11..$17. Only then is the trace
// inserted ($1 once: ON CONFLICT DO NOTHING), and only a new trace changes the report: hosting
// unless $18 (keepHosting), next_realert_at when $19 (decideNow) — never later than a decision
// already due sooner ($20 = now; a lease in flight moves it forward itself).
const RECORD_TRACE = `WITH locked AS (
    SELECT r.id, r.status, r.verdict, ${HOSTING_COLUMNS} FROM reports r WHERE r.id = $2 FOR UPDATE
  ), unchanged AS (
    SELECT id FROM locked
    WHERE (status, verdict, hosting_ip, hosting_country, hosting_asn, hosting_org, hosting_via_cdn)
      IS NOT DISTINCT FROM ($11::text, $12::text, $13::text, $14::text, $15::bigint, $16::text, $17::boolean)
  ), inserted AS (
    INSERT INTO traces (id, report_id, check_id, created_at, ip, country, asn, org, via_cdn, provenance)
    SELECT $1, u.id, $3, $4, $5, $6, $7, $8, $9, $10::jsonb FROM unchanged u
    ON CONFLICT (id) DO NOTHING
    RETURNING report_id
  ), updated AS (
    UPDATE reports r SET
      hosting_ip = CASE WHEN $18::boolean THEN r.hosting_ip ELSE $5 END,
      hosting_country = CASE WHEN $18::boolean THEN r.hosting_country ELSE $6 END,
      hosting_asn = CASE WHEN $18::boolean THEN r.hosting_asn ELSE $7 END,
      hosting_org = CASE WHEN $18::boolean THEN r.hosting_org ELSE $8 END,
      hosting_via_cdn = CASE WHEN $18::boolean THEN r.hosting_via_cdn ELSE $9 END,
      next_realert_at = CASE WHEN $19::boolean
        THEN LEAST(COALESCE(r.next_realert_at, $20::timestamptz), $20::timestamptz) ELSE r.next_realert_at END
    FROM inserted i WHERE r.id = i.report_id AND (NOT $18::boolean OR $19::boolean)
  )
  SELECT l.status, l.verdict, l.hosting_ip, l.hosting_country, l.hosting_asn, l.hosting_org, l.hosting_via_cdn,
         EXISTS (SELECT 1 FROM unchanged) AS unchanged, EXISTS (SELECT 1 FROM inserted) AS inserted
  FROM locked l`;
const SELECT_LAST_TRACE = `SELECT ip, country, asn, org, via_cdn, created_at FROM traces
  WHERE report_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`;

interface ReportRow extends HostingRow {
  status: ReportStatus;
  verdict: Verdict | null;
}

interface RecordRow extends ReportRow {
  unchanged: boolean;
  inserted: boolean;
}

/** A country code the `traces`/`reports` check constraints accept, else null. */
const countryOf = (c: string | null): string | null => (c !== null && /^[A-Z]{2}$/.test(c.trim().toUpperCase()) ? c.trim().toUpperCase() : null);

const notFound = (reportId: string): VigilError => new VigilError('NOT_FOUND', `report ${reportId} does not exist`);

/**
 * RECORD_TRACE with the rule applied to `seen`.
 * @returns null when the report does not exist; `done` false when it no longer matches `seen`
 */
async function writeIfUnchanged(db: SqlClient, trace: NewTrace, current: Hosting, seen: ReportRow):
  Promise<{ done: true; recorded: TraceRecorded } | { done: false; report: ReportRow } | null> {
  const previous = toHosting(seen);
  const effect = afterTrace({ previous, current, status: seen.status, verdict: seen.verdict });
  const { rows } = await db.query<RecordRow>(RECORD_TRACE, [
    trace.id, trace.reportId, trace.checkId, trace.tracedAt,
    current.ip, current.country, current.asn, current.org, current.viaCdn, JSON.stringify(trace.provenance),
    seen.status, seen.verdict, seen.hosting_ip, seen.hosting_country, seen.hosting_asn, seen.hosting_org, seen.hosting_via_cdn,
    effect.keepHosting, effect.decideNow, trace.now,
  ]);
  const row = rows[0];
  if (!row) return null;
  if (!row.unchanged) return { done: false, report: row };
  if (!row.inserted) return { done: true, recorded: { applied: false, decideNow: false, previous } };
  return { done: true, recorded: { applied: true, decideNow: effect.decideNow, previous } };
}

/**
 * Writes a trace and applies its hosting to the report, once per `trace.id`.
 * @returns applied: false when this trace id was already written (nothing changes)
 * @throws VigilError NOT_FOUND when the report does not exist
 */
export async function recordTrace(db: SqlClient, trace: NewTrace): Promise<TraceRecorded> {
  if (!isReportId(trace.reportId)) throw notFound(trace.reportId);
  const h = trace.hosting;
  const current: Hosting = { ip: h.ip, country: countryOf(h.country), asn: h.asn, org: h.org, viaCdn: h.viaCdn };
  const seen = (await db.query<ReportRow>(SELECT_REPORT, [trace.reportId])).rows[0];
  if (!seen) throw notFound(trace.reportId);
  const first = await writeIfUnchanged(db, trace, current, seen);
  if (!first) throw notFound(trace.reportId);
  if (first.done) return first.recorded;
  // The report changed between the read and the write: decide again holding the lock throughout.
  return db.transaction(async (tx) => {
    const locked = (await tx.query<ReportRow>(LOCK_REPORT, [trace.reportId])).rows[0];
    if (!locked) throw notFound(trace.reportId);
    const again = await writeIfUnchanged(tx, trace, current, locked);
    if (!again) throw notFound(trace.reportId);
    // cannot happen: the row is locked by this transaction since it was read
    if (!again.done) throw new Error(`report ${trace.reportId} changed under its row lock`);
    return again.recorded;
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
