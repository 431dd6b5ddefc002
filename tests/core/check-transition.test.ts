/**
 * The report state machine for checks, exhaustively: every status × outcome × verdict, then the
 * removal streak, reappearance, expiry, the watch after removal and the next due time — with
 * fake time (plain Dates) and a fixed random source.
 */
import { describe, expect, it } from 'vitest';
import { transitionAfterCheck, type LifecyclePolicy, type LifecycleReport } from '../../core/check-transition.js';
import { NO_STREAK } from '../../core/removal-policy.js';
import { CHECK_OUTCOMES, REPORT_STATUSES, type CheckOutcome, type ReportStatus, type Verdict } from '../../core/report-status.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const policy: LifecyclePolicy = {
  recheck: { live: 1 * H, notified: 30 * M, removed: 24 * H, unreachable: 6 * H, pendingRetry: 15 * M },
  removal: { confirmations: 3, windowMs: 1 * H },
  watchAfterRemovalMs: 30 * D,
  expireAfterMs: 90 * D,
};
const T0 = new Date('2030-03-01T00:00:00.000Z');
const t = (ms: number): Date => new Date(T0.getTime() + ms);
/** random() = 0.5: jitter of exactly 0, so due times are exact */
const mid = () => 0.5;

function report(over: Partial<LifecycleReport> = {}): LifecycleReport {
  return {
    status: 'pending', verdict: null, verdictSource: null, createdAt: T0, expiresAt: null, removedAt: null, goneStreak: NO_STREAK, ...over,
  };
}

/** one check observed and applied at `at` */
function after(r: LifecycleReport, outcome: CheckOutcome, at: Date, random = mid) {
  return transitionAfterCheck(r, { outcome, at }, at, policy, random);
}

type Row = [ReportStatus, CheckOutcome, [ReportStatus, ReportStatus, ReportStatus]];
// Expected next status for verdict [none, illegal, not_illegal], fresh streak, well before expiry.
const TABLE: Row[] = [
  ['pending', 'live', ['live', 'live', 'rejected']],
  ['pending', 'gone', ['unreachable', 'unreachable', 'rejected']],
  ['pending', 'inconclusive', ['pending', 'pending', 'rejected']],
  ['pending', 'refused', ['refused', 'refused', 'rejected']],
  ['live', 'live', ['live', 'live', 'rejected']],
  ['live', 'gone', ['live', 'live', 'rejected']],
  ['live', 'inconclusive', ['live', 'live', 'rejected']],
  ['live', 'refused', ['live', 'live', 'rejected']],
  ['notified', 'live', ['notified', 'notified', 'rejected']],
  ['notified', 'gone', ['notified', 'notified', 'rejected']],
  ['notified', 'inconclusive', ['notified', 'notified', 'rejected']],
  ['notified', 'refused', ['notified', 'notified', 'rejected']],
  ['removed', 'live', ['live', 'notified', 'rejected']],
  ['removed', 'gone', ['removed', 'removed', 'rejected']],
  ['removed', 'inconclusive', ['removed', 'removed', 'rejected']],
  ['removed', 'refused', ['removed', 'removed', 'rejected']],
  ['unreachable', 'live', ['live', 'live', 'rejected']],
  ['unreachable', 'gone', ['unreachable', 'unreachable', 'rejected']],
  ['unreachable', 'inconclusive', ['unreachable', 'unreachable', 'rejected']],
  ['unreachable', 'refused', ['refused', 'refused', 'rejected']],
  ...(['rejected', 'refused', 'expired'] as const).flatMap((s) => CHECK_OUTCOMES.map((o): Row => [s, o, [s, s, s]])),
];

