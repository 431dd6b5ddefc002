/**
 * `/admin`, `/admin/queues` and `/metrics` over HTTP (fastify inject) on a real store and real
 * queues: sign-in and its cookie, sessions ending at logout or key revocation, CSRF on every
 * form (missing, wrong, cross-site → 403), no open redirect, analysts read-only, a hostile URL
 * escaped on every page, audit rows for report reads, and the /metrics access rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, cookiesOf, csrfOf, type AdminServer } from './admin-server.js';
import { addNotice, DAY, HOUR, seedReports } from './support.js';

const HOSTILE = 'https://hostile.fleet.test/"><script>alert(1)</script>?q=<img src=x onerror=alert(2)>&x=\'';

let s: AdminServer;
let adminCookie = '';
let analyst: { id: string; token: string };
let analystCookie = '';
let reportId = '';
let hostileId = '';

beforeAll(async () => {
  s = await startAdminServer();
  analyst = await s.newKey('analyst');
  [adminCookie, analystCookie] = await Promise.all([s.login(s.adminToken), s.login(analyst.token)]);
  const now = Date.now();
  [reportId, hostileId] = await seedReports(s.store, [
    { url: 'https://case.fleet.test/a', status: 'notified', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: new Date(now - DAY), nextRealertAt: new Date(now - HOUR) },
    { url: HOSTILE, status: 'live', country: null, routingFlag: 'unknown_country', firstSeenLiveAt: new Date(now - HOUR), viaCdn: true, asn: 13335, org: '<b>CDN</b>' },
  ]) as [string, string];
  await addNotice(s.store, hostileId, { recipient: '<script>r</script>', createdAt: new Date(now), status: 'failed' });
}, 60_000);

afterAll(async () => { await s?.close(); });

describe('signing in', () => {
  it('sends pages to the sign-in form and refuses everything else without a session', async () => {
    const page = await s.get('/admin/reports?status=live');
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Freports%3Fstatus%3Dlive');
    expect((await s.get('/admin/queues/api/queues')).statusCode).toBe(401);
    expect((await s.post(`/admin/reports/${reportId}/recheck`, null, { _csrf: 'x' })).statusCode).toBe(401);
    // a bearer token is for the JSON API, not the pages
    expect((await s.get('/admin', null, { authorization: `Bearer ${s.adminToken}` })).statusCode).toBe(303);
  });

  it('sets a signed, HttpOnly, SameSite=Strict session cookie for admin and analyst tokens only', async () => {
    const form = await s.get('/admin/login');
    const nonce = cookiesOf(form).vigil_login?.value as string;
    const submit = (token: string, next = '/admin/stats') => s.post('/admin/login', `vigil_login=${nonce}`, { token, _csrf: csrfOf(form.body), next });
    const ok = await submit(s.adminToken);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/admin/stats');
    const cookie = cookiesOf(ok).vigil_admin?.header ?? '';
    expect(cookie).toMatch(/^vigil_admin=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    for (const token of ['vgl_wrong', (await s.newKey('force').catch(() => ({ token: 'vgl_none' }))).token, (await s.newKey('recipient').catch(() => ({ token: 'vgl_none' }))).token]) {
      const refused = await submit(token);
      expect(refused.statusCode).toBe(401);
      expect(cookiesOf(refused).vigil_admin).toBeUndefined();
    }
    // never a redirect off /admin
    for (const next of ['//evil.test/admin', 'https://evil.test/', '/v1/keys', '/admin\\@evil.test']) {
      expect((await submit(s.adminToken, next)).headers.location).toBe('/admin');
    }
  });

  it('refuses a sign-in without the form\'s CSRF token', async () => {
    const form = await s.get('/admin/login');
    const nonce = cookiesOf(form).vigil_login?.value as string;
    expect((await s.post('/admin/login', `vigil_login=${nonce}`, { token: s.adminToken })).statusCode).toBe(403);
    expect((await s.post('/admin/login', null, { token: s.adminToken, _csrf: csrfOf(form.body) })).statusCode).toBe(403);
  });

  it('refuses a tampered cookie; logout and revoking the key end the session', async () => {
    const [name, value] = adminCookie.split('=') as [string, string];
    const tampered = `${name}=${value.slice(0, 10)}${value[10] === 'A' ? 'B' : 'A'}${value.slice(11)}`;
    expect((await s.get('/admin', tampered)).statusCode).toBe(303);

    const cookie = await s.login(s.adminToken);
    expect((await s.get('/admin', cookie)).statusCode).toBe(200);
    const csrf = csrfOf((await s.get('/admin', cookie)).body);
    const out = await s.post('/admin/logout', cookie, { _csrf: csrf });
    expect(out.statusCode).toBe(303);
    expect(cookiesOf(out).vigil_admin?.header).toContain('Max-Age=0');
    expect((await s.get('/admin', cookie)).statusCode).toBe(303);

    const key = await s.newKey('analyst');
    const keyCookie = await s.login(key.token);
    expect((await s.get('/admin', keyCookie)).statusCode).toBe(200);
    await s.app.inject({ method: 'DELETE', url: `/v1/keys/${key.id}`, headers: { authorization: `Bearer ${s.adminToken}` } });
    expect((await s.get('/admin', keyCookie)).statusCode).toBe(303);
  });
});

describe('forms and CSRF', () => {
  it('needs the session\'s CSRF token on every form, and refuses cross-site posts', async () => {
    const page = await s.get(`/admin/reports/${reportId}`, analystCookie);
    const csrf = csrfOf(page.body);
    const recheck = (form: Record<string, string>, cookie = analystCookie, headers: Record<string, string> = {}) => s.post(`/admin/reports/${reportId}/recheck`, cookie, form, headers);
    expect((await recheck({})).statusCode).toBe(403);
    expect((await recheck({ _csrf: 'A'.repeat(43) })).statusCode).toBe(403);
    // another session's token is not this session's
    expect((await recheck({ _csrf: csrfOf((await s.get('/admin', adminCookie)).body) })).statusCode).toBe(403);
    expect((await recheck({ _csrf: csrf }, analystCookie, { origin: 'http://evil.test' })).statusCode).toBe(403);
    expect((await recheck({ _csrf: csrf }, analystCookie, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    const ok = await recheck({ _csrf: csrf }, analystCookie, { origin: 'http://localhost:80', host: 'localhost:80' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe(`/admin/reports/${reportId}`);
    const { rows } = await s.store.sql.query<{ next_check_at: Date | null }>('SELECT next_check_at FROM reports WHERE id = $1', [reportId]);
    expect(rows[0]?.next_check_at).not.toBeNull();
  });

  it('lets only admins re-enable a disabled channel', async () => {
    await s.store.sql.query(`INSERT INTO endpoint_state (target, id, failed_attempts, last_failure_at, last_error, last_status, disabled_at, disabled_url, updated_at)
      VALUES ('recipient', 'hotline-gone', 3, now(), 'http_410', 410, now(), 'https://hooks.fleet.test/gone', now())`);
    const overview = await s.get('/admin', adminCookie);
    expect(overview.body).toContain('data-endpoint="recipient:hotline-gone"');
    const form = { target: 'recipient', id: 'hotline-gone' };
    const byAnalyst = await s.post('/admin/channels/enable', analystCookie, { ...form, _csrf: csrfOf((await s.get('/admin', analystCookie)).body) });
    expect(byAnalyst.statusCode).toBe(403);
    expect((await s.store.listEndpointStats()).find((e) => e.id === 'hotline-gone')?.disabledAt).not.toBeNull();
    const byAdmin = await s.post('/admin/channels/enable', adminCookie, { ...form, _csrf: csrfOf(overview.body) });
    expect(byAdmin.statusCode).toBe(303);
    expect((await s.store.listEndpointStats()).find((e) => e.id === 'hotline-gone')?.disabledAt).toBeNull();
  });
});

describe('pages', () => {
  it('escape a hostile URL, network name and recipient everywhere, under a no-script CSP', async () => {
    for (const url of [`/admin/reports/${hostileId}`, '/admin/reports', '/admin?x=1', '/admin/reports?flag=cdn', '/admin/networks']) {
      const res = await s.get(url, adminCookie);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.body).not.toMatch(/<script|<img|<b>/i);
    }
    const page = (await s.get(`/admin/reports/${hostileId}`, adminCookie)).body;
    expect(page).toContain('https://hostile.fleet.test/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;?q=&lt;img src=x onerror=alert(2)&gt;&amp;x=&#39;');
    expect(page).toContain('&lt;script&gt;r&lt;/script&gt;');
    expect((await s.get('/admin/networks', adminCookie)).body).toContain('&lt;b&gt;CDN&lt;/b&gt;');
  });

  it('show the overview\'s overdue re-alert and flagged case, and audit what was shown', async () => {
    const before = await s.store.sql.query<{ n: number }>('SELECT max(seq) AS n FROM audit_log');
    const res = await s.get('/admin', analystCookie);
    expect(res.body).toMatch(new RegExp(`<section id="overdue">[\\s\\S]*data-report="${reportId}"[\\s\\S]*</section>`));
    expect(res.body).toMatch(new RegExp(`<section id="routing">[\\s\\S]*data-report="${hostileId}"`));
    await s.get(`/admin/reports/${reportId}`, analystCookie);
    const { rows } = await s.store.sql.query<{ action: string; actor: string; subject_id: string | null; detail: { reports?: string[] } }>(
      'SELECT action, actor, subject_id, detail FROM audit_log WHERE seq > $1 ORDER BY seq', [before.rows[0]?.n ?? 0]);
    expect(rows.map((r) => [r.action, r.actor])).toEqual([['report.list', `key:${analyst.id}`], ['report.read', `key:${analyst.id}`]]);
    expect(rows[0]?.detail.reports).toEqual(expect.arrayContaining([reportId, hostileId]));
    expect(rows[1]?.subject_id).toBe(reportId);
  });

  it('answer a bad filter or cursor with 400 and an unknown report with 404', async () => {
    expect((await s.get('/admin/reports?status=nope', adminCookie)).statusCode).toBe(400);
    expect((await s.get('/admin/reports?cursor=bm90LWEtY3Vyc29y', adminCookie)).statusCode).toBe(400);
    expect((await s.get('/admin/stats?days=3', adminCookie)).statusCode).toBe(400);
    expect((await s.get('/admin/reports/00000000-0000-4000-8000-000000000000', adminCookie)).statusCode).toBe(404);
    expect((await s.get('/admin/reports/<script>', adminCookie)).statusCode).toBe(404);
  });
});

describe('queue dashboard', () => {
  it('is read-only for analysts: every change refused, the full board redirects to the read-only one', async () => {
    const job = await s.queues.add('check', { reportId, dueAt: new Date().toISOString(), reason: 'recheck' });
    const put = (path: string, cookie: string) => s.app.inject({ method: 'PUT', url: path, headers: { cookie } });
    const jobPath = `/admin/queues/api/queues/check/${encodeURIComponent(String(job.id))}`;
    expect((await s.get('/admin/queues/api/queues', analystCookie)).statusCode).toBe(200);
    for (const path of [`${jobPath}/retry`, `${jobPath}/clean`, '/admin/queues/api/queues/check/pause', '/admin/queues/api/queues/check/empty',
      `/admin/queues/view${jobPath.slice('/admin/queues'.length)}/clean`]) {
      expect((await put(path, analystCookie)).statusCode, path).toBe(403);
    }
    expect((await s.app.inject({ method: 'POST', url: '/admin/queues/api/queues/check/add', headers: { cookie: analystCookie }, payload: { name: 'x', data: {} } })).statusCode).toBe(403);
    expect(await s.queues.check.getJob(String(job.id))).toBeTruthy();
    const board = await s.get('/admin/queues/queue/check', analystCookie);
    expect(board.statusCode).toBe(303);
    expect(board.headers.location).toBe('/admin/queues/view/queue/check');
    // the admin may
    expect((await put(`${jobPath}/clean`, adminCookie)).statusCode).toBe(204);
    expect(await s.queues.check.getJob(String(job.id))).toBeFalsy();
  });
});

describe('/metrics', () => {
  it('needs an admin token and carries every §8 name with live values', async () => {
    const scrape = (authorization?: string) => s.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
    expect((await scrape()).statusCode).toBe(401);
    expect((await scrape(`Bearer ${analyst.token}`)).statusCode).toBe(403);
    // a session cookie is not a token either
    expect((await s.app.inject({ method: 'GET', url: '/metrics', headers: { cookie: adminCookie } })).statusCode).toBe(401);
    s.metrics.observeCheck('gone', 0.25);
    s.metrics.noticeDelivered('initial', 'webhook', 'sent');
    s.metrics.scheduleLag(3);
    await s.queues.add('trace', { reportId });
    const res = await scrape(`Bearer ${s.adminToken}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toMatch(/^vigil_checks_total\{outcome="gone"\} 1$/m);
    expect(text).toMatch(/^vigil_checks_total\{outcome="live"\} 0$/m);
    expect(text).toMatch(/^vigil_check_duration_seconds_bucket\{le="0.5"\} 1$/m);
    expect(text).toMatch(/^vigil_notices_total\{kind="initial",channel="webhook",result="sent"\} 1$/m);
    expect(text).toMatch(/^vigil_schedule_lag_seconds_sum 3$/m);
    expect(text).toMatch(/^vigil_reports\{status="notified"\} 1$/m);
    expect(text).toMatch(/^vigil_reports\{status="live"\} 1$/m);
    expect(text).toMatch(/^vigil_queue_jobs\{queue="trace",state="waiting"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('is open to anyone with http.metricsPublic', async () => {
    const open = await startAdminServer({ metricsPublic: true });
    try {
      const res = await open.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('# TYPE vigil_reports gauge');
    } finally {
      await open.close();
    }
  });
});
