/**
 * The worker watchdog: a BullMQ worker whose loop ended behind vigil's back, or that takes no job
 * while jobs wait, is recreated, and the queue is served again. A private redis-server restart
 * shows the supervised worker serving jobs after Redis came back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { createSupervisedWorker, type SupervisedWorker } from '../../queue/supervised-worker.js';
import { captureLog, deferred, deletePrefixKeys, eventCount, newPrefix, startTestRedis, tempDir, TEST_REDIS_URL, type LogCapture } from './support.js';

const prefix = newPrefix();
let handle: RedisHandle;
let queues: Queues;
let capture: LogCapture;
let removeDir: () => Promise<void>;
const supervised: SupervisedWorker<'notify'>[] = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  capture = captureLog();
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: capture.log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
});

afterEach(async () => {
  await Promise.all(supervised.splice(0).map((w) => w.close(1000)));
  await queues.notify.obliterate({ force: true });
});

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await removeDir?.();
});

describe('supervised worker (watchdog)', () => {
  it('recreates a worker whose loop ended behind its back, and the queue is served again', async () => {
    const seen: string[] = [];
    const restarted = deferred<string>();
    const w = createSupervisedWorker('notify', async (p) => { seen.push(p.noticeId); }, {
      createConnection: () => handle.createConnection('worker'), prefix, log: capture.log, intervalMs: 60_000, onRestart: restarted.resolve,
    });
    supervised.push(w);
    const first = w.current;
    const done1 = eventCount(first.worker, 'completed', 1);
    await queues.add('notify', { noticeId: 'before' });
    await done1;

    // BullMQ's loop ends without vigil asking (as after a lost connection): 'closed' fires
    await first.worker.close();
    expect(await restarted.promise).toBe('worker loop ended');
    expect(w.current).not.toBe(first);
    expect(w.restarts).toBe(1);

    const done2 = eventCount(w.current.worker, 'completed', 1);
    await queues.add('notify', { noticeId: 'after' });
    await done2;
    expect(seen).toEqual(['before', 'after']);
    expect(capture.lines().some((l) => l.msg === 'worker stopped taking jobs; recreating it')).toBe(true);
  });

  it('a paused loop (not running) is found by the periodic check', async () => {
    const restarted = deferred<string>();
    const w = createSupervisedWorker('notify', async () => undefined, {
      createConnection: () => handle.createConnection('worker'), prefix, log: capture.log, intervalMs: 50, onRestart: restarted.resolve,
    });
    supervised.push(w);
    await w.current.worker.waitUntilReady();
    await w.current.worker.pause(true);
    expect(await restarted.promise).toBe('worker loop ended');
    expect(w.current.worker.isRunning()).toBe(true);
  });

  it('recreates a worker that starts no job while jobs wait; leaves a healthy idle one alone', async () => {
    let waiting = 0;
    let t = 1_000_000;
    const w = createSupervisedWorker('notify', async () => undefined, {
      createConnection: () => handle.createConnection('worker'), prefix, log: capture.log, intervalMs: 60_000,
      waitingCount: async () => waiting, stuckAfterMs: 100, now: () => t,
    });
    supervised.push(w);
    expect(await w.check()).toBeNull();
    t += 150;
    expect(await w.check()).toBeNull(); // idle, nothing waits
    // jobs "wait" (as seen by the queue) yet this worker starts none: the first sighting starts the clock
    waiting = 3;
    expect(await w.check()).toBeNull();
    t += 99;
    expect(await w.check()).toBeNull();
    t += 1;
    expect(await w.check()).toBe('no job started for 100 ms while 3 wait');
    expect(w.restarts).toBe(1);
  });

  it('serves jobs after its (private) Redis restarts', async () => {
    const redis = await startTestRedis();
    const dir = await tempDir();
    let own: RedisHandle | undefined;
    let ownQueues: Queues | undefined;
    try {
      own = await connectRedis({ url: redis.url, dataDir: dir.dir, log: capture.log, startPrivate: false });
      const h = own;
      ownQueues = createQueues({ createConnection: h.createConnection, prefix });
      const seen: string[] = [];
      const got = new Map<string, () => void>();
      const w = createSupervisedWorker('notify', async (p) => { seen.push(p.noticeId); got.get(p.noticeId)?.(); }, {
        createConnection: () => h.createConnection('worker'), prefix, log: capture.log, intervalMs: 200,
        waitingCount: () => ownQueues!.notify.getWaitingCount(), stuckAfterMs: 2000,
      });
      supervised.push(w);
      const waitFor = (id: string) => new Promise<void>((resolve) => got.set(id, resolve));
      const a = waitFor('a');
      await ownQueues.add('notify', { noticeId: 'a' });
      await a;

      await redis.stop();
      const again = await startTestRedis([], redis.port);
      try {
        const b = waitFor('b');
        // the producer connection fails fast while Redis is away; retry until it is back
        for (let i = 0; ; i++) {
          try { await ownQueues.add('notify', { noticeId: 'b' }); break; } catch (err) { if (i > 50) throw err; await new Promise((r) => setTimeout(r, 100)); }
        }
        await b;
        expect(seen).toEqual(['a', 'b']);
      } finally {
        await w.close(1000);
        await ownQueues.close();
        await own.close();
        await again.stop();
      }
    } finally {
      await redis.stop();
      await dir.remove();
    }
  }, 30_000);
});
