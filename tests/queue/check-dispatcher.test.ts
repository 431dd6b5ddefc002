import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../core/clock.js';
import type { DueCheck, Store } from '../../core/store.js';
import { createCheckDispatcher } from '../../queue/check-dispatcher.js';
import { createWorker } from '../../queue/create-worker.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, connectionOptions, type RedisHandle } from '../../queue/redis-connection.js';
import { captureLog, deferred, deletePrefixKeys, eventCount, newPrefix, startTestRedis, tempDir, TEST_REDIS_URL } from './support.js';
import { Redis } from 'ioredis';

/**
 * A tiny in-memory stand-in for the one Store method the dispatcher uses. Why a fake: the real
 * store (PostgreSQL, FOR UPDATE SKIP LOCKED) is tested by the store conformance suite in
 * tests/store; here we test the dispatcher. It keeps the real store's lease semantics
 * (store/report-queries.ts CLAIM_DUE_CHECKS): a claimed row's due time moves to `now + leaseMs`,
 * so it is not handed out again before then, and the claim returns the due time it had before.
 */
class FakeDueStore implements Pick<Store, 'claimDueChecks'> {
  readonly rows = new Map<string, { dueAt: Date }>();
  claims = 0;
  failNext = 0;
  gate: Promise<void> | null = null;
  onClaim: (() => void) | null = null;

  add(dueAt: Date): string {
    const id = randomUUID();
    this.rows.set(id, { dueAt });
    return id;
  }

  async claimDueChecks(now: Date, limit: number, leaseMs: number): Promise<DueCheck[]> {
    this.claims++;
    this.onClaim?.();
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database is restarting');
    }
    const due = [...this.rows.entries()]
      .filter(([, r]) => r.dueAt.getTime() <= now.getTime())
      .sort(([, a], [, b]) => a.dueAt.getTime() - b.dueAt.getTime())
      .slice(0, limit);
    const claimed = due.map(([reportId, r]) => ({ reportId, url: `https://example.test/${reportId}`, dueAt: r.dueAt }));
    for (const [, r] of due) r.dueAt = new Date(now.getTime() + leaseMs);
    return claimed;
  }
}

class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): Date {
    return new Date(this.t);
  }
}

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const prefix = newPrefix();
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: captureLog().log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
});

afterEach(async () => {
  while (stops.length > 0) await stops.pop()?.();
  await queues.check.obliterate({ force: true });
});

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await removeDir?.();
});

