/**
 * The check job: load the report, fetch its URL once, let core decide the outcome and the next
 * status, persist. Applying the same job twice (BullMQ is at-least-once) changes state once:
 * the check id is the job's stable id and the store ignores a repeat.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { classifyOutcome, type ClassifyRules } from '../core/classify-outcome.js';
import { transitionAfterCheck, type RecheckSchedule } from '../core/check-transition.js';
import type { Fetcher } from '../core/fetcher.js';
import type { CheckOutcome } from '../core/report-status.js';
import type { Store } from '../core/store.js';

export interface CheckJobDeps {
  store: Store;
  fetcher: Fetcher;
  clock: Clock;
  rules: ClassifyRules;
  schedule: RecheckSchedule;
  log: Logger;
}

export interface CheckJobResult {
  outcome: CheckOutcome | null;
  reason: string;
  applied: boolean;
}

export async function runCheckJob(job: { checkId: string; reportId: string }, deps: CheckJobDeps, signal?: AbortSignal): Promise<CheckJobResult> {
  const log = deps.log.child({ reportId: job.reportId, checkId: job.checkId });
  const report = await deps.store.getReportForCheck(job.reportId);
  if (!report) {
    log.warn('check job for a report that does not exist; dropped');
    return { outcome: null, reason: 'report_missing', applied: false };
  }
  const startedAt = deps.clock.now();
  const result = await deps.fetcher.fetch({ url: report.url, signal });
  const { outcome, reason } = classifyOutcome(result, deps.rules);
  const finishedAt = deps.clock.now();
  const { nextStatus, nextCheckAt } = transitionAfterCheck(report, outcome, finishedAt, deps.schedule);
  const { applied } = await deps.store.recordCheck({
    id: job.checkId,
    reportId: report.id,
    outcome,
    reason,
    httpStatus: result.kind === 'response' ? result.status : null,
    vantage: null,
    startedAt,
    durationMs: result.durationMs,
    nextStatus,
    nextCheckAt,
  });
  // Outcome and reason only: never the body, the text sample or response headers.
  log.info({ outcome, reason, status: nextStatus, applied, durationMs: result.durationMs }, 'check done');
  return { outcome, reason, applied };
}
