/**
 * POST /v1/submissions end to end over a real store: the three body formats, bad lines
 * rejected one by one, normalisation and registrable domains stored, limits (413), content
 * types (415), and the same URL from several forces monitored once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiHarness, testUrls, type ApiHarness } from './support/api-harness.js';

interface Accepted {
  id: string | null;
  accepted: number;
  duplicates: number;
  rejected: { line: number; input: string; error: string }[];
}

describe('POST /v1/submissions', () => {
  let h: ApiHarness;
  let force: string;
  let token: string;

  beforeAll(async () => {
    h = await startApiHarness({ limits: { maxItems: 50, maxBodyBytes: 64 * 1024 } });
    force = await h.newForce();
    token = (await h.newKey('force', { force })).token;
  });
  afterAll(() => h?.close());

  const submit = (body: string | Buffer, contentType: string, query = '', who = token) =>
    h.call(who, 'POST', `/v1/submissions${query}`, { body, contentType });

  it('CSV: BOM, CRLF, quoted fields, a malformed row and bad URLs rejected on their own lines', async () => {
    const [u1, u2, u3] = testUrls(3) as [string, string, string];
    const csv = [
      '\uFEFF"URL",sha256,verdict,notes',
      `${u1},${'AB'.repeat(32)},illegal,"first, with comma"`,
      `"${u2}#frag",,,"multi`,
      'line note"',
      '"broken"x,,,',
      'not a url,,,',
      `${u3},,maybe,`,
      'http://user:pw@creds.test/,,,',
      'ftp://files.test/x,,,',
      '',
    ].join('\r\n');
    const res = await submit(csv, 'text/csv; charset=utf-8', '?reference=OP-7');
    expect(res.statusCode).toBe(202);
    const body = res.json<Accepted>();
    expect(body).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(body.rejected.map((r) => [r.line, r.error])).toEqual([
      [5, 'malformed CSV: a quoted field must end at a comma or the end of the line'],
      [6, 'not an absolute URL'],
      [7, 'verdict: expected one of illegal, not_illegal'],
      [8, 'URL contains credentials (user:password@); remove them and submit the line again'],
    ]);
    const { rows } = await h.store.sql.query<{ line: number; input: string; url: string; status: string; verdict: string | null; registrable_domain: string | null }>(
      `SELECT si.line, si.input, r.url, r.status, r.verdict, r.registrable_domain FROM submission_items si JOIN reports r ON r.id = si.report_id
       WHERE si.submission_id = $1 ORDER BY si.line`, [body.id]);
    expect(rows).toEqual([
      { line: 2, input: u1, url: u1, status: 'pending', verdict: 'illegal', registrable_domain: new URL(u1).hostname },
      { line: 3, input: `${u2}#frag`, url: u2, status: 'pending', verdict: null, registrable_domain: new URL(u2).hostname },
      { line: 9, input: 'ftp://files.test/x', url: 'ftp://files.test/x', status: 'refused', verdict: null, registrable_domain: null },
    ]);
    const sub = await h.store.sql.query('SELECT reference, item_count, accepted, duplicates, rejected_count FROM submissions WHERE id = $1', [body.id]);
    expect(sub.rows).toEqual([{ reference: 'OP-7', item_count: 3, accepted: 3, duplicates: 0, rejected_count: 4 }]);
  });

  it('text: one URL a line; blank, comment and duplicate lines; invalid UTF-8 and a 1 MB line rejected alone', async () => {
    const [a, b] = testUrls(2);
    const body = Buffer.concat([
      Buffer.from(`${a}\n\n# a comment\n${b}\n${a}\n`),
      Buffer.from('http://caf\xe9.test/\n', 'latin1'),
      Buffer.from(`http://long.test/${'x'.repeat(60_000)}\nhttp://bücher.test/p\n`),
    ]);
    const res = await submit(body, 'text/plain');
    expect(res.statusCode).toBe(202);
    const result = res.json<Accepted>();
    expect(result).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(result.rejected.map((r) => [r.line, r.error])).toEqual([[6, 'not valid UTF-8'], [7, 'URL longer than 8192 characters']]);
    expect(result.rejected[1]?.input).toHaveLength(2048);
    const idn = await h.store.sql.query('SELECT url, registrable_domain FROM reports WHERE url = $1', ['http://xn--bcher-kva.test/p']);
    expect(idn.rows).toEqual([{ url: 'http://xn--bcher-kva.test/p', registrable_domain: 'xn--bcher-kva.test' }]);
  });

  it('JSON: reference, objects and strings; the same URL from another force is linked, not monitored twice', async () => {
    const [shared, own] = testUrls(2);
    const first = await h.call(token, 'POST', '/v1/submissions', { json: { reference: 'J-1', items: [{ url: shared, md5: 'C'.repeat(32) }, own, { url: 'nope' }] } });
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 0, rejected: [{ line: 3, input: 'nope', error: 'not an absolute URL' }] });
    const other = await h.newForce();
    const second = await h.call(ADMIN_TOKEN, 'POST', `/v1/submissions?force=${other}`, { json: { items: [`${shared}#again`] } });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const links = await h.store.sql.query<{ force_id: string }>(
      'SELECT rf.force_id FROM report_forces rf JOIN reports r ON r.id = rf.report_id WHERE r.url = $1 ORDER BY rf.force_id', [shared]);
    expect(links.rows.map((r) => r.force_id)).toEqual([force, other].sort());
  });

  it('a body of only bad lines is answered 202 with no submission', async () => {
    const res = await submit('nope\nalso nope\n', 'text/plain');
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: null, accepted: 0, duplicates: 0, rejected: [
      { line: 1, input: 'nope', error: 'not an absolute URL' }, { line: 2, input: 'also nope', error: 'not an absolute URL' },
    ] });
  });

  it('413 beyond the item limit and the byte limit, in every format, with problem+json', async () => {
    const many = testUrls(51);
    const answers = [
      await submit(many.join('\n'), 'text/plain'),
      await submit(`url\n${many.join('\n')}`, 'text/csv'),
      await h.call(token, 'POST', '/v1/submissions', { json: { items: many } }),
      await submit(`http://big.test/${'x'.repeat(70 * 1024)}`, 'text/plain'),
      await h.call(token, 'POST', '/v1/submissions', { json: { items: [`http://big.test/${'x'.repeat(70 * 1024)}`] } }),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
    expect(answers[0]?.json<{ detail: string }>().detail).toMatch(/at most 50/);
  });

  it('refuses other content types (415), bad CSV headers and bad JSON envelopes (400)', async () => {
    expect((await submit('<x/>', 'application/xml')).json()).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect((await submit('http://a.test/\n', 'text/csv')).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await h.call(token, 'POST', '/v1/submissions', { json: { urls: [] } })).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await h.call(token, 'POST', '/v1/submissions', { body: '{"items": [', contentType: 'application/json' })).json()).toMatchObject({ status: 400 });
  });

  it('an admin names the force; a force cannot submit for another', async () => {
    expect((await submit('http://a.test/\n', 'text/plain', '', ADMIN_TOKEN)).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await submit('http://a.test/\n', 'text/plain', '?force=nobody', ADMIN_TOKEN)).json()).toMatchObject({ status: 400, code: 'FORCE_UNKNOWN' });
    expect((await submit('http://a.test/\n', 'text/plain', '?force=someone-else')).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('writes one audit row per stored submission, in the same transaction', async () => {
    const since = await h.lastAuditSeq();
    const res = await submit(testUrls(3).join('\n'), 'text/plain');
    const rows = await h.auditRows(since);
    expect(rows).toEqual([expect.objectContaining({
      action: 'submission.create', subject_type: 'submission', subject_id: res.json<Accepted>().id,
      detail: { force, format: 'text', items: 3, rejected: 0 },
    })]);
    expect(rows[0]?.actor).toMatch(/^key:/);
  });
});
