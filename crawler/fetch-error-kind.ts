/**
 * Turns a thrown network error (undici, Node socket/TLS, the network guard) into a
 * {@link FetchErrorKind} and a short detail code. It names what happened; it does not decide the
 * check outcome — classifyOutcome (core/classify-outcome.ts) does.
 */
import type { FetchErrorKind } from '../core/fetcher.js';

export interface MappedError {
  kind: FetchErrorKind;
  /** the error code found (never message text, which may quote server data) */
  detail: string;
}

const BY_CODE: Readonly<Record<string, FetchErrorKind>> = {
  VIGIL_BLOCKED_ADDRESS: 'blocked_address',
  VIGIL_DNS_NXDOMAIN: 'dns_nxdomain',
  VIGIL_DNS_NODATA: 'dns_nodata',
  VIGIL_DNS_FAILURE: 'dns_failure',
  // crawler/vantage-agent.ts: the proxy could not be reached or would not tunnel; says nothing
  // about the site
  VIGIL_PROXY_FAILURE: 'other',
  VIGIL_CONTENT_DECODING: 'protocol', // crawler/decode-body.ts: encoding chain, corrupt data
  ENOTFOUND: 'dns_nxdomain',
  ENODATA: 'dns_nodata',
  EAI_AGAIN: 'dns_failure',
  ESERVFAIL: 'dns_failure',
  ETIMEOUT: 'dns_failure',
  EREFUSED: 'dns_failure',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_ABORTED: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  UND_ERR_HEADERS_OVERFLOW: 'protocol',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'protocol',
  UND_ERR_RESPONSE: 'protocol',
  UND_ERR_INFO: 'protocol',
  UND_ERR_NOT_SUPPORTED: 'protocol',
  ERR_INVALID_CHAR: 'protocol',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  HOSTNAME_MISMATCH: 'tls',
  EPROTO: 'tls',
};

function kindOfCode(code: string): FetchErrorKind | null {
  const exact = BY_CODE[code];
  if (exact !== undefined) return exact;
  if (code.startsWith('HPE_')) return 'protocol'; // llhttp parser errors
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')) return 'tls';
  if (code.startsWith('UNABLE_TO_') || code.startsWith('ERR_OSSL_')) return 'tls';
  return null;
}

/**
 * Map `err` (following its `cause` chain) to a fetch error kind.
 * Unknown errors are `other`, which classifyOutcome treats as inconclusive.
 */
export function mapFetchError(err: unknown): MappedError {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; name?: unknown; cause?: unknown; detail?: unknown };
    if (typeof e.code === 'string') {
      const kind = kindOfCode(e.code);
      if (kind !== null) {
        // the guard's own detail (the refused range, the resolver's code) says more than its code
        const guardDetail = e.code.startsWith('VIGIL_') && typeof e.detail === 'string' ? e.detail : null;
        return { kind, detail: guardDetail ?? e.code };
      }
    }
    // undici's parser error may carry no code
    if (e.name === 'HTTPParserError') return { kind: 'protocol', detail: 'HTTPParserError' };
    // AbortSignal reasons are DOMExceptions with a numeric legacy `code`.
    if (e.name === 'TimeoutError') return { kind: 'timeout', detail: 'deadline' };
    if (e.name === 'AbortError') return { kind: 'timeout', detail: 'aborted' };
    current = e.cause;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return { kind: 'other', detail: typeof code === 'string' ? code : errorName(err) };
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
