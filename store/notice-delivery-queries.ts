/**
 * The outbox, delivering side: a sender's claim on one attempt (with batching), recording what
 * the attempt came to with per-endpoint statistics, acknowledgements, and the shared secrets.
 * Each operation is one transaction.
 */
import type { NoticeReportView, NoticeSubmissionView } from '../core/channel.js';
import type { NoticeKind, NoticeReason, NoticeTarget } from '../core/notice-kinds.js';
import type {
  EndpointStats, NoticeAck, NoticeAckResult, NoticeDeliveryRecord, NoticeSendSkip, NoticeToSend,
} from '../core/notice-outbox.js';
import type { ReportStatus } from '../core/report-status.js';
import { appendAudit } from './audit-queries.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import type { SqlClient } from './sql-client.js';

/** Most notices one batched message carries. */
export const MAX_BATCH = 100;

const NOTICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const LOCK_NOTICE = `SELECT id, kind, target, recipient_id, report_id, submission_id, sequence, episode, created_at, attempts,
         reason, status, batch_id, send_lease_until, not_before
  FROM notices WHERE id = $1 FOR UPDATE`;
// Fresh notices only (attempts = 0): one that has been tried has a message, and an id, of its own.
const GATHER_BATCH = `SELECT id FROM notices
  WHERE status = 'pending' AND target = $1 AND recipient_id = $2 AND kind = $3 AND sequence = $4
    AND batch_id IS NULL AND attempts = 0 AND id <> $5 AND created_at <= $6
    AND (send_lease_until IS NULL OR send_lease_until <= $7)
    AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = notices.report_id AND r.hold_until > $7)
  ORDER BY created_at, id LIMIT ${MAX_BATCH - 1}
  FOR UPDATE SKIP LOCKED`;
const SET_BATCH = 'UPDATE notices SET batch_id = $1 WHERE id = ANY($2::text[])';
// An evidence hold placed after the notice was written still holds it (CONTRACT.md §4).
const SELECT_HOLD = 'SELECT hold_until FROM reports WHERE id = $1 AND hold_until > $2';
const DEFER = 'UPDATE notices SET not_before = $2, next_attempt_at = $2 WHERE id = $1 OR batch_id = $1';
const SELECT_MEMBERS = `SELECT id, report_id, kind, target, recipient_id FROM notices
  WHERE id = $1 OR batch_id = $1 ORDER BY (id = $1) DESC, created_at, id`;
// The sender's lease also keeps the dispatcher away until it runs out.
const LEASE = `UPDATE notices SET send_lease_until = $2, next_attempt_at = GREATEST(next_attempt_at, $2)
  WHERE id = ANY($1::text[])`;
const SELECT_REPORTS = `SELECT r.id, r.url, r.status, ${HOSTING_COLUMNS}, r.first_seen_live_at, r.last_seen_live_at, r.removed_at
  FROM reports r WHERE r.id = ANY($1::uuid[])`;
const SELECT_SUBMISSION = 'SELECT id, reference, created_at, completed_at FROM submissions WHERE id = $1';
const SELECT_SUBMISSION_COUNTS = `SELECT r.status, count(*) AS n FROM submission_items si JOIN reports r ON r.id = si.report_id
  WHERE si.submission_id = $1 GROUP BY r.status`;
const SELECT_FORCE = 'SELECT id, name, webhook_url, webhook_secret FROM forces WHERE id = $1';
const SELECT_DISABLED = 'SELECT disabled_url FROM endpoint_state WHERE target = $1 AND id = $2';

const MARK_SENT = `UPDATE notices SET status = 'sent', sent_at = $2, attempts = attempts + 1, channel = $3, last_status = $4,
    last_error = NULL, send_lease_until = NULL, next_attempt_at = NULL, not_before = NULL
  WHERE id = ANY($1::text[]) AND status = 'pending'`;
const MARK_RETRY = `UPDATE notices SET attempts = attempts + 1, channel = $3, last_status = $4, last_error = $5,
    send_lease_until = NULL, not_before = $2, next_attempt_at = $2
  WHERE id = ANY($1::text[]) AND status = 'pending'`;
