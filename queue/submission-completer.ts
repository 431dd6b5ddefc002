/**
 * The scheduler's submission completer: every `intervalMs`, marks complete the submissions whose
 * items have all had their first check (and trace, when live), which also queues the forces'
 * `submission.completed` webhooks through the outbox. A failing database is logged and tried
 * again on the next round, never a crash.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Store } from '../core/store.js';

export interface SubmissionCompleter {
  start(): void;
  /** stop the loop and wait for the round in flight */
  stop(): Promise<void>;
  /** one round now @returns submissions completed */
  completeOnce(): Promise<number>;
}

export function createSubmissionCompleter(options: {
  store: Pick<Store, 'completeSubmissions'>;
  clock: Clock;
  log: Logger;
  /** @default 5000 */
  intervalMs?: number;
  /** incomplete submissions looked at per round @default 100 */
  batchSize?: number;
}): SubmissionCompleter {
  const intervalMs = options.intervalMs ?? 5000;
  const batchSize = options.batchSize ?? 100;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = true;

  const completeOnce = async (): Promise<number> => {
    try {
      const ids = await options.store.completeSubmissions(options.clock.now(), batchSize);
      for (const id of ids) options.log.info({ submissionId: id }, 'submission complete');
      return ids.length;
    } catch (err) {
      options.log.warn({ err }, 'submission completion round failed; trying again next round');
      return 0;
    }
  };

  const tick = () => {
    running = completeOnce().finally(() => {
      running = null;
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (running) await running;
    },
    completeOnce,
  };
}
