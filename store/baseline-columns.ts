/**
 * The content baseline of a report (migration 0060) as stored: header metadata, page media
 * references (bounded) and digests first seen live. Never content (CONTRACT.md §7).
 *
 * No queries of its own: the check job reads it with the report (report-queries.ts
 * `getReportForCheck`) and writes it with the first live check that is applied (`recordCheck`),
 * so a check costs one read and one write. Here: the columns and their mapping.
 */
import { MAX_STORED_MEDIA_REFS, type ContentBaseline } from '../core/store.js';
import type { ContentDigests, MediaMetadata } from '../core/fetcher.js';

/** The baseline columns of `reports r`, for a SELECT. */
export const BASELINE_COLUMNS = 'r.baseline_media, r.known_media_refs, r.baseline_digests, r.baseline_at';

export interface BaselineRow {
  baseline_media: MediaMetadata | null;
  known_media_refs: string[] | null;
  baseline_digests: ContentDigests | null;
  /** null: no baseline recorded yet */
  baseline_at: Date | null;
}

export function toBaseline(r: BaselineRow): ContentBaseline | null {
  if (r.baseline_at === null) return null;
  return { media: r.baseline_media, mediaRefs: r.known_media_refs, digests: r.baseline_digests, seenAt: r.baseline_at };
}

/**
 * The baseline as query parameters `[media, mediaRefs, digests, seenAt]` (JSON text for the jsonb
 * columns): only the known fields of the media metadata and digests, at most
 * {@link MAX_STORED_MEDIA_REFS} references (the migration's check constraint). No baseline: all null.
 */
export function baselineParams(baseline: ContentBaseline | undefined): [string | null, string | null, string | null, Date | null] {
  if (baseline === undefined) return [null, null, null, null];
  const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
  const media = baseline.media === null ? null : {
    contentType: baseline.media.contentType, contentLength: baseline.media.contentLength,
    etag: baseline.media.etag, lastModified: baseline.media.lastModified,
  };
  const digests = baseline.digests === null ? null : { sha256: baseline.digests.sha256, sha1: baseline.digests.sha1, md5: baseline.digests.md5 };
  const refs = baseline.mediaRefs === null ? null : baseline.mediaRefs.slice(0, MAX_STORED_MEDIA_REFS);
  return [json(media), json(refs), json(digests), baseline.seenAt];
}