const MARK_FAILED = `UPDATE notices SET status = 'failed', attempts = attempts + 1, channel = $2, last_status = $3, last_error = $4,
    send_lease_until = NULL, next_attempt_at = NULL
  WHERE id = ANY($1::text[]) AND status = 'pending'`;
// CONTRACT.md §4/§5: `notified` means someone was told — set when an initial notice went out.
const MARK_NOTIFIED = `UPDATE reports SET status = 'notified', state_version = state_version + 1
  WHERE id = ANY($1::uuid[]) AND status = 'live' AND verdict = 'illegal'`;
const UPSERT_ENDPOINT = `INSERT INTO endpoint_state AS e (target, id, delivered, failed_attempts, given_up, last_success_at, last_failure_at,
                                          last_error, last_status, disabled_at, disabled_url, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (target, id) DO UPDATE SET
    delivered = e.delivered + EXCLUDED.delivered,
    failed_attempts = e.failed_attempts + EXCLUDED.failed_attempts,
    given_up = e.given_up + EXCLUDED.given_up,
    last_success_at = COALESCE(EXCLUDED.last_success_at, e.last_success_at),
    last_failure_at = COALESCE(EXCLUDED.last_failure_at, e.last_failure_at),
    last_error = CASE WHEN EXCLUDED.last_failure_at IS NULL THEN e.last_error ELSE EXCLUDED.last_error END,
    last_status = COALESCE(EXCLUDED.last_status, e.last_status),
    disabled_at = CASE WHEN EXCLUDED.disabled_at IS NULL THEN e.disabled_at ELSE EXCLUDED.disabled_at END,
    disabled_url = CASE WHEN EXCLUDED.disabled_at IS NULL THEN e.disabled_url ELSE EXCLUDED.disabled_url END,
    updated_at = EXCLUDED.updated_at`;
const SELECT_ENDPOINTS = `SELECT target, id, delivered, failed_attempts, given_up, last_success_at, last_failure_at, last_error, last_status,
         disabled_at, disabled_url FROM endpoint_state ORDER BY target, id`;
const ENABLE_ENDPOINT = `UPDATE endpoint_state SET disabled_at = NULL, disabled_url = NULL, updated_at = $3
  WHERE target = $1 AND id = $2 AND disabled_at IS NOT NULL`;

const LOCK_FOR_ACK = 'SELECT id, target, recipient_id, batch_id FROM notices WHERE id = $1 FOR UPDATE';
// acked_at keeps the first acknowledgement; `actioned` is never downgraded to `received`.
const ACK = `UPDATE notices SET acked_at = COALESCE(acked_at, $2),
    ack_status = CASE WHEN ack_status = 'actioned' THEN 'actioned' ELSE $3 END
  WHERE id = $1 OR batch_id = $1
  RETURNING id, report_id, acked_at, ack_status`;

const INSERT_SECRET = 'INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING';
const SELECT_SECRET = 'SELECT secret FROM server_secrets WHERE name = $1';

interface NoticeRow {
  id: string;
  kind: NoticeKind;
  target: NoticeTarget;
  recipient_id: string;
  report_id: string | null;
  submission_id: string | null;
  sequence: number;
  episode: number;
  created_at: Date;
  attempts: number;
  reason: NoticeReason;
  status: string;
  batch_id: string | null;
  send_lease_until: Date | null;
  not_before: Date | null;
}

interface ReportRow extends HostingRow {
  id: string;
  url: string;
  status: ReportStatus;
  first_seen_live_at: Date | null;
  last_seen_live_at: Date | null;
  removed_at: Date | null;
}

const after = (a: Date | null, now: Date): boolean => a !== null && a.getTime() > now.getTime();

