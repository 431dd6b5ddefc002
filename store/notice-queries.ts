/**
 * The outbox, writing side: what the notice planner reads about a report, writing notices with
 * the state change that causes them (idempotent by event key), and leasing due work — reports
 * whose notice decision is due, and notices due for delivery — with `FOR UPDATE SKIP LOCKED`.
 * Delivery, acknowledgements and endpoint state are in notice-delivery-queries.ts.
 */
import type { NoticeHistoryEntry } from '../core/notice-cadence.js';
import type { NewNotice, NoticeKind, NoticeReason, NoticeTarget } from '../core/notice-kinds.js';
import type { CreatedNotice, DueNotice, NoticeContext, NotificationChange } from '../core/notice-outbox.js';
import type { CheckOutcome, ReportStatus, Verdict } from '../core/report-status.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

const SELECT_CONTEXT = `SELECT r.id, r.status, r.verdict, ${HOSTING_COLUMNS}, r.hold_until, r.last_checked_at, r.next_realert_at,
         r.reopen_count,
         (SELECT c.outcome FROM checks c WHERE c.report_id = r.id ORDER BY c.started_at DESC, c.id DESC LIMIT 1) AS last_outcome
  FROM reports r WHERE r.id = $1`;
const SELECT_HISTORY = `SELECT kind, target, recipient_id, sequence, episode, event_key, created_at
  FROM notices WHERE report_id = $1 ORDER BY created_at, event_key`;
const SELECT_LATEST_TRACE = `SELECT id, provenance FROM traces
  WHERE report_id = $1 AND ip IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1`;
const SELECT_FORCES_WITH_WEBHOOK = `SELECT f.id FROM report_forces rf JOIN forces f ON f.id = rf.force_id
  WHERE rf.report_id = $1 AND f.webhook_url IS NOT NULL ORDER BY f.id`;

// state_version: the lifecycle's compare-and-set sees this write like any other status change.
const UPDATE_STATUS = `UPDATE reports SET status = $2, state_version = state_version + 1
  WHERE id = $1 AND status = ANY($3::text[])`;
// The event key is the idempotency record: a notice planned twice is written once, under the id
// of the first write. next_attempt_at = created_at: due at once (the batch window is the dispatcher's).
const INSERT_NOTICE = `INSERT INTO notices (report_id, submission_id, recipient_id, target, kind, sequence, episode, reason, event_key,
                       created_at, next_attempt_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $10)
  ON CONFLICT (event_key) DO NOTHING
  RETURNING id, event_key, kind, recipient_id`;
const SET_NEXT_REALERT = 'UPDATE reports SET next_realert_at = $2 WHERE id = $1';
const SET_FLAG = 'UPDATE reports SET routing_flag = $2 WHERE id = $1';

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
}

interface HistoryRow {
  kind: NoticeKind;
  target: NoticeTarget;
  recipient_id: string;
  sequence: number;
  episode: number;
  event_key: string;
  created_at: Date;
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

export async function getNoticeContext(db: SqlClient, reportId: string): Promise<NoticeContext | null> {
  if (!isReportId(reportId)) return null;
  const { rows } = await db.query<ContextRow>(SELECT_CONTEXT, [reportId]);
  const r = rows[0];
  if (!r) return null;
  const [history, trace, forces] = await Promise.all([
    db.query<HistoryRow>(SELECT_HISTORY, [reportId]),
    db.query<{ id: string; provenance: unknown }>(SELECT_LATEST_TRACE, [reportId]),
    db.query<{ id: string }>(SELECT_FORCES_WITH_WEBHOOK, [reportId]),
  ]);
  const t = trace.rows[0];
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
    trace: t ? { id: t.id, databases: traceDatabases(t.provenance) } : null,
    forcesWithWebhook: forces.rows.map((f) => f.id),
    history: history.rows.map((h): NoticeHistoryEntry => ({
      kind: h.kind, target: h.target, recipientId: h.recipient_id, sequence: h.sequence, episode: h.episode, eventKey: h.event_key, createdAt: h.created_at,
    })),
  };
}

/**
 * Writes notices on `db` — pass the transaction of the state change that causes them. A notice
 * whose event key exists is skipped.
 * @returns the notices written now
 */
export async function insertNotices(db: SqlClient, notices: readonly NewNotice[], now: Date): Promise<CreatedNotice[]> {
  const created: CreatedNotice[] = [];
  for (const n of notices) {
    const { rows } = await db.query<{ id: string; event_key: string; kind: NoticeKind; recipient_id: string }>(INSERT_NOTICE, [
      n.reportId, n.submissionId, n.recipientId, n.target, n.kind, n.sequence, n.episode, JSON.stringify(n.reason), n.eventKey, now,
    ]);
    const row = rows[0];
    if (row) created.push({ id: row.id, eventKey: row.event_key, kind: row.kind, recipientId: row.recipient_id });
  }
  return created;
}

export async function applyNotification(db: SqlClient, change: NotificationChange): Promise<{ created: CreatedNotice[] }> {
  return db.transaction(async (tx) => {
    if (change.newStatus && isReportId(change.reportId)) {
      await tx.query(UPDATE_STATUS, [change.reportId, change.newStatus.to, [...change.newStatus.from]]);
    }
    const created = await insertNotices(tx, change.notices, change.now);
    if (change.nextRealertAt !== undefined && isReportId(change.reportId)) await tx.query(SET_NEXT_REALERT, [change.reportId, change.nextRealertAt]);
    if (change.flag !== undefined && isReportId(change.reportId)) await tx.query(SET_FLAG, [change.reportId, change.flag]);
    return { created };
  });
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
