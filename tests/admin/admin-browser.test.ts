/**
 * The operator surface in a real browser (playwright-core + the system's Chromium) against a
 * running daemon (all roles, in this process) on the machine's PostgreSQL and Redis, checking
 * URLs served by the loopback world. A force submits; the daemon checks; an operator signs in,
 * finds the case, reads its timeline, sees the removal-time charts, opens the queue dashboard; an
 * analyst is kept read-only; a hostile URL stays text. Screenshots go to test-output/admin/ for
 * review (git-ignored; vigil's own pages only — they show URLs and metadata, never content).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load-config.js';
import { startDaemon, type RunningDaemon } from '../../daemon/start-daemon.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { CHROMIUM_PATH, createTestDatabase, TEST_REDIS_URL, removeQueueKeys, uniqueId } from '../support/test-env.js';
import { worldDaemonConfig } from '../support/world-daemon.js';
import { startWorld, type World } from '../world/world.js';
import { addNotice, addTrace, DAY, HOUR, seedReports } from './support.js';

const ADMIN = `admin-browser-${uniqueId('tok')}`;
const SHOTS = path.resolve('test-output/admin');
const HOSTILE = 'https://hostile.fleet.test/"><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

let world: World;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let daemon: RunningDaemon;
let store: SqlStore;
let browser: Browser;
let events: QueueEvents;
let traceQueue: Queue;
let dataDir: string;
const prefix = uniqueId('adminb');
const contexts: BrowserContext[] = [];

async function api<T>(method: 'GET' | 'POST', p: string, token: string | null, body?: { json?: unknown; text?: string }): Promise<{ status: number; body: T; text: string }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let payload: string | undefined;
  if (body?.json !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body.json); }
  if (body?.text !== undefined) { headers['content-type'] = 'text/plain'; payload = body.text; }
  const res = await request(`${daemon.url}${p}`, { method, headers, body: payload });
  const text = await res.body.text();
  let parsed: unknown = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.statusCode, body: parsed as T, text };
}

function checksCompleted(n: number, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${n} checks completed`)), timeoutMs);
    const onDone = () => {
      seen += 1;
      if (seen === n) { clearTimeout(timer); events.off('completed', onDone); resolve(); }
    };
    events.on('completed', onDone);
  });
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Signs in through the form (the page must be on /admin/login). */
async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#token').fill(token);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/admin/login')), page.locator('#login button[type=submit]').click()]);
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [world, db] = await Promise.all([startWorld(), createTestDatabase()]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-admin-'));
  const config = parseConfig(worldDaemonConfig(world, { dataDir, databaseUrl: db.url, prefix, adminToken: ADMIN }, { crawler: { browser: { enabled: false } } }), {});
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  events = new QueueEvents('check', { connection, prefix: queuePrefix(prefix) });
  traceQueue = new Queue('trace', { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: queuePrefix(prefix) });
  [daemon, browser] = await Promise.all([
    startDaemon({ config, role: 'all', log: pino({ level: 'silent' }) }),
    chromium.launch({
      executablePath: CHROMIUM_PATH, headless: true, chromiumSandbox: false,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    }),
    events.waitUntilReady(),
  ]);
  store = await openStore({ databaseUrl: db.url, dataDir });
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await daemon?.stop('test done');
  await events?.close();
  await traceQueue?.close();
  await store?.close();
  await removeQueueKeys(queuePrefix(prefix));
  await db?.drop();
  await world?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('operator surface in a browser', () => {
  let liveUrl = '';
  let liveId = '';
  let analystToken = '';

  it('an operator signs in and finds a submitted case with its whole timeline', async () => {
    expect((await api('POST', '/v1/forces', ADMIN, { json: { id: 'met', name: 'Metropolitan Police' } })).status).toBe(201);
    const forceToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { json: { role: 'force', force: 'met' } })).body.token;
    analystToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { json: { role: 'analyst' } })).body.token;
    liveUrl = world.url('127.0.0.2', '/page.html');
    const checked = checksCompleted(2);
    const submitted = await api<{ id: string }>('POST', '/v1/submissions', forceToken, { text: `${liveUrl}\n${world.url('127.0.0.3', '/404')}\n` });
    expect(submitted.status).toBe(202);
    await checked;
    const view = await api<{ items: { reportId: string; url: string; status: string }[] }>('GET', `/v1/submissions/${submitted.body.id}`, forceToken);
    liveId = view.body.items.find((i) => i.url === liveUrl)?.reportId ?? '';
    expect(view.body.items.find((i) => i.url === liveUrl)?.status).toBe('live');
    // where it is hosted and who was told (tracing and notices are other steps of the flow)
    const now = Date.now();
    await store.sql.query(`UPDATE reports SET hosting_country = 'NL', hosting_asn = 64500, hosting_org = 'Example Hosting NL', hosting_ip = '127.0.0.2',
      hosting_via_cdn = false WHERE id = $1`, [liveId]);
    await addTrace(store, liveId, new Date(now), { country: 'NL', asn: 64500, org: 'Example Hosting NL' });
    await addNotice(store, liveId, { recipient: 'hotline-nl', createdAt: new Date(now + 1000), sentAt: new Date(now + 2000), ackedAt: new Date(now + 3000) });

    const page = await newPage();
    await page.goto(`${daemon.url}/admin/reports/${liveId}`);
    // not signed in: the sign-in form, which then goes back where the operator was going
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await shot(page, '01-login');
    await signIn(page, ADMIN);
    expect(new URL(page.url()).pathname).toBe(`/admin/reports/${liveId}`);
    await expect.poll(() => page.locator('#report-url').textContent()).toBe(liveUrl);
    const timeline = page.locator('#timeline');
    // every check and trace of the report (the daemon may trace it as well as this test)
    const rows = async (table: 'checks' | 'traces') => Number((await store.sql.query<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE report_id = $1`, [liveId])).rows[0]?.n);
    expect(await timeline.locator('li.event-check').count()).toBe(await rows('checks'));
    expect(await rows('checks')).toBe(1);
    await expect.poll(() => timeline.locator('li.event-check').textContent()).toContain('live');
    await page.reload();
    expect(await timeline.locator('li.event-trace').count()).toBe(await rows('traces'));
    expect(await timeline.locator('li.event-trace', { hasText: 'Example Hosting NL' }).count()).toBe(1);
    expect(await timeline.locator('li.event-delivered').count()).toBe(1);
    expect(await timeline.locator('li.event-ack').textContent()).toContain('actioned');
    await shot(page, '02-report-timeline');

    // the same case from the list of live reports
    await page.goto(`${daemon.url}/admin/reports?status=live`);
    const row = page.locator(`tr[data-report="${liveId}"]`);
    expect(await row.locator('code.url').textContent()).toBe(liveUrl);
    await Promise.all([page.waitForURL(`**/admin/reports/${liveId}`), row.locator('a.open').click()]);
    await shot(page, '03-report-from-list');
  });

  it('draws time to removal as SVG bars, one per hosting country and network', async () => {
    const now = Date.now();
    const removed = (n: number, country: string, asn: number, hours: number) => ({
      url: `https://removed-${country.toLowerCase()}-${n}.fleet.test/x`, status: 'removed' as const, country, asn, org: `Net ${country}`,
      firstSeenLiveAt: new Date(now - 5 * DAY), removedAt: new Date(now - 5 * DAY + hours * HOUR), createdAt: new Date(now - 5 * DAY),
    });
    await seedReports(store, [removed(1, 'NL', 64500, 2), removed(2, 'NL', 64500, 10), removed(3, 'DE', 64501, 30), removed(4, 'FR', 64502, 50),
      { url: 'https://nowhere.fleet.test/x', status: 'live', routingFlag: 'unknown_country', firstSeenLiveAt: new Date(now - HOUR) }]);
    const page = await newPage();
    await page.goto(`${daemon.url}/admin/stats?days=30`);
    await signIn(page, ADMIN);
    const countryBars = page.locator('#by-country svg rect.bar');
    expect(await countryBars.count()).toBe(3);
    expect(await countryBars.evaluateAll((bars) => bars.map((b) => b.getAttribute('data-label')))).toEqual(['NL', 'DE', 'FR']);
    expect(await page.locator('#by-asn svg rect.bar').count()).toBe(3);
    await shot(page, '04-removal-times');

    await page.goto(`${daemon.url}/admin`);
    // (overdue re-alerts are not shown here: this daemon's scheduler sends them at once)
    expect(await page.locator('#routing tr[data-report]').count()).toBe(1);
    expect(await page.locator('#by-status [data-status="removed"] .n').textContent()).toBe('4');
    expect(await page.locator('#by-country tr', { hasText: 'NL' }).locator('td.num').first().textContent()).toBe('1');
    await shot(page, '05-overview');
    await page.goto(`${daemon.url}/admin/networks?days=30`);
    expect(await page.locator('#scorecards tr[data-asn]').count()).toBe(3);
    await shot(page, '06-networks');
  });

  it('opens the queue dashboard; an analyst gets the read-only board and cannot delete or retry jobs', async () => {
    // delayed, so this daemon's trace worker leaves it alone while the test looks at it
    const job = await traceQueue.add('trace', { reportId: liveId }, { jobId: `trace.${liveId}.admin-test`, delay: 3_600_000 });
    const admin = await newPage();
    await admin.goto(`${daemon.url}/admin/queues`);
    await signIn(admin, ADMIN);
    expect(new URL(admin.url()).pathname).toBe('/admin/queues');
    await admin.getByText('trace', { exact: true }).first().waitFor();
    await admin.goto(`${daemon.url}/admin/queues/queue/trace?status=delayed`);
    await admin.getByText(String(job.id)).first().waitFor();
    await shot(admin, '07-queues-admin');

    const analyst = await newPage();
    await analyst.goto(`${daemon.url}/admin/queues`);
    await signIn(analyst, analystToken);
    expect(new URL(analyst.url()).pathname).toMatch(/^\/admin\/queues\/view\/?$/);
    await analyst.goto(`${daemon.url}/admin/queues/queue/trace?status=delayed`);
    expect(new URL(analyst.url()).pathname).toBe('/admin/queues/view/queue/trace');
    await analyst.getByText(String(job.id)).first().waitFor();
    await shot(analyst, '08-queues-analyst');
    // the job's action buttons (icons: copy, edit, remove…) are on the admin's board only
    const iconButtons = (page: Page) => page.locator('main button').evaluateAll((bs) => bs.filter((b) => !b.textContent?.trim()).length);
    await expect.poll(async () => (await iconButtons(admin)) - (await iconButtons(analyst))).toBeGreaterThan(0);
    const attempt = (page: Page, action: 'clean' | 'retry') => page.evaluate(async ([id, act]) => {
      const res = await fetch(`/admin/queues/api/queues/trace/${encodeURIComponent(id as string)}/${act}`, { method: 'PUT' });
      return res.status;
    }, [job.id, action] as const);
    expect(await attempt(analyst, 'retry')).toBe(403);
    expect(await attempt(analyst, 'clean')).toBe(403);
    // and not through the read-only board's own API either
    expect(await analyst.evaluate(async (id) => (await fetch(`/admin/queues/view/api/queues/trace/${encodeURIComponent(id)}/clean`, { method: 'PUT' })).status, job.id as string)).toBe(403);
    expect(await traceQueue.getJob(job.id as string)).toBeTruthy();
    // the same request from an admin removes the job
    expect(await attempt(admin, 'clean')).toBe(204);
    expect(await traceQueue.getJob(job.id as string)).toBeFalsy();
  });

  it('refuses the pages, the dashboard and its API without a session', async () => {
    const page = await newPage();
    for (const p of ['/admin', '/admin/stats', '/admin/queues', '/admin/queues/view']) {
      await page.goto(`${daemon.url}${p}`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    }
    expect((await api('GET', '/admin/queues/api/queues', null)).status).toBe(401);
    // a bearer token is not a session
    expect((await api('GET', '/admin/queues/api/queues', ADMIN)).status).toBe(401);
  });

  it('shows a hostile URL as text: nothing in it runs or renders', async () => {
    const [id] = await seedReports(store, [{ url: HOSTILE, status: 'live', country: 'NL', asn: 64500, firstSeenLiveAt: new Date() }]);
    const page = await newPage();
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs += 1; void d.dismiss(); });
    await page.goto(`${daemon.url}/admin/reports/${id}`);
    await signIn(page, ADMIN);
    expect(await page.locator('#report-url').textContent()).toBe(HOSTILE);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('main script, main img').count()).toBe(0);
    await page.goto(`${daemon.url}/admin/reports?country=NL`);
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toBe(0);
    await shot(page, '09-hostile-url');
  });

  it('serves /metrics to admins with the contract names and the checks it ran', async () => {
    expect((await api('GET', '/metrics', null)).status).toBe(401);
    expect((await api('GET', '/metrics', analystToken)).status).toBe(403);
    const res = await api('GET', '/metrics', ADMIN);
    expect(res.status).toBe(200);
    for (const name of ['vigil_checks_total', 'vigil_check_duration_seconds', 'vigil_notices_total', 'vigil_reports', 'vigil_schedule_lag_seconds', 'vigil_queue_jobs', 'process_cpu_user_seconds_total']) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    expect(res.text).toMatch(/^vigil_checks_total\{outcome="live"\} 1$/m);
    expect(res.text).toMatch(/^vigil_checks_total\{outcome="gone"\} 1$/m);
    expect(res.text).toMatch(/^vigil_check_duration_seconds_count 2$/m);
    expect(res.text).toMatch(/^vigil_schedule_lag_seconds_count [1-9]\d*$/m);
    expect(res.text).toMatch(/^vigil_queue_jobs\{queue="check",state="failed"\} 0$/m);
  });
});
