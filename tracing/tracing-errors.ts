/**
 * Errors tracing raises, with stable codes listed in one place (DESIGN.md house style 3). Lookups
 * themselves never throw — a failed DNS, GeoIP or RDAP lookup is a value in the trace record —
 * so these are for start-up (a database or bootstrap file that cannot be used) and bad input.
 */

export const TRACING_ERROR_CODES = {
  /** an mmdb file is missing, unreadable, gzipped or not a MaxMind DB: fix the path or the file */
  VIGIL_GEO_DB_UNREADABLE: { transient: false },
  /** an RDAP bootstrap file or directory is missing or not in the IANA format (RFC 9224) */
  VIGIL_RDAP_BOOTSTRAP_INVALID: { transient: false },
  /** the trace target is neither a URL, a host name nor an IP address */
  VIGIL_TRACE_BAD_TARGET: { transient: false },
} as const;

export type TracingErrorCode = keyof typeof TRACING_ERROR_CODES;

/** An error with a stable {@link TracingErrorCode}; lower errors are kept as `cause`. */
export class TracingError extends Error {
  readonly code: TracingErrorCode;
  readonly transient: boolean;
  readonly detail: string;

  constructor(code: TracingErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'TracingError';
    this.code = code;
    this.transient = TRACING_ERROR_CODES[code].transient;
    this.detail = detail;
  }
}
