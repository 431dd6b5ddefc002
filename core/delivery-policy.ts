/**
 * What a delivery attempt's result means for the notice (CONTRACT.md §6): sent; try again later
 * (full-jitter exponential back-off, never sooner than the receiver's `Retry-After`); give up;
 * or disable the endpoint (HTTP 410). Pure: `now` and the random source are arguments.
 *
 * Every failure other than 410 is retried — a 3xx (redirects are not followed), 4xx, 5xx, a
 * timeout, a refused connection, an SMTP rejection — because a lost notice leaves abuse content
 * up, and most of these are fixed by the receiver or the operator within hours. After
 * `maxAttempts` the notice is marked failed and shows on /admin.
 */
import type { RandomSource } from './clock.js';
import type { DeliveryResult } from './channel.js';

export interface RetryPolicy {
  /** first back-off ceiling, ms @default 30000 */
  baseMs: number;
  /** largest back-off ceiling, ms @default 3600000 */
  capMs: number;
  /** attempts before the notice is given up @default 40 */
  maxAttempts: number;
  /** a `Retry-After` longer than this is cut to it, ms @default 86400000 */
  maxRetryAfterMs: number;
}

/** About a day of attempts: 30 s doubling to an hour, 40 tries. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseMs: 30_000,
  capMs: 3_600_000,
  maxAttempts: 40,
  maxRetryAfterMs: 86_400_000,
});

export type DeliveryDecision =
  | { outcome: 'sent' }
  | { outcome: 'retry'; notBefore: Date; error: string }
  | { outcome: 'failed'; error: string }
  | { outcome: 'disabled'; error: string };

/**
 * "Full jitter" (AWS architecture blog, "Exponential Backoff And Jitter"): a uniform wait between
 * 0 and min(cap, base · 2^(attempt−1)), so receivers that failed together are not hit together.
 */
export function fullJitterDelay(attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>, random: RandomSource): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * exp);
}

/**
 * @param attempts the attempts made so far, this one included
 */
export function decideAfterDelivery(result: DeliveryResult, attempts: number, now: Date, random: RandomSource, policy: RetryPolicy = DEFAULT_RETRY_POLICY): DeliveryDecision {
  if (result.ok) return { outcome: 'sent' };
  if (result.endpointGone) return { outcome: 'disabled', error: result.error };
  if (attempts >= policy.maxAttempts) return { outcome: 'failed', error: `${result.error} (gave up after ${attempts} attempts)` };
  const backoff = fullJitterDelay(attempts, policy, random);
  const asked = Math.min(Math.max(result.retryAfterMs ?? 0, 0), policy.maxRetryAfterMs);
  return { outcome: 'retry', notBefore: new Date(now.getTime() + Math.max(backoff, asked)), error: result.error };
}

/**
 * A `Retry-After` header in ms from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3);
 * undefined when absent or unparsable. A date in the past is 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, at - now.getTime());
}
