/**
 * Metrics, as a port: what the flow reports while it runs (CONTRACT.md §8). The composition root
 * hands an implementation (api/metrics/, prom-client) to the check worker, the notifier and the
 * dispatcher; tests and processes without metrics use {@link NO_METRICS}.
 *
 * Label values are the contract's names (check outcomes, notice kinds, channels, delivery
 * results): a bounded set, never a URL or an id.
 */
import type { CheckOutcome } from './report-status.js';

export interface Metrics {
  /** one recorded check: `vigil_checks_total{outcome}` and `vigil_check_duration_seconds` */
  observeCheck(outcome: CheckOutcome, seconds: number): void;
  /** one delivery attempt of a notice: `vigil_notices_total{kind,channel,result}` */
  noticeDelivered(kind: string, channel: string, result: string): void;
  /** how late a dispatched batch was (its oldest due time to now): `vigil_schedule_lag_seconds` */
  scheduleLag(seconds: number): void;
}

/** Metrics that go nowhere. */
export const NO_METRICS: Metrics = Object.freeze({
  observeCheck: () => undefined,
  noticeDelivered: () => undefined,
  scheduleLag: () => undefined,
});
