/**
 * The fetcher, as a port: fetch one URL under vigil's rules and report what happened, never the
 * content. Implemented in crawler/ (undici behind the network guard; later Playwright).
 * Classification into a check outcome is NOT the fetcher's job: {@link classifyOutcome} in
 * core/classify-outcome.ts is the one function that decides (DESIGN.md house style 4).
 */

/**
 * `crawler.mediaPolicy` (CONTRACT.md §7). `metadata`: the body of an image, video or other binary
 * is never read; identity is decided from status and headers. `hash`: such bodies are streamed
 * through sha256/sha1/md5 in memory and only the digests are kept.
 */
export type MediaPolicy = 'metadata' | 'hash';

/** Digest algorithms vigil knows, by hex length: md5 32, sha1 40, sha256 64. */
export type HashAlgorithm = 'sha256' | 'sha1' | 'md5';

/** Lower-case hex digests a submission gave for an item (any subset). */
export interface ExpectedHashes {
  sha256?: string;
  sha1?: string;
  md5?: string;
}

/** Lower-case hex digests of a whole decoded body. */
export interface ContentDigests {
  sha256: string;
  sha1: string;
  md5: string;
}

/** A digest of the body found in the configured hash list (`hashList.files`). */
export interface HashListMatch {
  algorithm: HashAlgorithm;
  digest: string;
}

/**
 * What the headers say about the served object, compared with what was first seen
 * (core/content-identity.ts). Never the content.
 */
export interface MediaMetadata {
  /** media type, lower-cased, without parameters (`image/jpeg`); null when absent */
  contentType: string | null;
  /** Content-Length as sent (of the encoded body); null when absent or not a number */
  contentLength: number | null;
  /** ETag as sent (`W/"…"` kept); null when absent */
  etag: string | null;
  /** Last-Modified as sent; null when absent */
  lastModified: string | null;
}

export interface FetchRequest {
  url: string;
  /** aborts the whole fetch (DNS, connect, headers, body) */
  signal?: AbortSignal;
  /** id of a configured vantage (proxy); null/undefined = direct */
  vantage?: string | null;
  /**
   * Whether media/binary bodies are read and hashed (`crawler.mediaPolicy`).
   * @default 'metadata'
   */
  mediaPolicy?: MediaPolicy;
  /**
   * The item's hashes. Under `hash`, a body of any type read to its end is hashed when these are
   * given (so a mislabelled file can still match); the comparison itself is decided by
   * decideMediaIdentity (core/content-identity.ts), not by the fetcher.
   */
  expect?: ExpectedHashes;
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
  /**
   * Header metadata of the final response. Always set by HttpFetcher; optional so that simpler
   * fetchers and fixtures may leave it out (then identity can only rely on the status).
   */
  media?: MediaMetadata;
  /**
   * Digests of the decoded body, under `mediaPolicy: hash` only, and only when the body was read
   * to its end (a truncated or undecodable body has none). null/undefined = not computed.
   */
  digests?: ContentDigests | null;
  /** the first of `digests` (sha256, sha1, md5) found in the hash list; null = none */
  hashListMatch?: HashListMatch | null;
  /**
   * Absolute http(s) URLs of media an HTML page references (img, srcset, picture/video/audio
   * sources, posters, links to image/video files, og:image, twitter:image, image_src), resolved
   * against `<base href>`, de-duplicated, at most {@link MAX_MEDIA_REFS}. null = not an HTML
   * page, or a body vigil could not decode.
   */
  mediaRefs?: string[] | null;
  /** true when `mediaRefs` stopped at {@link MAX_MEDIA_REFS} (the page may reference more) */
  mediaRefsCapped?: boolean;
  /** the vantage (`crawler.vantages` id) this was observed from; null/undefined = direct */
  vantage?: string | null;
  durationMs: number;
}

/** Bound on `FetchResponse.mediaRefs`. */
export const MAX_MEDIA_REFS = 500;

export interface FetchFailure {
  kind: 'error';
  error: FetchErrorKind;
  /** short technical detail (error code), never content */
  detail: string;
  finalUrl: string;
  redirects: number;
  /** the vantage (`crawler.vantages` id) this was observed from; null/undefined = direct */
  vantage?: string | null;
  durationMs: number;
}

export type FetchResult = FetchResponse | FetchFailure;

export interface Fetcher {
  fetch(request: FetchRequest): Promise<FetchResult>;
  close(): Promise<void>;
}
