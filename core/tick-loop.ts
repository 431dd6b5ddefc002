/**
 * The loop of a dispatcher (queue/check-dispatcher.ts, notifier/outbox-dispatcher.ts): run `tick`
 * again and again, at once after a tick that says more work is waiting (`full`), `intervalMs`
 * after one that does not, or that failed. One tick at a time; `stop` waits for the one running.
 * The timer functions are handed in (core/ keeps no clock of its own), so a test can drive it.
 */

export interface LoopTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TickLoopOptions {
  intervalMs: number;
  /** a tick threw (the loop goes on `intervalMs` later) */
  onError: (err: unknown) => void;
  timers: LoopTimers;
}

export interface TickLoop {
  /** first tick at once; a second start does nothing */
  start(): void;
  /** no tick after this; resolves when the running one (if any) has ended */
  stop(): Promise<void>;
}

export function createTickLoop(tick: () => Promise<{ full: boolean }>, options: TickLoopOptions): TickLoop {
  const { intervalMs, onError, timers } = options;
  let running = false;
  let timer: unknown;
  let inFlight: Promise<void> | undefined;

  const schedule = (delayMs: number): void => {
    if (!running) return;
    timer = timers.setTimeout(() => {
      timer = undefined;
      inFlight = tick()
        .then(({ full }) => schedule(full ? 0 : intervalMs), (err: unknown) => { onError(err); schedule(intervalMs); })
        .finally(() => { inFlight = undefined; });
    }, delayMs);
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
