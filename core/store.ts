/**
 * The store of record, as a port. Implemented in store/ over PostgreSQL (`pg`) and the embedded
 * PostgreSQL (`@electric-sql/pglite`); one conformance suite runs against both.
 *
 * Tenant scoping: every read a police force can reach takes a {@link Scope}. A scope with a
 * `forceId` sees only objects linked to that force; `forceId: null` is the operators' view.
 * An object outside the scope reads as `null` (the API turns that into 404, never 403).
 */
import type { AdminReads } from './admin-reads.js';
import type { NoticeOutbox } from './notice-outbox.js';
import type { GoneStreak } from './removal-policy.js';
import type { ContentDigests, MediaMetadata } from './fetcher.js';
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

/** A change to a force: its name, its webhook (null removes it); what is left out stays. */
export interface ForceUpdate {
  id: string;
  name?: string;
  webhook?: { url: string; secret: string } | null;
  now: Date;
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
  /**
   * one of the submitted digests is in the hash list (`hashList.files`): a new report starts with
   * verdict `illegal` from `hash_list`, which stands over the submission's own (core/report-lifecycle.ts)
   */
  hashListMatch?: boolean;
  /** `refused` for an address vigil must never fetch; else `pending` */
  initialStatus: 'pending' | 'refused';
  /** the host's registrable domain (public-suffix list); null for IP literals */
  registrableDomain?: string | null;
}

/** A submitted line that was not accepted, with its reason. */
export interface RejectedItem {
  line: number;
  /** the submitted text, truncated */
  input: string;
  error: string;
}

/** `Idempotency-Key` of a submission: the same key from the same force names one submission. */
export interface IdempotencyClaim {
  key: string;
  /** sha256 hex of what was submitted: a different body under the same key is refused */
  requestHash: string;
  /** after this, the key may be used again */
  expiresAt: Date;
}

export interface IdempotencyRecord {
  requestHash: string;
  submissionId: string;
  createdAt: Date;
}

export interface NewSubmission {
  id: string;
  forceId: string;
  reference: string | null;
  items: NewSubmissionItem[];
  now: Date;
  /** lines refused at intake, kept so a replayed response is the same as the first */
  rejected?: RejectedItem[];
  idempotency?: IdempotencyClaim;
  /** appended in the same transaction as the submission */
  audit?: AuditEntry;
  /**
   * `schedule.expireAfter`: how long an `expired` report submitted again is monitored from now
   * (see {@link SubmissionCreated.restarted}). @default 90 days (the key's own default)
   */
  expireAfterMs?: number;
}

/** What the 202 answer said; replayed for a retried `Idempotency-Key`. */
export interface SubmissionReceipt {
  id: string;
  accepted: number;
  duplicates: number;
  rejected: RejectedItem[];
}

