/**
 * A delivery channel, as a port (DESIGN.md "Interfaces at the seams"): one notice, rendered, to
 * one destination. Implemented in notifier/ (`email-channel.ts`, `webhook-channel.ts`).
 *
 * A channel delivers and reports; it decides nothing about retries. What a result means — sent,
 * retry later, give up, disable the endpoint — is core/delivery-policy.ts.
 *
 * A notice carries URLs, hosting and metadata: never fetched content (CONTRACT.md §7).
 */
import type { NoticeKind } from './notice-kinds.js';
import type { ReportStatus } from './report-status.js';
import type { Hosting } from './store.js';

/** One report as a notice shows it (CONTRACT.md §6 `reports[]`). */
export interface NoticeReportView {
  id: string;
  url: string;
  status: ReportStatus;
  hosting: Hosting | null;
  firstSeenLiveAt: Date | null;
  lastSeenLiveAt: Date | null;
  removedAt: Date | null;
}

/** The submission a `submission.completed` event is about. */
export interface NoticeSubmissionView {
  id: string;
  reference: string | null;
  createdAt: Date;
  completedAt: Date | null;
  counts: Partial<Record<ReportStatus, number>>;
}

/** A notice ready to render: what every channel needs, nothing channel-specific. */
export interface OutboundNotice {
  /** the notice id: webhook-id, Message-ID and ack link all derive from it */
  id: string;
  kind: NoticeKind;
  createdAt: Date;
  sequence: number;
  /** directory recipient id, or force id */
  recipient: string;
  /** human-readable name of the recipient (directory `name`, force name) */
  recipientName: string;
  /** one report, or several when batched (`notices.batchWindow`); empty for `submission.completed` */
  reports: NoticeReportView[];
  submission: NoticeSubmissionView | null;
  /** acknowledgement link; null for force events (nothing to acknowledge) and abuse desks */
  ackUrl: string | null;
  /** set for a hosting provider's abuse desk (`directory.hostingProviders.notify`): the e-mail says why it is written to */
  hostingProvider?: true;
}

/** Where a notice goes. */
export type Destination =
  | {
      channel: 'webhook';
      url: string;
      /** Standard Webhooks secret, `whsec_…` */
      secret: string;
      /**
       * true: written by the operator in the configuration file (directory), dialled as written.
       * false: registered through the API (a force's webhook), dialled through the network guard
       * (CONTRACT.md §7).
       */
      trusted: boolean;
    }
  | { channel: 'email'; to: readonly string[] };

export type ChannelName = Destination['channel'];

/** What one delivery attempt came to. */
export type DeliveryResult =
  | { ok: true; httpStatus?: number }
  | {
      ok: false;
      /** short, stable, loggable: `http_503`, `timeout`, `redirect_302`, `smtp_451`, … (never a body) */
      error: string;
      httpStatus?: number;
      /** the receiver asked to wait this long before trying again (`Retry-After`) */
      retryAfterMs?: number;
      /** the receiver said the endpoint is gone for good (HTTP 410) */
      endpointGone?: boolean;
    };

export interface DeliverOptions {
  /** the attempt's time: the webhook-timestamp, the e-mail Date */
  now: Date;
  signal?: AbortSignal;
}

export interface Channel {
  readonly name: ChannelName;
  /** Never throws for a delivery failure: it returns `{ ok: false }`. */
  deliver(notice: OutboundNotice, destination: Destination, options: DeliverOptions): Promise<DeliveryResult>;
  close(): Promise<void>;
}
