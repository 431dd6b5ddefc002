/**
 * Whole-number fields (ports, counts, concurrency): the bounds are part of the schema so a typo
 * such as `concurrency: 0` stops start-up instead of stalling every queue.
 */
import { z } from 'zod';

/**
 * A whole number in `[min, max]`. Strings are refused, even numeric ones, so that a quoted
 * `"8080"` in YAML is pointed out rather than silently accepted.
 */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): z.ZodNumber {
  return z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
}
