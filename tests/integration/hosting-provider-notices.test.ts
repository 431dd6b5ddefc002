/**
 * `directory.hostingProviders.notify: true` on real parts — the daemon (all roles, in this
 * process) on PostgreSQL and Redis, the loopback world's RDAP server, SMTP sink and webhook sink:
 * an illegal image on the DE host is checked live and traced; the trace finds the network's abuse
 * desk through RDAP (`abuse@as64497.example.test`), which is told by e-mail beside the DE hotline's
 * webhook — and the domain registrar's desk, which does not host anything, is not. After the
 * takedown both hear of the removal. Waits are on the sinks' events.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueId } from '../support/test-env.js';
import { jsonApi, startWorldDaemon, type WorldDaemon } from '../support/world-daemon.js';
import type { World } from '../world/world.js';

const ADMIN = 'hosting-desk-admin-token-0123456789';
const SECRET_DE = `whsec_${Buffer.from('synthetic-secret-desk-hotline-de').toString('base64')}`;
const HOST = '127.0.0.3';
const DESK = 'abuse@as64497.example.test';

let world: World;
let running: WorldDaemon;
const api = jsonApi(() => running.daemon.url);

beforeAll(async () => {
  running = await startWorldDaemon({
    prefix: uniqueId('desk'),
    adminToken: ADMIN,
    extra: (w) => ({
      crawler: { browser: { enabled: false } },
      schedule: { recheck: { live: '1s', notified: '3s' }, removal: { confirmations: 2, window: '1s' } },
      notices: { smtp: { url: w.config().notices.smtp.url } },
      directory: {
        homeCountry: 'GB',
        hostingProviders: { notify: true },
        recipients: [
          { id: 'hotline-de', kind: 'hotline', name: 'Hotline DE', countries: ['DE'], channel: { webhook: { url: w.webhooks.url('/de'), secret: SECRET_DE } } },
        ],
      },
    }),
  });
  world = running.world;
}, 60_000);

afterAll(() => running?.stop());

describe('directory.hostingProviders.notify: the hosting network’s abuse desk is told by e-mail', () => {
  let reportId = '';
  const imageUrl = () => world.url(HOST, '/desk-image.png');

  it('an illegal image traced to DE: the DE hotline gets its webhook and the network’s abuse desk an e-mail; the registrar’s desk nothing', async () => {
    world.host(HOST).http.routeStatic('/desk-image.png', { headers: { 'content-type': 'image/png' }, body: randomBytes(64) });
    expect((await api('POST', '/v1/forces', ADMIN, { id: 'nca', name: 'National Crime Agency' })).status).toBe(201);
    const forceToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { role: 'force', force: 'nca' })).body.token;
    const hotline = world.webhooks.waitForDeliveries(1, 30_000, '/de');
    const mail = world.smtp.waitForMessages(1, 30_000);

    const submitted = await api<{ accepted: number }>('POST', '/v1/submissions', forceToken, { items: [{ url: imageUrl(), verdict: 'illegal' }] });
    expect(submitted.body.accepted).toBe(1);

    const [delivery] = await hotline;
    const body = delivery!.json as { type: string; recipient: string; reports: { id: string }[] };
    expect(body).toMatchObject({ type: 'notice.initial', recipient: 'hotline-de' });
    reportId = body.reports[0]!.id;

    const [message] = await mail;
    expect(message!.envelope.rcptTo).toEqual([DESK]);
    expect(message!.to).toEqual([DESK]);
    expect(message!.subject).toMatch(/^\[vigil\] Illegal content reported: 1 report hosted in DE$/);
    expect(message!.text).toContain('abuse contact (RDAP) of the network hosting');
    expect(message!.text).toContain(imageUrl());
    expect(message!.text).not.toContain('Acknowledge this notice');
    const noticeId = message!.headers['x-vigil-notice-id'];

    // the report's notices, as its force reads them: one to the hotline, one to the desk
    const report = await api<{ notices: { id: string; kind: string; recipient: string }[] }>('GET', `/v1/reports/${reportId}`, forceToken);
    expect(report.body.notices.map((n) => `${n.kind} ${n.recipient}`).sort()).toEqual([`initial ${DESK}`, 'initial hotline-de']);
    expect(report.body.notices.find((n) => n.recipient === DESK)?.id).toBe(noticeId);
    expect(world.smtp.messages.flatMap((m) => m.envelope.rcptTo)).not.toContain('abuse@registrar.example.test');
  }, 60_000);

  it('after the takedown the desk, like the hotline, hears that the content is gone', async () => {
    expect(reportId).not.toBe('');
    const hotline = world.webhooks.waitForDeliveries(2, 45_000, '/de');
    const mail = world.smtp.waitForMessages(2, 45_000);
    world.host(HOST).http.unroute('/desk-image.png');

    const deliveries = await hotline;
    expect(deliveries[1]!.json).toMatchObject({ type: 'notice.removal_confirmed', recipient: 'hotline-de' });
    const messages = await mail;
    expect(messages[1]!.envelope.rcptTo).toEqual([DESK]);
    expect(messages[1]!.subject).toMatch(/^\[vigil\] Removal confirmed: 1 report hosted in DE$/);
    expect(messages[1]!.text).toContain('no longer serve the content');
    expect(world.smtp.messages).toHaveLength(2);
  }, 60_000);
});