export interface SubmissionCreated {
  id: string;
  /** items that created a new report */
  accepted: number;
  /** items linked to a report already monitored (or repeated within this submission) */
  duplicates: number;
  /**
   * reports among the duplicates whose monitoring had ended and starts again: `expired` ones go
   * back to `pending` for a new monitoring period and a new notice episode; `removed` ones whose
   * watch was over get a check at once (live again: reopened and told afresh, by the lifecycle)
   */
  restarted: number;
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

export interface SubmissionPageItem extends SubmissionItemView {
  line: number;
  /** the text as submitted */
  input: string;
  lastSeenLiveAt: Date | null;
  /** notices created for the report so far */
  notices: number;
}

export interface SubmissionPageRequest {
  /** items after this line (exclusive); null = from the start */
  afterLine: number | null;
  limit: number;
  /** count items per status over the whole submission @default true */
  counts?: boolean;
}

/** A submission with its counts and one page of items, by line. */
export interface SubmissionPage extends Omit<SubmissionView, 'items'> {
  itemCount: number;
  accepted: number | null;
  duplicates: number | null;
  rejectedCount: number;
  items: SubmissionPageItem[];
  /** pass as `afterLine` for the next page; null on the last page */
  nextAfterLine: number | null;
}

export interface ReportListFilter {
  status?: ReportStatus;
  /** ISO 3166-1 alpha-2 of the hosting */
  country?: string;
  registrableDomain?: string;
}

/** Keyset position in the report list (newest first). */
export interface ReportListCursor {
  /** the last report's created_at to the microsecond, `YYYY-MM-DDTHH:MM:SS.ffffffZ` */
  createdAt: string;
  id: string;
}

export interface ReportSummary {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdictSource: VerdictSource | null;
  registrableDomain: string | null;
  hosting: Hosting | null;
  createdAt: Date;
  firstSeenLiveAt: Date | null;
  lastSeenLiveAt: Date | null;
  removedAt: Date | null;
  lastCheckedAt: Date | null;
}

export interface ReportListPage {
  items: ReportSummary[];
  next: ReportListCursor | null;
}

/** Where a report's content was found hosted, at one check. */
export interface TraceView {
  id: string;
  checkId: string | null;
  createdAt: Date;
  ip: string | null;
  country: string | null;
  asn: number | null;
  org: string | null;
  viaCdn: boolean;
  provenance: Record<string, unknown>;
}

export interface NewVerdict {
  reportId: string;
  verdict: Verdict;
  source: VerdictSource;
  /** appended in the same transaction as the change */
  audit: AuditEntry;
}

/** Bound on {@link ContentBaseline.mediaRefs} as stored (the migration checks it too). */
export const MAX_STORED_MEDIA_REFS = 100;

/**
 * What a report's object looked like when first seen live (core/content-identity.ts compares
 * later checks with it). Descriptions only, never content (CONTRACT.md §7).
 */
export interface ContentBaseline {
  /** header metadata of the response first seen live; null = not recorded */
  media: MediaMetadata | null;
  /** media the page referenced then, at most {@link MAX_STORED_MEDIA_REFS}; null = not a page */
  mediaRefs: string[] | null;
  /** digests of the body (`mediaPolicy: hash` only); null = not hashed */
  digests: ContentDigests | null;
  seenAt: Date;
}

/** A verdict applied to the report's lifecycle (core/report-lifecycle.ts `statusOnVerdict`). */
export interface AppliedVerdict extends NewVerdict {
  /** the report's status after the verdict */
  status: ReportStatus;
  /** next check due time; null = never again; undefined = schedule unchanged */
  nextCheckAt?: Date | null;
  /** apply only if the report's `stateVersion` is still this, else `conflict: true` */
  expectVersion: number;
}

export interface AppliedVerdictResult {
  /** the report changed since it was read: nothing written, read it again */
  conflict?: boolean;
  previous: { verdict: Verdict | null; source: VerdictSource | null };
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
  // The lifecycle state the check rules read (core/check-transition.ts).
  verdictSource: VerdictSource | null;
  createdAt: Date;
  /** explicit end of monitoring; null = createdAt + schedule.expireAfter */
  expiresAt: Date | null;
  removedAt: Date | null;
  /** evidence hold: no notices before this time */
  holdUntil: Date | null;
  /** consecutive `gone` checks since last seen live (removal confirmation) */
  goneStreak: GoneStreak;
  /** the due time of the report's next check; a job for another due time is stale */
  nextCheckAt: Date | null;
  /** bumped by every lifecycle write; pass back as `NewCheck.expectVersion` */
  stateVersion: number;
  /** what the object looked like when first seen live; null = no live check recorded one yet */
  baseline: ContentBaseline | null;
  /** the report's latest trace (as {@link Store.getLastTrace}); null = never traced */
  lastTrace: LastTrace | null;
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
  /**
   * Apply only if the report's `stateVersion` is still this (the transition was computed from
   * it); otherwise nothing is written and `conflict: true` comes back. Omitted: no comparison.
   */
  expectVersion?: number;
  /** the removal streak after this check; omitted: unchanged */
  goneStreak?: GoneStreak;
  /** omitted: set at the first check that makes the report `removed`, cleared when it reopens */
  removedAt?: Date | null;
  /** end of monitoring to store; omitted: unchanged */
  expiresAt?: Date | null;
  /** a verdict established by the check (hash list); omitted or null: unchanged */
  verdict?: { verdict: Verdict; source: VerdictSource } | null;
  /** the check saw removed content again */
  reopened?: boolean;
  /**
   * The first live sighting, recorded with the check only when the check is applied and the
   * report has no baseline yet (the first one wins); `mediaRefs` are cut to
   * {@link MAX_STORED_MEDIA_REFS}. Omitted: the baseline is left as it is.
   */
  baseline?: ContentBaseline;
}

/** A trace to write (core/tracer.ts `TraceRecord`, reduced to what the store keeps). */
export interface NewTrace {
  /** `trace.<reportId>.<checkId>` for a trace after a check: writing it twice changes nothing */
  id: string;
  reportId: string;
  /** the check that prompted the trace */
  checkId: string | null;
  tracedAt: Date;
  hosting: Hosting;
  /** the trace record as JSON: DNS answers, databases and builds, RDAP queries and contacts */
  provenance: Record<string, unknown>;
  /** when a notice decision falls due, if the trace changes routing */
  now: Date;
}

export interface TraceRecorded {
  /** false: this trace id was already written; nothing changed */
  applied: boolean;
  /** the report's notice decision was made due now (first located trace, or a country move) */
  decideNow: boolean;
  /** the report's hosting before this trace */
  previous: Hosting | null;
}

export interface LastTrace {
  hosting: Hosting;
  tracedAt: Date;
}

/** A check handed to the queue whose result has not been recorded yet. */
export interface InFlightCheck {
  reportId: string;
  /** the due time the job answers (part of its id) */
  dueAt: Date;
  /** the lease: when the row would come due again by itself */
  leasedUntil: Date;
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

/** The store port; the notice outbox operations are in notice-outbox.ts, the operator pages' reads in admin-reads.ts. */
export interface Store extends NoticeOutbox, AdminReads {
  readonly kind: 'postgres' | 'embedded';
  /** apply numbered migrations under a lock; safe when several processes start at once */
  migrate(): Promise<void>;
  /** @throws VigilError DB_UNAVAILABLE */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** @throws VigilError FORCE_EXISTS */
  createForce(force: NewForce): Promise<ForceRecord>;
  getForce(id: string): Promise<ForceRecord | null>;
  /**
   * Change a force's name or webhook. A new webhook (or the same one given again) re-enables the
   * endpoint a 410 disabled: it is the operator's word that the address is right now.
   * @returns the force as it is now; null when there is no such force
   */
  updateForce(update: ForceUpdate): Promise<ForceRecord | null>;

  createApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  findApiKeyByHash(tokenHash: string): Promise<ApiKeyRecord | null>;
  /** @returns false when no such key */
  revokeApiKey(id: string, at: Date): Promise<boolean>;

  /**
   * One transaction: the submission, its items, a report per new normalised URL (due for a
   * check at `now` when pending), and links to reports already monitored.
   * @throws VigilError FORCE_UNKNOWN; IDEMPOTENCY_CONFLICT when `idempotency.key` is already
   *   taken by an unexpired submission of the force (nothing is written)
   */
  createSubmission(submission: NewSubmission): Promise<SubmissionCreated>;
  getSubmission(id: string, scope: Scope): Promise<SubmissionView | null>;
  /**
   * The submission's header, counts and one page of items (`afterLine` exclusive, by line);
   * null outside `scope`.
   */
  getSubmissionPage(id: string, scope: Scope, page: SubmissionPageRequest): Promise<SubmissionPage | null>;
  /** what the 202 said, rebuilt from the store; null outside `scope` */
  getSubmissionReceipt(id: string, scope: Scope): Promise<SubmissionReceipt | null>;
  /** the unexpired record of an `Idempotency-Key` of this force at `now` */
  findIdempotencyKey(forceId: string, key: string, now: Date): Promise<IdempotencyRecord | null>;
  /** reports newest first, keyset-paginated; a force sees only those it monitors */
  listReports(scope: Scope, filter: ReportListFilter, page: { after: ReportListCursor | null; limit: number }): Promise<ReportListPage>;
  /** the report's traces, newest first; null when the report is outside `scope` */
  listReportTraces(reportId: string, scope: Scope): Promise<TraceView[] | null>;
  /**
   * Sets a report's verdict and its source, with the audit row, in one transaction.
   * @returns the verdict it replaced; null when no such report
   */
  setVerdict(verdict: NewVerdict): Promise<{ previous: { verdict: Verdict | null; source: VerdictSource | null } } | null>;
  getReport(id: string, scope: Scope): Promise<ReportView | null>;
  /** the report with its lifecycle state, content baseline and latest trace, in one read; null when no such report */
  getReportForCheck(id: string): Promise<ReportForCheck | null>;

