/**
 * A verdict applied to the lifecycle: the verdict, its source, the status it gives
 * (core/report-lifecycle.ts `statusOnVerdict`, decided by the caller) and the schedule, with the
 * audit row, in one transaction, compare-and-set on `state_version` like a check
 * (store/report-queries.ts `recordCheck`), which it bumps: a check computed from the state before
 * the verdict is then recomputed from the new one instead of overwriting it.
 */
import type { Verdict, VerdictSource } from '../core/report-status.js';
import type { AppliedVerdict, AppliedVerdictResult } from '../core/store.js';
import { appendAudit } from './audit-queries.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

const LOCK = 'SELECT verdict, verdict_source, state_version FROM reports WHERE id = $1 FOR UPDATE';
// $5: whether the schedule changes ($6 the new due time; NULL = never again)
const APPLY = `UPDATE reports SET verdict = $2, verdict_source = $3, status = $4,
    next_check_at = CASE WHEN $5::boolean THEN $6::timestamptz ELSE next_check_at END,
    dispatch_at = CASE WHEN $5::boolean THEN $6::timestamptz ELSE dispatch_at END,
    state_version = state_version + 1
  WHERE id = $1`;

export async function applyVerdict(db: SqlClient, input: AppliedVerdict): Promise<AppliedVerdictResult | null> {
  if (!isReportId(input.reportId)) return null;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ verdict: Verdict | null; verdict_source: VerdictSource | null; state_version: number }>(LOCK, [input.reportId]);
    const row = rows[0];
    if (!row) return null;
    const previous = { verdict: row.verdict, source: row.verdict_source };
    if (Number(row.state_version) !== input.expectVersion) return { conflict: true, previous };
    await tx.query(APPLY, [input.reportId, input.verdict, input.source, input.status, input.nextCheckAt !== undefined, input.nextCheckAt ?? null]);
    await appendAudit(tx, { ...input.audit, detail: { ...input.audit.detail, previous } });
    return { previous };
  });
}
