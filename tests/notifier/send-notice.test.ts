/**
 * Deciding and sending notices on real parts: PostgreSQL and the loopback world's webhook and SMTP
 * sinks. Time is a test clock moved by hand; waits are on the sinks' events.
 *
 * Each notice is sent once, under its own id: retries after 503 + Retry-After, SMTP failures and a
 * crash between sending and recording reuse the id; 410 disables the endpoint; redirects are not
 * followed; batching puts several reports in one message.
 */
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Recipient } from '../../config/directory-schema.js';
import { noticeForSubmissionCompleted } from '../../core/notice-cadence.js';
import type { Store } from '../../core/store.js';
import { parseCidrList } from '../../crawler/address-policy.js';
import { createGuardedAgent, type GuardedAgent } from '../../crawler/guarded-agent.js';
import { decideNotices, type DecideNoticesDeps } from '../../notifier/decide-notices.js';
import { createEmailChannel } from '../../notifier/email-channel.js';
import { sendNotice, type SendNoticeDeps } from '../../notifier/send-notice.js';
import { createWebhookChannel } from '../../notifier/webhook-channel.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { uniqueId } from '../support/test-env.js';
import type { WebhookDelivery } from '../world/webhook-sink.js';
import { startWorld, type World } from '../world/world.js';
import {
  emailRecipient, openTestStore, SECRET_FORCE, SECRET_NL, seedLiveReport, silentLog, testClock, webhookRecipient, type TestClock, type TestStore,
} from './support.js';

let world: World;
let db: TestStore;
let trusted: Agent;
let strictGuard: GuardedAgent;
let allowingGuard: GuardedAgent;
let clock: TestClock;

const SEND_LEASE = 40_000;

beforeAll(async () => {
  [world, db] = await Promise.all([startWorld(), openTestStore()]);
  trusted = new Agent({ connect: { timeout: 2000 } });
  const guard = (allow: string[]) => createGuardedAgent({
    resolver: createDnsResolver({ servers: world.config().crawler.dnsServers, timeoutMs: 1000, tries: 1 }), allow: parseCidrList(allow),
    connectTimeoutMs: 2000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, perHostConcurrency: 2,
  });
  strictGuard = guard(world.config().crawler.allowNetworks);
  allowingGuard = guard([...world.config().crawler.allowNetworks, '127.0.0.1/32']);
}, 60_000);

afterAll(async () => {
  await Promise.all([world?.close(), db?.close(), trusted?.close(), strictGuard?.close(), allowingGuard?.close()]);
});

beforeEach(async () => {
  clock = testClock();
  world.smtp.setFailing(null);
  // recipient ids repeat between tests: leave no earlier test's notice pending to be batched or claimed
  await db.store.sql.query(`UPDATE notices SET status = 'failed', last_error = 'test cleanup', next_attempt_at = NULL WHERE status = 'pending'`);
});

interface Setup {
  recipients: Recipient[];
  decide: DecideNoticesDeps;
  send: SendNoticeDeps;
  /** path of this test's hotline webhook */
  path: string;
}

/** A directory for one test: NL hotline (webhook on its own path), NL task force (e-mail), "*" law enforcement. */
function setup(options: { batchWindowMs?: number; guard?: GuardedAgent; store?: Store } = {}): Setup {
  const path = `/${uniqueId('hook')}`;
  const recipients = [
    webhookRecipient('hotline-nl', 'hotline', ['NL'], world.webhooks.url(path)),
    emailRecipient('tf-nl', 'task_force', ['NL'], ['alerts@taskforce.test']),
    webhookRecipient('le-star', 'law_enforcement', ['*'], world.webhooks.url(`${path}/star`)),
  ];
  const store = options.store ?? db.store;
  return {
    recipients,
    path,
    decide: {
      store, directory: { homeCountry: 'GB', recipients }, clock, log: silentLog,
      schedule: { realert: { first: 86_400_000, every: 86_400_000, max: 3 }, escalateAfterRealerts: 2, freshCheckMs: 1_800_000, freshCheckWaitMs: 120_000 },
    },
    send: {
      store,
      channels: {
        webhook: createWebhookChannel({ trusted, guarded: (options.guard ?? strictGuard).agent, timeoutMs: 2000 }),
        email: createEmailChannel({ url: world.smtp.url, from: 'vigil@localhost', timeoutMs: 2000 }),
      },
      recipients,
      ackLinks: { publicUrl: 'http://127.0.0.1:8080', secret: 'a'.repeat(43) },
      clock, random: () => 0.5, log: silentLog, batchWindowMs: options.batchWindowMs ?? 0, sendLeaseMs: SEND_LEASE,
    },
  };
}

