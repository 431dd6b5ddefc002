/**
 * "Is it still the same content?" — the identity rules of issue 3 item 4, pure.
 * classifyOutcome (core/classify-outcome.ts) calls {@link decideIdentity} last, after status
 * codes, takedown and challenge pages, so it stays the one function that decides outcomes.
 *
 * Bias, as everywhere in vigil: a wrong `gone` ends monitoring of live abuse content, so only
 * evidence that the reported object is no longer served gives `gone`; changes that an ordinary
 * server or CDN also makes (new ETag, re-encoded bytes, a rotated URL) give `inconclusive`.
 *
 * Choices, and why:
 * - metadata: same family and an equal ETag or Content-Length → `live` (`metadata_match`).
 *   Length or ETag changed → `inconclusive` (`metadata_changed`), NOT `gone`: ETags differ
 *   between servers behind one name, CDNs re-encode and recompress images, and a placeholder
 *   image cannot be told from the original without reading it. Removal is then confirmed by
 *   status codes, takedown pages or page identity, or decided with `mediaPolicy: hash`.
 * - an HTML page where media was → `gone` (`media_replaced_by_page`): the object is no longer
 *   served at its URL. Unless the page itself references that URL (a viewer page wrapped round
 *   the image, as some hosts serve to clients that accept HTML) → `inconclusive`.
 * - hash: a digest equal to an item hash or in the hash list → `live` (`hash_match`). A full
 *   body with a different digest → `inconclusive` (`content_changed`), NOT `gone`: it proves the
 *   reported bytes are not served, not that the picture is gone (re-encoding, stripped
 *   metadata, format negotiation such as WebP give new bytes of the same picture).
 * - page: none of the media first seen on it is referenced any more → `gone`
 *   (`known_content_removed`), but only if the whole page was read and its reference list was
 *   not cut at the bound; otherwise `inconclusive`.
 */
import { hasExpectedHashes, findHashListMatch, matchExpected, type HashLookup } from './content-digests.js';
import type { ContentDigests, ExpectedHashes, FetchResponse, HashListMatch, MediaMetadata, MediaPolicy } from './fetcher.js';
import { compatibleFamilies, isMediaFamily, mediaFamily, sameEtag } from './media-metadata.js';
import { refKeys } from './media-refs.js';

/** The check outcomes identity can give (never `refused`: that is the guard's). */
export type IdentityOutcome = 'live' | 'gone' | 'inconclusive';

/** Stable reason codes of identity decisions (stored as the check's reason). */
export type IdentityReason =
  | 'no_baseline'
  | 'metadata_match'
  | 'media_type_match'
  | 'metadata_changed'
  | 'media_type_changed'
  | 'media_replaced_by_page'
  | 'media_wrapped_in_page'
  | 'hash_match'
  | 'content_changed'
  | 'no_known_media'
  | 'known_content_present'
  | 'known_content_removed'
  | 'media_refs_incomplete'
  | 'page_unparsed';

/** An identity outcome and its reason code. */
export interface IdentityDecision {
  outcome: IdentityOutcome;
  reason: IdentityReason;
}

/** What one fetch saw of the object (a subset of FetchResponse). */
export interface MediaObservation {
  media?: MediaMetadata;
  digests?: ContentDigests | null;
  hashListMatch?: HashListMatch | null;
  mediaRefs?: readonly string[] | null;
  /** the body was cut at the byte cap */
  truncated: boolean;
  /** the URL that was checked (the report's URL), to recognise a page wrapped round it */
  checkedUrl?: string;
}

const UNKNOWN: MediaMetadata = { contentType: null, contentLength: null, etag: null, lastModified: null };
const decision = (outcome: IdentityOutcome, reason: IdentityReason): IdentityDecision => ({ outcome, reason });

/**
 * Identity of a media URL (an image, video or binary when first seen).
 *
 * @param baseline the metadata first seen live; null = none recorded yet
 * @param current this fetch
 * @param policy `crawler.mediaPolicy`; digests are only trusted under `hash`
 * @param expected the item's hashes (or the digests first seen), if any
 * @param hashList the hash list, when the fetcher has not looked the digests up already
 */
