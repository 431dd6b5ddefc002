/**
 * The audit trail of the API: every access to report data, every submission, verdict, key and
 * force change leaves a row naming who, what and which; a read whose row cannot be written
 * discloses nothing; the hash chain detects edits and deletions made behind the trigger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../store/audit-queries.js';
import { ADMIN_TOKEN, startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

describe('audit trail', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await startApiHarness();
  });
  afterAll(() => h?.close());

  it('records force and key changes, submissions, every read of report data and verdicts', async () => {
    const since = await h.lastAuditSeq();
    const force = await h.newForce();
    const key = await h.newKey('force', { force });
    const analyst = await h.newKey('analyst');
    const [url] = testUrls(1);
    const sub = (await h.call(key.token, 'POST', '/v1/submissions', { body: url!, contentType: 'text/plain' })).json<{ id: string }>().id;
    const reportId = (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url])).rows[0]!.id;
    await h.call(key.token, 'GET', `/v1/submissions/${sub}`);
    await h.call(key.token, 'GET', `/v1/submissions/${sub}/report.csv`);
    await h.call(analyst.token, 'GET', `/v1/reports/${reportId}`);
    await h.call(key.token, 'GET', '/v1/reports?status=pending');
    await h.call(analyst.token, 'POST', `/v1/reports/${reportId}/verdict`, { json: { verdict: 'illegal' } });
    await h.call(ADMIN_TOKEN, 'DELETE', `/v1/keys/${analyst.id}`);
    // denied and failed requests leave no row of data access
    await h.call(key.token, 'GET', '/v1/reports/00000000-0000-4000-8000-000000000000');

    const rows = await h.auditRows(since);
    expect(rows.map((r) => [r.actor, r.action, r.subject_type, r.subject_id])).toEqual([
      ['admin-token', 'force.create', 'force', force],
      ['admin-token', 'key.create', 'api_key', key.id],
      ['admin-token', 'key.create', 'api_key', analyst.id],
      [`key:${key.id}`, 'submission.create', 'submission', sub],
      [`key:${key.id}`, 'submission.read', 'submission', sub],
      [`key:${key.id}`, 'submission.report_csv', 'submission', sub],
      [`key:${analyst.id}`, 'report.read', 'report', reportId],
      [`key:${key.id}`, 'report.list', 'report', null],
      [`key:${analyst.id}`, 'report.verdict', 'report', reportId],
      ['admin-token', 'key.revoke', 'api_key', analyst.id],
    ]);
    // a list names the reports it disclosed
    expect(rows[7]?.detail).toMatchObject({ filter: { status: 'pending' }, reports: [reportId] });
    expect(rows[1]?.detail).toMatchObject({ role: 'force', force });
    expect(JSON.stringify(rows)).not.toContain(key.token);
    expect(await h.store.verifyAuditChain()).toMatchObject({ ok: true });
  });

  it('a read whose audit row cannot be written answers 500 and discloses nothing', async () => {
    const force = await h.newForce();
    const key = await h.newKey('force', { force });
    const [url] = testUrls(1);
    await h.call(key.token, 'POST', '/v1/submissions', { body: url!, contentType: 'text/plain' });
    const reportId = (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url])).rows[0]!.id;
    await h.store.sql.query(`ALTER TABLE audit_log ADD CONSTRAINT test_refuse_reads CHECK (action NOT LIKE 'report.%') NOT VALID`);
    try {
      for (const path of [`/v1/reports/${reportId}`, '/v1/reports']) {
        const res = await h.call(key.token, 'GET', path);
        expect(res.statusCode, path).toBe(500);
        expect(res.body).not.toContain(url!);
        expect(res.body).not.toContain(reportId);
      }
    } finally {
      await h.store.sql.query('ALTER TABLE audit_log DROP CONSTRAINT test_refuse_reads');
    }
  });

  it('the chain names the first row edited or deleted behind the trigger', async () => {
    for (let i = 0; i < 3; i++) await h.call(ADMIN_TOKEN, 'GET', '/v1/reports');
    const { rows } = await h.store.sql.query<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 3');
    const [last, middle, first] = rows.map((r) => r.seq) as [number, number, number];
    const rollback = new Error('undo the tampering');
    const tamper = (sql: string) => h.store.sql.transaction(async (tx) => {
      await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
      await tx.query(sql);
      const result = await verifyAuditChain(tx);
      throw Object.assign(rollback, { result });
    }).catch((e: unknown) => (e === rollback ? (e as Error & { result: unknown }).result : Promise.reject(e)));

    expect(await tamper(`UPDATE audit_log SET detail = '{"filter":{}}' WHERE seq = ${first}`))
      .toMatchObject({ ok: false, seq: first, problem: 'hash does not match the row' });
    expect(await tamper(`UPDATE audit_log SET actor = 'key:someone-else' WHERE seq = ${middle}`))
      .toMatchObject({ ok: false, seq: middle, problem: 'hash does not match the row' });
    expect(await tamper(`DELETE FROM audit_log WHERE seq = ${middle}`))
      .toMatchObject({ ok: false, seq: last, problem: 'prev_hash does not match the previous row' });
    expect(await h.store.verifyAuditChain()).toMatchObject({ ok: true });
  });
});
