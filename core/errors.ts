/**
 * Every error code vigil raises, in one place (DESIGN.md house style 3). A code is stable: API
 * clients and operators key on it. `transient` says whether retrying the same thing can succeed.
 */
export const ERROR_CODES = {
  // configuration
  CONFIG_INVALID: { transient: false, status: 500, title: 'Invalid configuration' },
  CONFIG_FILE_MISSING: { transient: false, status: 500, title: 'Configuration file not found' },
  // infrastructure
  REDIS_UNAVAILABLE: { transient: true, status: 503, title: 'Redis unavailable' },
  REDIS_EVICTION_POLICY: { transient: false, status: 500, title: 'Redis would evict jobs' },
  REDIS_VERSION_UNSUPPORTED: { transient: false, status: 500, title: 'Redis version too old' },
  JOB_PAYLOAD_INVALID: { transient: false, status: 500, title: 'Invalid job payload' },
  DB_UNAVAILABLE: { transient: true, status: 503, title: 'Database unavailable' },
  DB_MIGRATION_FAILED: { transient: false, status: 500, title: 'Database migration failed' },
  DB_IN_USE: { transient: false, status: 500, title: 'Embedded database in use by another process' },
  // API
  UNAUTHORIZED: { transient: false, status: 401, title: 'Unauthorized' },
  FORBIDDEN: { transient: false, status: 403, title: 'Forbidden' },
  NOT_FOUND: { transient: false, status: 404, title: 'Not found' },
  VALIDATION_FAILED: { transient: false, status: 400, title: 'Invalid request' },
  UNSUPPORTED_MEDIA_TYPE: { transient: false, status: 415, title: 'Unsupported media type' },
  PAYLOAD_TOO_LARGE: { transient: false, status: 413, title: 'Payload too large' },
  FORCE_EXISTS: { transient: false, status: 409, title: 'Force already exists' },
  FORCE_UNKNOWN: { transient: false, status: 400, title: 'Unknown force' },
  RECIPIENT_UNKNOWN: { transient: false, status: 400, title: 'Unknown recipient' },
  SHUTTING_DOWN: { transient: true, status: 503, title: 'Shutting down' },
  RATE_LIMITED: { transient: true, status: 429, title: 'Too many requests' },
  IDEMPOTENCY_KEY_REUSED: { transient: false, status: 422, title: 'Idempotency key reused with a different request' },
  IDEMPOTENCY_CONFLICT: { transient: true, status: 409, title: 'Idempotency key in use' },
  AUDIT_CHAIN_BROKEN: { transient: false, status: 500, title: 'Audit chain broken' },
  INTERNAL: { transient: true, status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code; wrap lower errors with `{ cause }`. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly status: number;
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'VigilError';
    this.code = code;
    this.detail = detail;
    this.transient = ERROR_CODES[code].transient;
    this.status = ERROR_CODES[code].status;
  }
}

export function isVigilError(err: unknown, code?: ErrorCode): err is VigilError {
  return err instanceof VigilError && (code === undefined || err.code === code);
}
