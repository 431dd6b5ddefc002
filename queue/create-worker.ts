/**
 * A BullMQ Worker for one of the flow's queues, with vigil's rules around the handler:
 * - the payload is validated before the handler runs; an invalid one fails the job at once,
 *   without retries (it would be just as invalid next time);
 * - a permanent VigilError (`transient: false`) fails the job without retries too; any other
 *   error is retried per the queue's attempts and back-off;
 * - logs go through a child logger carrying `queue` and `jobId`;
 * - `close(deadlineMs)` is the graceful-shutdown path (DESIGN.md house style 9): stop taking jobs,
 *   let running ones finish until the deadline, then hand the unfinished ones back to the queue
 *   (moved to waiting at once; if even that fails, their lock expires and another worker's
 *   stalled check picks them up) and force-close. Their handlers see their `signal` abort.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isVigilError, VigilError } from '../core/errors.js';
import { parsePayload, type PayloadOf } from './job-payloads.js';
import { queuePrefix, type QueueName } from './queue-names.js';

export interface JobContext<Q extends QueueName> {
  job: Job<PayloadOf<Q>>;
  /** aborts when the worker stops waiting for this job (shutdown deadline) or on `worker.cancelJob` */
  signal: AbortSignal;
  /** child logger with `queue` and `jobId` */
  log: Logger;
}

export type JobHandler<Q extends QueueName, R = unknown> = (payload: PayloadOf<Q>, ctx: JobContext<Q>) => Promise<R>;

export interface CreateWorkerOptions {
  /** a `worker` connection (`maxRetriesPerRequest: null`); BullMQ duplicates it for blocking reads */
  connection: Redis;
  /** `queue.prefix` @default 'vigil' */
  prefix?: string;
  /** jobs run at once by this worker @default 1 */
  concurrency?: number;
  /** ms a job's lock lives without renewal; a crashed worker's jobs come back after it @default 30000 */
  lockDuration?: number;
  /** ms between checks for stalled jobs @default 30000 */
  stalledInterval?: number;
  /** times a job may stall (its worker died) before it fails @default 1 */
  maxStalledCount?: number;
  log: Logger;
}

export interface VigilWorker<Q extends QueueName = QueueName> {
  readonly name: Q;
  readonly worker: Worker<PayloadOf<Q>>;
  /**
   * Stop taking jobs, wait for running ones up to `deadlineMs`, then return the unfinished ones
   * to the queue and force-close. Idempotent. @default 30000
   * @returns how many unfinished jobs were handed back
   */
  close(deadlineMs?: number): Promise<{ released: number }>;
}

interface Running {
  job: Job;
  token: string | undefined;
  controller: AbortController;
}

export function createWorker<Q extends QueueName>(name: Q, handler: JobHandler<Q>, options: CreateWorkerOptions): VigilWorker<Q> {
  const log = options.log.child({ queue: name });
  const running = new Map<string, Running>();
  const released = new Set<string>();
  let onIdle: (() => void) | undefined;

  const processor = async (job: Job<PayloadOf<Q>>, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const jobLog = log.child({ jobId: job.id });
    let payload: PayloadOf<Q>;
    try {
      payload = parsePayload(name, job.data);
    } catch (err) {
      jobLog.error({ err }, 'invalid job payload; failed without retry');
      throw unrecoverable(err);
    }
    const controller = new AbortController();
    if (signal?.aborted) controller.abort(signal.reason);
    else signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    const id = job.id ?? '';
    running.set(id, { job, token, controller });
    try {
      const result = await handler(payload, { job, signal: controller.signal, log: jobLog });
      jobLog.debug('job done');
      return result;
    } catch (err) {
      if (released.has(id)) {
        jobLog.debug({ err }, 'handler of a job handed back at shutdown ended');
        throw err;
      }
      const permanent = isVigilError(err) && !err.transient;
      const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
      if (permanent || attemptsLeft <= 0) jobLog.error({ err, attempt: job.attemptsMade + 1 }, 'job failed for good');
      else jobLog.warn({ err, attempt: job.attemptsMade + 1, attemptsLeft }, 'job failed; will retry');
      throw permanent ? unrecoverable(err) : err;
    } finally {
      running.delete(id);
      if (running.size === 0) onIdle?.();
    }
  };

  const worker = new Worker<PayloadOf<Q>>(name, processor, {
    connection: options.connection,
    prefix: queuePrefix(options.prefix),
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDuration ?? 30_000,
    stalledInterval: options.stalledInterval ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 1,
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled (its worker stopped renewing the lock); back to waiting'));

  let closing: Promise<{ released: number }> | undefined;
  const close = (deadlineMs = 30_000) => {
    closing ??= (async () => {
      await worker.pause(true).catch((err: unknown) => log.warn({ err }, 'pausing the worker failed'));
      if (running.size > 0 && !(await idleWithin(deadlineMs))) {
        const unfinished = [...running.values()];
        let count = 0;
        for (const r of unfinished) released.add(r.job.id ?? '');
        await Promise.all(unfinished.map(async ({ job, token }) => {
          try {
            await job.moveToWait(token);
            count++;
          } catch (err) {
            log.warn({ err, jobId: job.id }, 'could not hand the job back; it returns when its lock expires');
          }
        }));
        // force: the shared connection is marked closing, so late results of these handlers are dropped
        await worker.close(true);
        for (const r of unfinished) r.controller.abort(new VigilError('SHUTTING_DOWN', 'worker closed: job handed back to the queue'));
        log.warn({ released: count, deadlineMs }, 'shutdown deadline reached; unfinished jobs handed back to the queue');
        return { released: count };
      }
      await worker.close();
      return { released: 0 };
    })();
    return closing;
  };

  function idleWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { onIdle = undefined; resolve(false); }, ms);
      onIdle = () => { clearTimeout(timer); onIdle = undefined; resolve(true); };
    });
  }

  return { name, worker, close };
}

function unrecoverable(err: unknown): UnrecoverableError {
  const e = new UnrecoverableError(err instanceof Error ? err.message : String(err));
  (e as Error).cause = err;
  return e;
}
