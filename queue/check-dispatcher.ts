/**
 * The due-dispatcher: moves check rows that are due from the store of record into the `check`
 * queue, in batches (DESIGN.md "Store of record is PostgreSQL").
 *
 * Each iteration leases up to `batchSize` due rows (`Store.claimDueChecks`: their due time moves
 * `leaseMs` ahead) and adds one check job per row under its deterministic id (report + due time),
 * so adding the same row with the same due time twice is a no-op. Nothing is lost when a step
 * fails: rows whose jobs never reached Redis, or were lost with it, come due again when the lease
 * runs out and are dispatched again, at their lease time and so under a new id (that is the
 * reconciler). Hence the lease must outlast a check's wait in the queue, or a row still waiting
 * gets a second job. A failing store or Redis is logged and retried next tick; the loop never
 * throws.
 *
 * While a full batch comes back it loops again at once (a backlog drains at the speed of
 * PostgreSQL and Redis, not one batch per interval); otherwise it sleeps `intervalMs`. The loop is
 * core/tick-loop.ts, shared with the outbox dispatcher.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { createTickLoop } from '../core/tick-loop.js';
import type { DueCheck, Store } from '../core/store.js';
import { buildJob, type CheckPayload, type JobSpec } from './job-payloads.js';
import { withTimeout } from './with-timeout.js';

/** What the dispatcher needs of a queue: BullMQ's `Queue#addBulk`. */
export interface CheckJobSink {
  addBulk(jobs: { name: 'check'; data: CheckPayload; opts?: { jobId?: string } }[]): Promise<unknown>;
}

export interface CheckDispatcherOptions {
  store: Pick<Store, 'claimDueChecks'>;
  /** the `check` queue */
  queue: CheckJobSink;
  clock: Clock;
  log: Logger;
  /** pause between iterations that found less than a full batch @default 1000 */
  intervalMs?: number;
  /** rows leased per iteration @default 500 */
  batchSize?: number;
  /** how long a dispatched row stays leased; longer than a check normally waits in the queue @default 600000 */
  leaseMs?: number;
  /** an add that takes longer is abandoned for this tick (Redis may still be connecting) @default 10000 */
  addTimeoutMs?: number;
  /** metrics hook: jobs added by one batch, and how late the oldest of them was */
  onDispatched?: (count: number, lagMs: number) => void;
}

export interface CheckDispatcher {
  /** Start the loop (first iteration at once). Idempotent. */
  start(): void;
  /** Stop the loop and wait for the iteration in flight. Idempotent. */
  stop(): Promise<void>;
  /**
   * Lease and dispatch one batch now.
   * @returns rows dispatched; 0 also when the store or Redis failed (logged)
   */
  dispatchOnce(): Promise<number>;
}

export function createCheckDispatcher(options: CheckDispatcherOptions): CheckDispatcher {
  const intervalMs = options.intervalMs ?? 1000;
  const batchSize = options.batchSize ?? 500;
  const leaseMs = options.leaseMs ?? 600_000;
  const addTimeoutMs = options.addTimeoutMs ?? 10_000;
  const log = options.log.child({ component: 'check-dispatcher' });

  /** @returns whether a full batch came back (more may be due) */
  async function iteration(): Promise<{ count: number; full: boolean }> {
    const now = options.clock.now();
    let due: DueCheck[];
    try {
      due = await options.store.claimDueChecks(now, batchSize, leaseMs);
    } catch (err) {
      log.warn({ err }, 'could not lease due checks; retrying next tick');
      return { count: 0, full: false };
    }
    if (due.length === 0) return { count: 0, full: false };
    let jobs: JobSpec<'check'>[];
    try {
      jobs = due.map((row) => buildJob('check', { reportId: row.reportId, dueAt: row.dueAt.toISOString(), reason: 'scheduled' }));
    } catch (err) {
      // a row the schema refuses is a store bug; its lease makes it come back, so say it loudly
      log.error({ err, count: due.length }, 'due rows make invalid check jobs; left leased');
      return { count: 0, full: false };
    }
    try {
      await withTimeout(options.queue.addBulk(jobs), addTimeoutMs);
    } catch (err) {
      log.warn({ err, count: due.length, leaseMs }, 'could not queue due checks; they come due again when the lease ends');
      return { count: 0, full: false };
    }
    const oldest = Math.min(...due.map((row) => row.dueAt.getTime()));
    const lagMs = Math.max(0, now.getTime() - oldest);
    log.debug({ count: due.length, lagMs }, 'dispatched due checks');
    try {
      options.onDispatched?.(due.length, lagMs);
    } catch (err) {
      log.warn({ err }, 'onDispatched hook threw');
    }
    return { count: due.length, full: due.length >= batchSize };
  }

  const loop = createTickLoop(iteration, {
    intervalMs,
    onError: (err) => log.error({ err }, 'check dispatch tick failed'),
    timers: { setTimeout, clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    async dispatchOnce() {
      return (await iteration()).count;
    },
  };
}
