/**
 * What one check does to a report (CONTRACT.md §4): its next status, the removal streak, the
 * removal date, reopening, expiry, and when it is next due. The full state machine for checks;
 * verdicts, notices and holds are in report-lifecycle.ts. Pure: `now` and the random source are
 * arguments.
 *
 * Order of the rules, for one check with `outcome` observed at `check.at`:
 * 1. a terminal status (rejected, refused, expired) never changes and is never checked again;
 * 2. a verdict found by the check (a hash-list match) is merged first, if it prevails;
 * 3. a verdict of not illegal makes the report `rejected`, whatever the check saw; otherwise the
 *    outcome moves the status (table in report-lifecycle.ts; streak in removal-policy.ts);
 * 4. a report still monitored without removal whose expiry has passed becomes `expired`;
 * 5. the next check: the new status's interval with ±10 % jitter, but no later than the expiry
 *    (so it expires on time), the end of the watch after removal (after which a removed report
 *    is not checked again), or the moment the removal window completes (when only the window
 *    is missing).
 */
import type { RandomSource } from './clock.js';
import { nextCheckTime, DEFAULT_JITTER, type RecheckSchedule } from './recheck-schedule.js';
import { advanceGoneStreak, isRemovalConfirmed, NO_STREAK, windowCompletesAt, type GoneStreak, type RemovalPolicy } from './removal-policy.js';
import { EXPIRING_STATUSES, expiryTime, isTerminal, verdictPrevails, watchEndTime, type MonitoringLimits } from './report-lifecycle.js';
import type { CheckOutcome, ReportStatus, Verdict, VerdictSource } from './report-status.js';

export type { RecheckSchedule } from './recheck-schedule.js';

/** Everything a check's rules need from `schedule.*`, durations in ms. */
export interface LifecyclePolicy extends MonitoringLimits {
  recheck: RecheckSchedule;
  removal: RemovalPolicy;
  /** fraction of an interval a due time may move either way @default 0.1 */
  jitter?: number;
}

/** The report as the rules see it. */
export interface LifecycleReport {
  status: ReportStatus;
  verdict: Verdict | null;
  verdictSource: VerdictSource | null;
  createdAt: Date;
  /** an explicit end of monitoring; null = `createdAt + expireAfter` */
  expiresAt: Date | null;
  removedAt: Date | null;
  goneStreak: GoneStreak;
}

export interface ObservedCheck {
  outcome: CheckOutcome;
  /** when the check was made (its start): dates sightings, the streak and removal */
  at: Date;
  /** a verdict the check itself established (a hash-list match) */
  verdict?: { verdict: Verdict; source: VerdictSource } | null;
}

/** Things that happened, for logs, metrics and (later) the notifier. */
export type LifecycleEvent =
  | 'seen_live'
  | 'became_live'
  | 'removal_confirmed'
  | 'reopened'
  | 'expired'
  | 'watch_ended'
  | 'rejected'
  | 'refused'
  | 'unreachable'
  | 'verdict_changed';

export interface CheckTransition {
  nextStatus: ReportStatus;
  /** null: never checked again */
  nextCheckAt: Date | null;
  goneStreak: GoneStreak;
  /** the first `gone` of the streak that confirmed removal; null while not removed */
  removedAt: Date | null;
  /** the end of monitoring to store (a reopened report starts a new period) */
  expiresAt: Date | null;
  /** the verdict to store, when the check changed it; null = unchanged */
  verdict: { verdict: Verdict; source: VerdictSource } | null;
  /** true when a removed report was seen live again */
  reopened: boolean;
  events: LifecycleEvent[];
}

/** Status of a report seen live again after removal: `notified` when the verdict is illegal. */
function onReappearance(verdict: Verdict | null): ReportStatus {
  return verdict === 'illegal' ? 'notified' : 'live';
}

/**
 * The transition a check makes. `now` is when the result is applied (the check's end): expiry
 * and the next due time are measured from it.
 */
