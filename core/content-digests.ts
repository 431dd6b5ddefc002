/**
 * Digest rules shared by the fetcher, the hash list and the identity decision: which algorithm a
 * hex digest is by its length, whether a body's digests match an item's hashes, and the lookup
 * port of the hash list (crawler/hash-list.ts implements it).
 */
import type { ContentDigests, ExpectedHashes, HashAlgorithm, HashListMatch } from './fetcher.js';

/** In-memory set of known digests (`hashList.files`). */
export interface HashLookup {
  /** whether this hex digest (any case; md5, sha1 or sha256 by length) is in the list */
  has(digest: string): boolean;
}

const HEX_LENGTHS: ReadonlyArray<[HashAlgorithm, number]> = [
  ['sha256', 64],
  ['sha1', 40],
  ['md5', 32],
];
/** strongest first: a match is reported with the strongest algorithm that matched */
const ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha1', 'md5'];

/** The algorithm of a hex digest by its length; null when it is not 32, 40 or 64 hex digits. */
export function algorithmOfDigest(digest: string): HashAlgorithm | null {
  if (!/^[0-9a-fA-F]+$/.test(digest)) return null;
  return HEX_LENGTHS.find(([, length]) => length === digest.length)?.[0] ?? null;
}

/** Whether `expected` holds at least one well-formed digest. */
export function hasExpectedHashes(expected: ExpectedHashes | null | undefined): boolean {
  if (!expected) return false;
  return ALGORITHMS.some((a) => {
    const value = expected[a];
    return value !== undefined && algorithmOfDigest(value) === a;
  });
}

/** The strongest algorithm whose expected digest equals the body's; null when none does. */
export function matchExpected(digests: ContentDigests, expected: ExpectedHashes | null | undefined): HashAlgorithm | null {
  if (!expected) return null;
  return ALGORITHMS.find((a) => expected[a] !== undefined && expected[a]?.toLowerCase() === digests[a]) ?? null;
}

/** The first of the body's digests (sha256, sha1, md5) found in the list; null when none. */
export function findHashListMatch(digests: ContentDigests, lookup: HashLookup | null | undefined): HashListMatch | null {
  if (!lookup) return null;
  const algorithm = ALGORITHMS.find((a) => lookup.has(digests[a]));
  return algorithm === undefined ? null : { algorithm, digest: digests[algorithm] };
}

/** Whether a digest submitted with an item (any case; a malformed one never matches) is in the list. */
export function anySubmittedDigestListed(
  submitted: { sha256?: string | null; sha1?: string | null; md5?: string | null },
  lookup: HashLookup | null | undefined,
): boolean {
  if (!lookup) return false;
  return ALGORITHMS.some((a) => {
    const value = submitted[a];
    return typeof value === 'string' && algorithmOfDigest(value) === a && lookup.has(value);
  });
}
