/**
 * The report state machine outside of checks (CONTRACT.md §4): verdicts, notices going out,
 * expiry, the watch after removal, evidence holds. What a check does to a report is in
 * check-transition.ts, which builds on these. Pure: `now` is an argument.
 *
 * | from | on | to |
 * |---|---|---|
 * | pending | check `live` | `live` |
 * | pending | check `gone` | `unreachable` (never seen live) |
 * | pending, unreachable | check `inconclusive` | unchanged (pending retries sooner) |
 * | pending, unreachable | check `refused` | `refused` |
 * | unreachable | check `live` | `live` |
 * | live, notified | N × `gone` spanning the window | `removed` (see removal-policy.ts) |
 * | live | notices went out (verdict illegal) | `notified` |
 * | removed | check `live` | reopened: `notified` (verdict illegal: the reappearance is news to send), else `live` |
 * | removed | `watchAfterRemoval` passed | stays `removed`, never checked again |
 * | pending, live, notified, unreachable | `expireAfter` passed | `expired` |
 * | any monitored status | verdict not illegal (given, or found at a check) | `rejected` |
 * | rejected | verdict illegal | `pending`, checked at once |
 *
 * `live` means "reachable, notices not out": either no verdict yet, or a verdict `illegal` whose
 * initial notices are not yet confirmed sent (the notifier's step, or an evidence hold keeps them
 * back). The move `live` → `notified` is made when the notifier says notices went out
 * ({@link statusAfterNoticesSent}), never by a check or a verdict alone: `notified` must mean
 * someone was told.
 */
import type { ReportStatus, Verdict, VerdictSource } from './report-status.js';

/** Never checked again, whatever happens. */
export const TERMINAL_STATUSES: ReadonlySet<ReportStatus> = new Set(['rejected', 'refused', 'expired']);

/** Statuses that run out at `expireAfter` (monitoring without removal). `removed` ends by its watch instead. */
export const EXPIRING_STATUSES: ReadonlySet<ReportStatus> = new Set(['pending', 'live', 'notified', 'unreachable']);

export function isTerminal(status: ReportStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** The monitoring limits (`schedule.watchAfterRemoval`, `schedule.expireAfter`), in ms. */
export interface MonitoringLimits {
  watchAfterRemovalMs: number;
  expireAfterMs: number;
}

/**
 * When monitoring of a report not removed by then ends: its own `expiresAt` when set (a report
 * reopened after removal starts a new period), else `createdAt + expireAfter`.
 */
export function expiryTime(report: { createdAt: Date; expiresAt: Date | null }, limits: MonitoringLimits): Date {
  return report.expiresAt ?? new Date(report.createdAt.getTime() + limits.expireAfterMs);
}

/** When the watch of a removed report for reappearance ends; null when it is not removed. */
export function watchEndTime(report: { removedAt: Date | null }, limits: MonitoringLimits): Date | null {
  return report.removedAt === null ? null : new Date(report.removedAt.getTime() + limits.watchAfterRemovalMs);
}

/**
 * The evidence hold (`POST /v1/reports/:id/hold`): no notice of any kind goes out before the
 * returned time; null when no hold is in force at `now`. Checks and status changes go on as
 * usual: a held report that is live stays `live` (its notices wait), and one removed while held
 * is `removed` without a notice ever having been sent.
 */
export function noticesSuppressedUntil(report: { holdUntil: Date | null }, now: Date): Date | null {
  return report.holdUntil !== null && report.holdUntil.getTime() > now.getTime() ? report.holdUntil : null;
}

const SOURCE_RANK: Record<VerdictSource, number> = { submission: 1, hash_list: 2, analyst: 3 };

/**
 * Whether a verdict from `incoming` replaces one from `current`: an analyst's verdict stands
 * over a hash-list match, which stands over what the submission said; a later verdict of the
 * same standing replaces an earlier one.
 */
export function verdictPrevails(current: VerdictSource | null, incoming: VerdictSource): boolean {
  return current === null || SOURCE_RANK[incoming] >= SOURCE_RANK[current];
}

export interface VerdictOutcome {
  status: ReportStatus;
  /** `now`: check at once; `keep`: the schedule stays; `never`: no further checks */
  check: 'now' | 'keep' | 'never';
}

/**
 * What a report's status becomes when a verdict is given (by an analyst, a hash-list match, or
 * the submission).
 * - `not_illegal` ends monitoring: every monitored status becomes `rejected`.
 * - `illegal` keeps the status: a `live` report stays `live` until the notifier has sent its
 *   notices ({@link statusAfterNoticesSent}); a `rejected` report is monitored again, as
 *   `pending` with a check at once (the earlier verdict was overturned).
 * `refused` (vigil may not fetch it) and `expired` stay as they are.
 */
export function statusOnVerdict(current: ReportStatus, verdict: Verdict): VerdictOutcome {
  if (current === 'refused' || current === 'expired') return { status: current, check: 'never' };
  if (verdict === 'not_illegal') return { status: 'rejected', check: 'never' };
  if (current === 'rejected') return { status: 'pending', check: 'now' };
  return { status: current, check: 'keep' };
}

/**
 * The notifier's arrival: once the initial notices of a report have gone out, a `live` report
 * with an `illegal` verdict becomes `notified`. Anything else is unchanged (a report removed or
 * rejected meanwhile stays so).
 */
export function statusAfterNoticesSent(current: ReportStatus, verdict: Verdict | null): ReportStatus {
  return current === 'live' && verdict === 'illegal' ? 'notified' : current;
}
