/**
 * E-mail through the operator's relay (`notices.smtp`, CONTRACT.md §6): one message per notice,
 * rendered by render-email.ts, sent with nodemailer. The relay is written by the operator and
 * trusted as written (CONTRACT.md §7). Without `notices.smtp.url` every attempt fails with
 * `smtp_not_configured` (retried: configuring the relay and restarting delivers the backlog).
 */
import nodemailer from 'nodemailer';
import type { Channel, DeliveryResult, Destination, DeliverOptions, OutboundNotice } from '../core/channel.js';
import { renderEmail } from './render-email.js';

export interface EmailChannelOptions {
  /** `notices.smtp.url`; null: no relay configured */
  url: string | null;
  /** `notices.smtp.from` */
  from: string;
  /** connect, greeting and socket inactivity limit @default 10000 */
  timeoutMs?: number;
}

function errorName(err: unknown): string {
  const e = err as { responseCode?: unknown; code?: unknown } | null;
  if (typeof e?.responseCode === 'number') return `smtp_${e.responseCode}`;
  if (typeof e?.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(e.code)) return `smtp_${e.code}`;
  return 'smtp_error';
}

export function createEmailChannel(options: EmailChannelOptions): Channel {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transport = options.url === null ? null : nodemailer.createTransport({
    url: options.url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // one connection per message: no pooled socket to go stale between notices hours apart
    pool: false,
  } as nodemailer.TransportOptions);

  return {
    name: 'email',
    async deliver(notice: OutboundNotice, destination: Destination, { now, signal }: DeliverOptions): Promise<DeliveryResult> {
      if (destination.channel !== 'email') return { ok: false, error: 'wrong_channel' };
      if (transport === null) return { ok: false, error: 'smtp_not_configured' };
      if (signal?.aborted) return { ok: false, error: 'aborted' };
      const mail = renderEmail(notice);
      try {
        await transport.sendMail({
          from: options.from,
          to: [...destination.to],
          subject: mail.subject,
          text: mail.text,
          messageId: mail.messageId,
          date: now,
          headers: mail.headers,
        });
        return { ok: true };
      } catch (err) {
        return { ok: false, error: errorName(err) };
      }
    },
    async close() {
      transport?.close();
    },
  };
}
