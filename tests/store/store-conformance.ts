/**
 * One contract, every implementation (DESIGN.md house style 2): the same tests run against
 * PostgreSQL (postgres.test.ts) and embedded PostgreSQL (embedded.test.ts).
 *
 * Time is never waited for: every operation takes an explicit `now`.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/errors.js';
import type { Verdict } from '../../core/report-status.js';
import type { NewSubmissionItem } from '../../core/store.js';
import { AUDIT_GENESIS_HASH, verifyAuditChain } from '../../store/audit-queries.js';
import { loadMigrations, migrate } from '../../store/migrate.js';
import type { SqlClient } from '../../store/sql-client.js';
import { SqlStore } from '../../store/sql-store.js';
import { runCompletionConformance } from './completion-conformance.js';
import { runIntakeConformance } from './intake-conformance.js';
import { runLifecycleConformance } from './lifecycle-conformance.js';
import { runOutboxConformance } from './outbox-conformance.js';
import { runTraceConformance } from './trace-conformance.js';

export interface StoreHarness {
  kind: 'postgres' | 'embedded';
  /**
   * A client on the harness's (initially empty) database. PostgreSQL: a new pool on each call,
   * so two clients really run concurrently. Embedded: the one PGlite connection every time.
   */
  connect(): Promise<SqlClient>;
  /** Closes every client and removes the database. */
  destroy(): Promise<void>;
}

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
/** due times are parked here before each claim test, beyond any `now` the tests use */
const PARKED = new Date('2999-01-01T00:00:00.000Z');

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

function item(line: number, url: string, extra: Partial<NewSubmissionItem> = {}): NewSubmissionItem {
  return { line, input: ` ${url} `, url, initialStatus: 'pending', ...extra };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err, `expected VigilError ${code}`).not.toBeNull();
  expect(isVigilError(err) ? err.code : err).toBe(code);
}

/**
 * @param kind the harness's kind, known when the tests are defined: tests that need two
 *   connections at once are defined for PostgreSQL only (PGlite has one connection), so they
 *   are absent there rather than skipped
 */
