/** core/removal-stats.ts: percentiles as PostgreSQL's percentile_cont, and durations for people. */
import { describe, expect, it } from 'vitest';
import { formatDuration, percentile, summarizeRemovals } from '../../core/removal-stats.js';

describe('percentile', () => {
  it.each([
    [[], 0.5, null],
    [[7], 0.5, 7],
    [[7], 0.9, 7],
    [[1, 2], 0.5, 1.5],
    [[3, 1, 2], 0.5, 2],
    [[1, 2, 3, 4], 0.5, 2.5],
    [[1, 2, 3, 4], 0.9, 3.7],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9, 91],
    [[5, 1, 4], 0, 1],
    [[5, 1, 4], 1, 5],
  ])('of %j at %d is %s', (values, p, expected) => {
    const got = percentile(values, p);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(expected, 10);
  });

  it('refuses a fraction outside [0, 1] and leaves its input alone', () => {
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
    const input = [3, 1, 2];
    percentile(input, 0.5);
    expect(input).toEqual([3, 1, 2]);
  });

  it('summarises removals', () => {
    expect(summarizeRemovals([3600, 7200])).toEqual({ count: 2, medianSeconds: 5400, p90Seconds: 6840 });
    expect(summarizeRemovals([])).toEqual({ count: 0, medianSeconds: null, p90Seconds: null });
  });
});

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [Number.NaN, '—'],
    [0, '0s'],
    [0.9, '0s'],
    [45, '45s'],
    [60, '1m'],
    [330, '5m 30s'],
    [7200, '2h'],
    [7500, '2h 5m'],
    [86_400, '1d'],
    [3 * 86_400 + 4 * 3600 + 59, '3d 4h'],
    [3 * 86_400 + 59, '3d'],
    [-5, '0s'],
  ])('%s s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
