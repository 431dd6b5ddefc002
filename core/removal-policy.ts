/**
 * Is removal confirmed? (`schedule.removal`, CONTRACT.md §3): `confirmations` consecutive `gone`
 * checks whose first and last lie at least `window` apart. Pure.
 *
 * How each outcome counts — the streak is the run of `gone` checks since the content was last
 * seen live:
 * - `gone` extends the streak (the first one dates it: `since`);
 * - `live` resets it: the content is up, whatever came before;
 * - `inconclusive` (timeouts, 5xx, 403/429, TLS failures, challenge pages) neither counts nor
 *   resets. It says nothing about the content: counting it as `gone` would let a host that
 *   blocks or stalls the crawler end monitoring of live content (a wrong `gone` is the costly
 *   error), and letting it reset the streak would let a flaky host postpone a confirmed removal
 *   for ever. So `gone, inconclusive, gone, gone` confirms removal with N = 3 once the window is
 *   spanned, and `gone, gone, live, gone` starts again from one;
 * - `refused` for a report already seen live (its name now points at a non-public address) is
 *   treated like `inconclusive`: a host must not be able to end monitoring by repointing DNS at
 *   127.0.0.1.
 *
 * The window is measured from the first `gone` of the streak to the `gone` being applied, so an
 * outage shorter than the window is never taken for a removal however often it is checked.
 */
import type { CheckOutcome } from './report-status.js';

export interface RemovalPolicy {
  /** consecutive `gone` checks needed (`schedule.removal.confirmations`) */
  confirmations: number;
  /** least time between the first and the last of them, in ms (`schedule.removal.window`) */
  windowMs: number;
}

/** The run of `gone` checks since the content was last seen live. */
export interface GoneStreak {
  count: number;
  /** when the first `gone` of the run was observed; null when `count` is 0 */
  since: Date | null;
}

export const NO_STREAK: GoneStreak = Object.freeze({ count: 0, since: null });

/** The streak after a check with `outcome` observed at `at` (see the file comment). */
export function advanceGoneStreak(streak: GoneStreak, outcome: CheckOutcome, at: Date): GoneStreak {
  switch (outcome) {
    case 'live':
      return NO_STREAK;
    case 'gone':
      return { count: streak.count + 1, since: streak.since ?? at };
    case 'inconclusive':
    case 'refused':
      return streak;
  }
}

/** Whether `streak`, whose latest `gone` was observed at `lastGoneAt`, confirms removal. */
export function isRemovalConfirmed(streak: GoneStreak, lastGoneAt: Date, policy: RemovalPolicy): boolean {
  if (streak.count < policy.confirmations || streak.since === null) return false;
  return lastGoneAt.getTime() - streak.since.getTime() >= policy.windowMs;
}

/**
 * The earliest time a `gone` check could confirm removal when the streak already has enough
 * checks and only the window is missing; null otherwise. Used to check again then, rather than
 * a full recheck interval later.
 */
export function windowCompletesAt(streak: GoneStreak, policy: RemovalPolicy): Date | null {
  if (streak.since === null || streak.count < policy.confirmations) return null;
  return new Date(streak.since.getTime() + policy.windowMs);
}
