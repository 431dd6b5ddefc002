/**
 * The Prometheus metrics of CONTRACT.md §8, on a prom-client registry of their own (one per
 * daemon, never the global default registry, so several daemons in one process — tests — do not
 * mix), plus prom-client's default process metrics.
 *
 * Counters and histograms are fed through the {@link Metrics} port by the check worker, the
 * notifier and the dispatcher. The two gauges read shared state when scraped: `vigil_reports`
 * from PostgreSQL, `vigil_queue_jobs` from BullMQ; each is cached for `cacheMs`, so a burst of
 * scrapes (several Prometheus servers, a dashboard) costs one query. A failed read leaves the
 * gauge empty for that scrape rather than failing the scrape or repeating stale numbers.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../../core/metrics.js';
import { CHECK_OUTCOMES, type CheckOutcome } from '../../core/report-status.js';

export interface VigilMetricsOptions {
  /** reports per status (store.countReportsByStatus) */
  reportCounts?: () => Promise<Partial<Record<string, number>>>;
  /** jobs per state per queue, keyed by queue name */
  queueJobs?: () => Promise<Record<string, Record<string, number>>>;
  /** how long gauge values read from the store or Redis are reused @default 5000 */
  cacheMs?: number;
  /** monotonic milliseconds, for the cache @default performance.now */
  nowMs?: () => number;
  /** prom-client's process metrics (CPU, memory, event loop, GC) @default true */
  processMetrics?: boolean;
  /** told when a gauge could not be read */
  onCollectError?: (metric: string, err: unknown) => void;
}

export interface VigilMetrics extends Metrics {
  readonly registry: Registry;
  /** the exposition text and its content type */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Check durations: from a fast 404 to a page at the total timeout. */
export const CHECK_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];
/** Dispatch lag: on time (under a second) to badly behind (an hour). */
export const SCHEDULE_LAG_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600];

/** One cached asynchronous read: concurrent scrapes share the read in flight. */
function cached<T>(read: () => Promise<T>, ttlMs: number, nowMs: () => number): () => Promise<T> {
  let value: { at: number; promise: Promise<T> } | null = null;
  return () => {
    const now = nowMs();
    if (value === null || now - value.at >= ttlMs) {
      const promise = read();
      value = { at: now, promise };
      // a failure is not cached: the next scrape tries again
      promise.catch(() => { if (value?.promise === promise) value = null; });
    }
    return value.promise;
  };
}

export function createVigilMetrics(options: VigilMetricsOptions = {}): VigilMetrics {
  const registry = new Registry();
  const nowMs = options.nowMs ?? (() => performance.now());
  const cacheMs = options.cacheMs ?? 5000;
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const checks = new Counter({
    name: 'vigil_checks_total',
    help: 'Checks recorded, by outcome (live, gone, inconclusive, refused).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Every outcome is exported from the start, so rate() and absent() work before the first check.
  for (const outcome of CHECK_OUTCOMES) checks.labels(outcome).inc(0);

  const checkDuration = new Histogram({
    name: 'vigil_check_duration_seconds',
    help: 'Time a check job took, from loading the report to recording the result.',
    buckets: CHECK_DURATION_BUCKETS,
    registers: [registry],
  });

  const notices = new Counter({
    name: 'vigil_notices_total',
    help: 'Notice delivery attempts, by notice kind, channel (webhook, email, none) and result (sent, retry, disabled, failed).',
    labelNames: ['kind', 'channel', 'result'] as const,
    registers: [registry],
  });

  const scheduleLag = new Histogram({
    name: 'vigil_schedule_lag_seconds',
    help: 'How late due checks were when the dispatcher handed them to the queue (oldest of each batch).',
    buckets: SCHEDULE_LAG_BUCKETS,
    registers: [registry],
  });

  if (options.reportCounts) {
    const read = cached(options.reportCounts, cacheMs, nowMs);
    new Gauge({
      name: 'vigil_reports',
      help: 'Reports in the store of record, by status.',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const counts = await read();
          for (const [status, n] of Object.entries(counts)) if (n !== undefined) this.labels(status).set(n);
        } catch (err) {
          options.onCollectError?.('vigil_reports', err);
        }
      },
    });
  }

  if (options.queueJobs) {
    const read = cached(options.queueJobs, cacheMs, nowMs);
    new Gauge({
      name: 'vigil_queue_jobs',
      help: 'Jobs in the BullMQ queues, by queue and state (waiting, active, delayed, failed).',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const byQueue = await read();
          for (const [queue, states] of Object.entries(byQueue)) {
            for (const [state, n] of Object.entries(states)) this.labels(queue, state).set(n);
          }
        } catch (err) {
          options.onCollectError?.('vigil_queue_jobs', err);
        }
      },
    });
  }

  const finite = (seconds: number) => (Number.isFinite(seconds) && seconds >= 0 ? seconds : 0);
  return {
    registry,
    observeCheck(outcome: CheckOutcome, seconds: number) {
      checks.labels(outcome).inc();
      checkDuration.observe(finite(seconds));
    },
    noticeDelivered(kind, channel, result) {
      notices.labels(kind, channel, result).inc();
    },
    scheduleLag(seconds) {
      scheduleLag.observe(finite(seconds));
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