describe('check dispatcher', () => {
  it('moves due rows into the check queue, a full batch after another, and a worker receives them', async () => {
    const store = new FakeDueStore();
    const clock = new FakeClock(T0);
    const due = [1, 2, 3, 4, 5].map((i) => store.add(new Date(T0 - i * 1000)));
    store.add(new Date(T0 + 60_000)); // not due yet
    const dispatched: Array<[number, number]> = [];
    const dispatcher = createCheckDispatcher({
      store, queue: queues.check, clock, log: captureLog().log,
      batchSize: 2, intervalMs: 60_000, leaseMs: 30_000,
      onDispatched: (count, lagMs) => dispatched.push([count, lagMs]),
    });
    const received: string[] = [];
    const worker = createWorker('check', async (payload) => { received.push(payload.reportId); }, {
      connection: handle.createConnection('worker'), prefix, log: captureLog().log, concurrency: 5,
    });
    stops.push(() => worker.close(1000));
    const completed = eventCount(worker.worker, 'completed', 5);
    dispatcher.start();
    stops.push(() => dispatcher.stop());
    // an interval of 60 s: all five within the test only if full batches loop at once
    await completed;
    expect(received.sort()).toEqual([...due].sort());
    expect(dispatched.map(([n]) => n)).toEqual([2, 2, 1]);
    expect(dispatched[0]?.[1]).toBe(5000); // the oldest row of the first batch was 5 s late
    const job = await queues.check.getJob(`check.${due[0]}.${T0 - 1000}`);
    expect(job?.data).toEqual({ reportId: due[0], dueAt: new Date(T0 - 1000).toISOString(), reason: 'scheduled' });
  });

  it('dispatches a row again when its lease runs out (a lost job is replaced), under a new job id', async () => {
    const store = new FakeDueStore();
    const clock = new FakeClock(T0);
    const id = store.add(new Date(T0 - 1));
    const dispatcher = createCheckDispatcher({ store, queue: queues.check, clock, log: captureLog().log, leaseMs: 1000 });
    expect(await dispatcher.dispatchOnce()).toBe(1);
    expect(await dispatcher.dispatchOnce()).toBe(0); // leased
    await queues.check.remove(`check.${id}.${T0 - 1}`); // the job is lost (Redis flushed, say)
    clock.t += 1000; // the lease runs out: the row is due again, at its lease time
    expect(await dispatcher.dispatchOnce()).toBe(1);
    expect((await queues.check.getWaiting()).map((j) => j.id)).toEqual([`check.${id}.${T0 + 1000}`]);
  });

  it('adds one job when the same due row is handed out twice', async () => {
    const row: DueCheck = { reportId: randomUUID(), url: 'https://example.test/x', dueAt: new Date(T0 - 5) };
    // a store that hands the same row out again (its lease lost with a failed transaction reply, say)
    const store = { claimDueChecks: async () => [row] };
    const dispatcher = createCheckDispatcher({ store, queue: queues.check, clock: new FakeClock(T0), log: captureLog().log });
    expect(await dispatcher.dispatchOnce()).toBe(1);
    expect(await dispatcher.dispatchOnce()).toBe(1);
    expect(await queues.check.getWaitingCount()).toBe(1);
  });

  it('survives a failing store: logs, and dispatches on a later tick', async () => {
    const store = new FakeDueStore();
    store.add(new Date(T0 - 1));
    store.failNext = 2;
    const capture = captureLog();
    const done = deferred<number>();
    const dispatcher = createCheckDispatcher({
      store, queue: queues.check, clock: new FakeClock(T0), log: capture.log, intervalMs: 5,
      onDispatched: (count) => done.resolve(count),
    });
    dispatcher.start();
    stops.push(() => dispatcher.stop());
    expect(await done.promise).toBe(1);
    expect(store.claims).toBeGreaterThanOrEqual(3);
    expect(capture.lines().filter((l) => l.msg === 'could not lease due checks; retrying next tick')).toHaveLength(2);
  });

  it('survives Redis going away: the rows stay leased and are dispatched once Redis is back', async () => {
    const redis = await startTestRedis();
    stops.push(() => redis.stop());
    const producer = new Redis(redis.url, connectionOptions('producer'));
    producer.on('error', () => undefined);
    const own = createQueues({ createConnection: () => producer, prefix });
    stops.push(() => own.close());
    const store = new FakeDueStore();
    const clock = new FakeClock(T0);
    const rows = [store.add(new Date(T0 - 1)), store.add(new Date(T0 - 2))];
    const capture = captureLog();
    const dispatcher = createCheckDispatcher({ store, queue: own.check, clock, log: capture.log, leaseMs: 10_000, addTimeoutMs: 2000 });
    await own.check.waitUntilReady();

    await redis.stop();
    expect(await dispatcher.dispatchOnce()).toBe(0);
    expect(capture.lines().some((l) => l.msg === 'could not queue due checks; they come due again when the lease ends')).toBe(true);

    const restarted = await startTestRedis([], redis.port);
    stops.push(() => restarted.stop());
    if (producer.status !== 'ready') await once(producer, 'ready');
    expect(await dispatcher.dispatchOnce()).toBe(0); // still leased
    clock.t += 10_001;
    expect(await dispatcher.dispatchOnce()).toBe(2);
    const ids = (await own.check.getWaiting()).map((j) => j.data.reportId).sort();
    expect(ids).toEqual([...rows].sort());
  });

  it('stop() waits for the iteration in flight, then no more run', async () => {
    const store = new FakeDueStore();
    const gate = deferred();
    const claimed = deferred();
    store.gate = gate.promise;
    store.onClaim = () => claimed.resolve();
    const dispatcher = createCheckDispatcher({ store, queue: queues.check, clock: new FakeClock(T0), log: captureLog().log, intervalMs: 1 });
    dispatcher.start();
    dispatcher.start(); // idempotent
    await claimed.promise;
    let stopped = false;
    const stopping = dispatcher.stop().then(() => { stopped = true; });
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false); // the claim in flight holds stop() up
    gate.resolve();
    await stopping;
    const claims = store.claims;
    store.gate = null;

    // A control dispatcher with the same 1 ms interval: once it has looped five times, a stopped
    // dispatcher that still had a tick scheduled would have run too.
    const control = new FakeDueStore();
    const fiveTicks = deferred();
    control.onClaim = () => { if (control.claims >= 5) fiveTicks.resolve(); };
    const other = createCheckDispatcher({ store: control, queue: queues.check, clock: new FakeClock(T0), log: captureLog().log, intervalMs: 1 });
    other.start();
    await fiveTicks.promise;
    await other.stop();
    expect(store.claims).toBe(claims);
  });
});