describe('transitionAfterCheck: every status × outcome × verdict', () => {
  it('the table covers every combination once', () => {
    const keys = TABLE.map(([s, o]) => `${s}/${o}`);
    expect(new Set(keys).size).toBe(REPORT_STATUSES.length * CHECK_OUTCOMES.length);
    expect(keys.length).toBe(REPORT_STATUSES.length * CHECK_OUTCOMES.length);
  });

  const verdicts: (Verdict | null)[] = [null, 'illegal', 'not_illegal'];
  it.each(TABLE.flatMap(([status, outcome, to]) => verdicts.map((v, i) => [status, outcome, v, to[i]] as const)))(
    '%s + %s (verdict %s) → %s', (status, outcome, verdict, expected) => {
      const removedAt = status === 'removed' ? t(10 * D) : null;
      const r = report({ status, verdict, verdictSource: verdict ? 'submission' : null, removedAt });
      const tr = after(r, outcome, t(11 * D));
      expect(tr.nextStatus).toBe(expected);
      const terminal = expected === 'rejected' || expected === 'refused' || expected === 'expired';
      expect(tr.nextCheckAt === null).toBe(terminal);
    });
});

describe('removal confirmation (3 × gone spanning 1 h)', () => {
  /** applies checks one by one; returns every transition */
  function run(start: LifecycleReport, steps: [CheckOutcome, number][]) {
    let r = start;
    return steps.map(([outcome, at]) => {
      const tr = after(r, outcome, t(at));
      r = { ...r, status: tr.nextStatus, goneStreak: tr.goneStreak, removedAt: tr.removedAt, expiresAt: tr.expiresAt };
      return tr;
    });
  }
  const notified = report({ status: 'notified', verdict: 'illegal', verdictSource: 'analyst' });

  it('confirms at the third consecutive gone once the window is spanned, dated by the first', () => {
    const trs = run(notified, [['gone', 0], ['gone', 30 * M], ['gone', 60 * M]]);
    expect(trs.map((x) => x.nextStatus)).toEqual(['notified', 'notified', 'removed']);
    expect(trs.map((x) => x.goneStreak.count)).toEqual([1, 2, 0]);
    expect(trs[2]?.removedAt).toEqual(t(0));
    expect(trs[2]?.events).toContain('removal_confirmed');
  });

  it('does not confirm three gone checks inside the window; checks again when the window completes', () => {
    const trs = run(notified, [['gone', 0], ['gone', 10 * M], ['gone', 20 * M]]);
    expect(trs.map((x) => x.nextStatus)).toEqual(['notified', 'notified', 'notified']);
    // 3 gone seen, only the window missing: due at since + 1 h (40 min later), not 30 min cadence… the earlier of the two
    expect(trs[2]?.nextCheckAt).toEqual(t(50 * M));
    const more = run({ ...notified, goneStreak: trs[2]!.goneStreak }, [['gone', 60 * M]]);
    expect(more[0]?.nextStatus).toBe('removed');
  });

  it('schedules the window end when it comes before the cadence', () => {
    const live = report({ status: 'live' });
    const trs = run(live, [['gone', 0], ['gone', 5 * M], ['gone', 10 * M]]);
    expect(trs[2]?.nextCheckAt).toEqual(t(60 * M));
  });

  it('inconclusive neither counts nor resets the streak', () => {
    const trs = run(notified, [['gone', 0], ['inconclusive', 30 * M], ['gone', 60 * M], ['inconclusive', 90 * M], ['gone', 120 * M]]);
    expect(trs.map((x) => x.goneStreak.count)).toEqual([1, 1, 2, 2, 0]);
    expect(trs.map((x) => x.nextStatus)).toEqual(['notified', 'notified', 'notified', 'notified', 'removed']);
    expect(trs[4]?.removedAt).toEqual(t(0));
  });

  it('inconclusive alone never confirms removal, however long it lasts', () => {
    const trs = run(notified, Array.from({ length: 50 }, (_, i): [CheckOutcome, number] => ['inconclusive', i * 30 * M]));
    expect(trs.every((x) => x.nextStatus === 'notified' && x.goneStreak.count === 0)).toBe(true);
  });

  it('a live sighting resets the streak', () => {
    const trs = run(notified, [['gone', 0], ['gone', 30 * M], ['live', 60 * M], ['gone', 90 * M], ['gone', 120 * M], ['gone', 150 * M]]);
    expect(trs.map((x) => x.goneStreak.count)).toEqual([1, 2, 0, 1, 2, 0]);
    expect(trs.map((x) => x.nextStatus)).toEqual(['notified', 'notified', 'notified', 'notified', 'notified', 'removed']);
    expect(trs[5]?.removedAt).toEqual(t(90 * M));
  });

  it('refused on a report seen live counts like inconclusive (repointing DNS does not end monitoring)', () => {
    const trs = run(notified, [['gone', 0], ['refused', 30 * M], ['gone', 60 * M]]);
    expect(trs.map((x) => x.nextStatus)).toEqual(['notified', 'notified', 'notified']);
    expect(trs.map((x) => x.goneStreak.count)).toEqual([1, 1, 2]);
  });

  it('a live report (no verdict yet) is confirmed removed the same way', () => {
    const trs = run(report({ status: 'live' }), [['gone', 0], ['gone', 60 * M], ['gone', 120 * M]]);
    expect(trs.at(-1)?.nextStatus).toBe('removed');
  });

  it('pending and unreachable never build a streak (never seen live)', () => {
    const trs = run(report(), [['gone', 0], ['gone', 6 * H], ['gone', 12 * H], ['gone', 18 * H]]);
    expect(trs.every((x) => x.nextStatus === 'unreachable' && x.goneStreak.count === 0)).toBe(true);
  });

  it('with one confirmation the window alone decides', () => {
    const one: LifecyclePolicy = { ...policy, removal: { confirmations: 1, windowMs: 0 } };
    const tr = transitionAfterCheck(notified, { outcome: 'gone', at: t(0) }, t(0), one, mid);
    expect(tr.nextStatus).toBe('removed');
  });
});

