/**
 * The operator pages' reads (core/admin-reads.ts): the overview's counts and short lists, the
 * filtered report list, and one report's whole timeline. Operators' view: no tenant scope.
 *
 * Each list is served by an index (migrations 0001, 0030, 0040): counts by status walk
 * reports_status_idx, open cases by country reports_open_hosting_idx, overdue re-alerts
 * reports_next_realert_at_idx, routing flags reports_routing_flag_idx, CDN-fronted cases
 * reports_open_cdn_idx, removals reports_removed_at_idx.
 */
import type { AdminOverview, AdminReportFilter, AdminReportPage, AdminReportRow, CountedList, ReportTimeline } from '../core/admin-reads.js';
import type { ReportStatus, Verdict, VerdictSource } from '../core/report-status.js';
import type { ReportListCursor } from '../core/store.js';
import type { SqlClient } from './sql-client.js';

/** rows of each kind a timeline holds (the newest ones) */
export const TIMELINE_LIMIT = 500;

const ROW_COLUMNS = `r.id, r.url, r.status, r.hosting_country, r.hosting_asn, r.hosting_org, r.hosting_via_cdn, r.routing_flag,
  r.created_at, r.first_seen_live_at, r.removed_at, r.next_realert_at,
  to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;

const OPEN = `r.status IN ('live', 'notified')`;

const COUNT_BY_STATUS = 'SELECT status, count(*) AS n FROM reports GROUP BY status';

const OPEN_BY_COUNTRY = `SELECT r.hosting_country AS country,
    count(*) FILTER (WHERE r.status = 'live') AS live,
    count(*) FILTER (WHERE r.status = 'notified') AS notified
  FROM reports r WHERE ${OPEN}
  GROUP BY r.hosting_country
  ORDER BY count(*) DESC, r.hosting_country NULLS FIRST
  LIMIT 60`;

const OVERDUE = `r.status = 'notified' AND r.next_realert_at < $1`;
const COUNT_OVERDUE = `SELECT count(*) AS n FROM reports r WHERE ${OVERDUE}`;
const LIST_OVERDUE = `SELECT ${ROW_COLUMNS} FROM reports r WHERE ${OVERDUE} ORDER BY r.next_realert_at, r.id LIMIT $2`;

const FLAGGED = `r.routing_flag IS NOT NULL AND ${OPEN}`;
const COUNT_FLAGGED = `SELECT count(*) AS n FROM reports r WHERE ${FLAGGED}`;
const LIST_FLAGGED = `SELECT ${ROW_COLUMNS} FROM reports r WHERE ${FLAGGED} ORDER BY r.created_at DESC, r.id DESC LIMIT $1`;

const CDN = `r.hosting_via_cdn AND ${OPEN}`;
const COUNT_CDN = `SELECT count(*) AS n FROM reports r WHERE ${CDN}`;
const LIST_CDN = `SELECT ${ROW_COLUMNS} FROM reports r WHERE ${CDN} ORDER BY r.created_at DESC, r.id DESC LIMIT $1`;

const COUNT_REMOVED_SINCE = 'SELECT count(*) AS n FROM reports r WHERE r.removed_at >= $1';
const LIST_RECENT_REMOVALS = `SELECT ${ROW_COLUMNS} FROM reports r WHERE r.removed_at IS NOT NULL ORDER BY r.removed_at DESC, r.id DESC LIMIT $1`;

const SELECT_TIMELINE_REPORT = `SELECT r.id, r.url, r.status, r.verdict, r.verdict_source, r.hosting_ip, r.hosting_country, r.hosting_asn,
    r.hosting_org, r.hosting_via_cdn, r.routing_flag, r.created_at, r.first_seen_live_at, r.last_seen_live_at, r.removed_at,
    r.last_checked_at, r.next_check_at, r.next_realert_at, r.hold_until, r.expires_at, r.reopen_count,
    ARRAY(SELECT rf.force_id FROM report_forces rf WHERE rf.report_id = r.id ORDER BY rf.force_id) AS forces
  FROM reports r WHERE r.id = $1`;
const SELECT_TIMELINE_CHECKS = `SELECT * FROM (
    SELECT id, outcome, reason, http_status, vantage, started_at, duration_ms, status_after
    FROM checks WHERE report_id = $1 ORDER BY started_at DESC, id DESC LIMIT ${TIMELINE_LIMIT}) c
  ORDER BY started_at, id`;
const SELECT_TIMELINE_TRACES = `SELECT * FROM (
    SELECT id, created_at, ip, country, asn, org, via_cdn
    FROM traces WHERE report_id = $1 ORDER BY created_at DESC, id DESC LIMIT ${TIMELINE_LIMIT}) t
  ORDER BY created_at, id`;
const SELECT_TIMELINE_NOTICES = `SELECT * FROM (
    SELECT id, kind, target, recipient_id, sequence, status, channel, attempts, created_at, sent_at, withdrawn_at, acked_at, ack_status,
           last_error, last_status
    FROM notices WHERE report_id = $1 ORDER BY created_at DESC, id DESC LIMIT ${TIMELINE_LIMIT}) n
  ORDER BY created_at, sequence, id`;
const SELECT_TIMELINE_AUDIT = `SELECT * FROM (
    SELECT seq, at, actor, action FROM audit_log
    WHERE subject_type = 'report' AND subject_id = $1 ORDER BY seq DESC LIMIT ${TIMELINE_LIMIT}) a
  ORDER BY seq`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Row {
  id: string;
  url: string;
  status: ReportStatus;
  hosting_country: string | null;
  hosting_asn: number | null;
  hosting_org: string | null;
  hosting_via_cdn: boolean | null;
  routing_flag: string | null;
  created_at: Date;
  first_seen_live_at: Date | null;
  removed_at: Date | null;
  next_realert_at: Date | null;
  created_key: string;
}

const toRow = (r: Row): AdminReportRow => ({
  id: r.id, url: r.url, status: r.status, country: r.hosting_country, asn: r.hosting_asn, org: r.hosting_org,
  viaCdn: r.hosting_via_cdn ?? false, routingFlag: r.routing_flag, createdAt: r.created_at, firstSeenLiveAt: r.first_seen_live_at,
  removedAt: r.removed_at, nextRealertAt: r.next_realert_at,
});

async function count(db: SqlClient, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

async function list(db: SqlClient, sql: string, params: unknown[]): Promise<AdminReportRow[]> {
  const { rows } = await db.query<Row>(sql, params);
  return rows.map(toRow);
}

export async function countReportsByStatus(db: SqlClient): Promise<Partial<Record<ReportStatus, number>>> {
  const { rows } = await db.query<{ status: ReportStatus; n: number }>(COUNT_BY_STATUS);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function adminOverview(db: SqlClient, now: Date, listLimit: number): Promise<AdminOverview> {
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  const counted = async (countSql: string, countParams: unknown[], listSql: string, listParams: unknown[]): Promise<CountedList> => {
    const [n, items] = await Promise.all([count(db, countSql, countParams), list(db, listSql, listParams)]);
    return { count: n, items };
  };
  const [byStatus, countries, overdueRealerts, routingFlagged, cdnFronted, recentRemovals] = await Promise.all([
    countReportsByStatus(db),
    db.query<{ country: string | null; live: number; notified: number }>(OPEN_BY_COUNTRY),
    counted(COUNT_OVERDUE, [now], LIST_OVERDUE, [now, listLimit]),
    counted(COUNT_FLAGGED, [], LIST_FLAGGED, [listLimit]),
    counted(COUNT_CDN, [], LIST_CDN, [listLimit]),
    counted(COUNT_REMOVED_SINCE, [weekAgo], LIST_RECENT_REMOVALS, [listLimit]),
  ]);
  return {
    byStatus,
    openByCountry: countries.rows.map((r) => ({ country: r.country, live: Number(r.live), notified: Number(r.notified) })),
    overdueRealerts,
    routingFlagged,
    cdnFronted,
    recentRemovals,
  };
}

/**
 * Reports newest first, filtered. The statement is put together from fixed fragments, one per
 * filter given, so each filter lets the planner use its index (no `$n IS NULL OR …`).
 */
export async function listAdminReports(db: SqlClient, filter: AdminReportFilter, page: { after: ReportListCursor | null; limit: number }): Promise<AdminReportPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => { params.push(value); return `$${params.length}`; };
  if (filter.status) where.push(`r.status = ${param(filter.status)}`);
  if (filter.country) where.push(`r.hosting_country = ${param(filter.country)}`);
  if (filter.asn !== undefined) where.push(`r.hosting_asn = ${param(filter.asn)}`);
  if (filter.flag === 'routing') where.push(FLAGGED);
  if (filter.flag === 'cdn') where.push(CDN);
  if (filter.flag === 'overdue') where.push(`r.status = 'notified' AND r.next_realert_at < ${param(filter.now ?? new Date(0))}`);
  if (page.after) where.push(`(r.created_at, r.id) < (${param(page.after.createdAt)}::timestamptz, ${param(page.after.id)}::uuid)`);
  const limit = param(page.limit + 1);
  const sql = `SELECT ${ROW_COLUMNS} FROM reports r ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit}`;
  const { rows } = await db.query<Row>(sql, params);
  const more = rows.length > page.limit;
  const items = (more ? rows.slice(0, page.limit) : rows);
  const last = items[items.length - 1];
  return { items: items.map(toRow), next: more && last ? { createdAt: last.created_key, id: last.id } : null };
}

interface TimelineReportRow {
  id: string;
  url: string;
  status: ReportStatus;
  verdict: Verdict | null;
  verdict_source: VerdictSource | null;
  hosting_ip: string | null;
  hosting_country: string | null;
  hosting_asn: number | null;
  hosting_org: string | null;
  hosting_via_cdn: boolean | null;
  routing_flag: string | null;
  created_at: Date;
  first_seen_live_at: Date | null;
  last_seen_live_at: Date | null;
  removed_at: Date | null;
  last_checked_at: Date | null;
  next_check_at: Date | null;
  next_realert_at: Date | null;
  hold_until: Date | null;
  expires_at: Date | null;
  reopen_count: number;
  forces: string[];
}

export async function getReportTimeline(db: SqlClient, id: string): Promise<ReportTimeline | null> {
  if (!UUID.test(id)) return null;
  const [report, checks, traces, notices, audit] = await Promise.all([
    db.query<TimelineReportRow>(SELECT_TIMELINE_REPORT, [id]),
    db.query<{ id: string; outcome: string; reason: string; http_status: number | null; vantage: string | null; started_at: Date; duration_ms: number; status_after: string }>(SELECT_TIMELINE_CHECKS, [id]),
    db.query<{ id: string; created_at: Date; ip: string | null; country: string | null; asn: number | null; org: string | null; via_cdn: boolean }>(SELECT_TIMELINE_TRACES, [id]),
    db.query<{
      id: string; kind: string; target: string; recipient_id: string; sequence: number; status: string; channel: string | null; attempts: number;
      created_at: Date; sent_at: Date | null; withdrawn_at: Date | null; acked_at: Date | null; ack_status: string | null; last_error: string | null; last_status: number | null;
    }>(SELECT_TIMELINE_NOTICES, [id]),
    db.query<{ seq: number; at: Date; actor: string; action: string }>(SELECT_TIMELINE_AUDIT, [id]),
  ]);
  const r = report.rows[0];
  if (!r) return null;
  return {
    id: r.id, url: r.url, status: r.status, verdict: r.verdict, verdictSource: r.verdict_source,
    country: r.hosting_country, asn: r.hosting_asn, org: r.hosting_org, ip: r.hosting_ip, viaCdn: r.hosting_via_cdn ?? false,
    routingFlag: r.routing_flag, createdAt: r.created_at, firstSeenLiveAt: r.first_seen_live_at, lastSeenLiveAt: r.last_seen_live_at,
    removedAt: r.removed_at, lastCheckedAt: r.last_checked_at, nextCheckAt: r.next_check_at, nextRealertAt: r.next_realert_at,
    holdUntil: r.hold_until, expiresAt: r.expires_at, reopenCount: r.reopen_count, forces: r.forces ?? [],
    checks: checks.rows.map((c) => ({
      id: c.id, outcome: c.outcome, reason: c.reason, httpStatus: c.http_status, vantage: c.vantage, startedAt: c.started_at,
      durationMs: c.duration_ms, statusAfter: c.status_after,
    })),
    traces: traces.rows.map((t) => ({ id: t.id, createdAt: t.created_at, ip: t.ip, country: t.country, asn: t.asn, org: t.org, viaCdn: t.via_cdn })),
    notices: notices.rows.map((n) => ({
      id: n.id, kind: n.kind, target: n.target, recipient: n.recipient_id, sequence: n.sequence, status: n.status, channel: n.channel,
      attempts: n.attempts, createdAt: n.created_at, sentAt: n.sent_at, withdrawnAt: n.withdrawn_at, ackedAt: n.acked_at, ackStatus: n.ack_status,
      lastError: n.last_error, lastStatus: n.last_status,
    })),
    audit: audit.rows.map((a) => ({ seq: Number(a.seq), at: a.at, actor: a.actor, action: a.action })),
  };
}
