/**
 * Webhooks (CONTRACT.md §6): a POST of the rendered body, signed with the `standardwebhooks`
 * package (`webhook-id` = notice id, `webhook-timestamp`, `webhook-signature`), under a hard
 * deadline, following no redirect (a 3xx is a failed attempt). The response body is drained and
 * dropped, at most a few KB of it.
 *
 * Which connector dials (CONTRACT.md §7): endpoints the operator wrote into the directory are
 * trusted and dialled as written (`trusted` dispatcher); endpoints registered through the API (a
 * force's webhook) go through the network guard (`guarded` dispatcher) — the composition root
 * passes the crawler's guarded agent. notifier/ never builds either.
 */
import { request, type Dispatcher } from 'undici';
import { Webhook } from 'standardwebhooks';
import type { Channel, DeliveryResult, Destination, DeliverOptions, OutboundNotice } from '../core/channel.js';
import { parseRetryAfter } from '../core/delivery-policy.js';
import { renderWebhookBody } from './render-webhook.js';

export interface WebhookChannelOptions {
  /** dials directory (operator-configured) endpoints */
  trusted: Dispatcher;
  /** dials endpoints registered through the API, through the network guard */
  guarded: Dispatcher;
  /** whole attempt: connect, send, response headers @default 10000 */
  timeoutMs?: number;
  /** @default 'vigil-webhooks' */
  userAgent?: string;
}

/** Most of a response body read before the connection is dropped. */
const MAX_RESPONSE_BYTES = 16 * 1024;

function failure(error: string, extra: Partial<Extract<DeliveryResult, { ok: false }>> = {}): DeliveryResult {
  return { ok: false, error, ...extra };
}

function errorName(err: unknown, timedOut: boolean): string {
  if (timedOut) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return `network_${code}`;
  return 'network_error';
}

export function createWebhookChannel(options: WebhookChannelOptions): Channel {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const userAgent = options.userAgent ?? 'vigil-webhooks';

  return {
    name: 'webhook',
    async deliver(notice: OutboundNotice, destination: Destination, { now, signal }: DeliverOptions): Promise<DeliveryResult> {
      if (destination.channel !== 'webhook') return failure('wrong_channel');
      const body = renderWebhookBody(notice);
      let signature: string;
      try {
        signature = new Webhook(destination.secret).sign(notice.id, now, body);
      } catch {
        return failure('bad_secret');
      }
      const deadline = AbortSignal.timeout(timeoutMs);
      const abort = signal ? AbortSignal.any([deadline, signal]) : deadline;
      let response: Dispatcher.ResponseData;
      try {
        response = await request(destination.url, {
          method: 'POST',
          dispatcher: destination.trusted ? options.trusted : options.guarded,
          headers: {
            'content-type': 'application/json',
            'user-agent': userAgent,
            'webhook-id': notice.id,
            'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body,
          signal: abort,
          // undici's request() follows no redirect unless told to: a 3xx comes back as is.
        });
      } catch (err) {
        return failure(errorName(err, deadline.aborted));
      }
      const status = response.statusCode;
      try {
        await response.body.dump({ limit: MAX_RESPONSE_BYTES });
      } catch {
        // the answer is in the status line; a body that breaks off changes nothing
      }
      if (status >= 200 && status < 300) return { ok: true, httpStatus: status };
      if (status === 410) return failure('http_410', { httpStatus: status, endpointGone: true });
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
      const error = status >= 300 && status < 400 ? `redirect_${status}` : `http_${status}`;
      return failure(error, { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    },
    async close() {
      // the dispatchers belong to the composition root, which closes them
    },
  };
}
