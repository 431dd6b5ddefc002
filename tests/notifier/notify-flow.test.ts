/**
 * The whole notifier loop on real parts — PostgreSQL, Redis/BullMQ, the loopback world's sinks:
 * a report whose notice decision is due → the outbox dispatcher decides its notices and queues
 * them (`notify.<id>`) → the notify worker delivers them. Then a 503 retried by the dispatcher
 * under the next lease's job id with the same webhook-id, a re-alert, removal, and reappearance;
 * and an alert withdrawn when the content is removed while it waits for its retry.
 * Only time is fake (the dispatcher's and sender's clock); waits are on events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recipient } from '../../config/directory-schema.js';
import { decideNotices } from '../../notifier/decide-notices.js';
import { createEmailChannel } from '../../notifier/email-channel.js';
import { createOutboxDispatcher, type OutboxDispatcher } from '../../notifier/outbox-dispatcher.js';
import { sendNotice, type SendNoticeDeps } from '../../notifier/send-notice.js';
import { createWebhookChannel } from '../../notifier/webhook-channel.js';
import { createWorker, type VigilWorker } from '../../queue/create-worker.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { deletePrefixKeys, eventCount, newPrefix, tempDir, TEST_REDIS_URL } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { Agent } from 'undici';
import { emailRecipient, openTestStore, seedLiveReport, silentLog, testClock, webhookRecipient, type TestStore } from './support.js';

const prefix = newPrefix();
const clock = testClock();
let world: World;
let db: TestStore;
let handle: RedisHandle;
let queues: Queues;
let worker: VigilWorker<'notify'>;
let dispatcher: OutboxDispatcher;
let agent: Agent;
let removeDir: () => Promise<void>;
let recipients: Recipient[];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  [world, db] = await Promise.all([startWorld(), openTestStore()]);
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: silentLog, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
  agent = new Agent({ connect: { timeout: 2000 } });
  recipients = [
    webhookRecipient('hotline-nl', 'hotline', ['NL'], world.webhooks.url('/flow/nl')),
    emailRecipient('tf-nl', 'task_force', ['NL'], ['alerts@taskforce.test']),
    webhookRecipient('le-star', 'law_enforcement', ['*'], world.webhooks.url('/flow/star')),
  ];
  const sendDeps: SendNoticeDeps = {
    store: db.store,
    channels: {
      webhook: createWebhookChannel({ trusted: agent, guarded: agent, timeoutMs: 2000 }),
      email: createEmailChannel({ url: world.smtp.url, from: 'vigil@localhost', timeoutMs: 2000 }),
    },
    recipients, ackLinks: { publicUrl: 'http://127.0.0.1:8080', secret: 'k'.repeat(43) },
    clock, random: () => 0.5, log: silentLog, batchWindowMs: 0,
  };
  worker = createWorker('notify', async (payload, { signal, log }) => sendNotice(payload.noticeId, { ...sendDeps, log }, signal), {
    connection: handle.createConnection('worker'), prefix, concurrency: 4, log: silentLog,
  });
  const decideDeps = {
    store: db.store, directory: { homeCountry: 'GB', recipients }, clock, log: silentLog,
    schedule: { realert: { first: 60_000, every: 60_000, max: 2 }, escalateAfterRealerts: 5, freshCheckMs: 1_800_000, freshCheckWaitMs: 60_000 },
  };
  dispatcher = createOutboxDispatcher({
    store: db.store, queue: queues.notify, decide: (id) => decideNotices(id, decideDeps), clock, log: silentLog, batchWindowMs: 0, leaseMs: 300_000,
  });
}, 60_000);

afterAll(async () => {
  await dispatcher?.stop();
  await worker?.close(2000);
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await Promise.all([world?.close(), db?.close(), agent?.close()]);
  await removeDir?.();
});

/** One dispatcher tick, then wait until the worker has finished the `n` jobs it queued. */
async function tick(expectQueued: number): Promise<void> {
  const done = eventCount(worker.worker, 'completed', expectQueued, 10_000);
  const { queued } = await dispatcher.dispatchOnce();
  expect(queued).toBe(expectQueued);
  if (expectQueued > 0) await done;
}

