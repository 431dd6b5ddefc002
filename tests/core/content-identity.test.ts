/**
 * Table tests of the identity rules (core/content-identity.ts) with fake metadata and digests.
 */
import { describe, expect, it } from 'vitest';
import type { HashLookup } from '../../core/content-digests.js';
import { decideMediaIdentity, decidePageIdentity, type MediaObservation } from '../../core/content-identity.js';
import type { ContentDigests, MediaMetadata } from '../../core/fetcher.js';

const JPEG: MediaMetadata = { contentType: 'image/jpeg', contentLength: 1000, etag: '"abc"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' };
const meta = (over: Partial<MediaMetadata>): MediaMetadata => ({ ...JPEG, ...over });
const seen = (media: MediaMetadata, over: Partial<MediaObservation> = {}): MediaObservation => ({ media, truncated: false, ...over });

const DIGESTS: ContentDigests = { sha256: 'a'.repeat(64), sha1: 'b'.repeat(40), md5: 'c'.repeat(32) };
const OTHER: ContentDigests = { sha256: 'd'.repeat(64), sha1: 'e'.repeat(40), md5: 'f'.repeat(32) };
const listOf = (...digests: string[]): HashLookup => ({ has: (d) => digests.includes(d) });

describe('decideMediaIdentity, metadata policy', () => {
  it.each([
    ['same everything', JPEG, JPEG, 'live', 'metadata_match'],
    ['same ETag, new length (ETag is the server’s own identity claim)', JPEG, meta({ contentLength: 5 }), 'live', 'metadata_match'],
    ['weak vs strong ETag, -gzip suffix', JPEG, meta({ etag: 'W/"abc-gzip"', contentLength: null }), 'live', 'metadata_match'],
    ['new ETag, same length (ETags differ between servers)', JPEG, meta({ etag: '"xyz"' }), 'live', 'metadata_match'],
    ['png where jpeg was, same length', JPEG, meta({ contentType: 'image/png', etag: null }), 'live', 'metadata_match'],
    ['same Last-Modified, nothing else comparable', meta({ etag: null, contentLength: null }), meta({ etag: null, contentLength: null }), 'live', 'metadata_match'],
    ['nothing comparable either time', meta({ etag: null, contentLength: null, lastModified: null }), meta({ etag: null, contentLength: null, lastModified: null }), 'live', 'media_type_match'],
    ['unlabelled now, image before', JPEG, meta({ contentType: null }), 'live', 'metadata_match'],
    ['length and ETag changed: inconclusive, not gone', JPEG, meta({ etag: '"new"', contentLength: 999 }), 'inconclusive', 'metadata_changed'],
    ['length changed, no ETags', meta({ etag: null }), meta({ etag: null, contentLength: 1 }), 'inconclusive', 'metadata_changed'],
    ['ETag changed, no lengths', meta({ contentLength: null }), meta({ contentLength: null, etag: '"new"', lastModified: null }), 'inconclusive', 'metadata_changed'],
    ['only Last-Modified, changed', meta({ etag: null, contentLength: null }), meta({ etag: null, contentLength: null, lastModified: 'Tue, 02 Jan 2024 00:00:00 GMT' }), 'inconclusive', 'metadata_changed'],
    ['a video where an image was', JPEG, meta({ contentType: 'video/mp4' }), 'inconclusive', 'media_type_changed'],
    ['JSON where an image was', JPEG, meta({ contentType: 'application/json' }), 'inconclusive', 'media_type_changed'],
    ['audio/mp4 where video/mp4 was', meta({ contentType: 'video/mp4' }), meta({ contentType: 'audio/mp4' }), 'live', 'metadata_match'],
    ['an HTML page where an image was', JPEG, meta({ contentType: 'text/html', etag: null }), 'gone', 'media_replaced_by_page'],
    ['a text page where an unlabelled binary was', meta({ contentType: null }), meta({ contentType: 'text/plain' }), 'gone', 'media_replaced_by_page'],
  ] as const)('%s → %s (%s)', (_name, baseline, current, outcome, reason) => {
    expect(decideMediaIdentity(baseline, seen(current), 'metadata')).toEqual({ outcome, reason });
  });

  it('no baseline yet → live (no_baseline), whatever is served', () => {
    expect(decideMediaIdentity(null, seen(JPEG), 'metadata')).toEqual({ outcome: 'live', reason: 'no_baseline' });
    expect(decideMediaIdentity(null, seen(meta({ contentType: 'text/html' })), 'metadata')).toEqual({ outcome: 'live', reason: 'no_baseline' });
  });

  it('a page wrapped round the image (it references the checked URL) → inconclusive, not gone', () => {
    const page = seen(meta({ contentType: 'text/html' }), {
      checkedUrl: 'https://i.host.test/abc.jpg',
      mediaRefs: ['https://i.host.test/abc.jpg?via=page'],
    });
    expect(decideMediaIdentity(JPEG, page, 'metadata')).toEqual({ outcome: 'inconclusive', reason: 'media_wrapped_in_page' });
    const other = { ...page, mediaRefs: ['https://i.host.test/removed.png'] };
    expect(decideMediaIdentity(JPEG, other, 'metadata')).toEqual({ outcome: 'gone', reason: 'media_replaced_by_page' });
  });

  it('digests are ignored under metadata, even if present', () => {
    expect(decideMediaIdentity(JPEG, seen(JPEG, { digests: OTHER }), 'metadata', DIGESTS)).toEqual({ outcome: 'live', reason: 'metadata_match' });
  });
});

