/**
 * Reports: the analysts' and owning forces' view, what a check job needs, recording a check's
 * result, and leasing due checks to the dispatcher.
 */
import { VigilError } from '../core/errors.js';
import type { CheckOutcome, ReportStatus, Verdict, VerdictSource } from '../core/report-status.js';
import type { CheckView, DueCheck, NewCheck, NoticeView, ReportForCheck, ReportView, Scope } from '../core/store.js';
import { FOREIGN_KEY_VIOLATION, sqlState } from './db-errors.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import type { SqlClient } from './sql-client.js';

/** checks returned with a report, newest first */
export const REPORT_CHECKS_LIMIT = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Report ids are uuids; anything else names no report (and must not reach SQL as a cast error). */
export function isReportId(id: string): boolean {
  return UUID.test(id);
}

// A force sees a report only while it monitors it (report_forces).
const SELECT_REPORT = `SELECT r.id, r.url, r.status, r.verdict, r.verdict_source, r.created_at, r.first_seen_live_at,
         r.last_seen_live_at, r.removed_at, r.last_checked_at, ${HOSTING_COLUMNS}
  FROM reports r
  WHERE r.id = $1
    AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM report_forces rf WHERE rf.report_id = r.id AND rf.force_id = $2))`;

// Reached only after SELECT_REPORT has passed the scope check for the same id.
const SELECT_REPORT_CHECKS = `SELECT id, outcome, reason, http_status, vantage, started_at, duration_ms
  FROM checks WHERE report_id = $1 ORDER BY started_at DESC, id LIMIT ${REPORT_CHECKS_LIMIT}`;

const SELECT_REPORT_NOTICES = `SELECT id, kind, recipient_id, sequence, status, created_at, sent_at
  FROM notices WHERE report_id = $1 ORDER BY created_at, sequence, id`;

// Internal (check jobs): no tenant.
const SELECT_REPORT_FOR_CHECK = `SELECT id, url, status, verdict, verdict_source, sha256, sha1, md5, created_at, expires_at,
         removed_at, hold_until, gone_streak, gone_since, next_check_at, state_version
  FROM reports WHERE id = $1`;

