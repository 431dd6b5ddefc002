/**
 * Store conformance for the report lifecycle (issue 5): the removal counters, compare-and-set on
 * the state version, recording a check once under concurrency, the content baseline and last
 * trace read with the report and the baseline written with the check, the reconciler's in-flight
 * rows and an analyst's recheck. Run by store-conformance.ts against PostgreSQL and embedded
 * alike; the tests that hold one writer's transaction open while another waits on it need two
 * connections, so they run on PostgreSQL only.
 */
import { beforeEach, expect, it } from 'vitest';
import type { MediaMetadata } from '../../core/fetcher.js';
import type { ContentBaseline, Hosting, NewCheck } from '../../core/store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { whileHeld as heldWhile } from './while-held.js';

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

export function runLifecycleConformance(h: () => LifecycleHarness, options: { twoConnections: boolean }): void {
  /** tests that hold one connection's transaction open while another waits: PostgreSQL only */
  const itTwoConnections = options.twoConnections ? it : (): void => {};
  const check = (reportId: string, id: string, over: Partial<NewCheck> = {}): NewCheck => {
    const { at } = h();
    return {
      id, reportId, outcome: 'gone', reason: 'http_404', httpStatus: 404, vantage: null, startedAt: at(60), durationMs: 10,
      nextStatus: 'notified', nextCheckAt: at(1860), ...over,
    };
  };

  const live = (reportId: string, id: string, over: Partial<NewCheck> = {}): NewCheck =>
    check(reportId, id, { outcome: 'live', reason: 'http_200', httpStatus: 200, nextStatus: 'live', ...over });
  const baseline = (etag: string, seconds: number, over: Partial<ContentBaseline> = {}): ContentBaseline => ({
    media: { contentType: 'image/png', contentLength: 10, etag, lastModified: null }, mediaRefs: null, digests: null, seenAt: h().at(seconds), ...over,
  });
  const checkIds = async (reportId: string) => ((await h().store.getReport(reportId, { forceId: null }))?.checks ?? []).map((c) => c.id).sort();

  const whileHeld = <T>(hold: (tx: SqlStore) => Promise<unknown>, contend: () => Promise<T>, waits = true): Promise<T> =>
    heldWhile(h(), hold, contend, waits);

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

  it('makes the notice decision due on a live check of a traced report with an illegal verdict, its own or the check\'s', async () => {
    const { store, newReport, unique, at } = h();
    const realertAt = async (reportId: string) =>
      (await store.sql.query<{ next_realert_at: Date | null }>('SELECT next_realert_at FROM reports WHERE id = $1', [reportId])).rows[0]?.next_realert_at;
    const traced = async (reportId: string) => store.sql.query(`INSERT INTO traces (id, report_id, created_at, ip, country, provenance)
      VALUES ($1, $2, $3, '127.0.0.2', 'NL', '{}'::jsonb)`, [unique('t'), reportId, at(5)]);

    // an analyst's verdict after the first trace: the live check asked for then makes the decision due
    const byAnalyst = await newReport(at(0));
    await traced(byAnalyst.reportId);
    await store.sql.query(`UPDATE reports SET status = 'live', verdict = 'illegal', verdict_source = 'analyst' WHERE id = $1`, [byAnalyst.reportId]);
    await store.recordCheck(live(byAnalyst.reportId, unique('c')));
    expect(await realertAt(byAnalyst.reportId)).toEqual(at(60));

    // a hash-list match by the check itself
    const byHash = await newReport(at(0));
    await traced(byHash.reportId);
    await store.recordCheck(live(byHash.reportId, unique('c'), { verdict: { verdict: 'illegal', source: 'hash_list' } }));
    expect(await realertAt(byHash.reportId)).toEqual(at(60));

    // not yet traced (the trace makes it due when it locates the report), no verdict, or told already: not due
    const untraced = await newReport(at(0));
    await store.recordCheck(live(untraced.reportId, unique('c'), { verdict: { verdict: 'illegal', source: 'hash_list' } }));
    const noVerdict = await newReport(at(0));
    await traced(noVerdict.reportId);
    await store.recordCheck(live(noVerdict.reportId, unique('c')));
    const told = await newReport(at(0));
    await traced(told.reportId);
    await store.sql.query(`UPDATE reports SET status = 'notified', verdict = 'illegal', verdict_source = 'analyst' WHERE id = $1`, [told.reportId]);
    await store.recordCheck(live(told.reportId, unique('c'), { nextStatus: 'notified' }));
    for (const r of [untraced, noVerdict, told]) expect(await realertAt(r.reportId)).toBeNull();
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

  it('reads the content baseline and the latest trace with the report', async () => {
    const { store, newReport, unique, at } = h();
    const { reportId } = await newReport(at(0));
    expect(await store.getReportForCheck(reportId)).toMatchObject({ baseline: null, lastTrace: null });
    const NL: Hosting = { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic NL', viaCdn: false };
    const DE: Hosting = { ip: '127.0.0.3', country: 'DE', asn: 64497, org: 'Synthetic DE', viaCdn: true };
    const trace = (hosting: Hosting, seconds: number) => ({
      id: unique('trace'), reportId, checkId: null, tracedAt: at(seconds), hosting, provenance: {}, now: at(seconds),
    });
    await store.recordTrace(trace(DE, 20));
    await store.recordTrace(trace(NL, 10));
    const r = await store.getReportForCheck(reportId);
    expect(r?.lastTrace).toEqual({ hosting: DE, tracedAt: at(20) });
    expect(r?.lastTrace).toEqual(await store.getLastTrace(reportId));
  });

  it('records the baseline with the check that applies: once, bounded, descriptions only; never with a check not applied', async () => {
    const { store, newReport, unique, at } = h();
    const { reportId } = await newReport(at(0));
    const refs = Array.from({ length: 150 }, (_, i) => `https://cdn.example/${i}.jpg`);
    const media = { contentType: 'text/html', contentLength: 5, etag: '"a"', lastModified: null, body: 'CONTENT' } as MediaMetadata;
    const first = baseline('"a"', 60, { media, mediaRefs: refs, digests: { sha256: 'ab'.repeat(32), sha1: 'cd'.repeat(20), md5: 'ef'.repeat(16) } });
    const c1 = unique('c');

    // compare-and-set failed: neither the check nor its baseline
    expect(await store.recordCheck(live(reportId, c1, { expectVersion: 7, baseline: first }))).toEqual({ applied: false, conflict: true });
    expect((await store.getReportForCheck(reportId))?.baseline).toBeNull();

    expect(await store.recordCheck(live(reportId, c1, { expectVersion: 0, baseline: first }))).toEqual({ applied: true });
    const expected: ContentBaseline = {
      media: { contentType: 'text/html', contentLength: 5, etag: '"a"', lastModified: null }, mediaRefs: refs.slice(0, 100),
      digests: { sha256: 'ab'.repeat(32), sha1: 'cd'.repeat(20), md5: 'ef'.repeat(16) }, seenAt: at(60),
    };
    expect((await store.getReportForCheck(reportId))?.baseline).toEqual(expected);

    // the same check again, and a later live check: the first sighting stays
    expect(await store.recordCheck(live(reportId, c1, { baseline: baseline('"b"', 90) }))).toEqual({ applied: false });
    expect(await store.recordCheck(live(reportId, unique('c'), { expectVersion: 1, startedAt: at(120), baseline: baseline('"c"', 120) }))).toEqual({ applied: true });
    expect(await store.getReportForCheck(reportId)).toMatchObject({ baseline: expected, stateVersion: 2 });

    // a check that applies without one leaves the report without one
    const other = await newReport(at(0));
    expect(await store.recordCheck(live(other.reportId, unique('c')))).toEqual({ applied: true });
    expect((await store.getReportForCheck(other.reportId))?.baseline).toBeNull();
  });

  it('refuses a check of a report that does not exist with NOT_FOUND, and writes nothing', async () => {
    const { store, unique } = h();
    const id = unique('c');
    for (const reportId of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      await expect(store.recordCheck(live(reportId, id, { expectVersion: 0, baseline: baseline('"a"', 60) }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    const { rows } = await store.sql.query('SELECT 1 FROM checks WHERE id = $1', [id]);
    expect(rows).toEqual([]);
  });

  itTwoConnections('a recorder of the same check id that waited for the first one applies nothing', async () => {
    const { store, newReport, unique } = h();
    const { reportId } = await newReport();
    const id = unique('c');
    const streak = { goneStreak: { count: 1, since: h().at(60) } };
    // no version given: only the check id guards it (the first recorder's row is not in the waiter's snapshot)
    expect(await whileHeld((tx) => tx.recordCheck(check(reportId, id, { expectVersion: 0, ...streak })), () => store.recordCheck(check(reportId, id, streak))))
      .toEqual({ applied: false });
    expect(await store.getReportForCheck(reportId)).toMatchObject({ stateVersion: 1, goneStreak: { count: 1 } });
    expect(await checkIds(reportId)).toEqual([id]);

    // with the version it was computed from: the version moved; computed again, it is found recorded
    const again = unique('c');
    expect(await whileHeld((tx) => tx.recordCheck(check(reportId, again, { expectVersion: 1 })), () => store.recordCheck(check(reportId, again, { expectVersion: 1 }))))
      .toEqual({ applied: false, conflict: true });
    expect(await store.recordCheck(check(reportId, again, { expectVersion: 2 }))).toEqual({ applied: false });
    expect(await store.getReportForCheck(reportId)).toMatchObject({ stateVersion: 2 });
    expect(await checkIds(reportId)).toEqual([id, again].sort());
  });

  itTwoConnections('a check that waited for another writer is compared with, and applied to, what that writer committed', async () => {
    const { store, newReport, unique, at } = h();
    const { reportId } = await newReport(at(0));
    const holder = (tx: SqlStore) => tx.recordCheck(live(reportId, unique('c'), { startedAt: at(10), baseline: baseline('"first"', 10) }));

    // computed from version 0, which the other writer moved on: nothing written
    const stale = unique('c');
    expect(await whileHeld(holder, () => store.recordCheck(live(reportId, stale, { expectVersion: 0, startedAt: at(60), baseline: baseline('"late"', 60) }))))
      .toEqual({ applied: false, conflict: true });
    expect(await checkIds(reportId)).not.toContain(stale);
    expect(await store.getReportForCheck(reportId)).toMatchObject({ stateVersion: 1, baseline: { seenAt: at(10) } });

    // no version given: applied on top of the committed state, whose first sighting and baseline stay
    const { reportId: second } = await newReport(at(0));
    const holder2 = (tx: SqlStore) => tx.recordCheck(live(second, unique('c'), { startedAt: at(10), baseline: baseline('"first"', 10) }));
    expect(await whileHeld(holder2, () => store.recordCheck(live(second, unique('c'), { startedAt: at(60), baseline: baseline('"late"', 60) }))))
      .toEqual({ applied: true });
    expect(await store.getReportForCheck(second)).toMatchObject({ stateVersion: 2, baseline: { seenAt: at(10), media: { etag: '"first"' } } });
    expect(await store.getReport(second, { forceId: null })).toMatchObject({ firstSeenLiveAt: at(10), lastSeenLiveAt: at(60) });
    expect(await checkIds(second)).toHaveLength(2);
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
