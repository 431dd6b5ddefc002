/**
 * Notice kinds, their webhook event types, and the event keys that make each notice exactly once
 * (CONTRACT.md §5, §6). The names are part of the outside contract: change them only with an alias.
 *
 * An event key names the event that causes a notice, not the notice: planning the same event twice
 * (a retried job, two planners racing, a crash between commit and send) yields the same key, and
 * the outbox keeps one row per key (`notices.event_key UNIQUE`). The notice id, chosen when that
 * row is first written, is then the one every delivery attempt carries (webhook-id, Message-ID).
 */

/** Notices to directory recipients (CONTRACT.md §5). */
export const RECIPIENT_NOTICE_KINDS = ['initial', 'realert', 'escalation', 'removal_confirmed', 'taskforce_alert'] as const;
/** Events sent to a police force's registered webhook (CONTRACT.md §6). */
export const FORCE_EVENT_KINDS = ['submission_completed', 'report_removed'] as const;
export const NOTICE_KINDS = [...RECIPIENT_NOTICE_KINDS, ...FORCE_EVENT_KINDS] as const;

export type RecipientNoticeKind = (typeof RECIPIENT_NOTICE_KINDS)[number];
export type ForceEventKind = (typeof FORCE_EVENT_KINDS)[number];
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * Who a notice goes to: a `directory.recipients` entry, a force's registered webhook, or (with
 * `directory.hostingProviders.notify`) an abuse desk of the hosting provider, by e-mail.
 */
export type NoticeTarget = 'recipient' | 'force' | 'hosting_provider';

/** The `type` of a webhook body (CONTRACT.md §6). */
export const WEBHOOK_EVENT_TYPES: Readonly<Record<NoticeKind, string>> = Object.freeze({
  initial: 'notice.initial',
  realert: 'notice.realert',
  escalation: 'notice.escalation',
  removal_confirmed: 'notice.removal_confirmed',
  taskforce_alert: 'notice.taskforce_alert',
  submission_completed: 'submission.completed',
  report_removed: 'report.removed',
});

export function isRecipientNoticeKind(kind: string): kind is RecipientNoticeKind {
  return (RECIPIENT_NOTICE_KINDS as readonly string[]).includes(kind);
}

export function isNoticeKind(kind: string): kind is NoticeKind {
  return (NOTICE_KINDS as readonly string[]).includes(kind);
}

/**
 * Why a notice went where it went (stored as `notices.reason`): the routing rule (see routing.ts),
 * the hosting it was decided on, and the trace and databases that located it.
 */
export interface NoticeReason {
  /** routing rule id (routing.ts `RoutingRule`), or `removal`, `force_webhook` */
  rule: string;
  country: string | null;
  ip: string | null;
  /** the trace the hosting came from; null when untraced */
  traceId: string | null;
  /** country/ASN databases that trace consulted, with their build times */
  databases: { role: string; type: string; build: string }[];
  /** set when routing could not place the report normally (shown on /admin) */
  flag?: string;
}

/** A notice to write to the outbox; the store gives it its id. */
export interface NewNotice {
  kind: NoticeKind;
  target: NoticeTarget;
  /**
   * directory recipient id; force id for `target: 'force'`; the abuse desk's e-mail address for
   * `target: 'hosting_provider'` (directory ids cannot contain `@`, so the two never meet)
   */
  recipientId: string;
  /** null only for `submission_completed` */
  reportId: string | null;
  /** set for `submission_completed` */
  submissionId: string | null;
  /** 1, except re-alerts: 2, 3, … */
  sequence: number;
  /** the report's monitoring episode (1, then +1 after each confirmed removal and reappearance) */
  episode: number;
  eventKey: string;
  reason: NoticeReason;
}

/** Event keys, one builder per kind. Parts are joined with `:`; ids never contain it. */
export const eventKeys = {
  initial: (reportId: string, episode: number, recipientId: string) => `initial:${reportId}:${episode}:${recipientId}`,
  realert: (reportId: string, episode: number, sequence: number, recipientId: string) => `realert:${reportId}:${episode}:${sequence}:${recipientId}`,
  escalation: (reportId: string, episode: number, recipientId: string) => `escalation:${reportId}:${episode}:${recipientId}`,
  removalConfirmed: (reportId: string, episode: number, recipientId: string) => `removal:${reportId}:${episode}:${recipientId}`,
  /** once per report per hosting location (country and address) per episode, per task force */
  taskforce: (reportId: string, episode: number, country: string, ip: string, recipientId: string) =>
    `taskforce:${reportId}:${episode}:${country}:${ip}:${recipientId}`,
  reportRemoved: (reportId: string, episode: number, forceId: string) => `report_removed:${reportId}:${episode}:${forceId}`,
  submissionCompleted: (submissionId: string) => `submission_completed:${submissionId}`,
} as const;
