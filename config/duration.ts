/**
 * Durations in the configuration file (CONTRACT.md §3): one number and one unit, such as `500ms`,
 * `90s`, `15m`, `24h`, `7d` or `1.5h`. Parsed once, at load, to whole milliseconds, so the rest of
 * the daemon never parses a duration again.
 */
import { z } from 'zod';

/** Milliseconds per unit. Units are case-sensitive: `m` is minutes, and there is no month. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/** Largest unit first: the order {@link formatDuration} tries them in. */
const UNITS_DESCENDING: readonly DurationUnit[] = ['d', 'h', 'm', 's', 'ms'];

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** What a duration looks like, for error messages. */
export const DURATION_HINT = 'expected a duration such as 500ms, 90s, 15m, 24h or 7d';

/**
 * Parse a duration string into whole milliseconds, or `undefined` if it is not one.
 * Fractions are allowed (`1.5h`); the result is rounded to the nearest millisecond.
 */
export function tryParseDuration(input: unknown): number | undefined {
  if (typeof input !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(input.trim());
  if (match === null) return undefined;
  const [, amount, unit] = match as unknown as [string, string, DurationUnit];
  const ms = Math.round(Number(amount) * UNIT_MS[unit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parse a duration string into whole milliseconds.
 * @throws RangeError when `text` is not a non-negative duration such as `90s`.
 */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new RangeError(`${DURATION_HINT}, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * Print milliseconds in the largest unit that represents them exactly, so that
 * `parseDuration(formatDuration(ms)) === ms` for every whole, non-negative `ms`:
 * `1_800_000` → `30m`, `5_400_000` → `90m`, `1_500` → `1500ms`, `0` → `0s`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  if (!Number.isInteger(ms)) return `${ms}ms`;
  for (const unit of UNITS_DESCENDING) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Every schema made by {@link duration}, so tools that walk the config schema can find them. */
const durationSchemas = new WeakSet<object>();

/** Whether `schema` is a duration schema (made by {@link duration}). */
export function isDurationSchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && durationSchemas.has(schema);
}

/** Options of {@link duration}. */
export interface DurationOptions {
  /**
   * Smallest accepted value, in milliseconds.
   * @default 0
   */
  min?: number;
}

/**
 * A zod type that accepts a duration string and outputs whole milliseconds. Problems are custom
 * issues flagged `showInput`, so the error list can add what was written (see `format-issues.ts`).
 */
export function duration(options: DurationOptions = {}): z.ZodType<number, unknown> {
  const min = options.min ?? 0;
  const schema = z.unknown().transform((input, ctx): number => {
    const ms = tryParseDuration(input);
    if (ms === undefined) {
      const negative = typeof input === 'string' && tryParseDuration(input.trim().replace(/^-/, '')) !== undefined;
      ctx.issues.push({
        code: 'custom',
        input,
        message: negative ? 'must not be negative' : DURATION_HINT,
        params: { showInput: true },
      });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.issues.push({
        code: 'custom',
        input,
        message: `must be at least ${formatDuration(min)}`,
        params: { showInput: true },
      });
      return z.NEVER;
    }
    return ms;
  });
  durationSchemas.add(schema);
  return schema;
}

/** Any non-negative duration, output in milliseconds. */
export const durationSchema = duration();
