/** Retry decisions (full jitter, Retry-After, 410, giving up) and ack tokens, as pure functions. */
import { describe, expect, it } from 'vitest';
import { ackToken, ackUrl, verifyAckToken } from '../../core/ack-token.js';
import { decideAfterDelivery, DEFAULT_RETRY_POLICY, fullJitterDelay, parseRetryAfter } from '../../core/delivery-policy.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const policy = { baseMs: 1000, capMs: 60_000, maxAttempts: 5, maxRetryAfterMs: 3_600_000 };

describe('fullJitterDelay', () => {
  it.each([
    [1, 0.999, 999], [2, 0.999, 1998], [3, 0.5, 2000], [7, 0.999, 59_940], [40, 0.999, 59_940], [1, 0, 0],
  ])('attempt %i with random %f waits %i ms', (attempt, r, expected) => {
    expect(fullJitterDelay(attempt, policy, () => r)).toBe(expected);
  });
});

describe('decideAfterDelivery', () => {
  it('sent on success', () => {
    expect(decideAfterDelivery({ ok: true, httpStatus: 204 }, 1, NOW, () => 0.5, policy)).toEqual({ outcome: 'sent' });
  });

  it('disables on 410, whatever the attempt', () => {
    expect(decideAfterDelivery({ ok: false, error: 'http_410', endpointGone: true }, 1, NOW, () => 0.5, policy)).toEqual({ outcome: 'disabled', error: 'http_410' });
  });

  it('retries with back-off, never sooner than Retry-After, capped', () => {
    expect(decideAfterDelivery({ ok: false, error: 'http_500' }, 2, NOW, () => 0.5, policy)).toEqual({ outcome: 'retry', error: 'http_500', notBefore: new Date(NOW.getTime() + 1000) });
    expect(decideAfterDelivery({ ok: false, error: 'http_503', retryAfterMs: 120_000 }, 1, NOW, () => 0.5, policy))
      .toMatchObject({ outcome: 'retry', notBefore: new Date(NOW.getTime() + 120_000) });
    expect(decideAfterDelivery({ ok: false, error: 'http_429', retryAfterMs: 10 * 86_400_000 }, 1, NOW, () => 0.5, policy))
      .toMatchObject({ notBefore: new Date(NOW.getTime() + 3_600_000) });
    expect(decideAfterDelivery({ ok: false, error: 'redirect_302' }, 1, NOW, () => 0, policy)).toMatchObject({ outcome: 'retry' });
  });

  it('gives up after maxAttempts', () => {
    expect(decideAfterDelivery({ ok: false, error: 'timeout' }, 5, NOW, () => 0.5, policy)).toEqual({ outcome: 'failed', error: 'timeout (gave up after 5 attempts)' });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBeGreaterThan(10);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Tue, 01 Jan 2030 00:01:00 GMT', 60_000],
    ['Mon, 31 Dec 2029 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s → %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('ack tokens', () => {
  it('sign one notice id under one secret', () => {
    const t = ackToken('s'.repeat(43), 'n1');
    expect(verifyAckToken('s'.repeat(43), 'n1', t)).toBe(true);
    expect(verifyAckToken('s'.repeat(43), 'n2', t)).toBe(false);
    expect(verifyAckToken('x'.repeat(43), 'n1', t)).toBe(false);
    expect(verifyAckToken('s'.repeat(43), 'n1', `${t}x`)).toBe(false);
    expect(ackUrl('http://127.0.0.1:8080/', 's'.repeat(43), 'n1')).toBe(`http://127.0.0.1:8080/v1/notices/n1/ack?token=${t}`);
  });
});
