/**
 * classifyOutcome with an identity context: status rules first, then challenge/takedown pages,
 * then identity — and without a context, nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { classifyOutcome, type IdentityContext } from '../../core/classify-outcome.js';
import type { FetchResponse, MediaMetadata } from '../../core/fetcher.js';
import { BUILTIN_CHALLENGE_PATTERNS, BUILTIN_TAKEDOWN_PATTERNS } from '../../core/takedown-patterns.js';

const RULES = { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS };
const JPEG: MediaMetadata = { contentType: 'image/jpeg', contentLength: 1000, etag: '"abc"', lastModified: null };
const HTML: MediaMetadata = { contentType: 'text/html', contentLength: null, etag: null, lastModified: null };
const DIGESTS = { sha256: 'a'.repeat(64), sha1: 'b'.repeat(40), md5: 'c'.repeat(32) };

function response(over: Partial<FetchResponse>): FetchResponse {
  return {
    kind: 'response',
    status: 200,
    headers: {},
    finalUrl: 'https://host.test/x',
    redirects: 0,
    remoteAddress: null,
    bodyBytes: 0,
    truncated: false,
    textSample: null,
    media: JPEG,
    durationMs: 1,
    ...over,
  };
}

const PAGE_CONTEXT: IdentityContext = { knownMediaRefs: ['https://host.test/u/abc.jpg'] };
const removedPage = response({ media: HTML, textSample: '<p>welcome</p>', mediaRefs: ['https://host.test/logo.png'] });

describe('classifyOutcome with identity', () => {
  it('without an identity context a 2xx is live on its status, as before', () => {
    expect(classifyOutcome(removedPage, RULES)).toEqual({ outcome: 'live', reason: 'http_200' });
  });

  it('status rules come first: a 404 is gone by status whatever identity says', () => {
    expect(classifyOutcome(response({ status: 404, media: JPEG }), RULES, { baseline: JPEG })).toEqual({ outcome: 'gone', reason: 'http_404' });
    expect(classifyOutcome(response({ status: 503 }), RULES, { baseline: JPEG })).toEqual({ outcome: 'inconclusive', reason: 'http_503' });
  });

  it('then challenge pages: a challenge where an image was is inconclusive, not "replaced by page"', () => {
    const challenge = response({ media: HTML, textSample: 'checking your browser before accessing', mediaRefs: [] });
    expect(classifyOutcome(challenge, RULES, { baseline: JPEG })).toEqual({ outcome: 'inconclusive', reason: 'challenge_page' });
  });

  it('then takedown pages', () => {
    const takedown = response({ media: HTML, textSample: 'this image has been removed', mediaRefs: ['https://host.test/u/abc.jpg'] });
    expect(classifyOutcome(takedown, RULES, PAGE_CONTEXT)).toEqual({ outcome: 'gone', reason: 'takedown_page' });
  });

  it('then identity: media rules for a media URL', () => {
    expect(classifyOutcome(response({}), RULES, { baseline: JPEG })).toEqual({ outcome: 'live', reason: 'metadata_match' });
    expect(classifyOutcome(response({ media: HTML, mediaRefs: [] }), RULES, { baseline: JPEG, url: 'https://host.test/x' }))
      .toEqual({ outcome: 'gone', reason: 'media_replaced_by_page' });
    expect(classifyOutcome(response({ digests: DIGESTS, media: { ...JPEG, etag: '"z"', contentLength: 5 } }), RULES, {
      baseline: JPEG,
      policy: 'hash',
      expected: { md5: DIGESTS.md5 },
    })).toEqual({ outcome: 'live', reason: 'hash_match' });
  });

  it('then identity: page rules for a page URL', () => {
    expect(classifyOutcome(removedPage, RULES, PAGE_CONTEXT)).toEqual({ outcome: 'gone', reason: 'known_content_removed' });
    const stillThere = response({ media: HTML, mediaRefs: ['https://host.test/u/abc.jpg'] });
    expect(classifyOutcome(stillThere, RULES, PAGE_CONTEXT)).toEqual({ outcome: 'live', reason: 'known_content_present' });
  });

  it('a page cut at the cap, or whose reference list hit the bound, is never "removed"', () => {
    expect(classifyOutcome({ ...removedPage, truncated: true }, RULES, PAGE_CONTEXT)).toEqual({ outcome: 'inconclusive', reason: 'media_refs_incomplete' });
    expect(classifyOutcome({ ...removedPage, mediaRefsCapped: true }, RULES, PAGE_CONTEXT)).toEqual({ outcome: 'inconclusive', reason: 'media_refs_incomplete' });
  });

  it('a page first seen (nothing known yet) is live', () => {
    expect(classifyOutcome(removedPage, RULES, {})).toEqual({ outcome: 'live', reason: 'no_known_media' });
  });

  it('a page whose body is in the hash list is live by hash, whatever its references', () => {
    const hashed = { ...removedPage, digests: DIGESTS };
    expect(classifyOutcome(hashed, RULES, { ...PAGE_CONTEXT, policy: 'hash', hashList: { has: (d) => d === DIGESTS.sha256 } }))
      .toEqual({ outcome: 'live', reason: 'hash_match' });
  });
});
