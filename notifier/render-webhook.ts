/**
 * The webhook body (CONTRACT.md §6), pure: one JSON text per notice, keys in the contract's order.
 *
 * ```json
 * { "type": "notice.initial", "id": "…", "createdAt": "…", "recipient": "hotline-nl", "sequence": 1,
 *   "reports": [{ "id": "…", "url": "…", "status": "notified",
 *                 "hosting": { "ip": "…", "country": "NL", "asn": 64500, "org": "…", "viaCdn": false },
 *                 "firstSeenLiveAt": "…", "lastSeenLiveAt": "…", "removedAt": null }],
 *   "ackUrl": "…" }
 * ```
 *
 * Force events (`submission.completed`, `report.removed`) use the same envelope, `recipient`
 * being the force id and `ackUrl` null; `submission.completed` adds `submission` (counts by
 * status) and lists no reports (a submission may hold 100,000).
 *
 * A report's `status` is as of the notice: an alert about a report still `live` says `notified`,
 * which is what the report becomes as this notice goes out (core/report-lifecycle.ts).
 */
import type { NoticeReportView, OutboundNotice } from '../core/channel.js';
import { WEBHOOK_EVENT_TYPES, type NoticeKind } from '../core/notice-kinds.js';
import type { ReportStatus } from '../core/report-status.js';

const ALERTS: ReadonlySet<NoticeKind> = new Set(['initial', 'realert', 'escalation', 'taskforce_alert']);

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** The status a notice shows for a report. */
export function statusAsOfNotice(kind: NoticeKind, status: ReportStatus): ReportStatus {
  return ALERTS.has(kind) && status === 'live' ? 'notified' : status;
}

function reportJson(kind: NoticeKind, r: NoticeReportView): Record<string, unknown> {
  return {
    id: r.id,
    url: r.url,
    status: statusAsOfNotice(kind, r.status),
    hosting: r.hosting === null ? null : {
      ip: r.hosting.ip, country: r.hosting.country, asn: r.hosting.asn, org: r.hosting.org, viaCdn: r.hosting.viaCdn,
    },
    firstSeenLiveAt: iso(r.firstSeenLiveAt),
    lastSeenLiveAt: iso(r.lastSeenLiveAt),
    removedAt: iso(r.removedAt),
  };
}

/** The body as an object (tests compare it; {@link renderWebhookBody} serialises it). */
export function webhookBody(notice: OutboundNotice): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: WEBHOOK_EVENT_TYPES[notice.kind],
    id: notice.id,
    createdAt: notice.createdAt.toISOString(),
    recipient: notice.recipient,
    sequence: notice.sequence,
    reports: notice.reports.map((r) => reportJson(notice.kind, r)),
  };
  if (notice.kind === 'submission_completed' && notice.submission) {
    const s = notice.submission;
    body['submission'] = { id: s.id, reference: s.reference, createdAt: s.createdAt.toISOString(), completedAt: iso(s.completedAt), counts: s.counts };
  }
  body['ackUrl'] = notice.ackUrl;
  return body;
}

/** The exact bytes that are signed and sent. */
export function renderWebhookBody(notice: OutboundNotice): string {
  return JSON.stringify(webhookBody(notice));
}
