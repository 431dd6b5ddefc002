/**
 * Errors the network guard raises from inside undici's connect step. undici hands a connect
 * error to the request unchanged, so the fetcher reads `code` and maps it to a
 * FetchErrorKind (crawler/fetch-error-kind.ts); the outcome is decided only by classifyOutcome.
 */

/** Stable codes of the guard, listed in one place (DESIGN.md house style 3). */
export const GUARD_ERROR_CODES = {
  /** an address of the destination is not public and not in allowNetworks: permanent */
  VIGIL_BLOCKED_ADDRESS: { transient: false },
  /** the host name does not exist */
  VIGIL_DNS_NXDOMAIN: { transient: false },
  /** the host name exists but has no A/AAAA records */
  VIGIL_DNS_NODATA: { transient: false },
  /** SERVFAIL, timeout, refused: the resolver could not tell */
  VIGIL_DNS_FAILURE: { transient: true },
} as const;

export type GuardErrorCode = keyof typeof GUARD_ERROR_CODES;

export class NetworkGuardError extends Error {
  readonly code: GuardErrorCode;
  readonly transient: boolean;
  /** the host that was refused, as given (a name or an address literal) */
  readonly host: string;
  /** the refused range (e.g. `loopback`) or the resolver's error code */
  readonly detail: string;

  constructor(code: GuardErrorCode, host: string, detail: string) {
    super(`${code}: ${host} (${detail})`);
    this.name = 'NetworkGuardError';
    this.code = code;
    this.transient = GUARD_ERROR_CODES[code].transient;
    this.host = host;
    this.detail = detail;
  }
}