describe('decideMediaIdentity, hash policy', () => {
  const changed = meta({ etag: '"new"', contentLength: 1 });

  it.each([
    ['sha256 equal to the item', { sha256: DIGESTS.sha256 }, null, DIGESTS, 'live', 'hash_match'],
    ['md5 only, upper-case in the item', { md5: DIGESTS.md5.toUpperCase() }, null, DIGESTS, 'live', 'hash_match'],
    ['in the hash list', undefined, listOf(DIGESTS.sha1), DIGESTS, 'live', 'hash_match'],
    ['different digest, full body: inconclusive, not gone', { sha256: DIGESTS.sha256 }, null, OTHER, 'inconclusive', 'content_changed'],
    ['different digest, not in the list, no item hashes: metadata decides', undefined, listOf(DIGESTS.sha1), OTHER, 'inconclusive', 'metadata_changed'],
  ] as const)('%s → %s (%s)', (_name, expected, list, digests, outcome, reason) => {
    expect(decideMediaIdentity(JPEG, seen(changed, { digests }), 'hash', expected, list)).toEqual({ outcome, reason });
  });

  it('a hash match wins over labels: a mislabelled page that is the reported file is live', () => {
    const page = seen(meta({ contentType: 'text/html' }), { digests: DIGESTS });
    expect(decideMediaIdentity(JPEG, page, 'hash', { sha1: DIGESTS.sha1 })).toEqual({ outcome: 'live', reason: 'hash_match' });
  });

  it('the fetcher’s own hash-list match counts', () => {
    const current = seen(changed, { digests: DIGESTS, hashListMatch: { algorithm: 'md5', digest: DIGESTS.md5 } });
    expect(decideMediaIdentity(JPEG, current, 'hash')).toEqual({ outcome: 'live', reason: 'hash_match' });
  });

  it('a truncated body’s digests are never trusted: metadata decides', () => {
    const current = seen(JPEG, { digests: OTHER, truncated: true });
    expect(decideMediaIdentity(JPEG, current, 'hash', { sha256: DIGESTS.sha256 })).toEqual({ outcome: 'live', reason: 'metadata_match' });
  });

  it('no digests (body over the cap): metadata decides', () => {
    expect(decideMediaIdentity(JPEG, seen(JPEG, { digests: null }), 'hash', { sha256: DIGESTS.sha256 })).toEqual({ outcome: 'live', reason: 'metadata_match' });
  });

  it('first check with item hashes that do not match → inconclusive', () => {
    expect(decideMediaIdentity(null, seen(JPEG, { digests: OTHER }), 'hash', DIGESTS)).toEqual({ outcome: 'inconclusive', reason: 'content_changed' });
  });
});

describe('decidePageIdentity', () => {
  const KNOWN = ['https://cdn1.host.test/u/abc.jpg?token=1', 'https://host.test/u/def.jpg'];

  it.each([
    ['nothing known', [], ['https://x.test/a.jpg'], true, 'live', 'no_known_media'],
    ['unparsed page', KNOWN, null, true, 'inconclusive', 'page_unparsed'],
    ['exact ref present', KNOWN, ['https://host.test/u/def.jpg'], true, 'live', 'known_content_present'],
    ['same ref with a rotated token', KNOWN, ['https://cdn1.host.test/u/abc.jpg?token=2'], true, 'live', 'known_content_present'],
    ['same path on a rotated CDN shard', KNOWN, ['https://cdn7.host.test/u/abc.jpg'], true, 'live', 'known_content_present'],
    ['fragment differs only', KNOWN, ['https://host.test/u/def.jpg#top'], true, 'live', 'known_content_present'],
    ['none of the known refs, full page', KNOWN, ['https://host.test/u/other.jpg'], true, 'gone', 'known_content_removed'],
    ['no media at all any more', KNOWN, [], true, 'gone', 'known_content_removed'],
    ['none found, but the page was cut short', KNOWN, ['https://host.test/u/other.jpg'], false, 'inconclusive', 'media_refs_incomplete'],
  ] as const)('%s → %s (%s)', (_name, known, current, complete, outcome, reason) => {
    expect(decidePageIdentity(known, current, complete)).toEqual({ outcome, reason });
  });
});
