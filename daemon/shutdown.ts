/**
 * Graceful shutdown as an ordered list of steps under one deadline (DESIGN.md house style 9):
 * stop intake, stop dispatching, drain or release jobs, close the browser/fetcher, queues, Redis,
 * the database. Each step gets what is left of the deadline; a step that overruns is abandoned
 * (logged) so the later ones still run.
 */
import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  /** receives the milliseconds left before the deadline */
  run: (remainingMs: number) => Promise<void>;
}

export async function runShutdown(steps: ShutdownStep[], deadlineMs: number, log: Logger): Promise<{ clean: boolean }> {
  const started = Date.now();
  let clean = true;
  for (const step of steps) {
    const remaining = Math.max(0, deadlineMs - (Date.now() - started));
    let timer: NodeJS.Timeout | undefined;
    try {
      const overrun = new Promise<'overrun'>((resolve) => { timer = setTimeout(() => resolve('overrun'), Math.max(remaining, 100)); });
      const result = await Promise.race([step.run(remaining).then(() => 'done' as const), overrun]);
      if (result === 'overrun') {
        clean = false;
        log.warn({ step: step.name }, 'shutdown step overran the deadline; moving on');
      } else {
        log.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
      }
    } catch (err) {
      clean = false;
      log.error({ err, step: step.name }, 'shutdown step failed; moving on');
    } finally {
      clearTimeout(timer);
    }
  }
  return { clean };
}
