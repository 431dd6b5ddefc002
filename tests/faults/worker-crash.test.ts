/**
 * Fault: a worker process is killed with SIGKILL in the middle of a check (its fetch is held open
 * by a world host until the kill). Another worker process takes the job over once the dead one's
 * lock lapses, and the check is applied exactly once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCheckDispatcher } from '../../queue/check-dispatcher.js';
import { jobIdFor } from '../../queue/job-payloads.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { createTestStore, submitReports, switchableRoute, type TestStore } from '../lifecycle/support.js';
import { captureLog, newPrefix, startTestRedis, tempDir, type TestRedis } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, startDaemon, type Daemon } from './support.js';

const systemClock = { now: () => new Date() };
const prefix = newPrefix();
let world: World;
let db: TestStore;
let redis: TestRedis;
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;
const daemons: Daemon[] = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  [world, db, redis] = await Promise.all([startWorld({ fleetSize: 1 }), createTestStore(), startTestRedis()]);
  handle = await connectRedis({ url: redis.url, dataDir: dir.dir, log: captureLog().log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
}, 60_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill9()));
  await queues?.close();
  await handle?.close();
  await redis?.stop();
  await db?.close();
  await world?.close();
  await removeDir?.();
  cleanupDirs();
});

describe('kill -9 of a worker mid-job', () => {
  it('the job is retried by another worker and its check applied once', async () => {
    const host = world.hosts[0]!;
    const route = switchableRoute(host.http, '/held', 'hold');
    const [reportId] = await submitReports(db.store, [world.url(host.address, '/held')], new Date(Date.now() - 1000), 'illegal');
    const due = (await db.store.getReportForCheck(reportId!))!.nextCheckAt!;
    const checkId = jobIdFor('check', { reportId: reportId!, dueAt: due.toISOString(), reason: 'scheduled' });

    const setup = { databaseUrl: db.url, redisUrl: redis.url, world };
    const a = await startDaemon('worker', setup, prefix);
    daemons.push(a);
    const held = route.nextHeld();
    // the scheduler role, in this process: hands the due report to the queue once
    const dispatcher = createCheckDispatcher({ store: db.store, queue: queues.check, clock: systemClock, log: captureLog().log });
    expect(await dispatcher.dispatchOnce()).toBe(1);
    await held; // worker A is fetching, and the host holds its response

    const b = await startDaemon('worker', setup, prefix);
    daemons.push(b);
    const applied = b.waitForLog((l) => l.msg === 'check done' && l.reportId === reportId, 30_000);
    const stalled = b.waitForLog((l) => /stalled/.test(String(l.msg)), 30_000);
    expect((await queues.check.getJobCounts('active')).active).toBe(1);

    await a.kill9();
    route.mode = 'live';
    // A's lock (2 s) lapses; B's stalled check (every 1 s) returns the job to the queue; B runs it
    await stalled;
    const line = await applied;
    expect(line).toMatchObject({ applied: true, outcome: 'live', status: 'live', checkId });
    expect(a.stdout()).not.toContain('"msg":"check done"');

    const { rows } = await db.store.sql.query<{ id: string }>('SELECT id FROM checks WHERE report_id = $1', [reportId]);
    expect(rows.map((r) => r.id)).toEqual([checkId]);
    expect(await db.store.getReportForCheck(reportId!)).toMatchObject({ status: 'live', stateVersion: 1 });
    expect(route.hits).toBe(2); // once by A (killed), once by B
    // BullMQ marks the job finished just after the handler's "check done" line: wait for it
    const job = await vi.waitFor(async () => {
      const j = await queues.check.getJob(checkId!);
      expect(j?.finishedOn).toBeTruthy();
      return j;
    }, { timeout: 15_000, interval: 50 });
    expect(job?.stalledCounter).toBe(1);
  }, 120_000);
});
