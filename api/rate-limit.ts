/**
 * Per-key rate limits: a token bucket per API key, in memory (each API process limits the
 * requests it serves). A bucket holds up to `burst` tokens and refills at `perSecond`; a request
 * takes one.
 */

export interface RateLimit {
  /** sustained requests per second @default 20 */
  perSecond: number;
  /** requests allowed at once after a quiet spell @default 100 */
  burst: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** buckets kept before idle (full) ones are dropped */
const MAX_BUCKETS = 10_000;

export class TokenBuckets {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** @param now milliseconds, from the API's clock */
  constructor(limit: RateLimit, now: () => number) {
    this.#limit = limit;
    this.#now = now;
  }

  take(key: string): TakeResult {
    const now = this.#now();
    const { perSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    // A clock that steps back refills nothing (and takes nothing away).
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed / 1000) * perSecond);
    bucket.at = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > MAX_BUCKETS) this.#prune();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) };
  }

  /** Drops the least recently used buckets; a dropped bucket comes back full, as if idle. */
  #prune(): void {
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= MAX_BUCKETS / 2) break;
      this.#buckets.delete(key);
    }
  }
}
