/**
 * sha256, sha1 and md5 of a body, streamed in memory (CONTRACT.md §7: only the digests are kept;
 * the bytes pass through the hash state and are dropped).
 */
import { createHash, type Hash } from 'node:crypto';
import type { ContentDigests } from '../core/fetcher.js';

/** Streams chunks through the three hashes at once; only the final digests come out. */
export class BodyHasher {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha1: Hash = createHash('sha1');
  private readonly md5: Hash = createHash('md5');

  /** Hash the next bytes of the body. */
  update(chunk: Uint8Array): void {
    this.sha256.update(chunk);
    this.sha1.update(chunk);
    this.md5.update(chunk);
  }

  /** Lower-case hex digests of everything passed to {@link update}. Call once. */
  digest(): ContentDigests {
    return { sha256: this.sha256.digest('hex'), sha1: this.sha1.digest('hex'), md5: this.md5.digest('hex') };
  }
}