describe('outbox → queue → channels', () => {
  it('decides, queues and delivers; retries under a new lease with the same id; re-alerts; tells of removal and reappearance', async () => {
    world.webhooks.script('/flow/nl', [{ status: 503, headers: { 'retry-after': '1' } }]);
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    // the lifecycle's duty: say the report's notices are to be decided now
    await db.store.sql.query('UPDATE reports SET next_realert_at = $2 WHERE id = $1', [report.reportId, clock.now()]);

    // 1. initial (hotline: 503) and task-force alert (e-mail)
    const mailsBefore = world.smtp.messages.length;
    await tick(2);
    const [first] = await world.webhooks.waitForDeliveries(1, 5000, '/flow/nl');
    const initialId = String(first?.headers['webhook-id']);
    expect(first?.status).toBe(503);
    expect(await queues.notify.getJob(`notify.${initialId}`)).toBeDefined();
    const mail = (await world.smtp.waitForMessages(mailsBefore + 1))[mailsBefore]!;
    expect(mail.subject).toContain('Task force alert');

    // 2. nothing due before the back-off (random 0.5 × 30 s) ends; then the next lease, job id .2
    clock.advance(14_000);
    await tick(0);
    clock.advance(1_000);
    await tick(1);
    const nl = await world.webhooks.waitForDeliveries(2, 5000, '/flow/nl');
    expect(nl.map((d) => [d.headers['webhook-id'], d.status])).toEqual([[initialId, 503], [initialId, 200]]);
    expect(await queues.notify.getJob(`notify.${initialId}.2`)).toBeDefined();
    expect((await db.store.getNoticeContext(report.reportId))?.status).toBe('notified');

    // 3. a re-alert a minute after the initial, while the content is live
    clock.advance(45_000);
    await db.store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, started_at, duration_ms, status_after)
      VALUES ($1, $2, 'live', 'http_200', $3, 5, 'notified')`, [`c-${Date.now()}`, report.reportId, clock.now()]);
    await db.store.sql.query('UPDATE reports SET last_checked_at = $2 WHERE id = $1', [report.reportId, clock.now()]);
    await tick(1);
    const realert = (await world.webhooks.waitForDeliveries(3, 5000, '/flow/nl'))[2]!;
    expect(realert.json).toMatchObject({ type: 'notice.realert', sequence: 2, reports: [{ id: report.reportId }] });
    expect(realert.headers['webhook-id']).not.toBe(initialId);

    // 4. removal confirmed (the lifecycle sets the status and asks for a decision)
    clock.advance(5_000);
    await db.store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2, next_realert_at = $2 WHERE id = $1`, [report.reportId, clock.now()]);
    await tick(2);
    const removal = (await world.webhooks.waitForDeliveries(4, 5000, '/flow/nl'))[3]!;
    expect(removal.json).toMatchObject({ type: 'notice.removal_confirmed', reports: [{ id: report.reportId, status: 'removed' }] });
    await world.smtp.waitForMessages(mailsBefore + 2);
    // no more re-alerts once removed
    clock.advance(600_000);
    await tick(0);

    // 5. reappearance: a new episode, told afresh
    await db.store.sql.query(`UPDATE reports SET status = 'notified', removed_at = NULL, reopen_count = reopen_count + 1, last_checked_at = $2,
      next_realert_at = $2 WHERE id = $1`, [report.reportId, clock.now()]);
    await db.store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, started_at, duration_ms, status_after)
      VALUES ($1, $2, 'live', 'http_200', $3, 5, 'notified')`, [`c-${Date.now()}-2`, report.reportId, clock.now()]);
    await tick(2);
    const again = (await world.webhooks.waitForDeliveries(5, 5000, '/flow/nl'))[4]!;
    expect(again.json).toMatchObject({ type: 'notice.initial', sequence: 1 });
    const allIds = world.webhooks.deliveriesTo('/flow/nl').map((d) => d.headers['webhook-id']);
    expect(new Set(allIds).size).toBe(4); // initial (twice: 503 then 200), re-alert, removal, new initial
  });

  it('withdraws an alert waiting for its retry when the content is removed; the removal notice still goes where the alert may have arrived', async () => {
    const before = world.webhooks.deliveriesTo('/flow/nl').length;
    const mailsBefore = world.smtp.messages.length;
    world.webhooks.script('/flow/nl', [{ status: 503 }]);
    const report = await seedLiveReport(db.store, { seenAt: clock.now(), country: 'NL', ip: '127.0.0.2' });
    await db.store.sql.query('UPDATE reports SET next_realert_at = $2 WHERE id = $1', [report.reportId, clock.now()]);

    // the initial meets a 503 (its retry 15 s later); the task-force alert goes by e-mail
    await tick(2);
    const [attempt] = (await world.webhooks.waitForDeliveries(before + 1, 5000, '/flow/nl')).slice(before);
    expect(attempt?.status).toBe(503);
    await world.smtp.waitForMessages(mailsBefore + 1);

    // removal confirmed while the initial waits: both recipients may have had an alert, both hear of the removal
    clock.advance(1_000);
    await db.store.sql.query(`UPDATE reports SET status = 'removed', removed_at = $2, next_realert_at = $2 WHERE id = $1`, [report.reportId, clock.now()]);
    await tick(2);
    const removal = (await world.webhooks.waitForDeliveries(before + 2, 5000, '/flow/nl'))[before + 1];
    expect(removal?.json).toMatchObject({ type: 'notice.removal_confirmed', reports: [{ id: report.reportId, status: 'removed' }] });
    await world.smtp.waitForMessages(mailsBefore + 2);

    // the initial's retry falls due: withdrawn, not sent
    clock.advance(15_000);
    await tick(1);
    const { rows } = await db.store.sql.query<{ kind: string; recipient_id: string; status: string }>(
      'SELECT kind, recipient_id, status FROM notices WHERE report_id = $1 ORDER BY kind, recipient_id', [report.reportId]);
    expect(rows).toEqual([
      { kind: 'initial', recipient_id: 'hotline-nl', status: 'withdrawn' },
      { kind: 'removal_confirmed', recipient_id: 'hotline-nl', status: 'sent' },
      { kind: 'removal_confirmed', recipient_id: 'tf-nl', status: 'sent' },
      { kind: 'taskforce_alert', recipient_id: 'tf-nl', status: 'sent' },
    ]);
    expect(world.webhooks.deliveriesTo('/flow/nl').slice(before).map((d) => [(d.json as { type?: string }).type, d.status]))
      .toEqual([['notice.initial', 503], ['notice.removal_confirmed', 200]]);
  });
});
