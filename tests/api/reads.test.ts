/**
 * Reading back: a submission with counts and paginated items, its CSV report, the report list
 * with filters and keyset pagination, a report's timeline (checks, traces, notices), verdicts.
 * Hosting, checks, traces and notices are written with SQL as the lifecycle would write them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

interface Page {
  id: string;
  force: string;
  counts: Record<string, number>;
  itemCount: number;
  rejectedCount: number;
  items: { line: number; url: string; reportId: string; status: string; notices: number; hosting: unknown }[];
  nextCursor: string | null;
}

describe('reads', () => {
  let h: ApiHarness;
  let force: string;
  let forceToken: string;
  let analystToken: string;
  let submissionId: string;
  let urls: string[];
  const checkCalls: string[] = [];

  beforeAll(async () => {
    h = await startApiHarness({ requestCheck: async (id) => { checkCalls.push(id); } });
    force = await h.newForce();
    forceToken = (await h.newKey('force', { force })).token;
    analystToken = (await h.newKey('analyst')).token;
    urls = testUrls(5);
    const res = await h.call(forceToken, 'POST', '/v1/submissions', { body: [...urls, 'bad line'].join('\n'), contentType: 'text/plain' });
    submissionId = res.json<{ id: string }>().id;
    // as the lifecycle would record it: the first two live in NL, one with notices; hosting org from the network
    await h.store.sql.query(`UPDATE reports SET status = 'live', first_seen_live_at = $2, hosting_ip = '127.0.0.10', hosting_country = 'NL',
      hosting_asn = 64500, hosting_org = '=HYPERLINK("http://evil.test")', hosting_via_cdn = false WHERE url = ANY($1::text[])`, [urls.slice(0, 2), h.clock.now()]);
    await h.store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2, hosting_country = 'DE' WHERE url = $1`, [urls[2], h.clock.now()]);
    const first = await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [urls[0]]);
    const reportId = first.rows[0]!.id;
    await h.store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, http_status, started_at, duration_ms, status_after)
      VALUES ('c1', $1, 'live', 'http_200', 200, $2, 100, 'live')`, [reportId, h.clock.now()]);
    await h.store.sql.query(`INSERT INTO traces (id, report_id, check_id, created_at, ip, country, asn, org, via_cdn, provenance)
      VALUES ('t1', $1, 'c1', $2, '127.0.0.10', 'NL', 64500, 'Example Hosting', false, '{"country":"test.mmdb"}')`, [reportId, h.clock.now()]);
    for (const [id, kind, seq] of [['n1', 'initial', 1], ['n2', 'realert', 2]] as const) {
      await h.store.sql.query(`INSERT INTO notices (id, report_id, recipient_id, kind, sequence, event_key, created_at) VALUES ($1, $2, 'hotline-nl', $3, $4, $1, $5)`,
        [id, reportId, kind, seq, h.clock.now()]);
    }
  });
  afterAll(() => h?.close());

  it('a submission: counts per status, items in pages with a cursor', async () => {
    const res = await h.call(forceToken, 'GET', `/v1/submissions/${submissionId}?limit=2`);
    expect(res.statusCode).toBe(200);
    const page = res.json<Page>();
    expect(page).toMatchObject({ id: submissionId, force, itemCount: 5, rejectedCount: 1, counts: { live: 2, removed: 1, pending: 2 } });
    expect(page.items.map((i) => i.line)).toEqual([1, 2]);
    expect(page.items[0]).toMatchObject({ url: urls[0], status: 'live', notices: 2, hosting: { ip: '127.0.0.10', country: 'NL', asn: 64500, viaCdn: false } });
    const lines: number[] = [];
    let cursor: string | null = page.nextCursor;
    while (cursor) {
      const next = (await h.call(forceToken, 'GET', `/v1/submissions/${submissionId}?limit=2&cursor=${cursor}`)).json<Page>();
      lines.push(...next.items.map((i) => i.line));
      cursor = next.nextCursor;
    }
    expect(lines).toEqual([3, 4, 5]);
  });

  it('refuses made-up cursors and out-of-range limits with 400', async () => {
    for (const q of ['cursor=garbage', `cursor=${Buffer.from('{"l":-1}').toString('base64url')}`, 'limit=0', 'limit=10001', 'limit=ten']) {
      const res = await h.call(forceToken, 'GET', `/v1/submissions/${submissionId}?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('the CSV report: one row per item, formulas defused, as an attachment', async () => {
    const res = await h.call(analystToken, 'GET', `/v1/submissions/${submissionId}/report.csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="submission-${submissionId}.csv"`);
    const lines = res.body.split('\r\n');
    expect(lines[0]).toBe('line,url,input,report_id,status,hosting_country,hosting_asn,hosting_org,hosting_ip,via_cdn,first_seen_live_at,last_seen_live_at,notices,removed_at');
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe('');
    const first = lines[1]!;
    expect(first).toMatch(new RegExp(`^1,${urls[0]!.replace(/[.?]/g, '\\$&')},`));
    expect(first).toContain(`,live,NL,64500,"'=HYPERLINK(""http://evil.test"")",127.0.0.10,false,${h.clock.now().toISOString()},,2,`);
    expect(lines[3]).toMatch(/,removed,DE,,,,false,,,0,\d{4}-/);
  });

  it('the report list: filters, keyset pages over reports created at the same instant', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.call(forceToken, 'GET', `/v1/reports?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = res.json<{ items: { id: string; url: string; registrableDomain: string }[]; nextCursor: string | null }>();
      all.push(...page.items.map((i) => i.url));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.sort()).toEqual([...urls].sort());

    const live = (await h.call(analystToken, 'GET', '/v1/reports?status=live&country=nl')).json<{ items: { url: string }[] }>();
    expect(live.items.map((i) => i.url).sort()).toEqual(urls.slice(0, 2).sort());
    const domain = new URL(urls[3]!).hostname;
    const byDomain = (await h.call(analystToken, 'GET', `/v1/reports?domain=${domain.toUpperCase()}`)).json<{ items: { url: string; registrableDomain: string }[] }>();
    expect(byDomain.items).toEqual([expect.objectContaining({ url: urls[3], registrableDomain: domain })]);
    for (const q of ['status=gone', 'country=NLD', 'limit=1001', 'cursor=abc']) {
      expect((await h.call(analystToken, 'GET', `/v1/reports?${q}`)).statusCode, q).toBe(400);
    }
  });

  it('a report timeline: checks, traces and notices', async () => {
    const id = (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [urls[0]])).rows[0]!.id;
    const res = await h.call(forceToken, 'GET', `/v1/reports/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id, url: urls[0], status: 'live',
      checks: [{ id: 'c1', outcome: 'live', httpStatus: 200 }],
      traces: [{ id: 't1', checkId: 'c1', country: 'NL', asn: 64500, org: 'Example Hosting', provenance: { country: 'test.mmdb' } }],
      notices: [{ id: 'n1', kind: 'initial', recipient: 'hotline-nl' }, { id: 'n2', kind: 'realert', sequence: 2 }],
    });
  });

  it('a verdict: analysts give it with a reason; the old one is returned; a check is asked for', async () => {
    const id = (await h.store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [urls[1]])).rows[0]!.id;
    const since = await h.lastAuditSeq();
    const res = await h.call(analystToken, 'POST', `/v1/reports/${id}/verdict`, { json: { verdict: 'illegal', reason: 'matches category A' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, verdict: 'illegal', verdictSource: 'analyst', previous: { verdict: null, source: null } });
    const again = await h.call(analystToken, 'POST', `/v1/reports/${id}/verdict`, { json: { verdict: 'not_illegal' } });
    expect(again.json()).toMatchObject({ previous: { verdict: 'illegal', source: 'analyst' } });
    expect((await h.call(forceToken, 'GET', `/v1/reports/${id}`)).json()).toMatchObject({ verdict: 'not_illegal', verdictSource: 'analyst' });
    expect(checkCalls).toEqual([id, id]);
    const rows = (await h.auditRows(since)).filter((r) => r.action === 'report.verdict');
    expect(rows.map((r) => r.detail)).toEqual([
      { verdict: 'illegal', reason: 'matches category A', previous: { verdict: null, source: null } },
      { verdict: 'not_illegal', previous: { verdict: 'illegal', source: 'analyst' } },
    ]);
    expect((await h.call(analystToken, 'POST', `/v1/reports/${id}/verdict`, { json: { verdict: 'maybe' } })).statusCode).toBe(400);
    expect((await h.call(analystToken, 'POST', '/v1/reports/00000000-0000-4000-8000-000000000000/verdict', { json: { verdict: 'illegal' } })).statusCode).toBe(404);
  });
});
