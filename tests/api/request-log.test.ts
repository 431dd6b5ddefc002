/**
 * The API's request log lines (pino, through fastify): an acknowledgement link's `token` is a
 * credential, so it never reaches a log line; the rest of the URL does, to follow a request.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthenticator } from '../../api/auth.js';
import { createApiServer } from '../../api/create-api-server.js';
import { openTestStore, testClock, type TestStore } from '../notifier/support.js';
import { logCapture } from '../support/test-env.js';

let db: TestStore;
let app: FastifyInstance;
const { lines, sink } = logCapture();
const clock = testClock();

beforeAll(async () => {
  db = await openTestStore();
  app = await createApiServer({
    store: db.store, clock, log: pino({ level: 'info' }, sink), auth: createAuthenticator({ store: db.store, clock, adminToken: null }), newId: randomUUID,
    readiness: async () => ({ ready: true, checks: {} }), limits: { maxItems: 10, maxBodyBytes: 1024 * 1024 }, accepting: () => true,
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
});

it('masks the token of an acknowledgement link in the request log; keeps the path and other parameters', async () => {
  const secret = `tok${randomUUID().replace(/-/g, '')}`;
  const noticeId = randomUUID();
  for (const url of [`/v1/notices/${noticeId}/ack?token=${secret}`, `/v1/notices/${noticeId}/ack?status=received&TOKEN=${secret}&x=1`]) {
    await app.inject({ method: 'GET', url });
    await app.inject({ method: 'POST', url, payload: {} });
  }
  const logged = lines.join('');
  expect(logged).not.toContain(secret);
  const urls = lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).flatMap((l) => (l.req?.url ? [l.req.url] : []));
  expect(urls).toContain(`/v1/notices/${noticeId}/ack?token=[redacted]`);
  expect(urls).toContain(`/v1/notices/${noticeId}/ack?status=received&TOKEN=[redacted]&x=1`);
});
