/**
 * Store conformance for traces (the trace job's writes): a trace row with provenance and the
 * report's hosting written atomically, once per trace id, in two round trips; the notice decision
 * made due when the first trace of a live illegal report locates it or its country moves, and not
 * otherwise, judged on the report as it is under the row lock (a write in between, a race); the
 * latest trace for "trace again?". Run by store-conformance.ts against PostgreSQL and embedded.
 */
import { expect, it } from 'vitest';
import type { Hosting, NewTrace } from '../../core/store.js';
import type { SqlClient } from '../../store/sql-client.js';
import { SqlStore } from '../../store/sql-store.js';
import type { OutboxHarness } from './outbox-conformance.js';

/**
 * A store on `base`'s connection that lists the round trips it makes (`BEGIN` and `COMMIT` as
 * such, statements by their first words). `before(n)` runs ahead of the n-th statement (0-based),
 * outside any transaction of the store under test: a concurrent writer's moment. Not closed.
 */
export function recordingStore(base: SqlStore, before?: (n: number) => Promise<void>): { store: SqlStore; trips: string[] } {
  const trips: string[] = [];
  const wrap = (inner: SqlClient): SqlClient => ({
    query: async (text, params) => {
      await before?.(trips.length);
      trips.push(text.replace(/\s+/g, ' ').trim().split(' ').slice(0, 2).join(' '));
      return inner.query(text, params);
    },
    exec: (script) => inner.exec(script),
    transaction: async (fn) => {
      await before?.(trips.length);
      trips.push('BEGIN');
      const result = await inner.transaction((tx) => fn(wrap(tx)));
      trips.push('COMMIT');
      return result;
    },
    close: () => Promise.resolve(),
  });
  return { store: new SqlStore(wrap(base.sql), base.kind), trips };
}

