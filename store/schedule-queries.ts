/**
 * The check schedule beyond leasing due rows (report-queries.ts `claimDueChecks`): what the
 * reconciler needs to find checks lost from the queue, and an analyst's recheck.
 *
 * A row is in flight while its lease (`dispatch_at`) lies beyond its due time (`next_check_at`):
 * the dispatcher moved `dispatch_at` forward when it handed the row to the queue, and recording
 * the check sets both to the next due time again (partial index `reports_in_flight_idx`).
 */
import type { InFlightCheck } from '../core/store.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

// Keyset on (dispatch_at, id): $3/$4 are the last row of the previous page (or -infinity).
const SELECT_IN_FLIGHT = `SELECT id, next_check_at, dispatch_at FROM reports
  WHERE dispatch_at > next_check_at AND dispatch_at <= $1
    AND (dispatch_at, id) > ($3::timestamptz, $4::uuid)
  ORDER BY dispatch_at, id
  LIMIT $2`;

const MIN_UUID = '00000000-0000-0000-0000-000000000000';

// Compare-and-set: a row whose check was recorded (next_check_at moved) or that was leased again
// (dispatch_at moved) is left alone. Back to dispatch_at = next_check_at: due at once, same job id.
const RELEASE_LEASE = `UPDATE reports SET dispatch_at = next_check_at
  WHERE id = $1 AND next_check_at = $2 AND dispatch_at = $3`;

const REQUEST_CHECK = `UPDATE reports SET next_check_at = $2, dispatch_at = $2
  WHERE id = $1 AND status NOT IN ('rejected', 'refused', 'expired')`;

/** In-flight checks whose lease ends at or before `leasedBefore`, oldest lease first, after `after`. */
export async function listInFlightChecks(db: SqlClient, leasedBefore: Date, limit: number, after?: InFlightCheck): Promise<InFlightCheck[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<{ id: string; next_check_at: Date; dispatch_at: Date }>(SELECT_IN_FLIGHT, [
    leasedBefore, Math.floor(limit), after?.leasedUntil ?? new Date(0), after?.reportId ?? MIN_UUID,
  ]);
  return rows.map((r) => ({ reportId: r.id, dueAt: r.next_check_at, leasedUntil: r.dispatch_at }));
}

/** @returns false when the row changed since it was listed */
export async function releaseCheckLease(db: SqlClient, check: InFlightCheck): Promise<boolean> {
  if (!isReportId(check.reportId)) return false;
  const { rowCount } = await db.query(RELEASE_LEASE, [check.reportId, check.dueAt, check.leasedUntil]);
  return rowCount > 0;
}

/** @returns false when no such report or it is never checked again */
export async function requestCheck(db: SqlClient, reportId: string, now: Date): Promise<boolean> {
  if (!isReportId(reportId)) return false;
  const { rowCount } = await db.query(REQUEST_CHECK, [reportId, now]);
  return rowCount > 0;
}

// An evidence hold: no notice before hold_until. The notifier is asked to decide again now, so a
// hold placed or lifted takes effect at once (the planner reschedules itself for the hold's end).
// Scoped: a force holds only reports it monitors.
const SET_HOLD = `UPDATE reports r SET
    hold_until = $2,
    next_realert_at = LEAST(COALESCE(r.next_realert_at, $3), $3)
  WHERE r.id = $1
    AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM report_forces rf WHERE rf.report_id = r.id AND rf.force_id = $4))
  RETURNING r.id`;

/** @returns false when no such report in the scope */
export async function setHold(db: SqlClient, reportId: string, until: Date | null, forceId: string | null, now: Date): Promise<boolean> {
  if (!isReportId(reportId)) return false;
  const { rowCount } = await db.query(SET_HOLD, [reportId, until, now, forceId]);
  return rowCount > 0;
}
