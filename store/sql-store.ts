/**
 * The store of record over SQL: one class for PostgreSQL and embedded PostgreSQL alike — only
 * the {@link SqlClient} differs. Each operation is one named query (or a short transaction of
 * them) in the `*-queries.ts` files beside this one.
 */
import { VigilError } from '../core/errors.js';
import type {
  ApiKeyRecord, AuditEntry, DueCheck, ForceRecord, ForceUpdate, NewApiKey, NewCheck, NewForce, NewSubmission, ReportForCheck,
  ReportView, Scope, Store, SubmissionCreated, SubmissionView,
} from '../core/store.js';
import type {
  IdempotencyRecord, NewVerdict, ReportListCursor, ReportListFilter, ReportListPage, SubmissionPage, SubmissionPageRequest, SubmissionReceipt,
  TraceView,
} from '../core/store.js';
import type { Verdict, VerdictSource } from '../core/report-status.js';
import type { AppliedVerdict, AppliedVerdictResult, InFlightCheck } from '../core/store.js';
import * as idempotency from './idempotency-queries.js';
import * as reportLists from './report-list-queries.js';
import * as submissionReads from './submission-read-queries.js';
import * as verdicts from './verdict-queries.js';
import * as verdictApply from './verdict-apply-queries.js';
import * as audit from './audit-queries.js';
import * as keys from './key-queries.js';
import { migrate } from './migrate.js';
import * as reports from './report-queries.js';
import * as schedule from './schedule-queries.js';
import type { SqlClient } from './sql-client.js';
import * as submissions from './submission-queries.js';
import type { NoticeTarget } from '../core/notice-kinds.js';
import type {
  CreatedNotice, DueNotice, EndpointStats, NoticeAck, NoticeAckResult, NoticeContext, NoticeDeliveryRecord, NoticeSendSkip, NoticeToSend,
  NotificationChange,
} from '../core/notice-outbox.js';
import * as noticeDelivery from './notice-delivery-queries.js';
import type {
  AdminOverview, AdminReportFilter, AdminReportPage, AdminSession, NetworkScorecard, RemovalStat, RemovalStatsQuery, ReportTimeline,
} from '../core/admin-reads.js';
import type { ReportStatus } from '../core/report-status.js';
import * as admin from './admin-queries.js';
import * as completion from './submission-completion-queries.js';
import * as adminSessions from './admin-session-queries.js';
import * as adminStats from './admin-stats-queries.js';
import * as notices from './notice-queries.js';
import * as traces from './trace-queries.js';
import type { LastTrace, NewTrace, TraceRecorded } from '../core/store.js';

export class SqlStore implements Store {
  readonly kind: 'postgres' | 'embedded';
  /** The underlying client, for tools and tests that need SQL the port does not offer. */
  readonly sql: SqlClient;

  constructor(sql: SqlClient, kind: 'postgres' | 'embedded') {
    this.sql = sql;
    this.kind = kind;
  }

  /** @throws VigilError DB_MIGRATION_FAILED, DB_UNAVAILABLE */
  async migrate(): Promise<void> {
    await migrate(this.sql);
  }

