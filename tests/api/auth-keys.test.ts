/**
 * Keys and roles: tokens are recognisable and random, stored only hashed, expire and revoke;
 * unknown, revoked and expired tokens get the very same 401; per-key rate limits; problem+json.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, type ApiHarness } from './support/api-harness.js';

describe('API keys and authentication', () => {
  let h: ApiHarness;
  let force: string;

  beforeAll(async () => {
    h = await startApiHarness({ rateLimit: { perSecond: 2, burst: 5 } });
    force = await h.newForce();
  });
  afterAll(() => h?.close());

  it('issues vgl_ tokens with 256 random bits, shown once and stored only as a sha256 hash', async () => {
    const a = await h.newKey('force', { force });
    const b = await h.newKey('analyst');
    for (const t of [a.token, b.token]) {
      expect(t).toMatch(/^vgl_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(t.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(a.token).not.toBe(b.token);
    const { rows } = await h.store.sql.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [a.id]);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(a.token);
    expect(stored).not.toContain(a.token.slice(4));
    expect(rows[0]?.token_hash).toBe(createHash('sha256').update(a.token).digest('hex'));
  });

  it('answers unknown, revoked, expired and malformed tokens with byte-identical 401s', async () => {
    const revoked = await h.newKey('analyst');
    const expiring = await h.newKey('analyst', { expiresAt: new Date(h.clock.now().getTime() + 60_000).toISOString() });
    expect((await h.call(revoked.token, 'GET', '/v1/reports')).statusCode).toBe(200);
    expect((await h.call(expiring.token, 'GET', '/v1/reports')).statusCode).toBe(200);
    expect((await h.call(ADMIN_TOKEN, 'DELETE', `/v1/keys/${revoked.id}`)).statusCode).toBe(204);
    h.clock.advance(60_000);

    const answers = await Promise.all([
      h.call(`vgl_${'A'.repeat(43)}`, 'GET', '/v1/reports'),
      h.call(revoked.token, 'GET', '/v1/reports'),
      h.call(expiring.token, 'GET', '/v1/reports'),
      h.call('not-even-a-key', 'GET', '/v1/reports'),
      h.call(null, 'GET', '/v1/reports'),
      h.app.inject({ method: 'GET', url: '/v1/reports', headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
    ]);
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toBe(answers[0]?.body);
    }
    expect(answers[0]?.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED', title: 'Unauthorized' });
  });

  it('a revoked key stays revoked; revoking an unknown key is 404', async () => {
    const key = await h.newKey('analyst');
    expect((await h.call(ADMIN_TOKEN, 'DELETE', `/v1/keys/${key.id}`)).statusCode).toBe(204);
    expect((await h.call(ADMIN_TOKEN, 'DELETE', `/v1/keys/${key.id}`)).statusCode).toBe(204);
    expect((await h.call(key.token, 'GET', '/v1/reports')).statusCode).toBe(401);
    expect((await h.call(ADMIN_TOKEN, 'DELETE', '/v1/keys/no-such-key')).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('validates key requests with field-level problems', async () => {
    const cases: [unknown, RegExp][] = [
      [{ role: 'force' }, /force.*a force key needs "force"/],
      [{ role: 'analyst', force }, /"force" is only for role force/],
      [{ role: 'overlord' }, /role/],
      [{ role: 'analyst', expiresAt: 'tomorrow' }, /expiresAt/],
      [{ role: 'analyst', extra: 1 }, /extra|Unrecognized/i],
    ];
    for (const [body, detail] of cases) {
      const res = await h.call(ADMIN_TOKEN, 'POST', '/v1/keys', { json: body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(res.json<{ detail: string }>().detail).toMatch(detail);
    }
    const unknownForce = await h.call(ADMIN_TOKEN, 'POST', '/v1/keys', { json: { role: 'force', force: 'nobody-here' } });
    expect(unknownForce.json()).toMatchObject({ status: 400, code: 'FORCE_UNKNOWN' });
    const dup = await h.call(ADMIN_TOKEN, 'POST', '/v1/forces', { json: { id: force, name: 'again' } });
    expect(dup.json()).toMatchObject({ status: 409, code: 'FORCE_EXISTS' });
  });

  it('refuses a recipient key for an id the directory does not list, naming the ones it does', async () => {
    const withDirectory = await startApiHarness({ recipientIds: ['hotline-nl', 'le-star'] });
    try {
      const typo = await withDirectory.call(ADMIN_TOKEN, 'POST', '/v1/keys', { json: { role: 'recipient', recipient: 'hotline-ml' } });
      expect(typo.json()).toMatchObject({ status: 400, code: 'RECIPIENT_UNKNOWN' });
      expect(typo.json<{ detail: string }>().detail).toBe('No recipient with id "hotline-ml" in directory.recipients; the directory lists "hotline-nl", "le-star".');
      const listed = await withDirectory.call(ADMIN_TOKEN, 'POST', '/v1/keys', { json: { role: 'recipient', recipient: 'hotline-nl' } });
      expect(listed.statusCode).toBe(201);
      expect(listed.json()).toMatchObject({ role: 'recipient', recipient: 'hotline-nl' });
    } finally {
      await withDirectory.close();
    }
  });

  it('limits each key to its bucket: 429 with Retry-After, other keys unaffected, refilled over time', async () => {
    const busy = await h.newKey('analyst');
    const calm = await h.newKey('analyst');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await h.call(busy.token, 'GET', '/v1/reports')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await h.call(busy.token, 'GET', '/v1/reports');
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect((await h.call(calm.token, 'GET', '/v1/reports')).statusCode).toBe(200);
    h.clock.advance(1000); // 2 tokens at 2/s
    expect((await h.call(busy.token, 'GET', '/v1/reports')).statusCode).toBe(200);
    expect((await h.call(busy.token, 'GET', '/v1/reports')).statusCode).toBe(200);
    expect((await h.call(busy.token, 'GET', '/v1/reports')).statusCode).toBe(429);
  });

  it('answers unknown routes and wrong roles with problem+json and stable codes', async () => {
    const analyst = await h.newKey('analyst');
    h.clock.advance(60_000);
    const missing = await h.call(analyst.token, 'GET', '/v1/nothing');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND', type: expect.stringMatching(/^https:\/\//) });
    const forbidden = await h.call(analyst.token, 'POST', '/v1/forces', { json: { id: 'x', name: 'x' } });
    expect(forbidden.json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });
});
