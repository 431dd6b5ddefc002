/**
 * The outbox, writing side: what the notice planner reads about a report, writing notices with
 * the state change that causes them (idempotent by event key), and leasing due work — reports
 * whose notice decision is due, and notices due for delivery — with `FOR UPDATE SKIP LOCKED`.
 * Delivery, acknowledgements and endpoint state are in notice-delivery-queries.ts.
 *
 * A decision is two round trips: the context is one query, the notification one statement
 * (data-modifying CTEs, atomic without BEGIN/COMMIT).
 */
import { hostingProviderEmails } from '../core/hosting-contacts.js';
import type { NoticeHistoryEntry } from '../core/notice-cadence.js';
import type { NewNotice, NoticeKind, NoticeReason, NoticeTarget } from '../core/notice-kinds.js';
import type { CreatedNotice, DueNotice, NoticeContext, NotificationChange } from '../core/notice-outbox.js';
import type { CheckOutcome, ReportStatus, Verdict } from '../core/report-status.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

// One round trip: the report row with its latest check outcome, latest located trace, forces
// with a webhook and notice history as subselects (jsonb, so both drivers parse them alike).
const SELECT_CONTEXT = `SELECT r.id, r.status, r.verdict, ${HOSTING_COLUMNS}, r.hold_until, r.last_checked_at, r.next_realert_at,
         r.reopen_count,
         (SELECT c.outcome FROM checks c WHERE c.report_id = r.id ORDER BY c.started_at DESC, c.id DESC LIMIT 1) AS last_outcome,
         (SELECT jsonb_build_object('id', t.id, 'provenance', t.provenance) FROM traces t
           WHERE t.report_id = r.id AND t.ip IS NOT NULL ORDER BY t.created_at DESC, t.id DESC LIMIT 1) AS trace,
         (SELECT COALESCE(jsonb_agg(f.id ORDER BY f.id), '[]'::jsonb) FROM report_forces rf JOIN forces f ON f.id = rf.force_id
           WHERE rf.report_id = r.id AND f.webhook_url IS NOT NULL) AS forces_with_webhook,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', n.kind, 'target', n.target, 'recipient_id', n.recipient_id,
                   'sequence', n.sequence, 'episode', n.episode, 'event_key', n.event_key, 'created_at', n.created_at)
                 ORDER BY n.created_at, n.event_key), '[]'::jsonb)
           FROM notices n WHERE n.report_id = r.id AND n.status <> 'withdrawn') AS history
  FROM reports r WHERE r.id = $1`;

// The event key is the idempotency record: a notice planned twice is written once, under the id
// of the first write. $1, the notices as a JSON array (noticesJson); $2, now. next_attempt_at =
// created_at: due at once (the batch window is the dispatcher's). A notice withdrawn unsent (its
// report stopped being live while it waited; migration 0090) that is planned again — the same
// event, in the same episode — is pending again under its first id (the planner's history leaves
// withdrawn notices out). The revival takes row locks on withdrawn notices only, which no sender
// holds: an ON CONFLICT DO UPDATE would lock every conflicting pending notice too, and a sender
// recording an attempt locks notices before their report — the other order from this statement's.
// CTEs of one statement, for INSERT_NOTICES and APPLY_NOTIFICATION alike; `written` is the result.
const NOTICE_WRITES = `incoming AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS n(report_id uuid, submission_id text, recipient_id text, target text,
         kind text, sequence integer, episode integer, reason jsonb, event_key text)
  ), revived AS (
    UPDATE notices o SET status = 'pending', withdrawn_at = NULL, send_lease_until = NULL, not_before = NULL,
      reason = i.reason, next_attempt_at = $2::timestamptz
    FROM incoming i WHERE o.event_key = i.event_key AND o.status = 'withdrawn'
    RETURNING o.id, o.event_key, o.kind, o.recipient_id
  ), inserted AS (
    INSERT INTO notices (report_id, submission_id, recipient_id, target, kind, sequence, episode, reason, event_key,
                         created_at, next_attempt_at)
    SELECT n.report_id, n.submission_id, n.recipient_id, n.target, n.kind, n.sequence, n.episode, n.reason, n.event_key, $2::timestamptz, $2::timestamptz
    FROM incoming n
    ON CONFLICT (event_key) DO NOTHING
    RETURNING id, event_key, kind, recipient_id
  ), written AS (
    SELECT id, event_key, kind, recipient_id FROM inserted UNION ALL SELECT id, event_key, kind, recipient_id FROM revived
  )`;

