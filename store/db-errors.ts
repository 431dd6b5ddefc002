/**
 * Turns driver errors into vigil's stable codes (DESIGN.md house style 3): a database that
 * cannot be reached is `DB_UNAVAILABLE` (transient: retry later), with the driver's error as
 * `cause`. Constraint violations are mapped by the query that knows what they mean.
 */
import { VigilError, isVigilError } from '../core/errors.js';

/** socket-level failures of the `pg` driver */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/** SQLSTATEs that mean "no usable connection", not "bad statement" */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '3D000', // invalid_catalog_name: the database does not exist
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
]);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'PGlite is closed',
];

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = sqlState(err);
  if (code !== undefined && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  if (err instanceof AggregateError && err.errors.some(isConnectionError)) return true;
  return UNAVAILABLE_MESSAGES.some((m) => err.message.includes(m));
}

/** Rethrows a connection failure as `DB_UNAVAILABLE`; anything else unchanged. */
export function wrapDbError(err: unknown, where: string): unknown {
  if (isVigilError(err)) return err;
  if (isConnectionError(err)) {
    const reason = err instanceof Error && err.message ? err.message : String(err);
    return new VigilError('DB_UNAVAILABLE', `${where}: ${reason}`, { cause: err });
  }
  return err;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