export async function beginNoticeSend(db: SqlClient, noticeId: string, now: Date, leaseMs: number, batchWindowMs: number): Promise<NoticeToSend | NoticeSendSkip> {
  if (!NOTICE_ID.test(noticeId)) return 'missing';
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<NoticeRow>(LOCK_NOTICE, [noticeId]);
    const n = rows[0];
    if (!n) return 'missing';
    if (n.status !== 'pending') return 'not_pending';
    if (n.batch_id !== null && n.batch_id !== n.id) return 'in_batch';
    if (after(n.send_lease_until, now)) return 'leased';
    if (after(n.not_before, now)) return 'not_yet';
    if (n.report_id !== null) {
      const hold = (await tx.query<{ hold_until: Date }>(SELECT_HOLD, [n.report_id, now])).rows[0];
      if (hold) {
        await tx.query(DEFER, [n.id, hold.hold_until]);
        return 'held';
      }
    }

    // The first attempt fixes the batch (with or without members): a resend carries the same reports.
    if (n.batch_id === null && batchWindowMs > 0 && n.kind !== 'submission_completed') {
      const gathered = await tx.query<{ id: string }>(GATHER_BATCH, [
        n.target, n.recipient_id, n.kind, n.sequence, n.id, new Date(n.created_at.getTime() + batchWindowMs), now,
      ]);
      await tx.query(SET_BATCH, [n.id, [n.id, ...gathered.rows.map((r) => r.id)]]);
    }
    const members = (await tx.query<{ id: string; report_id: string | null }>(SELECT_MEMBERS, [n.id])).rows;
    const memberIds = members.map((m) => m.id);
    await tx.query(LEASE, [memberIds, new Date(now.getTime() + leaseMs)]);

    const reportIds = [...new Set(members.map((m) => m.report_id).filter((id): id is string => id !== null))];
    const reportRows = reportIds.length === 0 ? [] : (await tx.query<ReportRow>(SELECT_REPORTS, [reportIds])).rows;
    const byId = new Map(reportRows.map((r) => [r.id, r]));
    const reports: NoticeReportView[] = reportIds.flatMap((id) => {
      const r = byId.get(id);
      return r ? [{ id: r.id, url: r.url, status: r.status, hosting: toHosting(r), firstSeenLiveAt: r.first_seen_live_at, lastSeenLiveAt: r.last_seen_live_at, removedAt: r.removed_at }] : [];
    });

    let submission: NoticeSubmissionView | null = null;
    if (n.submission_id !== null) {
      const s = (await tx.query<{ id: string; reference: string | null; created_at: Date; completed_at: Date | null }>(SELECT_SUBMISSION, [n.submission_id])).rows[0];
      if (s) {
        const counts = (await tx.query<{ status: ReportStatus; n: number }>(SELECT_SUBMISSION_COUNTS, [s.id])).rows;
        submission = { id: s.id, reference: s.reference, createdAt: s.created_at, completedAt: s.completed_at, counts: Object.fromEntries(counts.map((c) => [c.status, c.n])) };
      }
    }
    let force: NoticeToSend['force'] = null;
    if (n.target === 'force') {
      const f = (await tx.query<{ id: string; name: string; webhook_url: string | null; webhook_secret: string | null }>(SELECT_FORCE, [n.recipient_id])).rows[0];
      if (f) force = { id: f.id, name: f.name, webhookUrl: f.webhook_url, webhookSecret: f.webhook_secret };
    }
    const disabled = (await tx.query<{ disabled_url: string | null }>(SELECT_DISABLED, [n.target, n.recipient_id])).rows[0];

    return {
      id: n.id, kind: n.kind, target: n.target, recipientId: n.recipient_id, sequence: n.sequence, episode: n.episode,
      createdAt: n.created_at, attempts: n.attempts, reason: n.reason, memberIds, reports, submission, force,
      disabledUrl: disabled?.disabled_url ?? null,
    };
  });
}

