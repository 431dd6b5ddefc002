/**
 * Idempotency-Key on POST /v1/submissions: a retry returns the first answer and stores nothing
 * more; a different request under the same key is refused; keys are per force and expire
 * after 24 h; concurrent retries create one submission.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

describe('Idempotency-Key', () => {
  let h: ApiHarness;
  let force: string;
  let token: string;

  beforeAll(async () => {
    h = await startApiHarness();
    force = await h.newForce();
    token = (await h.newKey('force', { force })).token;
  });
  afterAll(() => h?.close());

  const submit = (key: string, body: string, contentType = 'text/plain', who = token, query = '') =>
    h.call(who, 'POST', `/v1/submissions${query}`, { body, contentType, headers: { 'idempotency-key': key } });

  async function submissionsOf(forceId: string): Promise<number> {
    const { rows } = await h.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM submissions WHERE force_id = $1', [forceId]);
    return rows[0]?.n ?? 0;
  }

  it('a retry with the same key and body gets the first 202, byte for byte, and stores nothing more', async () => {
    const body = `${testUrls(2).join('\n')}\nnot a url\n`;
    const before = await submissionsOf(force);
    const first = await submit('retry-1', body);
    expect(first.statusCode).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    h.clock.advance(60_000);
    const again = await submit('retry-1', body);
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(again.json()).toMatchObject({ accepted: 2, duplicates: 0, rejected: [{ line: 3, error: 'not an absolute URL' }] });
    expect(await submissionsOf(force)).toBe(before + 1);
    const audited = (await h.auditRows()).filter((r) => r.subject_id === first.json<{ id: string }>().id).map((r) => r.action);
    expect(audited).toEqual(['submission.create', 'submission.replay']);
  });

  it('the same key with a different body, format or reference is 422, and the first submission stands', async () => {
    const body = testUrls(1).join('\n');
    const first = await submit('retry-2', body);
    for (const res of [
      await submit('retry-2', testUrls(1).join('\n')),
      await submit('retry-2', `url\n${body}`, 'text/csv'),
      await submit('retry-2', body, 'text/plain', token, '?reference=other'),
      await h.call(token, 'POST', '/v1/submissions', { json: { items: [body] }, headers: { 'idempotency-key': 'retry-2' } }),
    ]) {
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', submission: first.json<{ id: string }>().id });
    }
  });

  it('JSON bodies are compared as JSON: key order and spacing do not matter', async () => {
    const [url] = testUrls(1);
    const first = await h.call(token, 'POST', '/v1/submissions', { body: `{"reference":"R","items":[{"url":"${url}"}]}`, contentType: 'application/json', headers: { 'idempotency-key': 'json-1' } });
    const again = await h.call(token, 'POST', '/v1/submissions', { body: `{ "items": [ { "url": "${url}" } ], "reference": "R" }`, contentType: 'application/json', headers: { 'idempotency-key': 'json-1' } });
    expect(first.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
  });

  it('keys belong to a force: another force may use the same key', async () => {
    const other = await h.newForce();
    const otherToken = (await h.newKey('force', { force: other })).token;
    const body = testUrls(1).join('\n');
    const mine = await submit('shared-key', body);
    const theirs = await submit('shared-key', body, 'text/plain', otherToken);
    expect(theirs.statusCode).toBe(202);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json<{ id: string }>().id).not.toBe(mine.json<{ id: string }>().id);
    // the admin submitting for a force shares that force's keys
    const viaAdmin = await submit('shared-key', body, 'text/plain', ADMIN_TOKEN, `?force=${other}`);
    expect(viaAdmin.headers['idempotent-replayed']).toBe('true');
    expect(viaAdmin.body).toBe(theirs.body);
  });

  it('a key expires after 24 hours: then it names a new submission', async () => {
    const body = testUrls(1).join('\n');
    const first = await submit('daily', body);
    h.clock.advance(24 * 60 * 60 * 1000 - 1);
    expect((await submit('daily', body)).headers['idempotent-replayed']).toBe('true');
    h.clock.advance(1);
    const fresh = await submit('daily', body);
    expect(fresh.statusCode).toBe(202);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(fresh.json<{ id: string }>().id).not.toBe(first.json<{ id: string }>().id);
    expect(fresh.json()).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('concurrent requests with one key create one submission and all get its answer', async () => {
    const body = testUrls(500).join('\n');
    const before = await submissionsOf(force);
    const answers = await Promise.all(Array.from({ length: 6 }, () => submit('race', body)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(6).fill(202));
    expect(new Set(answers.map((a) => a.json<{ id: string }>().id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(await submissionsOf(force)).toBe(before + 1);
  });

  it('refuses a key that is not 1–255 visible ASCII characters', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256), 'ümlaut']) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/submissions', payload: 'http://a.test/', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'idempotency-key': key } });
      expect(res.statusCode, JSON.stringify(key)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
