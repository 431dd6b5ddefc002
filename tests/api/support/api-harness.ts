/**
 * The API over a real store (a fresh PostgreSQL database, or embedded PostgreSQL in a temp dir),
 * with a clock the test moves. Requests go through `app.inject` or, after `listen()`, real HTTP
 * on loopback.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import type { ApiDeps } from '../../../api/api-deps.js';
import { createAuthenticator } from '../../../api/auth.js';
import { createApiServer } from '../../../api/create-api-server.js';
import type { RateLimit } from '../../../api/rate-limit.js';
import type { HashLookup } from '../../../core/content-digests.js';
import type { Role } from '../../../core/store.js';
import { openStore } from '../../../store/open-store.js';
import type { SqlStore } from '../../../store/sql-store.js';
import { createTestDatabase, uniqueId } from '../../support/test-env.js';

export const ADMIN_TOKEN = `admin-${randomUUID()}`;

export interface TestClock {
  now(): Date;
  set(at: Date): void;
  advance(ms: number): void;
}

export function testClock(start = new Date('2030-01-01T00:00:00.000Z')): TestClock {
  let t = start.getTime();
  return { now: () => new Date(t), set: (at) => { t = at.getTime(); }, advance: (ms) => { t += ms; } };
}

export interface ApiHarness {
  app: FastifyInstance;
  store: SqlStore;
  clock: TestClock;
  deps: ApiDeps;
  /** the PostgreSQL database (null: embedded) */
  databaseUrl: string | null;
  /** a force created through the API */
  newForce(): Promise<string>;
  /** a key created through the API; returns its token and id */
  newKey(role: Role, options?: { force?: string; recipient?: string; expiresAt?: string }): Promise<{ id: string; token: string }>;
  /** inject with a bearer token */
  call(token: string | null, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, options?: { json?: unknown; body?: string | Buffer; contentType?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** audit rows written since the harness started (or since `since`), oldest first */
  auditRows(since?: number): Promise<{ seq: number; actor: string; action: string; subject_type: string; subject_id: string | null; detail: Record<string, unknown> }[]>;
  lastAuditSeq(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  kind?: 'postgres' | 'embedded';
  rateLimit?: RateLimit | null;
  limits?: { maxItems: number; maxBodyBytes: number };
  requestCheck?: (reportId: string) => Promise<void>;
  /** `directory.recipients` ids (recipient keys are checked against them) */
  recipientIds?: readonly string[];
  /** the hash list submitted digests are looked up in */
  hashList?: HashLookup | null;
}

export async function startApiHarness(options: HarnessOptions = {}): Promise<ApiHarness> {
  const cleanups: (() => Promise<void>)[] = [];
  let store: SqlStore;
  let databaseUrl: string | null = null;
  if ((options.kind ?? 'postgres') === 'postgres') {
    const db = await createTestDatabase();
    databaseUrl = db.url;
    cleanups.push(() => db.drop());
    store = await openStore({ databaseUrl: db.url, dataDir: os.tmpdir() });
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-api-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    store = await openStore({ databaseUrl: null, dataDir: dir });
  }
  cleanups.unshift(() => store.close());
  const clock = testClock();
  const deps: ApiDeps = {
    store,
    clock,
    log: pino({ level: 'silent' }),
    auth: createAuthenticator({ store, clock, adminToken: ADMIN_TOKEN }),
    newId: randomUUID,
    readiness: async () => ({ ready: true, checks: { database: { ok: true } } }),
    limits: options.limits ?? { maxItems: 100_000, maxBodyBytes: 50 * 1024 * 1024 },
    rateLimit: options.rateLimit ?? null,
    accepting: () => true,
    ...(options.requestCheck ? { requestCheck: options.requestCheck } : {}),
    ...(options.recipientIds ? { recipientIds: options.recipientIds } : {}),
    ...(options.hashList ? { hashList: options.hashList } : {}),
  };
  const app = await createApiServer(deps);
  cleanups.unshift(() => app.close());
  const startSeq = await lastSeq(store);

  const call: ApiHarness['call'] = (token, method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.json !== undefined) return app.inject({ method, url, headers, payload: opts.json as object });
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'text/plain';
    return app.inject({ method, url, headers, ...(opts.body !== undefined ? { payload: opts.body } : {}) });
  };

  return {
    app, store, clock, deps, call, databaseUrl,
    async newForce() {
      const id = uniqueId('force').toLowerCase();
      const res = await call(ADMIN_TOKEN, 'POST', '/v1/forces', { json: { id, name: `Force ${id}` } });
      if (res.statusCode !== 201) throw new Error(`force not created: ${res.body}`);
      return id;
    },
    async newKey(role, opts = {}) {
      const res = await call(ADMIN_TOKEN, 'POST', '/v1/keys', { json: { role, ...opts } });
      if (res.statusCode !== 201) throw new Error(`key not created: ${res.body}`);
      return res.json<{ id: string; token: string }>();
    },
    async auditRows(since = startSeq) {
      const { rows } = await store.sql.query<{ seq: number; actor: string; action: string; subject_type: string; subject_id: string | null; detail: Record<string, unknown> }>(
        'SELECT seq, actor, action, subject_type, subject_id, detail FROM audit_log WHERE seq > $1 ORDER BY seq', [since]);
      return rows;
    },
    lastAuditSeq: () => lastSeq(store),
    async close() {
      for (const c of cleanups) await c().catch(() => undefined);
    },
  };
}

async function lastSeq(store: SqlStore): Promise<number> {
  const { rows } = await store.sql.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM audit_log');
  return rows[0]?.seq ?? 0;
}

/** `n` URLs on `.test` names, unique to this run */
export function testUrls(n: number, tag = uniqueId('u')): string[] {
  return Array.from({ length: n }, (_, i) => `https://${tag}-${i}.test/page?n=${i}`);
}
