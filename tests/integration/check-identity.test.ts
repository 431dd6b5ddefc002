/**
 * Content identity, the hash list and the browser fallback wired into the running check: the
 * daemon (all roles, in this process) on the machine's PostgreSQL, Redis and Chromium, checking
 * the loopback world under `mediaPolicy: hash` with a hash list naming one world image.
 *
 * - a hash-list match is a verdict `illegal` from `hash_list`;
 * - the first live check records a baseline (metadata, digests, the page's media refs), later
 *   checks are decided against it (media replaced by a page; a page whose media are gone);
 * - a script-built page is fetched again in Chromium: a takedown text injected by script is
 *   `gone` only there, an ordinary script page is `live`;
 * - an analyst's `not_illegal` rejects, a later `illegal` brings the report back and it is checked.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load-config.js';
import { startDaemon, type RunningDaemon } from '../../daemon/start-daemon.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { CHROMIUM_PATH, createTestDatabase, TEST_REDIS_URL, logCapture, removeQueueKeys, uniqueId } from '../support/test-env.js';
import { worldDaemonConfig } from '../support/world-daemon.js';
import { startWorld, type World } from '../world/world.js';

const ADMIN = 'check-identity-admin-token-0123456789';

let world: World;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: pg.Client;
let daemon: RunningDaemon;
let events: QueueEvents;
let dataDir: string;
let forceToken = '';
let logLines: string[] = [];
const prefix = uniqueId('ident');

interface ReportBody { status: string; verdict: string | null; verdictSource: string | null; checks: { outcome: string; reason: string }[] }

async function api<T>(method: 'GET' | 'POST', p: string, token: string, body?: { json?: unknown; text?: string }): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (body?.json !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body.json); }
  if (body?.text !== undefined) { headers['content-type'] = 'text/plain'; payload = body.text; }
  const res = await request(`${daemon.url}${p}`, { method, headers, body: payload });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T };
}

const report = async (id: string) => (await api<ReportBody>('GET', `/v1/reports/${id}`, ADMIN)).body;

/** Resolves once the report has `n` checks recorded: re-read after each completed check job (events, not sleeps). */
function checksRecorded(reportId: string, n: number, timeoutMs = 40_000): Promise<ReportBody> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, body?: ReportBody) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      events.off('completed', look);
      if (err) reject(err); else resolve(body!);
    };
    const look = () => {
      void report(reportId).then((body) => { if (body.checks.length >= n) finish(null, body); }, (err: Error) => finish(err));
    };
    const timer = setTimeout(() => finish(new Error(`report ${reportId}: fewer than ${n} checks after ${timeoutMs} ms`)), timeoutMs);
    events.on('completed', look);
    look();
  });
}

/** Submits URLs as the force; returns report ids in order. */
async function submit(...urls: string[]): Promise<string[]> {
  const res = await api<{ id: string }>('POST', '/v1/submissions', forceToken, { text: urls.join('\n') });
  expect(res.status).toBe(202);
  const view = await api<{ items: { url: string; reportId: string }[] }>('GET', `/v1/submissions/${res.body.id}`, forceToken);
  return urls.map((u) => view.body.items.find((i) => i.url === u)!.reportId);
}

