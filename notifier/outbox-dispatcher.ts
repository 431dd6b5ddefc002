/**
 * The outbox dispatcher (scheduler role): the notifier's side of "every due time is a row in
 * PostgreSQL, a dispatcher moves due rows into BullMQ" (DESIGN.md), on the pattern of
 * queue/check-dispatcher.ts. Each tick it
 * 1. leases reports whose notice decision is due (`next_realert_at`) and decides their notices
 *    (decide-notices.ts) — re-alerts, escalations, holds ending;
 * 2. leases pending notices that are due and queues one `notify` job each.
 *
 * Job ids: `notify.<noticeId>` for a notice's first lease, `notify.<noticeId>.<n>` for its n-th.
 * The same lease queued twice is one job; a notice whose job was lost (Redis flushed) or finished
 * without sending (a retry) comes due again when its lease or back-off ends and is queued under a
 * new id — a finished job kept in Redis would swallow an add under the old one. Two jobs for one
 * notice are harmless: the sender's own claim (`beginNoticeSend`) lets one of them send.
 *
 * A failing store or Redis is logged and retried next tick; the loop (core/tick-loop.ts, shared
 * with the check dispatcher) never throws.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { createTickLoop } from '../core/tick-loop.js';
import type { Store } from '../core/store.js';

/** What the dispatcher needs of the `notify` queue: BullMQ's `Queue#addBulk`. */
export interface NotifyJobSink {
  addBulk(jobs: { name: 'notify'; data: { noticeId: string }; opts: { jobId: string } }[]): Promise<unknown>;
}

export interface OutboxDispatcherOptions {
  store: Pick<Store, 'claimDueNotices' | 'claimDueNoticeDecisions'>;
  queue: NotifyJobSink;
  /** decide one report's notices (decide-notices.ts) */
  decide: (reportId: string) => Promise<unknown>;
  clock: Clock;
  log: Logger;
  /** `notices.batchWindow`, ms */
  batchWindowMs: number;
  /** pause between ticks that found less than a full batch @default 1000 */
  intervalMs?: number;
  /** rows leased per tick, of each kind @default 200 */
  batchSize?: number;
  /** a queued notice comes due again after this unless sent @default 300000 */
  leaseMs?: number;
  /** a report whose decision failed is decided again after this @default 300000 */
  decisionLeaseMs?: number;
  /** decisions run at once @default 8 */
  decisionConcurrency?: number;
  /** an add that takes longer is abandoned for this tick @default 10000 */
  addTimeoutMs?: number;
}

export interface OutboxDispatcher {
  start(): void;
  stop(): Promise<void>;
  /** one tick now: decisions made and notices queued (0 also when the store or Redis failed) */
  dispatchOnce(): Promise<{ decided: number; queued: number }>;
}

/** The job id of a notice's n-th lease. */
export function notifyJobId(noticeId: string, dispatches: number): string {
  return dispatches <= 1 ? `notify.${noticeId}` : `notify.${noticeId}.${dispatches}`;
}

export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const intervalMs = options.intervalMs ?? 1000;
  const batchSize = options.batchSize ?? 200;
  const leaseMs = options.leaseMs ?? 300_000;
  const decisionLeaseMs = options.decisionLeaseMs ?? 300_000;
  const concurrency = Math.max(1, options.decisionConcurrency ?? 8);
  const addTimeoutMs = options.addTimeoutMs ?? 10_000;
  const log = options.log.child({ component: 'outbox-dispatcher' });

  async function decideDue(): Promise<{ count: number; full: boolean }> {
    let ids: string[];
    try {
      ids = await options.store.claimDueNoticeDecisions(options.clock.now(), batchSize, decisionLeaseMs);
    } catch (err) {
      log.warn({ err }, 'could not lease due notice decisions; retrying next tick');
      return { count: 0, full: false };
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const reportId = ids[next++] as string;
        try {
          await options.decide(reportId);
        } catch (err) {
          log.warn({ err, reportId, retryInMs: decisionLeaseMs }, 'deciding notices failed; decided again when the lease ends');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    return { count: ids.length, full: ids.length >= batchSize };
  }

  async function queueDue(): Promise<{ count: number; full: boolean }> {
    let due;
    try {
      due = await options.store.claimDueNotices(options.clock.now(), batchSize, leaseMs, options.batchWindowMs);
    } catch (err) {
      log.warn({ err }, 'could not lease due notices; retrying next tick');
      return { count: 0, full: false };
    }
    if (due.length === 0) return { count: 0, full: false };
    const jobs = due.map((d) => ({ name: 'notify' as const, data: { noticeId: d.noticeId }, opts: { jobId: notifyJobId(d.noticeId, d.dispatches) } }));
    try {
      await withTimeout(options.queue.addBulk(jobs), addTimeoutMs);
    } catch (err) {
      log.warn({ err, count: due.length, leaseMs }, 'could not queue due notices; they come due again when the lease ends');
      return { count: 0, full: false };
    }
    log.debug({ count: due.length }, 'queued due notices');
    return { count: due.length, full: due.length >= batchSize };
  }

  // Decisions first: the notices they write are queued in the same tick.
  async function tick(): Promise<{ decided: number; queued: number; full: boolean }> {
    const decided = await decideDue();
    const queued = await queueDue();
    return { decided: decided.count, queued: queued.count, full: decided.full || queued.full };
  }

  const loop = createTickLoop(tick, {
    intervalMs,
    onError: (err) => log.error({ err }, 'outbox tick failed'),
    timers: { setTimeout, clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    async dispatchOnce() {
      const { decided, queued } = await tick();
      return { decided, queued };
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