/** One statement however many notices. */
const INSERT_NOTICES = `WITH ${NOTICE_WRITES} SELECT id, event_key, kind, recipient_id FROM written`;

// A notification in one statement, atomic without BEGIN/COMMIT: the report's changes in one
// UPDATE (a row is updated once per statement), the notices as above. $3: the report id (null:
// no report row to change), $4/$5: new status / statuses it applies from (state_version: the
// lifecycle's compare-and-set sees this write like any other status change), $6/$7: set
// next_realert_at?/to, $8/$9: set routing_flag?/to.
const APPLY_NOTIFICATION = `WITH report AS (
    UPDATE reports SET
      status = CASE WHEN $4::text IS NOT NULL AND status = ANY($5::text[]) THEN $4::text ELSE status END,
      state_version = CASE WHEN $4::text IS NOT NULL AND status = ANY($5::text[]) THEN state_version + 1 ELSE state_version END,
      next_realert_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE next_realert_at END,
      routing_flag = CASE WHEN $8::boolean THEN $9::text ELSE routing_flag END
    WHERE id = $3::uuid AND (($4::text IS NOT NULL AND status = ANY($5::text[])) OR $6::boolean OR $8::boolean)
    RETURNING id
  ), ${NOTICE_WRITES}
  SELECT id, event_key, kind, recipient_id FROM written`;

// The lease moves the decision time forward; the planner sets the real next time when it is done.
const CLAIM_DUE_DECISIONS = `WITH due AS (
    SELECT id FROM reports WHERE next_realert_at <= $1
    ORDER BY next_realert_at LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE reports r SET next_realert_at = $3 FROM due WHERE r.id = due.id
  RETURNING r.id`;

// Members of another notice's batch travel with it and are never dispatched on their own. A
// first attempt waits out the batch window ($4 = now - window) so that its batch can gather.
const CLAIM_DUE_NOTICES = `WITH due AS (
    SELECT id FROM notices
    WHERE status = 'pending' AND next_attempt_at <= $1
      AND (batch_id IS NULL OR batch_id = id)
      AND (attempts > 0 OR created_at <= $4)
    ORDER BY next_attempt_at LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE notices n SET next_attempt_at = $3, dispatches = n.dispatches + 1
  FROM due WHERE n.id = due.id
  RETURNING n.id, n.dispatches, n.created_at`;

interface ContextRow extends HostingRow {
  id: string;
  status: ReportStatus;
  verdict: Verdict | null;
  hold_until: Date | null;
  last_checked_at: Date | null;
  next_realert_at: Date | null;
  reopen_count: number | null;
  last_outcome: CheckOutcome | null;
  trace: { id: string; provenance: unknown } | null;
  forces_with_webhook: string[];
  history: HistoryRow[];
}

/** A notice of the history as jsonb carries it: `created_at` is an ISO 8601 string. */
interface HistoryRow {
  kind: NoticeKind;
  target: NoticeTarget;
  recipient_id: string;
  sequence: number;
  episode: number;
  event_key: string;
  created_at: string;
}

interface CreatedRow {
  id: string;
  event_key: string;
  kind: NoticeKind;
  recipient_id: string;
}

/** The database versions a trace recorded in its provenance, in the shape notices keep. */
export function traceDatabases(provenance: unknown): NoticeReason['databases'] {
  const list = (provenance as { databases?: unknown } | null)?.databases;
  if (!Array.isArray(list)) return [];
  return list.filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object').map((d) => ({
    role: String(d['role'] ?? ''),
    type: String(d['databaseType'] ?? d['type'] ?? ''),
    build: String(d['buildEpoch'] ?? d['build'] ?? ''),
  }));
}

/** One query (see SELECT_CONTEXT). */
export async function getNoticeContext(db: SqlClient, reportId: string): Promise<NoticeContext | null> {
  if (!isReportId(reportId)) return null;
  const { rows } = await db.query<ContextRow>(SELECT_CONTEXT, [reportId]);
  const r = rows[0];
  if (!r) return null;
  return {
    reportId: r.id,
    status: r.status,
    verdict: r.verdict,
    hosting: toHosting(r),
    holdUntil: r.hold_until,
    lastCheckedAt: r.last_checked_at,
    lastOutcome: r.last_outcome,
    nextRealertAt: r.next_realert_at,
    episode: (r.reopen_count ?? 0) + 1,
    trace: r.trace
      ? { id: r.trace.id, databases: traceDatabases(r.trace.provenance), abuseEmails: hostingProviderEmails((r.trace.provenance as { contacts?: unknown } | null)?.contacts) }
      : null,
    forcesWithWebhook: r.forces_with_webhook,
    history: r.history.map((h): NoticeHistoryEntry => ({
      kind: h.kind, target: h.target, recipientId: h.recipient_id, sequence: h.sequence, episode: h.episode, eventKey: h.event_key,
      createdAt: new Date(h.created_at),
    })),
  };
}

