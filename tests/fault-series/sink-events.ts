/**
 * The receivers' view of the fault series: what the webhook sink and the SMTP sink got, grouped
 * by event — (type, report ids, recipient, sequence) — with the ids each event arrived under
 * (`webhook-id`; `Message-ID`). A redelivery under the same id is allowed (CONTRACT.md §6: a
 * crash after sending may send again); a second id for one event is the failure the series hunts.
 */
import type { SmtpMessage } from '../world/smtp-sink.js';
import type { WebhookDelivery } from '../world/webhook-sink.js';

export interface SinkEvent {
  channel: 'webhook' | 'email';
  /** `notice.initial`, `notice.removal_confirmed`, … */
  type: string;
  reportIds: string[];
  recipient: string;
  sequence: number;
  /** the distinct ids it arrived under: webhook-id, or the notice id behind the Message-ID */
  ids: Set<string>;
  /** how many times it arrived */
  deliveries: number;
}

export interface SinkView {
  /** by `channel/type/report ids/recipient/sequence` */
  events: Map<string, SinkEvent>;
  /** arrivals that do not say what they are, or whose ids disagree with each other */
  malformed: string[];
}

function add(view: SinkView, e: Omit<SinkEvent, 'ids' | 'deliveries'>, id: string): void {
  const key = `${e.channel}/${e.type}/${[...e.reportIds].sort().join(',')}/${e.recipient}/${e.sequence}`;
  const event = view.events.get(key) ?? { ...e, ids: new Set<string>(), deliveries: 0 };
  event.ids.add(id);
  event.deliveries++;
  view.events.set(key, event);
}

/** Notice deliveries only (bodies with a `notice.*` type); the body's id must be the webhook-id. */
export function webhookView(deliveries: readonly WebhookDelivery[], view: SinkView = { events: new Map(), malformed: [] }): SinkView {
  for (const d of deliveries) {
    const body = d.json as { type?: string; id?: string; recipient?: string; sequence?: number; reports?: { id: string }[] } | undefined;
    if (!body?.type?.startsWith('notice.')) continue;
    const id = String(d.headers['webhook-id']);
    if (body.id !== id || typeof body.recipient !== 'string' || typeof body.sequence !== 'number') {
      view.malformed.push(`webhook ${d.path}: id ${body.id} / webhook-id ${id}, recipient ${body.recipient}, sequence ${body.sequence}`);
      continue;
    }
    add(view, { channel: 'webhook', type: body.type, reportIds: (body.reports ?? []).map((r) => r.id), recipient: body.recipient, sequence: body.sequence }, id);
  }
  return view;
}

/**
 * One message per notice (CONTRACT.md §6). What it is comes from its header `X-Vigil-Notice-Type`
 * and its text (`To: <name> (<recipient>)`, `Type: <type>, sequence <n>`, `<i>. Report <id>`); its
 * Message-ID must be `<notice id@vigil>` for the `X-Vigil-Notice-Id` it carries.
 */
export function emailView(messages: readonly SmtpMessage[], view: SinkView = { events: new Map(), malformed: [] }): SinkView {
  for (const m of messages) {
    const type = m.headers['x-vigil-notice-type'];
    const noticeId = m.headers['x-vigil-notice-id'];
    const recipient = /^To: .* \(([^()]+)\)$/m.exec(m.text)?.[1];
    const typeLine = /^Type: (\S+), sequence (\d+)$/m.exec(m.text);
    const reportIds = [...m.text.matchAll(/^\d+\. Report ([0-9a-f-]{36})$/gm)].map((x) => x[1]!);
    if (!type?.startsWith('notice.') || !noticeId || m.messageId !== `<${noticeId}@vigil>` || !recipient || typeLine?.[1] !== type) {
      view.malformed.push(`e-mail ${m.messageId}: X-Vigil-Notice-Id ${noticeId}, type ${type} / ${typeLine?.[1]}, recipient ${recipient}`);
      continue;
    }
    add(view, { channel: 'email', type, reportIds, recipient, sequence: Number(typeLine[2]) }, noticeId);
  }
  return view;
}
