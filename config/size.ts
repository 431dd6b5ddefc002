/**
 * Sizes in the configuration file (CONTRACT.md §3): `512B`, `64KB`, `10MB`, `1GB`. Multiples are
 * binary (1 KB = 1024 bytes), as operators mean them for buffers and caps; `KiB`, `MiB`, `GiB`,
 * `TiB` are accepted as the same thing. Parsed once, at load, to whole bytes.
 */
import { z } from 'zod';

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Largest first: the units {@link formatSize} prints. */
const PRINTED_UNITS: readonly [string, number][] = [
  ['TB', 1024 ** 4],
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['KB', 1024],
];

// Units are matched case-insensitively: `10mb` is not ambiguous for a byte count.
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)$/i;

/** What a size looks like, for error messages. */
export const SIZE_HINT = 'expected a size such as 512B, 64KB, 10MB or 1GB';

/**
 * Parse a size into whole bytes, or `undefined` if it is not one. A bare non-negative integer
 * (YAML `maxBodyBytes: 1048576`) is taken as bytes; fractions (`1.5MB`) are rounded to a byte.
 */
export function tryParseSize(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const match = SIZE_PATTERN.exec(input.trim());
  if (match === null) return undefined;
  const [, amount, unit] = match as unknown as [string, string, string];
  const factor = UNIT_BYTES[unit.toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(amount) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Parse a size string such as `10MB` into whole bytes.
 * @throws RangeError when `text` is not a non-negative size.
 */
export function parseSize(text: string): number {
  const bytes = tryParseSize(text);
  if (bytes === undefined) throw new RangeError(`${SIZE_HINT}, got ${JSON.stringify(text)}`);
  return bytes;
}

/**
 * Print bytes in the largest unit that represents them exactly, so that
 * `parseSize(formatSize(n)) === n`: `10_485_760` → `10MB`, `65_536` → `64KB`, and `1536` →
 * `1536B` (fractions such as `1.5KB` are never printed).
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return `${bytes}B`;
  for (const [unit, factor] of PRINTED_UNITS) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** Every schema made by {@link size}, so tools that walk the config schema can find them. */
const sizeSchemas = new WeakSet<object>();

/** Whether `schema` is a size schema (made by {@link size}). */
export function isSizeSchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && sizeSchemas.has(schema);
}

/** Options of {@link size}. */
export interface SizeOptions {
  /**
   * Smallest accepted value, in bytes.
   * @default 0
   */
  min?: number;
}

/** A zod type that accepts a size such as `10MB` (or a byte count) and outputs whole bytes. */
export function size(options: SizeOptions = {}): z.ZodType<number, unknown> {
  const min = options.min ?? 0;
  const schema = z.unknown().transform((input, ctx): number => {
    const bytes = tryParseSize(input);
    if (bytes === undefined) {
      const negative =
        (typeof input === 'number' && input < 0) ||
        (typeof input === 'string' && tryParseSize(input.trim().replace(/^-/, '')) !== undefined);
      ctx.issues.push({
        code: 'custom',
        input,
        message: negative ? 'must not be negative' : SIZE_HINT,
        params: { showInput: true },
      });
      return z.NEVER;
    }
    if (bytes < min) {
      ctx.issues.push({ code: 'custom', input, message: `must be at least ${formatSize(min)}`, params: { showInput: true } });
      return z.NEVER;
    }
    return bytes;
  });
  sizeSchemas.add(schema);
  return schema;
}

/** Any non-negative size, output in bytes. */
export const sizeSchema = size();
