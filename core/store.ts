/**
 * The store of record, as a port. Implemented in store/ over PostgreSQL (`pg`) and the embedded
 * PostgreSQL (`@electric-sql/pglite`); one conformance suite runs against both.
 *
 * Tenant scoping: every read a police force can reach takes a {@link Scope}. A scope with a
 * `forceId` sees only objects linked to that force; `forceId: null` is the operators' view.
 * An object outside the scope reads as `null` (the API turns that into 404, never 403).
 */
import type { CheckOutcome, ReportStatus, Verdict, VerdictSource } from './report-status.js';

export type Role = 'admin' | 'analyst' | 'force' | 'recipient';

export interface Scope {
  /** null: every force's data (admin, analyst). */
  forceId: string | null;
}

export interface ForceRecord {
  id: string;
  name: string;
  webhookUrl: string | null;
  webhookSecret: string | null;
  createdAt: Date;
}

export interface NewForce {
  id: string;
  name: string;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
}

export interface ApiKeyRecord {
  id: string;
  role: Role;
  forceId: string | null;
  recipientId: string | null;
  label: string | null;
  /** hex sha256 of the token; the token itself is never stored */
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export type NewApiKey = Omit<ApiKeyRecord, 'createdAt' | 'revokedAt'>;

export interface NewSubmissionItem {
  /** 1-based line (or array index + 1 for JSON) in the submitted body */
  line: number;
  /** the text as submitted */
  input: string;
  /** the normalised URL: the key a report is monitored under */
  url: string;
  sha256?: string | null;
  sha1?: string | null;
  md5?: string | null;
  verdict?: Verdict | null;
  /** `refused` for an address vigil must never fetch; else `pending` */
  initialStatus: 'pending' | 'refused';
}

export interface NewSubmission {
  id: string;
  forceId: string;
  reference: string | null;
  items: NewSubmissionItem[];
  now: Date;
}

export interface SubmissionCreated {
  id: string;
  /** items that created a new report */
  accepted: number;
  /** items linked to a report already monitored (or repeated within this submission) */
  duplicates: number;
}

export interface Hosting {
  ip: string | null;
  country: string | null;
  asn: number | null;
  org: string | null;
  viaCdn: boolean;
}

export interface SubmissionItemView {
  reportId: string;
  url: string;
  status: ReportStatus;
  hosting: Hosting | null;
  firstSeenLiveAt: Date | null;
  removedAt: Date | null;
}

export interface SubmissionView {
  id: string;
  force: string;
  reference: string | null;
  createdAt: Date;
  completedAt: Date | null;
  counts: Partial<Record<ReportStatus, number>>;
  items: SubmissionItemView[];
}

export interface CheckView {
  id: string;
  outcome: CheckOutcome;
  reason: string;
  httpStatus: number | null;
  vantage: string | null;
  startedAt: Date;
  durationMs: number;
}

export interface NoticeView {
  id: string;
  kind: string;
  recipient: string;
  sequence: number;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
}

export interface ReportView {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdictSource: VerdictSource | null;
  hosting: Hosting | null;
  createdAt: Date;
  firstSeenLiveAt: Date | null;
  lastSeenLiveAt: Date | null;
  removedAt: Date | null;
  lastCheckedAt: Date | null;
  checks: CheckView[];
  notices: NoticeView[];
}

/** What a check job needs to know about the report it checks. */
export interface ReportForCheck {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  sha256: string | null;
  sha1: string | null;
  md5: string | null;
}

export interface NewCheck {
  /** stable id from the job: applying the same check twice changes state once */
  id: string;
  reportId: string;
  outcome: CheckOutcome;
  reason: string;
  httpStatus: number | null;
  vantage: string | null;
  startedAt: Date;
  durationMs: number;
  /** the report's status after this check, decided by core rules */
  nextStatus: ReportStatus;
  /** when the report is next due for a check; null = never again */
  nextCheckAt: Date | null;
}

export interface DueCheck {
  reportId: string;
  url: string;
  dueAt: Date;
}

export interface AuditEntry {
  /** key id, `admin-token`, or `system` */
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string | null;
  detail?: Record<string, unknown>;
  at: Date;
}

export interface Store {
  readonly kind: 'postgres' | 'embedded';
  /** apply numbered migrations under a lock; safe when several processes start at once */
  migrate(): Promise<void>;
  /** @throws VigilError DB_UNAVAILABLE */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** @throws VigilError FORCE_EXISTS */
  createForce(force: NewForce): Promise<ForceRecord>;
  getForce(id: string): Promise<ForceRecord | null>;

  createApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  findApiKeyByHash(tokenHash: string): Promise<ApiKeyRecord | null>;
  /** @returns false when no such key */
  revokeApiKey(id: string, at: Date): Promise<boolean>;

  /**
   * One transaction: the submission, its items, a report per new normalised URL (due for a
   * check at `now` when pending), and links to reports already monitored.
   * @throws VigilError FORCE_UNKNOWN
   */
  createSubmission(submission: NewSubmission): Promise<SubmissionCreated>;
  getSubmission(id: string, scope: Scope): Promise<SubmissionView | null>;
  getReport(id: string, scope: Scope): Promise<ReportView | null>;
  getReportForCheck(id: string): Promise<ReportForCheck | null>;

  /** idempotent by `check.id` @returns applied: false when this check was already recorded */
  recordCheck(check: NewCheck): Promise<{ applied: boolean }>;

  /**
   * Lease up to `limit` reports due at `now` (`FOR UPDATE SKIP LOCKED`): their due time moves
   * to `now + leaseMs`, so work lost from the queue comes due again by itself.
   */
  claimDueChecks(now: Date, limit: number, leaseMs: number): Promise<DueCheck[]>;

  appendAudit(entry: AuditEntry): Promise<void>;
}
