/**
 * Submissions: intake of up to 100,000 URLs in one transaction, and the owner's view of them
 * (paged views and receipts: submission-read-queries.ts).
 *
 * Intake is batched: each statement carries up to {@link CHUNK} rows as arrays (`unnest`), so a
 * 100,000-item submission is a few dozen statements, not 100,000 round trips.
 */
import { VigilError } from '../core/errors.js';
import type { ReportStatus } from '../core/report-status.js';
import type { NewSubmission, NewSubmissionItem, Scope, SubmissionCreated, SubmissionItemView, SubmissionView } from '../core/store.js';
import { FOREIGN_KEY_VIOLATION, sqlState } from './db-errors.js';
import { appendAudit } from './audit-queries.js';
import { HOSTING_COLUMNS, toHosting, type HostingRow } from './hosting-columns.js';
import { claimIdempotencyKey } from './idempotency-queries.js';
import type { SqlClient } from './sql-client.js';

/** rows per multi-row statement: large enough to amortise round trips (measured: 20,000 beats 5,000 on the embedded store), small enough to bound memory */
export const CHUNK = 20_000;

const INSERT_SUBMISSION = `INSERT INTO submissions (id, force_id, reference, item_count, created_at)
  VALUES ($1, $2, $3, $4, $5)`;

// New URLs become reports; a URL already monitored conflicts and is returned by SELECT_REPORT_IDS.
// $8 is the submission time: created_at, and the first check is due then (never for refused URLs).
// $9: whether a submitted digest is in the hash list — then the verdict is `illegal` from `hash_list`.
const INSERT_REPORTS = `INSERT INTO reports (url, status, verdict, verdict_source, sha256, sha1, md5, registrable_domain, created_at, next_check_at, dispatch_at)
  SELECT u.url, u.status,
         CASE WHEN u.listed THEN 'illegal' ELSE u.verdict END,
         CASE WHEN u.listed THEN 'hash_list' WHEN u.verdict IS NULL THEN NULL ELSE 'submission' END,
         u.sha256, u.sha1, u.md5, u.domain, $8::timestamptz, CASE WHEN u.status = 'pending' THEN $8::timestamptz END,
         CASE WHEN u.status = 'pending' THEN $8::timestamptz END
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::boolean[])
    AS u(url, status, verdict, sha256, sha1, md5, domain, listed)
  ON CONFLICT (url) DO NOTHING
  RETURNING id, url`;

const SELECT_REPORT_IDS = 'SELECT id, url FROM reports WHERE url = ANY($1::text[])';

// A URL submitted again whose monitoring has ended is monitored again (CONTRACT.md §4: a URL
// already *monitored* is linked, not monitored twice — one no longer monitored is news). $1: the
// URLs that were not inserted; $2: now; $3: schedule.expireAfter in ms. `expired` → `pending` with
// a new period and a new episode (reopen_count: the notices of the earlier one are not repeats);
// `removed` whose watch ended (no check due) → a check now, left to the lifecycle. state_version:
// a check computed from the old state applies nothing.
const RESTART_ENDED = `UPDATE reports SET
    status = CASE WHEN status = 'expired' THEN 'pending' ELSE status END,
    reopen_count = CASE WHEN status = 'expired' THEN reopen_count + 1 ELSE reopen_count END,
    expires_at = CASE WHEN status = 'expired' THEN $2::timestamptz + $3::double precision * interval '1 millisecond' ELSE expires_at END,
    gone_streak = 0, gone_since = NULL,
    next_check_at = $2::timestamptz, dispatch_at = $2::timestamptz, state_version = state_version + 1
  WHERE url = ANY($1::text[]) AND (status = 'expired' OR (status = 'removed' AND next_check_at IS NULL))
  RETURNING id`;

/** `schedule.expireAfter`'s default, for callers that do not pass theirs */
const DEFAULT_EXPIRE_AFTER_MS = 90 * 86_400_000;

