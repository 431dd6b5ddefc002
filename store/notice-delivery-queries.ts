/**
 * The outbox, delivering side: a sender's claim on one attempt (with batching), recording what
 * the attempt came to with per-endpoint statistics, acknowledgements, and the shared secrets.
 * Each operation is one transaction. The claim and the record run on every notice sent, so each
 * is one database function (store/migrations/0071_notice_send_functions.sql) called in one
 * statement: one round trip instead of a BEGIN, up to eleven statements and a COMMIT.
 */
import type { NoticeReportView, NoticeSubmissionView } from '../core/channel.js';
import type { NoticeKind, NoticeReason, NoticeTarget } from '../core/notice-kinds.js';
import type {
  EndpointStats, NoticeAck, NoticeAckResult, NoticeDeliveryRecord, NoticeSendSkip, NoticeToSend,
} from '../core/notice-outbox.js';
import type { ReportStatus } from '../core/report-status.js';
import { appendAudit } from './audit-queries.js';
import { toHosting, type HostingRow } from './hosting-columns.js';
import type { SqlClient } from './sql-client.js';

/** Most notices one batched message carries. */
export const MAX_BATCH = 100;

const NOTICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

// store/migrations/0071_notice_send_functions.sql: the claim and the record are each one
// transaction of several statements, run in the database so each costs one round trip.
const BEGIN_SEND = 'SELECT notice_begin_send($1, $2, $3, $4, $5) AS claim';
const RECORD_DELIVERY = 'SELECT notice_record_delivery($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)';
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

/** A timestamp inside jsonb: ISO 8601 text with an offset (jsonb has no date type). */
type JsonDate = string;

interface ReportJson extends HostingRow {
  id: string;
  url: string;
  status: ReportStatus;
  first_seen_live_at: JsonDate | null;
  last_seen_live_at: JsonDate | null;
  removed_at: JsonDate | null;
}

/** What `notice_begin_send` returns. */
type ClaimJson = { skip: NoticeSendSkip } | {
  id: string;
  kind: NoticeKind;
  target: NoticeTarget;
  recipient_id: string;
  sequence: number;
  episode: number;
  created_at: JsonDate;
  attempts: number;
  reason: NoticeReason;
  /** the notice first, then its batch's members by creation */
  member_ids: string[];
  /** each report of the members once, in member order */
  reports: ReportJson[];
  submission: { id: string; reference: string | null; created_at: JsonDate; completed_at: JsonDate | null; counts: Partial<Record<ReportStatus, number>> } | null;
  force: { id: string; name: string; webhook_url: string | null; webhook_secret: string | null } | null;
  disabled_url: string | null;
};

const toDate = (s: JsonDate | null): Date | null => (s === null ? null : new Date(s));

/**
 * One transaction, one round trip (`notice_begin_send`): lock the notice; skip it unless pending,
 * not in another's batch, not leased, past its back-off; defer it to the end of an evidence hold;
 * on the first attempt gather its batch (SKIP LOCKED); lease every member; load what rendering needs.
 */
export async function beginNoticeSend(db: SqlClient, noticeId: string, now: Date, leaseMs: number, batchWindowMs: number): Promise<NoticeToSend | NoticeSendSkip> {
  if (!NOTICE_ID.test(noticeId)) return 'missing';
  const { rows } = await db.query<{ claim: ClaimJson }>(BEGIN_SEND, [noticeId, now, new Date(now.getTime() + leaseMs), batchWindowMs, MAX_BATCH - 1]);
  const c = rows[0]?.claim;
  if (!c) throw new Error('notice_begin_send returned no row');
  if ('skip' in c) return c.skip;
  const reports: NoticeReportView[] = c.reports.map((r) => ({
    id: r.id, url: r.url, status: r.status, hosting: toHosting(r),
    firstSeenLiveAt: toDate(r.first_seen_live_at), lastSeenLiveAt: toDate(r.last_seen_live_at), removedAt: toDate(r.removed_at),
  }));
  const s = c.submission;
  const submission: NoticeSubmissionView | null = s === null ? null
    : { id: s.id, reference: s.reference, createdAt: new Date(s.created_at), completedAt: toDate(s.completed_at), counts: s.counts };
  const f = c.force;
  return {
    id: c.id, kind: c.kind, target: c.target, recipientId: c.recipient_id, sequence: c.sequence, episode: c.episode,
    createdAt: new Date(c.created_at), attempts: c.attempts, reason: c.reason, memberIds: c.member_ids, reports, submission,
    force: f === null ? null : { id: f.id, name: f.name, webhookUrl: f.webhook_url, webhookSecret: f.webhook_secret },
    disabledUrl: c.disabled_url,
  };
}

/** How an outcome marks the notices, and what it adds to the endpoint's [delivered, failed attempts, given up]. */
const OUTCOME_MARK = {
  sent: { mark: 'sent', stats: [1, 0, 0] },
  retry: { mark: 'retry', stats: [0, 1, 0] },
  failed: { mark: 'failed', stats: [0, 1, 1] },
  disabled: { mark: 'failed', stats: [0, 1, 1] },
} as const satisfies Record<NoticeDeliveryRecord['outcome'], { mark: string; stats: readonly [number, number, number] }>;

/**
 * One transaction, one round trip (`notice_record_delivery`): mark the notice and its batch sent
 * (their initial reports `notified`), back to pending with a back-off, or failed; then add the
 * attempt to the endpoint's statistics and, after a 410, flag the URL. A duplicate `sent` record
 * changes nothing.
 */
export async function recordNoticeDelivery(db: SqlClient, record: NoticeDeliveryRecord): Promise<void> {
  if (!NOTICE_ID.test(record.noticeId)) return;
  const { mark, stats } = OUTCOME_MARK[record.outcome];
  const ok = record.outcome === 'sent';
  const disabledAt = record.outcome === 'disabled' && record.endpointUrl ? record.now : null;
  await db.query(RECORD_DELIVERY, [
    record.noticeId, mark, record.now, record.notBefore ?? record.now, record.channel, record.httpStatus ?? null,
    ok ? null : record.error ?? null, ...stats, ok ? record.now : null, ok ? null : record.now,
    disabledAt, disabledAt ? record.endpointUrl : null,
  ]);
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