async function plannedIds(s: Setup, reportId: string): Promise<Record<string, string>> {
  const plan = await decideNotices(reportId, s.decide);
  return Object.fromEntries((plan?.created ?? []).map((c) => [`${c.kind}:${c.recipientId}`, c.id]));
}

const ids = (ds: WebhookDelivery[]): unknown[] => ds.map((d) => d.headers['webhook-id']);

function verify(d: WebhookDelivery | undefined, secret: string): unknown {
  if (!d) throw new Error('no delivery');
  // standardwebhooks checks the timestamp against the real clock: the test clock starts at real time
  return new Webhook(secret).verify(d.body, {
    'webhook-id': String(d.headers['webhook-id']), 'webhook-timestamp': String(d.headers['webhook-timestamp']), 'webhook-signature': String(d.headers['webhook-signature']),
  });
}

async function noticeRow(id: string): Promise<Record<string, unknown>> {
  const { rows } = await db.store.sql.query('SELECT status, attempts, last_error, channel FROM notices WHERE id = $1', [id]);
  return rows[0] as Record<string, unknown>;
}

describe('initial notices', () => {
  it('go by webhook to the hotline and by e-mail to the task force; the report becomes notified', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const planned = await plannedIds(s, report.reportId);
    expect(Object.keys(planned).sort()).toEqual(['initial:hotline-nl', 'taskforce_alert:tf-nl']);
    // deciding again (a retried job) plans nothing new
    expect(await plannedIds(s, report.reportId)).toEqual({});

    const before = world.smtp.messages.length;
    expect(await sendNotice(planned['initial:hotline-nl']!, s.send)).toMatchObject({ outcome: 'sent', channel: 'webhook' });
    expect(await sendNotice(planned['taskforce_alert:tf-nl']!, s.send)).toMatchObject({ outcome: 'sent', channel: 'email' });

    const [d] = await world.webhooks.waitForDeliveries(1, 5000, s.path);
    expect(d?.headers['webhook-id']).toBe(planned['initial:hotline-nl']);
    const body = verify(d, SECRET_NL) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'notice.initial', id: planned['initial:hotline-nl'], recipient: 'hotline-nl', sequence: 1,
      reports: [{ id: report.reportId, url: report.url, status: 'notified', hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting', viaCdn: false }, removedAt: null }],
    });
    expect(body['ackUrl']).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:8080/v1/notices/${planned['initial:hotline-nl']}/ack\\?token=[A-Za-z0-9_-]{43}$`));

    const mail = (await world.smtp.waitForMessages(before + 1))[before]!;
    expect(mail.headers['x-vigil-notice-id']).toBe(planned['taskforce_alert:tf-nl']);
    expect(mail.to).toEqual(['alerts@taskforce.test']);
    expect(mail.text).toContain(report.url);
    expect(mail.text).toContain(`/v1/notices/${planned['taskforce_alert:tf-nl']}/ack?token=`);

    expect((await db.store.getNoticeContext(report.reportId))?.status).toBe('notified');
    expect(await sendNotice(planned['initial:hotline-nl']!, s.send)).toEqual({ outcome: 'skipped', why: 'not_pending' });
    expect(world.webhooks.deliveriesTo(s.path)).toHaveLength(1);
  });

  it('wait for a fresh check when the last one is too old, and ask for it', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: new Date(clock.now().getTime() - 3_600_000), country: 'NL', ip: '127.0.0.2' });
    const plan = await decideNotices(report.reportId, s.decide);
    expect(plan).toMatchObject({ needsFreshCheck: true, created: [] });
    const { rows } = await db.store.sql.query<{ next_check_at: Date; next_realert_at: Date }>('SELECT next_check_at, next_realert_at FROM reports WHERE id = $1', [report.reportId]);
    expect(rows[0]?.next_check_at).toEqual(clock.now());
    expect(rows[0]?.next_realert_at).toEqual(new Date(clock.now().getTime() + 120_000));
  });

  it('an unknown country goes to the "*" law enforcement and flags the report', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: null, ip: '127.0.0.6' });
    const planned = await plannedIds(s, report.reportId);
    expect(Object.keys(planned)).toEqual(['initial:le-star']);
    const { rows } = await db.store.sql.query<{ routing_flag: string; reason: { rule: string; flag: string } }>(
      'SELECT r.routing_flag, n.reason FROM reports r JOIN notices n ON n.report_id = r.id WHERE r.id = $1', [report.reportId]);
    expect(rows).toEqual([{ routing_flag: 'unknown_country', reason: expect.objectContaining({ rule: 'unknown_country', flag: 'unknown_country' }) }]);
  });
});

describe('delivery failures', () => {
  it('503 with Retry-After, then 200: delivered once more under the same webhook-id, not before Retry-After', async () => {
    const s = setup();
    world.webhooks.script(s.path, [{ status: 503, headers: { 'retry-after': '30' } }]);
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const id = (await plannedIds(s, report.reportId))['initial:hotline-nl']!;

    const first = await sendNotice(id, s.send);
    expect(first).toMatchObject({ outcome: 'retry', error: 'http_503' });
    expect((first as { notBefore: Date }).notBefore.getTime()).toBeGreaterThanOrEqual(clock.now().getTime() + 30_000);
    expect(await sendNotice(id, s.send)).toEqual({ outcome: 'skipped', why: 'not_yet' });
    clock.advance(30_000);
    expect(await sendNotice(id, s.send)).toMatchObject({ outcome: 'sent' });

    const deliveries = await world.webhooks.waitForDeliveries(2, 5000, s.path);
    expect(deliveries.map((d) => d.status)).toEqual([503, 200]);
    expect(ids(deliveries)).toEqual([id, id]);
    expect(await noticeRow(id)).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
  });

  it('410 disables the endpoint and flags it; later notices to it are not sent', async () => {
    const s = setup();
    world.webhooks.respondWith(s.path, { status: 410 });
    const a = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const first = (await plannedIds(s, a.reportId))['initial:hotline-nl']!;
    expect(await sendNotice(first, s.send)).toMatchObject({ outcome: 'disabled', error: 'http_410' });
    const stats = (await db.store.listEndpointStats()).find((e) => e.target === 'recipient' && e.id === 'hotline-nl');
    expect(stats).toMatchObject({ disabledUrl: world.webhooks.url(s.path), lastStatus: 410 });

    const b = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const second = (await plannedIds(s, b.reportId))['initial:hotline-nl']!;
    expect(await sendNotice(second, s.send)).toMatchObject({ outcome: 'failed', error: 'endpoint_disabled' });
    expect(world.webhooks.deliveriesTo(s.path)).toHaveLength(1);
    expect(await noticeRow(second)).toMatchObject({ status: 'failed', last_error: 'endpoint_disabled' });
    await db.store.enableEndpoint('recipient', 'hotline-nl', clock.now());
  });

  it('follows no redirect: the attempt fails, the location is never contacted', async () => {
    const s = setup();
    world.webhooks.respondWith(s.path, { status: 307, headers: { location: world.webhooks.url(`${s.path}/target`) } });
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const id = (await plannedIds(s, report.reportId))['initial:hotline-nl']!;
    expect(await sendNotice(id, s.send)).toMatchObject({ outcome: 'retry', error: 'redirect_307' });
    await world.webhooks.waitForDeliveries(1, 5000, s.path);
    expect(world.webhooks.deliveriesTo(`${s.path}/target`)).toEqual([]);
    expect(await noticeRow(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'redirect_307' });
  });

  it('SMTP relay failing, then back: the e-mail is delivered once, same Message-ID', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const id = (await plannedIds(s, report.reportId))['taskforce_alert:tf-nl']!;
    world.smtp.setFailing(451);
    const rejectedBefore = world.smtp.rejected;
    const failed = await sendNotice(id, s.send);
    expect(failed).toMatchObject({ outcome: 'retry', error: 'smtp_451' });
    expect(world.smtp.rejected).toBe(rejectedBefore + 1);
    world.smtp.setFailing(null);
    clock.set((failed as { notBefore: Date }).notBefore);
    const before = world.smtp.messages.length;
    expect(await sendNotice(id, s.send)).toMatchObject({ outcome: 'sent' });
    await world.smtp.waitForMessages(before + 1);
    const mine = world.smtp.messages.filter((m) => m.headers['x-vigil-notice-id'] === id);
    expect(mine.map((m) => m.messageId)).toEqual([`<${id}@vigil>`]);
  });

  it('an abuse desk whose stored address is not a plain one gets nothing: failed, no SMTP transaction', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const bad = 'abuse@net.example.test\r\nBcc: other@example.test';
    const { created } = await db.store.applyNotification({
      reportId: report.reportId, now: clock.now(),
      notices: [{
        kind: 'initial', target: 'hosting_provider', recipientId: bad, reportId: report.reportId, submissionId: null, sequence: 1, episode: 1,
        eventKey: `initial:${report.reportId}:1:bad-desk`, reason: { rule: 'hosting_provider', country: 'NL', ip: '127.0.0.2', traceId: null, databases: [] },
      }],
    });
    const before = { messages: world.smtp.messages.length, rejected: world.smtp.rejected };
    expect(await sendNotice(created[0]!.id, s.send)).toMatchObject({ outcome: 'failed', error: 'hosting_provider_address_invalid', channel: null });
    expect(await noticeRow(created[0]!.id)).toMatchObject({ status: 'failed', last_error: 'hosting_provider_address_invalid' });
    expect({ messages: world.smtp.messages.length, rejected: world.smtp.rejected }).toEqual(before);
  });

  it('a crash between sending and recording resends under the same id once the lease ends — never a new id', async () => {
    let crash = true;
    const crashing: Store = new Proxy(db.store, {
      get(target, prop, receiver) {
        if (prop === 'recordNoticeDelivery') {
          return async (...args: Parameters<Store['recordNoticeDelivery']>) => {
            if (crash) { crash = false; throw new Error('process killed before the result was recorded'); }
            return target.recordNoticeDelivery(...args);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const s = setup({ store: crashing });
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const id = (await plannedIds(s, report.reportId))['initial:hotline-nl']!;

    await expect(sendNotice(id, s.send)).rejects.toThrow('process killed');
    await world.webhooks.waitForDeliveries(1, 5000, s.path);
    // the dead sender's claim holds until its lease ends: nobody sends meanwhile
    expect(await sendNotice(id, s.send)).toEqual({ outcome: 'skipped', why: 'leased' });
    const early = await db.store.claimDueNotices(new Date(clock.now().getTime() + SEND_LEASE - 1), 1000, 1, 0);
    expect(early.map((d) => d.noticeId)).not.toContain(id);
    clock.advance(SEND_LEASE);
    expect(await sendNotice(id, s.send)).toMatchObject({ outcome: 'sent' });
    const deliveries = await world.webhooks.waitForDeliveries(2, 5000, s.path);
    expect(ids(deliveries)).toEqual([id, id]);
    expect(await noticeRow(id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(await sendNotice(id, s.send)).toEqual({ outcome: 'skipped', why: 'not_pending' });
    expect(world.webhooks.deliveriesTo(s.path)).toHaveLength(2);
  });

  it('two senders of one notice at once: one delivers, the other stands back', async () => {
    const s = setup();
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const id = (await plannedIds(s, report.reportId))['initial:hotline-nl']!;
    const results = await Promise.all([sendNotice(id, s.send), sendNotice(id, s.send)]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['sent', 'skipped']);
    await world.webhooks.waitForDeliveries(1, 5000, s.path);
    expect(world.webhooks.deliveriesTo(s.path)).toHaveLength(1);
  });
});

describe('batching', () => {
  it('puts the reports of one recipient planned within notices.batchWindow into one message', async () => {
    const s = setup({ batchWindowMs: 60_000 });
    const a = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const first = (await plannedIds(s, a.reportId))['initial:hotline-nl']!;
    clock.advance(20_000);
    const b = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    const second = (await plannedIds(s, b.reportId))['initial:hotline-nl']!;
    // the first attempt waits out the window
    const waiting = await db.store.claimDueNotices(clock.now(), 1000, 1, 60_000);
    expect(waiting.map((d) => d.noticeId)).not.toContain(first);
    expect(waiting.map((d) => d.noticeId)).not.toContain(second);
    clock.advance(40_000);
    const due = await db.store.claimDueNotices(clock.now(), 1000, 1, 60_000);
    expect(due.map((d) => d.noticeId)).toContain(first);
    expect(due.map((d) => d.noticeId)).not.toContain(second);

    expect(await sendNotice(first, s.send)).toMatchObject({ outcome: 'sent' });
    expect(await sendNotice(second, s.send)).toEqual({ outcome: 'skipped', why: 'not_pending' });
    const [d] = await world.webhooks.waitForDeliveries(1, 5000, s.path);
    const body = verify(d, SECRET_NL) as { id: string; reports: { id: string }[] };
    expect(body.id).toBe(first);
    expect(body.reports.map((r) => r.id)).toEqual([a.reportId, b.reportId]);
    expect(await noticeRow(second)).toMatchObject({ status: 'sent' });
  });
});

describe("forces' webhooks", () => {
  it('report.removed goes through the network guard: refused outside allowNetworks, delivered inside', async () => {
    const hook = `/${uniqueId('force')}`;
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2', webhook: { url: world.webhooks.url(hook), secret: SECRET_FORCE } });
    await db.store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2 WHERE id = $1`, [report.reportId, clock.now()]);
    const strict = setup();
    const id = (await plannedIds(strict, report.reportId))[`report_removed:${report.forceId}`]!;
    expect(id).toBeDefined();

    expect(await sendNotice(id, strict.send)).toMatchObject({ outcome: 'retry', error: 'network_VIGIL_BLOCKED_ADDRESS' });
    expect(world.webhooks.deliveriesTo(hook)).toEqual([]);

    const allowing = setup({ guard: allowingGuard });
    clock.advance(60_000); // past the back-off (random 0.5 of 30 s)
    expect(await sendNotice(id, allowing.send)).toMatchObject({ outcome: 'sent' });
    const [d] = await world.webhooks.waitForDeliveries(1, 5000, hook);
    expect(verify(d, SECRET_FORCE)).toMatchObject({ type: 'report.removed', id, recipient: report.forceId, reports: [{ id: report.reportId, status: 'removed' }], ackUrl: null });
  });

  it('submission.completed carries the submission and its counts', async () => {
    const hook = `/${uniqueId('force')}`;
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2', webhook: { url: world.webhooks.url(hook), secret: SECRET_FORCE } });
    const notice = noticeForSubmissionCompleted({ submissionId: report.submissionId, forceId: report.forceId, forceHasWebhook: true });
    const { created } = await db.store.applyNotification({ reportId: report.reportId, notices: [notice!], now: clock.now() });
    const again = await db.store.applyNotification({ reportId: report.reportId, notices: [notice!], now: clock.now() });
    expect(again.created).toEqual([]);
    const s = setup({ guard: allowingGuard });
    expect(await sendNotice(created[0]!.id, s.send)).toMatchObject({ outcome: 'sent' });
    const [d] = await world.webhooks.waitForDeliveries(1, 5000, hook);
    expect(verify(d, SECRET_FORCE)).toMatchObject({
      type: 'submission.completed', recipient: report.forceId, reports: [], ackUrl: null,
      submission: { id: report.submissionId, reference: 'case-1', counts: { live: 1 } },
    });
  });
});
