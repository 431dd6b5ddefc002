/**
 * Turns a browser navigation error into a {@link FetchErrorKind}. It names what happened; the
 * outcome is decided by classifyOutcome (core/classify-outcome.ts).
 *
 * Every connection the browser makes is to the guard proxy, so Chromium's own view of a failure
 * is second-hand: "connection refused" means the proxy, not the site, and "tunnel failed" means
 * the proxy said no. The browser fetcher therefore asks the proxy first (its verdict for the
 * failing destination) and uses this mapping only when the proxy has nothing to say. Nothing
 * here may yield a kind that counts as `gone` for a reason that is not the site's.
 */
import type { FetchErrorKind } from '../core/fetcher.js';

export interface MappedBrowserError {
  kind: FetchErrorKind;
  /** the `net::ERR_*` code, or a short name of what failed; never page text */
  detail: string;
}

const BY_NET_ERROR: Readonly<Record<string, FetchErrorKind>> = {
  ERR_TIMED_OUT: 'timeout',
  ERR_CONNECTION_TIMED_OUT: 'timeout',
  ERR_TOO_MANY_REDIRECTS: 'too_many_redirects',
  ERR_UNSAFE_REDIRECT: 'blocked_scheme',
  ERR_DISALLOWED_URL_SCHEME: 'blocked_scheme',
  ERR_UNKNOWN_URL_SCHEME: 'blocked_scheme',
  ERR_CONNECTION_RESET: 'connection_reset',
  ERR_CONNECTION_CLOSED: 'connection_reset',
  ERR_CONNECTION_ABORTED: 'connection_reset',
  ERR_EMPTY_RESPONSE: 'connection_reset',
  ERR_SOCKET_NOT_CONNECTED: 'connection_reset',
  ERR_INVALID_RESPONSE: 'protocol',
  ERR_INVALID_HTTP_RESPONSE: 'protocol',
  ERR_RESPONSE_HEADERS_TOO_BIG: 'protocol',
  ERR_CONTENT_LENGTH_MISMATCH: 'protocol',
  ERR_INCOMPLETE_CHUNKED_ENCODING: 'protocol',
  ERR_INVALID_CHUNKED_ENCODING: 'protocol',
  ERR_CONTENT_DECODING_FAILED: 'protocol',
  ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH: 'protocol',
  ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION: 'protocol',
  ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_DISPOSITION: 'protocol',
  ERR_INVALID_REDIRECT: 'protocol',
  ERR_FILE_TOO_BIG: 'body_too_large',
  // Chromium reaches only the proxy: these describe the proxy, never the site.
  ERR_CONNECTION_REFUSED: 'other',
  ERR_PROXY_CONNECTION_FAILED: 'other',
  ERR_TUNNEL_CONNECTION_FAILED: 'other',
  ERR_NAME_NOT_RESOLVED: 'other',
  ERR_ADDRESS_UNREACHABLE: 'other',
  ERR_BLOCKED_BY_CLIENT: 'other',
  ERR_ABORTED: 'other',
};

/**
 * Map an error thrown by a Playwright navigation, or a request's `failure().errorText`.
 * TLS errors (`ERR_CERT_*`, `ERR_SSL_*`) are `tls`; unknown errors are `other` (inconclusive).
 */
export function mapBrowserError(error: unknown): MappedBrowserError {
  const message = error instanceof Error ? error.message : String(error);
  const code = /\bnet::(ERR_[A-Z0-9_]+)/.exec(message)?.[1] ?? /^(ERR_[A-Z0-9_]+)$/.exec(message.trim())?.[1];
  if (code !== undefined) {
    const kind = BY_NET_ERROR[code];
    if (kind !== undefined) return { kind, detail: code };
    if (/^ERR_(CERT|SSL|BAD_SSL)_/.test(code) || code === 'ERR_CERT_INVALID') return { kind: 'tls', detail: code };
    return { kind: 'other', detail: code };
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || /Timeout \d+ms exceeded/.test(message)) return { kind: 'timeout', detail: 'deadline' };
  if (/Download is starting/i.test(message)) return { kind: 'other', detail: 'download' };
  if (/(Target page, context or browser has been closed|Browser has been closed|crash)/i.test(message)) {
    return { kind: 'other', detail: 'browser_closed' };
  }
  return { kind: 'other', detail: 'browser_error' };
}
