/**
 * Which responses may carry the guard proxy's verdict (crawler/guard-proxy-context.ts
 * `guardVerdictOf`): plain-HTTP ones, whose headers the proxy writes or strips; never an https
 * response, which comes through a tunnel the proxy cannot read — a site's own `x-vigil-guard`
 * there is the site talking. (tests/crawler/browser-guard.test.ts drives the plain-HTTP forgery
 * through Chromium; an https one would need a certificate Chromium trusts, which vigil never
 * configures.)
 */
import { describe, expect, test } from 'vitest';
import { GUARD_DETAIL_HEADER, GUARD_HEADER, guardVerdictOf } from '../../crawler/guard-proxy-context.js';

describe('guard verdicts on browser responses', () => {
  test('a plain-HTTP response carries the proxy’s verdict; an unknown kind is other', () => {
    expect(guardVerdictOf('http://allowed.test/page', { [GUARD_HEADER]: 'blocked_address', [GUARD_DETAIL_HEADER]: '127.0.0.0/8' }))
      .toEqual({ kind: 'blocked_address', detail: '127.0.0.0/8' });
    expect(guardVerdictOf('HTTP://allowed.test/', { [GUARD_HEADER]: 'dns_nxdomain' })).toEqual({ kind: 'dns_nxdomain', detail: '' });
    expect(guardVerdictOf('http://allowed.test/', { [GUARD_HEADER]: 'no_such_kind' })).toEqual({ kind: 'other', detail: '' });
  });

  test('an https response never does, whatever its headers say', () => {
    for (const kind of ['dns_nxdomain', 'blocked_address', 'connection_refused', 'other']) {
      expect(guardVerdictOf('https://site.test/page', { [GUARD_HEADER]: kind, [GUARD_DETAIL_HEADER]: 'anything' })).toBeNull();
    }
  });

  test('a response without the header has none', () => {
    expect(guardVerdictOf('http://allowed.test/', { 'content-type': 'text/html' })).toBeNull();
  });
});
