import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isVigilError, VigilError } from '../../core/errors.js';
import { createWorker, type JobHandler, type VigilWorker } from '../../queue/create-worker.js';
import type { QueueName } from '../../queue/queue-names.js';
import { createQueues, type Queues } from '../../queue/queues.js';
import { connectRedis, type RedisHandle } from '../../queue/redis-connection.js';
import { captureLog, deferred, deletePrefixKeys, eventCount, newPrefix, tempDir, TEST_REDIS_URL, type LogCapture } from './support.js';

const prefix = newPrefix();
let handle: RedisHandle;
let queues: Queues;
let capture: LogCapture;
let removeDir: () => Promise<void>;
const workers: VigilWorker[] = [];

beforeAll(async () => {
  const dir = await tempDir();
  removeDir = dir.remove;
  capture = captureLog();
  handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: dir.dir, log: capture.log, startPrivate: false });
  // short back-off so a retry shows up within the test
  queues = createQueues({
    createConnection: handle.createConnection,
    prefix,
    jobOptions: { trace: { attempts: 2, backoff: { type: 'fixed', delay: 10 } }, notify: { attempts: 3, backoff: { type: 'fixed', delay: 10 } } },
  });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(1000)));
  await Promise.all(queues.all().map((q) => q.obliterate({ force: true })));
});

afterAll(async () => {
  await queues?.close();
  await handle?.close();
  await deletePrefixKeys(TEST_REDIS_URL, prefix);
  await removeDir?.();
});

function start<Q extends QueueName>(name: Q, handler: JobHandler<Q>, extra: { lockDuration?: number; stalledInterval?: number } = {}): VigilWorker<Q> {
  const w = createWorker(name, handler, { connection: handle.createConnection('worker'), prefix, log: capture.log, ...extra });
  workers.push(w as unknown as VigilWorker);
  return w;
}

describe('createWorker', () => {
  it('hands the handler the validated payload and a logger that carries the job id', async () => {
    const seen: unknown[] = [];
    const w = start('notify', async (payload, ctx) => {
      seen.push(payload);
      ctx.log.info('handling');
      return 'ok';
    });
    const completed = eventCount(w.worker, 'completed', 1);
    const job = await queues.add('notify', { noticeId: 'n-valid' });
    await completed;
    expect(seen).toEqual([{ noticeId: 'n-valid' }]);
    const line = capture.lines().find((l) => l.msg === 'handling' && l.jobId === job.id);
    expect(line).toMatchObject({ queue: 'notify', jobId: 'notify.n-valid' });
  });

  it('fails a job with an invalid payload at once, without calling the handler or retrying', async () => {
    let calls = 0;
    const w = start('notify', async () => { calls++; });
    const failed = eventCount(w.worker, 'failed', 1);
    // written by something that skipped validation (an older vigil, a hand-made job)
    await queues.notify.add('notify', { noticeId: 'bad id with spaces' } as never, { jobId: 'raw-bad' });
    const [[job]] = (await failed) as [[Job]];
    expect(calls).toBe(0);
    expect(job.failedReason).toContain('JOB_PAYLOAD_INVALID');
    expect(job.attemptsMade).toBe(1); // notify allows 3 attempts here: it was not retried
    expect(await queues.notify.getJobState('raw-bad')).toBe('failed');
  });

  it('retries a transient failure and fails a permanent VigilError without retry', async () => {
    const attempts = new Map<string, number>();
    const w = start('notify', async (payload) => {
      const n = (attempts.get(payload.noticeId) ?? 0) + 1;
      attempts.set(payload.noticeId, n);
      if (payload.noticeId === 'flaky' && n === 1) throw new Error('connection reset');
      if (payload.noticeId === 'doomed') throw new VigilError('VALIDATION_FAILED', 'recipient config is wrong');
      return n;
    });
    const completed = eventCount(w.worker, 'completed', 1);
    const failed = eventCount(w.worker, 'failed', 2); // flaky's first attempt, doomed's only one
    await queues.add('notify', { noticeId: 'flaky' });
    await queues.add('notify', { noticeId: 'doomed' });
    await Promise.all([completed, failed]);
    expect(attempts.get('flaky')).toBe(2);
    expect(attempts.get('doomed')).toBe(1);
    expect(await queues.notify.getJobState('notify.doomed')).toBe('failed');
    expect(await queues.notify.getJobState('notify.flaky')).toBe('completed');
  });

  it('close(deadline) waits for a job that finishes in time', async () => {
    const started = deferred();
    const finish = deferred();
    const w = start('notify', async () => {
      started.resolve();
      await finish.promise;
      return 'done';
    });
    await queues.add('notify', { noticeId: 'slow-but-ok' });
    await started.promise;
    let closed = false;
    const closing = w.close(10_000).then((r) => { closed = true; return r; });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false); // still waiting for the running job
    finish.resolve();
    expect(await closing).toEqual({ released: 0 });
    expect(await queues.notify.getJobState('notify.slow-but-ok')).toBe('completed');
  });

  it('close(deadline) hands an unfinished job back to the queue, and another worker runs it', async () => {
    const started = deferred();
    let abortReason: unknown;
    const stuck = start('trace', async (_payload, ctx) => {
      started.resolve();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      abortReason = ctx.signal.reason;
      throw new Error('aborted');
    });
    const reportId = randomUUID();
    const job = await queues.add('trace', { reportId, checkId: 'c1' });
    await started.promise;

    const t0 = Date.now();
    const { released } = await stuck.close(300);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(released).toBe(1);
    expect(isVigilError(abortReason, 'SHUTTING_DOWN')).toBe(true);
    expect(await queues.trace.getJobState(job.id as string)).toBe('waiting');
    // handed back, not failed: the interrupted attempt is not counted
    expect((await queues.trace.getJob(job.id as string))?.attemptsMade).toBe(0);

    const ran: unknown[] = [];
    const next = start('trace', async (payload) => { ran.push(payload); });
    await eventCount(next.worker, 'completed', 1);
    expect(ran).toEqual([{ reportId, checkId: 'c1' }]);
    const after = await queues.trace.getJob(job.id as string);
    expect(after?.attemptsMade).toBe(1); // the successful run only
    expect(after?.failedReason ?? '').toBe('');
  });
});