const INSERT_REJECTIONS = `INSERT INTO submission_rejections (submission_id, line, input, error)
  SELECT $1, u.line, u.input, u.error FROM unnest($2::int[], $3::text[], $4::text[]) AS u(line, input, error)`;

const UPDATE_RECEIPT = 'UPDATE submissions SET accepted = $2, duplicates = $3, rejected_count = $4 WHERE id = $1';

/** rejected input kept (characters): enough to recognise the line */
export const MAX_REJECTED_INPUT = 2048;

const INSERT_REPORT_FORCES = `INSERT INTO report_forces (report_id, force_id, created_at)
  SELECT u.report_id, $2, $3 FROM unnest($1::uuid[]) AS u(report_id)
  ON CONFLICT (report_id, force_id) DO NOTHING`;

const INSERT_SUBMISSION_ITEMS = `INSERT INTO submission_items (submission_id, line, input, report_id, sha256, sha1, md5, verdict)
  SELECT $1, u.line, u.input, u.report_id, u.sha256, u.sha1, u.md5, u.verdict
  FROM unnest($2::int[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[])
    AS u(line, input, report_id, sha256, sha1, md5, verdict)`;

// Scoped twice over: a force reaches only its own submission, and its items only through it.
const SELECT_SUBMISSION = `SELECT id, force_id, reference, created_at, completed_at FROM submissions
  WHERE id = $1 AND ($2::text IS NULL OR force_id = $2)`;

const SELECT_SUBMISSION_ITEMS = `SELECT r.id, r.url, r.status, r.first_seen_live_at, r.removed_at, ${HOSTING_COLUMNS}
  FROM submission_items si
  JOIN submissions s ON s.id = si.submission_id AND ($2::text IS NULL OR s.force_id = $2)
  JOIN reports r ON r.id = si.report_id
  WHERE si.submission_id = $1
  ORDER BY si.line`;

interface SubmissionRow {
  id: string;
  force_id: string;
  reference: string | null;
  created_at: Date;
  completed_at: Date | null;
}

interface ItemRow extends HostingRow {
  id: string;
  url: string;
  status: ReportStatus;
  first_seen_live_at: Date | null;
  removed_at: Date | null;
}

function chunks<T>(values: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += CHUNK) out.push(values.slice(i, i + CHUNK));
  return out;
}

const lower = (digest: string | null | undefined): string | null => (digest ? digest.toLowerCase() : null);

/** url → report id for every distinct URL; `created` holds those this call created. */
async function upsertReports(
  tx: SqlClient, firstByUrl: Map<string, NewSubmissionItem>, now: Date, expireAfterMs: number,
): Promise<{ ids: Map<string, string>; created: number; restarted: number }> {
  // One global order for every submission: two submissions racing on overlapping URLs wait for
  // each other in the same order, so they cannot deadlock.
  const urls = [...firstByUrl.keys()].sort();
  const ids = new Map<string, string>();
  let created = 0;
  let restarted = 0;
  for (const part of chunks(urls)) {
    const items = part.map((url) => firstByUrl.get(url) as NewSubmissionItem);
    const inserted = await tx.query<{ id: string; url: string }>(INSERT_REPORTS, [
      part,
      items.map((i) => i.initialStatus),
      items.map((i) => i.verdict ?? null),
      items.map((i) => lower(i.sha256)),
      items.map((i) => lower(i.sha1)),
      items.map((i) => lower(i.md5)),
      items.map((i) => i.registrableDomain ?? null),
      now,
      items.map((i) => i.hashListMatch === true),
    ]);
    for (const row of inserted.rows) ids.set(row.url, row.id);
    created += inserted.rows.length;
    const existing = part.filter((url) => !ids.has(url));
    if (existing.length > 0) {
      const found = await tx.query<{ id: string; url: string }>(SELECT_REPORT_IDS, [existing]);
      for (const row of found.rows) ids.set(row.url, row.id);
      restarted += (await tx.query<{ id: string }>(RESTART_ENDED, [existing, now, expireAfterMs])).rows.length;
    }
  }
  const missing = urls.find((url) => !ids.has(url));
  if (missing !== undefined) throw new Error(`report for ${missing} neither inserted nor found`);
  return { ids, created, restarted };
}