export async function recordNoticeDelivery(db: SqlClient, record: NoticeDeliveryRecord): Promise<void> {
  if (!NOTICE_ID.test(record.noticeId)) return;
  await db.transaction(async (tx) => {
    const members = (await tx.query<{ id: string; report_id: string | null; kind: NoticeKind; target: NoticeTarget; recipient_id: string }>(
      SELECT_MEMBERS, [record.noticeId])).rows;
    const leader = members[0];
    if (!leader) return;
    const ids = members.map((m) => m.id);
    const status = record.httpStatus ?? null;
    const error = record.error ?? null;
    let stats: [delivered: number, failedAttempts: number, givenUp: number];
    switch (record.outcome) {
      case 'sent': {
        const { rowCount } = await tx.query(MARK_SENT, [ids, record.now, record.channel, status]);
        if (rowCount === 0) return; // recorded already (a duplicate job): count it once
        const initialReports = members.filter((m) => m.kind === 'initial' && m.report_id !== null).map((m) => m.report_id);
        if (initialReports.length > 0) await tx.query(MARK_NOTIFIED, [initialReports]);
        stats = [1, 0, 0];
        break;
      }
      case 'retry':
        await tx.query(MARK_RETRY, [ids, record.notBefore ?? record.now, record.channel, status, error]);
        stats = [0, 1, 0];
        break;
      case 'failed':
      case 'disabled':
        await tx.query(MARK_FAILED, [ids, record.channel, status, error]);
        stats = [0, 1, 1];
        break;
    }
    const ok = record.outcome === 'sent';
    const disabledAt = record.outcome === 'disabled' && record.endpointUrl ? record.now : null;
    await tx.query(UPSERT_ENDPOINT, [
      leader.target, leader.recipient_id, ...stats, ok ? record.now : null, ok ? null : record.now, ok ? null : error, status,
      disabledAt, disabledAt ? record.endpointUrl : null, record.now,
    ]);
  });
}

export async function ackNotice(db: SqlClient, ack: NoticeAck): Promise<NoticeAckResult | null> {
  if (!NOTICE_ID.test(ack.noticeId)) return null;
  return db.transaction(async (tx) => {
    const n = (await tx.query<{ id: string; target: NoticeTarget; recipient_id: string; batch_id: string | null }>(LOCK_FOR_ACK, [ack.noticeId])).rows[0];
    // Force events have nothing to acknowledge; a recipient sees only its own notices.
    if (!n || n.target !== 'recipient') return null;
    if (ack.recipientId !== null && n.recipient_id !== ack.recipientId) return null;
    const head = n.batch_id ?? n.id;
    const { rows } = await tx.query<{ id: string; report_id: string | null; acked_at: Date; ack_status: 'received' | 'actioned' }>(ACK, [head, ack.now, ack.status]);
    const self = rows.find((r) => r.id === n.id) ?? rows[0];
    if (!self) return null;
    const result: NoticeAckResult = {
      id: n.id, ackStatus: self.ack_status, ackedAt: self.acked_at,
      noticeIds: rows.map((r) => r.id).sort(),
      reportIds: [...new Set(rows.map((r) => r.report_id).filter((id): id is string => id !== null))].sort(),
    };
    await appendAudit(tx, {
      actor: ack.actor, action: 'notice.ack', subjectType: 'notice', subjectId: n.id, at: ack.now,
      detail: { status: ack.status, recipient: n.recipient_id, notices: result.noticeIds, reports: result.reportIds },
    });
    return result;
  });
}

interface EndpointRow {
  target: NoticeTarget;
  id: string;
  delivered: number;
  failed_attempts: number;
  given_up: number;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  last_error: string | null;
  last_status: number | null;
  disabled_at: Date | null;
  disabled_url: string | null;
}

export async function listEndpointStats(db: SqlClient): Promise<EndpointStats[]> {
  const { rows } = await db.query<EndpointRow>(SELECT_ENDPOINTS);
  return rows.map((r) => ({
    target: r.target, id: r.id, delivered: r.delivered, failedAttempts: r.failed_attempts, givenUp: r.given_up,
    lastSuccessAt: r.last_success_at, lastFailureAt: r.last_failure_at, lastError: r.last_error, lastStatus: r.last_status,
    disabledAt: r.disabled_at, disabledUrl: r.disabled_url,
  }));
}

export async function enableEndpoint(db: SqlClient, target: NoticeTarget, id: string, now: Date): Promise<boolean> {
  const { rowCount } = await db.query(ENABLE_ENDPOINT, [target, id, now]);
  return rowCount > 0;
}

export async function getOrCreateSecret(db: SqlClient, name: string, candidate: string): Promise<string> {
  await db.query(INSERT_SECRET, [name, candidate]);
  const { rows } = await db.query<{ secret: string }>(SELECT_SECRET, [name]);
  const secret = rows[0]?.secret;
  if (secret === undefined) throw new Error(`server secret ${name} could not be stored`);
  return secret;
}
