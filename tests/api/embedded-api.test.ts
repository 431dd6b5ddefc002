/**
 * The API on the embedded store (PGlite), as `npm start` runs it without DATABASE_URL: intake
 * with an idempotent retry, the paged read, the CSV report and the list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

describe('API on the embedded store', () => {
  let h: ApiHarness;
  let token: string;

  beforeAll(async () => {
    h = await startApiHarness({ kind: 'embedded' });
    token = (await h.newKey('force', { force: await h.newForce() })).token;
  });
  afterAll(() => h?.close());

  it('submits, replays, pages, reports and lists', async () => {
    const urls = testUrls(3);
    const csv = `url,md5\n${urls.map((u) => `${u},`).join('\n')}\nbad,\n`;
    const send = () => h.call(token, 'POST', '/v1/submissions', { body: csv, contentType: 'text/csv', headers: { 'idempotency-key': 'emb-1' } });
    const first = await send();
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ accepted: 3, duplicates: 0, rejected: [{ line: 5 }] });
    const again = await send();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);

    const id = first.json<{ id: string }>().id;
    const page = (await h.call(token, 'GET', `/v1/submissions/${id}?limit=2`)).json<{ items: unknown[]; nextCursor: string; counts: object }>();
    expect(page.items).toHaveLength(2);
    expect(page.counts).toEqual({ pending: 3 });
    const rest = (await h.call(token, 'GET', `/v1/submissions/${id}?limit=2&cursor=${page.nextCursor}`)).json<{ items: unknown[]; nextCursor: null }>();
    expect(rest).toMatchObject({ items: [expect.objectContaining({ line: 4, url: urls[2] })], nextCursor: null });

    const csvReport = await h.call(token, 'GET', `/v1/submissions/${id}/report.csv`);
    expect(csvReport.body.trim().split('\r\n')).toHaveLength(4);
    const list = (await h.call(token, 'GET', '/v1/reports?status=pending')).json<{ items: { url: string }[] }>();
    expect(list.items.map((i) => i.url).sort()).toEqual([...urls].sort());
    expect((await h.store.verifyAuditChain()).ok).toBe(true);
  });
});
