/**
 * Reports: the analysts' and owning forces' view, what a check job needs (one read), recording a
 * check's result (one write), and leasing due checks to the dispatcher.
 */
import { VigilError } from '../core/errors.js';
import type { CheckOutcome, ReportStatus, Verdict, VerdictSource } from '../core/report-status.js';
import type { CheckView, DueCheck, LastTrace, NewCheck, NoticeView, ReportForCheck, ReportView, Scope } from '../core/store.js';
import { BASELINE_COLUMNS, baselineParams, toBaseline, type BaselineRow } from './baseline-columns.js';
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
// One statement, so the status and the checks and notices shown with it are one snapshot (three
// reads could show a check whose effect on the status they do not). Timestamps inside the JSON
// come back as ISO strings.
const SELECT_REPORT = `SELECT r.id, r.url, r.status, r.verdict, r.verdict_source, r.created_at, r.first_seen_live_at,
         r.last_seen_live_at, r.removed_at, r.last_checked_at, ${HOSTING_COLUMNS},
         (SELECT COALESCE(jsonb_agg(c ORDER BY c.started_at DESC, c.id), '[]'::jsonb) FROM (
            SELECT id, outcome, reason, http_status, vantage, started_at, duration_ms
            FROM checks WHERE report_id = r.id ORDER BY started_at DESC, id LIMIT ${REPORT_CHECKS_LIMIT}) c) AS checks,
         (SELECT COALESCE(jsonb_agg(n ORDER BY n.created_at, n.sequence, n.id), '[]'::jsonb) FROM (
            SELECT id, kind, recipient_id, sequence, status, created_at, sent_at
            FROM notices WHERE report_id = r.id) n) AS notices
  FROM reports r
  WHERE r.id = $1
    AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM report_forces rf WHERE rf.report_id = r.id AND rf.force_id = $2))`;

// Internal (check and trace jobs, the verdict route): no tenant. The content baseline and the
// latest trace (ordered as trace-queries.ts `getLastTrace`) come with the report, so a check job
// reads once.
const SELECT_REPORT_FOR_CHECK = `SELECT r.id, r.url, r.status, r.verdict, r.verdict_source, r.sha256, r.sha1, r.md5, r.created_at,
         r.expires_at, r.removed_at, r.hold_until, r.gone_streak, r.gone_since, r.next_check_at, r.state_version, ${BASELINE_COLUMNS},
         t.ip AS trace_ip, t.country AS trace_country, t.asn AS trace_asn, t.org AS trace_org, t.via_cdn AS trace_via_cdn,
         t.created_at AS traced_at
  FROM reports r
  LEFT JOIN LATERAL (SELECT ip, country, asn, org, via_cdn, created_at FROM traces
                     WHERE report_id = r.id ORDER BY created_at DESC, id DESC LIMIT 1) t ON true
  WHERE r.id = $1`;

