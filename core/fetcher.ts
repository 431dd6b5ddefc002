/**
 * The fetcher, as a port: fetch one URL under vigil's rules and report what happened, never the
 * content. Implemented in crawler/ (undici behind the network guard; later Playwright).
 * Classification into a check outcome is NOT the fetcher's job: {@link classifyOutcome} in
 * core/classify-outcome.ts is the one function that decides (DESIGN.md house style 4).
 */

export interface FetchRequest {
  url: string;
  /** aborts the whole fetch (DNS, connect, headers, body) */
  signal?: AbortSignal;
  /** id of a configured vantage (proxy); null/undefined = direct */
  vantage?: string | null;
}

/** Low-level failure kinds a fetcher reports; mapped to outcomes by classifyOutcome. */
export const FETCH_ERROR_KINDS = [
  'dns_nxdomain', // the name does not exist
  'dns_nodata', // the name exists but has no A/AAAA records
  'dns_failure', // SERVFAIL, timeout, refused by the resolver
  'blocked_address', // the network guard refused a non-public address
  'blocked_scheme', // not http/https
  'connection_refused',
  'connection_reset',
  'timeout', // the hard deadline ran out
  'tls', // certificate or handshake failure
  'protocol', // malformed response, oversized headers, parser error
  'too_many_redirects',
  'body_too_large',
  'other',
] as const;
export type FetchErrorKind = (typeof FETCH_ERROR_KINDS)[number];

export interface FetchResponse {
  kind: 'response';
  /** the final response's status after redirects */
  status: number;
  /** the final response's headers, lower-case names (values joined with ", ") */
  headers: Record<string, string>;
  finalUrl: string;
  redirects: number;
  /** the address the final response came from */
  remoteAddress: string | null;
  /** decoded body bytes read (the body itself is never kept) */
  bodyBytes: number;
  /** whether the body was cut at the byte cap */
  truncated: boolean;
  /**
   * Lower-cased text from the start of an HTML/text body, for takedown/challenge patterns only.
   * Held in memory for classification and dropped with the result: never logged or stored.
   */
  textSample: string | null;
  durationMs: number;
}

export interface FetchFailure {
  kind: 'error';
  error: FetchErrorKind;
  /** short technical detail (error code), never content */
  detail: string;
  finalUrl: string;
  redirects: number;
  durationMs: number;
}

export type FetchResult = FetchResponse | FetchFailure;

export interface Fetcher {
  fetch(request: FetchRequest): Promise<FetchResult>;
  close(): Promise<void>;
}
