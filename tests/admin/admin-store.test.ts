/**
 * The operator pages' reads (core/admin-reads.ts) against PostgreSQL and embedded PostgreSQL
 * alike: the overview's counts and lists, time-to-removal percentiles (checked against core's
 * `percentile`, the definition `percentile_cont` uses), network scorecards, the filtered list
 * with keyset pages, a report's timeline, and admin sessions (ending at logout, expiry, or when
 * the key is revoked).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../../core/removal-stats.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestDatabase } from '../support/test-env.js';
import { addCheck, addNotice, addTrace, DAY, HOUR, resetSeedCache, seedReports, type SeedReport } from './support.js';

const NOW = new Date('2030-06-15T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const hex = (c: string) => c.repeat(64);

/** The fixture; letters name reports in the assertions. */
const FIXTURE: Record<string, SeedReport> = {
  A: { url: 'https://a.fleet.test/x', status: 'live', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: ago(2 * DAY), createdAt: ago(2 * DAY) },
  B: { url: 'https://b.fleet.test/x', status: 'notified', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: ago(3 * DAY), createdAt: ago(3 * DAY), nextRealertAt: ago(HOUR) },
  C: { url: 'https://c.fleet.test/x', status: 'notified', country: 'DE', asn: 64501, org: 'Beispiel', viaCdn: true, firstSeenLiveAt: ago(4 * DAY), createdAt: ago(4 * DAY), nextRealertAt: new Date(NOW.getTime() + 5 * HOUR) },
  D: { url: 'https://d.fleet.test/x', status: 'live', routingFlag: 'unknown_country', firstSeenLiveAt: ago(DAY), createdAt: ago(DAY) },
  E: { url: 'https://e.fleet.test/x', status: 'removed', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: ago(10 * DAY), removedAt: ago(10 * DAY - 2 * HOUR), createdAt: ago(10 * DAY) },
  F: { url: 'https://f.fleet.test/x', status: 'removed', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: ago(9 * DAY), removedAt: ago(9 * DAY - 6 * HOUR), createdAt: ago(9 * DAY) },
  G: { url: 'https://g.fleet.test/x', status: 'removed', country: 'DE', asn: 64501, org: 'Beispiel', firstSeenLiveAt: ago(5 * DAY), removedAt: ago(4 * DAY), createdAt: ago(5 * DAY) },
  H: { url: 'https://h.fleet.test/x', status: 'removed', country: 'FR', asn: 64502, org: 'Exemple FR', firstSeenLiveAt: ago(2 * DAY + HOUR), removedAt: ago(DAY + HOUR), createdAt: ago(2 * DAY + HOUR) },
  I: { url: 'https://i.fleet.test/x', status: 'removed', country: 'NL', asn: 64500, org: 'Example NL', firstSeenLiveAt: ago(200 * DAY), removedAt: ago(199 * DAY), createdAt: ago(200 * DAY) },
  J: { url: 'https://j.fleet.test/x', status: 'pending', createdAt: ago(30 * 60_000) },
  K: { url: 'https://k.fleet.test/x', status: 'rejected', createdAt: ago(40 * 60_000) },
};

const kinds = [
  ['PostgreSQL', 'postgres'],
  ['embedded PostgreSQL', 'embedded'],
] as const;

