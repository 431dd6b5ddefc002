/**
 * Helpers for the operator-surface tests: reports created through the store (a force's
 * submission), then given the state a test needs (status, hosting, timestamps) with SQL, plus
 * checks, traces and notices for a timeline. Only `.test` names and documentation addresses.
 */
import { randomUUID } from 'node:crypto';
import type { ReportStatus } from '../../core/report-status.js';
import type { SqlStore } from '../../store/sql-store.js';

export interface SeedReport {
  url: string;
  status?: ReportStatus;
  country?: string | null;
  asn?: number | null;
  org?: string | null;
  viaCdn?: boolean;
  routingFlag?: 'unknown_country' | 'unrouted' | null;
  createdAt?: Date;
  firstSeenLiveAt?: Date | null;
  removedAt?: Date | null;
  nextRealertAt?: Date | null;
}

let forceMade = new WeakSet<SqlStore>();

/**
 * Makes the reports (one submission of force `admin-seed`) and returns their ids, in order. They
 * are created `refused` — never due for a check — and then given their state, so a running
 * daemon's dispatcher cannot pick one up in between and check it.
 */
export async function seedReports(store: SqlStore, reports: readonly SeedReport[], now = new Date()): Promise<string[]> {
  if (!forceMade.has(store)) {
    if (!(await store.getForce('admin-seed'))) await store.createForce({ id: 'admin-seed', name: 'Seed force' });
    forceMade.add(store);
  }
  await store.createSubmission({
    id: randomUUID(), forceId: 'admin-seed', reference: null, now,
    items: reports.map((r, i) => ({ line: i + 1, input: r.url, url: r.url, initialStatus: 'refused' as const })),
  });
  const ids: string[] = [];
  for (const r of reports) {
    const { rows } = await store.sql.query<{ id: string }>(`UPDATE reports SET status = $2, hosting_country = $3, hosting_asn = $4, hosting_org = $5,
        hosting_via_cdn = $6, routing_flag = $7, created_at = $8, first_seen_live_at = $9, removed_at = $10, next_realert_at = $11,
        hosting_ip = CASE WHEN $3::text IS NULL AND $4::bigint IS NULL THEN NULL ELSE '127.0.0.2' END,
        next_check_at = NULL, dispatch_at = NULL, state_version = state_version + 1
      WHERE url = $1 RETURNING id`, [
      r.url, r.status ?? 'live', r.country ?? null, r.asn ?? null, r.org ?? null, r.viaCdn ?? false, r.routingFlag ?? null,
      r.createdAt ?? now, r.firstSeenLiveAt ?? null, r.removedAt ?? null, r.nextRealertAt ?? null,
    ]);
    const id = rows[0]?.id;
    if (!id) throw new Error(`report ${r.url} not created`);
    ids.push(id);
  }
  return ids;
}

export function resetSeedCache(): void {
  forceMade = new WeakSet();
}

export async function addCheck(store: SqlStore, reportId: string, at: Date, outcome: 'live' | 'gone' | 'inconclusive' = 'live', statusAfter: ReportStatus = 'live'): Promise<string> {
  const id = `chk-${randomUUID()}`;
  await store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, http_status, vantage, started_at, duration_ms, status_after)
    VALUES ($1, $2, $3, $4, $5, NULL, $6, 120, $7)`, [id, reportId, outcome, outcome === 'live' ? 'http_200' : 'http_404', outcome === 'live' ? 200 : 404, at, statusAfter]);
  return id;
}

export async function addTrace(store: SqlStore, reportId: string, at: Date, hosting: { country: string; asn: number; org: string; viaCdn?: boolean }): Promise<void> {
  await store.sql.query(`INSERT INTO traces (id, report_id, created_at, ip, country, asn, org, via_cdn) VALUES ($1, $2, $3, '127.0.0.2', $4, $5, $6, $7)`,
    [`trc-${randomUUID()}`, reportId, at, hosting.country, hosting.asn, hosting.org, hosting.viaCdn ?? false]);
}

export interface SeedNotice {
  recipient: string;
  kind?: 'initial' | 'realert' | 'escalation' | 'taskforce_alert' | 'removal_confirmed';
  createdAt: Date;
  sentAt?: Date | null;
  ackedAt?: Date | null;
  status?: 'pending' | 'sent' | 'failed';
  sequence?: number;
}

export async function addNotice(store: SqlStore, reportId: string, n: SeedNotice): Promise<string> {
  const id = randomUUID();
  const status = n.status ?? (n.sentAt ? 'sent' : 'pending');
  await store.sql.query(`INSERT INTO notices (id, report_id, recipient_id, kind, sequence, status, event_key, created_at, sent_at, attempts, channel, acked_at, ack_status)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'webhook', $11, $12)`, [
    id, reportId, n.recipient, n.kind ?? 'initial', n.sequence ?? 1, status, `seed:${id}`, n.createdAt, n.sentAt ?? null,
    n.sentAt ? 1 : 0, n.ackedAt ?? null, n.ackedAt ? 'actioned' : null,
  ]);
  return id;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