// Recording a check is one statement — one round trip, atomic: no check row without its report
// update — guarded twice: by the check id (the job's stable id: a check recorded once is never
// applied again) and, when the caller says which state it computed the transition from, by the
// report's state_version (two different checks of one report never overwrite each other's
// streak). How each part behaves next to a concurrent writer (READ COMMITTED):
// - locked: the report's row lock, unless the check id is already recorded. A writer holding the
//   row is waited for, and the row returned is then its committed version, not this statement's
//   snapshot: the version compared is the current one.
// - inserted: the check row, only at the expected version. ON CONFLICT: a recorder of the same id
//   that committed while this one waited (its row is invisible to the snapshot, not to the index).
// - applied: the report, only for an inserted check. A row changed since the snapshot is
//   re-evaluated (WHERE and SET) on its latest version — the locked one — so the update builds
//   on what the other writer committed; the version check in the WHERE holds under the lock.
//   The baseline ($22–$25; $25 null = none given) is written only here, and only if the report
//   has none (the first live sighting wins).
// The result row says which guard stopped it. $12/$14/$17 say whether the optional part was
// given; omitted parts keep the stored value (removed_at then follows the status, as before the
// lifecycle counters existed).
const RECORD_CHECK = `WITH locked AS (
    SELECT r.id, r.state_version FROM reports r
    WHERE r.id = $2::uuid AND NOT EXISTS (SELECT 1 FROM checks c WHERE c.id = $1::text)
    FOR UPDATE
  ), inserted AS (
    INSERT INTO checks (id, report_id, outcome, reason, http_status, vantage, started_at, duration_ms, status_after)
    SELECT $1::text, l.id, $3::text, $4::text, $5::integer, $6::text, $7::timestamptz, $8::integer, $9::text
    FROM locked l
    WHERE $11::bigint IS NULL OR l.state_version = $11::bigint
    ON CONFLICT (id) DO NOTHING
    RETURNING report_id
  ), applied AS (
    UPDATE reports r SET
      status = $9::text,
      last_checked_at = $7::timestamptz,
      next_check_at = $10::timestamptz,
      dispatch_at = $10::timestamptz,
      first_seen_live_at = CASE WHEN $3::text = 'live' THEN COALESCE(r.first_seen_live_at, $7::timestamptz) ELSE r.first_seen_live_at END,
      last_seen_live_at = CASE WHEN $3::text = 'live' THEN GREATEST(r.last_seen_live_at, $7::timestamptz) ELSE r.last_seen_live_at END,
      removed_at = CASE WHEN $12::boolean THEN $13::timestamptz
                        WHEN $9::text = 'removed' THEN COALESCE(r.removed_at, $7::timestamptz)
                        WHEN $9::text IN ('live', 'notified') THEN NULL
                        ELSE r.removed_at END,
      gone_streak = CASE WHEN $14::boolean THEN $15::integer ELSE r.gone_streak END,
      gone_since = CASE WHEN $14::boolean THEN $16::timestamptz ELSE r.gone_since END,
      expires_at = CASE WHEN $17::boolean THEN $18::timestamptz ELSE r.expires_at END,
      verdict = COALESCE($19::text, r.verdict),
      verdict_source = CASE WHEN $19::text IS NULL THEN r.verdict_source ELSE $20::text END,
      reopen_count = r.reopen_count + CASE WHEN $21::boolean THEN 1 ELSE 0 END,
      -- removal confirmed, removed content back, or content seen live with an illegal verdict,
      -- nobody told yet (status live) and routing known (traced: before its first trace the trace
      -- itself makes the decision due) — an analyst's verdict or a hash-list match after the first
      -- trace, which no later trace announces: the notifier decides now (its outbox, same
      -- statement). Deciding twice writes nothing twice: notices are keyed by event.
      next_realert_at = CASE WHEN ($9::text = 'removed' AND r.status <> 'removed') OR $21::boolean
                               OR ($9::text = 'live' AND COALESCE($19::text, r.verdict) = 'illegal'
                                   AND EXISTS (SELECT 1 FROM traces t WHERE t.report_id = r.id))
                             THEN LEAST(COALESCE(r.next_realert_at, $7::timestamptz), $7::timestamptz) ELSE r.next_realert_at END,
      baseline_media = CASE WHEN $25::timestamptz IS NOT NULL AND r.baseline_at IS NULL THEN $22::jsonb ELSE r.baseline_media END,
      known_media_refs = CASE WHEN $25::timestamptz IS NOT NULL AND r.baseline_at IS NULL THEN $23::jsonb ELSE r.known_media_refs END,
      baseline_digests = CASE WHEN $25::timestamptz IS NOT NULL AND r.baseline_at IS NULL THEN $24::jsonb ELSE r.baseline_digests END,
      baseline_at = COALESCE(r.baseline_at, $25::timestamptz),
      state_version = r.state_version + 1
    FROM inserted i
    WHERE r.id = i.report_id AND ($11::bigint IS NULL OR r.state_version = $11::bigint)
    RETURNING r.id
  )
  SELECT EXISTS (SELECT 1 FROM checks c WHERE c.id = $1::text) AS recorded,
         (SELECT l.state_version FROM locked l) AS state_version,
         (SELECT count(*) FROM applied) AS applied`;

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

