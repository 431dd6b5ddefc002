import { describe, expect, it } from 'vitest';
import { jitter, nextCheckTime, recheckInterval, recheckScheduleOf, type RecheckSchedule } from '../../core/recheck-schedule.js';
import { REPORT_STATUSES } from '../../core/report-status.js';
import { seededRandom } from '../support/seeded-random.js';

const M = 60_000;
const H = 60 * M;
const schedule: RecheckSchedule = { live: 1 * H, notified: 30 * M, removed: 24 * H, unreachable: 6 * H, pendingRetry: 15 * M };
const T0 = new Date('2030-03-01T00:00:00.000Z');

describe('recheckInterval', () => {
  it.each(REPORT_STATUSES.map((s) => [s] as const))('%s', (status) => {
    const expected = { pending: 15 * M, live: H, notified: 30 * M, removed: 24 * H, unreachable: 6 * H, rejected: null, refused: null, expired: null }[status];
    expect(recheckInterval(status, schedule)).toBe(expected);
  });
});

describe('jitter', () => {
  it('maps the random source linearly onto ±10 %', () => {
    expect(jitter(H, () => 0)).toBe(0.9 * H);
    expect(jitter(H, () => 0.5)).toBe(H);
    expect(jitter(H, () => 0.75)).toBe(1.05 * H);
  });

  it('stays within ±10 % and spreads across it', () => {
    const random = seededRandom(42);
    const values = Array.from({ length: 10_000 }, () => jitter(H, random));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0.9 * H);
    expect(Math.max(...values)).toBeLessThanOrEqual(1.1 * H);
    // both tails are reached: the spread is real, not a constant offset
    expect(values.filter((v) => v < 0.92 * H).length).toBeGreaterThan(500);
    expect(values.filter((v) => v > 1.08 * H).length).toBeGreaterThan(500);
    expect(values.every(Number.isInteger)).toBe(true);
  });

  it('refuses a bad fraction or a random source out of range', () => {
    expect(() => jitter(H, () => 0.5, 1)).toThrow(RangeError);
    expect(() => jitter(H, () => 1)).toThrow(RangeError);
    expect(() => jitter(H, () => -0.1)).toThrow(RangeError);
  });
});

describe('nextCheckTime', () => {
  it('is now + jittered interval, null for terminal statuses', () => {
    expect(nextCheckTime('notified', T0, schedule, () => 0.5)).toEqual(new Date(T0.getTime() + 30 * M));
    expect(nextCheckTime('expired', T0, schedule, () => 0.5)).toBeNull();
  });

  it('decorrelates reports submitted together', () => {
    const random = seededRandom(7);
    const due = new Set(Array.from({ length: 1000 }, () => nextCheckTime('live', T0, schedule, random)?.getTime()));
    expect(due.size).toBeGreaterThan(990);
  });
});

describe('recheckScheduleOf', () => {
  it('derives the pending retry: 15 min, or the unreachable interval when shorter', () => {
    expect(recheckScheduleOf({ live: H, notified: H, removed: H, unreachable: 6 * H }).pendingRetry).toBe(15 * M);
    expect(recheckScheduleOf({ live: H, notified: H, removed: H, unreachable: 5 * M }).pendingRetry).toBe(5 * M);
  });
});