// Recording a check is one transaction guarded twice: by the check id (the job's stable id: a
// check recorded once is never applied again) and, when the caller says which state it computed
// the transition from, by the report's state_version under the row lock (two different checks of
// one report never overwrite each other's streak). Only the transaction that inserts the check
// row updates the report.
const CHECK_EXISTS = 'SELECT 1 FROM checks WHERE id = $1';
const LOCK_REPORT_STATE = 'SELECT state_version FROM reports WHERE id = $1 FOR UPDATE';
const INSERT_CHECK = `INSERT INTO checks (id, report_id, outcome, reason, http_status, vantage, started_at, duration_ms, status_after)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;
// $11/$13/$15/$17 say whether the optional part was given; omitted parts keep the stored value
// (removed_at then follows the status, as before the lifecycle counters existed).
const APPLY_CHECK = `UPDATE reports r SET
    status = $3,
    last_checked_at = $4,
    next_check_at = $5,
    dispatch_at = $5,
    first_seen_live_at = CASE WHEN $2 = 'live' THEN COALESCE(r.first_seen_live_at, $4) ELSE r.first_seen_live_at END,
    last_seen_live_at = CASE WHEN $2 = 'live' THEN GREATEST(r.last_seen_live_at, $4) ELSE r.last_seen_live_at END,
    removed_at = CASE WHEN $6::boolean THEN $7::timestamptz
                      WHEN $3 = 'removed' THEN COALESCE(r.removed_at, $4)
                      WHEN $3 IN ('live', 'notified') THEN NULL
                      ELSE r.removed_at END,
    gone_streak = CASE WHEN $8::boolean THEN $9::integer ELSE r.gone_streak END,
    gone_since = CASE WHEN $8::boolean THEN $10::timestamptz ELSE r.gone_since END,
    expires_at = CASE WHEN $11::boolean THEN $12::timestamptz ELSE r.expires_at END,
    verdict = COALESCE($13::text, r.verdict),
    verdict_source = CASE WHEN $13::text IS NULL THEN r.verdict_source ELSE $14::text END,
    reopen_count = r.reopen_count + CASE WHEN $15::boolean THEN 1 ELSE 0 END,
    -- removal confirmed, or removed content back: the notifier decides now (its outbox, same transaction)
    next_realert_at = CASE WHEN ($3 = 'removed' AND r.status <> 'removed') OR $15::boolean
                           THEN LEAST(COALESCE(r.next_realert_at, $4::timestamptz), $4::timestamptz) ELSE r.next_realert_at END,
    state_version = r.state_version + 1
  WHERE r.id = $1`;

// SKIP LOCKED: concurrent dispatchers take disjoint rows. A row another dispatcher has just
// leased is re-evaluated against the WHERE clause and drops out (its dispatch time is in the
// future). The lease moves dispatch_at only: the due time returned stays the same on a re-dispatch.
const CLAIM_DUE_CHECKS = `WITH due AS (
    SELECT id, next_check_at FROM reports
    WHERE dispatch_at <= $1
    ORDER BY dispatch_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE reports r SET dispatch_at = $3
  FROM due
  WHERE r.id = due.id
  RETURNING r.id, r.url, due.next_check_at AS due_at`;

interface ReportRow extends HostingRow {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdict_source: VerdictSource | null;
  created_at: Date;
  first_seen_live_at: Date | null;
  last_seen_live_at: Date | null;
  removed_at: Date | null;
  last_checked_at: Date | null;
}

interface CheckRow {
  id: string;
  outcome: CheckOutcome;
  reason: string;
  http_status: number | null;
  vantage: string | null;
  started_at: Date;
  duration_ms: number;
}

interface NoticeRow {
  id: string;
  kind: string;
  recipient_id: string;
  sequence: number;
  status: string;
  created_at: Date;
  sent_at: Date | null;
}

const toCheck = (r: CheckRow): CheckView => ({
  id: r.id, outcome: r.outcome, reason: r.reason, httpStatus: r.http_status, vantage: r.vantage, startedAt: r.started_at, durationMs: r.duration_ms,
});

const toNotice = (r: NoticeRow): NoticeView => ({
  id: r.id, kind: r.kind, recipient: r.recipient_id, sequence: r.sequence, status: r.status, createdAt: r.created_at, sentAt: r.sent_at,
});

/**
 * The report with its latest {@link REPORT_CHECKS_LIMIT} checks (newest first) and all its
 * notices; null when it does not exist or is outside `scope`.
 */
export async function getReport(db: SqlClient, id: string, scope: Scope): Promise<ReportView | null> {
  if (!isReportId(id)) return null;
  const { rows } = await db.query<ReportRow>(SELECT_REPORT, [id, scope.forceId]);
  const r = rows[0];
  if (!r) return null;
  const [checks, notices] = await Promise.all([
    db.query<CheckRow>(SELECT_REPORT_CHECKS, [id]),
    db.query<NoticeRow>(SELECT_REPORT_NOTICES, [id]),
  ]);
  return {
    id: r.id,
    url: r.url,
    status: r.status,
    verdict: r.verdict,
    verdictSource: r.verdict_source,
    hosting: toHosting(r),
    createdAt: r.created_at,
    firstSeenLiveAt: r.first_seen_live_at,
    lastSeenLiveAt: r.last_seen_live_at,
    removedAt: r.removed_at,
    lastCheckedAt: r.last_checked_at,
    checks: checks.rows.map(toCheck),
    notices: notices.rows.map(toNotice),
  };
}

interface ReportForCheckRow {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdict_source: VerdictSource | null;
  sha256: string | null;
  sha1: string | null;
  md5: string | null;
  created_at: Date;
  expires_at: Date | null;
  removed_at: Date | null;
  hold_until: Date | null;
  gone_streak: number;
  gone_since: Date | null;
  next_check_at: Date | null;
  state_version: number;
}

export async function getReportForCheck(db: SqlClient, id: string): Promise<ReportForCheck | null> {
  if (!isReportId(id)) return null;
  const { rows } = await db.query<ReportForCheckRow>(SELECT_REPORT_FOR_CHECK, [id]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id, url: r.url, status: r.status, verdict: r.verdict, sha256: r.sha256, sha1: r.sha1, md5: r.md5,
    verdictSource: r.verdict_source, createdAt: r.created_at, expiresAt: r.expires_at, removedAt: r.removed_at,
    holdUntil: r.hold_until, goneStreak: { count: r.gone_streak, since: r.gone_since }, nextCheckAt: r.next_check_at,
    stateVersion: Number(r.state_version),
  };
}

/**
 * Records a check and applies its result to the report, once per `check.id`, in one transaction.
 * With `expectVersion`, only if the report is still in the state the transition was computed
 * from (else `conflict: true` and nothing is written: load the report and compute again).
 * Without `removedAt`, `removed_at` is set when the status becomes `removed` and cleared when the
 * report reopens.
 * @throws VigilError NOT_FOUND when the report does not exist
 */
export async function recordCheck(db: SqlClient, check: NewCheck): Promise<{ applied: boolean; conflict?: boolean }> {
  if (!isReportId(check.reportId)) throw new VigilError('NOT_FOUND', `report ${check.reportId} does not exist`);
  try {
    return await db.transaction(async (tx) => {
      if ((await tx.query(CHECK_EXISTS, [check.id])).rowCount > 0) return { applied: false };
      const { rows } = await tx.query<{ state_version: number }>(LOCK_REPORT_STATE, [check.reportId]);
      const locked = rows[0];
      if (!locked) throw new VigilError('NOT_FOUND', `report ${check.reportId} does not exist`);
      if (check.expectVersion !== undefined && Number(locked.state_version) !== check.expectVersion) return { applied: false, conflict: true };
      const inserted = await tx.query(INSERT_CHECK, [
        check.id, check.reportId, check.outcome, check.reason, check.httpStatus, check.vantage,
        check.startedAt, Math.max(0, Math.round(check.durationMs)), check.nextStatus,
      ]);
      // a concurrent recorder of the same check id got there first
      if (inserted.rowCount === 0) return { applied: false };
      await tx.query(APPLY_CHECK, [
        check.reportId, check.outcome, check.nextStatus, check.startedAt, check.nextCheckAt,
        check.removedAt !== undefined, check.removedAt ?? null,
        check.goneStreak !== undefined, check.goneStreak?.count ?? 0, check.goneStreak?.since ?? null,
        check.expiresAt !== undefined, check.expiresAt ?? null,
        check.verdict?.verdict ?? null, check.verdict?.source ?? null,
        check.reopened === true,
      ]);
      return { applied: true };
    });
  } catch (err) {
    if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new VigilError('NOT_FOUND', `report ${check.reportId} does not exist`, { cause: err });
    throw err;
  }
}

/** Leases up to `limit` due reports until `now + leaseMs`; returned oldest due first, with the due time they had. */
export async function claimDueChecks(db: SqlClient, now: Date, limit: number, leaseMs: number): Promise<DueCheck[]> {
  if (limit <= 0) return [];
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const { rows } = await db.query<{ id: string; url: string; due_at: Date }>(CLAIM_DUE_CHECKS, [now, Math.floor(limit), leaseUntil]);
  return rows
    .map((r) => ({ reportId: r.id, url: r.url, dueAt: r.due_at }))
    .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.reportId < b.reportId ? -1 : 1));
}
