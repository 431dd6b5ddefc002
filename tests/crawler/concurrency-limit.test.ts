/** The fetch semaphore, in isolation. */
import { describe, expect, test } from 'vitest';
import { ConcurrencyLimit } from '../../crawler/concurrency-limit.js';

describe('ConcurrencyLimit', () => {
  test('grants up to max, then queues in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const a = await limit.acquire();
    const b = await limit.acquire();
    const order: string[] = [];
    const c = limit.acquire().then((r) => (order.push('c'), r));
    const d = limit.acquire().then((r) => (order.push('d'), r));
    expect([limit.running, limit.queued]).toEqual([2, 2]);
    a();
    a(); // releasing twice gives back one slot only
    const releaseC = await c;
    expect(order).toEqual(['c']);
    expect([limit.running, limit.queued]).toEqual([2, 1]);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    expect([limit.running, limit.queued]).toEqual([0, 0]);
  });

  test('a waiter whose signal aborts leaves the queue', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = await limit.acquire();
    const controller = new AbortController();
    const waiting = limit.acquire(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(limit.queued).toBe(0);
    held();
    expect(limit.running).toBe(0);
  });

  test('rejects a non-positive limit', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
