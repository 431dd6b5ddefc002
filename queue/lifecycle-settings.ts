/**
 * `schedule.*` (config, durations in ms) as the parameters of the lifecycle rules in core/.
 */
import type { ScheduleConfig } from '../config/schedule-schema.js';
import type { LifecyclePolicy } from '../core/check-transition.js';
import { DEFAULT_JITTER, recheckScheduleOf } from '../core/recheck-schedule.js';

export function lifecyclePolicyOf(schedule: ScheduleConfig, jitter = DEFAULT_JITTER): LifecyclePolicy {
  return {
    recheck: recheckScheduleOf(schedule.recheck),
    removal: { confirmations: schedule.removal.confirmations, windowMs: schedule.removal.window },
    watchAfterRemovalMs: schedule.watchAfterRemoval,
    expireAfterMs: schedule.expireAfter,
    jitter,
  };
}
