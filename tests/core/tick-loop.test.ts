/**
 * The dispatchers' loop (core/tick-loop.ts) on a hand-driven timer: when the next tick runs after
 * a full batch, a partial one and a failure; one tick at a time; `stop` waits for the running
 * tick and ends the loop.
 */
import { describe, expect, it } from 'vitest';
import { createTickLoop, type LoopTimers } from '../../core/tick-loop.js';

/** Timers that fire only when the test says so. */
function handTimers(): LoopTimers & { pending: { ms: number; fire: () => void }[]; fireNext(): number } {
  const pending: { ms: number; fire: () => void; id: number }[] = [];
  let next = 0;
  return {
    pending,
    setTimeout(callback, ms) {
      const id = ++next;
      pending.push({ ms, fire: callback, id });
      return id;
    },
    clearTimeout(handle) {
      const i = pending.findIndex((p) => p.id === handle);
      if (i >= 0) pending.splice(i, 1);
    },
    fireNext() {
      const p = pending.shift();
      if (!p) throw new Error('no timer pending');
      p.fire();
      return p.ms;
    },
  };
}

/** A tick the test finishes by hand. */
function handTicks() {
  const calls: { resolve: (r: { full: boolean }) => void; reject: (e: Error) => void }[] = [];
  const tick = () => new Promise<{ full: boolean }>((resolve, reject) => { calls.push({ resolve, reject }); });
  return { calls, tick };
}

const settle = () => new Promise<void>((resolve) => { setImmediate(resolve); });

describe('createTickLoop', () => {
  it('ticks at once, again at once after a full batch, intervalMs after a partial one or a failure', async () => {
    const timers = handTimers();
    const { calls, tick } = handTicks();
    const errors: unknown[] = [];
    const loop = createTickLoop(tick, { intervalMs: 1000, onError: (e) => errors.push(e), timers });
    loop.start();
    loop.start();
    expect(timers.pending.map((p) => p.ms)).toEqual([0]);
    expect(timers.fireNext()).toBe(0);
    expect(calls).toHaveLength(1);
    // one tick at a time: nothing is scheduled while it runs
    expect(timers.pending).toEqual([]);

    calls[0]!.resolve({ full: true });
    await settle();
    expect(timers.pending.map((p) => p.ms)).toEqual([0]);
    timers.fireNext();
    calls[1]!.resolve({ full: false });
    await settle();
    expect(timers.pending.map((p) => p.ms)).toEqual([1000]);
    timers.fireNext();
    const boom = new Error('store down');
    calls[2]!.reject(boom);
    await settle();
    expect(errors).toEqual([boom]);
    expect(timers.pending.map((p) => p.ms)).toEqual([1000]);
  });

  it('stop waits for the running tick and schedules nothing more', async () => {
    const timers = handTimers();
    const { calls, tick } = handTicks();
    const loop = createTickLoop(tick, { intervalMs: 1000, onError: () => {}, timers });
    loop.start();
    timers.fireNext();
    let stopped = false;
    const stopping = loop.stop().then(() => { stopped = true; });
    await settle();
    expect(stopped).toBe(false);
    calls[0]!.resolve({ full: true });
    await stopping;
    expect(stopped).toBe(true);
    expect(timers.pending).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('stop between ticks clears the waiting timer', async () => {
    const timers = handTimers();
    const { calls, tick } = handTicks();
    const loop = createTickLoop(tick, { intervalMs: 1000, onError: () => {}, timers });
    loop.start();
    timers.fireNext();
    calls[0]!.resolve({ full: false });
    await settle();
    expect(timers.pending).toHaveLength(1);
    await loop.stop();
    expect(timers.pending).toEqual([]);
    // started again, it ticks again
    loop.start();
    timers.fireNext();
    expect(calls).toHaveLength(2);
  });
});
