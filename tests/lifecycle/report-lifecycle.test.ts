/**
 * One report through its whole life on the real parts — PostgreSQL, Redis (its own prefix), the
 * dispatcher, a supervised check worker, the HTTP fetcher against a host of the simulated world —
 * with only time faked: first sighting, notices out, removal confirmed over the window despite an
 * inconclusive check, reappearance, removal again, the end of the watch; and an analyst's recheck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_CHALLENGE_PATTERNS } from '../../core/takedown-patterns.js';
import type { LifecyclePolicy } from '../../core/check-transition.js';
import { statusAfterNoticesSent } from '../../core/report-lifecycle.js';
import { HttpFetcher } from '../../crawler/http-fetcher.js';
import { runCheckJob } from '../../queue/check-job.js';
import { createCheckDispatcher, type CheckDispatcher } from '../../queue/check-dispatcher.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { createSupervisedWorker, type SupervisedWorker } from '../../queue/supervised-worker.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { captureLog, deletePrefixKeys, newPrefix, tempDir, TEST_REDIS_URL } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { FakeClock, createTestStore, submitReports, switchableRoute, type SwitchableRoute, type TestStore } from './support.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const T0 = Date.parse('2030-07-01T00:00:00.000Z');
const policy: LifecyclePolicy = {
  recheck: { live: H, notified: 30 * M, removed: D, unreachable: 6 * H, pendingRetry: 15 * M },
  removal: { confirmations: 3, windowMs: H },
  watchAfterRemovalMs: 2 * D,
  expireAfterMs: 90 * D,
};

const prefix = newPrefix();
const clock = new FakeClock(T0);
const capture = captureLog();
let world: World;
let db: TestStore;
let handle: RedisHandle;
let queues: Queues;
let fetcher: HttpFetcher;
let worker: SupervisedWorker<'check'>;
let dispatcher: CheckDispatcher;
let removeDir: () => Promise<void>;
const completed: ((id: string) => void)[] = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  world = await startWorld({ fleetSize: 1 });
  db = await createTestStore();
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: capture.log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
  const cfg = world.config();
  fetcher = new HttpFetcher({
    resolver: createDnsResolver({ servers: cfg.crawler.dnsServers, timeoutMs: 2000, tries: 1 }),
    allowNetworks: cfg.crawler.allowNetworks, userAgent: 'vigil-test', connectTimeoutMs: 2000, totalTimeoutMs: 5000,
    maxBodyBytes: 1_000_000, maxRedirects: 3, concurrency: 8, perHostConcurrency: 4,
  });
  const rules = { takedownPatterns: [], challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
  worker = createSupervisedWorker('check', async (payload, { job, log }) => {
    await runCheckJob({ checkId: String(job.id), reportId: payload.reportId, dueAt: new Date(payload.dueAt) },
      { store: db.store, fetcher, clock, rules, policy, random: () => 0.5, log }, undefined);
  }, { createConnection: () => handle.createConnection('worker'), prefix, log: capture.log, concurrency: 4 });
  worker.current.worker.on('completed', (job) => completed.splice(0).forEach((f) => f(String(job.id))));
  dispatcher = createCheckDispatcher({ store: db.store, queue: queues.check, clock, log: capture.log, leaseMs: 10 * M });
});

afterAll(async () => {
  await worker?.close(1000);
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await fetcher?.close();
  await db?.close();
  await world?.close();
  await removeDir?.();
});

/** Moves time to the report's next due time, dispatches it, and waits for its job to complete. */
async function nextCheck(reportId: string) {
  const before = await db.store.getReportForCheck(reportId);
  expect(before?.nextCheckAt, 'the report is due again').not.toBeNull();
  clock.set(before!.nextCheckAt!);
  const done = new Promise<string>((resolve) => completed.push(resolve));
  expect(await dispatcher.dispatchOnce()).toBe(1);
  await done;
  return (await db.store.getReportForCheck(reportId))!;
}

