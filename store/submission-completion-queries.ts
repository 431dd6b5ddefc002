/**
 * Submission completion: a submission is complete when every item's report has had its first
 * check (nothing is still pending unchecked) and every report seen live has a trace. Completing
 * sets `completed_at` and, where the force registered a webhook, writes its
 * `submission.completed` notice to the outbox in the same transaction.
 *
 * Run periodically by the scheduler rather than after every check: the "anything still open?"
 * probe stops at the first open item, so it is cheap while a submission is incomplete, and a
 * 100,000-item submission is scanned once per round only near its end.
 */
import { noticeForSubmissionCompleted } from '../core/notice-cadence.js';
import { insertNotices } from './notice-queries.js';
import type { SqlClient } from './sql-client.js';

const INCOMPLETE = `SELECT s.id, s.force_id, (f.webhook_url IS NOT NULL) AS has_webhook
  FROM submissions s JOIN forces f ON f.id = s.force_id
  WHERE s.completed_at IS NULL
  ORDER BY s.created_at
  LIMIT $1`;

const STILL_OPEN = `SELECT 1 FROM submission_items si JOIN reports r ON r.id = si.report_id
  WHERE si.submission_id = $1
    AND ((r.status = 'pending' AND r.last_checked_at IS NULL)
      OR (r.first_seen_live_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.report_id = r.id)))
  LIMIT 1`;

const MARK_COMPLETE = 'UPDATE submissions SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL RETURNING id';

/** @returns the ids of the submissions completed now (oldest `limit` incomplete ones looked at) */
export async function completeSubmissions(db: SqlClient, now: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string; force_id: string; has_webhook: boolean }>(INCOMPLETE, [limit]);
  const completed: string[] = [];
  for (const s of rows) {
    const open = await db.query(STILL_OPEN, [s.id]);
    if (open.rows.length > 0) continue;
    const done = await db.transaction(async (tx) => {
      const marked = await tx.query(MARK_COMPLETE, [s.id, now]);
      if (marked.rowCount === 0) return false; // another scheduler did it
      const notice = noticeForSubmissionCompleted({ submissionId: s.id, forceId: s.force_id, forceHasWebhook: s.has_webhook });
      if (notice) await insertNotices(tx, [notice], now);
      return true;
    });
    if (done) completed.push(s.id);
  }
  return completed;
}
