/**
 * Store conformance for the notice outbox (issue 6): notices written with their state change in
 * one transaction and once per event key; due decisions and due notices leased with SKIP LOCKED;
 * a sender's claim (its lease, its row lock, its expiry), batching (who is gathered, SKIP LOCKED,
 * concurrent senders), recording attempts with endpoint statistics and the 410 flag;
 * acknowledgements; shared secrets. Run by store-conformance.ts against PostgreSQL and embedded.
 */
import { beforeEach, expect, it } from 'vitest';
import type { NewNotice } from '../../core/notice-kinds.js';
import type { NoticeToSend } from '../../core/notice-outbox.js';
import { insertNotices } from '../../store/notice-queries.js';
import type { SqlStore } from '../../store/sql-store.js';
import { recordingStore } from './trace-conformance.js';
import { whileHeld as heldWhile } from './while-held.js';

export interface OutboxHarness {
  store: SqlStore;
  other: SqlStore;
  newReport(now?: Date): Promise<{ forceId: string; reportId: string; url: string }>;
  unique(prefix: string): string;
  at(seconds: number): Date;
  parked: Date;
}

export function runOutboxConformance(h: () => OutboxHarness, options: { twoConnections: boolean }): void {
  /** tests that hold one connection's transaction open while another waits: PostgreSQL only */
  const itTwoConnections = options.twoConnections ? it : (): void => {};
  const notice = (reportId: string, recipientId: string, over: Partial<NewNotice> = {}): NewNotice => ({
    kind: 'initial', target: 'recipient', recipientId, reportId, submissionId: null, sequence: 1, episode: 1,
    eventKey: `initial:${reportId}:1:${recipientId}`,
    reason: { rule: 'country_hotline', country: 'NL', ip: '127.0.0.2', traceId: null, databases: [] }, ...over,
  });

  /** A report confirmed illegal and seen live, as the lifecycle leaves it. */
  async function liveIllegalReport(): Promise<{ forceId: string; reportId: string; url: string }> {
    const { store, newReport, at } = h();
    const r = await newReport(at(0));
    await store.sql.query(`UPDATE reports SET status = 'live', verdict = 'illegal', verdict_source = 'analyst', hosting_ip = '127.0.0.2',
      hosting_country = 'NL', hosting_asn = 64496, hosting_org = 'Fleet NL', hosting_via_cdn = false, first_seen_live_at = $2, last_seen_live_at = $2,
      last_checked_at = $2 WHERE id = $1`, [r.reportId, at(10)]);
    return r;
  }

  /** A live illegal report with a pending initial to hotline-nl and task-force alert to tf-nl, written at 100 s. */
  async function alertedReport(): Promise<{ reportId: string; initial: string; taskforce: string }> {
    const { reportId } = await liveIllegalReport();
    const { created } = await h().store.applyNotification({
      reportId,
      notices: [notice(reportId, 'hotline-nl'), notice(reportId, 'tf-nl', { kind: 'taskforce_alert', eventKey: `tf:${reportId}` })],
      now: h().at(100),
    });
    const [initial, taskforce] = created.map((c) => c.id) as [string, string];
    return { reportId, initial, taskforce };
  }

  async function sendable(id: string, now: Date, window = 0): Promise<NoticeToSend> {
    const claimed = await h().store.beginNoticeSend(id, now, 60_000, window);
    if (typeof claimed === 'string') throw new Error(`expected to claim ${id}, got ${claimed}`);
    return claimed;
  }

  const whileHeld = <T>(hold: (tx: SqlStore) => Promise<unknown>, contend: () => Promise<T>, waits = true): Promise<T> =>
    heldWhile(h(), hold, contend, waits);

  /** One pending initial notice per new report, to `recipientId`, written at the given seconds. */
  async function pendingNotices(recipientId: string, seconds: number[]): Promise<{ ids: string[]; reportIds: string[] }> {
    const { store, at } = h();
    const ids: string[] = [];
    const reportIds: string[] = [];
    for (const s of seconds) {
      const { reportId } = await liveIllegalReport();
      const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, recipientId)], now: at(s) });
      ids.push(created[0]?.id as string);
      reportIds.push(reportId);
    }
    return { ids, reportIds };
  }

  beforeEach(async () => {
    const { store, parked } = h();
    await store.claimDueNotices(parked, 1_000_000, 0, 0);
    await store.claimDueNoticeDecisions(parked, 1_000_000, 0);
  });

  it('writes notices with the state change in one transaction, once per event key', async () => {
    const { store, other, at } = h();
    const { reportId } = await liveIllegalReport();
    const first = await store.applyNotification({
      reportId, notices: [notice(reportId, 'hotline-nl'), notice(reportId, 'tf-nl', { kind: 'taskforce_alert', eventKey: `tf:${reportId}` })],
      nextRealertAt: at(86_400), flag: 'unknown_country', now: at(20),
    });
    expect(first.created.map((c) => [c.kind, c.recipientId])).toEqual([['initial', 'hotline-nl'], ['taskforce_alert', 'tf-nl']]);
    // planned again (a retried job, a racing planner): nothing new, the first id stands
    const again = await other.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(30) });
    expect(again.created).toEqual([]);
    const ctx = await store.getNoticeContext(reportId);
    expect(ctx).toMatchObject({
      reportId, status: 'live', verdict: 'illegal', hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Fleet NL', viaCdn: false },
      holdUntil: null, lastCheckedAt: at(10), nextRealertAt: at(86_400), episode: 1, forcesWithWebhook: [],
    });
    expect(ctx?.history.map((n) => [n.kind, n.recipientId, n.createdAt])).toEqual([['initial', 'hotline-nl', at(20)], ['taskforce_alert', 'tf-nl', at(20)]]);
    const { rows } = await store.sql.query<{ id: string; routing_flag: string }>(
      'SELECT n.id, r.routing_flag FROM notices n JOIN reports r ON r.id = n.report_id WHERE n.event_key = $1', [`initial:${reportId}:1:hotline-nl`]);
    expect(rows).toEqual([{ id: first.created[0]?.id, routing_flag: 'unknown_country' }]);
  });

  it('rolls the status change back with a notice that cannot be written', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const bad = notice(reportId, 'x', { kind: 'no_such_kind' as NewNotice['kind'] });
    await expect(store.applyNotification({
      reportId, newStatus: { to: 'notified', from: ['live'] }, notices: [notice(reportId, 'hotline-nl'), bad], nextRealertAt: at(99), now: at(20),
    })).rejects.toThrow();
    const ctx = await store.getNoticeContext(reportId);
    expect(ctx).toMatchObject({ status: 'live', nextRealertAt: null, history: [] });
    // a status change applies only from the statuses named
    await store.applyNotification({ reportId, newStatus: { to: 'notified', from: ['removed'] }, notices: [], now: at(21) });
    expect((await store.getNoticeContext(reportId))?.status).toBe('live');
    await store.applyNotification({ reportId, newStatus: { to: 'notified', from: ['live'] }, notices: [], now: at(22) });
    expect((await store.getNoticeContext(reportId))?.status).toBe('notified');
  });

  it('knows the forces with webhooks, the latest check and the episode', async () => {
    const { store, at, unique } = h();
    const { reportId, forceId } = await liveIllegalReport();
    await store.sql.query(`UPDATE forces SET webhook_url = 'http://127.0.0.1:1/hook', webhook_secret = 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0' WHERE id = $1`, [forceId]);
    await store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, started_at, duration_ms, status_after) VALUES
      ($1, $3, 'live', 'http_200', $4, 5, 'live'), ($2, $3, 'gone', 'http_404', $5, 5, 'live')`, [unique('c'), unique('c'), reportId, at(10), at(20)]);
    await store.sql.query('UPDATE reports SET reopen_count = 2 WHERE id = $1', [reportId]);
    expect(await store.getNoticeContext(reportId)).toMatchObject({ forcesWithWebhook: [forceId], lastOutcome: 'gone', episode: 3 });
    expect(await store.getNoticeContext('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await store.getNoticeContext('not-a-uuid')).toBeNull();
  });

  it("reads the hosting network's abuse desks from the latest located trace, and sends to one as target hosting_provider", async () => {
    const { store, at, unique } = h();
    const { reportId } = await liveIllegalReport();
    const contacts = [
      { source: 'ip', role: 'abuse', email: 'Abuse@Net-NL.example.test' },
      { source: 'domain', role: 'registrar_abuse', email: 'abuse@registrar.example.test' },
      { source: 'ip', role: 'abuse', email: 'Desk <x@net-nl.example.test>' },
    ];
    const traceId = unique('trace');
    await store.sql.query(`INSERT INTO traces (id, report_id, created_at, ip, country, provenance) VALUES ($1, $2, $3, '127.0.0.2', 'NL', $4)`,
      [traceId, reportId, at(15), JSON.stringify({ contacts, databases: [] })]);
    const ctx = await store.getNoticeContext(reportId);
    expect(ctx?.trace).toEqual({ id: traceId, databases: [], abuseEmails: ['abuse@net-nl.example.test'] });

    const desk = 'abuse@net-nl.example.test';
    const { created } = await store.applyNotification({
      reportId, notices: [notice(reportId, desk, { target: 'hosting_provider', reason: { rule: 'hosting_provider', country: 'NL', ip: '127.0.0.2', traceId, databases: [] } })], now: at(20),
    });
    expect(created.map((c) => [c.kind, c.recipientId])).toEqual([['initial', desk]]);
    expect((await store.getNoticeContext(reportId))?.history.map((n) => [n.target, n.recipientId])).toEqual([['hosting_provider', desk]]);
    const claimed = await sendable(created[0]!.id, at(21));
    expect(claimed).toMatchObject({ target: 'hosting_provider', recipientId: desk, force: null, disabledUrl: null });
    await store.recordNoticeDelivery({ noticeId: claimed.id, now: at(22), channel: 'email', outcome: 'sent' });
    const stats = (await store.listEndpointStats()).find((e) => e.target === 'hosting_provider' && e.id === desk);
    expect(stats).toMatchObject({ delivered: 1, failedAttempts: 0, lastSuccessAt: at(22) });
    // an abuse desk has no recipient key: a recipient key never acknowledges its notice
    expect(await store.ackNotice({ noticeId: claimed.id, recipientId: desk, status: 'received', actor: `key:${desk}`, now: at(23) })).toBeNull();
  });

  it('decides in two statements: the context in one, the notification in one, none when there is nothing to write', async () => {
    const { at } = h();
    const { reportId } = await liveIllegalReport();
    const { store, trips } = recordingStore(h().store);
    expect(await store.getNoticeContext(reportId)).toMatchObject({ reportId, history: [], trace: null, forcesWithWebhook: [] });
    expect(trips).toEqual(['SELECT r.id,']);
    const { created } = await store.applyNotification({
      reportId, newStatus: { to: 'notified', from: ['live'] }, notices: [notice(reportId, 'hotline-nl')], nextRealertAt: at(99), flag: 'unrouted', now: at(20),
    });
    expect(created).toHaveLength(1);
    expect(await store.applyNotification({ reportId, notices: [], now: at(21) })).toEqual({ created: [] });
    expect(trips).toEqual(['SELECT r.id,', 'WITH report']);
    expect(await store.getNoticeContext(reportId)).toMatchObject({ status: 'notified', nextRealertAt: at(99), history: [{ kind: 'initial', createdAt: at(20) }] });
  });

  it('returns the notices created in the order given, skipping a key written before or repeated', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const n = (recipient: string) => notice(reportId, recipient, { kind: 'taskforce_alert', eventKey: `tf:${reportId}:${recipient}` });
    await store.applyNotification({ reportId, notices: [n('b')], now: at(20) });
    const { created } = await store.applyNotification({ reportId, notices: [n('d'), n('b'), n('a'), n('d'), n('c')], now: at(30) });
    expect(created.map((c) => [c.recipientId, c.eventKey])).toEqual([['d', `tf:${reportId}:d`], ['a', `tf:${reportId}:a`], ['c', `tf:${reportId}:c`]]);
    expect(new Set(created.map((c) => c.id)).size).toBe(3);
    // history: by time, then event key
    expect((await store.getNoticeContext(reportId))?.history.map((e) => [e.recipientId, e.createdAt])).toEqual([
      ['b', at(20)], ['a', at(30)], ['c', at(30)], ['d', at(30)],
    ]);
  });

  it('changes the decision time and flag whether or not the status change applies, and the status version only when it does', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const row = async () => (await store.sql.query<{ status: string; state_version: number; next_realert_at: Date | null; routing_flag: string | null }>(
      'SELECT status, state_version, next_realert_at, routing_flag FROM reports WHERE id = $1', [reportId])).rows[0];
    const before = await row();
    await store.applyNotification({ reportId, newStatus: { to: 'notified', from: ['removed'] }, notices: [], nextRealertAt: at(50), flag: 'unrouted', now: at(20) });
    expect(await row()).toEqual({ ...before, next_realert_at: at(50), routing_flag: 'unrouted' });
    await store.applyNotification({ reportId, newStatus: { to: 'notified', from: ['live'] }, notices: [], now: at(21) });
    expect(await row()).toEqual({ ...before, status: 'notified', state_version: Number(before?.state_version) + 1, next_realert_at: at(50), routing_flag: 'unrouted' });
    await store.applyNotification({ reportId, notices: [], nextRealertAt: null, flag: null, now: at(22) });
    expect(await row()).toMatchObject({ status: 'notified', next_realert_at: null, routing_flag: null });
  });

  it('carries the latest located trace with its databases', async () => {
    const { store, at, unique } = h();
    const { reportId } = await liveIllegalReport();
    const located = unique('trace');
    const databases = [{ role: 'country', databaseType: 'Test-Country', buildEpoch: '2031-01-01T00:00:00.000Z' }, { role: 'asn', type: 'Test-ASN', build: '7' }];
    await store.sql.query(`INSERT INTO traces (id, report_id, created_at, ip, country, provenance) VALUES
      ($1, $3, $4, '127.0.0.2', 'NL', $6::jsonb), ($2, $3, $5, NULL, NULL, '{}'::jsonb)`, [located, unique('trace'), reportId, at(5), at(8), JSON.stringify({ databases })]);
    expect((await store.getNoticeContext(reportId))?.trace).toEqual({
      id: located, databases: [{ role: 'country', type: 'Test-Country', build: '2031-01-01T00:00:00.000Z' }, { role: 'asn', type: 'Test-ASN', build: '7' }],
      abuseEmails: [],
    });
  });

  it('writes each notice once when two deciders race, and none when the surrounding transaction rolls back', async () => {
    const { store, other, at } = h();
    const { reportId } = await liveIllegalReport();
    const planned = [notice(reportId, 'hotline-nl'), notice(reportId, 'tf-nl', { kind: 'taskforce_alert', eventKey: `tf:${reportId}` })];
    const [x, y] = await Promise.all([
      store.applyNotification({ reportId, notices: planned, nextRealertAt: at(99), now: at(20) }),
      other.applyNotification({ reportId, notices: planned, nextRealertAt: at(99), now: at(20) }),
    ]);
    expect([...x.created, ...y.created].map((c) => c.recipientId).sort()).toEqual(['hotline-nl', 'tf-nl']);
    const late = notice(reportId, 'le-star', { eventKey: `initial:${reportId}:1:le-star` });
    await expect(store.sql.transaction(async (tx) => {
      expect(await insertNotices(tx, [late], at(30))).toHaveLength(1);
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect((await store.getNoticeContext(reportId))?.history.map((e) => e.recipientId)).toEqual(['hotline-nl', 'tf-nl']);
  });

  it('leases due notice decisions to one claimer until the planner sets the next time', async () => {
    const { store, other, at } = h();
    const a = await liveIllegalReport();
    const b = await liveIllegalReport();
    await store.applyNotification({ reportId: a.reportId, notices: [], nextRealertAt: at(100), now: at(0) });
    await store.applyNotification({ reportId: b.reportId, notices: [], nextRealertAt: at(200), now: at(0) });
    const [x, y] = await Promise.all([store.claimDueNoticeDecisions(at(150), 10, 60_000), other.claimDueNoticeDecisions(at(150), 10, 60_000)]);
    expect([...(x ?? []), ...(y ?? [])]).toEqual([a.reportId]);
    expect(await store.claimDueNoticeDecisions(at(209), 10, 60_000)).toEqual([b.reportId]);
    expect(await store.claimDueNoticeDecisions(at(210), 10, 60_000)).toEqual([a.reportId]);
  });

  it('leases due notices once, counting leases; a first attempt waits out the batch window', async () => {
    const { store, other, at } = h();
    const { reportId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(100) });
    const id = created[0]?.id as string;
    expect(await store.claimDueNotices(at(99), 10, 60_000, 0)).toEqual([]);
    expect(await store.claimDueNotices(at(100), 10, 60_000, 30_000)).toEqual([]);
    const [x, y] = await Promise.all([store.claimDueNotices(at(130), 10, 60_000, 30_000), other.claimDueNotices(at(130), 10, 60_000, 30_000)]);
    expect([...x, ...y]).toEqual([{ noticeId: id, dispatches: 1 }]);
    expect(await store.claimDueNotices(at(189), 10, 60_000, 0)).toEqual([]);
    // the lease ran out (its job was lost): due again, under the next lease number
    expect(await store.claimDueNotices(at(190), 10, 60_000, 0)).toEqual([{ noticeId: id, dispatches: 2 }]);
  });

  it('lets one sender at a time claim a notice; a retry waits for its back-off; a sent one is done', async () => {
    const { store, other, at } = h();
    const { reportId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(100) });
    const id = created[0]?.id as string;
    const claims = await Promise.all([store.beginNoticeSend(id, at(101), 60_000, 0), other.beginNoticeSend(id, at(101), 60_000, 0)]);
    expect(claims.filter((c) => typeof c !== 'string')).toHaveLength(1);
    expect(claims.filter((c) => c === 'leased')).toHaveLength(1);
    const claimed = claims.find((c) => typeof c !== 'string') as NoticeToSend;
    expect(claimed).toMatchObject({
      id, kind: 'initial', target: 'recipient', recipientId: 'hotline-nl', sequence: 1, attempts: 0, memberIds: [id], submission: null, force: null, disabledUrl: null,
      reports: [{ id: reportId, status: 'live', hosting: { ip: '127.0.0.2', country: 'NL' }, firstSeenLiveAt: at(10), removedAt: null }],
    });
    // the dispatcher stays away while the sender holds it
    expect(await store.claimDueNotices(at(150), 10, 60_000, 0)).toEqual([]);

    await store.recordNoticeDelivery({ noticeId: id, now: at(102), channel: 'webhook', outcome: 'retry', notBefore: at(400), error: 'http_503', httpStatus: 503 });
    expect(await store.beginNoticeSend(id, at(399), 60_000, 0)).toBe('not_yet');
    expect(await store.claimDueNotices(at(399), 10, 60_000, 0)).toEqual([]);
    expect(await store.claimDueNotices(at(400), 10, 60_000, 0)).toEqual([{ noticeId: id, dispatches: 1 }]);
    const second = await sendable(id, at(400));
    expect(second.attempts).toBe(1);
    await store.recordNoticeDelivery({ noticeId: id, now: at(401), channel: 'webhook', outcome: 'sent', httpStatus: 200 });
    // a duplicate record (a job retried after a crash) counts once
    await store.recordNoticeDelivery({ noticeId: id, now: at(402), channel: 'webhook', outcome: 'sent', httpStatus: 200 });
    expect(await store.beginNoticeSend(id, at(500), 60_000, 0)).toBe('not_pending');
    expect(await store.beginNoticeSend('no-such-notice', at(500), 60_000, 0)).toBe('missing');

    const { rows } = await store.sql.query('SELECT status, attempts, sent_at, channel, last_status, last_error FROM notices WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'sent', attempts: 2, sent_at: at(401), channel: 'webhook', last_status: 200, last_error: null }]);
    // an initial notice out: the report is `notified` (someone was told)
    expect((await store.getNoticeContext(reportId))?.status).toBe('notified');
    const stats = (await store.listEndpointStats()).find((e) => e.target === 'recipient' && e.id === 'hotline-nl');
    expect(stats).toMatchObject({ delivered: expect.any(Number), lastSuccessAt: expect.any(Date) });
    expect(stats?.failedAttempts).toBeGreaterThanOrEqual(1);
  });

  it('leases a claim to its sender until the lease runs out; then the next sender gets it under the same id', async () => {
    const { store, other, at, unique } = h();
    const { ids: [id] } = await pendingNotices(unique('lease'), [100]);
    expect((await sendable(id as string, at(101))).attempts).toBe(0);
    // the first sender died without recording: its 60 s lease still keeps every other sender away
    expect(await other.beginNoticeSend(id as string, new Date(at(161).getTime() - 1), 60_000, 0)).toBe('leased');
    expect(await other.beginNoticeSend(id as string, at(161), 60_000, 0)).toMatchObject({ id, attempts: 0, memberIds: [id] });
    expect(await store.beginNoticeSend(id as string, at(162), 60_000, 0)).toBe('leased');
  });

  itTwoConnections('makes a second sender wait for the first one\'s claim and its record, then stand back', async () => {
    const { store, at, unique } = h();
    const { ids: [id] } = await pendingNotices(unique('waiter'), [100]);
    const claim = (tx: SqlStore, now: Date) => tx.beginNoticeSend(id as string, now, 60_000, 0);
    // the waiter re-reads the locked row once the first sender commits: it sees the lease
    expect(await whileHeld((tx) => claim(tx, at(101)), () => claim(store, at(101)), true)).toBe('leased');
    // …and, after the lease ran out, the record of the attempt
    const sent = (tx: SqlStore) => tx.recordNoticeDelivery({ noticeId: id as string, now: at(102), channel: 'email', outcome: 'sent' });
    expect(await whileHeld((tx) => claim(tx, at(200)).then(() => sent(tx)), () => claim(store, at(300)), true)).toBe('not_pending');
    expect((await store.sql.query('SELECT status, attempts FROM notices WHERE id = $1', [id])).rows).toEqual([{ status: 'sent', attempts: 1 }]);
  });

  it('holds back a notice whose report came under an evidence hold after it was written', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(100) });
    const id = created[0]?.id as string;
    await store.sql.query('UPDATE reports SET hold_until = $2 WHERE id = $1', [reportId, at(5000)]);
    expect(await store.beginNoticeSend(id, at(101), 60_000, 0)).toBe('held');
    expect((await store.claimDueNotices(at(4999), 100, 60_000, 0)).map((d) => d.noticeId)).not.toContain(id);
    expect(await store.beginNoticeSend(id, at(4999), 60_000, 0)).toBe('not_yet');
    expect((await sendable(id, at(5000))).id).toBe(id);
  });

  it('withdraws an alert whose report was removed, expired or rejected while it waited — at any attempt — and never sends it', async () => {
    const { store, at } = h();
    // a task-force alert (content found live in the country) stands until the content is found not illegal
    for (const status of ['removed', 'expired']) {
      const { reportId, initial, taskforce } = await alertedReport();
      await store.sql.query('UPDATE reports SET status = $2 WHERE id = $1', [reportId, status]);
      expect(await store.beginNoticeSend(initial, at(101), 60_000, 0), status).toBe('withdrawn');
      expect((await sendable(taskforce, at(101))).kind, status).toBe('taskforce_alert');
    }
    for (const status of ['removed', 'expired', 'rejected'] as const) {
      const { reportId, initial, taskforce } = await alertedReport();
      // the initial was tried once (the endpoint was down), the task-force alert not yet
      await sendable(initial, at(101));
      await store.recordNoticeDelivery({ noticeId: initial, now: at(102), channel: 'webhook', outcome: 'retry', notBefore: at(400), error: 'http_503', httpStatus: 503 });
      await store.sql.query('UPDATE reports SET status = $2 WHERE id = $1', [reportId, status]);
      expect(await store.beginNoticeSend(initial, at(400), 60_000, 0), status).toBe('withdrawn');
      if (status === 'rejected') expect(await store.beginNoticeSend(taskforce, at(400), 60_000, 0), status).toBe('withdrawn');
      const { rows } = await store.sql.query<{ id: string; status: string; withdrawn_at: Date | null }>(
        'SELECT id, status, withdrawn_at FROM notices WHERE id = ANY($1::text[]) AND status = $2', [[initial, taskforce], 'withdrawn']);
      expect(rows.map((r) => r.id).sort(), status).toEqual((status === 'rejected' ? [initial, taskforce] : [initial]).sort());
      expect(rows.every((r) => r.withdrawn_at?.getTime() === at(400).getTime()), status).toBe(true);
      // never dispatched again, never told as told
      expect((await store.claimDueNotices(at(10_000), 1_000, 60_000, 0)).map((d) => d.noticeId)).not.toContain(initial);
      expect(await store.beginNoticeSend(initial, at(10_000), 60_000, 0)).toBe('not_pending');
      expect((await store.getNoticeContext(reportId))?.history.map((n) => n.kind), status).toEqual(status === 'rejected' ? [] : ['taskforce_alert']);
    }
  });

  it('sends an alert whose report is still live or notified, and a batch while one of its reports still is', async () => {
    const { store, at, unique } = h();
    const recipient = unique('mixed');
    const { ids, reportIds } = await pendingNotices(recipient, [100, 101]);
    await store.sql.query(`UPDATE reports SET status = 'notified' WHERE id = $1`, [reportIds[0]]);
    const leader = await sendable(ids[0] as string, at(200), 10_000);
    expect(leader.memberIds).toEqual(ids);
    await store.recordNoticeDelivery({ noticeId: leader.id, now: at(201), channel: 'email', outcome: 'retry', notBefore: at(300), error: 'smtp_451' });
    // one report of the batch removed meanwhile: the resend carries both, as first made
    await store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [reportIds[1]]);
    expect((await sendable(leader.id, at(300), 10_000)).memberIds).toEqual(ids);
    await store.recordNoticeDelivery({ noticeId: leader.id, now: at(301), channel: 'email', outcome: 'retry', notBefore: at(400), error: 'smtp_451' });
    // both removed: the batch is withdrawn together
    await store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [reportIds[0]]);
    expect(await store.beginNoticeSend(leader.id, at(400), 60_000, 10_000)).toBe('withdrawn');
    const { rows } = await store.sql.query<{ status: string; batch_id: string | null }>(
      'SELECT status, batch_id FROM notices WHERE id = ANY($1::text[])', [ids]);
    expect(rows).toEqual([{ status: 'withdrawn', batch_id: null }, { status: 'withdrawn', batch_id: null }]);
  });

  it('leaves a removed report\'s alert out of another recipient\'s batch: it is withdrawn on its own', async () => {
    const { store, at, unique } = h();
    const recipient = unique('gather');
    const { ids, reportIds } = await pendingNotices(recipient, [100, 101, 102]);
    await store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [reportIds[1]]);
    const leader = await sendable(ids[0] as string, at(200), 10_000);
    expect(leader.memberIds).toEqual([ids[0], ids[2]]);
    expect(await store.beginNoticeSend(ids[1] as string, at(200), 60_000, 10_000)).toBe('withdrawn');
  });

  it('withdraws a removal notice to a recipient no alert reached, and sends one to a recipient an alert did', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const removal = (recipientId: string): NewNotice => notice(reportId, recipientId, { kind: 'removal_confirmed', eventKey: `removal:${reportId}:1:${recipientId}` });
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl'), notice(reportId, 'le-nl', { kind: 'escalation', eventKey: `esc:${reportId}` })], now: at(100) });
    const [initial] = created.map((c) => c.id) as [string, string];
    await sendable(initial, at(101));
    await store.recordNoticeDelivery({ noticeId: initial, now: at(102), channel: 'webhook', outcome: 'sent', httpStatus: 200 });
    // removed before the escalation went out: le-nl was never told
    await store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [reportId]);
    const removals = await store.applyNotification({ reportId, notices: [removal('hotline-nl'), removal('le-nl')], now: at(200) });
    const [toHotline, toLe] = removals.created.map((c) => c.id) as [string, string];
    expect(await store.beginNoticeSend(toLe, at(201), 60_000, 0)).toBe('withdrawn');
    expect((await sendable(toHotline, at(201))).kind).toBe('removal_confirmed');
  });

  it('counts an alert a sender holds right now as reaching its recipient: the removal notice still goes', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(100) });
    await sendable(created[0]?.id as string, at(101)); // being delivered: its record comes later
    await store.sql.query(`UPDATE reports SET status = 'removed' WHERE id = $1`, [reportId]);
    const removal = notice(reportId, 'hotline-nl', { kind: 'removal_confirmed', eventKey: `removal:${reportId}:1:hotline-nl` });
    const { created: [toHotline] } = await store.applyNotification({ reportId, notices: [removal], now: at(102) });
    expect((await sendable(toHotline?.id as string, at(103))).kind).toBe('removal_confirmed');
  });

  it('turns a withdrawn notice planned again back to pending, under its first id', async () => {
    const { store, at } = h();
    const { reportId } = await liveIllegalReport();
    const { created: [first] } = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(100) });
    // an analyst rejects the content while the initial waits, then finds it illegal after all
    await store.sql.query(`UPDATE reports SET status = 'rejected' WHERE id = $1`, [reportId]);
    expect(await store.beginNoticeSend(first?.id as string, at(101), 60_000, 0)).toBe('withdrawn');
    await store.sql.query(`UPDATE reports SET status = 'live' WHERE id = $1`, [reportId]);
    const again = await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(200) });
    expect(again.created.map((c) => c.id)).toEqual([first?.id]);
    expect((await store.getNoticeContext(reportId))?.history.map((n) => n.kind)).toEqual(['initial']);
    const claimed = await sendable(first?.id as string, at(201));
    expect(claimed.reports.map((r) => r.id)).toEqual([reportId]);
    // planned a third time while pending: nothing new
    expect((await store.applyNotification({ reportId, notices: [notice(reportId, 'hotline-nl')], now: at(202) })).created).toEqual([]);
  });

  it('batches notices of one recipient within the window, fixed at the first attempt', async () => {
    const { store, at, unique } = h();
    const recipient = unique('batched');
    const reports = [await liveIllegalReport(), await liveIllegalReport(), await liveIllegalReport(), await liveIllegalReport()];
    const ids: string[] = [];
    for (const [i, r] of reports.entries()) {
      const { created } = await store.applyNotification({ reportId: r.reportId, notices: [notice(r.reportId, recipient)], now: at(100 + i * 10) });
      ids.push(created[0]?.id as string);
    }
    // another recipient's and another kind's notices stay apart
    const elsewhere = await store.applyNotification({ reportId: reports[0]?.reportId as string, notices: [notice(reports[0]?.reportId as string, unique('other'))], now: at(101) });

    const leader = await sendable(ids[0] as string, at(200), 25_000);
    // within 25 s of the first: the second and third; the fourth (30 s later) is not
    expect(leader.memberIds).toEqual(ids.slice(0, 3));
    expect(leader.reports.map((r) => r.id)).toEqual(reports.slice(0, 3).map((r) => r.reportId));
    expect(await store.beginNoticeSend(ids[1] as string, at(200), 60_000, 25_000)).toBe('in_batch');
    expect((await store.claimDueNotices(at(200), 100, 60_000, 0)).map((d) => d.noticeId).sort())
      .toEqual([ids[3] as string, elsewhere.created[0]?.id as string].sort());

    await store.recordNoticeDelivery({ noticeId: leader.id, now: at(201), channel: 'email', outcome: 'retry', notBefore: at(300), error: 'smtp_451' });
    const resend = await sendable(leader.id, at(300), 25_000);
    expect(resend.memberIds).toEqual(leader.memberIds);
    await store.recordNoticeDelivery({ noticeId: leader.id, now: at(301), channel: 'email', outcome: 'sent' });
    const { rows } = await store.sql.query<{ id: string; status: string; batch_id: string | null }>(
      'SELECT id, status, batch_id FROM notices WHERE id = ANY($1::text[]) ORDER BY created_at', [ids]);
    expect(rows.map((r) => [r.status, r.batch_id])).toEqual([['sent', ids[0]], ['sent', ids[0]], ['sent', ids[0]], ['pending', null]]);
    // every report of the batch was told about, the one left out was not
    const statuses = await Promise.all(reports.map(async (r) => (await store.getNoticeContext(r.reportId))?.status));
    expect(statuses).toEqual(['notified', 'notified', 'notified', 'live']);
  });

  it('gathers only fresh notices of the same target, recipient, kind and sequence, not leased, not held', async () => {
    const { store, at, unique } = h();
    const recipient = unique('gather');
    const { ids, reportIds } = await pendingNotices(recipient, [100, 101, 103, 104, 105]);
    const [, , tried, leased] = ids;
    await store.sql.query('UPDATE notices SET attempts = 1 WHERE id = $1', [tried]);
    await store.sql.query('UPDATE notices SET send_lease_until = $2 WHERE id = $1', [leased, at(500)]);
    await store.sql.query('UPDATE reports SET hold_until = $2 WHERE id = $1', [reportIds[4], at(5000)]);
    const { reportId } = await liveIllegalReport();
    await store.applyNotification({ reportId, now: at(102), notices: [
      notice(reportId, recipient, { kind: 'realert', sequence: 2, eventKey: unique('ra') }),
      notice(reportId, recipient, { kind: 'report_removed', target: 'force', eventKey: unique('rr') }),
    ] });
    const leader = await sendable(ids[0] as string, at(200), 60_000);
    expect(leader.memberIds).toEqual(ids.slice(0, 2));
    expect(leader.reports.map((r) => r.id)).toEqual(reportIds.slice(0, 2));
  });

  itTwoConnections('gathers past a notice another sender holds locked, without waiting for it', async () => {
    const { at, unique } = h();
    const { ids } = await pendingNotices(unique('skip-locked'), [100, 101, 102]);
    const lock = (tx: SqlStore) => tx.sql.query('SELECT id FROM notices WHERE id = $1 FOR UPDATE', [ids[1]]);
    const leader = await whileHeld(lock, () => sendable(ids[0] as string, at(200), 60_000), false);
    expect(leader.memberIds).toEqual([ids[0], ids[2]]);
    expect((await sendable(ids[1] as string, at(200), 60_000)).memberIds).toEqual([ids[1]]);
  });

  it('gives each notice to one batch when senders of one recipient claim at once', async () => {
    const { store, other, at, unique } = h();
    const { ids } = await pendingNotices(unique('racing'), [100, 101, 102, 103, 104, 105]);
    const claims = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? store : other).beginNoticeSend(id, at(200), 60_000, 60_000)));
    const claimed = claims.filter((c): c is NoticeToSend => typeof c !== 'string');
    expect(claimed.length).toBeGreaterThanOrEqual(1);
    for (const c of claimed) expect(c.memberIds[0]).toBe(c.id);
    // the others travel in a claimed batch: every notice once, in exactly one message
    expect(claims.filter((c) => typeof c === 'string').every((c) => c === 'in_batch')).toBe(true);
    expect(claimed.flatMap((c) => c.memberIds).sort()).toEqual([...ids].sort());
  });

  it('defers a whole batch when its first notice\'s report comes under an evidence hold', async () => {
    const { store, at, unique } = h();
    const { ids, reportIds } = await pendingNotices(unique('held-batch'), [100, 101]);
    const leader = await sendable(ids[0] as string, at(200), 60_000);
    expect(leader.memberIds).toEqual(ids);
    await store.recordNoticeDelivery({ noticeId: leader.id, now: at(201), channel: 'email', outcome: 'retry', notBefore: at(300), error: 'smtp_451' });
    await store.sql.query('UPDATE reports SET hold_until = $2 WHERE id = $1', [reportIds[0], at(5000)]);
    expect(await store.beginNoticeSend(leader.id, at(300), 60_000, 60_000)).toBe('held');
    const { rows } = await store.sql.query('SELECT not_before, next_attempt_at FROM notices WHERE id = ANY($1::text[])', [ids]);
    expect(rows).toEqual([{ not_before: at(5000), next_attempt_at: at(5000) }, { not_before: at(5000), next_attempt_at: at(5000) }]);
    expect((await sendable(leader.id, at(5000), 60_000)).memberIds).toEqual(ids);
  });

  it('counts each attempt once in its endpoint\'s statistics; only an initial notice sent makes its report notified', async () => {
    const { store, at, unique } = h();
    const recipient = unique('stats');
    const stats = async () => (await store.listEndpointStats()).find((e) => e.target === 'recipient' && e.id === recipient);
    const row = async (id: string) => (await store.sql.query(
      'SELECT status, attempts, sent_at, not_before, next_attempt_at, send_lease_until, channel, last_status, last_error FROM notices WHERE id = $1', [id])).rows[0];
    const { reportId } = await liveIllegalReport();
    const realert = await store.applyNotification({ reportId, now: at(100), notices: [notice(reportId, recipient, { kind: 'realert', sequence: 2, eventKey: unique('ra') })] });
    const realertId = realert.created[0]?.id as string;
    await sendable(realertId, at(101));
    await store.recordNoticeDelivery({ noticeId: realertId, now: at(102), channel: null, outcome: 'failed', error: 'recipient_not_in_directory' });
    expect(await row(realertId)).toMatchObject({ status: 'failed', attempts: 1, next_attempt_at: null, send_lease_until: null, channel: null, last_error: 'recipient_not_in_directory' });
    expect((await store.getNoticeContext(reportId))?.status).toBe('live');
    expect(await stats()).toEqual({
      target: 'recipient', id: recipient, delivered: 0, failedAttempts: 1, givenUp: 1, lastSuccessAt: null, lastFailureAt: at(102),
      lastError: 'recipient_not_in_directory', lastStatus: null, disabledAt: null, disabledUrl: null,
    });

    const initial = await store.applyNotification({ reportId, now: at(110), notices: [notice(reportId, recipient)] });
    const id = initial.created[0]?.id as string;
    await sendable(id, at(111));
    await store.recordNoticeDelivery({ noticeId: id, now: at(112), channel: 'webhook', outcome: 'retry', notBefore: at(300), error: 'http_503', httpStatus: 503 });
    expect(await row(id)).toMatchObject({ status: 'pending', attempts: 1, not_before: at(300), next_attempt_at: at(300), send_lease_until: null, last_status: 503, last_error: 'http_503' });
    expect(await stats()).toMatchObject({ delivered: 0, failedAttempts: 2, givenUp: 1, lastFailureAt: at(112), lastError: 'http_503', lastStatus: 503 });

    await sendable(id, at(300));
    await store.recordNoticeDelivery({ noticeId: id, now: at(301), channel: 'webhook', outcome: 'sent', httpStatus: 200 });
    const afterSent = await stats();
    // a success keeps the last failure's time and error for operators
    expect(afterSent).toMatchObject({ delivered: 1, failedAttempts: 2, givenUp: 1, lastSuccessAt: at(301), lastFailureAt: at(112), lastError: 'http_503', lastStatus: 200 });
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2, sent_at: at(301), not_before: null, next_attempt_at: null, last_error: null });
    expect((await store.getNoticeContext(reportId))?.status).toBe('notified');
    // recorded again (a job retried after a crash): nothing changes
    await store.recordNoticeDelivery({ noticeId: id, now: at(302), channel: 'webhook', outcome: 'sent', httpStatus: 200 });
    expect(await stats()).toEqual(afterSent);
    expect(await row(id)).toMatchObject({ attempts: 2, sent_at: at(301) });
  });

  it('flags an endpoint a 410 disabled, for that URL, until re-enabled', async () => {
    const { store, at, unique } = h();
    const recipient = unique('gone');
    const { reportId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, recipient)], now: at(100) });
    const id = created[0]?.id as string;
    await sendable(id, at(101));
    await store.recordNoticeDelivery({ noticeId: id, now: at(102), channel: 'webhook', outcome: 'disabled', error: 'http_410', httpStatus: 410, endpointUrl: 'http://127.0.0.1:9/gone' });
    expect((await store.sql.query('SELECT status FROM notices WHERE id = $1', [id])).rows).toEqual([{ status: 'failed' }]);
    const stats = (await store.listEndpointStats()).find((e) => e.id === recipient);
    expect(stats).toMatchObject({ target: 'recipient', delivered: 0, failedAttempts: 1, givenUp: 1, lastStatus: 410, lastError: 'http_410', disabledAt: at(102), disabledUrl: 'http://127.0.0.1:9/gone' });

    const next = await store.applyNotification({ reportId, notices: [notice(reportId, recipient, { kind: 'realert', sequence: 2, eventKey: unique('rk') })], now: at(200) });
    expect((await sendable(next.created[0]?.id as string, at(201))).disabledUrl).toBe('http://127.0.0.1:9/gone');
    expect(await store.enableEndpoint('recipient', recipient, at(300))).toBe(true);
    expect(await store.enableEndpoint('recipient', recipient, at(301))).toBe(false);
    expect((await store.listEndpointStats()).find((e) => e.id === recipient)).toMatchObject({ disabledAt: null, disabledUrl: null });
  });

  it('writes force events without a report, and loads the submission they are about', async () => {
    const { store, at, unique } = h();
    const { forceId, reportId } = await liveIllegalReport();
    const { rows } = await store.sql.query<{ submission_id: string }>('SELECT submission_id FROM submission_items WHERE report_id = $1', [reportId]);
    const submissionId = rows[0]?.submission_id as string;
    const { created } = await store.applyNotification({
      reportId, now: at(100), notices: [{
        kind: 'submission_completed', target: 'force', recipientId: forceId, reportId: null, submissionId, sequence: 1, episode: 1,
        eventKey: unique('sub-done'), reason: { rule: 'force_webhook', country: null, ip: null, traceId: null, databases: [] },
      }],
    });
    const claimed = await sendable(created[0]?.id as string, at(101), 60_000);
    expect(claimed).toMatchObject({
      kind: 'submission_completed', target: 'force', reports: [], force: { id: forceId, webhookUrl: null },
      submission: { id: submissionId, counts: { live: 1 } },
    });
  });

  it('records acknowledgements: own notices only, never downgraded, with an audit row', async () => {
    const { store, at, unique } = h();
    const recipient = unique('acker');
    const { reportId, forceId } = await liveIllegalReport();
    const { created } = await store.applyNotification({ reportId, notices: [notice(reportId, recipient)], now: at(100) });
    const id = created[0]?.id as string;
    expect(await store.ackNotice({ noticeId: id, recipientId: unique('someone-else'), status: 'received', actor: 'key:x', now: at(110) })).toBeNull();
    expect(await store.ackNotice({ noticeId: 'nope', recipientId: null, status: 'received', actor: 'ack-link', now: at(110) })).toBeNull();
    expect(await store.ackNotice({ noticeId: id, recipientId: recipient, status: 'actioned', actor: 'key:k1', now: at(120) }))
      .toEqual({ id, ackStatus: 'actioned', ackedAt: at(120), noticeIds: [id], reportIds: [reportId] });
    expect(await store.ackNotice({ noticeId: id, recipientId: null, status: 'received', actor: 'ack-link', now: at(130) }))
      .toMatchObject({ ackStatus: 'actioned', ackedAt: at(120) });
    const audit = await store.sql.query<{ actor: string; detail: { status: string } }>(
      `SELECT actor, detail FROM audit_log WHERE action = 'notice.ack' AND subject_id = $1 ORDER BY seq`, [id]);
    expect(audit.rows.map((r) => [r.actor, r.detail.status])).toEqual([['key:k1', 'actioned'], ['ack-link', 'received']]);

    const force = await store.applyNotification({ reportId, now: at(140), notices: [notice(reportId, forceId, { kind: 'report_removed', target: 'force', eventKey: unique('rr') })] });
    expect(await store.ackNotice({ noticeId: force.created[0]?.id as string, recipientId: null, status: 'received', actor: 'ack-link', now: at(150) })).toBeNull();
  });

  it('keeps the first secret stored under a name', async () => {
    const { store, other, unique } = h();
    const name = unique('secret');
    const [a, b] = await Promise.all([store.getOrCreateSecret(name, 'a'.repeat(43)), other.getOrCreateSecret(name, 'b'.repeat(43))]);
    expect(a).toBe(b);
    expect(await store.getOrCreateSecret(name, 'c'.repeat(43))).toBe(a);
  });
}
