/**
 * Opaque pagination cursors: base64url of a small JSON value, validated with zod on the way
 * back in. A cursor a client made up or altered is a 400, never an SQL error or a silent restart.
 */
import type { z } from 'zod';
import { VigilError } from '../core/errors.js';

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** @throws VigilError VALIDATION_FAILED when `text` is not a cursor of this shape */
export function decodeCursor<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new VigilError('VALIDATION_FAILED', 'cursor: not a cursor this endpoint gave out; start again without it');
  return parsed.data;
}
