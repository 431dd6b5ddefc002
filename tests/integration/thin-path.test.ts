/**
 * The thin path through the whole flow, on real parts: the daemon (all roles, in this process)
 * on the machine's PostgreSQL and Redis, checking URLs served by the loopback world. A force
 * submits; checks run; statuses move pending → live / unreachable / refused; the other force
 * sees nothing; the canary outside `crawler.allowNetworks` sees no connection; the content's
 * marker appears in no log line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load-config.js';
import { startDaemon, type RunningDaemon } from '../../daemon/start-daemon.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { createTestDatabase, TEST_REDIS_URL, logCapture, removeQueueKeys, uniqueId } from '../support/test-env.js';
import { worldDaemonConfig } from '../support/world-daemon.js';
import { startWorld, type World } from '../world/world.js';

const ADMIN = 'thin-path-admin-token-0123456789';

let world: World;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let daemon: RunningDaemon;
let events: QueueEvents;
let dataDir: string;
let logLines: string[] = [];
const prefix = uniqueId('thin');

async function api<T>(method: 'GET' | 'POST', p: string, token: string, body?: { json?: unknown; text?: string }): Promise<{ status: number; body: T; type: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (body?.json !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body.json); }
  if (body?.text !== undefined) { headers['content-type'] = 'text/plain'; payload = body.text; }
  const res = await request(`${daemon.url}${p}`, { method, headers, body: payload });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T, type: String(res.headers['content-type'] ?? '') };
}

/** Resolves after `n` check jobs completed (BullMQ events, not polling). */
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

beforeAll(async () => {
  world = await startWorld();
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-thin-'));
  const config = parseConfig(worldDaemonConfig(world, { dataDir, databaseUrl: db.url, prefix, adminToken: ADMIN }), {});
  const { lines, sink } = logCapture();
  logLines = lines;
  const log = pino({ level: 'debug' }, sink);
  events = new QueueEvents('check', { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: queuePrefix(prefix) });
  await events.waitUntilReady();
  daemon = await startDaemon({ config, role: 'all', log });
}, 60_000);

afterAll(async () => {
  await daemon?.stop('test done');
  await events?.close();
  await removeQueueKeys(queuePrefix(prefix));
  await db?.drop();
  await world?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('thin path', () => {
  let forceToken = '';
  let otherToken = '';

  it('an admin creates forces and keys', async () => {
    expect((await api('POST', '/v1/forces', ADMIN, { json: { id: 'met', name: 'Metropolitan Police' } })).status).toBe(201);
    expect((await api('POST', '/v1/forces', ADMIN, { json: { id: 'kent', name: 'Kent Police' } })).status).toBe(201);
    const dup = await api<{ code: string }>('POST', '/v1/forces', ADMIN, { json: { id: 'met', name: 'again' } });
    expect(dup.status).toBe(409);
    expect(dup.type).toContain('application/problem+json');
    expect(dup.body.code).toBe('FORCE_EXISTS');
    const key = await api<{ token: string }>('POST', '/v1/keys', ADMIN, { json: { role: 'force', force: 'met' } });
    expect(key.status).toBe(201);
    expect(key.body.token).toMatch(/^vgl_[A-Za-z0-9_-]{43}$/);
    forceToken = key.body.token;
    otherToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { json: { role: 'force', force: 'kent' } })).body.token;
  });

  it('rejects unknown tokens with 401 problem+json', async () => {
    const res = await api<{ code: string }>('GET', '/v1/submissions/00000000-0000-4000-8000-000000000000', 'vgl_not-a-real-token');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('a submission goes pending → live / unreachable / refused, and only its force sees it', async () => {
    const live = world.url('127.0.0.2', '/image.png');
    const page = world.url('127.0.0.3', '/page.html');
    const missing = world.url('127.0.0.4', '/404');
    const noName = live.replace('host-2.', 'no-such-host.');
    const canary = live.replace('host-2.', 'canary.');
    const body = [live, page, missing, noName, canary, 'ftp://files.test/x', 'not a url', live].join('\n');

    const allChecked = checksCompleted(5);
    const submitted = await api<{ id: string; accepted: number; duplicates: number; rejected: { line: number; error: string }[] }>(
      'POST', '/v1/submissions', forceToken, { text: body });
    expect(submitted.status).toBe(202);
    expect(submitted.body.accepted).toBe(6);
    expect(submitted.body.duplicates).toBe(1);
    expect(submitted.body.rejected).toEqual([{ line: 7, input: 'not a url', error: 'not an absolute URL' }]);

    await allChecked;
    const view = await api<{ items: { url: string; status: string; firstSeenLiveAt: string | null }[]; counts: Record<string, number> }>(
      'GET', `/v1/submissions/${submitted.body.id}`, forceToken);
    expect(view.status).toBe(200);
    const statusOf = Object.fromEntries(view.body.items.map((i) => [i.url, i.status]));
    expect(statusOf).toEqual({
      [live]: 'live',
      [page]: 'live',
      [missing]: 'unreachable',
      [noName]: 'unreachable',
      [canary]: 'refused',
      'ftp://files.test/x': 'refused',
    });
    // counts are per submitted item: the repeated line counts again
    expect(view.body.items).toHaveLength(7);
    expect(view.body.counts).toEqual({ live: 3, unreachable: 2, refused: 2 });
    expect(view.body.items.find((i) => i.url === live)?.firstSeenLiveAt).not.toBeNull();

    // the canary outside allowNetworks was never contacted
    expect(world.canary.requests).toEqual([]);

    // another force: 404, not 403
    expect((await api('GET', `/v1/submissions/${submitted.body.id}`, otherToken)).status).toBe(404);
    const reportId = (await api<{ items: { reportId: string; url: string }[] }>('GET', `/v1/submissions/${submitted.body.id}`, forceToken))
      .body.items.find((i) => i.url === live)!.reportId;
    expect((await api('GET', `/v1/reports/${reportId}`, otherToken)).status).toBe(404);
    const report = await api<{ status: string; checks: { outcome: string; reason: string }[] }>('GET', `/v1/reports/${reportId}`, forceToken);
    expect(report.body.status).toBe('live');
    expect(report.body.checks).toHaveLength(1);
    expect(report.body.checks[0]).toMatchObject({ outcome: 'live', reason: 'http_200' });

    // the page's unique marker was fetched but appears in no log line
    const marker = world.host('127.0.0.3').http.content.marker;
    expect(world.host('127.0.0.3').http.requests.some((r) => r.path === '/page.html')).toBe(true);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(marker);
  });

  it('readiness reports the real parts', async () => {
    const res = await request(`${daemon.url}/readyz`);
    const body = (await res.body.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(res.statusCode).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(['browser', 'database', 'intake', 'queues', 'redis']);
  });
});
