/** The error → FetchErrorKind table (no network). */
import { describe, expect, test } from 'vitest';
import { mapFetchError } from '../../crawler/fetch-error-kind.js';
import { NetworkGuardError } from '../../crawler/guard-errors.js';

function coded(code: string, name = 'Error'): Error {
  const err = new Error('synthetic') as Error & { code: string };
  err.code = code;
  err.name = name;
  return err;
}

describe('mapFetchError', () => {
  test.each([
    ['ENOTFOUND', 'dns_nxdomain'],
    ['EAI_AGAIN', 'dns_failure'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['UND_ERR_ABORTED', 'timeout'],
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['EPROTO', 'tls'],
    ['UND_ERR_HEADERS_OVERFLOW', 'protocol'],
    ['HPE_INVALID_CONSTANT', 'protocol'],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'protocol'],
    ['EHOSTUNREACH', 'other'],
    ['SOMETHING_NEW', 'other'],
  ])('%s → %s', (code, kind) => {
    expect(mapFetchError(coded(code))).toEqual({ kind, detail: code });
  });

  test('guard errors keep their own detail', () => {
    expect(mapFetchError(new NetworkGuardError('VIGIL_BLOCKED_ADDRESS', 'x.test', 'loopback'))).toEqual({ kind: 'blocked_address', detail: 'loopback' });
    expect(mapFetchError(new NetworkGuardError('VIGIL_DNS_NXDOMAIN', 'x.test', 'ENOTFOUND'))).toEqual({ kind: 'dns_nxdomain', detail: 'ENOTFOUND' });
    expect(mapFetchError(new NetworkGuardError('VIGIL_DNS_NODATA', 'x.test', 'ENODATA'))).toEqual({ kind: 'dns_nodata', detail: 'ENODATA' });
    expect(mapFetchError(new NetworkGuardError('VIGIL_DNS_FAILURE', 'x.test', 'ETIMEOUT'))).toEqual({ kind: 'dns_failure', detail: 'ETIMEOUT' });
  });

  test('follows the cause chain', () => {
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: coded('ECONNREFUSED') }) });
    expect(mapFetchError(wrapped)).toEqual({ kind: 'connection_refused', detail: 'ECONNREFUSED' });
  });

  test('abort reasons: deadline and caller', () => {
    expect(mapFetchError(AbortSignal.timeout(0).reason ?? new DOMException('t', 'TimeoutError'))).toMatchObject({ kind: 'timeout' });
    expect(mapFetchError(new DOMException('t', 'TimeoutError'))).toEqual({ kind: 'timeout', detail: 'deadline' });
    expect(mapFetchError(new DOMException('a', 'AbortError'))).toEqual({ kind: 'timeout', detail: 'aborted' });
  });

  test('a parser error without a code is still protocol; anything else is other', () => {
    const parser = new Error('bad');
    parser.name = 'HTTPParserError';
    expect(mapFetchError(parser)).toEqual({ kind: 'protocol', detail: 'HTTPParserError' });
    expect(mapFetchError(new TypeError('x'))).toEqual({ kind: 'other', detail: 'TypeError' });
    expect(mapFetchError('a string')).toEqual({ kind: 'other', detail: 'string' });
  });
});