/**
 * One transaction: the submission (with its idempotency key, when given), a report per new
 * normalised URL (and monitoring started again for a known one that had ended: RESTART_ENDED),
 * links from the force to every report, one item per submitted line, the
 * rejected lines, the receipt counts and the audit row.
 * @throws VigilError FORCE_UNKNOWN; IDEMPOTENCY_CONFLICT when the key is taken (nothing written)
 */
export async function createSubmission(db: SqlClient, submission: NewSubmission): Promise<SubmissionCreated> {
  const { id, forceId, reference, items, now } = submission;
  const rejected = submission.rejected ?? [];
  return db.transaction(async (tx) => {
    try {
      await tx.query(INSERT_SUBMISSION, [id, forceId, reference, items.length, now]);
    } catch (err) {
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new VigilError('FORCE_UNKNOWN', `force ${forceId} does not exist`, { cause: err });
      throw err;
    }
    // First, so a retry racing the original waits here (on the key's unique index) and then
    // fails fast, before any of the heavy work.
    if (submission.idempotency) await claimIdempotencyKey(tx, forceId, id, submission.idempotency, now);

    const firstByUrl = new Map<string, NewSubmissionItem>();
    for (const item of items) if (!firstByUrl.has(item.url)) firstByUrl.set(item.url, item);
    const { ids, created, restarted } = await upsertReports(tx, firstByUrl, now, submission.expireAfterMs ?? DEFAULT_EXPIRE_AFTER_MS);

    const reportIds = [...new Set(ids.values())].sort();
    for (const part of chunks(reportIds)) await tx.query(INSERT_REPORT_FORCES, [part, forceId, now]);

    for (const part of chunks(items)) {
      await tx.query(INSERT_SUBMISSION_ITEMS, [
        id,
        part.map((i) => i.line),
        part.map((i) => i.input),
        part.map((i) => ids.get(i.url)),
        part.map((i) => lower(i.sha256)),
        part.map((i) => lower(i.sha1)),
        part.map((i) => lower(i.md5)),
        part.map((i) => i.verdict ?? null),
      ]);
    }
    for (const part of chunks(rejected)) {
      await tx.query(INSERT_REJECTIONS, [id, part.map((r) => r.line), part.map((r) => r.input.slice(0, MAX_REJECTED_INPUT)), part.map((r) => r.error)]);
    }
    const result = { id, accepted: created, duplicates: items.length - created, restarted };
    await tx.query(UPDATE_RECEIPT, [id, result.accepted, result.duplicates, rejected.length]);
    if (submission.audit) await appendAudit(tx, submission.audit);
    return result;
  });
}

/** The submission with its items (by line) and item counts per report status; null outside `scope`. */
export async function getSubmission(db: SqlClient, id: string, scope: Scope): Promise<SubmissionView | null> {
  const { rows } = await db.query<SubmissionRow>(SELECT_SUBMISSION, [id, scope.forceId]);
  const row = rows[0];
  if (!row) return null;
  const itemRows = await db.query<ItemRow>(SELECT_SUBMISSION_ITEMS, [id, scope.forceId]);
  const counts: Partial<Record<ReportStatus, number>> = {};
  const itemViews: SubmissionItemView[] = itemRows.rows.map((r) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    return { reportId: r.id, url: r.url, status: r.status, hosting: toHosting(r), firstSeenLiveAt: r.first_seen_live_at, removedAt: r.removed_at };
  });
  return {
    id: row.id,
    force: row.force_id,
    reference: row.reference,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    counts,
    items: itemViews,
  };
}
