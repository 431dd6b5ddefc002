/**
 * What the operator pages (`/admin`) and the metrics read from the store of record, as a port:
 * aggregations done in SQL (counts, percentiles), keyset- or offset-paginated lists, one report's
 * whole timeline, and the admin sessions. Operators' view: no tenant scope (admins and analysts
 * see every force's reports). Implemented in store/admin-queries.ts and friends.
 */
import type { ReportStatus, Verdict, VerdictSource } from './report-status.js';
import type { ReportListCursor } from './store.js';

/** One report as the operator lists show it. */
export interface AdminReportRow {
  id: string;
  url: string;
  status: ReportStatus;
  country: string | null;
  asn: number | null;
  org: string | null;
  viaCdn: boolean;
  routingFlag: string | null;
  createdAt: Date;
  firstSeenLiveAt: Date | null;
  removedAt: Date | null;
  nextRealertAt: Date | null;
}

/** A count and the first rows of a list on the overview. */
export interface CountedList {
  count: number;
  items: AdminReportRow[];
}

/** Open cases (live or notified) in one hosting country; `country` null: not known. */
export interface CountryCount {
  country: string | null;
  live: number;
  notified: number;
}

export interface AdminOverview {
  byStatus: Partial<Record<ReportStatus, number>>;
  /** open cases per hosting country, most first */
  openByCountry: CountryCount[];
  /** notified reports whose next re-alert is due before `now` */
  overdueRealerts: CountedList;
  /** open reports routing could not place (`routing_flag`: unknown country, unrouted) */
  routingFlagged: CountedList;
  /** open reports whose hosting answers from a CDN network */
  cdnFronted: CountedList;
  /** most recent removals, newest first (count: removals in the last 7 days) */
  recentRemovals: CountedList;
}

export type RemovalGrouping = 'country' | 'asn' | 'recipient' | 'week';

/** Time to removal of one group (seconds). */
export interface RemovalStat {
  /** country code, ASN, recipient id, or the week's Monday (YYYY-MM-DD); null: not known */
  key: string | null;
  /** network name for an ASN */
  label: string | null;
  count: number;
  medianSeconds: number;
  p90Seconds: number;
}

export interface RemovalStatsQuery {
  by: RemovalGrouping;
  /** removals at or after this time */
  since: Date;
  /** removals before this time */
  until: Date;
  /** groups with the most removals first (weeks: in date order) @default 20 */
  limit?: number;
}

/** How one hosting network (ASN) handles reports. */
export interface NetworkScorecard {
  asn: number;
  org: string | null;
  /** live or notified now */
  open: number;
  /** first seen live of the oldest open case */
  oldestOpenSince: Date | null;
  /** removals in the window */
  removed: number;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export interface AdminReportFilter {
  status?: ReportStatus;
  country?: string;
  asn?: number;
  /** routing: routing_flag set; cdn: served via a CDN; overdue: re-alert due before `now` */
  flag?: 'routing' | 'cdn' | 'overdue';
  /** needed by `flag: overdue` */
  now?: Date;
}

export interface AdminReportPage {
  items: AdminReportRow[];
  next: ReportListCursor | null;
}

export interface TimelineCheck {
  id: string;
  outcome: string;
  reason: string;
  httpStatus: number | null;
  vantage: string | null;
  startedAt: Date;
  durationMs: number;
  statusAfter: string;
}

export interface TimelineTrace {
  id: string;
  createdAt: Date;
  ip: string | null;
  country: string | null;
  asn: number | null;
  org: string | null;
  viaCdn: boolean;
}

export interface TimelineNotice {
  id: string;
  kind: string;
  target: string;
  recipient: string;
  sequence: number;
  status: string;
  channel: string | null;
  attempts: number;
  createdAt: Date;
  sentAt: Date | null;
  /** when it was withdrawn unsent: its reports were no longer live, or no alert had reached its recipient */
  withdrawnAt: Date | null;
  ackedAt: Date | null;
  ackStatus: string | null;
  lastError: string | null;
  lastStatus: number | null;
}

export interface TimelineAudit {
  seq: number;
  at: Date;
  actor: string;
  action: string;
}

export interface ReportTimeline {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdictSource: VerdictSource | null;
  country: string | null;
  asn: number | null;
  org: string | null;
  ip: string | null;
  viaCdn: boolean;
  routingFlag: string | null;
  createdAt: Date;
  firstSeenLiveAt: Date | null;
  lastSeenLiveAt: Date | null;
  removedAt: Date | null;
  lastCheckedAt: Date | null;
  nextCheckAt: Date | null;
  nextRealertAt: Date | null;
  holdUntil: Date | null;
  expiresAt: Date | null;
  reopenCount: number;
  forces: string[];
  /** newest last; each list capped (see the store) */
  checks: TimelineCheck[];
  traces: TimelineTrace[];
  notices: TimelineNotice[];
  /** writes and reads recorded about the report (verdicts, rechecks, reads) */
  audit: TimelineAudit[];
}

/** A signed-in operator's session on `/admin` (the cookie holds the id; the store its hash). */
export interface AdminSession {
  /** sha256 hex of the session id */
  idHash: string;
  role: 'admin' | 'analyst';
  /** audit actor of the key that signed in */
  actor: string;
  /** null: the bootstrap admin token */
  keyId: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface AdminReads {
  /** The overview's numbers and short lists; lists hold at most `listLimit` rows. */
  adminOverview(now: Date, listLimit: number): Promise<AdminOverview>;
  /** Time from first seen live to removal, grouped; percentiles computed in SQL. */
  removalStats(query: RemovalStatsQuery): Promise<RemovalStat[]>;
  /** Networks with open cases or removals in [since, until), most open cases first. */
  networkScorecards(query: { since: Date; until: Date; limit: number; offset: number }): Promise<{ rows: NetworkScorecard[]; total: number }>;
  /** Reports newest first, keyset-paginated on (created_at, id). */
  listAdminReports(filter: AdminReportFilter, page: { after: ReportListCursor | null; limit: number }): Promise<AdminReportPage>;
  /** A report with its checks, traces, notices (with acks) and audit rows; null: no such report. */
  getReportTimeline(id: string): Promise<ReportTimeline | null>;
  /** Reports per status (`vigil_reports{status}`). */
  countReportsByStatus(): Promise<Partial<Record<ReportStatus, number>>>;

  createAdminSession(session: AdminSession): Promise<void>;
  /**
   * The session if it exists, has not ended or expired at `now`, and its API key is still
   * valid (not revoked, not expired); else null.
   */
  findAdminSession(idHash: string, now: Date): Promise<AdminSession | null>;
  endAdminSession(idHash: string, now: Date): Promise<void>;
}
