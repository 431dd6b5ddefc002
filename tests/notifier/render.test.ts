/**
 * Rendering is pure: the webhook body is exactly CONTRACT.md §6, the e-mail carries the URLs,
 * hosting, the ack link and the notice id — and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { OutboundNotice } from '../../core/channel.js';
import { messageIdFor, renderEmail } from '../../notifier/render-email.js';
import { renderWebhookBody, webhookBody } from '../../notifier/render-webhook.js';

const T = new Date('2030-05-01T12:00:00.000Z');

const notice = (over: Partial<OutboundNotice> = {}): OutboundNotice => ({
  id: '0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b',
  kind: 'initial',
  createdAt: T,
  sequence: 1,
  recipient: 'hotline-nl',
  recipientName: 'Hotline NL',
  reports: [{
    id: '6f1c0a52-3f7e-4c1e-9a57-0a9d3c1f0b11',
    url: 'http://host-2.fleet.test/page.html',
    status: 'live',
    hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting', viaCdn: false },
    firstSeenLiveAt: new Date('2030-05-01T10:00:00.000Z'),
    lastSeenLiveAt: new Date('2030-05-01T11:30:00.000Z'),
    removedAt: null,
  }],
  submission: null,
  ackUrl: 'http://127.0.0.1:8080/v1/notices/0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b/ack?token=abc',
  ...over,
});

describe('renderWebhookBody', () => {
  it('is exactly the §6 shape, keys in order', () => {
    const text = renderWebhookBody(notice());
    expect(text).toBe(JSON.stringify({
      type: 'notice.initial', id: '0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b', createdAt: '2030-05-01T12:00:00.000Z', recipient: 'hotline-nl', sequence: 1,
      reports: [{
        id: '6f1c0a52-3f7e-4c1e-9a57-0a9d3c1f0b11', url: 'http://host-2.fleet.test/page.html', status: 'notified',
        hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting', viaCdn: false },
        firstSeenLiveAt: '2030-05-01T10:00:00.000Z', lastSeenLiveAt: '2030-05-01T11:30:00.000Z', removedAt: null,
      }],
      ackUrl: 'http://127.0.0.1:8080/v1/notices/0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b/ack?token=abc',
    }));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['type', 'id', 'createdAt', 'recipient', 'sequence', 'reports', 'ackUrl']);
  });

  it.each([
    ['initial', 'notice.initial'], ['realert', 'notice.realert'], ['escalation', 'notice.escalation'],
    ['removal_confirmed', 'notice.removal_confirmed'], ['taskforce_alert', 'notice.taskforce_alert'],
    ['report_removed', 'report.removed'], ['submission_completed', 'submission.completed'],
  ] as const)('%s has type %s', (kind, type) => {
    expect(webhookBody(notice({ kind }))['type']).toBe(type);
  });

  it('keeps the status of a removal and an untraced hosting as null', () => {
    const body = webhookBody(notice({
      kind: 'removal_confirmed',
      reports: [{ ...notice().reports[0]!, status: 'removed', hosting: null, removedAt: T }],
    }));
    expect(body['reports']).toEqual([expect.objectContaining({ status: 'removed', hosting: null, removedAt: '2030-05-01T12:00:00.000Z' })]);
  });

  it('adds the submission to submission.completed, before ackUrl', () => {
    const body = webhookBody(notice({
      kind: 'submission_completed', recipient: 'kent', reports: [], ackUrl: null,
      submission: { id: 'sub-1', reference: 'case-9', createdAt: T, completedAt: T, counts: { live: 2, unreachable: 1 } },
    }));
    expect(Object.keys(body)).toEqual(['type', 'id', 'createdAt', 'recipient', 'sequence', 'reports', 'submission', 'ackUrl']);
    expect(body['submission']).toEqual({ id: 'sub-1', reference: 'case-9', createdAt: T.toISOString(), completedAt: T.toISOString(), counts: { live: 2, unreachable: 1 } });
  });
});

describe('renderEmail', () => {
  it('plain text with the URL, hosting, ack link; header and Message-ID from the notice id', () => {
    const mail = renderEmail(notice());
    expect(mail.messageId).toBe('<0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b@vigil>');
    expect(messageIdFor('x')).toBe('<x@vigil>');
    expect(mail.headers['X-Vigil-Notice-Id']).toBe('0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b');
    expect(mail.subject).toBe('[vigil] Illegal content reported: 1 report hosted in NL');
    expect(mail.text).toContain('URL: http://host-2.fleet.test/page.html');
    expect(mail.text).toContain('Hosting: 127.0.0.2, NL, AS64496, Synthetic Hosting');
    expect(mail.text).toContain('http://127.0.0.1:8080/v1/notices/0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b/ack?token=abc');
  });

  it('numbers re-alerts and lists every report of a batch', () => {
    const second = { ...notice().reports[0]!, id: 'r2', url: 'http://host-3.fleet.test/x', hosting: { ip: '127.0.0.3', country: 'DE', asn: 1, org: null, viaCdn: true } };
    const mail = renderEmail(notice({ kind: 'realert', sequence: 3, reports: [notice().reports[0]!, second] }));
    expect(mail.subject).toBe('[vigil] Re-alert: content still online #3: 2 reports hosted in NL, DE');
    expect(mail.text).toContain('2. Report r2');
    expect(mail.text).toContain('Hosting: 127.0.0.3, DE, AS1, (behind a CDN or proxy)');
  });

  it('force events carry no ack link', () => {
    const mail = renderEmail(notice({ kind: 'report_removed', ackUrl: null }));
    expect(mail.text).not.toContain('/ack');
  });
});
