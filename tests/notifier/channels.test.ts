/**
 * The channels against the loopback world's sinks: webhooks signed per Standard Webhooks (checked
 * with the `standardwebhooks` package itself), no redirect followed, 410 and Retry-After reported,
 * a deadline; force webhooks through the network guard; e-mail through SMTP with the header,
 * Message-ID and ack link.
 */
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Destination, OutboundNotice } from '../../core/channel.js';
import { parseCidrList } from '../../crawler/address-policy.js';
import { createGuardedAgent, type GuardedAgent } from '../../crawler/guarded-agent.js';
import { createEmailChannel } from '../../notifier/email-channel.js';
import { webhookBody } from '../../notifier/render-webhook.js';
import { createWebhookChannel } from '../../notifier/webhook-channel.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startSmtpSink, type SmtpSink } from '../world/smtp-sink.js';
import { startWebhookSink, verifyWebhookSignature, type WebhookSink } from '../world/webhook-sink.js';
import { SECRET_NL } from './support.js';

const notice = (over: Partial<OutboundNotice> = {}): OutboundNotice => ({
  id: '0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b',
  kind: 'initial',
  createdAt: new Date(),
  sequence: 1,
  recipient: 'hotline-nl',
  recipientName: 'Hotline NL',
  reports: [{
    id: '6f1c0a52-3f7e-4c1e-9a57-0a9d3c1f0b11', url: 'http://host-2.fleet.test/page.html', status: 'live',
    hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting', viaCdn: false },
    firstSeenLiveAt: new Date(), lastSeenLiveAt: new Date(), removedAt: null,
  }],
  submission: null,
  ackUrl: 'http://127.0.0.1:8080/v1/notices/0b7f1a2e-5c3d-4e6f-8a9b-0c1d2e3f4a5b/ack?token=t0k',
  ...over,
});

let sink: WebhookSink;
let smtp: SmtpSink;
let trusted: Agent;
/** a guard that admits nothing on loopback: the sink is not in its allow list */
let strictGuard: GuardedAgent;
/** a guard whose allow list names the sink's address (as tests configure crawler.allowNetworks) */
let allowingGuard: GuardedAgent;

beforeAll(async () => {
  [sink, smtp] = await Promise.all([startWebhookSink(), startSmtpSink()]);
  trusted = new Agent({ connect: { timeout: 2000 } });
  const guard = (allow: string[]) => createGuardedAgent({
    resolver: createDnsResolver({ servers: [], timeoutMs: 1000, tries: 1 }), allow: parseCidrList(allow),
    connectTimeoutMs: 2000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, perHostConcurrency: 2,
  });
  strictGuard = guard([]);
  allowingGuard = guard(['127.0.0.1/32']);
});

afterAll(async () => {
  await Promise.all([sink?.close(), smtp?.close(), trusted?.close(), strictGuard?.close(), allowingGuard?.close()]);
});

beforeEach(() => {
  sink.deliveries.length = 0;
  sink.respondWith({ status: 200 });
  smtp.setFailing(null);
});

