import { describe, expect, it } from 'vitest';
import { classifyOutcome } from '../../core/classify-outcome.js';
import type { FetchErrorKind, FetchResult } from '../../core/fetcher.js';
import { BUILTIN_CHALLENGE_PATTERNS, compileTakedownPatterns } from '../../core/takedown-patterns.js';

const rules = { takedownPatterns: compileTakedownPatterns(['gelöscht von']), challengePatterns: BUILTIN_CHALLENGE_PATTERNS };

function response(status: number, textSample: string | null = null): FetchResult {
  return { kind: 'response', status, headers: {}, finalUrl: 'http://a.test/', redirects: 0, remoteAddress: null, bodyBytes: 0, truncated: false, textSample, durationMs: 1 };
}
function failure(error: FetchErrorKind): FetchResult {
  return { kind: 'error', error, detail: error, finalUrl: 'http://a.test/', redirects: 0, durationMs: 1 };
}

describe('classifyOutcome', () => {
  it.each([
    [200, 'live', 'http_200'],
    [204, 'live', 'http_204'],
    [206, 'live', 'http_206'],
    [404, 'gone', 'http_404'],
    [410, 'gone', 'http_410'],
    [451, 'gone', 'http_451'],
    [403, 'inconclusive', 'http_403'],
    [429, 'inconclusive', 'http_429'],
    [401, 'inconclusive', 'http_401'],
    [400, 'inconclusive', 'http_400'],
    [500, 'inconclusive', 'http_500'],
    [503, 'inconclusive', 'http_503'],
    [302, 'inconclusive', 'http_302_unfollowed'],
    [101, 'inconclusive', 'http_101'],
  ] as const)('status %i → %s', (status, outcome, reason) => {
    expect(classifyOutcome(response(status), rules)).toEqual({ outcome, reason });
  });

  it.each([
    ['dns_nxdomain', 'gone'],
    ['dns_nodata', 'gone'],
    ['connection_refused', 'gone'],
    ['blocked_address', 'refused'],
    ['blocked_scheme', 'refused'],
    ['dns_failure', 'inconclusive'],
    ['timeout', 'inconclusive'],
    ['tls', 'inconclusive'],
    ['connection_reset', 'inconclusive'],
    ['protocol', 'inconclusive'],
    ['too_many_redirects', 'inconclusive'],
    ['body_too_large', 'inconclusive'],
    ['other', 'inconclusive'],
  ] as const)('error %s → %s', (error, outcome) => {
    expect(classifyOutcome(failure(error), rules)).toEqual({ outcome, reason: error });
  });

  it('a 2xx takedown page is gone; built-in and configured patterns both count', () => {
    expect(classifyOutcome(response(200, '<h1>this file has been removed</h1>'), rules)).toEqual({ outcome: 'gone', reason: 'takedown_page' });
    expect(classifyOutcome(response(200, 'account suspended'), rules)).toEqual({ outcome: 'gone', reason: 'takedown_page' });
    expect(classifyOutcome(response(200, 'datei gelöscht von betreiber'), rules)).toEqual({ outcome: 'gone', reason: 'takedown_page' });
  });

  it('a challenge page is inconclusive even if it also reads like a takedown', () => {
    expect(classifyOutcome(response(200, 'checking your browser before accessing … file has been removed'), rules)).toEqual({ outcome: 'inconclusive', reason: 'challenge_page' });
  });

  it('an ordinary page is live', () => {
    expect(classifyOutcome(response(200, '<html><body>gallery of 12 images</body></html>'), rules).outcome).toBe('live');
  });

  it('a takedown phrase on a 404 still reads as the status says', () => {
    expect(classifyOutcome(response(404, 'file has been removed'), rules)).toEqual({ outcome: 'gone', reason: 'http_404' });
  });
});