describe('reappearance after removal', () => {
  const removed = report({ status: 'removed', verdict: 'illegal', verdictSource: 'analyst', removedAt: t(10 * D) });

  it('reopens as notified, clears removal, and starts a new monitoring period', () => {
    const tr = after(removed, 'live', t(12 * D));
    expect(tr).toMatchObject({ nextStatus: 'notified', removedAt: null, reopened: true, expiresAt: t(12 * D + 90 * D) });
    expect(tr.events).toEqual(expect.arrayContaining(['seen_live', 'reopened']));
    expect(tr.nextCheckAt).toEqual(t(12 * D + 30 * M));
  });

  it('a reappearance long after creation does not expire on arrival', () => {
    const old = { ...removed, removedAt: t(89 * D) };
    const tr = after(old, 'live', t(95 * D));
    expect(tr.nextStatus).toBe('notified');
  });

  it('a removed report without a verdict reopens as live', () => {
    expect(after({ ...removed, verdict: null, verdictSource: null }, 'live', t(12 * D)).nextStatus).toBe('live');
  });

  it('gone while removed changes nothing and keeps the watch cadence', () => {
    const tr = after(removed, 'gone', t(11 * D));
    expect(tr).toMatchObject({ nextStatus: 'removed', removedAt: t(10 * D), reopened: false, nextCheckAt: t(12 * D) });
  });
});

describe('watch after removal', () => {
  const removed = report({ status: 'removed', verdict: 'illegal', verdictSource: 'analyst', removedAt: t(10 * D) });

  it('the last check falls on the end of the watch', () => {
    expect(after(removed, 'gone', t(39 * D + 12 * H)).nextCheckAt).toEqual(t(40 * D));
  });

  it('after the watch a removed report is not checked again', () => {
    const tr = after(removed, 'gone', t(40 * D));
    expect(tr).toMatchObject({ nextStatus: 'removed', nextCheckAt: null });
    expect(tr.events).toContain('watch_ended');
  });

  it('a removed report without a removal date keeps being watched on its cadence', () => {
    expect(after({ ...removed, removedAt: null }, 'gone', t(400 * D)).nextCheckAt).toEqual(t(401 * D));
  });

  it('a reappearance seen at the last check still reopens', () => {
    expect(after(removed, 'live', t(40 * D)).nextStatus).toBe('notified');
  });
});

