/**
 * The e-mail of a notice (CONTRACT.md §6), pure: one plain-text message per notice with the URLs,
 * hosting and the acknowledgement link, header `X-Vigil-Notice-Id`, and a Message-ID derived from
 * the notice id (`<id@vigil>`), so a resent notice is recognisably the same message.
 */
import type { NoticeReportView, OutboundNotice } from '../core/channel.js';
import { WEBHOOK_EVENT_TYPES, type NoticeKind } from '../core/notice-kinds.js';
import { statusAsOfNotice } from './render-webhook.js';

export interface RenderedEmail {
  subject: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
}

const TITLES: Readonly<Record<NoticeKind, string>> = {
  initial: 'Illegal content reported',
  realert: 'Re-alert: content still online',
  escalation: 'Escalation: content still online after re-alerts',
  removal_confirmed: 'Removal confirmed',
  taskforce_alert: 'Task force alert: content found online',
  submission_completed: 'Submission checked',
  report_removed: 'Report removed',
};

/** `<id@vigil>`: stable per notice. */
export function messageIdFor(noticeId: string): string {
  return `<${noticeId}@vigil>`;
}

const when = (d: Date | null): string => (d === null ? '-' : d.toISOString());

function hostingLine(r: NoticeReportView): string {
  const h = r.hosting;
  if (h === null) return 'not traced yet';
  const parts = [
    h.ip ?? 'address unknown',
    h.country ?? 'country unknown',
    h.asn === null ? null : `AS${h.asn}`,
    h.org,
    h.viaCdn ? '(behind a CDN or proxy)' : null,
  ];
  return parts.filter((p): p is string => p !== null && p !== '').join(', ');
}

function reportBlock(kind: NoticeKind, r: NoticeReportView, index: number): string {
  return [
    `${index + 1}. Report ${r.id}`,
    `   URL: ${r.url}`,
    `   Status: ${statusAsOfNotice(kind, r.status)}`,
    `   Hosting: ${hostingLine(r)}`,
    `   First seen live: ${when(r.firstSeenLiveAt)}`,
    `   Last seen live: ${when(r.lastSeenLiveAt)}`,
    `   Removed: ${when(r.removedAt)}`,
  ].join('\n');
}

export function renderEmail(notice: OutboundNotice): RenderedEmail {
  const title = TITLES[notice.kind];
  const count = notice.reports.length;
  const countries = [...new Set(notice.reports.map((r) => r.hosting?.country).filter((c): c is string => !!c))];
  const where = countries.length > 0 ? ` hosted in ${countries.join(', ')}` : '';
  const seq = notice.kind === 'realert' ? ` #${notice.sequence}` : '';
  const subject = notice.kind === 'submission_completed'
    ? `[vigil] ${title}: ${notice.submission?.reference ?? notice.submission?.id ?? ''}`.trimEnd()
    : `[vigil] ${title}${seq}: ${count} report${count === 1 ? '' : 's'}${where}`;

  const lines: string[] = [
    `${title}${seq}`,
    '',
    `To: ${notice.recipientName} (${notice.recipient})`,
    `Notice: ${notice.id}`,
    `Type: ${WEBHOOK_EVENT_TYPES[notice.kind]}, sequence ${notice.sequence}`,
    `Created: ${notice.createdAt.toISOString()}`,
    '',
  ];
  if (notice.submission) {
    const s = notice.submission;
    const counts = Object.entries(s.counts).map(([k, v]) => `${k}: ${v}`).join(', ');
    lines.push(`Submission ${s.id}${s.reference ? ` (${s.reference})` : ''}`, `   Created: ${when(s.createdAt)}`, `   Completed: ${when(s.completedAt)}`, `   Reports: ${counts || 'none'}`, '');
  }
  if (notice.hostingProvider) {
    lines.push(
      notice.kind === 'removal_confirmed'
        ? 'You were told of the addresses below as the abuse contact (RDAP) of the network hosting them. They no longer serve the content: thank you.'
        : 'You receive this as the abuse contact (RDAP) of the network hosting the addresses below. Please remove the content; '
          + 'the reporting hotline keeps checking and writes again while it stays online.',
      '',
    );
  }
  if (count > 0) {
    lines.push('The addresses below were reported as child sexual abuse material. Open them only in an environment approved for that work.', '');
    notice.reports.forEach((r, i) => lines.push(reportBlock(notice.kind, r, i), ''));
  }
  if (notice.ackUrl) {
    lines.push(
      'Acknowledge this notice (re-alerts continue until removal is confirmed):',
      `   ${notice.ackUrl}`,
      '   Open the link and confirm, or POST to it; add {"status":"actioned"} once you have acted.',
      '',
    );
  }
  lines.push('-- ', 'Sent by vigil. This message carries addresses and hosting metadata only, never the content.');

  return {
    subject,
    text: lines.join('\n'),
    messageId: messageIdFor(notice.id),
    headers: { 'X-Vigil-Notice-Id': notice.id, 'X-Vigil-Notice-Type': WEBHOOK_EVENT_TYPES[notice.kind] },
  };
}
