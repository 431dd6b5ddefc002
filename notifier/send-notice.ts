/**
 * The `notify` job: deliver one outbox notice (and its batch) once, under its own id.
 *
 * 1. claim it for one attempt (`Store.beginNoticeSend`: pending, not leased by another sender,
 *    past its back-off; gathers the batch on the first attempt) — else skip: sent already, another
 *    sender has it, or it travels in another notice's batch;
 * 2. find its destination: the directory recipient's channel (trusted, as the operator wrote it),
 *    the force's registered webhook (through the network guard), or a hosting provider's abuse
 *    desk (e-mail through `notices.smtp`); an endpoint a 410 disabled
 *    gets nothing more;
 * 3. deliver through the channel, decide with core/delivery-policy.ts, record the result.
 *
 * A crash between 3's delivery and its record leaves the notice pending with a lease; when the
 * lease runs out it is sent again with the same id (webhook-id, Message-ID): a receiver may see
 * one id twice, never a second id for one event. Store failures throw (the job is retried);
 * delivery failures never do.
 */
import type { Logger } from 'pino';
import type { Channel, ChannelName, DeliveryResult, Destination, OutboundNotice } from '../core/channel.js';
import type { Clock, RandomSource } from '../core/clock.js';
import { ackUrl } from '../core/ack-token.js';
import { plainEmailAddress } from '../core/hosting-contacts.js';
import { decideAfterDelivery, DEFAULT_RETRY_POLICY, type DeliveryDecision, type RetryPolicy } from '../core/delivery-policy.js';
import type { NoticeKind } from '../core/notice-kinds.js';
import type { NoticeSendSkip, NoticeToSend } from '../core/notice-outbox.js';
import type { Store } from '../core/store.js';
import type { Recipient } from '../config/directory-schema.js';

export interface SendNoticeDeps {
  store: Pick<Store, 'beginNoticeSend' | 'recordNoticeDelivery'>;
  channels: Partial<Record<ChannelName, Channel>>;
  /** `directory.recipients` */
  recipients: readonly Recipient[];
  /** `http.publicUrl` and the ack-link secret */
  ackLinks: { publicUrl: string; secret: string };
  clock: Clock;
  random: RandomSource;
  log: Logger;
  /** `notices.batchWindow`, ms */
  batchWindowMs: number;
  retry?: RetryPolicy;
  /** a sender's claim on one attempt; longer than a channel's deadline @default 120000 */
  sendLeaseMs?: number;
  /** metrics hook (`vigil_notices_total{kind,channel,result}`) */
  onDelivery?: (event: { kind: NoticeKind; channel: ChannelName | 'none'; result: DeliveryDecision['outcome'] }) => void;
}

export type SendNoticeResult =
  | { outcome: 'skipped'; why: NoticeSendSkip }
  | { outcome: DeliveryDecision['outcome']; noticeId: string; channel: ChannelName | null; error?: string; notBefore?: Date };

type Resolved = { destination: Destination; name: string } | { error: string; name: string };

function resolveDestination(notice: NoticeToSend, recipients: readonly Recipient[]): Resolved {
  if (notice.target === 'force') {
    const f = notice.force;
    if (!f?.webhookUrl || !f.webhookSecret) return { error: 'force_webhook_missing', name: f?.name ?? notice.recipientId };
    return { destination: { channel: 'webhook', url: f.webhookUrl, secret: f.webhookSecret, trusted: false }, name: f.name };
  }
  if (notice.target === 'hosting_provider') {
    // the address was checked when the trace was read (core/hosting-contacts.ts); checked again
    // here, as it is about to become an SMTP recipient
    const to = plainEmailAddress(notice.recipientId);
    if (to === null) return { error: 'hosting_provider_address_invalid', name: notice.recipientId };
    return { destination: { channel: 'email', to: [to] }, name: 'Abuse desk of the hosting network' };
  }
  const r = recipients.find((x) => x.id === notice.recipientId);
  if (!r) return { error: 'recipient_not_in_directory', name: notice.recipientId };
  const destination: Destination = 'webhook' in r.channel
    ? { channel: 'webhook', url: r.channel.webhook.url, secret: r.channel.webhook.secret, trusted: true }
    : { channel: 'email', to: r.channel.email.to };
  return { destination, name: r.name };
}

