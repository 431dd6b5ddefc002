import { describe, expect, it } from 'vitest';
import { transitionAfterCheck, statusAfterCheck, type RecheckSchedule } from '../../core/check-transition.js';
import type { CheckOutcome, ReportStatus } from '../../core/report-status.js';

const H = 3_600_000;
const schedule: RecheckSchedule = { live: 1 * H, notified: 0.5 * H, removed: 24 * H, unreachable: 6 * H, pendingRetry: 0.25 * H };
const now = new Date('2026-11-29T12:00:00Z');

describe('statusAfterCheck', () => {
  it.each([
    ['pending', null, 'live', 'live'],
    ['pending', 'illegal', 'live', 'live'],
    ['pending', 'not_illegal', 'live', 'rejected'],
    ['pending', null, 'gone', 'unreachable'],
    ['pending', null, 'inconclusive', 'pending'],
    ['pending', null, 'refused', 'refused'],
    ['live', null, 'refused', 'refused'],
    ['live', null, 'gone', 'live'],
    ['unreachable', null, 'live', 'unreachable'],
    ['refused', null, 'live', 'refused'],
    ['rejected', null, 'live', 'rejected'],
    ['expired', null, 'live', 'expired'],
  ] as const)('%s (verdict %s) + %s → %s', (from, verdict, outcome, to) => {
    expect(statusAfterCheck(from as ReportStatus, verdict, outcome as CheckOutcome)).toBe(to);
  });
});

describe('transitionAfterCheck', () => {
  it('schedules the next check on the cadence of the new status', () => {
    expect(transitionAfterCheck({ status: 'pending', verdict: null }, 'live', now, schedule)).toEqual({ nextStatus: 'live', nextCheckAt: new Date(now.getTime() + H) });
    expect(transitionAfterCheck({ status: 'pending', verdict: null }, 'gone', now, schedule)).toEqual({ nextStatus: 'unreachable', nextCheckAt: new Date(now.getTime() + 6 * H) });
    expect(transitionAfterCheck({ status: 'pending', verdict: null }, 'inconclusive', now, schedule)).toEqual({ nextStatus: 'pending', nextCheckAt: new Date(now.getTime() + 0.25 * H) });
  });

  it('terminal statuses are never checked again', () => {
    expect(transitionAfterCheck({ status: 'pending', verdict: null }, 'refused', now, schedule).nextCheckAt).toBeNull();
    expect(transitionAfterCheck({ status: 'pending', verdict: 'not_illegal' }, 'live', now, schedule).nextCheckAt).toBeNull();
  });
});
