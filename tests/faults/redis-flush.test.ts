/**
 * Fault: the (private) Redis is flushed while the daemon is busy — jobs waiting and running are
 * gone. Nothing is lost: PostgreSQL still holds every due time and lease, the reconciler finds the
 * leased rows whose jobs vanished and hands them out again, and every report is checked again
 * well within the 10-minute lease (so it was the reconciler, not the lease running out).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../queue/job-payloads.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { createTestStore, submitReports, until, type TestStore } from '../lifecycle/support.js';
import { newPrefix, startTestRedis, type TestRedis } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, startDaemon, type Daemon } from './support.js';

const REPORTS = 150;
const prefix = newPrefix();
let world: World;
let db: TestStore;
let redis: TestRedis;
let daemon: Daemon | undefined;

beforeAll(async () => {
  [world, db, redis] = await Promise.all([startWorld({ fleetSize: 2, latencyMs: 150 }), createTestStore(), startTestRedis()]);
}, 60_000);

afterAll(async () => {
  await daemon?.kill9();
  await redis?.stop();
  await db?.close();
  await world?.close();
  cleanupDirs();
});

describe('Redis flushed under load', () => {
  it('loses nothing: every report is checked again within a few reconcile passes', async () => {
    const urls = Array.from({ length: REPORTS }, (_, i) => world.url(world.hosts[i % 2]!.address, `/page.html?r=${i}`));
    await submitReports(db.store, urls, new Date());
    // 150 reports every 2 s through 16 fetches of 150 ms: more work than the worker can do, so
    // jobs wait in Redis
    daemon = await startDaemon('all', { databaseUrl: db.url, redisUrl: redis.url, world }, prefix);
    const checks = async () => (await db.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM checks')).rows[0]!.n;
    await until(async () => (await checks()) >= REPORTS, 30_000, 'a first round of checks');

    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const keys = await client.keys('*check:wait');
      expect(keys.length).toBeGreaterThan(0);
      const waiting = await client.llen(keys[0]!);
      expect(waiting, 'jobs are waiting when Redis is flushed').toBeGreaterThan(0);
      const inFlightBefore = (await db.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM reports WHERE dispatch_at > next_check_at')).rows[0]!.n;
      expect(inFlightBefore).toBeGreaterThan(0);
      await client.flushall(); // private Redis: this test's own server
    } finally {
      client.disconnect();
    }
    const flushedAt = new Date();

    // every report gets a check that started after the flush: lease 10 min, reconcile every 1 s
    const checkedAfter = async () => (await db.store.sql.query<{ n: number }>(
      'SELECT count(*) AS n FROM reports r WHERE EXISTS (SELECT 1 FROM checks c WHERE c.report_id = r.id AND c.started_at > $1)', [flushedAt])).rows[0]!.n;
    await until(async () => (await checkedAfter()) === REPORTS, 45_000, 'every report checked again after the flush', 250);
    expect(daemon.lines().some((l) => l.msg === 'checks lost from the queue handed out again')).toBe(true);
    expect(daemon.child.exitCode).toBeNull();

    // nothing stuck in flight without a job: every row leased more than a pass ago has its job
    const stuck = await db.store.listInFlightChecks(new Date(Date.now() + 600_000 - 3000), 10_000);
    const client2 = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      for (const row of stuck) {
        const jobId = jobIdFor('check', { reportId: row.reportId, dueAt: row.dueAt.toISOString(), reason: 'scheduled' });
        expect(await client2.exists(`${queuePrefix(prefix)}:check:${jobId}`), `job of ${row.reportId}`).toBe(1);
      }
    } finally {
      client2.disconnect();
    }
    const { code } = await daemon.term();
    expect(code).toBe(0);
    daemon = undefined;
  }, 150_000);
});
