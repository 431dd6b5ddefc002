/**
 * What a report's status becomes after a check, and when it is next due. Pure: `now` is an
 * argument.
 *
 * This is the first-check part of the report state machine (CONTRACT.md §4): a pending report
 * becomes `live`, `unreachable` (never seen live) or `refused`, or stays `pending` after an
 * inconclusive check. Removal confirmation, re-alerts and expiry belong to the lifecycle rules
 * and are not decided here yet: after the first check, a report keeps its status and is simply
 * rechecked on the cadence of that status.
 */
import type { CheckOutcome, ReportStatus, Verdict } from './report-status.js';

/** Recheck intervals per status, in milliseconds (`schedule.recheck`). */
export interface RecheckSchedule {
  live: number;
  notified: number;
  removed: number;
  unreachable: number;
  /** retry interval for a pending report whose first check was inconclusive */
  pendingRetry: number;
}

export interface CheckTransition {
  nextStatus: ReportStatus;
  /** null: never checked again */
  nextCheckAt: Date | null;
}

const TERMINAL: ReadonlySet<ReportStatus> = new Set(['rejected', 'refused', 'expired']);

export function statusAfterCheck(current: ReportStatus, verdict: Verdict | null, outcome: CheckOutcome): ReportStatus {
  if (TERMINAL.has(current)) return current;
  if (outcome === 'refused') return 'refused';
  if (current !== 'pending') return current;
  switch (outcome) {
    case 'live':
      return verdict === 'not_illegal' ? 'rejected' : 'live';
    case 'gone':
      return 'unreachable';
    case 'inconclusive':
      return 'pending';
  }
}

export function nextCheckDelay(status: ReportStatus, schedule: RecheckSchedule): number | null {
  switch (status) {
    case 'pending':
      return schedule.pendingRetry;
    case 'live':
      return schedule.live;
    case 'notified':
      return schedule.notified;
    case 'removed':
      return schedule.removed;
    case 'unreachable':
      return schedule.unreachable;
    case 'rejected':
    case 'refused':
    case 'expired':
      return null;
  }
}

export function transitionAfterCheck(
  report: { status: ReportStatus; verdict: Verdict | null },
  outcome: CheckOutcome,
  now: Date,
  schedule: RecheckSchedule,
): CheckTransition {
  const nextStatus = statusAfterCheck(report.status, report.verdict, outcome);
  const delay = nextCheckDelay(nextStatus, schedule);
  return { nextStatus, nextCheckAt: delay === null ? null : new Date(now.getTime() + delay) };
}