describe('webhook channel', () => {
  const channel = () => createWebhookChannel({ trusted, guarded: strictGuard.agent, timeoutMs: 1500 });
  const to = (path: string, trustedEndpoint = true): Destination => ({ channel: 'webhook', url: sink.url(path), secret: SECRET_NL, trusted: trustedEndpoint });

  it('POSTs the §6 body, signed so that the standardwebhooks package verifies it', async () => {
    const now = new Date();
    const n = notice();
    expect(await channel().deliver(n, to('/hooks/nl'), { now })).toEqual({ ok: true, httpStatus: 200 });
    const [d] = await sink.waitForDeliveries(1);
    expect(d?.method).toBe('POST');
    expect(d?.headers['content-type']).toBe('application/json');
    expect(d?.headers['webhook-id']).toBe(n.id);
    expect(d?.headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    const verified = new Webhook(SECRET_NL).verify(d?.body ?? '', {
      'webhook-id': String(d?.headers['webhook-id']), 'webhook-timestamp': String(d?.headers['webhook-timestamp']), 'webhook-signature': String(d?.headers['webhook-signature']),
    });
    expect(verified).toEqual(webhookBody(n));
    expect(verifyWebhookSignature(d!, SECRET_NL)).toBe(true);
    expect(verifyWebhookSignature(d!, `whsec_${Buffer.from('another secret entirely').toString('base64')}`)).toBe(false);
  });

  it('follows no redirect: a 3xx is a failed attempt and the target sees nothing', async () => {
    sink.respondWith('/moved', { status: 302, headers: { location: sink.url('/elsewhere') } });
    expect(await channel().deliver(notice(), to('/moved'), { now: new Date() })).toEqual({ ok: false, error: 'redirect_302', httpStatus: 302 });
    await sink.waitForDeliveries(1, 2000, '/moved');
    expect(sink.deliveriesTo('/elsewhere')).toEqual([]);
  });

  it('reports 410 as the endpoint gone, and Retry-After in ms', async () => {
    sink.respondWith('/gone', { status: 410 });
    expect(await channel().deliver(notice(), to('/gone'), { now: new Date() })).toEqual({ ok: false, error: 'http_410', httpStatus: 410, endpointGone: true });
    sink.respondWith('/busy', { status: 503, headers: { 'retry-after': '7' } });
    expect(await channel().deliver(notice(), to('/busy'), { now: new Date() })).toEqual({ ok: false, error: 'http_503', httpStatus: 503, retryAfterMs: 7000 });
    sink.respondWith('/broken', { status: 500, body: 'x'.repeat(100_000) });
    expect(await channel().deliver(notice(), to('/broken'), { now: new Date() })).toEqual({ ok: false, error: 'http_500', httpStatus: 500 });
  });

  it('gives up on a hanging receiver at the deadline', async () => {
    sink.respondWith('/hang', { status: 200, delayMs: 10_000 });
    const started = Date.now();
    expect(await channel().deliver(notice(), to('/hang'), { now: new Date() })).toEqual({ ok: false, error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a refused connection', async () => {
    const result = await channel().deliver(notice(), { channel: 'webhook', url: 'http://127.0.0.1:1/hook', secret: SECRET_NL, trusted: true }, { now: new Date() });
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/^network_/) });
  });

  it('sends webhooks registered through the API through the network guard', async () => {
    const blocked = await channel().deliver(notice({ kind: 'report_removed', ackUrl: null }), to('/force', false), { now: new Date() });
    expect(blocked).toEqual({ ok: false, error: 'network_VIGIL_BLOCKED_ADDRESS' });
    expect(sink.deliveriesTo('/force')).toEqual([]);

    const allowed = createWebhookChannel({ trusted, guarded: allowingGuard.agent, timeoutMs: 1500 });
    expect(await allowed.deliver(notice({ kind: 'report_removed', ackUrl: null }), to('/force', false), { now: new Date() })).toEqual({ ok: true, httpStatus: 200 });
    const [d] = await sink.waitForDeliveries(1, 2000, '/force');
    expect((d?.json as { type: string }).type).toBe('report.removed');
  });
});

describe('e-mail channel', () => {
  const channel = () => createEmailChannel({ url: smtp.url, from: 'vigil@localhost', timeoutMs: 2000 });
  const to: Destination = { channel: 'email', to: ['reports@hotline.test'] };

  it('sends one plain-text message with the notice id header, Message-ID and ack link', async () => {
    const before = smtp.messages.length;
    const n = notice();
    expect(await channel().deliver(n, to, { now: new Date() })).toEqual({ ok: true });
    const messages = await smtp.waitForMessages(before + 1);
    const m = messages[before]!;
    expect(m.envelope.rcptTo).toEqual(['reports@hotline.test']);
    expect(m.from).toBe('vigil@localhost');
    expect(m.headers['x-vigil-notice-id']).toBe(n.id);
    expect(m.messageId).toBe(`<${n.id}@vigil>`);
    expect(m.html).toBeUndefined();
    expect(m.text).toContain('http://host-2.fleet.test/page.html');
    expect(m.text).toContain('127.0.0.2, NL, AS64496');
    expect(m.text).toContain(n.ackUrl);
  });

  it('reports a rejecting relay, and a missing one', async () => {
    smtp.setFailing(451, 'data');
    expect(await channel().deliver(notice(), to, { now: new Date() })).toEqual({ ok: false, error: 'smtp_451' });
    smtp.setFailing(null);
    const none = createEmailChannel({ url: null, from: 'vigil@localhost' });
    expect(await none.deliver(notice(), to, { now: new Date() })).toEqual({ ok: false, error: 'smtp_not_configured' });
  });
});
