import { describe, expect, it } from 'vitest';
import { advanceGoneStreak, isRemovalConfirmed, NO_STREAK, windowCompletesAt, type GoneStreak } from '../../core/removal-policy.js';
import type { CheckOutcome } from '../../core/report-status.js';

const M = 60_000;
const T0 = new Date('2030-03-01T00:00:00.000Z');
const t = (ms: number): Date => new Date(T0.getTime() + ms);
const policy = { confirmations: 3, windowMs: 60 * M };

describe('advanceGoneStreak: every outcome from an empty and a running streak', () => {
  const running: GoneStreak = { count: 2, since: t(0) };
  it.each([
    ['live', NO_STREAK, NO_STREAK],
    ['gone', NO_STREAK, { count: 1, since: t(10 * M) }],
    ['inconclusive', NO_STREAK, NO_STREAK],
    ['refused', NO_STREAK, NO_STREAK],
    ['live', running, NO_STREAK],
    ['gone', running, { count: 3, since: t(0) }],
    ['inconclusive', running, running],
    ['refused', running, running],
  ] as [CheckOutcome, GoneStreak, GoneStreak][])('%s on %o → %o', (outcome, from, to) => {
    expect(advanceGoneStreak(from, outcome, t(10 * M))).toEqual(to);
  });
});

describe('isRemovalConfirmed', () => {
  it.each([
    [{ count: 3, since: t(0) }, 60 * M, true],
    [{ count: 3, since: t(0) }, 60 * M - 1, false],
    [{ count: 2, since: t(0) }, 120 * M, false],
    [{ count: 5, since: t(0) }, 61 * M, true],
    [NO_STREAK, 120 * M, false],
    // a worker with a clock behind: the span is negative, never a confirmation
    [{ count: 3, since: t(0) }, -M, false],
  ] as [GoneStreak, number, boolean][])('%o, last gone at +%i ms → %s', (streak, lastAt, expected) => {
    expect(isRemovalConfirmed(streak, t(lastAt), policy)).toBe(expected);
  });
});

describe('windowCompletesAt', () => {
  it('is since + window once enough checks are in, else null', () => {
    expect(windowCompletesAt({ count: 3, since: t(5 * M) }, policy)).toEqual(t(65 * M));
    expect(windowCompletesAt({ count: 2, since: t(5 * M) }, policy)).toBeNull();
    expect(windowCompletesAt(NO_STREAK, policy)).toBeNull();
  });
});
