/**
 * The outbox part of the store port (DESIGN.md "Notices are written to an outbox in the same
 * transaction as the state change that causes them; a sender delivers them with a stable id").
 * `Store` extends it; store/notice-queries.ts implements it.
 *
 * Life of a notice row: written `pending` (idempotent by event key) → leased by the outbox
 * dispatcher (`claimDueNotices`) and queued as a `notify` job → claimed by a sender
 * (`beginNoticeSend`, a short lease so two senders never send it at once) → delivered → recorded
 * (`recordNoticeDelivery`): `sent`, or back to `pending` with a back-off, or `failed`. A crash
 * anywhere leaves the row `pending`; its lease runs out and it is sent again under the same id.
 */
import type { NoticeReportView, NoticeSubmissionView, ChannelName } from './channel.js';
import type { NoticeHistoryEntry } from './notice-cadence.js';
import type { NewNotice, NoticeKind, NoticeReason, NoticeTarget } from './notice-kinds.js';
import type { CheckOutcome, ReportStatus, Verdict } from './report-status.js';
import type { Hosting } from './store.js';

/** What the notice planner needs to know about a report (core/notice-cadence.ts). */
export interface NoticeContext {
  reportId: string;
  status: ReportStatus;
  verdict: Verdict | null;
  hosting: Hosting | null;
  holdUntil: Date | null;
  lastCheckedAt: Date | null;
  lastOutcome: CheckOutcome | null;
  nextRealertAt: Date | null;
  /** the monitoring episode: 1, then +1 each time removed content reappeared (`reopen_count + 1`) */
  episode: number;
  /** the latest trace with a located address, and the hosting network's abuse e-mails it found (core/hosting-contacts.ts) */
  trace: { id: string; databases: NoticeReason['databases']; abuseEmails: string[] } | null;
  /** forces monitoring the report with a registered webhook */
  forcesWithWebhook: string[];
  history: NoticeHistoryEntry[];
}

/** A state change and the notices it causes, written together: all of it or nothing. */
export interface NotificationChange {
  reportId: string;
  /** new report status, applied only when the current one is in `statusFrom` */
  newStatus?: { to: ReportStatus; from: readonly ReportStatus[] };
  notices: readonly NewNotice[];
  /** `reports.next_realert_at`: when the planner decides again; undefined leaves it */
  nextRealertAt?: Date | null;
  /** `reports.routing_flag`; undefined leaves it */
  flag?: string | null;
  now: Date;
}

export interface CreatedNotice {
  id: string;
  eventKey: string;
  kind: NoticeKind;
  recipientId: string;
}

/** A notice leased to the queue. */
export interface DueNotice {
  noticeId: string;
  /** how many times the dispatcher has leased it (1 the first time): part of the job id */
  dispatches: number;
}

/**
 * Why a sender did not get a notice; `held`: an evidence hold began after it was written (deferred
 * to its end); `withdrawn`: an alert whose reports are no longer live or notified, or a removal
 * notice to a recipient no alert reached (migration 0090) — never sent.
 */
export type NoticeSendSkip = 'missing' | 'not_pending' | 'in_batch' | 'leased' | 'not_yet' | 'held' | 'withdrawn';

/** A notice claimed for one delivery attempt, with what rendering needs. */
export interface NoticeToSend {
  id: string;
  kind: NoticeKind;
  target: NoticeTarget;
  recipientId: string;
  sequence: number;
  episode: number;
  createdAt: Date;
  /** attempts before this one */
  attempts: number;
  reason: NoticeReason;
  /** ids delivered by this attempt: this notice, and the members of its batch */
  memberIds: string[];
  reports: NoticeReportView[];
  submission: NoticeSubmissionView | null;
  /** for `target: 'force'`: the force and its registered webhook */
  force: { id: string; name: string; webhookUrl: string | null; webhookSecret: string | null } | null;
  /** the endpoint URL a 410 disabled, if any (compare with the URL about to be used) */
  disabledUrl: string | null;
}