export function decideMediaIdentity(
  baseline: MediaMetadata | null,
  current: MediaObservation,
  policy: MediaPolicy,
  expected?: ExpectedHashes | null,
  hashList?: HashLookup | null,
): IdentityDecision {
  const media = current.media ?? UNKNOWN;
  const digests = policy === 'hash' && !current.truncated ? current.digests ?? null : null;

  // The strongest evidence first: the very bytes that were reported, whatever the labels say.
  if (digests !== null) {
    if (matchExpected(digests, expected) !== null) return decision('live', 'hash_match');
    if (current.hashListMatch || findHashListMatch(digests, hashList)) return decision('live', 'hash_match');
  }

  const family = mediaFamily(media.contentType);
  const baseFamily = baseline === null ? null : mediaFamily(baseline.contentType);
  if (baseFamily !== null && isMediaFamily(baseFamily) && family === 'page') {
    if (current.checkedUrl !== undefined && refersTo(current.mediaRefs, current.checkedUrl)) {
      return decision('inconclusive', 'media_wrapped_in_page');
    }
    return decision('gone', 'media_replaced_by_page');
  }

  if (digests !== null && hasExpectedHashes(expected)) return decision('inconclusive', 'content_changed');
  if (baseline === null || baseFamily === null) return decision('live', 'no_baseline');
  if (!compatibleFamilies(baseFamily, family)) return decision('inconclusive', 'media_type_changed');
  return compareMetadata(baseline, media);
}

/** Same family: do the validators agree? Equal ETag or length wins; a disagreement is inconclusive. */
function compareMetadata(baseline: MediaMetadata, current: MediaMetadata): IdentityDecision {
  const etags = baseline.etag !== null && current.etag !== null;
  if (etags && sameEtag(baseline.etag as string, current.etag as string)) return decision('live', 'metadata_match');
  if (baseline.contentLength !== null && current.contentLength !== null) {
    return baseline.contentLength === current.contentLength
      ? decision('live', 'metadata_match')
      : decision('inconclusive', 'metadata_changed');
  }
  const dates = baseline.lastModified !== null && current.lastModified !== null;
  if (dates && baseline.lastModified === current.lastModified) return decision('live', 'metadata_match');
  if (etags || dates) return decision('inconclusive', 'metadata_changed');
  // Nothing comparable was sent either time: the status and the type are all there is.
  return decision('live', 'media_type_match');
}

/**
 * Identity of a page: is any of the media first seen on it still referenced?
 *
 * @param knownMediaRefs the page's media references when first seen live (the reported content)
 * @param currentRefs this fetch's references; null = the page could not be parsed
 * @param complete false when the body was truncated or the reference list hit its bound: then an
 *   absent reference may just not have been read, so the answer is at worst `inconclusive`
 */
export function decidePageIdentity(
  knownMediaRefs: readonly string[],
  currentRefs: readonly string[] | null | undefined,
  complete = true,
): IdentityDecision {
  if (knownMediaRefs.length === 0) return decision('live', 'no_known_media');
  if (currentRefs === null || currentRefs === undefined) return decision('inconclusive', 'page_unparsed');
  const present = new Set(currentRefs.flatMap(refKeys));
  if (knownMediaRefs.some((ref) => refKeys(ref).some((key) => present.has(key)))) {
    return decision('live', 'known_content_present');
  }
  return complete ? decision('gone', 'known_content_removed') : decision('inconclusive', 'media_refs_incomplete');
}

function refersTo(refs: readonly string[] | null | undefined, url: string): boolean {
  return refs != null && decidePageIdentity([url], refs).outcome === 'live';
}

/** What the check knows about the reported object from earlier checks and the submission. */
export interface IdentityContext {
  /** @default 'metadata' */
  policy?: MediaPolicy;
  /** the report's URL */
  url?: string;
  /** metadata first seen live (media URLs); null/undefined = none */
  baseline?: MediaMetadata | null;
  /** the item's hashes, or the digests first seen */
  expected?: ExpectedHashes | null;
  hashList?: HashLookup | null;
  /** media references of the page when first seen live (page URLs) */
  knownMediaRefs?: readonly string[];
}

/**
 * Identity of a 2xx response: page rules for a page that was a page (or is one, first seen),
 * media rules for everything else.
 */
export function decideIdentity(result: FetchResponse, context: IdentityContext): IdentityDecision {
  const policy = context.policy ?? 'metadata';
  const baseline = context.baseline ?? null;
  const family = mediaFamily(result.media?.contentType ?? null);
  const wasMedia = baseline !== null && isMediaFamily(mediaFamily(baseline.contentType));
  const observation: MediaObservation = { ...result, checkedUrl: context.url };
  if (family === 'page' && !wasMedia) {
    const hashed = decideMediaIdentity(null, observation, policy, context.expected, context.hashList);
    if (hashed.reason === 'hash_match') return hashed;
    const complete = !result.truncated && result.mediaRefsCapped !== true;
    return decidePageIdentity(context.knownMediaRefs ?? [], result.mediaRefs, complete);
  }
  return decideMediaIdentity(baseline, observation, policy, context.expected, context.hashList);
}
