/**
 * Store conformance for the report lifecycle (issue 5): the removal counters, compare-and-set on
 * the state version, recording a check once under concurrency, the reconciler's in-flight rows
 * and an analyst's recheck. Run by store-conformance.ts against PostgreSQL and embedded alike.
 */
import { beforeEach, expect, it } from 'vitest';
import type { NewCheck } from '../../core/store.js';
import type { SqlStore } from '../../store/sql-store.js';

export interface LifecycleHarness {
  /** two stores over one database (separate connections on PostgreSQL) */
  store: SqlStore;
  other: SqlStore;
  newReport(now?: Date): Promise<{ forceId: string; reportId: string; url: string }>;
  unique(prefix: string): string;
  at(seconds: number): Date;
  /** a time beyond any the tests use: claiming at it parks every due row */
  parked: Date;
}

export function runLifecycleConformance(h: () => LifecycleHarness): void {
  const check = (reportId: string, id: string, over: Partial<NewCheck> = {}): NewCheck => {
    const { at } = h();
    return {
      id, reportId, outcome: 'gone', reason: 'http_404', httpStatus: 404, vantage: null, startedAt: at(60), durationMs: 10,
      nextStatus: 'notified', nextCheckAt: at(1860), ...over,
    };
  };

  beforeEach(async () => {
    const { store, parked } = h();
    await store.claimDueChecks(parked, 1_000_000, 0);
  });

  it('reads the lifecycle state of a new report', async () => {
    const { store, newReport, at } = h();
    const { reportId } = await newReport(at(0));
    expect(await store.getReportForCheck(reportId)).toMatchObject({
      status: 'pending', verdictSource: null, createdAt: at(0), expiresAt: null, removedAt: null, holdUntil: null,
      goneStreak: { count: 0, since: null }, nextCheckAt: at(0), stateVersion: 0,
    });
  });

  it('persists the streak, removal, expiry, a check\'s verdict and reopening, and bumps the version', async () => {
    const { store, newReport, unique, at } = h();
    const { reportId } = await newReport(at(0));
    await store.recordCheck(check(reportId, unique('c'), { goneStreak: { count: 2, since: at(30) }, expectVersion: 0 }));
    expect(await store.getReportForCheck(reportId)).toMatchObject({ status: 'notified', goneStreak: { count: 2, since: at(30) }, stateVersion: 1, nextCheckAt: at(1860) });

    await store.recordCheck(check(reportId, unique('c'), {
      startedAt: at(120), nextStatus: 'removed', goneStreak: { count: 0, since: null }, removedAt: at(30), expectVersion: 1,
    }));
    let r = await store.getReportForCheck(reportId);
    expect(r).toMatchObject({ status: 'removed', removedAt: at(30), goneStreak: { count: 0, since: null }, stateVersion: 2 });

    await store.recordCheck(check(reportId, unique('c'), {
      outcome: 'live', reason: 'http_200', httpStatus: 200, startedAt: at(180), nextStatus: 'notified', removedAt: null,
      expiresAt: at(9_000), reopened: true, verdict: { verdict: 'illegal', source: 'hash_list' }, expectVersion: 2,
    }));
    r = await store.getReportForCheck(reportId);
    expect(r).toMatchObject({ status: 'notified', removedAt: null, expiresAt: at(9_000), verdict: 'illegal', verdictSource: 'hash_list', stateVersion: 3 });
    const { rows } = await store.sql.query<{ reopen_count: number }>('SELECT reopen_count FROM reports WHERE id = $1', [reportId]);
    expect(rows[0]?.reopen_count).toBe(1);
  });

  it('refuses a streak without its date (schema constraint)', async () => {
    const { store, newReport, unique } = h();
    const { reportId } = await newReport();
    await expect(store.recordCheck(check(reportId, unique('c'), { goneStreak: { count: 2, since: null } }))).rejects.toThrow();
    // the failed transaction left nothing behind
    expect((await store.getReport(reportId, { forceId: null }))?.checks).toEqual([]);
  });

  it('applies nothing when the report changed since the transition was computed', async () => {
    const { store, newReport, unique } = h();
    const { reportId } = await newReport();
    await store.recordCheck(check(reportId, unique('c'), { expectVersion: 0 }));
    const stale = unique('c');
    expect(await store.recordCheck(check(reportId, stale, { expectVersion: 0, nextStatus: 'removed' }))).toEqual({ applied: false, conflict: true });
    const report = await store.getReport(reportId, { forceId: null });
    expect(report?.status).toBe('notified');
    expect(report?.checks.map((c) => c.id)).not.toContain(stale);
    // computed again from the new state, the same check applies
    expect(await store.recordCheck(check(reportId, stale, { expectVersion: 1 }))).toEqual({ applied: true });
  });

  it('records one check id once when two workers race on it', async () => {
    const { store, other, newReport, unique } = h();
    const { reportId } = await newReport();
    const id = unique('c');
    const results = await Promise.all([
      store.recordCheck(check(reportId, id, { expectVersion: 0, goneStreak: { count: 1, since: h().at(60) } })),
      other.recordCheck(check(reportId, id, { expectVersion: 0, goneStreak: { count: 1, since: h().at(60) } })),
      store.recordCheck(check(reportId, id, { goneStreak: { count: 1, since: h().at(60) } })),
    ]);
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    const r = await store.getReportForCheck(reportId);
    expect(r).toMatchObject({ stateVersion: 1, goneStreak: { count: 1 } });
    expect((await store.getReport(reportId, { forceId: null }))?.checks).toHaveLength(1);
  });

  it('of two different checks computed from one state, one applies and the other must recompute', async () => {
    const { store, other, newReport, unique } = h();
    const { reportId } = await newReport();
    const results = await Promise.all([
      store.recordCheck(check(reportId, unique('c'), { expectVersion: 0, goneStreak: { count: 1, since: h().at(60) } })),
      other.recordCheck(check(reportId, unique('c'), { expectVersion: 0, goneStreak: { count: 1, since: h().at(61) } })),
    ]);
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(results.filter((r) => r.conflict)).toHaveLength(1);
    expect((await store.getReportForCheck(reportId))?.stateVersion).toBe(1);
  });

  it('lists leased rows whose check is not recorded, and releases a lost one for dispatch under the same due time', async () => {
    const { store, other, newReport, unique, at } = h();
    const a = await newReport(at(0));
    const b = await newReport(at(1));
    const claimed = await store.claimDueChecks(at(10), 10, 600_000);
    expect(claimed.map((c) => c.reportId)).toEqual([a.reportId, b.reportId]);
    // leased at 10 s until 610 s: listed only when asked for leases ending at or before 610 s
    expect(await store.listInFlightChecks(at(609), 100)).toEqual([]);
    const inFlight = await store.listInFlightChecks(at(610), 100);
    // same lease: ordered by report id
    const expected = [
      { reportId: a.reportId, dueAt: at(0), leasedUntil: at(610) },
      { reportId: b.reportId, dueAt: at(1), leasedUntil: at(610) },
    ].sort((x, y) => (x.reportId < y.reportId ? -1 : 1));
    expect(inFlight).toEqual(expected);
    // keyset paging
    expect(await store.listInFlightChecks(at(610), 1, inFlight[0])).toEqual([inFlight[1]]);
    const rowA = inFlight.find((r) => r.reportId === a.reportId)!;
    const rowB = inFlight.find((r) => r.reportId === b.reportId)!;

    // b's check comes back; a's job was lost
    await store.recordCheck(check(b.reportId, unique('c'), { nextCheckAt: at(5000) }));
    expect(await store.listInFlightChecks(at(610), 100)).toEqual([rowA]);
    expect(await other.releaseCheckLease(rowB)).toBe(false);
    expect(await other.releaseCheckLease(rowA)).toBe(true);
    expect(await store.releaseCheckLease(rowA)).toBe(false);
    expect(await store.listInFlightChecks(at(10_000), 100)).toEqual([]);
    // due again at once, with its old due time (so the same job id)
    expect(await store.claimDueChecks(at(11), 10, 600_000)).toEqual([{ reportId: a.reportId, url: a.url, dueAt: at(0) }]);
  });

  it('does not release a row leased again meanwhile', async () => {
    const { store, newReport, at } = h();
    const a = await newReport(at(0));
    await store.claimDueChecks(at(10), 10, 60_000);
    const [row] = await store.listInFlightChecks(at(70), 10);
    await store.claimDueChecks(at(70), 10, 60_000); // the lease ran out and it was dispatched again
    expect(await store.releaseCheckLease(row!)).toBe(false);
    expect(await store.listInFlightChecks(at(130), 10)).toEqual([{ reportId: a.reportId, dueAt: at(0), leasedUntil: at(130) }]);
  });

  it('makes a report due at once on an analyst\'s recheck, never a closed one', async () => {
    const { store, newReport, unique, at } = h();
    const a = await newReport(at(0));
    await store.recordCheck(check(a.reportId, unique('c'), { nextCheckAt: at(90_000) }));
    expect(await store.requestCheck(a.reportId, at(100))).toBe(true);
    expect((await store.getReportForCheck(a.reportId))?.nextCheckAt).toEqual(at(100));
    expect(await store.claimDueChecks(at(100), 10, 60_000)).toEqual([{ reportId: a.reportId, url: a.url, dueAt: at(100) }]);

    const closed = await newReport(at(0));
    await store.recordCheck(check(closed.reportId, unique('c'), { nextStatus: 'rejected', nextCheckAt: null }));
    expect(await store.requestCheck(closed.reportId, at(100))).toBe(false);
    expect(await store.requestCheck('00000000-0000-4000-8000-000000000000', at(100))).toBe(false);
    expect(await store.requestCheck('nope', at(100))).toBe(false);
  });
}
