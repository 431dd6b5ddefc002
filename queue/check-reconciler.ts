/**
 * The reconciler: finds checks that were handed to the queue but are no longer in it, and hands
 * them out again (DESIGN.md "a lost Redis loses nothing: a reconciler re-dispatches what is due").
 *
 * Why not just wait for the lease: a dispatched row comes due again by itself when its lease
 * (`queue.checkLease`, 10 min) runs out, so nothing is ever lost without the reconciler. But the
 * lease must be longer than a check's wait in a busy queue, and after Redis is flushed or
 * restarted without its data every report in flight would wait out that whole lease. Worse, a
 * job that failed for good (its retries spent while PostgreSQL was down) is kept in Redis for an
 * hour, and re-adding the same job id is a no-op while it is kept. The reconciler closes both
 * gaps within `intervalMs + graceMs`:
 *
 * every `intervalMs`, for each row leased at least `graceMs` ago whose check has not been
 * recorded (store `listInFlightChecks`), it looks up the job by its deterministic id:
 * - waiting, delayed, active: nothing to do (the queue has it);
 * - missing (Redis flushed, restarted, or the add never reached it): the lease is released
 *   (compare-and-set), so the dispatcher hands the row out at once under the same id;
 * - finished (failed for good, or completed without recording — never in normal operation): the
 *   job is removed first, then the lease released, so the re-add is not swallowed by it.
 *
 * Several schedulers may run it at once: a release is compare-and-set on the row's due time and
 * lease, and a second dispatch of one row is a no-op under its deterministic job id. The grace
 * keeps it off rows that were leased a moment ago and are being added right now.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { InFlightCheck, Store } from '../core/store.js';
import { jobIdFor } from './job-payloads.js';
import { withTimeout } from './with-timeout.js';

/** What the reconciler needs of the `check` queue: BullMQ's `Queue#getJob`. */
export interface CheckJobLookup {
  getJob(jobId: string): Promise<Pick<Job, 'finishedOn' | 'remove'> | undefined>;
}

export interface CheckReconcilerOptions {
  store: Pick<Store, 'listInFlightChecks' | 'releaseCheckLease'>;
  queue: CheckJobLookup;
  clock: Clock;
  log: Logger;
  /** the dispatcher's lease (`queue.checkLease`) @default 600000 */
  leaseMs?: number;
  /** rows leased more recently than this are left alone @default 30000 */
  graceMs?: number;
  /** pause between passes @default 30000 */
  intervalMs?: number;
  /** rows read per page @default 500 */
  pageSize?: number;
  /** most rows looked at in one pass @default 20000 */
  maxPerPass?: number;
  /** an answer from Redis that takes longer abandons the pass @default 10000 */
  redisTimeoutMs?: number;
  /** metrics hook: rows released by one pass */
  onReconciled?: (released: number) => void;
}

export interface ReconcilePass {
  /** in-flight rows looked at */
  inspected: number;
  /** whose job was missing from Redis */
  missing: number;
  /** whose job had finished without its check being recorded */
  finished: number;
  /** leases released (may be fewer than missing + finished: rows that changed meanwhile) */
  released: number;
}

export interface CheckReconciler {
  start(): void;
  stop(): Promise<void>;
  /** One pass now. Never throws: a failing store or Redis ends the pass early (logged). */
  reconcileOnce(): Promise<ReconcilePass>;
}

/** Lookups of one page are sent together (ioredis pipelines them on the one connection). */
const LOOKUP_CONCURRENCY = 100;

export function createCheckReconciler(options: CheckReconcilerOptions): CheckReconciler {
  const leaseMs = options.leaseMs ?? 600_000;
  const graceMs = options.graceMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 30_000;
  const pageSize = options.pageSize ?? 500;
  const maxPerPass = options.maxPerPass ?? 20_000;
  const redisTimeoutMs = options.redisTimeoutMs ?? 10_000;
  const log = options.log.child({ component: 'check-reconciler' });
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;

  async function lookUp(row: InFlightCheck): Promise<'queued' | 'missing' | 'finished'> {
    const jobId = jobIdFor('check', { reportId: row.reportId, dueAt: row.dueAt.toISOString(), reason: 'scheduled' }) as string;
    const job = await options.queue.getJob(jobId);
    if (!job) return 'missing';
    if (!job.finishedOn) return 'queued';
    // remove before release: a kept finished job would swallow the re-add of the same id
    await job.remove();
    return 'finished';
  }

  async function pass(): Promise<ReconcilePass> {
    const result: ReconcilePass = { inspected: 0, missing: 0, finished: 0, released: 0 };
    const now = options.clock.now();
    // leased at least graceMs ago ⇔ lease ends at or before now + lease − grace
    const leasedBefore = new Date(now.getTime() + leaseMs - graceMs);
    let after: InFlightCheck | undefined;
    try {
      while (result.inspected < maxPerPass) {
        const page = await options.store.listInFlightChecks(leasedBefore, Math.min(pageSize, maxPerPass - result.inspected), after);
        if (page.length === 0) break;
        result.inspected += page.length;
        after = page[page.length - 1];
        for (let i = 0; i < page.length; i += LOOKUP_CONCURRENCY) {
          const rows = page.slice(i, i + LOOKUP_CONCURRENCY);
          const states = await withTimeout(Promise.all(rows.map(lookUp)), redisTimeoutMs);
          const lost = rows.filter((_, j) => states[j] !== 'queued');
          result.missing += states.filter((s) => s === 'missing').length;
          result.finished += states.filter((s) => s === 'finished').length;
          const released = await Promise.all(lost.map((row) => options.store.releaseCheckLease(row)));
          result.released += released.filter(Boolean).length;
        }
        if (page.length < pageSize) break;
      }
    } catch (err) {
      log.warn({ err, ...result }, 'reconcile pass ended early; retrying next interval');
    }
    if (result.released > 0) log.warn(result, 'checks lost from the queue handed out again');
    else log.debug(result, 'reconcile pass');
    try {
      if (result.released > 0) options.onReconciled?.(result.released);
    } catch (err) {
      log.warn({ err }, 'onReconciled hook threw');
    }
    return result;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = pass().finally(() => {
        inFlight = undefined;
        schedule(intervalMs);
      });
    }, delayMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(intervalMs);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
    reconcileOnce: pass,
  };
}