describe('expiry (90 d since creation without removal)', () => {
  it.each(['pending', 'live', 'notified', 'unreachable'] as const)('%s expires at its first check at or after the expiry', (status) => {
    const r = report({ status, verdict: status === 'notified' ? 'illegal' : null, verdictSource: status === 'notified' ? 'analyst' : null });
    const before = after(r, 'live', t(90 * D - 1));
    expect(before.nextStatus).not.toBe('expired');
    const at = after(r, 'inconclusive', t(90 * D));
    expect(at).toMatchObject({ nextStatus: 'expired', nextCheckAt: null });
    expect(at.events).toContain('expired');
  });

  it('the next check is never later than the expiry', () => {
    expect(after(report({ status: 'unreachable' }), 'gone', t(90 * D - H)).nextCheckAt).toEqual(t(90 * D));
  });

  it('honours an explicit expiresAt', () => {
    const r = report({ status: 'live', expiresAt: t(2 * D) });
    expect(after(r, 'live', t(2 * D)).nextStatus).toBe('expired');
  });

  it('a removal confirmed at the expiry is a removal, not an expiry', () => {
    const r = report({ status: 'notified', verdict: 'illegal', verdictSource: 'analyst', goneStreak: { count: 2, since: t(90 * D - 2 * H) } });
    expect(after(r, 'gone', t(90 * D)).nextStatus).toBe('removed');
  });
});

describe('verdicts found by a check (hash list)', () => {
  it('a hash-list verdict prevails over the submission and is returned to be stored', () => {
    const r = report({ status: 'pending', verdict: 'not_illegal', verdictSource: 'submission' });
    const tr = transitionAfterCheck(r, { outcome: 'live', at: t(0), verdict: { verdict: 'illegal', source: 'hash_list' } }, t(0), policy, mid);
    expect(tr).toMatchObject({ nextStatus: 'live', verdict: { verdict: 'illegal', source: 'hash_list' } });
    expect(tr.events).toContain('verdict_changed');
  });

  it('does not override an analyst', () => {
    const r = report({ status: 'pending', verdict: 'not_illegal', verdictSource: 'analyst' });
    const tr = transitionAfterCheck(r, { outcome: 'live', at: t(0), verdict: { verdict: 'illegal', source: 'hash_list' } }, t(0), policy, mid);
    expect(tr).toMatchObject({ nextStatus: 'rejected', verdict: null });
  });
});

describe('next due time', () => {
  it.each([
    ['pending', 'inconclusive', 15 * M],
    ['pending', 'live', 1 * H],
    ['pending', 'gone', 6 * H],
    ['notified', 'live', 30 * M],
    ['live', 'live', 1 * H],
  ] as const)('%s + %s → due after the new status\'s interval', (status, outcome, interval) => {
    const r = report({ status, verdict: status === 'notified' ? 'illegal' : null, verdictSource: status === 'notified' ? 'analyst' : null });
    expect(after(r, outcome, t(D)).nextCheckAt).toEqual(t(D + interval));
  });

  it('jitters ±10 % by the random source', () => {
    const r = report({ status: 'live' });
    expect(after(r, 'live', t(0), () => 0).nextCheckAt).toEqual(t(0.9 * H));
    expect(after(r, 'live', t(0), () => 0.999_999).nextCheckAt?.getTime()).toBeCloseTo(t(1.1 * H).getTime(), -1);
  });

  it('measures from when the result is applied, dates the streak by when the check was made', () => {
    const r = report({ status: 'notified', verdict: 'illegal', verdictSource: 'analyst' });
    const tr = transitionAfterCheck(r, { outcome: 'gone', at: t(0) }, t(40 * S), policy, mid);
    expect(tr.goneStreak).toEqual({ count: 1, since: t(0) });
    expect(tr.nextCheckAt).toEqual(t(40 * S + 30 * M));
  });
});