  /**
   * Writes a trace and sets the report's hosting from it, atomically, once per `trace.id`; makes
   * the report's notice decision due when the trace changes routing (core/trace-change.ts), judged
   * on the report as it is under its row lock when written.
   * @throws VigilError NOT_FOUND when the report does not exist
   */
  recordTrace(trace: NewTrace): Promise<TraceRecorded>;
  /** the report's latest trace; null when never traced */
  getLastTrace(reportId: string): Promise<LastTrace | null>;

  /**
   * Records the check and applies it to the report (with the baseline, if given) in one atomic
   * write, once per `check.id`, compare-and-set on `expectVersion`.
   * @returns applied: false when this check was already recorded; conflict: true when the
   *   report's `stateVersion` moved (nothing written)
   * @throws VigilError NOT_FOUND when the report does not exist
   */
  recordCheck(check: NewCheck): Promise<{ applied: boolean; conflict?: boolean }>;

  /**
   * Lease up to `limit` reports due at `now` (`FOR UPDATE SKIP LOCKED`): their due time moves
   * to `now + leaseMs`, so work lost from the queue comes due again by itself.
   */
  claimDueChecks(now: Date, limit: number, leaseMs: number): Promise<DueCheck[]>;

  /**
   * Checks handed to the queue (leased) whose lease was taken at or before `leasedBefore` minus
   * the lease — i.e. rows with `leasedUntil <= leasedBefore` — oldest lease first. For the
   * reconciler, which asks Redis whether their jobs still exist. `after`: the last row of the
   * previous page (keyset on lease, report id).
   */
  listInFlightChecks(leasedBefore: Date, limit: number, after?: InFlightCheck): Promise<InFlightCheck[]>;
  /**
   * Ends the lease of an in-flight check whose job is lost, so the dispatcher hands it out again
   * at once (same due time, same job id). Compare-and-set on the due time and the lease.
   * @returns false when the row changed meanwhile (its check was recorded, or it was leased again)
   */
  releaseCheckLease(check: InFlightCheck): Promise<boolean>;
  /**
   * An analyst's recheck: the report is due at `now`.
   * @returns false when no such report, or it is never checked again (rejected, refused, expired)
   */
  requestCheck(reportId: string, now: Date): Promise<boolean>;
  /**
   * An evidence hold (`POST /v1/reports/:id/hold`): no notice of any kind before `until`
   * (null lifts it). Checks go on. The notifier is asked to decide again at `now`.
   * @returns false when no such report in the scope
   */
  setHold(reportId: string, until: Date | null, scope: Scope, now: Date): Promise<boolean>;
  /**
   * Mark complete the submissions whose every item has had its first check and, when seen live,
   * a trace; each completion writes the force's `submission.completed` notice (if it has a
   * webhook) in the same transaction. Looks at the oldest `limit` incomplete submissions.
   * @returns ids of the submissions completed by this call
   */
  completeSubmissions(now: Date, limit: number): Promise<string[]>;
  /**
   * A verdict with what it does to the lifecycle: verdict, source, status and schedule change
   * together with the audit row, compare-and-set on `state_version` (which it bumps).
   * @returns null when no such report; `conflict: true` when the report changed (nothing written)
   */
  applyVerdict(verdict: AppliedVerdict): Promise<AppliedVerdictResult | null>;
  appendAudit(entry: AuditEntry): Promise<void>;
}