export interface NoticeDeliveryRecord {
  noticeId: string;
  now: Date;
  channel: ChannelName | null;
  outcome: 'sent' | 'retry' | 'failed' | 'disabled';
  /** for `retry`: not sent again before this */
  notBefore?: Date;
  error?: string;
  httpStatus?: number;
  /** the endpoint URL used (recorded when a 410 disables it) */
  endpointUrl?: string;
}

/** Delivery statistics of one endpoint (a directory recipient or a force webhook). */
export interface EndpointStats {
  target: NoticeTarget;
  id: string;
  delivered: number;
  failedAttempts: number;
  givenUp: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastError: string | null;
  lastStatus: number | null;
  disabledAt: Date | null;
  disabledUrl: string | null;
}

export interface NoticeAck {
  noticeId: string;
  /** a recipient key: only its own notices; null: a valid link token, any recipient notice */
  recipientId: string | null;
  status: 'received' | 'actioned';
  /** audit actor: `key:<id>` or `ack-link` */
  actor: string;
  now: Date;
}

export interface NoticeAckResult {
  id: string;
  ackStatus: 'received' | 'actioned';
  ackedAt: Date;
  /** every notice of the acknowledged message (batches) */
  noticeIds: string[];
  reportIds: string[];
}

export interface NoticeOutbox {
  /** What the planner needs; null when no such report. */
  getNoticeContext(reportId: string): Promise<NoticeContext | null>;
  /**
   * Atomically (one statement in the SQL store): the status change, the notices (`INSERT … ON
   * CONFLICT (event_key) DO NOTHING`: a notice already planned is not written twice), the next
   * decision time and flag.
   * @returns the notices this call created (not those that existed), in the order given
   */
  applyNotification(change: NotificationChange): Promise<{ created: CreatedNotice[] }>;
  /**
   * Lease up to `limit` reports whose notice decision is due (`next_realert_at <= now`,
   * `FOR UPDATE SKIP LOCKED`): it moves to `now + leaseMs` until the planner sets it.
   */
  claimDueNoticeDecisions(now: Date, limit: number, leaseMs: number): Promise<string[]>;
  /**
   * Lease up to `limit` pending notices due at `now` for the queue (`FOR UPDATE SKIP LOCKED`).
   * A first attempt waits until `batchWindowMs` after the notice was written.
   */
  claimDueNotices(now: Date, limit: number, leaseMs: number, batchWindowMs: number): Promise<DueNotice[]>;
  /**
   * Claim one notice for a delivery attempt: it must be pending, not in another's batch, not
   * leased by another sender, past its back-off, and its report not under an evidence hold (a
   * held notice is deferred to the hold's end). With `batchWindowMs > 0` the first attempt
   * also gathers pending notices of the same recipient, kind and sequence written within the
   * window after it; the batch is fixed from then on, so a resend carries the same reports.
   */
  beginNoticeSend(noticeId: string, now: Date, leaseMs: number, batchWindowMs: number): Promise<NoticeToSend | NoticeSendSkip>;
  /** Record an attempt for the notice and its batch, with endpoint statistics, in one transaction. */
  recordNoticeDelivery(record: NoticeDeliveryRecord): Promise<void>;
  /** Acknowledge a notice (and its batch) with an audit row; null when not found or not the caller's. */
  ackNotice(ack: NoticeAck): Promise<NoticeAckResult | null>;
  listEndpointStats(): Promise<EndpointStats[]>;
  /** Re-enable an endpoint a 410 disabled. @returns false when it was not disabled */
  enableEndpoint(target: NoticeTarget, id: string, now: Date): Promise<boolean>;
  /** The secret stored under `name`; stores `candidate` when there is none yet (first caller wins). */
  getOrCreateSecret(name: string, candidate: string): Promise<string>;
}
