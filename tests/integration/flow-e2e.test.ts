/**
 * The whole flow on real parts — intake → check → trace → decide → notify — with the daemon (all
 * roles, in this process) on the machine's PostgreSQL and Redis and the loopback world: a force
 * submits an image on the NL host with verdict `illegal`; the check sees it live; the trace places
 * it in NL (country and ASN from the world's mmdb files, RDAP from the world's server); the NL
 * hotline's webhook gets a signed `notice.initial`; the report is `notified`. Then the image is
 * taken down, rechecks (tiny schedules) confirm the removal, and the hotline is told
 * `notice.removal_confirmed`. Then a report submitted without a verdict is checked and traced,
 * and only an analyst's `illegal` verdict gets its hotline told. Waits are on the sinks' events;
 * only the API reads poll.
 */
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniqueId } from '../support/test-env.js';
import { jsonApi, startWorldDaemon, type WorldDaemon } from '../support/world-daemon.js';
import { verifyWebhookSignature, type WebhookDelivery } from '../world/webhook-sink.js';
import type { World } from '../world/world.js';

const ADMIN = 'flow-e2e-admin-token-0123456789ab';
const SECRET_NL = `whsec_${Buffer.from('synthetic-secret-flow-hotline-nl').toString('base64')}`;

let world: World;
let running: WorldDaemon;
const api = jsonApi(() => running.daemon.url);

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: running.db.url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

interface NoticeBody {
  type: string;
  id: string;
  recipient: string;
  sequence: number;
  reports: { id: string; url: string; status: string; hosting: { ip: string | null; country: string | null; asn: number | null; org: string | null; viaCdn: boolean } }[];
  ackUrl?: string;
}

function expectSigned(delivery: WebhookDelivery): NoticeBody {
  expect(verifyWebhookSignature(delivery, SECRET_NL)).toBe(true);
  const body = delivery.json as NoticeBody;
  expect(delivery.headers['webhook-id']).toBe(body.id);
  return body;
}

beforeAll(async () => {
  running = await startWorldDaemon({
    prefix: uniqueId('flow'),
    adminToken: ADMIN,
    extra: (w) => ({
      crawler: { browser: { enabled: false } },
      // An initial needs a check no older than `recheck.notified`: long enough for the trace to run
      // after the first check; short enough that removal is confirmed within seconds. `live: 1s`:
      // the notifier's arrival does not move the due time the live check set.
      schedule: { recheck: { live: '1s', notified: '3s' }, removal: { confirmations: 2, window: '1s' } },
      notices: { smtp: { url: w.config().notices.smtp.url } },
      directory: {
        homeCountry: 'GB',
        recipients: [
          { id: 'hotline-nl', kind: 'hotline', name: 'Hotline NL', countries: ['NL'], channel: { webhook: { url: w.webhooks.url('/nl'), secret: SECRET_NL } } },
          { id: 'le-star', kind: 'law_enforcement', name: 'Law enforcement (fallback)', countries: ['*'], channel: { email: { to: ['le@vigil.test'] } } },
        ],
      },
    }),
  });
  world = running.world;
}, 60_000);

afterAll(() => running?.stop());

