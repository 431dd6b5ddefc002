/**
 * `schedule.*`: when reports are rechecked, re-alerted, escalated, confirmed removed and dropped
 * (CONTRACT.md §3, §5). Durations are output in milliseconds. The rules that use them live in
 * core/; these are only their parameters.
 */
import { z } from 'zod';
import { duration } from './duration.js';
import { integer } from './integer.js';

// Rechecks more often than every second would hammer hosts and the queue for no gain.
const interval = (fallback: string) => duration({ min: 1_000 }).prefault(fallback);

/** How often a report is rechecked, by status. */
export const recheckSchema = z.strictObject({
  /**
   * `live` (content reachable, no verdict yet).
   * @default 1h
   */
  live: interval('1h'),
  /**
   * `notified` (verdict illegal, notices out, waiting for removal).
   * @default 30m
   */
  notified: interval('30m'),
  /**
   * `removed` (watched for reappearance until `watchAfterRemoval` has passed).
   * @default 24h
   */
  removed: interval('24h'),
  /**
   * `unreachable` (never seen live).
   * @default 6h
   */
  unreachable: interval('6h'),
});

/** Re-alerts while content stays live after the initial notice. */
export const realertSchema = z.strictObject({
  /**
   * From the initial notice to the first re-alert.
   * @default 24h
   */
  first: interval('24h'),
  /**
   * Between later re-alerts.
   * @default 24h
   */
  every: interval('24h'),
  /**
   * Most re-alerts sent for one report at one hosting location; 0 = none.
   * @default 14
   */
  max: integer(0, 1_000).default(14),
});

/** `schedule`: timing of the monitoring loop. */
export const scheduleSchema = z.strictObject({
  /** @default { live: 1h, notified: 30m, removed: 24h, unreachable: 6h } */
  recheck: recheckSchema.prefault({}),
  /** @default { first: 24h, every: 24h, max: 14 } */
  realert: realertSchema.prefault({}),
  escalate: z
    .strictObject({
      /**
       * Re-alerts after which the law-enforcement recipient for the country (or `"*"`) gets an
       * `escalation` notice. At most `realert.max` (checked); with `realert.max: 0` there are no
       * re-alerts and so no escalation.
       * @default 3
       */
      afterRealerts: integer(1, 1_000).default(3),
    })
    .prefault({}),
  removal: z
    .strictObject({
      /**
       * Consecutive `gone` checks needed to confirm removal.
       * @default 3
       */
      confirmations: integer(1, 100).default(3),
      /**
       * The `gone` checks must span at least this long, so a short outage is not taken for a
       * removal.
       * @default 1h
       */
      window: duration().prefault('1h'),
    })
    .prefault({}),
  /**
   * How long a removed report is watched for reappearance.
   * @default 30d
   */
  watchAfterRemoval: duration().prefault('30d'),
  /**
   * Monitoring time after which a report not yet removed becomes `expired`.
   * @default 90d
   */
  expireAfter: duration({ min: 1_000 }).prefault('90d'),
});

/** The parsed `schedule` section. */
export type ScheduleConfig = z.output<typeof scheduleSchema>;
