/**
 * `queue.*`: BullMQ on Redis, and the dispatcher that moves due schedule rows from PostgreSQL into
 * it (DESIGN.md "Store of record"). Durations are output in milliseconds.
 */
import { z } from 'zod';
import { duration } from './duration.js';
import { urlWithScheme } from './field-formats.js';
import { integer } from './integer.js';

/** `queue`: work in flight. */
export const queueSchema = z.strictObject({
  /**
   * Redis ≥ 6.2 holding the queues. Overridden by `REDIS_URL`. When nothing answers at the
   * default address and `redis-server` is on PATH, the daemon starts a private one.
   * @default redis://127.0.0.1:6379
   */
  redisUrl: urlWithScheme(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
  /**
   * Prefix of every Redis key, so several deployments can share one Redis.
   * @default vigil
   */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected letters, digits, ".", "_" or "-" (at most 64)' })
    .default('vigil'),
  /**
   * Jobs of each non-crawler queue (tracing, notices, webhooks, dispatch) processed at once per
   * worker process. Check jobs are bounded by `crawler.concurrency` instead.
   * @default 16
   */
  workerConcurrency: integer(1, 1_024).default(16),
  /**
   * How long a worker holds a job's lock between renewals; a job whose lock lapses (its worker
   * died) is stalled and given to another worker. Longer = slower recovery from a crashed
   * worker; shorter = more Redis traffic and false stalls on a busy event loop.
   * @default 60s
   */
  lockDuration: duration({ min: 1_000 }).prefault('60s'),
  /**
   * How often the dispatcher looks for due rows (next check, next re-alert) in PostgreSQL. Also
   * the worst-case delay added to a due time, so `vigil_schedule_lag_seconds` rarely drops below it.
   * @default 1s
   */
  dispatchInterval: duration({ min: 10 }).prefault('1s'),
  /**
   * Most due rows moved into BullMQ per dispatch round (one `FOR UPDATE SKIP LOCKED` batch).
   * Bounds Redis memory and the length of each transaction; a backlog drains over several rounds.
   * @default 500
   */
  dispatchBatch: integer(1, 100_000).default(500),
  /**
   * How long a dispatched check counts as in flight. A due row not completed within this time
   * (its job lost with Redis, or its worker gone) is dispatched again by the reconciler. Must be
   * longer than `crawler.timeouts.total`, or checks still running are dispatched twice.
   * @default 10m
   */
  checkLease: duration({ min: 1_000 }).prefault('10m'),
  /**
   * How often each worker looks for jobs whose worker died (their lock lapsed) and returns them to
   * the queue. A crashed worker's check is retried within `lockDuration + stalledInterval`.
   * @default 30s
   */
  stalledInterval: duration({ min: 500 }).prefault('30s'),
  /**
   * Times a job may lose its worker before it fails for good (the reconciler then hands its
   * check out again; see README "Scaling out").
   * @default 2
   */
  maxStalledCount: integer(0, 100).default(2),
  /**
   * How often the worker watchdog checks that each BullMQ worker still takes jobs (it recreates
   * one that stopped, e.g. after a Redis reconnect).
   * @default 10s
   */
  watchdogInterval: duration({ min: 100 }).prefault('10s'),
  /**
   * How often the scheduler's reconciler looks for dispatched checks whose job is gone from Redis
   * (Redis flushed or restarted) and hands them out again.
   * @default 30s
   */
  reconcileInterval: duration({ min: 100 }).prefault('30s'),
});

/** The parsed `queue` section. */
export type QueueConfig = z.output<typeof queueSchema>;
