/**
 * What response headers say about the served object, and which broad family its type is in.
 * Pure: the identity rules (core/content-identity.ts) compare these with what was first seen.
 */
import type { MediaMetadata } from './fetcher.js';

/**
 * Broad families of content types. `binary` is an unlabelled or generic binary body
 * (`application/octet-stream`, no Content-Type): it may be any media. `page` is a document a
 * person reads (HTML, XHTML, plain text).
 */
export type MediaFamily = 'image' | 'video' | 'audio' | 'binary' | 'page' | 'other';

const BINARY_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'application/binary', 'application/x-binary']);
const VIDEO_TYPES = new Set(['application/mp4', 'application/ogg', 'application/x-mpegurl', 'application/vnd.apple.mpegurl']);
const PAGE_TYPES = new Set(['text/html', 'application/xhtml+xml', 'text/plain']);

/** The media type of a Content-Type value, lower-cased, without parameters; null when empty. */
export function mediaTypeOf(contentType: string | null | undefined): string | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === '' ? null : type;
}

/** The family of a media type (as returned by {@link mediaTypeOf}). */
export function mediaFamily(type: string | null): MediaFamily {
  if (type === null || BINARY_TYPES.has(type)) return 'binary';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/') || VIDEO_TYPES.has(type)) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  if (PAGE_TYPES.has(type)) return 'page';
  return 'other';
}

/** Whether a family is an image, video, audio or unlabelled binary: the things reported as media. */
export function isMediaFamily(family: MediaFamily): boolean {
  return family === 'image' || family === 'video' || family === 'audio' || family === 'binary';
}

/**
 * Whether two families can be the same object. An unlabelled binary may be any media; video and
 * audio containers share types (`video/mp4` vs `audio/mp4`).
 */
export function compatibleFamilies(a: MediaFamily, b: MediaFamily): boolean {
  if (a === b) return true;
  if (isMediaFamily(a) && isMediaFamily(b) && (a === 'binary' || b === 'binary')) return true;
  const av = new Set<MediaFamily>(['video', 'audio']);
  return av.has(a) && av.has(b);
}

function header(headers: Readonly<Record<string, string>>, name: string): string | null {
  const value = headers[name]?.trim();
  return value === undefined || value === '' ? null : value;
}

/** {@link MediaMetadata} of a response, from its (lower-case named) headers. */
export function mediaMetadataFromHeaders(headers: Readonly<Record<string, string>>): MediaMetadata {
  const length = header(headers, 'content-length');
  return {
    contentType: mediaTypeOf(headers['content-type']),
    contentLength: length !== null && /^\d{1,15}$/.test(length) ? Number(length) : null,
    etag: header(headers, 'etag'),
    lastModified: header(headers, 'last-modified'),
  };
}

/**
 * ETags compared weakly (RFC 9110 §8.8.3.2), also ignoring the `-gzip`/`-br` suffix servers
 * add to the ETag of a compressed representation of the same object.
 */
export function sameEtag(a: string, b: string): boolean {
  const norm = (tag: string): string => tag.trim().replace(/^W\//i, '').replace(/^"|"$/g, '').replace(/-(gzip|br|deflate|zstd)$/i, '');
  return norm(a) === norm(b);
}
