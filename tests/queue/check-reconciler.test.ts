/**
 * The reconciler on the real store (PostgreSQL) and Redis (the shared one, under a prefix of its
 * own; "losing" jobs means obliterating that prefix's queue, never FLUSHALL): checks whose jobs
 * vanished are handed out again under the same job id, jobs still queued are left alone, jobs
 * that failed for good are replaced, and rows leased a moment ago are not touched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCheckDispatcher } from '../../queue/check-dispatcher.js';
import { createCheckReconciler } from '../../queue/check-reconciler.js';
import { createWorker } from '../../queue/create-worker.js';
import { VigilError } from '../../core/errors.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { FakeClock, createTestStore, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog, deferred, deletePrefixKeys, eventCount, newPrefix, tempDir, TEST_REDIS_URL } from './support.js';

const T0 = Date.parse('2030-06-01T00:00:00.000Z');
const LEASE = 600_000;
const GRACE = 30_000;
const prefix = newPrefix();
let db: TestStore;
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;
const clock = new FakeClock(T0);
const log = captureLog().log;

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  db = await createTestStore();
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
});

afterEach(async () => {
  await queues.check.obliterate({ force: true });
  // park what a test left due
  await db.store.claimDueChecks(new Date('2999-01-01T00:00:00Z'), 1_000_000, 0);
});

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await db?.close();
  await removeDir?.();
});

const dispatcher = () => createCheckDispatcher({ store: db.store, queue: queues.check, clock, log, leaseMs: LEASE, batchSize: 1000 });
const reconciler = () => createCheckReconciler({ store: db.store, queue: queues.check, clock, log, leaseMs: LEASE, graceMs: GRACE, pageSize: 7 });

let n = 0;
async function reports(count: number): Promise<string[]> {
  clock.set(new Date(T0));
  return submitReports(db.store, Array.from({ length: count }, () => `https://host-${++n}.reconciler.test/`), new Date(T0));
}

async function jobIds(): Promise<string[]> {
  const jobs = await queues.check.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  return jobs.map((j) => String(j.id)).sort();
}

describe('check reconciler', () => {
  it('re-dispatches every check whose job Redis lost, under the same job id', async () => {
    await reports(20);
    expect(await dispatcher().dispatchOnce()).toBe(20);
    const before = await jobIds();
    expect(before).toHaveLength(20);

    await queues.check.obliterate({ force: true }); // Redis lost them
    clock.advance(GRACE);
    const pass = await reconciler().reconcileOnce();
    expect(pass).toEqual({ inspected: 20, missing: 20, finished: 0, released: 20 });
    // due at once again, without waiting for the 10-minute lease
    expect(await dispatcher().dispatchOnce()).toBe(20);
    expect(await jobIds()).toEqual(before);
  });

  it('leaves checks whose jobs are still queued, and rows leased within the grace', async () => {
    await reports(5);
    await dispatcher().dispatchOnce();
    clock.advance(GRACE - 1);
    expect((await reconciler().reconcileOnce()).inspected).toBe(0);
    clock.advance(1);
    expect(await reconciler().reconcileOnce()).toEqual({ inspected: 5, missing: 0, finished: 0, released: 0 });
    expect(await dispatcher().dispatchOnce()).toBe(0);
  });

  it('replaces a job that failed for good, which would otherwise swallow the re-add for an hour', async () => {
    const [id] = await reports(1);
    await dispatcher().dispatchOnce();
    const [job] = await queues.check.getJobs(['waiting']);
    // a worker fails it for good (a permanent error: no retries)
    const worker = createWorker('check', async () => { throw new VigilError('NOT_FOUND', 'a permanent failure'); }, {
      connection: handle.createConnection('worker'), prefix, log,
    });
    const failed = eventCount(worker.worker, 'failed', 1);
    await failed;
    await worker.close(1000);
    expect((await queues.check.getJob(String(job!.id)))?.finishedOn).toBeTruthy();
    clock.advance(GRACE);
    expect(await reconciler().reconcileOnce()).toMatchObject({ finished: 1, released: 1 });
    expect(await queues.check.getJob(String(job!.id))).toBeUndefined();
    expect(await dispatcher().dispatchOnce()).toBe(1);
    const again = await queues.check.getJob(String(job!.id));
    expect(again?.data.reportId).toBe(id);
    expect(again?.finishedOn).toBeFalsy();
  });

  it('does nothing for a row whose check was recorded meanwhile', async () => {
    const [id] = await reports(1);
    await dispatcher().dispatchOnce();
    await queues.check.obliterate({ force: true });
    const report = await db.store.getReportForCheck(id!);
    await db.store.recordCheck({
      id: 'done', reportId: id!, outcome: 'live', reason: 'http_200', httpStatus: 200, vantage: null, startedAt: clock.now(), durationMs: 1,
      nextStatus: 'live', nextCheckAt: new Date(T0 + 3_600_000), expectVersion: report!.stateVersion,
    });
    clock.advance(GRACE);
    expect(await reconciler().reconcileOnce()).toEqual({ inspected: 0, missing: 0, finished: 0, released: 0 });
  });

  it('runs on its interval once started and never throws when the store fails', async () => {
    await reports(3);
    await dispatcher().dispatchOnce();
    await queues.check.obliterate({ force: true });
    clock.advance(GRACE);
    const released = deferred<number>();
    const r = createCheckReconciler({ store: db.store, queue: queues.check, clock, log, leaseMs: LEASE, graceMs: GRACE, intervalMs: 20, onReconciled: released.resolve });
    r.start();
    expect(await released.promise).toBe(3);
    await r.stop();

    const failing = createCheckReconciler({
      store: { listInFlightChecks: async () => { throw new Error('db down'); }, releaseCheckLease: async () => false },
      queue: queues.check, clock, log,
    });
    expect(await failing.reconcileOnce()).toEqual({ inspected: 0, missing: 0, finished: 0, released: 0 });
  });
});
