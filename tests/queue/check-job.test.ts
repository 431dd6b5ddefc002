/**
 * The check job on the real store (PostgreSQL) with a scripted fetcher and fake time: a check is
 * applied once however often its job runs, stale jobs are dropped before fetching, a report
 * that changes while its check runs gets the check applied to its new state, and a check costs
 * the database one read and one write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecyclePolicy } from '../../core/check-transition.js';
import { BUILTIN_CHALLENGE_PATTERNS } from '../../core/takedown-patterns.js';
import type { Store } from '../../core/store.js';
import { runCheckJob, type CheckJobDeps } from '../../queue/check-job.js';
import { jobIdFor, type TracePayload } from '../../queue/job-payloads.js';
import type { SqlClient } from '../../store/sql-client.js';
import { SqlStore } from '../../store/sql-store.js';
import { FakeClock, ScriptedFetcher, createTestStore, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog } from './support.js';

const M = 60_000;
const H = 60 * M;
const T0 = Date.parse('2030-05-01T00:00:00.000Z');
const policy: LifecyclePolicy = {
  recheck: { live: H, notified: 30 * M, removed: 24 * H, unreachable: 6 * H, pendingRetry: 15 * M },
  removal: { confirmations: 3, windowMs: H },
  watchAfterRemovalMs: 30 * 24 * H,
  expireAfterMs: 90 * 24 * H,
};

let db: TestStore;
beforeAll(async () => { db = await createTestStore(); });
afterAll(async () => { await db?.close(); });

let n = 0;
const url = () => `https://host-${++n}.check-job.test/page`;

function deps(over: Partial<CheckJobDeps> = {}): CheckJobDeps & { fetcher: ScriptedFetcher; clock: FakeClock } {
  return {
    store: db.store,
    fetcher: new ScriptedFetcher('live'),
    clock: new FakeClock(T0),
    rules: { takedownPatterns: [], challengePatterns: BUILTIN_CHALLENGE_PATTERNS },
    policy,
    random: () => 0.5,
    log: captureLog().log,
    ...over,
  } as CheckJobDeps & { fetcher: ScriptedFetcher; clock: FakeClock };
}

async function dueJob(reportId: string) {
  const report = await db.store.getReportForCheck(reportId);
  const dueAt = report!.nextCheckAt!;
  return { reportId, dueAt, checkId: jobIdFor('check', { reportId, dueAt: dueAt.toISOString(), reason: 'scheduled' }) as string };
}

/** The test store over a client that logs every round trip (a transaction's BEGIN and COMMIT too). */
function countingStore(): { store: SqlStore; roundTrips: string[] } {
  const roundTrips: string[] = [];
  const wrap = (c: SqlClient): SqlClient => ({
    query: (text, params) => { roundTrips.push(text); return c.query(text, params); },
    exec: (script) => c.exec(script),
    transaction: async (fn) => {
      roundTrips.push('BEGIN');
      try { return await c.transaction((tx) => fn(wrap(tx))); } finally { roundTrips.push('COMMIT'); }
    },
    close: () => c.close(),
  });
  return { store: new SqlStore(wrap(db.store.sql), 'postgres'), roundTrips };
}

async function checksOf(reportId: string): Promise<number> {
  const { rows } = await db.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM checks WHERE report_id = $1', [reportId]);
  return rows[0]?.n ?? 0;
}

