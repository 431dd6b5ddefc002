/**
 * A counting semaphore: at most `max` holders at once, others wait in arrival order. Bounds how
 * many fetches (sockets, buffers, timers) the crawler has open whatever the queue hands it.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /** @throws RangeError when `max` is not a positive integer */
  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  }

  /** holders now */
  get running(): number {
    return this.active;
  }

  /** waiting for a slot now */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Wait for a slot. Returns the function that gives it back (idempotent).
   * @throws the signal's reason when `signal` aborts before a slot is free
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.max) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i !== -1) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // the slot was handed over by release(): `active` already counts it
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(); // hand the slot over directly
      else this.active--;
    };
  }
}