describe('the whole flow: intake → check → trace → decide → notify → removal', () => {
  let forceToken = '';
  let reportId = '';
  const imageUrl = () => world.url('127.0.0.2', '/image.png');

  it('a force submits an illegal image; it is checked live, traced to NL, and the NL hotline is told', async () => {
    expect((await api('POST', '/v1/forces', ADMIN, { id: 'met', name: 'Metropolitan Police' })).status).toBe(201);
    forceToken = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { role: 'force', force: 'met' })).body.token;
    const initialDelivered = world.webhooks.waitForDeliveries(1, 30_000, '/nl');

    const submitted = await api<{ id: string; accepted: number }>('POST', '/v1/submissions', forceToken, {
      reference: 'OP-FLOW-1', items: [{ url: imageUrl(), verdict: 'illegal' }],
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body.accepted).toBe(1);

    const [delivery] = await initialDelivered;
    const body = expectSigned(delivery!);
    reportId = body.reports[0]!.id;
    expect(body).toMatchObject({ type: 'notice.initial', recipient: 'hotline-nl', sequence: 1 });
    expect(body.reports).toHaveLength(1);
    expect(body.reports[0]).toMatchObject({
      url: imageUrl(),
      hosting: { ip: '127.0.0.2', country: 'NL', asn: 64496, org: expect.stringContaining('NL'), viaCdn: false },
    });

    // the trace is the store's record of where and why: one row, tied to the live check
    const traces = await sql<{ id: string; check_id: string; country: string; asn: string; provenance: { ipSource: string; databases: unknown[] } }>(
      'SELECT id, check_id, country, asn, provenance FROM traces WHERE report_id = $1', [reportId]);
    expect(traces).toHaveLength(1);
    expect(traces[0]!.id).toBe(`trace.${reportId}.${traces[0]!.check_id}`);
    expect(traces[0]).toMatchObject({ country: 'NL', asn: '64496', provenance: { ipSource: 'observed' } });
    expect(traces[0]!.provenance.databases.length).toBeGreaterThan(0);
    const notices = await sql<{ reason: { rule: string; traceId: string | null } }>('SELECT reason FROM notices WHERE report_id = $1', [reportId]);
    expect(notices).toEqual([{ reason: expect.objectContaining({ rule: 'country_hotline', traceId: traces[0]!.id }) }]);

    // only the notifier's arrival makes the report `notified`
    await vi.waitFor(async () => {
      const report = await api<{ status: string; hosting: { country: string } | null }>('GET', `/v1/reports/${reportId}`, forceToken);
      expect(report.body.status).toBe('notified');
      expect(report.body.hosting?.country).toBe('NL');
    }, { timeout: 10_000, interval: 100 });
    // nobody else was told: NL has a hotline, so the "*" law enforcement is not a recipient
    expect(world.smtp.messages).toHaveLength(0);
    // its one item checked and traced: the submission is complete
    await vi.waitFor(async () => {
      const view = await api<{ completedAt: string | null }>('GET', `/v1/submissions/${submitted.body.id}`, forceToken);
      expect(view.body.completedAt).not.toBeNull();
    }, { timeout: 10_000, interval: 100 });
  }, 60_000);

  it('the image is taken down; rechecks confirm the removal and the hotline is told', async () => {
    expect(reportId).not.toBe('');
    const removalDelivered = world.webhooks.waitForDeliveries(2, 45_000, '/nl');
    world.host('127.0.0.2').http.unroute('/image.png');
    expect((await request(imageUrl().replace(/^http:\/\/[^/]+/, world.host('127.0.0.2').http.origin))).statusCode).toBe(404);

    const deliveries = await removalDelivered;
    const body = expectSigned(deliveries[1]!);
    expect(body).toMatchObject({ type: 'notice.removal_confirmed', recipient: 'hotline-nl' });
    expect(body.reports[0]).toMatchObject({ id: reportId, url: imageUrl(), status: 'removed', hosting: { country: 'NL' } });
    expect(body.id).not.toBe(deliveries[0]!.headers['webhook-id']);

    const report = await api<{ status: string; checks: { outcome: string }[] }>('GET', `/v1/reports/${reportId}`, forceToken);
    expect(report.body.status).toBe('removed');
    expect(report.body.checks.filter((c) => c.outcome === 'gone').length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('submitted without a verdict: checked live and traced, nobody told; an analyst finds it illegal and the NL hotline is told', async () => {
    expect(forceToken).not.toBe('');
    const before = world.webhooks.deliveriesTo('/nl').length;
    const url = world.url('127.0.0.2', '/image.jpg');
    const analyst = (await api<{ token: string }>('POST', '/v1/keys', ADMIN, { role: 'analyst' })).body.token;
    const submitted = await api<{ id: string }>('POST', '/v1/submissions', forceToken, { reference: 'OP-FLOW-2', items: [{ url }] });
    expect(submitted.status).toBe(202);

    // live and located, and the submission complete (every item checked and traced): nothing to tell yet
    let id = '';
    await vi.waitFor(async () => {
      const view = await api<{ completedAt: string | null; items: { reportId: string; status: string; hosting: { country: string | null } | null }[] }>(
        'GET', `/v1/submissions/${submitted.body.id}`, forceToken);
      expect(view.body.items[0]).toMatchObject({ status: 'live', hosting: { country: 'NL' } });
      expect(view.body.completedAt).not.toBeNull();
      id = view.body.items[0]!.reportId;
    }, { timeout: 15_000, interval: 100 });
    expect((await sql('SELECT id FROM notices WHERE report_id = $1', [id])).length).toBe(0);

    const told = world.webhooks.waitForDeliveries(before + 1, 30_000, '/nl');
    expect((await api('POST', `/v1/reports/${id}/verdict`, analyst, { verdict: 'illegal' })).status).toBe(200);
    const body = expectSigned((await told)[before]!);
    expect(body).toMatchObject({ type: 'notice.initial', recipient: 'hotline-nl', sequence: 1, reports: [{ id, url, hosting: { country: 'NL' } }] });
    await vi.waitFor(async () => {
      expect((await api<{ status: string }>('GET', `/v1/reports/${id}`, forceToken)).body.status).toBe('notified');
    }, { timeout: 10_000, interval: 100 });
  }, 60_000);
});