async function recheck(id: string): Promise<void> {
  expect((await api('POST', `/v1/reports/${id}/recheck`, ADMIN)).status).toBe(202);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium, or set CHROMIUM_PATH`);
  world = await startWorld();
  db = await createTestDatabase();
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-ident-'));
  // the hash list names the image of host 2 (its sha256), and one unrelated digest
  const hashFile = path.join(dataDir, 'known.txt');
  writeFileSync(hashFile, `${'0'.repeat(64)}\n${world.host('127.0.0.2').http.content.png.sha256}\n`);
  const config = parseConfig(worldDaemonConfig(world, { dataDir, databaseUrl: db.url, prefix, adminToken: ADMIN }, {
    crawler: { timeouts: { connect: '2s', total: '15s' }, mediaPolicy: 'hash', browser: { enabled: true, executablePath: CHROMIUM_PATH, pages: 2 } },
    hashList: { files: [hashFile] },
  }), {});
  const { lines, sink } = logCapture();
  logLines = lines;
  events = new QueueEvents('check', { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: queuePrefix(prefix) });
  await events.waitUntilReady();
  daemon = await startDaemon({ config, role: 'all', log: pino({ level: 'debug' }, sink) });
  expect((await api('POST', '/v1/forces', ADMIN, { json: { id: 'met', name: 'Metropolitan Police' } })).status).toBe(201);
  forceToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { json: { role: 'force', force: 'met' } })).body.token;
}, 60_000);

afterAll(async () => {
  await daemon?.stop('test done');
  await events?.close();
  await removeQueueKeys(queuePrefix(prefix));
  await sql?.end();
  await db?.drop();
  await world?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('content identity in the check', () => {
  it('a hash-list match is an illegal verdict from the hash list; the digests are the baseline, never the bytes', async () => {
    const png = world.host('127.0.0.2').http.content.png;
    const [id] = await submit(world.url('127.0.0.2', '/image.png'));
    const body = await checksRecorded(id!, 1);
    expect(body).toMatchObject({ status: 'live', verdict: 'illegal', verdictSource: 'hash_list' });
    const { rows } = await sql.query('SELECT baseline_media, baseline_digests, known_media_refs, baseline_at FROM reports WHERE id = $1', [id]);
    expect(rows[0].baseline_media).toMatchObject({ contentType: 'image/png', contentLength: png.body.length });
    expect(rows[0].baseline_digests).toEqual({ sha256: png.sha256, sha1: png.sha1, md5: png.md5 });
    expect(rows[0].baseline_at).not.toBeNull();
  });

  it('an image URL that later serves a page is gone (media replaced by page)', async () => {
    const host = world.host('127.0.0.3').http;
    const [id] = await submit(world.url('127.0.0.3', '/image.png'));
    expect(await checksRecorded(id!, 1)).toMatchObject({ status: 'live', verdict: null });
    host.routeStatic('/image.png', { headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<html><body><p>Welcome to our gallery. Nothing to see here.</p></body></html>' });
    await recheck(id!);
    const body = await checksRecorded(id!, 2);
    expect(body.checks[0]).toMatchObject({ outcome: 'gone', reason: 'media_replaced_by_page' });
    // one gone is not removal (removal needs confirmations over a window)
    expect(body.status).toBe('live');
  });

  it('a page whose first-seen media are no longer referenced is gone; while they are, live', async () => {
    const host = world.host('127.0.0.4').http;
    const pageUrl = world.url('127.0.0.4', '/page.html');
    const [id] = await submit(pageUrl);
    expect(await checksRecorded(id!, 1)).toMatchObject({ status: 'live' });
    const { rows } = await sql.query<{ known_media_refs: string[] }>('SELECT known_media_refs FROM reports WHERE id = $1', [id]);
    expect(rows[0]!.known_media_refs).toEqual(expect.arrayContaining([world.url('127.0.0.4', '/image.png'), world.url('127.0.0.4', '/image.jpg')]));

    await recheck(id!);
    expect((await checksRecorded(id!, 2)).checks[0]).toMatchObject({ outcome: 'live', reason: 'known_content_present' });

    const text = 'An ordinary page of text that no longer shows any of the pictures it used to show. '.repeat(4);
    host.routeStatic('/page.html', { headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<html><body><p>${text}</p><img src="/logo.png"></body></html>` });
    await recheck(id!);
    expect((await checksRecorded(id!, 3)).checks[0]).toMatchObject({ outcome: 'gone', reason: 'known_content_removed' });
  });
});

describe('the browser fallback', () => {
  // The takedown phrase is put together by the script, so the HTML source never contains it: only
  // a browser running the script sees it.
  const shell = (script: string) => `<!doctype html><html><head><title>app</title></head><body><div id="root"></div>
<script>document.getElementById('root').textContent = ${script};</script></body></html>`;

  it('a takedown text injected by script is gone, seen only in the browser; an ordinary script page is live', async () => {
    const host = world.host('127.0.0.5').http;
    const html = { 'content-type': 'text/html; charset=utf-8' };
    host.routeStatic('/app-gone.html', { headers: html, body: shell(`['This', 'content', 'has', 'been', 'removed'].join(' ') + '.'`) });
    host.routeStatic('/app-live.html', { headers: html, body: shell(`['Welcome', 'to', 'the', 'gallery'].join(' ')`) });
    expect(shell(`['This', 'content', 'has', 'been', 'removed'].join(' ')`)).not.toMatch(/content has been removed/);
    const [gone, live] = await submit(world.url('127.0.0.5', '/app-gone.html'), world.url('127.0.0.5', '/app-live.html'));

    const goneBody = await checksRecorded(gone!, 1);
    expect(goneBody.checks[0]).toMatchObject({ outcome: 'gone', reason: 'browser_takedown_page' });
    expect(goneBody.status).toBe('unreachable');
    const liveBody = await checksRecorded(live!, 1);
    expect(liveBody.checks[0]).toMatchObject({ outcome: 'live', reason: 'browser_http_200' });
    expect(liveBody.status).toBe('live');
    expect(world.canary.requests).toEqual([]);
  });
});

describe('verdicts through the running daemon', () => {
  it('not_illegal rejects; illegal brings a rejected report back and it is checked again', async () => {
    const [id] = await submit(world.url('127.0.0.6', '/image.png'));
    expect(await checksRecorded(id!, 1)).toMatchObject({ status: 'live' });
    expect((await api('POST', `/v1/reports/${id}/verdict`, ADMIN, { json: { verdict: 'not_illegal' } })).status).toBe(200);
    expect(await report(id!)).toMatchObject({ status: 'rejected', verdict: 'not_illegal', verdictSource: 'analyst' });
    expect((await api('POST', `/v1/reports/${id}/verdict`, ADMIN, { json: { verdict: 'illegal' } })).status).toBe(200);
    expect((await report(id!)).status).toBe('pending');
    const body = await checksRecorded(id!, 2);
    expect(body).toMatchObject({ status: 'live', verdict: 'illegal', verdictSource: 'analyst' });
  });

  it('no served content appears in the logs', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const all = logLines.join('');
    for (const a of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) expect(all).not.toContain(world.host(a).http.content.marker);
    expect(all).not.toContain('gallery');
  });
});
