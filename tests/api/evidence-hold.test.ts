/**
 * `POST /v1/reports/:id/hold` on a real store (PostgreSQL and embedded): the owning force or an
 * admin sets an evidence hold; the report's notices are suppressed until then (the notifier is
 * asked to decide again at once); another force and an analyst cannot; every hold is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

describe.each(['postgres', 'embedded'] as const)('evidence hold (%s)', (kind) => {
  let h: ApiHarness;
  let forceToken: string;
  let otherForceToken: string;
  let analystToken: string;
  let adminToken: string;

  beforeAll(async () => {
    h = await startApiHarness({ kind });
    forceToken = (await h.newKey('force', { force: await h.newForce() })).token;
    otherForceToken = (await h.newKey('force', { force: await h.newForce() })).token;
    analystToken = (await h.newKey('analyst')).token;
    adminToken = (await h.newKey('admin')).token;
  }, 60_000);
  afterAll(() => h?.close());

  async function newReport(): Promise<string> {
    const [url] = testUrls(1);
    expect((await h.call(forceToken, 'POST', '/v1/submissions', { body: url!, contentType: 'text/plain' })).statusCode).toBe(202);
    const { rows } = await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url]);
    return rows[0]!.id;
  }
  const holdRow = async (id: string) =>
    (await h.store.sql.query<{ hold_until: Date | null; next_realert_at: Date | null }>('SELECT hold_until, next_realert_at FROM reports WHERE id = $1', [id])).rows[0]!;
  const hold = (id: string, until: string | null, token: string) => h.call(token, 'POST', `/v1/reports/${id}/hold`, { json: { until } });

  it('the owning force sets and lifts a hold; the notifier is asked to decide again', async () => {
    const id = await newReport();
    const until = new Date(h.clock.now().getTime() + 7 * 24 * 3600_000).toISOString();
    const res = await hold(id, until, forceToken);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, holdUntil: until });
    expect(await holdRow(id)).toEqual({ hold_until: new Date(until), next_realert_at: h.clock.now() });

    const lifted = await hold(id, null, forceToken);
    expect(lifted.statusCode).toBe(200);
    expect((await holdRow(id)).hold_until).toBeNull();

    const audit = await h.store.sql.query<{ action: string }>("SELECT action FROM audit_log WHERE subject_id = $1 AND action LIKE 'report.hold%' ORDER BY seq", [id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['report.hold', 'report.hold_lifted']);
  });

  it('an admin may hold any report', async () => {
    const id = await newReport();
    expect((await hold(id, new Date(h.clock.now().getTime() + 3600_000).toISOString(), adminToken)).statusCode).toBe(200);
    expect((await holdRow(id)).hold_until).not.toBeNull();
  });

  it('another force gets 404 and an analyst is refused (403: it may read the report, not hold it); nothing changes', async () => {
    const id = await newReport();
    const until = new Date(h.clock.now().getTime() + 3600_000).toISOString();
    expect((await hold(id, until, otherForceToken)).statusCode).toBe(404);
    const analyst = await hold(id, until, analystToken);
    expect(analyst.statusCode).toBe(403);
    expect(analyst.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await holdRow(id)).hold_until).toBeNull();
  });

  it('a bad body is a validation problem; an unknown id is 404', async () => {
    const id = await newReport();
    const bad = await hold(id, 'next tuesday', forceToken);
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect((await hold('00000000-0000-4000-8000-000000000000', null, forceToken)).statusCode).toBe(404);
  });
});
