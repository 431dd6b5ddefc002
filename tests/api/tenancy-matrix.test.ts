/**
 * The cross-tenant matrix: every endpoint × every role × own / foreign object. A force never
 * sees another force's submission or report, and cannot tell it from one that does not exist:
 * the 404s are byte-identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

type Who = 'admin' | 'analyst' | 'forceA' | 'forceB' | 'recipient' | 'none';
const WHO: Who[] = ['admin', 'analyst', 'forceA', 'forceB', 'recipient', 'none'];
const MISSING_REPORT = '00000000-0000-4000-8000-000000000000';
const MISSING_SUBMISSION = '00000000-0000-4000-8000-00000000dead';

describe('tenancy matrix', () => {
  let h: ApiHarness;
  const tokens = {} as Record<Who, string | null>;
  let forceA: string;
  let subA: string;
  let subB: string;
  let reportA: string;
  let reportB: string;
  let reportShared: string;

  async function reportId(url: string): Promise<string> {
    return (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url])).rows[0]!.id;
  }

  beforeAll(async () => {
    h = await startApiHarness();
    forceA = await h.newForce();
    const forceB = await h.newForce();
    tokens.admin = ADMIN_TOKEN;
    tokens.analyst = (await h.newKey('analyst')).token;
    tokens.forceA = (await h.newKey('force', { force: forceA })).token;
    tokens.forceB = (await h.newKey('force', { force: forceB })).token;
    tokens.recipient = (await h.newKey('recipient', { recipient: 'hotline-nl' })).token;
    tokens.none = null;
    const [a, b, shared] = testUrls(3);
    const resA = await h.call(tokens.forceA, 'POST', '/v1/submissions', { body: `${a}\n${shared}\n`, contentType: 'text/plain' });
    subA = resA.json<{ id: string }>().id;
    const resB = await h.call(tokens.forceB, 'POST', '/v1/submissions', { body: `${b}\n${shared}\n`, contentType: 'text/plain' });
    subB = resB.json<{ id: string }>().id;
    [reportA, reportB, reportShared] = [await reportId(a!), await reportId(b!), await reportId(shared!)];
  });
  afterAll(() => h?.close());

  const call = (who: Who, method: 'GET' | 'POST' | 'DELETE', url: string, json?: unknown) =>
    h.call(tokens[who], method, url, json === undefined ? {} : { json });

  const reads = () => [
    ['GET /v1/submissions/:id', (who: Who) => call(who, 'GET', `/v1/submissions/${subA}`), `/v1/submissions/${MISSING_SUBMISSION}`],
    ['GET /v1/submissions/:id/report.csv', (who: Who) => call(who, 'GET', `/v1/submissions/${subA}/report.csv`), `/v1/submissions/${MISSING_SUBMISSION}/report.csv`],
    ['GET /v1/reports/:id', (who: Who) => call(who, 'GET', `/v1/reports/${reportA}`), `/v1/reports/${MISSING_REPORT}`],
  ] as const;

  it.each(['GET /v1/submissions/:id', 'GET /v1/submissions/:id/report.csv', 'GET /v1/reports/:id'])('%s: owner and operators read; others get 404, the same as for nothing', async (name) => {
    const [, request, missingUrl] = reads().find(([n]) => n === name)!;
    const expected: Record<Who, number> = { admin: 200, analyst: 200, forceA: 200, forceB: 404, recipient: 404, none: 401 };
    for (const who of WHO) expect((await request(who)).statusCode, `${name} as ${who}`).toBe(expected[who]);
    const foreign = await request('forceB');
    const missing = await call('forceB', 'GET', missingUrl);
    expect(foreign.body).toBe(missing.body);
    expect((await call('recipient', 'GET', missingUrl)).body).toBe((await request('recipient')).body);
  });

  it('a report monitored by both forces is visible to both', async () => {
    for (const who of ['forceA', 'forceB'] as const) expect((await call(who, 'GET', `/v1/reports/${reportShared}`)).statusCode).toBe(200);
    expect((await call('forceA', 'GET', `/v1/reports/${reportB}`)).statusCode).toBe(404);
  });

  it('GET /v1/reports: operators see all; a force only what it monitors; recipients nothing', async () => {
    const ids = async (who: Who) => (await call(who, 'GET', '/v1/reports?limit=1000')).json<{ items: { id: string }[] }>().items.map((i) => i.id).sort();
    expect(await ids('admin')).toEqual([reportA, reportB, reportShared].sort());
    expect(await ids('analyst')).toEqual([reportA, reportB, reportShared].sort());
    expect(await ids('forceA')).toEqual([reportA, reportShared].sort());
    expect(await ids('forceB')).toEqual([reportB, reportShared].sort());
    expect((await call('recipient', 'GET', '/v1/reports')).statusCode).toBe(403);
    expect((await call('none', 'GET', '/v1/reports')).statusCode).toBe(401);
  });

  it('POST /v1/reports/:id/verdict: analysts and admins; the owning force 403; others 404', async () => {
    const expected: Record<Who, number> = { admin: 200, analyst: 200, forceA: 403, forceB: 404, recipient: 404, none: 401 };
    for (const who of WHO) {
      expect((await call(who, 'POST', `/v1/reports/${reportA}/verdict`, { verdict: 'illegal' })).statusCode, who).toBe(expected[who]);
    }
    expect((await call('forceB', 'POST', `/v1/reports/${reportA}/verdict`, { verdict: 'illegal' })).body)
      .toBe((await call('forceB', 'POST', `/v1/reports/${MISSING_REPORT}/verdict`, { verdict: 'illegal' })).body);
  });

  it('POST /v1/submissions: forces and admins only', async () => {
    const expected: Record<Who, number> = { admin: 202, analyst: 403, forceA: 202, forceB: 202, recipient: 403, none: 401 };
    for (const who of WHO) {
      const url = who === 'admin' ? `/v1/submissions?force=${forceA}` : '/v1/submissions';
      const res = await h.call(tokens[who], 'POST', url, { body: testUrls(1)[0]!, contentType: 'text/plain' });
      expect(res.statusCode, who).toBe(expected[who]);
    }
  });

  it('forces and keys: admins only', async () => {
    const key = await h.newKey('analyst');
    for (const who of WHO) {
      const expected = who === 'admin' ? [201, 201, 204] : who === 'none' ? [401, 401, 401] : [403, 403, 403];
      const results = [
        await call(who, 'POST', '/v1/forces', { id: `f-${who}-${Date.now()}`.toLowerCase(), name: 'x' }),
        await call(who, 'POST', '/v1/keys', { role: 'analyst' }),
        await call(who, 'DELETE', `/v1/keys/${key.id}`),
      ];
      expect(results.map((r) => r.statusCode), who).toEqual(expected);
    }
  });

  it('no route reads another force\'s data through a submission of its own', async () => {
    // force B's own submission lists only its own items
    const page = (await call('forceB', 'GET', `/v1/submissions/${subB}`)).json<{ items: { reportId: string }[] }>();
    expect(page.items.map((i) => i.reportId).sort()).toEqual([reportB, reportShared].sort());
  });
});