export function runStoreConformance(kind: StoreHarness['kind'], createHarness: () => Promise<StoreHarness>): void {
  const twoConnections = kind === 'postgres';
  let harness: StoreHarness;
  let clientA: SqlClient;
  let clientB: SqlClient;
  /** two stores on separate connections (PostgreSQL) over one database */
  let store: SqlStore;
  let other: SqlStore;
  let migrateResults: number[][];
  const allVersions = loadMigrations().map((m) => m.version);

  beforeAll(async () => {
    harness = await createHarness();
    clientA = await harness.connect();
    clientB = await harness.connect();
    // Two processes starting at once against one database.
    migrateResults = await Promise.all([migrate(clientA), migrate(clientB)]);
    store = new SqlStore(clientA, harness.kind);
    other = new SqlStore(clientB, harness.kind);
  });

  afterAll(async () => {
    await harness?.destroy();
  });

  async function newForce(): Promise<string> {
    const id = unique('force');
    await store.createForce({ id, name: `Force ${id}` });
    return id;
  }

  async function reportIdOf(url: string): Promise<string> {
    const { rows } = await store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url]);
    expect(rows).toHaveLength(1);
    return (rows[0] as { id: string }).id;
  }

  async function newReport(now = T0): Promise<{ forceId: string; reportId: string; url: string }> {
    const forceId = await newForce();
    const url = `https://${unique('host')}.example/a`;
    await store.createSubmission({ id: unique('sub'), forceId, reference: null, items: [item(1, url)], now });
    return { forceId, reportId: await reportIdOf(url), url };
  }

  describe('migrations', () => {
    it('concurrent migrate() calls both succeed and apply each migration once', async () => {
      expect(allVersions.length).toBeGreaterThan(0);
      expect([...(migrateResults[0] ?? []), ...(migrateResults[1] ?? [])].sort((a, b) => a - b)).toEqual(allVersions);
      const { rows } = await store.sql.query<{ version: number; n: number }>(
        'SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
      expect(rows).toEqual(allVersions.map((version) => ({ version, n: 1 })));
    });

    it('is idempotent', async () => {
      const before = await store.sql.query('SELECT version, applied_at FROM schema_migrations ORDER BY version');
      expect(await store.migrate().then(() => migrate(clientB))).toEqual([]);
      const after = await store.sql.query('SELECT version, applied_at FROM schema_migrations ORDER BY version');
      expect(after.rows).toEqual(before.rows);
    });

    it('refuses a migration that changed after it was applied', async () => {
      const changed = loadMigrations().map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'edited' } : m));
      await expectCode(migrate(clientA, changed), 'DB_MIGRATION_FAILED');
    });

    it('creates the tables of record and no column for fetched content', async () => {
      const { rows } = await store.sql.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`);
      const tables = new Set(rows.map((r) => r.table_name));
      for (const t of ['forces', 'api_keys', 'submissions', 'submission_items', 'reports', 'report_forces', 'checks', 'traces', 'notices', 'audit_log', 'schema_migrations']) {
        expect(tables, t).toContain(t);
      }
      const contentLike = rows.filter((r) => /body|content|html|screenshot|payload/i.test(r.column_name));
      expect(contentLike).toEqual([]);
    });
  });

  describe('connection', () => {
    it('pings and reports its kind', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(store.kind).toBe(harness.kind);
    });

    it('parses timestamptz as Date and bigint as number', async () => {
      const { rows } = await store.sql.query<{ t: unknown; n: unknown }>(
        `SELECT '2030-01-01T00:00:00.123Z'::timestamptz AS t, count(*) AS n FROM (VALUES (1), (2)) v(x)`);
      expect(rows[0]?.t).toEqual(new Date('2030-01-01T00:00:00.123Z'));
      expect(rows[0]?.n).toBe(2);
    });

    it('rolls a failed transaction back', async () => {
      const id = unique('force');
      const failed = await store.sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO forces (id, name) VALUES ($1, 'x')`, [id]);
        throw new Error('boom');
      }).catch((e: Error) => e);
      expect((failed as Error).message).toBe('boom');
      expect(await store.getForce(id)).toBeNull();
    });
  });

  describe('forces', () => {
    it('creates and reads a force', async () => {
      const id = unique('force');
      const created = await store.createForce({ id, name: 'Kent Police', webhookUrl: 'https://hooks.example/kent', webhookSecret: 'whsec_abc' });
      expect(created).toMatchObject({ id, name: 'Kent Police', webhookUrl: 'https://hooks.example/kent', webhookSecret: 'whsec_abc' });
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(await other.getForce(id)).toEqual(created);
      expect(await store.getForce(unique('nobody'))).toBeNull();
    });

    it('refuses a duplicate id with FORCE_EXISTS', async () => {
      const id = await newForce();
      await expectCode(store.createForce({ id, name: 'again' }), 'FORCE_EXISTS');
    });
  });

  describe('api keys', () => {
    const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

    it('stores a key by hash, finds it, and revokes it once', async () => {
      const forceId = await newForce();
      const tokenHash = hash(unique('token'));
      const created = await store.createApiKey({
        id: unique('key'), role: 'force', forceId, recipientId: null, label: 'intake', tokenHash, expiresAt: at(86_400),
      });
      expect(created).toMatchObject({ role: 'force', forceId, label: 'intake', tokenHash, expiresAt: at(86_400), revokedAt: null });
      expect(await store.findApiKeyByHash(tokenHash.toUpperCase())).toEqual(created);
      expect(await store.findApiKeyByHash(hash('no such token'))).toBeNull();

      expect(await store.revokeApiKey(created.id, at(10))).toBe(true);
      expect(await store.revokeApiKey(created.id, at(20))).toBe(true);
      expect((await store.findApiKeyByHash(tokenHash))?.revokedAt).toEqual(at(10));
      expect(await store.revokeApiKey(unique('no-key'), at(10))).toBe(false);
    });

    it('refuses a key for an unknown force with FORCE_UNKNOWN', async () => {
      await expectCode(store.createApiKey({
        id: unique('key'), role: 'force', forceId: unique('nobody'), recipientId: null, label: null, tokenHash: hash(unique('t')), expiresAt: null,
      }), 'FORCE_UNKNOWN');
    });
  });

  describe('submissions', () => {
    it('refuses an unknown force with FORCE_UNKNOWN and writes nothing', async () => {
      const id = unique('sub');
      const url = `https://${unique('host')}.example/`;
      await expectCode(store.createSubmission({ id, forceId: unique('nobody'), reference: null, items: [item(1, url)], now: T0 }), 'FORCE_UNKNOWN');
      expect(await store.getSubmission(id, { forceId: null })).toBeNull();
      expect((await store.sql.query('SELECT 1 FROM reports WHERE url = $1', [url])).rowCount).toBe(0);
    });

    it('creates one report per new URL; repeats within a submission are duplicates', async () => {
      const forceId = await newForce();
      const [a, b] = [`https://${unique('a')}.example/x`, `https://${unique('b')}.example/y`];
      const id = unique('sub');
      const result = await store.createSubmission({
        id, forceId, reference: 'case-17', now: T0,
        items: [item(1, a, { verdict: 'illegal', sha256: 'AB'.repeat(32) }), item(2, b), item(3, a)],
      });
      expect(result).toEqual({ id, accepted: 2, duplicates: 1, restarted: 0 });

      const view = await store.getSubmission(id, { forceId });
      expect(view).toMatchObject({ id, force: forceId, reference: 'case-17', createdAt: T0, completedAt: null, counts: { pending: 3 } });
      expect(view?.items.map((i) => i.url)).toEqual([a, b, a]);
      expect(view?.items[0]?.reportId).toBe(view?.items[2]?.reportId);
      expect(view?.items[0]).toMatchObject({ status: 'pending', hosting: null, firstSeenLiveAt: null, removedAt: null });

      const report = await store.getReport(await reportIdOf(a), { forceId });
      expect(report).toMatchObject({ url: a, status: 'pending', verdict: 'illegal', verdictSource: 'submission', createdAt: T0, checks: [], notices: [] });
      expect(await store.getReportForCheck(await reportIdOf(a))).toMatchObject({ url: a, status: 'pending', verdict: 'illegal', sha256: 'ab'.repeat(32), sha1: null, md5: null });
      const due = await store.sql.query<{ next_check_at: Date }>('SELECT next_check_at FROM reports WHERE url = $1', [b]);
      expect(due.rows[0]?.next_check_at).toEqual(T0);
      const items = await store.sql.query('SELECT line, input FROM submission_items WHERE submission_id = $1 ORDER BY line', [id]);
      expect(items.rows).toEqual([{ line: 1, input: ` ${a} ` }, { line: 2, input: ` ${b} ` }, { line: 3, input: ` ${a} ` }]);
    });

    it('gives refused addresses status refused and never schedules them', async () => {
      const forceId = await newForce();
      const url = `http://${unique('private')}.example/`;
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: T0, items: [item(1, url, { initialStatus: 'refused' })] });
      const { rows } = await store.sql.query<{ status: string; next_check_at: Date | null; verdict: Verdict | null }>(
        'SELECT status, next_check_at, verdict FROM reports WHERE url = $1', [url]);
      expect(rows).toEqual([{ status: 'refused', next_check_at: null, verdict: null }]);
    });

    it('links a URL already monitored instead of monitoring it twice, across submissions and forces', async () => {
      const [forceA, forceB] = [await newForce(), await newForce()];
      const shared = `https://${unique('shared')}.example/p`;
      const onlyA = `https://${unique('only-a')}.example/p`;
      const onlyB = `https://${unique('only-b')}.example/p`;
      expect(await store.createSubmission({ id: unique('sub'), forceId: forceA, reference: null, now: T0, items: [item(1, shared), item(2, onlyA)] }))
        .toMatchObject({ accepted: 2, duplicates: 0 });
      expect(await store.createSubmission({ id: unique('sub'), forceId: forceA, reference: null, now: at(1), items: [item(1, shared)] }))
        .toMatchObject({ accepted: 0, duplicates: 1 });
      expect(await other.createSubmission({ id: unique('sub'), forceId: forceB, reference: null, now: at(2), items: [item(1, shared), item(2, onlyB)] }))
        .toMatchObject({ accepted: 1, duplicates: 1 });

      const sharedId = await reportIdOf(shared);
      const links = await store.sql.query<{ force_id: string }>('SELECT force_id FROM report_forces WHERE report_id = $1 ORDER BY force_id', [sharedId]);
      expect(links.rows.map((r) => r.force_id)).toEqual([forceA, forceB].sort());
      // the first submission's data stands
      expect((await store.getReport(sharedId, { forceId: null }))?.createdAt).toEqual(T0);
    });

    it('monitors again a URL submitted again after its monitoring ended; leaves monitored ones as they are', async () => {
      const forceId = await newForce();
      const url = (name: string) => `https://${unique(name)}.example/p`;
      const [expired, watched, watchOver, live, rejected] = [url('expired'), url('watched'), url('watch-over'), url('live'), url('rejected')];
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: T0, items: [expired, watched, watchOver, live, rejected].map((u, i) => item(i + 1, u)) });
      await store.sql.query(`UPDATE reports SET status = 'expired', next_check_at = NULL, dispatch_at = NULL, reopen_count = 1 WHERE url = $1`, [expired]);
      await store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2, next_check_at = $3, dispatch_at = $3 WHERE url = $1`, [watched, at(10), at(5000)]);
      await store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2, next_check_at = NULL, dispatch_at = NULL WHERE url = $1`, [watchOver, at(10)]);
      await store.sql.query(`UPDATE reports SET status = 'live', next_check_at = $2, dispatch_at = $2 WHERE url = $1`, [live, at(3000)]);
      await store.sql.query(`UPDATE reports SET status = 'rejected', verdict = 'not_illegal', verdict_source = 'analyst', next_check_at = NULL, dispatch_at = NULL WHERE url = $1`, [rejected]);
      const state = async (u: string) => (await store.sql.query<Record<string, unknown>>(
        'SELECT status, next_check_at, dispatch_at, expires_at, reopen_count, removed_at, state_version FROM reports WHERE url = $1', [u])).rows[0]!;
      const before = new Map(await Promise.all([expired, watched, watchOver, live, rejected].map(async (u) => [u, await state(u)] as const)));

      const now = at(9000);
      const result = await other.createSubmission({
        id: unique('sub'), forceId: await newForce(), reference: null, now, expireAfterMs: 3_600_000, items: [expired, watched, watchOver, live, rejected].map((u, i) => item(i + 1, u)),
      });
      expect(result).toMatchObject({ accepted: 0, duplicates: 5, restarted: 2 });
      // expired: a new monitoring period and episode, checked at once
      expect(await state(expired)).toMatchObject({
        status: 'pending', next_check_at: now, dispatch_at: now, expires_at: new Date(now.getTime() + 3_600_000), reopen_count: 2,
        state_version: Number(before.get(expired)!.state_version) + 1,
      });
      // removed and its watch over: checked at once; the lifecycle decides (still removed until then)
      expect(await state(watchOver)).toMatchObject({ status: 'removed', removed_at: at(10), next_check_at: now, dispatch_at: now, reopen_count: 0 });
      // still monitored, or ended by a verdict: untouched
      for (const u of [watched, live, rejected]) expect(await state(u)).toEqual(before.get(u));
    });

    it('lets two concurrent submissions of overlapping URLs both succeed, one report per URL', async () => {
      const [forceA, forceB] = [await newForce(), await newForce()];
      const urls = Array.from({ length: 3000 }, (_, i) => `https://${unique('race')}.example/${i}`);
      const forA = urls.slice(0, 2000).reverse();
      const forB = urls.slice(1000);
      const [ra, rb] = await Promise.all([
        store.createSubmission({ id: unique('sub'), forceId: forceA, reference: null, now: T0, items: forA.map((u, i) => item(i + 1, u)) }),
        other.createSubmission({ id: unique('sub'), forceId: forceB, reference: null, now: T0, items: forB.map((u, i) => item(i + 1, u)) }),
      ]);
      expect(ra.accepted + rb.accepted).toBe(3000);
      expect(ra.duplicates + rb.duplicates).toBe(1000);
      const { rows } = await store.sql.query<{ n: number }>('SELECT count(*) AS n FROM reports WHERE url = ANY($1::text[])', [urls]);
      expect(rows[0]?.n).toBe(3000);
    });
  });

  describe('tenant scoping', () => {
    it('shows a force only its own submissions and the reports it monitors', async () => {
      const [forceA, forceB] = [await newForce(), await newForce()];
      const privateUrl = `https://${unique('private-a')}.example/`;
      const sharedUrl = `https://${unique('shared')}.example/`;
      const subA = unique('sub');
      const subB = unique('sub');
      await store.createSubmission({ id: subA, forceId: forceA, reference: null, now: T0, items: [item(1, privateUrl), item(2, sharedUrl)] });
      await store.createSubmission({ id: subB, forceId: forceB, reference: null, now: T0, items: [item(1, sharedUrl)] });
      const privateId = await reportIdOf(privateUrl);
      const sharedId = await reportIdOf(sharedUrl);

      expect(await store.getSubmission(subA, { forceId: forceB })).toBeNull();
      expect(await store.getSubmission(subA, { forceId: forceA })).not.toBeNull();
      expect(await store.getSubmission(subA, { forceId: null })).not.toBeNull();
      expect((await store.getSubmission(subB, { forceId: forceB }))?.items.map((i) => i.reportId)).toEqual([sharedId]);

      expect(await store.getReport(privateId, { forceId: forceB })).toBeNull();
      expect((await store.getReport(privateId, { forceId: forceA }))?.id).toBe(privateId);
      expect((await store.getReport(privateId, { forceId: null }))?.id).toBe(privateId);
      expect((await store.getReport(sharedId, { forceId: forceA }))?.id).toBe(sharedId);
      expect((await store.getReport(sharedId, { forceId: forceB }))?.id).toBe(sharedId);
    });

    it('returns null for ids that name nothing', async () => {
      expect(await store.getReport('not-a-uuid', { forceId: null })).toBeNull();
      expect(await store.getReport('00000000-0000-4000-8000-000000000000', { forceId: null })).toBeNull();
      expect(await store.getReportForCheck('not-a-uuid')).toBeNull();
      expect(await store.getSubmission(unique('nope'), { forceId: null })).toBeNull();
    });
  });

  describe('recordCheck', () => {
    const check = (reportId: string, id: string, over: Partial<Parameters<SqlStore['recordCheck']>[0]> = {}): Parameters<SqlStore['recordCheck']>[0] => ({
      id, reportId, outcome: 'live', reason: 'http_200', httpStatus: 200, vantage: null, startedAt: at(60), durationMs: 420,
      nextStatus: 'live', nextCheckAt: at(3660), ...over,
    });

    it('applies a check once, however often it is recorded', async () => {
      const { reportId } = await newReport();
      const id = unique('check');
      expect(await store.recordCheck(check(reportId, id))).toEqual({ applied: true });
      // a retried job: same id, even with a different result, changes nothing
      expect(await other.recordCheck(check(reportId, id, { outcome: 'gone', nextStatus: 'unreachable', startedAt: at(120), nextCheckAt: null })))
        .toEqual({ applied: false });

      const report = await store.getReport(reportId, { forceId: null });
      expect(report).toMatchObject({ status: 'live', firstSeenLiveAt: at(60), lastSeenLiveAt: at(60), lastCheckedAt: at(60), removedAt: null });
      expect(report?.checks).toEqual([{ id, outcome: 'live', reason: 'http_200', httpStatus: 200, vantage: null, startedAt: at(60), durationMs: 420 }]);
      const { rows } = await store.sql.query<{ next_check_at: Date | null }>('SELECT next_check_at FROM reports WHERE id = $1', [reportId]);
      expect(rows[0]?.next_check_at).toEqual(at(3660));
    });

    it('keeps the first live sighting, advances the last, and dates removal', async () => {
      const { reportId } = await newReport();
      await store.recordCheck(check(reportId, unique('c'), { startedAt: at(60) }));
      await store.recordCheck(check(reportId, unique('c'), { startedAt: at(120), nextStatus: 'notified' }));
      await store.recordCheck(check(reportId, unique('c'), { startedAt: at(180), outcome: 'gone', reason: 'http_404', httpStatus: 404, nextStatus: 'removed', nextCheckAt: at(90_000) }));
      await store.recordCheck(check(reportId, unique('c'), { startedAt: at(240), outcome: 'gone', reason: 'http_404', httpStatus: 404, nextStatus: 'removed' }));
      let report = await store.getReport(reportId, { forceId: null });
      expect(report).toMatchObject({ status: 'removed', firstSeenLiveAt: at(60), lastSeenLiveAt: at(120), removedAt: at(180), lastCheckedAt: at(240) });
      expect(report?.checks.map((c) => c.startedAt)).toEqual([at(240), at(180), at(120), at(60)]);

      // reappearance reopens it
      await store.recordCheck(check(reportId, unique('c'), { startedAt: at(300), nextStatus: 'notified' }));
      report = await store.getReport(reportId, { forceId: null });
      expect(report).toMatchObject({ status: 'notified', firstSeenLiveAt: at(60), lastSeenLiveAt: at(300), removedAt: null });
    });

    it('refuses a check of an unknown report with NOT_FOUND', async () => {
      await expectCode(store.recordCheck(check('00000000-0000-4000-8000-000000000000', unique('c'))), 'NOT_FOUND');
    });
  });

  describe('claimDueChecks', () => {
    beforeEach(async () => {
      // Park whatever earlier tests left due, so each test sees only its own reports.
      await store.claimDueChecks(PARKED, 1_000_000, 0);
    });

    it('leases due reports until the lease runs out, returning the due time they had', async () => {
      const first = await newReport(at(0));
      const second = await newReport(at(5));
      const notYet = await newReport(at(1000));

      const claimed = await store.claimDueChecks(at(10), 10, 60_000);
      expect(claimed).toEqual([
        { reportId: first.reportId, url: first.url, dueAt: at(0) },
        { reportId: second.reportId, url: second.url, dueAt: at(5) },
      ]);
      expect(await other.claimDueChecks(at(10), 10, 60_000)).toEqual([]);
      expect(await store.claimDueChecks(at(69), 10, 60_000)).toEqual([]);
      // the lease passed: the work comes due again by itself, with the same due time (so the
      // same deterministic job id: a job still in Redis is not doubled)
      const again = await store.claimDueChecks(at(70), 10, 3_600_000);
      expect(again).toEqual(claimed);
      expect(await store.claimDueChecks(at(999), 10, 60_000)).toEqual([]);
      expect(await store.claimDueChecks(at(1000), 10, 60_000)).toEqual([{ reportId: notYet.reportId, url: notYet.url, dueAt: at(1000) }]);
    });

    it('takes the oldest due first, up to the limit', async () => {
      const reports = [await newReport(at(30)), await newReport(at(10)), await newReport(at(20))];
      const claimed = await store.claimDueChecks(at(100), 2, 60_000);
      expect(claimed.map((d) => d.reportId)).toEqual([reports[1]?.reportId, reports[2]?.reportId]);
      expect((await store.claimDueChecks(at(100), 2, 60_000)).map((d) => d.reportId)).toEqual([reports[0]?.reportId]);
    });

    it('never hands one report to two concurrent claimers', async () => {
      const forceId = await newForce();
      const urls = Array.from({ length: 400 }, (_, i) => `https://${unique('due')}.example/${i}`);
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: at(0), items: urls.map((u, i) => item(i + 1, u)) });

      const batches = await Promise.all([
        store.claimDueChecks(at(1), 60, 60_000), other.claimDueChecks(at(1), 60, 60_000),
        store.claimDueChecks(at(1), 60, 60_000), other.claimDueChecks(at(1), 60, 60_000),
        store.claimDueChecks(at(1), 60, 60_000), other.claimDueChecks(at(1), 60, 60_000),
      ]);
      const rest = await store.claimDueChecks(at(1), 1000, 60_000);
      const all = [...batches.flat(), ...rest].map((d) => d.reportId);
      expect(batches.flat().length).toBeGreaterThan(0);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe(400);
    });
  });

  describe('report lifecycle', () => {
    runLifecycleConformance(() => ({ store, other, newReport, unique, at, parked: PARKED }), { twoConnections });
  });

  describe('notice outbox', () => {
    runOutboxConformance(() => ({ store, other, newReport, unique, at, parked: PARKED }), { twoConnections });
  });

  describe('traces', () => {
    runTraceConformance(() => ({ store, other, newReport, unique, at, parked: PARKED }));
  });

  describe('submission completion', () => {
    runCompletionConformance(() => ({ store, other, newReport, unique, at, parked: PARKED }));
  });

  describe('audit log', () => {
    it('chains every row to the one before it', async () => {
      const before = await store.sql.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      for (let i = 0; i < 4; i++) {
        await store.appendAudit({ actor: 'key-1', action: 'report.read', subjectType: 'report', subjectId: `r${i}`, detail: { z: 1, a: [i, { y: true, b: null }] }, at: at(i) });
      }
      await store.appendAudit({ actor: 'system', action: 'migrate', subjectType: 'schema', subjectId: null, at: at(9) });
      const { rows } = await store.sql.query<{ prev_hash: string; hash: string; actor: string; subject_id: string | null; detail: unknown; at: Date }>(
        'SELECT prev_hash, hash, actor, subject_id, detail, at FROM audit_log ORDER BY seq');
      let prev = AUDIT_GENESIS_HASH;
      for (const row of rows) {
        expect(row.prev_hash).toBe(prev);
        prev = row.hash;
      }
      const fresh = rows.slice(-5);
      expect(fresh[0]?.prev_hash).toBe(before.rows[0]?.hash ?? AUDIT_GENESIS_HASH);
      // recomputed independently: sha256(prev_hash + JSON with keys sorted, no spaces)
      const row = fresh[1] as (typeof rows)[number];
      const canonical = `{"action":"report.read","actor":"key-1","at":"${at(1).toISOString()}","detail":{"a":[1,{"b":null,"y":true}],"z":1},"subjectId":"r1","subjectType":"report"}`;
      expect(row.hash).toBe(createHash('sha256').update(row.prev_hash + canonical).digest('hex'));
      expect(fresh[4]).toMatchObject({ actor: 'system', subject_id: null, detail: {}, at: at(9) });
      expect(await store.verifyAuditChain()).toEqual({ ok: true, rows: rows.length });
    });

    it('keeps one chain when appends race', async () => {
      const before = (await store.verifyAuditChain()).rows;
      await Promise.all(Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? store : other).appendAudit({ actor: 'key-2', action: 'report.read', subjectType: 'report', subjectId: String(i), at: at(i) })));
      expect(await store.verifyAuditChain()).toEqual({ ok: true, rows: before + 20 });
    });

    it('rejects UPDATE, DELETE and TRUNCATE', async () => {
      await store.appendAudit({ actor: 'key-3', action: 'x', subjectType: 'y', subjectId: null, at: T0 });
      const count = (await store.sql.query('SELECT 1 FROM audit_log')).rowCount;
      for (const sql of ["UPDATE audit_log SET actor = 'mallory'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
        await expect(store.sql.query(sql), sql).rejects.toThrow(/append-only/);
      }
      expect((await store.sql.query('SELECT 1 FROM audit_log')).rowCount).toBe(count);
      expect((await store.sql.query(`SELECT 1 FROM audit_log WHERE actor = 'mallory'`)).rowCount).toBe(0);
    });

    it('detects an edit made behind the trigger', async () => {
      const rolledBack = new Error('roll back the tampering');
      const seen = await store.sql.transaction(async (tx) => {
        await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
        await tx.query(`UPDATE audit_log SET actor = 'mallory' WHERE seq = (SELECT min(seq) FROM audit_log)`);
        const result = await verifyAuditChain(tx);
        throw Object.assign(rolledBack, { result });
      }).catch((e: unknown) => (e === rolledBack ? (e as Error & { result: unknown }).result : Promise.reject(e)));
      expect(seen).toMatchObject({ ok: false, problem: 'hash does not match the row' });
      expect((await store.verifyAuditChain()).ok).toBe(true);
    });
  });

  runIntakeConformance(() => ({ store, other }));

  describe('a 100,000-item submission', () => {
    it('completes in one call with the right counts', async () => {
      const forceId = await newForce();
      const tag = unique('bulk');
      // 90,000 distinct URLs; every tenth line repeats an earlier one
      const items = Array.from({ length: 100_000 }, (_, i) => {
        const n = i % 10 === 9 ? i - 9 : i;
        return item(i + 1, `https://${tag}-${n}.example/path?q=${n}`, { sha256: n % 2 ? null : createHash('sha256').update(String(n)).digest('hex') });
      });
      const id = unique('sub');
      expect(await store.createSubmission({ id, forceId, reference: 'bulk', items, now: T0 })).toEqual({ id, accepted: 90_000, duplicates: 10_000, restarted: 0 });
      const view = await store.getSubmission(id, { forceId });
      expect(view?.counts).toEqual({ pending: 100_000 });
      expect(view?.items).toHaveLength(100_000);
      expect(view?.items[9]?.reportId).toBe(view?.items[0]?.reportId);
      const { rows } = await store.sql.query<{ n: number }>('SELECT count(*) AS n FROM report_forces WHERE force_id = $1', [forceId]);
      expect(rows[0]?.n).toBe(90_000);
    }, 300_000);
  });
}
