import { describe, expect, it } from 'vitest';
import {
  expiryTime, isTerminal, noticesSuppressedUntil, statusAfterNoticesSent, statusOnVerdict, verdictPrevails, watchEndTime,
} from '../../core/report-lifecycle.js';
import { REPORT_STATUSES, type ReportStatus, type VerdictSource } from '../../core/report-status.js';

const D = 86_400_000;
const T0 = new Date('2030-03-01T00:00:00.000Z');
const t = (ms: number): Date => new Date(T0.getTime() + ms);
const limits = { watchAfterRemovalMs: 30 * D, expireAfterMs: 90 * D };

describe('statusOnVerdict: every status × verdict', () => {
  const table: Record<ReportStatus, { illegal: [ReportStatus, string]; not_illegal: [ReportStatus, string] }> = {
    pending: { illegal: ['pending', 'keep'], not_illegal: ['rejected', 'never'] },
    live: { illegal: ['live', 'keep'], not_illegal: ['rejected', 'never'] },
    notified: { illegal: ['notified', 'keep'], not_illegal: ['rejected', 'never'] },
    removed: { illegal: ['removed', 'keep'], not_illegal: ['rejected', 'never'] },
    unreachable: { illegal: ['unreachable', 'keep'], not_illegal: ['rejected', 'never'] },
    rejected: { illegal: ['pending', 'now'], not_illegal: ['rejected', 'never'] },
    refused: { illegal: ['refused', 'never'], not_illegal: ['refused', 'never'] },
    expired: { illegal: ['expired', 'never'], not_illegal: ['expired', 'never'] },
  };
  it('covers every status', () => expect(Object.keys(table).sort()).toEqual([...REPORT_STATUSES].sort()));
  it.each(REPORT_STATUSES.flatMap((s) => (['illegal', 'not_illegal'] as const).map((v) => [s, v] as const)))('%s + verdict %s', (status, verdict) => {
    const [expected, check] = table[status][verdict];
    expect(statusOnVerdict(status, verdict)).toEqual({ status: expected, check });
  });
  it('live + illegal stays live: notified is decided by the notifier', () => {
    expect(statusOnVerdict('live', 'illegal').status).toBe('live');
  });
});

describe('statusAfterNoticesSent', () => {
  it.each(REPORT_STATUSES.flatMap((s) => ([null, 'illegal', 'not_illegal'] as const).map((v) => [s, v] as const)))('%s (verdict %s)', (status, verdict) => {
    const expected = status === 'live' && verdict === 'illegal' ? 'notified' : status;
    expect(statusAfterNoticesSent(status, verdict)).toBe(expected);
  });
});

describe('verdictPrevails', () => {
  const sources: (VerdictSource | null)[] = [null, 'submission', 'hash_list', 'analyst'];
  const rank = (s: VerdictSource | null) => sources.indexOf(s);
  it.each(sources.flatMap((c) => (['submission', 'hash_list', 'analyst'] as const).map((i) => [c, i] as const)))('current %s, incoming %s', (current, incoming) => {
    expect(verdictPrevails(current, incoming)).toBe(rank(incoming) >= rank(current));
  });
});

describe('limits and holds', () => {
  it('expiry is createdAt + expireAfter unless set', () => {
    expect(expiryTime({ createdAt: T0, expiresAt: null }, limits)).toEqual(t(90 * D));
    expect(expiryTime({ createdAt: T0, expiresAt: t(5 * D) }, limits)).toEqual(t(5 * D));
  });

  it('the watch ends watchAfterRemoval after removal; none without removal', () => {
    expect(watchEndTime({ removedAt: t(D) }, limits)).toEqual(t(31 * D));
    expect(watchEndTime({ removedAt: null }, limits)).toBeNull();
  });

  it('notices are suppressed until the hold ends, and not at or after it', () => {
    expect(noticesSuppressedUntil({ holdUntil: t(D) }, t(0))).toEqual(t(D));
    expect(noticesSuppressedUntil({ holdUntil: t(D) }, t(D))).toBeNull();
    expect(noticesSuppressedUntil({ holdUntil: null }, t(0))).toBeNull();
  });

  it('only rejected, refused and expired are terminal', () => {
    expect(REPORT_STATUSES.filter(isTerminal)).toEqual(['rejected', 'refused', 'expired']);
  });
});