describe.each(kinds)('admin reads on %s', (_name, kind) => {
  let store: SqlStore;
  let cleanup: () => Promise<void>;
  const id: Record<string, string> = {};

  beforeAll(async () => {
    resetSeedCache();
    if (kind === 'postgres') {
      const db = await createTestDatabase();
      store = await openStore({ databaseUrl: db.url, dataDir: os.tmpdir() });
      cleanup = async () => { await store.close(); await db.drop(); };
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-admin-store-'));
      store = await openStore({ databaseUrl: null, dataDir: dir });
      cleanup = async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); };
    }
    const letters = Object.keys(FIXTURE);
    const ids = await seedReports(store, letters.map((l) => FIXTURE[l] as SeedReport), ago(DAY));
    letters.forEach((l, i) => { id[l] = ids[i] as string; });
    // alerts: E and F to hotline-nl (1 h and 2 h after first seen), G to le-star at once, H only after removal
    await addNotice(store, id.E as string, { recipient: 'hotline-nl', createdAt: ago(10 * DAY - HOUR), sentAt: ago(10 * DAY - HOUR) });
    await addNotice(store, id.F as string, { recipient: 'hotline-nl', createdAt: ago(9 * DAY - 2 * HOUR), sentAt: ago(9 * DAY - 2 * HOUR) });
    await addNotice(store, id.F as string, { recipient: 'hotline-nl', kind: 'realert', sequence: 2, createdAt: ago(9 * DAY - 3 * HOUR), sentAt: ago(9 * DAY - 3 * HOUR) });
    await addNotice(store, id.G as string, { recipient: 'le-star', createdAt: ago(5 * DAY), sentAt: ago(5 * DAY) });
    await addNotice(store, id.H as string, { recipient: 'le-star', createdAt: ago(HOUR), sentAt: ago(HOUR) });
    await addNotice(store, id.E as string, { recipient: 'le-star', kind: 'removal_confirmed', createdAt: ago(9 * DAY), sentAt: ago(9 * DAY) });
  }, 60_000);

  afterAll(async () => { await cleanup?.(); });

  it('counts reports by status', async () => {
    expect(await store.countReportsByStatus()).toEqual({ live: 2, notified: 2, removed: 5, pending: 1, rejected: 1 });
  });

  it('builds the overview: open cases by country, overdue re-alerts, flags, CDN, recent removals', async () => {
    const o = await store.adminOverview(NOW, 3);
    expect(o.byStatus).toEqual({ live: 2, notified: 2, removed: 5, pending: 1, rejected: 1 });
    expect(o.openByCountry).toEqual([
      { country: 'NL', live: 1, notified: 1 },
      { country: null, live: 1, notified: 0 },
      { country: 'DE', live: 0, notified: 1 },
    ]);
    expect(o.overdueRealerts.count).toBe(1);
    expect(o.overdueRealerts.items.map((r) => r.id)).toEqual([id.B]);
    expect(o.overdueRealerts.items[0]).toMatchObject({ url: FIXTURE.B?.url, status: 'notified', country: 'NL', asn: 64500, org: 'Example NL', nextRealertAt: ago(HOUR) });
    expect(o.routingFlagged).toMatchObject({ count: 1, items: [{ id: id.D, routingFlag: 'unknown_country', country: null }] });
    expect(o.cdnFronted).toMatchObject({ count: 1, items: [{ id: id.C, viaCdn: true }] });
    // removals in the last 7 days: G and H; the list is the newest removals, at most 3
    expect(o.recentRemovals.count).toBe(2);
    expect(o.recentRemovals.items.map((r) => r.id)).toEqual([id.H, id.G, id.F]);
  });

  const removalSeconds = (letters: string[]) => letters.map((l) => {
    const r = FIXTURE[l] as SeedReport;
    return ((r.removedAt as Date).getTime() - (r.firstSeenLiveAt as Date).getTime()) / 1000;
  });
  const window = { since: ago(90 * DAY), until: NOW };

  it('computes time to removal per country as core does (median, p90), inside the window only', async () => {
    const stats = await store.removalStats({ by: 'country', ...window });
    const nl = removalSeconds(['E', 'F']);
    expect(stats.map((s) => s.key)).toEqual(['NL', 'DE', 'FR']);
    expect(stats[0]).toMatchObject({ key: 'NL', count: 2 });
    expect(stats[0]?.medianSeconds).toBeCloseTo(percentile(nl, 0.5) as number, 3);
    expect(stats[0]?.p90Seconds).toBeCloseTo(percentile(nl, 0.9) as number, 3);
    expect(stats[1]).toMatchObject({ key: 'DE', count: 1, medianSeconds: DAY / 1000, p90Seconds: DAY / 1000 });
    // a wider window takes in I as well
    const year = await store.removalStats({ by: 'country', since: ago(365 * DAY), until: NOW });
    expect(year.find((s) => s.key === 'NL')?.count).toBe(3);
  });

  it('per network, with the network name; per week; per recipient from the first alert', async () => {
    const byAsn = await store.removalStats({ by: 'asn', ...window });
    expect(byAsn.map((s) => [s.key, s.label, s.count])).toEqual([['64500', 'Example NL', 2], ['64501', 'Beispiel', 1], ['64502', 'Exemple FR', 1]]);

    const byWeek = await store.removalStats({ by: 'week', ...window });
    const weekOf = (d: Date) => {
      const day = (d.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString().slice(0, 10);
    };
    const expected = new Map<string, string[]>();
    for (const l of ['E', 'F', 'G', 'H']) {
      const k = weekOf((FIXTURE[l] as SeedReport).removedAt as Date);
      expected.set(k, [...(expected.get(k) ?? []), l]);
    }
    expect(byWeek.map((s) => s.key)).toEqual([...expected.keys()].sort());
    for (const s of byWeek) {
      const letters = expected.get(s.key as string) as string[];
      expect(s.count).toBe(letters.length);
      expect(s.medianSeconds).toBeCloseTo(percentile(removalSeconds(letters), 0.5) as number, 3);
    }

    const byRecipient = await store.removalStats({ by: 'recipient', ...window });
    // hotline-nl: E 1 h after its alert, F 4 h after its first alert (the re-alert does not count)
    expect(byRecipient).toEqual([
      { key: 'hotline-nl', label: null, count: 2, medianSeconds: 2.5 * 3600, p90Seconds: percentile([3600, 4 * 3600], 0.9) },
      { key: 'le-star', label: null, count: 1, medianSeconds: DAY / 1000, p90Seconds: DAY / 1000 },
    ]);
  });

  it('scores networks: open cases, oldest open, removals and their times, paginated', async () => {
    const all = await store.networkScorecards({ ...window, limit: 10, offset: 0 });
    expect(all.total).toBe(3);
    expect(all.rows.map((r) => [r.asn, r.org, r.open, r.removed])).toEqual([
      [64500, 'Example NL', 2, 2], [64501, 'Beispiel', 1, 1], [64502, 'Exemple FR', 0, 1],
    ]);
    expect(all.rows[0]?.oldestOpenSince).toEqual(ago(3 * DAY));
    expect(all.rows[0]?.medianSeconds).toBeCloseTo(percentile(removalSeconds(['E', 'F']), 0.5) as number, 3);
    const second = await store.networkScorecards({ ...window, limit: 2, offset: 2 });
    expect(second).toMatchObject({ total: 3, rows: [{ asn: 64502, open: 0, oldestOpenSince: null }] });
  });

  it('lists reports by filter, newest first, in keyset pages', async () => {
    const ids = async (filter: Parameters<SqlStore['listAdminReports']>[0]) => (await store.listAdminReports(filter, { after: null, limit: 50 })).items.map((r) => r.id);
    expect(await ids({ asn: 64500 })).toEqual([id.A, id.B, id.F, id.E, id.I]);
    expect(await ids({ country: 'DE' })).toEqual([id.C, id.G]);
    expect(await ids({ status: 'removed', country: 'NL' })).toEqual([id.F, id.E, id.I]);
    expect(await ids({ flag: 'overdue', now: NOW })).toEqual([id.B]);
    expect(await ids({ flag: 'routing' })).toEqual([id.D]);
    expect(await ids({ flag: 'cdn' })).toEqual([id.C]);

    const seen: string[] = [];
    let after = null;
    for (let i = 0; i < 10; i++) {
      const page: Awaited<ReturnType<SqlStore['listAdminReports']>> = await store.listAdminReports({}, { after, limit: 4 });
      seen.push(...page.items.map((r) => r.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toHaveLength(Object.keys(FIXTURE).length);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('gives a report\'s whole timeline in time order: checks, traces, notices with acks, audit', async () => {
    const a = id.A as string;
    await addCheck(store, a, ago(2 * DAY), 'live', 'live');
    await addTrace(store, a, ago(2 * DAY - 1000), { country: 'NL', asn: 64500, org: 'Example NL' });
    await addCheck(store, a, ago(DAY), 'gone', 'live');
    await addNotice(store, a, { recipient: 'hotline-nl', createdAt: ago(DAY), sentAt: ago(DAY - 60_000), ackedAt: ago(DAY - 120_000) });
    await store.appendAudit({ actor: 'key:test', action: 'report.read', subjectType: 'report', subjectId: a, at: NOW });
    const t = await store.getReportTimeline(a);
    expect(t).toMatchObject({ id: a, url: FIXTURE.A?.url, status: 'live', country: 'NL', asn: 64500, forces: ['admin-seed'] });
    expect(t?.checks.map((c) => c.outcome)).toEqual(['live', 'gone']);
    expect(t?.traces).toMatchObject([{ country: 'NL', asn: 64500, ip: '127.0.0.2' }]);
    expect(t?.notices).toMatchObject([{ recipient: 'hotline-nl', kind: 'initial', status: 'sent', ackStatus: 'actioned', ackedAt: ago(DAY - 120_000) }]);
    expect(t?.audit).toMatchObject([{ actor: 'key:test', action: 'report.read' }]);
    expect(await store.getReportTimeline('not-a-uuid')).toBeNull();
    expect(await store.getReportTimeline('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('keeps admin sessions: found while valid, gone after logout, expiry, or revoking the key', async () => {
    await store.createApiKey({ id: 'k-analyst', role: 'analyst', forceId: null, recipientId: null, label: null, tokenHash: hex('a'), expiresAt: null });
    const session = (c: string, keyId: string | null, expiresAt = new Date(NOW.getTime() + HOUR)) =>
      ({ idHash: hex(c), role: 'analyst' as const, actor: keyId ? `key:${keyId}` : 'admin-token', keyId, createdAt: NOW, expiresAt });
    await store.createAdminSession(session('1', 'k-analyst'));
    await store.createAdminSession(session('2', null));
    await store.createAdminSession(session('3', null, new Date(NOW.getTime() + 1000)));
    expect(await store.findAdminSession(hex('1'), NOW)).toMatchObject({ role: 'analyst', actor: 'key:k-analyst', keyId: 'k-analyst' });
    expect(await store.findAdminSession(hex('3'), new Date(NOW.getTime() + 1000))).toBeNull();
    expect(await store.findAdminSession(hex('9'), NOW)).toBeNull();
    expect(await store.findAdminSession('not-hex', NOW)).toBeNull();

    await store.revokeApiKey('k-analyst', NOW);
    expect(await store.findAdminSession(hex('1'), NOW)).toBeNull();

    expect(await store.findAdminSession(hex('2'), NOW)).not.toBeNull();
    await store.endAdminSession(hex('2'), NOW);
    expect(await store.findAdminSession(hex('2'), NOW)).toBeNull();
  });
});
