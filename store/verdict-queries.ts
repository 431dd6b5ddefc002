/**
 * Verdicts given by analysts (and, later, other sources): the report's verdict and its source
 * change together with the audit row that records who gave it, in one transaction.
 *
 * The report's status is not decided here: what a verdict means for the lifecycle (notices,
 * `rejected`) is for the core rules applied at the report's next check.
 */
import type { Verdict, VerdictSource } from '../core/report-status.js';
import type { NewVerdict } from '../core/store.js';
import { appendAudit } from './audit-queries.js';
import type { SqlClient } from './sql-client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// FOR UPDATE: two analysts deciding at once are recorded one after the other, each with the
// verdict it really replaced.
const SELECT_FOR_UPDATE = 'SELECT verdict, verdict_source FROM reports WHERE id = $1 FOR UPDATE';
const UPDATE_VERDICT = 'UPDATE reports SET verdict = $2, verdict_source = $3 WHERE id = $1';

/** @returns the verdict it replaced; null when no such report (nothing written) */
export async function setVerdict(
  db: SqlClient, input: NewVerdict,
): Promise<{ previous: { verdict: Verdict | null; source: VerdictSource | null } } | null> {
  if (!UUID.test(input.reportId)) return null;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ verdict: Verdict | null; verdict_source: VerdictSource | null }>(SELECT_FOR_UPDATE, [input.reportId]);
    const row = rows[0];
    if (!row) return null;
    await tx.query(UPDATE_VERDICT, [input.reportId, input.verdict, input.source]);
    const previous = { verdict: row.verdict, source: row.verdict_source };
    await appendAudit(tx, { ...input.audit, detail: { ...input.audit.detail, previous } });
    return { previous };
  });
}