export function transitionAfterCheck(report: LifecycleReport, check: ObservedCheck, now: Date, policy: LifecyclePolicy, random: RandomSource): CheckTransition {
  const events: LifecycleEvent[] = [];
  const unchanged: CheckTransition = {
    nextStatus: report.status, nextCheckAt: null, goneStreak: report.goneStreak, removedAt: report.removedAt,
    expiresAt: report.expiresAt, verdict: null, reopened: false, events,
  };
  if (isTerminal(report.status)) return unchanged;

  let verdict = report.verdict;
  let verdictChange: CheckTransition['verdict'] = null;
  if (check.verdict && check.verdict.verdict !== report.verdict && verdictPrevails(report.verdictSource, check.verdict.source)) {
    verdict = check.verdict.verdict;
    verdictChange = check.verdict;
    events.push('verdict_changed');
  }

  const { outcome, at } = check;
  let status: ReportStatus = report.status;
  let streak: GoneStreak = report.goneStreak;
  let removedAt = report.removedAt;
  let expiresAt = report.expiresAt;
  let reopened = false;
  if (outcome === 'live') events.push('seen_live');

  if (verdict === 'not_illegal') {
    // a verdict of not illegal ends monitoring whatever the check saw (as statusOnVerdict does)
    status = 'rejected';
    streak = NO_STREAK;
  } else switch (report.status) {
    case 'pending':
    case 'unreachable':
      // never seen live: nothing to confirm the removal of
      streak = NO_STREAK;
      if (outcome === 'live') status = 'live';
      else if (outcome === 'gone') status = 'unreachable';
      else if (outcome === 'refused') status = 'refused';
      if (status === 'live') events.push('became_live');
      break;
    case 'live':
    case 'notified':
      streak = advanceGoneStreak(streak, outcome, at);
      if (outcome === 'gone' && isRemovalConfirmed(streak, at, policy.removal)) {
        status = 'removed';
        removedAt = streak.since;
        streak = NO_STREAK;
        events.push('removal_confirmed');
      }
      break;
    case 'removed':
      streak = NO_STREAK;
      if (outcome === 'live') {
        status = onReappearance(verdict);
        removedAt = null;
        reopened = true;
        // a reappearance starts a new monitoring period: it must not expire on arrival
        expiresAt = new Date(at.getTime() + policy.expireAfterMs);
        events.push('reopened');
      }
      break;
  }

  if (EXPIRING_STATUSES.has(status) && now.getTime() >= expiryTime({ createdAt: report.createdAt, expiresAt }, policy).getTime()) {
    status = 'expired';
  }
  if (status !== report.status) {
    if (status === 'expired') events.push('expired');
    else if (status === 'rejected') events.push('rejected');
    else if (status === 'refused') events.push('refused');
    else if (status === 'unreachable') events.push('unreachable');
  }

  let nextCheckAt = nextCheckTime(status, now, policy.recheck, random, policy.jitter ?? DEFAULT_JITTER);
  if (nextCheckAt !== null) {
    const caps: (Date | null)[] = [];
    if (status === 'removed') {
      // (a removed report without a removal date — older data — is watched on its cadence)
      const watchEnd = watchEndTime({ removedAt }, policy);
      if (watchEnd !== null && now.getTime() >= watchEnd.getTime()) {
        nextCheckAt = null;
        events.push('watch_ended');
      } else {
        caps.push(watchEnd);
      }
    } else {
      caps.push(expiryTime({ createdAt: report.createdAt, expiresAt }, policy));
      const windowDone = windowCompletesAt(streak, policy.removal);
      if (windowDone && windowDone.getTime() > now.getTime()) caps.push(windowDone);
    }
    for (const cap of caps) if (nextCheckAt && cap && cap.getTime() < nextCheckAt.getTime()) nextCheckAt = cap;
  }

  return { nextStatus: status, nextCheckAt, goneStreak: streak, removedAt, expiresAt, verdict: verdictChange, reopened, events };
}
