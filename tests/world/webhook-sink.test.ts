import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookSink, verifyWebhookSignature, type WebhookSink } from './webhook-sink.js';

let sink: WebhookSink;
beforeAll(async () => { sink = await startWebhookSink(); });
afterAll(async () => { await sink.close(); });

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const res = await request(sink.url(path), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('startWebhookSink', () => {
  it('records deliveries with path, headers, raw body and parsed JSON; answers 200 by default', async () => {
    expect(sink.url('/hooks/nl')).toBe(`http://127.0.0.1:${sink.port}/hooks/nl`);
    const res = await post('/hooks/nl?x=1', { type: 'notice.initial', id: 'n1' }, { 'webhook-id': 'n1' });
    expect(res.status).toBe(200);
    const d = sink.deliveries.at(-1);
    expect(d).toMatchObject({ method: 'POST', path: '/hooks/nl', body: '{"type":"notice.initial","id":"n1"}', json: { type: 'notice.initial', id: 'n1' }, status: 200 });
    expect(d?.headers['webhook-id']).toBe('n1');
    await request(sink.url('/raw'), { method: 'POST', body: 'not json' }).then((r) => r.body.dump());
    expect(sink.deliveries.at(-1)).toMatchObject({ body: 'not json', json: undefined });
  });

  it('respondWith sets a default per path and for all paths', async () => {
    sink.respondWith('/gone', { status: 410 });
    sink.respondWith({ status: 202, body: 'accepted', headers: { 'x-sink': 'yes' } });
    try {
      expect((await post('/gone', {})).status).toBe(410);
      const other = await post('/anything', {});
      expect(other).toMatchObject({ status: 202, text: 'accepted' });
      expect(other.headers['x-sink']).toBe('yes');
    } finally {
      sink.respondWith({ status: 200 });
    }
  });

  it('scripted responses are used once each, in order: 503 + Retry-After, then 200', async () => {
    sink.script('/flaky', [{ status: 503, headers: { 'retry-after': '1' } }, { status: 500 }]);
    const first = await post('/flaky', { n: 1 });
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect((await post('/flaky', { n: 2 })).status).toBe(500);
    expect((await post('/flaky', { n: 3 })).status).toBe(200);
    expect(sink.deliveriesTo('/flaky').map((d) => d.status)).toEqual([503, 500, 200]);
  });

  it('waitForDeliveries is event-based, filters by path, and times out with a count', async () => {
    const path = `/wait-${randomBytes(4).toString('hex')}`;
    const waiting = sink.waitForDeliveries(2, 5000, path);
    await post('/elsewhere', {});
    await post(path, { n: 1 });
    await post(path, { n: 2 });
    expect((await waiting).map((d) => d.json)).toEqual([{ n: 1 }, { n: 2 }]);
    await expect(sink.waitForDeliveries(3, 50, path)).rejects.toThrow(`expected 3 webhook deliveries to ${path} within 50ms, got 2`);
  });

  it('delayMs holds the response back', async () => {
    sink.script('/slow', [{ status: 200, delayMs: 150 }]);
    const t0 = Date.now();
    await post('/slow', {});
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('verifies Standard Webhooks signatures', async () => {
    const secretBytes = randomBytes(24);
    const secret = `whsec_${secretBytes.toString('base64')}`;
    const body = JSON.stringify({ type: 'notice.initial', id: 'n9' });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const sig = createHmac('sha256', secretBytes).update(`n9.${timestamp}.${body}`).digest('base64');
    await request(sink.url('/signed'), { method: 'POST', body, headers: { 'webhook-id': 'n9', 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${sig}` } }).then((r) => r.body.dump());
    const d = sink.deliveriesTo('/signed')[0];
    expect(d && verifyWebhookSignature(d, secret)).toBe(true);
    expect(d && verifyWebhookSignature(d, `whsec_${randomBytes(24).toString('base64')}`)).toBe(false);
    expect(d && verifyWebhookSignature({ ...d, body: `${body} ` }, secret)).toBe(false);
    expect(verifyWebhookSignature({ headers: {}, body }, secret)).toBe(false);
  });

  it('close() ends keep-alive and in-flight connections and rejects pending waits', async () => {
    const own = await startWebhookSink();
    own.respondWith({ status: 200, delayMs: 60_000 });
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const arrived = once(own.server, 'request');
    const inFlight = request(own.url('/x'), { method: 'POST', body: '{}', dispatcher: agent }).then(() => 'answered', () => 'failed');
    await arrived;
    const pending = own.waitForDeliveries(5, 10_000).catch((err: unknown) => err);
    const t0 = Date.now();
    await own.close();
    expect(await inFlight).toBe('failed');
    expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(own.server.listening).toBe(false);
    await agent.close();
  });
});
