/**
 * The notifier's concrete parts, built for start-daemon.ts (the composition root): the channels
 * with their dispatchers, the `notify` job's dependencies, and the outbox dispatcher.
 *
 * Dispatchers (CONTRACT.md §7): directory webhooks and the SMTP relay are written by the operator
 * and dialled as written (a plain undici Agent, nodemailer); force webhooks registered through
 * the API go through the crawler's network guard (resolve once, check every address, dial the
 * checked one; `crawler.allowNetworks` exempts networks, for tests).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { VigilConfig } from '../config/config-schema.js';
import { ACK_SECRET_NAME } from '../core/ack-token.js';
import type { Channel, ChannelName } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../core/store.js';
import { parseCidrList } from '../crawler/address-policy.js';
import { createGuardedAgent } from '../crawler/guarded-agent.js';
import { cadenceFromConfig, decideNotices } from '../notifier/decide-notices.js';
import { createEmailChannel } from '../notifier/email-channel.js';
import { createOutboxDispatcher, notifyJobId, type NotifyJobSink, type OutboxDispatcher } from '../notifier/outbox-dispatcher.js';
import type { SendNoticeDeps } from '../notifier/send-notice.js';
import { createWebhookChannel } from '../notifier/webhook-channel.js';
import { createDnsResolver } from '../tracing/dns-resolver.js';

/** Deadline of one webhook or SMTP attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface NotifySender {
  deps: Omit<SendNoticeDeps, 'log'>;
  close(): Promise<void>;
}

/** Everything the `notify` job needs; `close()` closes the channels and their dispatchers. */
export async function createNotifySender(options: { config: Readonly<VigilConfig>; store: Store; clock: Clock }): Promise<NotifySender> {
  const { config, store } = options;
  // One secret shared by every process (API checks the links the workers write).
  const secret = await store.getOrCreateSecret(ACK_SECRET_NAME, randomBytes(32).toString('base64url'));
  const trusted = new Agent({
    connect: { timeout: DELIVERY_TIMEOUT_MS },
    headersTimeout: DELIVERY_TIMEOUT_MS,
    bodyTimeout: DELIVERY_TIMEOUT_MS,
    keepAliveTimeout: 4_000,
  });
  const guarded = createGuardedAgent({
    resolver: createDnsResolver({ servers: [...config.crawler.dnsServers], timeoutMs: 5000, tries: 2 }),
    allow: parseCidrList(config.crawler.allowNetworks),
    connectTimeoutMs: DELIVERY_TIMEOUT_MS,
    headersTimeoutMs: DELIVERY_TIMEOUT_MS,
    bodyTimeoutMs: DELIVERY_TIMEOUT_MS,
    perHostConcurrency: 4,
  });
  const channels: Record<ChannelName, Channel> = {
    webhook: createWebhookChannel({ trusted, guarded: guarded.agent, timeoutMs: DELIVERY_TIMEOUT_MS }),
    email: createEmailChannel({ url: config.notices.smtp.url, from: config.notices.smtp.from, timeoutMs: DELIVERY_TIMEOUT_MS }),
  };
  return {
    deps: {
      store,
      channels,
      recipients: config.directory.recipients,
      ackLinks: { publicUrl: config.http.publicUrl, secret },
      clock: options.clock,
      random: Math.random,
      batchWindowMs: config.notices.batchWindow,
      // longer than one attempt, so a slow receiver is not sent to twice at once
      sendLeaseMs: 4 * DELIVERY_TIMEOUT_MS,
    },
    async close() {
      await Promise.all([channels.webhook.close(), channels.email.close()]);
      await Promise.all([trusted.close(), guarded.close()]);
    },
  };
}

/** What deciding a report's notices needs, from the configuration (one place for both callers). */
function noticeDecideDeps(options: { config: Readonly<VigilConfig>; store: Store; clock: Clock; log: Logger }) {
  const { config, store, clock } = options;
  return { store, directory: config.directory, schedule: cadenceFromConfig(config), clock, log: options.log.child({ component: 'notifier' }) };
}

/** Deciding one report's notices now, and queueing what it wrote (see createNoticeDecider). */
export type NoticeDecider = (reportId: string) => Promise<void>;

/**
 * Decide a report's notices as soon as something made the decision due (a trace that starts or
 * moves routing), instead of at the outbox dispatcher's next tick, and queue the notices it wrote
 * under the job id of their first dispatch (`notify.<id>`): when the dispatcher leases them too,
 * its add is the same job. With `notices.batchWindow` set, notices are left to the dispatcher,
 * which gathers them after the window. Deciding is idempotent (notices are keyed by event), so a
 * decision the dispatcher makes at the same time writes nothing twice.
 */
export function createNoticeDecider(options: { config: Readonly<VigilConfig>; store: Store; queue: NotifyJobSink; clock: Clock; log: Logger }): NoticeDecider {
  const { config } = options;
  const decideDeps = noticeDecideDeps(options);
  return async (reportId) => {
    const decided = await decideNotices(reportId, decideDeps);
    if (!decided || decided.created.length === 0 || config.notices.batchWindow > 0) return;
    await options.queue.addBulk(decided.created.map((n) => ({ name: 'notify' as const, data: { noticeId: n.id }, opts: { jobId: notifyJobId(n.id, 1) } })));
  };
}

/** The scheduler's outbox loop: due notice decisions, then due notices into the `notify` queue. */
export function createNoticeDispatcher(options: { config: Readonly<VigilConfig>; store: Store; queue: NotifyJobSink; clock: Clock; log: Logger }): OutboxDispatcher {
  const { config, store, clock } = options;
  const decideDeps = noticeDecideDeps(options);
  const { log } = decideDeps;
  return createOutboxDispatcher({
    store,
    queue: options.queue,
    decide: (reportId) => decideNotices(reportId, decideDeps),
    clock,
    log,
    batchWindowMs: config.notices.batchWindow,
    intervalMs: config.queue.dispatchInterval,
    decisionConcurrency: config.queue.workerConcurrency,
  });
}
