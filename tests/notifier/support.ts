/**
 * Shared parts of the notifier tests: a store on a fresh PostgreSQL database, reports seeded in the
 * state the lifecycle leaves them in, a clock that only moves when told, and the directory the
 * tests route by. Content is synthetic; every address is loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { Recipient } from '../../config/directory-schema.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestDatabase, uniqueId } from '../support/test-env.js';

export const silentLog: Logger = pino({ level: 'silent' });

/** base64 of 24 synthetic bytes: a valid Standard Webhooks secret */
export const SECRET_NL = `whsec_${Buffer.from('synthetic-secret-hotline-nl!').toString('base64')}`;
export const SECRET_FORCE = `whsec_${Buffer.from('synthetic-secret-force-kent!!').toString('base64')}`;

export interface TestClock extends Clock {
  advance(ms: number): Date;
  set(at: Date): void;
}

/** Starts at the real time (webhook timestamps must verify), whole seconds; moves only when told. */
export function testClock(start = new Date(Math.floor(Date.now() / 1000) * 1000)): TestClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => new Date((now += ms)),
    set: (at) => { now = at.getTime(); },
  };
}

export interface TestStore {
  store: SqlStore;
  close(): Promise<void>;
}

export async function openTestStore(): Promise<TestStore> {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-notifier-'));
  const store = await openStore({ databaseUrl: db.url, dataDir });
  return {
    store,
    async close() {
      await store.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SeededReport {
  forceId: string;
  submissionId: string;
  reportId: string;
  url: string;
}

/**
 * A force, a submission and one report confirmed illegal and seen live at `seenAt`, hosted at `ip`
 * in `country` — as the lifecycle and tracing leave it before the notifier runs.
 */
export async function seedLiveReport(store: SqlStore, options: { seenAt: Date; country: string | null; ip: string; forceId?: string; webhook?: { url: string; secret: string } }): Promise<SeededReport> {
  const forceId = options.forceId ?? uniqueId('force');
  if (!options.forceId) {
    await store.createForce({ id: forceId, name: `Force ${forceId}`, webhookUrl: options.webhook?.url ?? null, webhookSecret: options.webhook?.secret ?? null });
  }
  const url = `http://host-2.fleet.test/${uniqueId('page')}.html`;
  const submissionId = uniqueId('sub');
  await store.createSubmission({ id: submissionId, forceId, reference: 'case-1', items: [{ line: 1, input: url, url, initialStatus: 'pending' }], now: options.seenAt });
  const { rows } = await store.sql.query<{ id: string }>('SELECT id FROM reports WHERE url = $1', [url]);
  const reportId = rows[0]?.id as string;
  await store.sql.query(`UPDATE reports SET status = 'live', verdict = 'illegal', verdict_source = 'analyst', hosting_ip = $2, hosting_country = $3,
      hosting_asn = 64496, hosting_org = 'Synthetic Hosting', hosting_via_cdn = false, first_seen_live_at = $4, last_seen_live_at = $4,
      last_checked_at = $4, next_check_at = NULL, dispatch_at = NULL
    WHERE id = $1`, [reportId, options.ip, options.country, options.seenAt]);
  await store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, http_status, started_at, duration_ms, status_after)
    VALUES ($1, $2, 'live', 'http_200', 200, $3, 12, 'live')`, [uniqueId('check'), reportId, options.seenAt]);
  return { forceId, submissionId, reportId, url };
}

export function webhookRecipient(id: string, kind: Recipient['kind'], countries: string[], url: string, secret = SECRET_NL): Recipient {
  return { id, kind, name: `Recipient ${id}`, countries, channel: { webhook: { url, secret } } };
}

export function emailRecipient(id: string, kind: Recipient['kind'], countries: string[], to: string[]): Recipient {
  return { id, kind, name: `Recipient ${id}`, countries, channel: { email: { to } } };
}
