/**
 * PATCH /v1/forces/:id (admin): a force's name and webhook change — a moved endpoint, a rotated
 * secret, no webhook any more; a webhook given re-enables the endpoint a 410 disabled; the audit
 * row never holds the secret; a bad body is 400, an unknown force 404, anyone but an admin 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, type ApiHarness } from './support/api-harness.js';

const SECRET_A = `whsec_${Buffer.from('synthetic-force-secret-a').toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from('synthetic-force-secret-b').toString('base64')}`;

describe('PATCH /v1/forces/:id', () => {
  let h: ApiHarness;
  let force: string;

  beforeAll(async () => {
    h = await startApiHarness();
    force = await h.newForce();
  });
  afterAll(() => h?.close());

  const patch = (json: unknown, id = force, token: string | null = ADMIN_TOKEN) => h.call(token, 'PATCH', `/v1/forces/${id}`, { json });

  it('sets, rotates and removes the webhook and renames; a webhook given re-enables a disabled endpoint', async () => {
    const set = await patch({ webhook: { url: 'http://127.0.0.1:9/hook-a', secret: SECRET_A } });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ id: force, webhook: { url: 'http://127.0.0.1:9/hook-a' } });
    expect(JSON.stringify(set.json())).not.toContain('whsec_');

    // a 410 disabled the endpoint; the operator registers the new address
    await h.store.sql.query(`INSERT INTO endpoint_state (target, id, disabled_at, disabled_url, updated_at)
      VALUES ('force', $1, $2, 'http://127.0.0.1:9/hook-a', $2)`, [force, new Date()]);
    expect((await patch({ webhook: { url: 'http://127.0.0.1:9/hook-b', secret: SECRET_B } })).statusCode).toBe(200);
    expect(await h.store.getForce(force)).toMatchObject({ webhookUrl: 'http://127.0.0.1:9/hook-b', webhookSecret: SECRET_B });
    const { rows } = await h.store.sql.query<{ disabled_at: Date | null }>(`SELECT disabled_at FROM endpoint_state WHERE target = 'force' AND id = $1`, [force]);
    expect(rows).toEqual([{ disabled_at: null }]);

    const renamed = await patch({ name: 'Kent Police' });
    expect(renamed.json()).toMatchObject({ name: 'Kent Police', webhook: { url: 'http://127.0.0.1:9/hook-b' } });
    const removed = await patch({ webhook: null });
    expect(removed.json()).toMatchObject({ name: 'Kent Police', webhook: null });
    expect(await h.store.getForce(force)).toMatchObject({ webhookUrl: null, webhookSecret: null });

    const audit = (await h.auditRows()).filter((r) => r.action === 'force.update');
    expect(audit.map((r) => r.detail)).toEqual([{ webhook: 'set' }, { webhook: 'set' }, { name: 'Kent Police' }, { webhook: 'removed' }]);
    expect(JSON.stringify(audit)).not.toContain('whsec_');
  });

  it('refuses a bad body (400), an unknown force (404) and anyone but an admin (403)', async () => {
    expect((await patch({})).statusCode).toBe(400);
    expect((await patch({ webhook: { url: 'ftp://127.0.0.1/x', secret: SECRET_A } })).statusCode).toBe(400);
    expect((await patch({ webhook: { url: 'http://127.0.0.1:9/x', secret: 'not-a-secret' } })).statusCode).toBe(400);
    expect((await patch({ id: 'other' })).statusCode).toBe(400);
    expect((await patch({ name: 'x' }, 'no-such-force')).statusCode).toBe(404);
    const forceKey = (await h.newKey('force', { force })).token;
    const analystKey = (await h.newKey('analyst')).token;
    expect((await patch({ name: 'mine now' }, force, forceKey)).statusCode).toBe(403);
    expect((await patch({ name: 'mine now' }, force, analystKey)).statusCode).toBe(403);
    expect((await patch({ name: 'x' }, force, null)).statusCode).toBe(401);
  });
});
