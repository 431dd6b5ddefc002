/**
 * Conformance of the intake, tenancy and audit operations of the Store port (issue 7), run by
 * store-conformance.ts against PostgreSQL and embedded PostgreSQL alike.
 */
import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/errors.js';
import type { NewSubmissionItem } from '../../core/store.js';
import type { SqlStore } from '../../store/sql-store.js';

const T0 = new Date('2031-01-01T00:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-i${++counter}`;
const item = (line: number, url: string, extra: Partial<NewSubmissionItem> = {}): NewSubmissionItem =>
  ({ line, input: url, url, initialStatus: 'pending', ...extra });

export function runIntakeConformance(stores: () => { store: SqlStore; other: SqlStore }): void {
  const newForce = async (): Promise<string> => {
    const id = unique('force');
    await stores().store.createForce({ id, name: id });
    return id;
  };
  const urlsOf = (n: number) => { const tag = unique('h'); return Array.from({ length: n }, (_, i) => `https://${tag}-${i}.test/`); };
  const reportIdOf = async (url: string) => (await stores().store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url])).rows[0]!.id;
  const auditCount = async () => (await stores().store.sql.query<{ n: number }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n;

  describe('intake: receipts, pages, idempotency', () => {
    it('stores rejections, counts and the registrable domain; the receipt repeats the answer', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const [a, b] = urlsOf(2);
      const id = unique('sub');
      const rejected = [{ line: 2, input: 'nope', error: 'not an absolute URL' }];
      await store.createSubmission({ id, forceId, reference: 'R', now: T0, rejected, items: [item(1, a!, { registrableDomain: 'x.test' }), item(3, b!), item(4, a!)] });
      expect(await store.getSubmissionReceipt(id, { forceId })).toEqual({ id, accepted: 2, duplicates: 1, rejected });
      expect(await store.getSubmissionReceipt(id, { forceId: unique('other') })).toBeNull();
      const { rows } = await store.sql.query('SELECT registrable_domain FROM reports WHERE url = $1', [a]);
      expect(rows).toEqual([{ registrable_domain: 'x.test' }]);
    });

    it('pages items by line, scoped to the owner, with counts over the whole submission', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const urls = urlsOf(5);
      const id = unique('sub');
      await store.createSubmission({ id, forceId, reference: null, now: T0, items: urls.map((u, i) => item(i * 2 + 1, u)) });
      await store.sql.query(`UPDATE reports SET status = 'live' WHERE url = $1`, [urls[0]]);
      const first = await store.getSubmissionPage(id, { forceId }, { afterLine: null, limit: 2 });
      expect(first).toMatchObject({ id, force: forceId, itemCount: 5, accepted: 5, duplicates: 0, rejectedCount: 0, counts: { live: 1, pending: 4 }, nextAfterLine: 3 });
      expect(first?.items.map((i) => [i.line, i.url, i.notices])).toEqual([[1, urls[0], 0], [3, urls[1], 0]]);
      const last = await store.getSubmissionPage(id, { forceId: null }, { afterLine: 7, limit: 2 });
      expect(last?.items.map((i) => i.line)).toEqual([9]);
      expect(last?.nextAfterLine).toBeNull();
      expect(await store.getSubmissionPage(id, { forceId: unique('other') }, { afterLine: null, limit: 2 })).toBeNull();
      expect((await store.getSubmissionPage(id, { forceId }, { afterLine: null, limit: 1, counts: false }))?.counts).toEqual({});
    });

    it('one unexpired submission per (force, key); a taken key writes nothing; an expired key is taken over', async () => {
      const { store, other } = stores();
      const forceId = await newForce();
      const claim = { key: 'k-1', requestHash: 'a'.repeat(64), expiresAt: at(100) };
      const [u1, u2] = urlsOf(2);
      const first = unique('sub');
      await store.createSubmission({ id: first, forceId, reference: null, now: T0, items: [item(1, u1!)], idempotency: claim });
      expect(await other.findIdempotencyKey(forceId, 'k-1', at(99))).toEqual({ requestHash: 'a'.repeat(64), submissionId: first, createdAt: T0 });
      expect(await store.findIdempotencyKey(forceId, 'k-1', at(100))).toBeNull();
      expect(await store.findIdempotencyKey(await newForce(), 'k-1', T0)).toBeNull();

      const before = await auditCount();
      const second = unique('sub');
      const err = await other.createSubmission({
        id: second, forceId, reference: null, now: at(50), items: [item(1, u2!)], idempotency: { ...claim, expiresAt: at(150) },
        audit: { actor: 't', action: 'submission.create', subjectType: 'submission', subjectId: second, at: at(50) },
      }).then(() => null, (e: unknown) => e);
      expect(isVigilError(err, 'IDEMPOTENCY_CONFLICT')).toBe(true);
      expect(await store.getSubmission(second, { forceId: null })).toBeNull();
      expect((await store.sql.query('SELECT 1 FROM reports WHERE url = $1', [u2])).rowCount).toBe(0);
      expect(await auditCount()).toBe(before);

      await other.createSubmission({ id: second, forceId, reference: null, now: at(100), items: [item(1, u2!)], idempotency: { key: 'k-1', requestHash: 'b'.repeat(64), expiresAt: at(200) } });
      expect(await store.findIdempotencyKey(forceId, 'k-1', at(150))).toMatchObject({ submissionId: second, requestHash: 'b'.repeat(64) });
    });

    it('appends the audit row in the submission\'s transaction', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const id = unique('sub');
      await store.createSubmission({
        id, forceId, reference: null, now: T0, items: [item(1, urlsOf(1)[0]!)],
        audit: { actor: 'key:k', action: 'submission.create', subjectType: 'submission', subjectId: id, at: T0, detail: { items: 1 } },
      });
      const { rows } = await store.sql.query('SELECT actor, action, subject_id, detail FROM audit_log WHERE subject_id = $1', [id]);
      expect(rows).toEqual([{ actor: 'key:k', action: 'submission.create', subject_id: id, detail: { items: 1 } }]);
      expect((await store.verifyAuditChain()).ok).toBe(true);
    });
  });

  describe('report lists, traces and verdicts', () => {
    it('lists newest first with keyset pages that lose nothing at equal times and sub-millisecond gaps', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const urls = urlsOf(7);
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: at(1), items: urls.slice(0, 5).map((u, i) => item(i + 1, u)) });
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: at(2), items: urls.slice(5).map((u, i) => item(i + 1, u)) });
      // as if written by another clock: microseconds a Date cannot hold
      await store.sql.query(`UPDATE reports SET created_at = created_at + interval '400 microseconds' WHERE url = $1`, [urls[1]]);
      const seen: string[] = [];
      let after = null;
      do {
        const page: Awaited<ReturnType<SqlStore['listReports']>> = await store.listReports({ forceId }, {}, { after, limit: 2 });
        seen.push(...page.items.map((i) => i.url));
        after = page.next;
      } while (after);
      expect(seen.slice(0, 2).sort()).toEqual(urls.slice(5).sort());
      expect(seen.slice(2, 3)).toEqual([urls[1]]);
      expect(seen.sort()).toEqual([...urls].sort());
    });

    it('filters by status, hosting country and registrable domain, within the scope', async () => {
      const { store } = stores();
      const [forceA, forceB] = [await newForce(), await newForce()];
      const [a, b] = urlsOf(2);
      await store.createSubmission({ id: unique('sub'), forceId: forceA, reference: null, now: T0, items: [item(1, a!, { registrableDomain: 'dom-a.test' })] });
      await store.createSubmission({ id: unique('sub'), forceId: forceB, reference: null, now: T0, items: [item(1, b!)] });
      await store.sql.query(`UPDATE reports SET status = 'live', hosting_country = 'NL' WHERE url = ANY($1::text[])`, [[a, b]]);
      const urlsFor = async (forceId: string | null, filter: Parameters<SqlStore['listReports']>[1]) =>
        (await store.listReports({ forceId }, filter, { after: null, limit: 1000 })).items.map((i) => i.url);
      expect(await urlsFor(forceA, { status: 'live', country: 'NL' })).toEqual([a]);
      expect((await urlsFor(null, { status: 'live', country: 'NL' })).filter((u) => u === a || u === b).sort()).toEqual([a, b].sort());
      expect(await urlsFor(null, { registrableDomain: 'dom-a.test' })).toEqual([a]);
      expect(await urlsFor(forceB, { registrableDomain: 'dom-a.test' })).toEqual([]);
      expect(await urlsFor(forceA, { status: 'removed' })).toEqual([]);
    });

    it('returns traces only within the scope', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const [u] = urlsOf(1);
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: T0, items: [item(1, u!)] });
      const id = await reportIdOf(u!);
      await store.sql.query(`INSERT INTO traces (id, report_id, created_at, country, via_cdn) VALUES ($1, $2, $3, 'NL', true)`, [unique('t'), id, T0]);
      expect(await store.listReportTraces(id, { forceId })).toEqual([expect.objectContaining({ country: 'NL', viaCdn: true, checkId: null, provenance: {} })]);
      expect(await store.listReportTraces(id, { forceId: unique('other') })).toBeNull();
      expect(await store.listReportTraces('not-a-uuid', { forceId: null })).toBeNull();
    });

    it('sets a verdict with its audit row in one transaction, returning the one it replaced', async () => {
      const { store } = stores();
      const forceId = await newForce();
      const [u] = urlsOf(1);
      await store.createSubmission({ id: unique('sub'), forceId, reference: null, now: T0, items: [item(1, u!, { verdict: 'illegal' })] });
      const id = await reportIdOf(u!);
      const audit = { actor: 'key:analyst', action: 'report.verdict', subjectType: 'report', subjectId: id, at: T0, detail: { verdict: 'not_illegal' } };
      expect(await store.setVerdict({ reportId: id, verdict: 'not_illegal', source: 'analyst', audit })).toEqual({ previous: { verdict: 'illegal', source: 'submission' } });
      expect(await store.getReport(id, { forceId: null })).toMatchObject({ verdict: 'not_illegal', verdictSource: 'analyst' });
      const rows = await store.sql.query('SELECT detail FROM audit_log WHERE subject_id = $1 AND action = $2', [id, 'report.verdict']);
      expect(rows.rows).toEqual([{ detail: { verdict: 'not_illegal', previous: { verdict: 'illegal', source: 'submission' } } }]);
      const before = await auditCount();
      expect(await store.setVerdict({ reportId: '00000000-0000-4000-8000-000000000000', verdict: 'illegal', source: 'analyst', audit })).toBeNull();
      expect(await auditCount()).toBe(before);
    });
  });
}