export function toOutbound(notice: NoticeToSend, recipientName: string, ackLinks: SendNoticeDeps['ackLinks']): OutboundNotice {
  return {
    id: notice.id,
    kind: notice.kind,
    createdAt: notice.createdAt,
    sequence: notice.sequence,
    recipient: notice.recipientId,
    recipientName,
    reports: notice.reports,
    submission: notice.submission,
    ackUrl: notice.target === 'recipient' ? ackUrl(ackLinks.publicUrl, ackLinks.secret, notice.id) : null,
    ...(notice.target === 'hosting_provider' ? { hostingProvider: true as const } : {}),
  };
}

export async function sendNotice(noticeId: string, deps: SendNoticeDeps, signal?: AbortSignal): Promise<SendNoticeResult> {
  const started = deps.clock.now();
  const claimed = await deps.store.beginNoticeSend(noticeId, started, deps.sendLeaseMs ?? 120_000, deps.batchWindowMs);
  if (typeof claimed === 'string') {
    if (claimed === 'withdrawn') deps.log.info({ noticeId }, 'notice withdrawn: its reports are no longer live, or its recipient was never alerted');
    else deps.log.debug({ noticeId, why: claimed }, 'notice not sent by this job');
    return { outcome: 'skipped', why: claimed };
  }
  const notice = claimed;
  const log = deps.log.child({ noticeId, kind: notice.kind, recipient: notice.recipientId, target: notice.target });
  const resolved = resolveDestination(notice, deps.recipients);

  let decision: DeliveryDecision;
  let channelName: ChannelName | null = null;
  let httpStatus: number | undefined;
  let endpointUrl: string | undefined;
  if ('error' in resolved) {
    decision = { outcome: 'failed', error: resolved.error };
  } else {
    const { destination } = resolved;
    channelName = destination.channel;
    endpointUrl = destination.channel === 'webhook' ? destination.url : undefined;
    const channel = deps.channels[destination.channel];
    if (endpointUrl !== undefined && notice.disabledUrl === endpointUrl) {
      decision = { outcome: 'failed', error: 'endpoint_disabled' };
    } else if (!channel) {
      decision = decideAfterDelivery({ ok: false, error: `${destination.channel}_unavailable` }, notice.attempts + 1, started, deps.random, deps.retry ?? DEFAULT_RETRY_POLICY);
    } else {
      const outbound = toOutbound(notice, resolved.name, deps.ackLinks);
      const now = deps.clock.now();
      const result: DeliveryResult = await channel.deliver(outbound, destination, { now, signal })
        .catch((err: unknown): DeliveryResult => ({ ok: false, error: `channel_error: ${(err as Error).message ?? String(err)}`.slice(0, 200) }));
      httpStatus = result.httpStatus;
      decision = decideAfterDelivery(result, notice.attempts + 1, deps.clock.now(), deps.random, deps.retry ?? DEFAULT_RETRY_POLICY);
    }
  }

  await deps.store.recordNoticeDelivery({
    noticeId: notice.id,
    now: deps.clock.now(),
    channel: channelName,
    outcome: decision.outcome,
    ...(decision.outcome === 'retry' ? { notBefore: decision.notBefore } : {}),
    ...(decision.outcome === 'sent' ? {} : { error: decision.error }),
    ...(httpStatus === undefined ? {} : { httpStatus }),
    ...(endpointUrl === undefined ? {} : { endpointUrl }),
  });
  try {
    deps.onDelivery?.({ kind: notice.kind, channel: channelName ?? 'none', result: decision.outcome });
  } catch (err) {
    log.warn({ err }, 'onDelivery hook threw');
  }

  const detail = { channel: channelName, attempt: notice.attempts + 1, batch: notice.memberIds.length, httpStatus };
  switch (decision.outcome) {
    case 'sent':
      log.info(detail, 'notice delivered');
      return { outcome: 'sent', noticeId: notice.id, channel: channelName };
    case 'retry':
      log.warn({ ...detail, error: decision.error, notBefore: decision.notBefore }, 'notice delivery failed; will retry');
      return { outcome: 'retry', noticeId: notice.id, channel: channelName, error: decision.error, notBefore: decision.notBefore };
    case 'disabled':
      log.error({ ...detail, error: decision.error }, 'endpoint answered 410 Gone: disabled, and flagged for operators');
      return { outcome: 'disabled', noticeId: notice.id, channel: channelName, error: decision.error };
    case 'failed':
      log.error({ ...detail, error: decision.error }, 'notice given up');
      return { outcome: 'failed', noticeId: notice.id, channel: channelName, error: decision.error };
  }
}