/** The notices as NOTICE_WRITES reads them: the first of each event key, in the caller's order. */
function noticeRows(notices: readonly NewNotice[]): NewNotice[] {
  const seen = new Set<string>();
  return notices.filter((n) => {
    if (seen.has(n.eventKey)) return false;
    seen.add(n.eventKey);
    return true;
  });
}

function noticesJson(notices: readonly NewNotice[]): string {
  return JSON.stringify(notices.map((n) => ({
    report_id: n.reportId, submission_id: n.submissionId, recipient_id: n.recipientId, target: n.target, kind: n.kind,
    sequence: n.sequence, episode: n.episode, reason: n.reason, event_key: n.eventKey,
  })));
}

/** The created rows in the order of `notices` (RETURNING promises no order). */
function inOrder(notices: readonly NewNotice[], rows: readonly CreatedRow[]): CreatedNotice[] {
  const byKey = new Map(rows.map((r) => [r.event_key, r]));
  return notices.flatMap((n) => {
    const row = byKey.get(n.eventKey);
    return row ? [{ id: row.id, eventKey: row.event_key, kind: row.kind, recipientId: row.recipient_id }] : [];
  });
}

/**
 * Writes notices on `db` in one statement — pass the transaction of the state change that
 * causes them. A notice whose event key exists (or repeats an earlier one of `notices`) is skipped.
 * @returns the notices written now, in the order given
 */
export async function insertNotices(db: SqlClient, notices: readonly NewNotice[], now: Date): Promise<CreatedNotice[]> {
  const unique = noticeRows(notices);
  if (unique.length === 0) return [];
  const { rows } = await db.query<CreatedRow>(INSERT_NOTICES, [noticesJson(unique), now]);
  return inOrder(unique, rows);
}

/**
 * The status change, the notices, the next decision time and the flag in one statement
 * (APPLY_NOTIFICATION): all of it or, when any part fails, none. No round trip when there is
 * nothing to write.
 * @returns the notices this call created, in the order given
 */
export async function applyNotification(db: SqlClient, change: NotificationChange): Promise<{ created: CreatedNotice[] }> {
  const reportId = isReportId(change.reportId) ? change.reportId : null;
  const unique = noticeRows(change.notices);
  const setStatus = reportId !== null && change.newStatus !== undefined;
  const setRealert = reportId !== null && change.nextRealertAt !== undefined;
  const setFlag = reportId !== null && change.flag !== undefined;
  if (unique.length === 0 && !setStatus && !setRealert && !setFlag) return { created: [] };
  const { rows } = await db.query<CreatedRow>(APPLY_NOTIFICATION, [
    noticesJson(unique), change.now, reportId,
    setStatus ? change.newStatus?.to : null, setStatus ? [...(change.newStatus?.from ?? [])] : [],
    setRealert, change.nextRealertAt ?? null, setFlag, change.flag ?? null,
  ]);
  return { created: inOrder(unique, rows) };
}

export async function claimDueNoticeDecisions(db: SqlClient, now: Date, limit: number, leaseMs: number): Promise<string[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<{ id: string }>(CLAIM_DUE_DECISIONS, [now, Math.floor(limit), new Date(now.getTime() + leaseMs)]);
  return rows.map((r) => r.id);
}

/** Leased oldest first; `dispatches` counts this lease. */
export async function claimDueNotices(db: SqlClient, now: Date, limit: number, leaseMs: number, batchWindowMs: number): Promise<DueNotice[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<{ id: string; dispatches: number; created_at: Date }>(CLAIM_DUE_NOTICES, [
    now, Math.floor(limit), new Date(now.getTime() + leaseMs), new Date(now.getTime() - Math.max(0, batchWindowMs)),
  ]);
  return rows
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : 1))
    .map((r) => ({ noticeId: r.id, dispatches: r.dispatches }));
}
