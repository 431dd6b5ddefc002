/**
 * A worker with a watchdog: recreates the BullMQ worker when it has stopped taking jobs while
 * nobody asked it to.
 *
 * Why: a BullMQ worker's main loop can end without the process noticing — after a Redis
 * connection loss its blocking connection may end up closed, or `run()` may reject on an error it
 * does not retry — and from then on the process looks healthy but takes no job (BullMQ issues
 * #1873, #2612, #2791 among others). The lock renewal stops with it, so its jobs do move to other
 * workers, but with one worker process the queue simply stalls. Every `intervalMs` the watchdog
 * looks for:
 * - a worker that is no longer running (`isRunning()` false), or closing/closed, while this
 *   supervisor is not closing — recreated at once (also on its 'closed' event);
 * - a worker that runs nothing while jobs wait (`waitingCount() > 0`) and has started no job for
 *   `stuckAfterMs` — a loop that blocks on a dead connection; recreated.
 * Recreating means: force-close the old worker (its running jobs, if any, come back through
 * their expired locks), then start a new one on a fresh connection.
 */
import type { Redis } from 'ioredis';
import { createWorker, type CreateWorkerOptions, type JobHandler, type VigilWorker } from './create-worker.js';
import type { QueueName } from './queue-names.js';

export interface SupervisedWorkerOptions extends Omit<CreateWorkerOptions, 'connection'> {
  /** a new `worker` connection for each incarnation of the worker */
  createConnection: () => Redis;
  /** between watchdog checks @default 10000 */
  intervalMs?: number;
  /** jobs waiting in the queue; enables the "running nothing while jobs wait" check */
  waitingCount?: () => Promise<number>;
  /** how long the worker may start no job while jobs wait and it runs none @default 60000 */
  stuckAfterMs?: number;
  /** told each time a worker is recreated, with why */
  onRestart?: (reason: string) => void;
  /** epoch ms, for the idle measurement @default Date.now */
  now?: () => number;
}

export interface SupervisedWorker<Q extends QueueName = QueueName> {
  readonly name: Q;
  /** the worker running now (replaced on restart) */
  readonly current: VigilWorker<Q>;
  /** how often it was recreated */
  readonly restarts: number;
  /** One watchdog check now. @returns the reason it recreated the worker, or null */
  check(): Promise<string | null>;
  /** Stop the watchdog, then close the worker as {@link VigilWorker.close} does. */
  close(deadlineMs?: number): Promise<{ released: number }>;
}

export function createSupervisedWorker<Q extends QueueName>(name: Q, handler: JobHandler<Q>, options: SupervisedWorkerOptions): SupervisedWorker<Q> {
  const log = options.log.child({ component: 'watchdog', queue: name });
  const intervalMs = options.intervalMs ?? 10_000;
  const stuckAfterMs = options.stuckAfterMs ?? 60_000;
  const now = options.now ?? Date.now;
  let running = 0;
  let lastStart = now();
  /** since when jobs have been seen waiting while this worker ran none; null when not so */
  let waitingSince: number | null = null;
  let closing = false;
  let restarts = 0;
  let checking: Promise<string | null> | undefined;

  const counted: JobHandler<Q> = async (payload, ctx) => {
    running++;
    lastStart = now();
    try {
      return await handler(payload, ctx);
    } finally {
      running--;
    }
  };

  const connections = new WeakMap<VigilWorker<Q>, Redis>();
  const spawn = (): VigilWorker<Q> => {
    const connection = options.createConnection();
    const w = createWorker(name, counted, { ...options, connection });
    connections.set(w, connection);
    w.worker.on('closed', () => {
      if (!closing && current === w) void check();
    });
    return w;
  };

  let current = spawn();

  async function restart(reason: string): Promise<void> {
    const old = current;
    restarts++;
    log.warn({ reason, restarts }, 'worker stopped taking jobs; recreating it');
    current = spawn();
    lastStart = now();
    waitingSince = null;
    // The old worker's running jobs (if any) return through their locks; do not wait on it long.
    await Promise.race([old.worker.close(true).catch(() => undefined), delay(5000)]);
    connections.get(old)?.disconnect();
    try {
      options.onRestart?.(reason);
    } catch (err) {
      log.warn({ err }, 'onRestart hook threw');
    }
  }

  async function diagnose(): Promise<string | null> {
    const w = current.worker;
    if (w.closing || !w.isRunning()) return 'worker loop ended';
    if (running > 0 || !options.waitingCount) {
      waitingSince = null;
      return null;
    }
    // Redis down: not this worker's fault, and a new one would not fare better
    const waiting = await options.waitingCount().catch(() => 0);
    if (waiting === 0) {
      waitingSince = null;
      return null;
    }
    waitingSince ??= now();
    const idleMs = now() - Math.max(waitingSince, lastStart);
    return idleMs >= stuckAfterMs ? `no job started for ${idleMs} ms while ${waiting} wait` : null;
  }

  function check(): Promise<string | null> {
    checking ??= (async () => {
      try {
        if (closing) return null;
        const reason = await diagnose();
        if (reason && !closing) await restart(reason);
        return reason;
      } catch (err) {
        log.warn({ err }, 'watchdog check failed');
        return null;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  }

  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();

  return {
    name,
    get current() { return current; },
    get restarts() { return restarts; },
    check,
    async close(deadlineMs) {
      closing = true;
      clearInterval(timer);
      await checking;
      return current.close(deadlineMs);
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
