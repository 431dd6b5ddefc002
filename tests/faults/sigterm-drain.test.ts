/**
 * Fault: SIGTERM while the daemon is busy (`shutdown.deadline: 3s`).
 * - Checks that can finish do: the process waits for them, records them, and exits 0 well within
 *   the deadline.
 * - Checks that cannot (their hosts never answer) are handed back to the queue at the deadline and
 *   the process exits 0 soon after; a worker started later runs them and records each once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { createTestStore, submitReports, switchableRoute, until, type TestStore } from '../lifecycle/support.js';
import { captureLog, newPrefix, startTestRedis, tempDir, type TestRedis } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, startDaemon, type Daemon } from './support.js';

const DEADLINE_MS = 3000;
/** the process itself (module teardown on a loaded machine) after the orderly stop */
const EXIT_SLACK_MS = 3000;
let world: World;
/** one database per test: the first test's reports must not come due in the second */
let db: TestStore;
let db2: TestStore;
let redis: TestRedis;
let handle: RedisHandle;
let removeDir: () => Promise<void>;
const daemons: Daemon[] = [];
const queuesToClose: Queues[] = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  [world, db, db2, redis] = await Promise.all([startWorld({ fleetSize: 2 }), createTestStore(), createTestStore(), startTestRedis()]);
  handle = await connectRedis({ url: redis.url, dataDir: dir.dir, log: captureLog().log, startPrivate: false });
}, 60_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill9()));
  await Promise.all(queuesToClose.map((q) => q.close()));
  await handle?.close();
  await redis?.stop();
  await db?.close();
  await db2?.close();
  await world?.close();
  await removeDir?.();
  cleanupDirs();
});

/** From "vigil stopping" to "vigil stopped", by the daemon's own log times. */
function stopDuration(d: Daemon): number {
  const lines = d.lines();
  const at = (msg: string) => Number(lines.find((l) => l.msg === msg)?.time);
  return at('vigil stopped') - at('vigil stopping');
}

const checkCount = async (ids: string[], on = db) => (await on.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM checks WHERE report_id = ANY($1::uuid[])', [ids])).rows[0]!.n;

describe('SIGTERM under load', () => {
  it('drains running checks and exits 0 within the deadline', async () => {
    const host = world.hosts[0]!;
    host.http.injectLatency(800);
    const urls = Array.from({ length: 60 }, (_, i) => world.url(host.address, `/page.html?drain=${i}`));
    const ids = await submitReports(db.store, urls, new Date());
    // at most 4 checks in flight (the per-host limit): all can finish within the deadline
    const d = await startDaemon('all', { databaseUrl: db.url, redisUrl: redis.url, world, config: { crawler: { concurrency: 4 } } }, newPrefix());
    daemons.push(d);
    // busy: checks running (each fetch takes 800 ms)
    await d.waitForLog((l) => l.msg === 'check done', 30_000);
    const { code, ms } = await d.term();
    expect(code).toBe(0);
    expect(stopDuration(d)).toBeLessThan(DEADLINE_MS);
    expect(ms).toBeLessThan(DEADLINE_MS + EXIT_SLACK_MS);
    const lines = d.lines();
    expect(lines.some((l) => String(l.msg).startsWith('shutdown deadline reached'))).toBe(false);
    // checks were running at SIGTERM and finished during the drain
    const stopping = lines.findIndex((l) => l.msg === 'vigil stopping');
    expect(lines.slice(stopping).filter((l) => l.msg === 'check done' && l.applied === true).length).toBeGreaterThan(0);
    // every check the process said it recorded is in the store, none twice
    const done = lines.filter((l) => l.msg === 'check done' && l.applied === true);
    expect(await checkCount(ids)).toBe(done.length);
    expect(new Set(done.map((l) => l.checkId)).size).toBe(done.length);
    host.http.injectLatency(0);
  }, 90_000);

  it('hands checks that cannot finish back to the queue at the deadline; a later worker runs them once', async () => {
    const host = world.hosts[1]!;
    const route = switchableRoute(host.http, '/stuck/*', 'hold');
    const urls = Array.from({ length: 30 }, (_, i) => world.url(host.address, `/stuck/${i}`));
    const ids = await submitReports(db2.store, urls, new Date());
    const prefix = newPrefix();
    const queues = createQueues({ createConnection: handle.createConnection, prefix });
    queuesToClose.push(queues);
    const setup = { databaseUrl: db2.url, redisUrl: redis.url, world, config: { crawler: { concurrency: 4 } } };
    const d = await startDaemon('all', setup, prefix);
    daemons.push(d);
    // 4 fetches held open by the host: the worker is full
    await until(async () => ((await queues.check.getJobCounts('active')).active === 4 ? true : null), 30_000, '4 active checks');

    const { code, ms } = await d.term();
    expect(code).toBe(0);
    // it waited for them most of the deadline (a quarter, at most 1 s, is kept for the hand-back)…
    const stopMs = stopDuration(d);
    expect(stopMs).toBeGreaterThanOrEqual(DEADLINE_MS * 0.7);
    // …and had stopped within it
    expect(stopMs).toBeLessThan(DEADLINE_MS);
    expect(ms).toBeLessThan(DEADLINE_MS + EXIT_SLACK_MS);
    const handedBack = d.lines().find((l) => String(l.msg).startsWith('shutdown deadline reached'));
    expect(handedBack).toMatchObject({ released: 4 });
    expect((await queues.check.getJobCounts('active')).active).toBe(0);
    expect((await queues.check.getJobs(['wait'])).map((j) => j.data.reportId).sort()).toEqual([...ids].sort());
    expect(await checkCount(ids, db2)).toBe(0);

    // a new worker (the host now answers) runs all of them, each once
    route.release('live');
    const w = await startDaemon('worker', setup, prefix);
    daemons.push(w);
    await until(async () => ((await checkCount(ids, db2)) === 30 ? true : null), 40_000, 'all 30 checks recorded');
    const { rows } = await db2.store.sql.query<{ n: number }>('SELECT count(DISTINCT report_id) AS n FROM checks WHERE report_id = ANY($1::uuid[])', [ids]);
    expect(rows[0]?.n).toBe(30);
    expect((await w.term()).code).toBe(0);
  }, 120_000);
});
