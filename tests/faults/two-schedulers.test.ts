/**
 * Fault: two schedulers race on one database. Two dispatchers — each with its own connection pool,
 * as two `--role scheduler` processes would have — drain 3,000 due reports into one (private)
 * Redis at the same time. Every due row is handed out exactly once: no row by both, none missed.
 * Redis would hide a double dispatch (same job id), so the test counts what each dispatcher added.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckPayload } from '../../queue/job-payloads.js';
import { createCheckDispatcher, type CheckJobSink } from '../../queue/check-dispatcher.js';
import { createCheckReconciler } from '../../queue/check-reconciler.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestStore, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog, deferred, newPrefix, startTestRedis, tempDir, type TestRedis } from '../queue/support.js';

const DUE = 3000;
const systemClock = { now: () => new Date() };
let db: TestStore;
let second: SqlStore;
let redis: TestRedis;
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  [db, redis] = await Promise.all([createTestStore(4), startTestRedis()]);
  second = await openStore({ databaseUrl: db.url, dataDir: '/nonexistent-unused', maxConnections: 4 });
  handle = await connectRedis({ url: redis.url, dataDir: dir.dir, log: captureLog().log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix: newPrefix() });
}, 60_000);

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await redis?.stop();
  await second?.close();
  await db?.close();
  await removeDir?.();
});

describe('two schedulers', () => {
  it('never dispatch the same due row twice', async () => {
    const urls = Array.from({ length: DUE }, (_, i) => `https://host-${i % 50}.schedulers.test/item/${i}`);
    await submitReports(db.store, urls, new Date(Date.now() - 1000));

    const added: string[][] = [[], []];
    const allAdded = deferred();
    const sink = (k: 0 | 1): CheckJobSink => ({
      async addBulk(jobs) {
        for (const j of jobs) added[k]!.push(`${(j.data as CheckPayload).reportId}@${(j.data as CheckPayload).dueAt}`);
        const r = await queues.check.addBulk(jobs);
        if (added[0]!.length + added[1]!.length >= DUE) allAdded.resolve();
        return r;
      },
    });
    const log = captureLog().log;
    const dispatchers = [
      createCheckDispatcher({ store: db.store, queue: sink(0), clock: systemClock, log, batchSize: 100, intervalMs: 10 }),
      createCheckDispatcher({ store: second, queue: sink(1), clock: systemClock, log, batchSize: 100, intervalMs: 10 }),
    ];
    // the reconcilers of both schedulers run too, as in production (a grace of 1 s: rows leased
    // longer ago whose job is missing; with no grace at all they would re-add rows between claim
    // and add — a no-op in Redis under the same job id, but a second dispatch all the same)
    const reconcilers = [db.store, second].map((store) => createCheckReconciler({ store, queue: queues.check, clock: systemClock, log, graceMs: 1000, intervalMs: 20 }));
    dispatchers.forEach((d) => d.start());
    reconcilers.forEach((r) => r.start());
    await allAdded.promise;
    await Promise.all([...dispatchers.map((d) => d.stop()), ...reconcilers.map((r) => r.stop())]);

    const all = [...added[0]!, ...added[1]!];
    // both took part
    expect(added[0]!.length).toBeGreaterThan(0);
    expect(added[1]!.length).toBeGreaterThan(0);
    expect(all).toHaveLength(DUE);
    expect(new Set(all).size).toBe(DUE);
    expect(await queues.check.count()).toBe(DUE);
    // nothing left due, and every row leased once
    expect(await db.store.claimDueChecks(new Date(), 10, 60_000)).toEqual([]);
  }, 60_000);
});
