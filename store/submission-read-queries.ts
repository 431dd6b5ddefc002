/**
 * Reading submissions back: one page of items with the submission's counts (the API's
 * `GET /v1/submissions/:id` and the CSV report), and the receipt a retried submission replays.
 *
 * Every query is scoped: `$2` is the caller's force (NULL for operators), checked against the
 * submission's owner in the same statement that reads the data.
 */
import type { ReportStatus } from '../core/report-status.js';
import type { RejectedItem, Scope, SubmissionPage, SubmissionPageItem, SubmissionPageRequest, SubmissionReceipt } from '../core/store.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import type { SqlClient } from './sql-client.js';

/** the most items one page may hold */
export const MAX_PAGE_ITEMS = 10_000;

const SELECT_HEADER = `SELECT id, force_id, reference, created_at, completed_at, item_count, accepted, duplicates, rejected_count
  FROM submissions WHERE id = $1 AND ($2::text IS NULL OR force_id = $2)`;

const SELECT_COUNTS = `SELECT r.status, count(*) AS n
  FROM submission_items si
  JOIN submissions s ON s.id = si.submission_id AND ($2::text IS NULL OR s.force_id = $2)
  JOIN reports r ON r.id = si.report_id
  WHERE si.submission_id = $1
  GROUP BY r.status`;

const SELECT_PAGE = `SELECT si.line, si.input, r.id, r.url, r.status, r.first_seen_live_at, r.last_seen_live_at, r.removed_at,
         ${HOSTING_COLUMNS}, (SELECT count(*) FROM notices n WHERE n.report_id = r.id) AS notices
  FROM submission_items si
  JOIN submissions s ON s.id = si.submission_id AND ($2::text IS NULL OR s.force_id = $2)
  JOIN reports r ON r.id = si.report_id
  WHERE si.submission_id = $1 AND si.line > $3
  ORDER BY si.line
  LIMIT $4`;

const SELECT_REJECTIONS = `SELECT sr.line, sr.input, sr.error
  FROM submission_rejections sr
  JOIN submissions s ON s.id = sr.submission_id AND ($2::text IS NULL OR s.force_id = $2)
  WHERE sr.submission_id = $1
  ORDER BY sr.line`;

interface HeaderRow {
  id: string;
  force_id: string;
  reference: string | null;
  created_at: Date;
  completed_at: Date | null;
  item_count: number;
  accepted: number | null;
  duplicates: number | null;
  rejected_count: number;
}

interface PageRow extends HostingRow {
  line: number;
  input: string;
  id: string;
  url: string;
  status: ReportStatus;
  first_seen_live_at: Date | null;
  last_seen_live_at: Date | null;
  removed_at: Date | null;
  notices: number;
}

async function header(db: SqlClient, id: string, scope: Scope): Promise<HeaderRow | null> {
  const { rows } = await db.query<HeaderRow>(SELECT_HEADER, [id, scope.forceId]);
  return rows[0] ?? null;
}

const toItem = (r: PageRow): SubmissionPageItem => ({
  line: r.line,
  input: r.input,
  reportId: r.id,
  url: r.url,
  status: r.status,
  hosting: toHosting(r),
  firstSeenLiveAt: r.first_seen_live_at,
  lastSeenLiveAt: r.last_seen_live_at,
  removedAt: r.removed_at,
  notices: r.notices,
});

/**
 * The submission's header, item counts per report status (unless `counts: false`: `{}`), and up
 * to `limit` items after line `afterLine`; null when it does not exist or is outside `scope`.
 */
export async function getSubmissionPage(db: SqlClient, id: string, scope: Scope, page: SubmissionPageRequest): Promise<SubmissionPage | null> {
  const head = await header(db, id, scope);
  if (!head) return null;
  const limit = Math.max(1, Math.min(MAX_PAGE_ITEMS, Math.floor(page.limit)));
  const [counted, listed] = await Promise.all([
    page.counts === false ? { rows: [] } : db.query<{ status: ReportStatus; n: number }>(SELECT_COUNTS, [id, scope.forceId]),
    // one more than asked: whether there is a next page, without a count
    db.query<PageRow>(SELECT_PAGE, [id, scope.forceId, page.afterLine ?? 0, limit + 1]),
  ]);
  const counts: Partial<Record<ReportStatus, number>> = {};
  for (const row of counted.rows) counts[row.status] = row.n;
  const rows = listed.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  return {
    id: head.id,
    force: head.force_id,
    reference: head.reference,
    createdAt: head.created_at,
    completedAt: head.completed_at,
    itemCount: head.item_count,
    accepted: head.accepted,
    duplicates: head.duplicates,
    rejectedCount: head.rejected_count,
    counts,
    items: rows.map(toItem),
    nextAfterLine: listed.rows.length > limit && last ? last.line : null,
  };
}

/** What the 202 answer of the submission said; null outside `scope`. */
export async function getSubmissionReceipt(db: SqlClient, id: string, scope: Scope): Promise<SubmissionReceipt | null> {
  const head = await header(db, id, scope);
  if (!head) return null;
  const { rows } = await db.query<RejectedItem>(SELECT_REJECTIONS, [id, scope.forceId]);
  return {
    id: head.id,
    accepted: head.accepted ?? 0,
    duplicates: head.duplicates ?? 0,
    rejected: rows.map((r) => ({ line: r.line, input: r.input, error: r.error })),
  };
}
