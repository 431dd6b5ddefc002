/**
 * Store conformance for the notice outbox (issue 6): notices written with their state change in
 * one transaction and once per event key; due decisions and due notices leased with SKIP LOCKED;
 * a sender's claim, batching, recording attempts with endpoint statistics and the 410 flag;
 * acknowledgements; shared secrets. Run by store-conformance.ts against PostgreSQL and embedded.
 */
import { beforeEach, expect, it } from 'vitest';
import type { NewNotice } from '../../core/notice-kinds.js';
import type { NoticeToSend } from '../../core/notice-outbox.js';
import type { SqlStore } from '../../store/sql-store.js';

export interface OutboxHarness {
  store: SqlStore;
  other: SqlStore;
  newReport(now?: Date): Promise<{ forceId: string; reportId: string; url: string }>;
  unique(prefix: string): string;
  at(seconds: number): Date;
  parked: Date;
}

export function runOutboxConformance(h: () => OutboxHarness): void {
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

  async function sendable(id: string, now: Date, window = 0): Promise<NoticeToSend> {
    const claimed = await h().store.beginNoticeSend(id, now, 60_000, window);
    if (typeof claimed === 'string') throw new Error(`expected to claim ${id}, got ${claimed}`);
    return claimed;
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