  /** @throws VigilError DB_UNAVAILABLE */
  async ping(): Promise<void> {
    try {
      await this.sql.query('SELECT 1');
    } catch (err) {
      if (err instanceof VigilError && err.code === 'DB_UNAVAILABLE') throw err;
      throw new VigilError('DB_UNAVAILABLE', `ping failed: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  /** @throws VigilError FORCE_EXISTS */
  createForce(force: NewForce): Promise<ForceRecord> {
    return keys.createForce(this.sql, force);
  }

  getForce(id: string): Promise<ForceRecord | null> {
    return keys.getForce(this.sql, id);
  }

  updateForce(update: ForceUpdate): Promise<ForceRecord | null> {
    return keys.updateForce(this.sql, update);
  }

  /** @throws VigilError FORCE_UNKNOWN */
  createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    return keys.createApiKey(this.sql, key);
  }

  findApiKeyByHash(tokenHash: string): Promise<ApiKeyRecord | null> {
    return keys.findApiKeyByHash(this.sql, tokenHash);
  }

  revokeApiKey(id: string, at: Date): Promise<boolean> {
    return keys.revokeApiKey(this.sql, id, at);
  }

  /** @throws VigilError FORCE_UNKNOWN */
  createSubmission(submission: NewSubmission): Promise<SubmissionCreated> {
    return submissions.createSubmission(this.sql, submission);
  }

  getSubmission(id: string, scope: Scope): Promise<SubmissionView | null> {
    return submissions.getSubmission(this.sql, id, scope);
  }

  getSubmissionPage(id: string, scope: Scope, page: SubmissionPageRequest): Promise<SubmissionPage | null> {
    return submissionReads.getSubmissionPage(this.sql, id, scope, page);
  }

  getSubmissionReceipt(id: string, scope: Scope): Promise<SubmissionReceipt | null> {
    return submissionReads.getSubmissionReceipt(this.sql, id, scope);
  }

  findIdempotencyKey(forceId: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
    return idempotency.findIdempotencyKey(this.sql, forceId, key, now);
  }

  listReports(scope: Scope, filter: ReportListFilter, page: { after: ReportListCursor | null; limit: number }): Promise<ReportListPage> {
    return reportLists.listReports(this.sql, scope, filter, page);
  }

  listReportTraces(reportId: string, scope: Scope): Promise<TraceView[] | null> {
    return reportLists.listReportTraces(this.sql, reportId, scope);
  }

  setVerdict(verdict: NewVerdict): Promise<{ previous: { verdict: Verdict | null; source: VerdictSource | null } } | null> {
    return verdicts.setVerdict(this.sql, verdict);
  }

  getReport(id: string, scope: Scope): Promise<ReportView | null> {
    return reports.getReport(this.sql, id, scope);
  }

  getReportForCheck(id: string): Promise<ReportForCheck | null> {
    return reports.getReportForCheck(this.sql, id);
  }

  recordTrace(trace: NewTrace): Promise<TraceRecorded> {
    return traces.recordTrace(this.sql, trace);
  }

  getLastTrace(reportId: string): Promise<LastTrace | null> {
    return traces.getLastTrace(this.sql, reportId);
  }

  /** One statement: the check, its effect on the report and a first baseline. @throws VigilError NOT_FOUND when the report does not exist */
  recordCheck(check: NewCheck): Promise<{ applied: boolean; conflict?: boolean }> {
    return reports.recordCheck(this.sql, check);
  }

  claimDueChecks(now: Date, limit: number, leaseMs: number): Promise<DueCheck[]> {
    return reports.claimDueChecks(this.sql, now, limit, leaseMs);
  }

  listInFlightChecks(leasedBefore: Date, limit: number, after?: InFlightCheck): Promise<InFlightCheck[]> {
    return schedule.listInFlightChecks(this.sql, leasedBefore, limit, after);
  }

  releaseCheckLease(check: InFlightCheck): Promise<boolean> {
    return schedule.releaseCheckLease(this.sql, check);
  }

  requestCheck(reportId: string, now: Date): Promise<boolean> {
    return schedule.requestCheck(this.sql, reportId, now);
  }

  setHold(reportId: string, until: Date | null, scope: Scope, now: Date): Promise<boolean> {
    return schedule.setHold(this.sql, reportId, until, scope.forceId, now);
  }

  completeSubmissions(now: Date, limit: number): Promise<string[]> {
    return completion.completeSubmissions(this.sql, now, limit);
  }

  applyVerdict(verdict: AppliedVerdict): Promise<AppliedVerdictResult | null> {
    return verdictApply.applyVerdict(this.sql, verdict);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return audit.appendAudit(this.sql, entry);
  }

  // The notice outbox (core/notice-outbox.ts).

  getNoticeContext(reportId: string): Promise<NoticeContext | null> {
    return notices.getNoticeContext(this.sql, reportId);
  }

  applyNotification(change: NotificationChange): Promise<{ created: CreatedNotice[] }> {
    return notices.applyNotification(this.sql, change);
  }

  claimDueNoticeDecisions(now: Date, limit: number, leaseMs: number): Promise<string[]> {
    return notices.claimDueNoticeDecisions(this.sql, now, limit, leaseMs);
  }

  claimDueNotices(now: Date, limit: number, leaseMs: number, batchWindowMs: number): Promise<DueNotice[]> {
    return notices.claimDueNotices(this.sql, now, limit, leaseMs, batchWindowMs);
  }

  beginNoticeSend(noticeId: string, now: Date, leaseMs: number, batchWindowMs: number): Promise<NoticeToSend | NoticeSendSkip> {
    return noticeDelivery.beginNoticeSend(this.sql, noticeId, now, leaseMs, batchWindowMs);
  }

  recordNoticeDelivery(record: NoticeDeliveryRecord): Promise<void> {
    return noticeDelivery.recordNoticeDelivery(this.sql, record);
  }

  ackNotice(ack: NoticeAck): Promise<NoticeAckResult | null> {
    return noticeDelivery.ackNotice(this.sql, ack);
  }

  listEndpointStats(): Promise<EndpointStats[]> {
    return noticeDelivery.listEndpointStats(this.sql);
  }

  enableEndpoint(target: NoticeTarget, id: string, now: Date): Promise<boolean> {
    return noticeDelivery.enableEndpoint(this.sql, target, id, now);
  }

  getOrCreateSecret(name: string, candidate: string): Promise<string> {
    return noticeDelivery.getOrCreateSecret(this.sql, name, candidate);
  }

  // The operator pages' reads (core/admin-reads.ts).

  adminOverview(now: Date, listLimit: number): Promise<AdminOverview> {
    return admin.adminOverview(this.sql, now, listLimit);
  }

  removalStats(query: RemovalStatsQuery): Promise<RemovalStat[]> {
    return adminStats.removalStats(this.sql, query);
  }

  networkScorecards(query: { since: Date; until: Date; limit: number; offset: number }): Promise<{ rows: NetworkScorecard[]; total: number }> {
    return adminStats.networkScorecards(this.sql, query);
  }

  listAdminReports(filter: AdminReportFilter, page: { after: ReportListCursor | null; limit: number }): Promise<AdminReportPage> {
    return admin.listAdminReports(this.sql, filter, page);
  }

  getReportTimeline(id: string): Promise<ReportTimeline | null> {
    return admin.getReportTimeline(this.sql, id);
  }

  countReportsByStatus(): Promise<Partial<Record<ReportStatus, number>>> {
    return admin.countReportsByStatus(this.sql);
  }

  createAdminSession(session: AdminSession): Promise<void> {
    return adminSessions.createAdminSession(this.sql, session);
  }

  findAdminSession(idHash: string, now: Date): Promise<AdminSession | null> {
    return adminSessions.findAdminSession(this.sql, idHash, now);
  }

  endAdminSession(idHash: string, now: Date): Promise<void> {
    return adminSessions.endAdminSession(this.sql, idHash, now);
  }

  /** Recomputes the audit hash chain (not part of the port: an operator's integrity check). */
  verifyAuditChain(): Promise<audit.AuditChainCheck> {
    return audit.verifyAuditChain(this.sql);
  }
}
