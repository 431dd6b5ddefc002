/**
 * The content baseline of a report (migration 0060): header metadata, page media references
 * (bounded) and digests first seen live. Written once, at the first live check; read by every
 * later check for the identity rules (core/content-identity.ts). Never content (CONTRACT.md §7).
 */
import { MAX_STORED_MEDIA_REFS, type ContentBaseline } from '../core/store.js';
import type { ContentDigests, MediaMetadata } from '../core/fetcher.js';
import { isReportId } from './report-queries.js';
import type { SqlClient } from './sql-client.js';

// Internal (check jobs): no tenant.
const SELECT_BASELINE = `SELECT baseline_media, known_media_refs, baseline_digests, baseline_at
  FROM reports WHERE id = $1 AND baseline_at IS NOT NULL`;

// Once: a later live check (or a concurrent one) never replaces what was first seen.
const RECORD_BASELINE = `UPDATE reports SET baseline_media = $2::jsonb, known_media_refs = $3::jsonb,
    baseline_digests = $4::jsonb, baseline_at = $5
  WHERE id = $1 AND baseline_at IS NULL`;

interface BaselineRow {
  baseline_media: MediaMetadata | null;
  known_media_refs: string[] | null;
  baseline_digests: ContentDigests | null;
  baseline_at: Date;
}

export async function getContentBaseline(db: SqlClient, reportId: string): Promise<ContentBaseline | null> {
  if (!isReportId(reportId)) return null;
  const { rows } = await db.query<BaselineRow>(SELECT_BASELINE, [reportId]);
  const r = rows[0];
  if (!r) return null;
  return { media: r.baseline_media, mediaRefs: r.known_media_refs, digests: r.baseline_digests, seenAt: r.baseline_at };
}

/** @returns false when a baseline was already recorded, or no such report */
export async function recordContentBaseline(db: SqlClient, reportId: string, baseline: ContentBaseline): Promise<boolean> {
  if (!isReportId(reportId)) return false;
  const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
  const media = baseline.media === null ? null : {
    contentType: baseline.media.contentType, contentLength: baseline.media.contentLength,
    etag: baseline.media.etag, lastModified: baseline.media.lastModified,
  };
  const digests = baseline.digests === null ? null : { sha256: baseline.digests.sha256, sha1: baseline.digests.sha1, md5: baseline.digests.md5 };
  const refs = baseline.mediaRefs === null ? null : baseline.mediaRefs.slice(0, MAX_STORED_MEDIA_REFS);
  const { rowCount } = await db.query(RECORD_BASELINE, [reportId, json(media), json(refs), json(digests), baseline.seenAt]);
  return rowCount > 0;
}
