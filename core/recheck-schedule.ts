/**
 * When a report is next checked (`schedule.recheck`, CONTRACT.md §3): an interval per status,
 * spread by jitter so that reports submitted together do not come due together for ever. Pure:
 * `now` and the random source are arguments.
 *
 * Why jitter: a 100,000-line submission makes 100,000 reports due in the same second; without a
 * spread they are rechecked in the same second every hour after, a thundering herd on the queue,
 * the workers and the hosts they fetch from. ±10 % of the interval decorrelates them within a few
 * cycles and moves no single check by more than a tenth of its cadence.
 */
import type { RandomSource } from './clock.js';
import type { ReportStatus } from './report-status.js';

/** Recheck intervals per status, in milliseconds (`schedule.recheck`). */
export interface RecheckSchedule {
  live: number;
  notified: number;
  removed: number;
  unreachable: number;
  /** retry interval for a pending report whose first check was inconclusive */
  pendingRetry: number;
}

/** ±10 % of the interval. @default 0.1 */
export const DEFAULT_JITTER = 0.1;

/** Longest retry of a first check that was inconclusive: a new report should not wait hours. */
export const MAX_PENDING_RETRY_MS = 15 * 60_000;

/** The interval for `status`; null for statuses that are never checked again. */
export function recheckInterval(status: ReportStatus, schedule: RecheckSchedule): number | null {
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

/**
 * `ms` moved by up to ±`fraction` of itself: `ms × (1 + fraction × (2r − 1))` for r from `random`,
 * rounded to whole milliseconds (job ids carry epoch milliseconds).
 * @param fraction @default 0.1
 * @throws RangeError when `fraction` is outside [0, 1) or `random` returns outside [0, 1)
 */
export function jitter(ms: number, random: RandomSource, fraction = DEFAULT_JITTER): number {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`jitter fraction must be in [0, 1): ${fraction}`);
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random source returned ${r}, outside [0, 1)`);
  return Math.round(ms * (1 + fraction * (2 * r - 1)));
}

/**
 * The next check of a report that is (now) in `status`: `now` + its interval, jittered; null for a
 * status that is never checked again. Callers clamp it further (expiry, end of the watch,
 * removal window): see check-transition.ts.
 */
export function nextCheckTime(status: ReportStatus, now: Date, schedule: RecheckSchedule, random: RandomSource, fraction = DEFAULT_JITTER): Date | null {
  const interval = recheckInterval(status, schedule);
  if (interval === null) return null;
  return new Date(now.getTime() + jitter(interval, random, fraction));
}

/** `schedule.recheck` plus the derived pending retry: min(15 min, the `unreachable` interval). */
export function recheckScheduleOf(recheck: { live: number; notified: number; removed: number; unreachable: number }): RecheckSchedule {
  return { ...recheck, pendingRetry: Math.min(MAX_PENDING_RETRY_MS, recheck.unreachable) };
}