describe('a report through its life', () => {
  let route: SwitchableRoute;
  let reportId: string;

  it('is seen live and, once the notifier has sent its notices, is notified', async () => {
    const host = world.hosts[0]!;
    route = switchableRoute(host.http, '/item/1', 'live');
    [reportId] = (await submitReports(db.store, [world.url(host.address, '/item/1')], new Date(T0), 'illegal')) as [string];
    const r = await nextCheck(reportId);
    // a verdict of illegal and live, but nobody told yet: still live
    expect(r).toMatchObject({ status: 'live', nextCheckAt: new Date(T0 + H) });
    // the notifier's arrival (issue 6) applies statusAfterNoticesSent
    await db.store.sql.query('UPDATE reports SET status = $2, state_version = state_version + 1 WHERE id = $1', [reportId, statusAfterNoticesSent(r.status, r.verdict)]);
    expect((await db.store.getReportForCheck(reportId))?.status).toBe('notified');
  });

  it('is confirmed removed by 3 gone checks spanning the window; an inconclusive one in between neither counts nor resets', async () => {
    route.mode = 'gone';
    let r = await nextCheck(reportId); // T0 + 1 h: gone 1
    const firstGone = clock.now();
    expect(r).toMatchObject({ status: 'notified', goneStreak: { count: 1, since: firstGone } });
    route.mode = 'inconclusive';
    r = await nextCheck(reportId); // +30 min: 503
    expect(r.goneStreak.count).toBe(1);
    route.mode = 'gone';
    r = await nextCheck(reportId); // +1 h: gone 2
    expect(r).toMatchObject({ status: 'notified', goneStreak: { count: 2, since: firstGone } });
    r = await nextCheck(reportId); // +1.5 h: gone 3, window spanned
    expect(r).toMatchObject({ status: 'removed', removedAt: firstGone, goneStreak: { count: 0, since: null } });
    expect(r.nextCheckAt).toEqual(new Date(clock.now().getTime() + D));
  });

  it('reopens as notified when the content comes back, and is removed again', async () => {
    route.mode = 'live';
    let r = await nextCheck(reportId);
    expect(r).toMatchObject({ status: 'notified', removedAt: null });
    const { rows } = await db.store.sql.query<{ reopen_count: number }>('SELECT reopen_count FROM reports WHERE id = $1', [reportId]);
    expect(rows[0]?.reopen_count).toBe(1);
    route.mode = 'gone';
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) statuses.push((r = await nextCheck(reportId)).status);
    // 30-min cadence: the third gone is the first one an hour after the first
    expect(statuses).toEqual(['notified', 'notified', 'removed']);
  });

  it('is watched for reappearance until watchAfterRemoval, then no longer checked', async () => {
    let r = await db.store.getReportForCheck(reportId);
    const watchEnd = r!.removedAt!.getTime() + 2 * D;
    let checks = 0;
    while (r!.nextCheckAt !== null) {
      r = await nextCheck(reportId);
      checks++;
      expect(checks).toBeLessThan(5);
    }
    expect(r).toMatchObject({ status: 'removed' });
    expect(clock.now().getTime()).toBe(watchEnd);
    const hits = route.hits;
    clock.advance(10 * D);
    expect(await dispatcher.dispatchOnce()).toBe(0);
    expect(route.hits).toBe(hits);
  });

  it('submitted again after its watch ended: checked at once and, live again, reopened for a new episode', async () => {
    route.mode = 'live';
    const [again] = await submitReports(db.store, [world.url(world.hosts[0]!.address, '/item/1')], clock.now(), 'illegal');
    expect(again).toBe(reportId);
    const r = await nextCheck(reportId);
    expect(r).toMatchObject({ status: 'notified', removedAt: null });
    const { rows } = await db.store.sql.query<{ reopen_count: number }>('SELECT reopen_count FROM reports WHERE id = $1', [reportId]);
    expect(rows[0]?.reopen_count).toBe(2);
  });

  it('expired, then submitted again: monitored again from the resubmission, in a new episode', async () => {
    const host = world.hosts[0]!;
    const other = switchableRoute(host.http, '/item/expiring', 'gone');
    const [id] = (await submitReports(db.store, [world.url(host.address, '/item/expiring')], clock.now(), 'illegal')) as [string];
    // never seen live; then its monitoring period is over (set here, not by moving the shared
    // clock, which would make the other report due too): the next check ends monitoring
    expect((await nextCheck(id)).status).toBe('unreachable');
    clock.advance(M); // (a check job's id is its due time: each check here needs a time of its own)
    await db.store.sql.query('UPDATE reports SET expires_at = $2, next_check_at = $2, dispatch_at = $2 WHERE id = $1', [id, clock.now()]);
    expect(await nextCheck(id)).toMatchObject({ status: 'expired', nextCheckAt: null });

    other.mode = 'live';
    clock.advance(M);
    await submitReports(db.store, [world.url(host.address, '/item/expiring')], clock.now(), 'illegal');
    const r = await nextCheck(id);
    expect(r).toMatchObject({ status: 'live' });
    // its new period runs from the resubmission: the next check is on the live cadence, not the end of monitoring
    expect(r.nextCheckAt).toEqual(new Date(clock.now().getTime() + H));
    const { rows } = await db.store.sql.query<{ reopen_count: number; expires_at: Date }>('SELECT reopen_count, expires_at FROM reports WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ reopen_count: 1, expires_at: new Date(clock.now().getTime() + 90 * D) });
  });

  it('an analyst\'s recheck makes a report due at once', async () => {
    const host = world.hosts[0]!;
    switchableRoute(host.http, '/item/2', 'live');
    const [id] = await submitReports(db.store, [world.url(host.address, '/item/2')], clock.now());
    await nextCheck(id!);
    clock.advance(5 * M);
    expect(await db.store.requestCheck(id!, clock.now())).toBe(true);
    const r = await nextCheck(id!);
    expect(r.nextCheckAt).toEqual(new Date(clock.now().getTime() + H));
    const { rows } = await db.store.sql.query<{ n: number }>('SELECT count(*) AS n FROM checks WHERE report_id = $1', [id]);
    expect(rows[0]?.n).toBe(2);
  });
});