const NL: Hosting = { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting NL', viaCdn: false };
const DE: Hosting = { ip: '127.0.0.3', country: 'DE', asn: 64497, org: 'Synthetic Hosting DE', viaCdn: true };
const NOWHERE: Hosting = { ip: null, country: null, asn: null, org: null, viaCdn: false };

export function runTraceConformance(h: () => OutboxHarness): void {
  const trace = (reportId: string, hosting: Hosting, seconds: number, id = h().unique('trace')): NewTrace => ({
    id, reportId, checkId: null, tracedAt: h().at(seconds), hosting, now: h().at(seconds + 1),
    provenance: { target: 'https://x.test/', databases: [{ role: 'country', databaseType: 'Test-Country', buildEpoch: '2031-01-01T00:00:00.000Z' }] },
  });
  const reportRow = async (reportId: string) => (await h().store.sql.query<{
    hosting_ip: string | null; hosting_country: string | null; hosting_asn: string | number | null; hosting_org: string | null;
    hosting_via_cdn: boolean | null; next_realert_at: Date | null;
  }>('SELECT hosting_ip, hosting_country, hosting_asn, hosting_org, hosting_via_cdn, next_realert_at FROM reports WHERE id = $1', [reportId])).rows[0]!;
  const traceCount = async (reportId: string) => Number((await h().store.sql.query<{ n: string }>('SELECT count(*) AS n FROM traces WHERE report_id = $1', [reportId])).rows[0]!.n);
  const liveIllegal = async () => {
    const r = await h().newReport(h().at(0));
    await h().store.sql.query(`UPDATE reports SET status = 'live', verdict = 'illegal', verdict_source = 'analyst' WHERE id = $1`, [r.reportId]);
    return r;
  };

  it('writes the trace and the hosting once per id; the first trace of a live illegal report makes its decision due', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegal();
    const t = trace(reportId, NL, 10);
    const first = await store.recordTrace(t);
    expect(first).toEqual({ applied: true, decideNow: true, previous: null });
    const row = await reportRow(reportId);
    expect({ ...row, hosting_asn: Number(row.hosting_asn) }).toEqual({
      hosting_ip: '127.0.0.2', hosting_country: 'NL', hosting_asn: 64496, hosting_org: 'Synthetic Hosting NL', hosting_via_cdn: false, next_realert_at: at(11),
    });
    const views = await store.listReportTraces(reportId, { forceId: null });
    expect(views).toHaveLength(1);
    expect(views![0]).toMatchObject({ id: t.id, country: 'NL', ip: '127.0.0.2', provenance: t.provenance });

    // the same trace again (a retried job): nothing changes, the decision time included
    await store.sql.query('UPDATE reports SET next_realert_at = NULL WHERE id = $1', [reportId]);
    expect(await store.recordTrace({ ...t, hosting: DE, now: at(50) })).toMatchObject({ applied: false, decideNow: false });
    expect(await traceCount(reportId)).toBe(1);
    expect(await reportRow(reportId)).toMatchObject({ hosting_country: 'NL', next_realert_at: null });
  });

  it('a move to another country makes the decision due; the same country does not; an address-less trace keeps the hosting', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegal();
    await store.recordTrace(trace(reportId, NL, 10));
    await store.sql.query('UPDATE reports SET next_realert_at = NULL WHERE id = $1', [reportId]);

    expect(await store.recordTrace(trace(reportId, { ...NL, ip: '127.0.0.7' }, 20))).toMatchObject({ applied: true, decideNow: false });
    expect(await reportRow(reportId)).toMatchObject({ hosting_ip: '127.0.0.7', hosting_country: 'NL', next_realert_at: null });

    expect(await store.recordTrace(trace(reportId, NOWHERE, 30))).toMatchObject({ applied: true, decideNow: false });
    expect(await reportRow(reportId)).toMatchObject({ hosting_ip: '127.0.0.7', hosting_country: 'NL', next_realert_at: null });

    // a due time already sooner stays
    await store.sql.query('UPDATE reports SET next_realert_at = $2 WHERE id = $1', [reportId, at(5)]);
    expect(await store.recordTrace(trace(reportId, DE, 40))).toMatchObject({ applied: true, decideNow: true, previous: { country: 'NL' } });
    expect(await reportRow(reportId)).toMatchObject({ hosting_ip: '127.0.0.3', hosting_country: 'DE', hosting_via_cdn: true, next_realert_at: at(5) });
    await store.sql.query('UPDATE reports SET next_realert_at = $2 WHERE id = $1', [reportId, at(3600)]);
    await store.recordTrace(trace(reportId, NL, 50));
    expect((await reportRow(reportId)).next_realert_at).toEqual(at(51));
    expect(await traceCount(reportId)).toBe(5);
  });

  it('tells the notifier nothing for a report that is not live and illegal', async () => {
    const { store } = h();
    const pending = await h().newReport(h().at(0));
    expect(await store.recordTrace(trace(pending.reportId, NL, 10))).toMatchObject({ applied: true, decideNow: false });
    const noVerdict = await h().newReport(h().at(0));
    await store.sql.query(`UPDATE reports SET status = 'live' WHERE id = $1`, [noVerdict.reportId]);
    expect(await store.recordTrace(trace(noVerdict.reportId, NL, 10))).toMatchObject({ applied: true, decideNow: false });
    expect(await store.recordTrace(trace(noVerdict.reportId, DE, 20))).toMatchObject({ applied: true, decideNow: false });
    expect((await reportRow(noVerdict.reportId)).next_realert_at).toBeNull();
    expect((await reportRow(noVerdict.reportId)).hosting_country).toBe('DE');
  });

  it('records a trace in two statements (read, then one locking write) without a transaction', async () => {
    const { reportId } = await liveIllegal();
    const { store, trips } = recordingStore(h().store);
    expect(await store.recordTrace(trace(reportId, NL, 10))).toEqual({ applied: true, decideNow: true, previous: null });
    expect(trips).toEqual(['SELECT r.status,', 'WITH locked']);
  });

  it('applies the rule to the report as it is when written: a write in between makes it decide again under the lock', async () => {
    const { at } = h();
    const { reportId } = await liveIllegal();
    // the store read the report untraced; before it writes, another trace locates it in NL
    const { store, trips } = recordingStore(h().store, async (n) => {
      if (n === 1) await h().store.recordTrace(trace(reportId, NL, 10));
    });
    expect(await store.recordTrace(trace(reportId, { ...NL, ip: '127.0.0.9' }, 20))).toEqual({ applied: true, decideNow: false, previous: NL });
    expect(trips).toEqual(['SELECT r.status,', 'WITH locked', 'BEGIN', 'SELECT r.status,', 'WITH locked', 'COMMIT']);
    expect(await reportRow(reportId)).toMatchObject({ hosting_ip: '127.0.0.9', hosting_country: 'NL', next_realert_at: at(11) });
    expect(await traceCount(reportId)).toBe(2);

    // the same when the report stopped being live in between: no decision made due
    const other = await liveIllegal();
    const raced = recordingStore(h().store, async (n) => {
      if (n === 1) await h().store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [other.reportId]);
    });
    expect(await raced.store.recordTrace(trace(other.reportId, NL, 30))).toEqual({ applied: true, decideNow: false, previous: null });
    expect(await reportRow(other.reportId)).toMatchObject({ hosting_country: 'NL', next_realert_at: null });
  });

  it('of two traces racing on an untraced report, both are written and exactly one makes the decision due', async () => {
    const { store, other } = h();
    const { reportId } = await liveIllegal();
    const results = await Promise.all([store.recordTrace(trace(reportId, NL, 10)), other.recordTrace(trace(reportId, { ...NL, ip: '127.0.0.8' }, 10))]);
    expect(results.map((r) => r.applied)).toEqual([true, true]);
    expect(results.filter((r) => r.decideNow)).toHaveLength(1);
    expect(results.filter((r) => r.previous === null)).toHaveLength(1);
    expect(await traceCount(reportId)).toBe(2);
    // one trace id racing with itself is written once
    const t = trace(reportId, DE, 20);
    const again = await Promise.all([store.recordTrace(t), other.recordTrace(t)]);
    expect(again.map((r) => r.applied).sort()).toEqual([false, true]);
    expect(again.filter((r) => r.decideNow)).toHaveLength(1);
    expect(await traceCount(reportId)).toBe(3);
  });

  it('the latest trace, for deciding whether to trace again; NOT_FOUND for a report that does not exist', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegal();
    expect(await store.getLastTrace(reportId)).toBeNull();
    await store.recordTrace(trace(reportId, NL, 10));
    await store.recordTrace(trace(reportId, DE, 20));
    expect(await store.getLastTrace(reportId)).toEqual({ hosting: DE, tracedAt: at(20) });
    expect(await store.getLastTrace('not-a-uuid')).toBeNull();
    await expect(store.recordTrace(trace('00000000-0000-4000-8000-000000000000', NL, 10))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
}
