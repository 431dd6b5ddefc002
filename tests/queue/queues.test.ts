import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/errors.js';
import { freePort } from '../../queue/process-tools.js';
import { queueCounts, redisHealth } from '../../queue/queue-health.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, connectionOptions, type RedisHandle } from '../../queue/redis-connection.js';
import { captureLog, deletePrefixKeys, newPrefix, tempDir, TEST_REDIS_URL } from './support.js';

const reportId = '0b7e6a52-8f0e-4d8f-9a51-2c3d4e5f6a7b';
const prefix = newPrefix();
let handle: RedisHandle;
let queues: Queues;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: captureLog().log, startPrivate: false });
  queues = createQueues({ createConnection: handle.createConnection, prefix });
});

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await removeDir?.();
});

describe('createQueues', () => {
  it('has the three queues under the hash-tagged prefix', () => {
    expect(queues.prefix).toBe(`{${prefix}}`);
    expect(queues.all().map((q) => q.name)).toEqual(['check', 'trace', 'notify']);
    expect(queues.check.opts.prefix).toBe(`{${prefix}}`);
  });

  it('adds a check job once per report and due time (deterministic id dedupes)', async () => {
    const payload = { reportId, dueAt: '2026-06-01T12:00:00.000Z', reason: 'scheduled' as const };
    const first = await queues.add('check', payload);
    const again = await queues.add('check', payload);
    const bulk = await queues.addBulk('check', [payload, payload]);
    expect(first.id).toBe(`check.${reportId}.${Date.parse(payload.dueAt)}`);
    expect(again.id).toBe(first.id);
    expect(bulk.map((j) => j.id)).toEqual([first.id, first.id]);
    expect(await queues.check.getWaitingCount()).toBe(1);

    const later = await queues.add('check', { ...payload, dueAt: '2026-06-01T13:00:00.000Z' });
    expect(later.id).not.toBe(first.id);
    expect(await queues.check.getWaitingCount()).toBe(2);
  });

  it('rejects an invalid payload and adds nothing', async () => {
    const before = await queues.notify.getWaitingCount();
    await expect(queues.add('notify', { noticeId: 'has:colon' })).rejects.toSatisfy((err) => isVigilError(err, 'JOB_PAYLOAD_INVALID'));
    await expect(queues.addBulk('notify', [{ noticeId: 'fine' }, { noticeId: '' }])).rejects.toSatisfy((err) => isVigilError(err, 'JOB_PAYLOAD_INVALID'));
    expect(await queues.notify.getWaitingCount()).toBe(before);
  });

  it('applies bounded default job options: retries with jittered back-off, bounded retention', async () => {
    const job = await queues.add('notify', { noticeId: 'opts-check' });
    expect(job.opts.attempts).toBeGreaterThan(1);
    expect(job.opts.backoff).toMatchObject({ type: 'exponential', jitter: expect.any(Number) });
    expect(job.opts.removeOnComplete).toMatchObject({ age: expect.any(Number), count: expect.any(Number) });
    expect(job.opts.removeOnFail).toMatchObject({ age: expect.any(Number), count: expect.any(Number) });
  });

  it('keeps every key under the hash tag (one Redis Cluster slot)', async () => {
    const probe = new Redis(TEST_REDIS_URL);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await probe.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key.startsWith(`{${prefix}}:`)).toBe(true);
    } finally {
      probe.disconnect();
    }
  });
});

describe('queue health', () => {
  it('counts jobs per queue and state', async () => {
    const counts = await queueCounts(queues);
    expect(Object.keys(counts)).toEqual(['check', 'trace', 'notify']);
    expect(counts.check).toEqual({ waiting: 2, active: 0, delayed: 0, failed: 0 });
    expect(counts.notify?.waiting).toBe(1);
  });

  it('reports Redis up, and down within its timeout', async () => {
    const health = handle.createConnection('health');
    await once(health, 'ready');
    expect(await redisHealth(health)).toMatchObject({ ok: true, latencyMs: expect.any(Number) });

    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, connectionOptions('health'));
    dead.on('error', () => undefined);
    try {
      const started = Date.now();
      const result = await redisHealth(dead, 500);
      expect(result.ok).toBe(false);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      dead.disconnect();
    }
  });
});
