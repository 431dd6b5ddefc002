/**
 * `POST /v1/reports/:id/verdict` on a real store (PostgreSQL): the verdict moves the status by
 * `statusOnVerdict` (core/report-lifecycle.ts), an analyst's verdict stands over a hash-list
 * match and the submission, `state_version` is bumped (a check computed from the state before
 * is refused and recomputed), and a check is asked for, so that a `rejected` report given
 * `illegal` is monitored again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

describe.each(['postgres', 'embedded'] as const)('verdicts move the lifecycle (%s)', (kind) => {
  let h: ApiHarness;
  let forceToken: string;
  let analystToken: string;
  const checkCalls: string[] = [];

  beforeAll(async () => {
    h = await startApiHarness({ kind, requestCheck: async (id) => { checkCalls.push(id); await h.store.requestCheck(id, h.clock.now()); } });
    const force = await h.newForce();
    forceToken = (await h.newKey('force', { force })).token;
    analystToken = (await h.newKey('analyst')).token;
  }, 60_000);
  afterAll(() => h?.close());

  /** A new report set to `status` (and verdict) as the lifecycle would have left it. */
  async function reportIn(status: string, verdict: { verdict: string; source: string } | null = null): Promise<string> {
    const [url] = testUrls(1);
    const res = await h.call(forceToken, 'POST', '/v1/submissions', { body: url!, contentType: 'text/plain' });
    expect(res.statusCode).toBe(202);
    const { rows } = await h.store.sql.query<{ id: string }>(
      `UPDATE reports SET status = $2, verdict = $3, verdict_source = $4,
         next_check_at = CASE WHEN $2 IN ('rejected', 'refused', 'expired') THEN NULL ELSE next_check_at END,
         dispatch_at = CASE WHEN $2 IN ('rejected', 'refused', 'expired') THEN NULL ELSE dispatch_at END
       WHERE url = $1 RETURNING id`,
      [url, status, verdict?.verdict ?? null, verdict?.source ?? null]);
    return rows[0]!.id;
  }

  const give = (id: string, verdict: string, token = analystToken) => h.call(token, 'POST', `/v1/reports/${id}/verdict`, { json: { verdict } });
  const state = async (id: string) => (await h.store.getReportForCheck(id))!;

  it.each([
    ['pending', 'not_illegal', 'rejected'],
    ['live', 'not_illegal', 'rejected'],
    ['notified', 'not_illegal', 'rejected'],
    ['removed', 'not_illegal', 'rejected'],
    ['unreachable', 'not_illegal', 'rejected'],
    ['pending', 'illegal', 'pending'],
    ['live', 'illegal', 'live'],
    ['removed', 'illegal', 'removed'],
    ['rejected', 'illegal', 'pending'],
    ['rejected', 'not_illegal', 'rejected'],
    ['refused', 'illegal', 'refused'],
    ['expired', 'illegal', 'expired'],
  ])('%s given %s → %s', async (from, verdict, to) => {
    const id = await reportIn(from);
    const before = await state(id);
    const res = await give(id, verdict);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, verdict, verdictSource: 'analyst' });
    const after = await state(id);
    expect(after).toMatchObject({ status: to, verdict, verdictSource: 'analyst' });
    expect(after.stateVersion).toBe(before.stateVersion + 1);
    // the report's public view says the same
    expect((await h.call(forceToken, 'GET', `/v1/reports/${id}`)).json()).toMatchObject({ status: to, verdict, verdictSource: 'analyst' });
    if (to === 'rejected' || to === 'refused' || to === 'expired') expect(after.nextCheckAt).toBeNull();
    else expect(after.nextCheckAt).toEqual(h.clock.now());
  });

  it('a rejected report given illegal comes back: pending, due now, a check asked for', async () => {
    const id = await reportIn('live');
    expect((await give(id, 'not_illegal')).statusCode).toBe(200);
    expect(await state(id)).toMatchObject({ status: 'rejected', nextCheckAt: null });
    h.clock.advance(60_000);
    checkCalls.length = 0;
    expect((await give(id, 'illegal')).json()).toMatchObject({ previous: { verdict: 'not_illegal', source: 'analyst' } });
    expect(await state(id)).toMatchObject({ status: 'pending', verdict: 'illegal', nextCheckAt: h.clock.now() });
    expect(checkCalls).toEqual([id]);
    // and the dispatcher hands it out
    const due = await h.store.claimDueChecks(h.clock.now(), 1000, 60_000);
    expect(due.map((d) => d.reportId)).toContain(id);
  });

  it('an analyst stands over a hash-list match and over the submission', async () => {
    const fromHashList = await reportIn('live', { verdict: 'illegal', source: 'hash_list' });
    expect((await give(fromHashList, 'not_illegal')).json()).toMatchObject({ previous: { verdict: 'illegal', source: 'hash_list' } });
    expect(await state(fromHashList)).toMatchObject({ status: 'rejected', verdict: 'not_illegal', verdictSource: 'analyst' });

    const fromSubmission = await reportIn('rejected', { verdict: 'not_illegal', source: 'submission' });
    expect((await give(fromSubmission, 'illegal')).statusCode).toBe(200);
    expect(await state(fromSubmission)).toMatchObject({ status: 'pending', verdict: 'illegal', verdictSource: 'analyst' });
  });

  it('bumps state_version: a check computed before the verdict is refused, not written over it', async () => {
    const id = await reportIn('live');
    const before = await state(id);
    expect((await give(id, 'not_illegal')).statusCode).toBe(200);
    const stale = await h.store.recordCheck({
      id: `check.${id}.stale`, reportId: id, outcome: 'live', reason: 'http_200', httpStatus: 200, vantage: null,
      startedAt: h.clock.now(), durationMs: 5, nextStatus: 'live', nextCheckAt: h.clock.now(), expectVersion: before.stateVersion,
    });
    expect(stale).toEqual({ applied: false, conflict: true });
    expect(await state(id)).toMatchObject({ status: 'rejected' });
  });

  it('every verdict leaves an audit row with what it replaced; forces may not give one', async () => {
    const id = await reportIn('live');
    const since = await h.lastAuditSeq();
    await give(id, 'illegal');
    const rows = (await h.auditRows(since)).filter((r) => r.action === 'report.verdict');
    expect(rows.map((r) => r.detail)).toEqual([{ verdict: 'illegal', previous: { verdict: null, source: null } }]);
    expect((await give(id, 'not_illegal', forceToken)).statusCode).toBe(403);
    expect(await state(id)).toMatchObject({ status: 'live', verdict: 'illegal' });
  });

  it('POST /v1/reports/:id/recheck: analysts ask for a check now (202); a force may not; unknown ids 404', async () => {
    const id = await reportIn('live');
    h.clock.advance(1000);
    checkCalls.length = 0;
    const res = await h.call(analystToken, 'POST', `/v1/reports/${id}/recheck`);
    expect(res.statusCode).toBe(202);
    expect(checkCalls).toEqual([id]);
    expect((await state(id)).nextCheckAt).toEqual(h.clock.now());
    expect((await h.call(forceToken, 'POST', `/v1/reports/${id}/recheck`)).statusCode).toBe(403);
    expect((await h.call(analystToken, 'POST', '/v1/reports/00000000-0000-4000-8000-000000000000/recheck')).statusCode).toBe(404);
  });
});
