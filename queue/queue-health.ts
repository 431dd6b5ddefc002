/**
 * Redis and queue state for /readyz and the `vigil_queue_jobs{queue,state}` gauge. Both answer
 * within a timeout and never throw: a readiness probe must not hang on the thing it probes.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { withTimeout } from './with-timeout.js';

export type RedisHealth = { ok: true; latencyMs: number } | { ok: false; error: string };

/**
 * PING over `connection` (a `health` or `producer` connection: with the offline queue off, a
 * disconnected client answers at once instead of queueing the PING).
 * @param timeoutMs @default 1000
 */
export async function redisHealth(connection: Redis, timeoutMs = 1000): Promise<RedisHealth> {
  const started = performance.now();
  try {
    const reply = await withTimeout(connection.ping(), timeoutMs, `no PONG within ${timeoutMs} ms`);
    if (reply !== 'PONG') return { ok: false, error: `unexpected PING reply ${JSON.stringify(reply)}` };
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: `${(err as Error).message} (connection ${connection.status})` };
  }
}

export const COUNTED_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type CountedState = (typeof COUNTED_STATES)[number];
export type QueueCounts = Record<string, Record<CountedState, number>>;

/**
 * Jobs per state per queue, keyed by queue name. `waiting` includes prioritized jobs (both wait
 * to be taken).
 * @param timeoutMs @default 2000
 * @throws Error when Redis does not answer within the timeout
 */
export async function queueCounts(queues: readonly Queue[] | { all(): Queue[] }, timeoutMs = 2000): Promise<QueueCounts> {
  const list = Array.isArray(queues) ? queues : (queues as { all(): Queue[] }).all();
  const entries = await withTimeout(
    Promise.all(list.map(async (queue) => {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      const counts: Record<CountedState, number> = {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
      };
      return [queue.name, counts] as const;
    })),
    timeoutMs,
    `queue counts not read within ${timeoutMs} ms`,
  );
  return Object.fromEntries(entries);
}