describe('runCheckJob', () => {
  it('applies the first check: pending → live, due an hour later', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const d = deps();
    d.clock.advance(5_000);
    const result = await runCheckJob(await dueJob(id!), d);
    expect(result).toMatchObject({ outcome: 'live', applied: true, status: 'live' });
    expect(await db.store.getReportForCheck(id!)).toMatchObject({ status: 'live', nextCheckAt: new Date(T0 + 5_000 + H), stateVersion: 1 });
  });

  it('a job run twice at once (a retry racing the original) applies its check once', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const job = await dueJob(id!);
    const d = deps();
    let release!: () => void;
    d.fetcher.gate = new Promise((r) => { release = r; });
    const both = Promise.all([runCheckJob(job, d), runCheckJob(job, d)]);
    // both have passed the due-time guard and are fetching
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (d.fetcher.fetched.length === 2) { clearInterval(t); resolve(); } }, 5); });
    release();
    const results = await both;
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(await checksOf(id!)).toBe(1);
    expect((await db.store.getReportForCheck(id!))?.stateVersion).toBe(1);
  });

  it('a job for a due time that has passed on is dropped without fetching', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const job = await dueJob(id!);
    const d = deps();
    await runCheckJob(job, d);
    const again = await runCheckJob(job, d);
    expect(again).toMatchObject({ applied: false, reason: 'stale_due', outcome: null });
    expect(d.fetcher.fetched).toHaveLength(1);
    expect(await checksOf(id!)).toBe(1);
  });

  it('a job for a closed or missing report is dropped', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0), 'not_illegal');
    const d = deps();
    expect((await runCheckJob(await dueJob(id!), d)).status).toBe('rejected');
    expect(await runCheckJob({ reportId: id!, dueAt: new Date(T0), checkId: 'check.x.1' }, d)).toMatchObject({ reason: 'report_closed', applied: false });
    expect(await runCheckJob({ reportId: '00000000-0000-4000-8000-000000000000', dueAt: new Date(T0), checkId: 'check.y.1' }, d))
      .toMatchObject({ reason: 'report_missing', applied: false });
  });

  it('a report changed while its check ran gets the check applied to its new state (no lost streak)', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    await db.store.sql.query(`UPDATE reports SET status = 'notified', verdict = 'illegal', verdict_source = 'analyst', gone_streak = 1, gone_since = $2 WHERE id = $1`,
      [id, new Date(T0)]);
    const job = await dueJob(id!);
    const d = deps();
    d.fetcher.fallback = 'gone';
    // while the fetch runs, another check of the report (an analyst's recheck) is recorded
    let release!: () => void;
    d.fetcher.gate = new Promise((r) => { release = r; });
    d.clock.set(new Date(T0 + H));
    const running = runCheckJob(job, d);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (d.fetcher.fetched.length === 1) { clearInterval(t); resolve(); } }, 5); });
    await db.store.recordCheck({
      id: 'other-check', reportId: id!, outcome: 'gone', reason: 'http_404', httpStatus: 404, vantage: null, startedAt: new Date(T0 + 10 * M),
      durationMs: 1, nextStatus: 'notified', nextCheckAt: job.dueAt, goneStreak: { count: 2, since: new Date(T0) }, expectVersion: 0,
    });
    release();
    const result = await running;
    // computed from the new state (streak 2), the third gone, an hour after the first, confirms removal
    expect(result).toMatchObject({ applied: true, status: 'removed' });
    expect(await db.store.getReportForCheck(id!)).toMatchObject({ status: 'removed', removedAt: new Date(T0), stateVersion: 2 });
  });

  it('a hash-list match found by the check is stored as the verdict', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const d = deps();
    d.fetcher.fallback = {
      kind: 'response', status: 200, headers: {}, finalUrl: 'x', redirects: 0, remoteAddress: null, bodyBytes: 1, truncated: false, textSample: null, durationMs: 1,
      hashListMatch: { algorithm: 'sha256', digest: 'ab'.repeat(32) } as never,
    };
    await runCheckJob(await dueJob(id!), d);
    expect(await db.store.getReportForCheck(id!)).toMatchObject({ status: 'live', verdict: 'illegal', verdictSource: 'hash_list' });
  });

  it('gives up with an error (so BullMQ retries) when the report keeps changing', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const job = await dueJob(id!);
    const store: Pick<Store, 'getReportForCheck' | 'recordCheck'> = {
      getReportForCheck: (rid) => db.store.getReportForCheck(rid),
      recordCheck: async () => ({ applied: false, conflict: true }),
    };
    await expect(runCheckJob(job, deps({ store }))).rejects.toThrow(/kept changing/);
  });

  it('costs one read and one write; the trace decision uses the last trace read with the report', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const { store, roundTrips } = countingStore();
    const added: TracePayload[] = [];
    const queues = { add: async (_q: string, p: unknown) => { added.push(p as TracePayload); return {} as never; } };
    // no store for traces: the job must not read the last trace again
    const d = deps({ store, trace: { queues } });
    const first = await dueJob(id!);
    expect(await runCheckJob(first, d)).toMatchObject({ outcome: 'live', applied: true });
    expect(roundTrips).toHaveLength(2);
    // never traced: a trace is asked for; the first live sighting is the baseline
    expect(added).toEqual([{ reportId: id, checkId: first.checkId, ip: '127.0.0.2' }]);
    expect((await db.store.getReportForCheck(id!))?.baseline).toEqual({ media: null, mediaRefs: null, digests: null, seenAt: new Date(T0) });

    // traced at the address the next check connects to, and recently: no trace, still two round trips
    await db.store.recordTrace({
      id: `trace.${id}.${first.checkId}`, reportId: id!, checkId: first.checkId, tracedAt: new Date(T0 + M), provenance: {}, now: new Date(T0 + M),
      hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic NL', viaCdn: false },
    });
    roundTrips.length = 0;
    d.clock.set(new Date(T0 + H));
    expect(await runCheckJob(await dueJob(id!), d)).toMatchObject({ outcome: 'live', applied: true });
    expect(roundTrips).toHaveLength(2);
    expect(added).toHaveLength(1);
  });
});
