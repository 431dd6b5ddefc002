/**
 * Fault: PostgreSQL goes away under the daemon. The machine's server is never stopped; the
 * outage is simulated on the test's own database:
 * - a restart's connection drop: every backend of the database is terminated (pg_terminate_backend);
 * - an outage: the database refuses new connections (ALLOW_CONNECTIONS false) and every backend is
 *   terminated, until it allows them again.
 * The daemon survives both, /readyz says 503 with the database check failing while it is down and
 * 200 again after, and checks resume: every report is checked again after the recovery.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, submitReports, until, type TestStore } from '../lifecycle/support.js';
import { newPrefix, startTestRedis, type TestRedis } from '../queue/support.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, readyz, startDaemon, type Daemon } from './support.js';

const REPORTS = 20;
let world: World;
let db: TestStore;
let redis: TestRedis;
let daemon: Daemon | undefined;
let admin: pg.Client;

beforeAll(async () => {
  [world, db, redis] = await Promise.all([startWorld({ fleetSize: 1 }), createTestStore(), startTestRedis()]);
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
}, 60_000);

afterAll(async () => {
  await daemon?.kill9();
  await admin?.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await redis?.stop();
  await db?.close();
  await world?.close();
  cleanupDirs();
});

/** Terminates every connection to the test's database (from the admin connection, on another database). */
async function terminateBackends(): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
  return Number(rows[0]?.n ?? 0);
}

const checksSince = async (since: Date): Promise<number> => {
  // a fresh client: the test's own store pool was terminated with the rest
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(
      'SELECT count(*) AS n FROM reports r WHERE EXISTS (SELECT 1 FROM checks c WHERE c.report_id = r.id AND c.started_at > $1)', [since]);
    return Number(rows[0]?.n);
  } finally {
    await c.end();
  }
};

describe('PostgreSQL connections killed', () => {
  it('the daemon survives, /readyz reflects the outage, and work resumes', async () => {
    const urls = Array.from({ length: REPORTS }, (_, i) => world.url(world.hosts[0]!.address, `/page.html?pg=${i}`));
    await submitReports(db.store, urls, new Date());
    daemon = await startDaemon('all', { databaseUrl: db.url, redisUrl: redis.url, world }, newPrefix());
    const url = daemon.url!;
    const started = new Date(Date.now() - 60_000);
    await until(async () => (await checksSince(started)) === REPORTS, 30_000, 'a first round of checks');
    expect((await readyz(url)).status).toBe(200);

    // 1. a restart's connection drop: the pool reconnects, work goes on
    expect(await terminateBackends()).toBeGreaterThan(0);
    const afterDrop = new Date();
    // retried jobs back off: allow a loaded machine time for the retries
    await until(async () => (await checksSince(afterDrop)) === REPORTS, 60_000, 'checks after the connection drop', 250);
    expect(daemon.child.exitCode).toBeNull();

    // 2. an outage: no connection can be had
    await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await terminateBackends();
    const down = await until(async () => {
      const r = await readyz(url);
      return r.status === 503 && r.database?.ok === false ? r : null;
    }, 20_000, '/readyz to report the database down', 200);
    expect(down.database?.detail).toBeTruthy();
    // it stays up through the outage, answering 503, while its loops keep failing
    await until(async () => daemon!.lines().filter((l) => l.level === 40 || l.level === 50).length >= 3, 20_000, 'failures logged during the outage', 200);
    expect((await readyz(url)).status).toBe(503);
    expect(daemon.child.exitCode).toBeNull();

    await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    const recovered = new Date();
    await until(async () => ((await readyz(url)).status === 200 ? true : null), 20_000, '/readyz to recover', 200);
    // every report is checked again: due rows by the dispatcher, failed jobs by their retries
    await until(async () => (await checksSince(recovered)) === REPORTS, 60_000, 'every report checked after the recovery', 500);
    expect(daemon.child.exitCode).toBeNull();

    const { code } = await daemon.term();
    expect(code).toBe(0);
    daemon = undefined;
  }, 240_000);
});
