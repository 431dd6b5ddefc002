/**
 * Time-to-removal statistics: the percentile definition the store's SQL uses
 * (`percentile_cont`, linear interpolation between closest ranks), so the numbers on `/admin`
 * can be checked against a plain computation, and the one way durations are written on the
 * operator pages.
 */

/**
 * The p-th percentile (0 ≤ p ≤ 1) of `values` by linear interpolation between closest ranks —
 * PostgreSQL's `percentile_cont`. null for no values.
 * @throws RangeError when p is outside [0, 1]
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile ${p} is outside [0, 1]`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const lo = sorted[lower] as number;
  const hi = sorted[upper] as number;
  return lo + (hi - lo) * (rank - lower);
}

export interface RemovalSummary {
  count: number;
  /** seconds; null when count is 0 */
  medianSeconds: number | null;
  p90Seconds: number | null;
}

/** Median and p90 of removal times given in seconds. */
export function summarizeRemovals(seconds: readonly number[]): RemovalSummary {
  return { count: seconds.length, medianSeconds: percentile(seconds, 0.5), p90Seconds: percentile(seconds, 0.9) };
}

const UNITS: readonly [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];

/**
 * A duration for people: the largest unit and, when not zero, the next one: `3d 4h`, `2h`,
 * `5m 30s`; `—` for null. Rounded down to the second.
 */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const total = Math.max(0, Math.floor(seconds));
  const index = UNITS.findIndex(([, size]) => total >= size);
  if (index < 0) return '0s';
  const [unit, size] = UNITS[index] as [string, number];
  const whole = Math.floor(total / size);
  const next = UNITS[index + 1];
  const rest = next ? Math.floor((total - whole * size) / next[1]) : 0;
  return next && rest > 0 ? `${whole}${unit} ${rest}${next[0]}` : `${whole}${unit}`;
}
