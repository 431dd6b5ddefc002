/**
 * The producer side of the flow's queues: one BullMQ Queue per step, sharing one fail-fast
 * connection, with default job options that keep Redis memory bounded.
 */
import { Queue, type DefaultJobOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { buildJob, type CheckPayload, type NotifyPayload, type PayloadOf, type TracePayload } from './job-payloads.js';
import { QUEUE_NAMES, queuePrefix, type QueueName } from './queue-names.js';
import type { ConnectionPurpose } from './redis-connection.js';

/**
 * Retries: exponential back-off with 50 % jitter, so jobs that failed together (a database
 * restart) do not retry together. These are failures of our own infrastructure or of a
 * channel, not check outcomes: an unreachable URL is a completed check with outcome `gone`.
 *
 * Retention: finished jobs are kept for the dashboard and for deduplication (an add with the
 * id of a job still kept is a no-op), bounded by age (seconds) and count so Redis memory does
 * not grow with throughput. BullMQ trims by age only when another job of the queue finishes.
 * Failed checks are kept only an hour: the row's lease brings the check back anyway, and while a
 * failed job is kept, adding one with its id (same report, same due time) is a no-op.
 */
export const DEFAULT_JOB_OPTIONS: Readonly<Record<QueueName, DefaultJobOptions>> = Object.freeze({
  check: {
    attempts: 4,
    backoff: { type: 'exponential', delay: 15_000, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 3600, count: 10_000 },
  },
  trace: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 10_000, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
  },
  notify: {
    // 30 s doubling: the twelfth attempt comes about 17 h after the first
    attempts: 12,
    backoff: { type: 'exponential', delay: 30_000, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
  },
});

export interface Queues {
  /** the BullMQ prefix in use, e.g. `{vigil}` */
  readonly prefix: string;
  readonly check: Queue<CheckPayload, unknown, 'check'>;
  readonly trace: Queue<TracePayload, unknown, 'trace'>;
  readonly notify: Queue<NotifyPayload, unknown, 'notify'>;
  all(): Queue[];
  /**
   * Validate `payload` and add it under its deterministic job id: adding the same work again
   * while the first job is kept in Redis returns that job and adds nothing.
   * @throws VigilError JOB_PAYLOAD_INVALID
   * @throws Error from Redis when it is unreachable (fails fast; nothing is queued)
   */
  add<Q extends QueueName>(queue: Q, payload: PayloadOf<Q>): Promise<Job>;
  /** {@link add} for many; validates all before adding any. */
  addBulk<Q extends QueueName>(queue: Q, payloads: readonly PayloadOf<Q>[]): Promise<Job[]>;
  /** Close the queues and the connection they share. */
  close(): Promise<void>;
}

export interface CreateQueuesOptions {
  /** usually `RedisHandle.createConnection`; called once, with `producer` */
  createConnection: (purpose: ConnectionPurpose) => Redis;
  /** `queue.prefix`, wrapped in a hash tag by {@link queuePrefix} @default 'vigil' */
  prefix?: string;
  /** per-queue overrides merged over {@link DEFAULT_JOB_OPTIONS} */
  jobOptions?: Partial<Record<QueueName, DefaultJobOptions>>;
}

export function createQueues(options: CreateQueuesOptions): Queues {
  const prefix = queuePrefix(options.prefix);
  const connection = options.createConnection('producer');
  const make = <Q extends QueueName>(name: Q) =>
    new Queue<PayloadOf<Q>, unknown, Q>(name, {
      connection,
      prefix,
      defaultJobOptions: { ...DEFAULT_JOB_OPTIONS[name], ...options.jobOptions?.[name] },
    });
  const queues = { check: make('check'), trace: make('trace'), notify: make('notify') };
  const byName = (name: QueueName) => queues[name] as unknown as Queue;
  let closing: Promise<void> | undefined;

  return {
    prefix,
    ...queues,
    all: () => QUEUE_NAMES.map(byName),
    add: async (name, payload) => {
      const spec = buildJob(name, payload);
      return byName(name).add(spec.name, spec.data, spec.opts);
    },
    addBulk: async (name, payloads) => {
      const specs = payloads.map((p) => buildJob(name, p));
      return specs.length === 0 ? [] : byName(name).addBulk(specs);
    },
    close: () => {
      closing ??= (async () => {
        await Promise.all(QUEUE_NAMES.map((n) => byName(n).close()));
        // shared with the queues, so Queue.close() leaves it open
        await connection.quit().catch(() => { if (connection.status !== 'end') connection.disconnect(); });
      })();
      return closing;
    },
  };
}