/** A row as it comes back inside JSON: timestamps as ISO strings. */
type Jsonified<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

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
  const { rows } = await db.query<ReportRow & { checks: Jsonified<CheckRow>[]; notices: Jsonified<NoticeRow>[] }>(SELECT_REPORT, [id, scope.forceId]);
  const r = rows[0];
  if (!r) return null;
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
    checks: r.checks.map((c) => toCheck({ ...c, started_at: new Date(c.started_at) })),
    notices: r.notices.map((n) => toNotice({ ...n, created_at: new Date(n.created_at), sent_at: n.sent_at === null ? null : new Date(n.sent_at) })),
  };
}

interface ReportForCheckRow extends BaselineRow {
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
  trace_ip: string | null;
  trace_country: string | null;
  trace_asn: number | string | null;
  trace_org: string | null;
  trace_via_cdn: boolean | null;
  /** null: never traced */
  traced_at: Date | null;
}

const toLastTrace = (r: ReportForCheckRow): LastTrace | null => (r.traced_at === null ? null : {
  hosting: { ip: r.trace_ip, country: r.trace_country, asn: r.trace_asn === null ? null : Number(r.trace_asn), org: r.trace_org, viaCdn: r.trace_via_cdn ?? false },
  tracedAt: r.traced_at,
});

/** The report as a check job needs it, with its content baseline and latest trace; null when no such report. */
export async function getReportForCheck(db: SqlClient, id: string): Promise<ReportForCheck | null> {
  if (!isReportId(id)) return null;
  const { rows } = await db.query<ReportForCheckRow>(SELECT_REPORT_FOR_CHECK, [id]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id, url: r.url, status: r.status, verdict: r.verdict, sha256: r.sha256, sha1: r.sha1, md5: r.md5,
    verdictSource: r.verdict_source, createdAt: r.created_at, expiresAt: r.expires_at, removedAt: r.removed_at,
    holdUntil: r.hold_until, goneStreak: { count: r.gone_streak, since: r.gone_since }, nextCheckAt: r.next_check_at,
    stateVersion: Number(r.state_version), baseline: toBaseline(r), lastTrace: toLastTrace(r),
  };
}

interface RecordCheckRow {
  /** the check id was recorded before this statement */
  recorded: boolean;
  /** the report's current version, as locked; null: not locked (no such report, or recorded) */
  state_version: number | string | null;
  /** reports updated: 1 when this statement applied the check */
  applied: number | string;
}

/**
 * Records a check and applies its result to the report, once per `check.id`, in one statement.
 * With `expectVersion`, only if the report is still in the state the transition was computed
 * from (else `conflict: true` and nothing is written: load the report and compute again).
 * Without `removedAt`, `removed_at` is set when the status becomes `removed` and cleared when the
 * report reopens. With `baseline`, it is recorded too when the check applies and the report has
 * none yet.
 * @throws VigilError NOT_FOUND when the report does not exist
 */
export async function recordCheck(db: SqlClient, check: NewCheck): Promise<{ applied: boolean; conflict?: boolean }> {
  const notFound = (cause?: unknown) => new VigilError('NOT_FOUND', `report ${check.reportId} does not exist`, cause === undefined ? undefined : { cause });
  if (!isReportId(check.reportId)) throw notFound();
  let row: RecordCheckRow | undefined;
  try {
    ({ rows: [row] } = await db.query<RecordCheckRow>(RECORD_CHECK, [
      check.id, check.reportId, check.outcome, check.reason, check.httpStatus, check.vantage,
      check.startedAt, Math.max(0, Math.round(check.durationMs)), check.nextStatus, check.nextCheckAt,
      check.expectVersion ?? null,
      check.removedAt !== undefined, check.removedAt ?? null,
      check.goneStreak !== undefined, check.goneStreak?.count ?? 0, check.goneStreak?.since ?? null,
      check.expiresAt !== undefined, check.expiresAt ?? null,
      check.verdict?.verdict ?? null, check.verdict?.source ?? null,
      check.reopened === true,
      ...baselineParams(check.baseline),
    ]));
  } catch (err) {
    if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw notFound(err);
    throw err;
  }
  if (!row || row.recorded) return { applied: false };
  if (row.state_version === null) throw notFound();
  if (Number(row.applied) > 0) return { applied: true };
  if (check.expectVersion !== undefined && Number(row.state_version) !== check.expectVersion) return { applied: false, conflict: true };
  // a concurrent recorder of the same check id committed first
  return { applied: false };
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
