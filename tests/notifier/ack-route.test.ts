/**
 * `POST /v1/notices/:id/ack` (CONTRACT.md §4) on the real API server and store: by the recipient's
 * own key, or by the signed link; another recipient, a wrong token, a force event: 404. Recorded
 * on the notice with an audit row; the GET page changes nothing; acks do not stop re-alerts.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, generateToken, hashToken } from '../../api/auth.js';
import { createApiServer } from '../../api/create-api-server.js';
import { ACK_SECRET_NAME, ackToken } from '../../core/ack-token.js';
import { planNotices } from '../../core/notice-cadence.js';
import { uniqueId } from '../support/test-env.js';
import { openTestStore, seedLiveReport, silentLog, testClock, type TestStore } from './support.js';

let db: TestStore;
let app: FastifyInstance;
let secret: string;
const clock = testClock();
const recipientToken = generateToken();
const otherRecipientToken = generateToken();
const forceToken = generateToken();
const adminToken = generateToken();
const adminKeyId = uniqueId('key');

beforeAll(async () => {
  db = await openTestStore();
  app = await createApiServer({
    store: db.store, clock, log: silentLog, auth: createAuthenticator({ store: db.store, clock, adminToken: null }), newId: randomUUID,
    readiness: async () => ({ ready: true, checks: {} }), limits: { maxItems: 10, maxBodyBytes: 1024 * 1024 }, accepting: () => true,
  });
  for (const [token, recipientId] of [[recipientToken, 'hotline-nl'], [otherRecipientToken, 'hotline-de']] as const) {
    await db.store.createApiKey({ id: uniqueId('key'), role: 'recipient', forceId: null, recipientId, label: null, tokenHash: hashToken(token), expiresAt: null });
  }
  await db.store.createApiKey({ id: adminKeyId, role: 'admin', forceId: null, recipientId: null, label: null, tokenHash: hashToken(adminToken), expiresAt: null });
  const force = uniqueId('force');
  await db.store.createForce({ id: force, name: 'Kent' });
  await db.store.createApiKey({ id: uniqueId('key'), role: 'force', forceId: force, recipientId: null, label: null, tokenHash: hashToken(forceToken), expiresAt: null });
  // the API and the workers share the secret through the store; whoever asks first creates it
  secret = await db.store.getOrCreateSecret(ACK_SECRET_NAME, 'z'.repeat(43));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
});

async function newNotice(recipientId = 'hotline-nl'): Promise<{ id: string; reportId: string }> {
  const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
  const ctx = await db.store.getNoticeContext(report.reportId);
  const plan = planNotices({
    subject: { ...ctx!, reportId: report.reportId }, history: [], now: clock.now(),
    directory: { homeCountry: 'GB', recipients: [{ id: recipientId, kind: 'hotline', countries: ['NL'] }] },
    schedule: { realert: { first: 1000, every: 1000, max: 3 }, escalateAfterRealerts: 2, freshCheckMs: 60_000, freshCheckWaitMs: 1000 },
  });
  const { created } = await db.store.applyNotification({ reportId: report.reportId, notices: plan.notices, nextRealertAt: plan.nextRealertAt, now: clock.now() });
  return { id: created[0]!.id, reportId: report.reportId };
}

const ack = (id: string, options: { token?: string; bearer?: string; body?: unknown } = {}) => app.inject({
  method: 'POST',
  url: `/v1/notices/${id}/ack${options.token === undefined ? '' : `?token=${options.token}`}`,
  headers: options.bearer ? { authorization: `Bearer ${options.bearer}` } : {},
  ...(options.body === undefined ? {} : { payload: options.body as object }),
});

describe('POST /v1/notices/:id/ack', () => {
  it('by the recipient key: recorded, with an audit row; "actioned" is not downgraded', async () => {
    const { id, reportId } = await newNotice();
    const res = await ack(id, { bearer: recipientToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, ackStatus: 'received', notices: [id], reports: [reportId] });
    expect((await ack(id, { bearer: recipientToken, body: { status: 'actioned' } })).json()).toMatchObject({ ackStatus: 'actioned' });
    expect((await ack(id, { bearer: recipientToken, body: { status: 'received' } })).json()).toMatchObject({ ackStatus: 'actioned' });
    const { rows } = await db.store.sql.query('SELECT ack_status, acked_at FROM notices WHERE id = $1', [id]);
    expect(rows).toEqual([{ ack_status: 'actioned', acked_at: clock.now() }]);
    const audit = await db.store.sql.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'notice.ack' AND subject_id = $1`, [id]);
    expect(audit.rows).toHaveLength(3);
    expect(audit.rows[0]?.actor).toMatch(/^key:/);
  });

  it('by an admin key (admin may do everything), as that key', async () => {
    const { id } = await newNotice();
    const res = await ack(id, { bearer: adminToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, ackStatus: 'received' });
    const audit = await db.store.sql.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'notice.ack' AND subject_id = $1`, [id]);
    expect(audit.rows.map((r) => r.actor)).toEqual([`key:${adminKeyId}`]);
  });

  it('by the link token, without a key', async () => {
    const { id } = await newNotice();
    const res = await ack(id, { token: ackToken(secret, id), body: { status: 'actioned' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, ackStatus: 'actioned' });
    const audit = await db.store.sql.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'notice.ack' AND subject_id = $1`, [id]);
    expect(audit.rows.map((r) => r.actor)).toEqual(['ack-link']);
  });

  it('404 for another recipient, a wrong or borrowed token, an unknown id; 401 without a key; force keys are not recipients', async () => {
    const { id } = await newNotice();
    const other = await newNotice();
    for (const res of [
      await ack(id, { bearer: otherRecipientToken }),
      await ack(id, { token: 'not-the-token' }),
      await ack(id, { token: ackToken(secret, other.id) }),
      await ack(id, { token: ackToken('another secret entirely, not the server one', id) }),
      await ack('00000000-0000-4000-8000-000000000000', { bearer: recipientToken }),
      await ack('../../etc', { token: 'x' }),
      await ack(id, { bearer: forceToken }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await ack(id)).statusCode).toBe(401);
    expect((await ack(id, { bearer: recipientToken, body: { status: 'done' } })).statusCode).toBe(400);
    const { rows } = await db.store.sql.query('SELECT acked_at FROM notices WHERE id = $1', [id]);
    expect(rows).toEqual([{ acked_at: null }]);
  });

  it('the link page (GET) acknowledges nothing; its form does', async () => {
    const { id } = await newNotice();
    const token = ackToken(secret, id);
    const page = await app.inject({ method: 'GET', url: `/v1/notices/${id}/ack?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect((await app.inject({ method: 'GET', url: `/v1/notices/${id}/ack?token=wrong` })).statusCode).toBe(404);
    expect((await db.store.sql.query('SELECT acked_at FROM notices WHERE id = $1', [id])).rows).toEqual([{ acked_at: null }]);

    const form = await app.inject({
      method: 'POST', url: `/v1/notices/${id}/ack?token=${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'status=actioned',
    });
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-type']).toContain('text/html');
    expect((await db.store.sql.query('SELECT ack_status FROM notices WHERE id = $1', [id])).rows).toEqual([{ ack_status: 'actioned' }]);
  });

  it('does not stop re-alerts', async () => {
    const { id, reportId } = await newNotice();
    await ack(id, { bearer: recipientToken, body: { status: 'actioned' } });
    const ctx = await db.store.getNoticeContext(reportId);
    expect(ctx?.nextRealertAt).toEqual(new Date(clock.now().getTime() + 1000));
    const later = new Date(clock.now().getTime() + 1000);
    const plan = planNotices({
      subject: { ...ctx!, lastCheckedAt: later }, history: ctx!.history, now: later,
      directory: { homeCountry: 'GB', recipients: [{ id: 'hotline-nl', kind: 'hotline', countries: ['NL'] }] },
      schedule: { realert: { first: 1000, every: 1000, max: 3 }, escalateAfterRealerts: 2, freshCheckMs: 60_000, freshCheckWaitMs: 1000 },
    });
    expect(plan.notices.map((n) => n.kind)).toEqual(['realert']);
  });
});
