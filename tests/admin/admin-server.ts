/**
 * The API server (with `/admin`, `/admin/queues` and `/metrics`) over a real store — a fresh
 * PostgreSQL database — and real BullMQ queues on the shared Redis under a prefix of its own,
 * plus helpers to sign in through the login form the way a browser does (cookies, CSRF token).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { ApiDeps } from '../../api/api-deps.js';
import { createAuthenticator } from '../../api/auth.js';
import { createApiServer } from '../../api/create-api-server.js';
import { createVigilMetrics, type VigilMetrics } from '../../api/metrics/vigil-metrics.js';
import type { Role } from '../../core/store.js';
import { queueCounts } from '../../queue/queue-health.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestDatabase, TEST_REDIS_URL, removeQueueKeys, uniqueId } from '../support/test-env.js';

export interface AdminServer {
  app: FastifyInstance;
  store: SqlStore;
  queues: Queues;
  metrics: VigilMetrics;
  adminToken: string;
  now: () => Date;
  newKey(role: Role): Promise<{ id: string; token: string }>;
  /** Signs in through the form; returns the Cookie header value of the session. */
  login(token: string): Promise<string>;
  /** GET with a session cookie */
  get(url: string, cookie?: string | null, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** a form POST with a session cookie */
  post(url: string, cookie: string | null, form: Record<string, string>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** `name=value` pairs of a response's Set-Cookie headers. */
export function cookiesOf(res: LightMyRequestResponse): Record<string, { value: string; header: string }> {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return Object.fromEntries(list.map((h) => {
    const [pair] = h.split(';');
    const eq = (pair as string).indexOf('=');
    return [(pair as string).slice(0, eq), { value: (pair as string).slice(eq + 1), header: h }];
  }));
}

/** The `_csrf` value of the first form on a page. */
export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (!m?.[1]) throw new Error('no CSRF token on the page');
  return m[1];
}

export async function startAdminServer(options: { metricsPublic?: boolean; now?: () => Date } = {}): Promise<AdminServer> {
  const db = await createTestDatabase();
  const store = await openStore({ databaseUrl: db.url, dataDir: os.tmpdir() });
  const prefix = uniqueId('admin');
  const connections: Redis[] = [];
  const queues = createQueues({
    createConnection: () => { const c = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }); connections.push(c); return c; },
    prefix,
  });
  const now = options.now ?? (() => new Date());
  const clock = { now };
  const adminToken = `admin-${randomUUID()}`;
  const metrics = createVigilMetrics({ reportCounts: () => store.countReportsByStatus(), queueJobs: () => queueCounts(queues), cacheMs: 0 });
  const deps: ApiDeps = {
    store, clock, log: pino({ level: 'silent' }),
    auth: createAuthenticator({ store, clock, adminToken }),
    newId: randomUUID,
    readiness: async () => ({ ready: true, checks: {} }),
    limits: { maxItems: 1000, maxBodyBytes: 1024 * 1024 },
    rateLimit: null,
    accepting: () => true,
    metrics: { metrics, public: options.metricsPublic ?? false },
    queues: queues.all(),
  };
  const app = await createApiServer(deps);

  const get: AdminServer['get'] = (url, cookie, headers = {}) =>
    app.inject({ method: 'GET', url, headers: { ...(cookie ? { cookie } : {}), ...headers } });
  const post: AdminServer['post'] = (url, cookie, form, headers = {}) =>
    app.inject({
      method: 'POST', url, payload: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
    });

  return {
    app, store, queues, metrics, adminToken, now, get, post,
    async newKey(role) {
      const res = await app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${adminToken}` }, payload: { role } });
      if (res.statusCode !== 201) throw new Error(`key not created: ${res.body}`);
      return res.json<{ id: string; token: string }>();
    },
    async login(token) {
      const form = await get('/admin/login');
      const loginCookie = cookiesOf(form).vigil_login?.value;
      if (!loginCookie) throw new Error('the login form set no cookie');
      const res = await post('/admin/login', `vigil_login=${loginCookie}`, { token, _csrf: csrfOf(form.body), next: '/admin' });
      const session = cookiesOf(res).vigil_admin?.value;
      if (res.statusCode !== 303 || !session) throw new Error(`login failed: ${res.statusCode} ${res.body.slice(0, 200)}`);
      return `vigil_admin=${session}`;
    },
    async close() {
      await app.close();
      await queues.close();
      await removeQueueKeys(queuePrefix(prefix));
      for (const c of connections) if (c.status !== 'end') c.disconnect();
      await store.close();
      await db.drop();
    },
  };
}
