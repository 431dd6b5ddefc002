/**
 * Job payloads: one zod schema per queue, checked when a job is added and again when a worker
 * takes it (a job may have been written by an older or newer vigil sharing the Redis).
 *
 * Payloads carry ids only, never URLs or fetched content: Redis is shared infrastructure and its
 * data ends up in dashboards and dumps (CONTRACT.md §7). Workers load the rest from the store.
 *
 * Job ids are deterministic so adding the same work twice is a no-op while the first job is still
 * in Redis (waiting, active, or kept by removeOnComplete/removeOnFail). BullMQ refuses custom ids
 * that are integers and ids containing `:` (its key separator; only a legacy three-part form of
 * repeatable-job ids is tolerated), so the parts are joined with `.`, which appears neither in
 * a UUID nor in an epoch: `check.<reportId>.<dueAt epoch ms>`, `trace.<reportId>.<checkId>`,
 * `notify.<noticeId>`.
 */
import { z } from 'zod';
import { VigilError } from '../core/errors.js';
import type { QueueName } from './queue-names.js';

/** An id another part of vigil made: safe inside a BullMQ job id and a Redis key. */
const safeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1–128 characters of A–Z a–z 0–9 . _ - (no ":")');

export const checkPayloadSchema = z.strictObject({
  reportId: z.uuid(),
  /** the schedule's due time this check answers; part of the job id */
  dueAt: z.iso.datetime({ offset: true }),
  reason: z.enum(['scheduled', 'recheck', 'initial']),
});

export const tracePayloadSchema = z.strictObject({
  reportId: z.uuid(),
  /** the check that saw the content live; part of the job id */
  checkId: safeId.optional(),
  /** the address the check connected to, when known */
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
});

export const notifyPayloadSchema = z.strictObject({
  noticeId: safeId,
});

export type CheckPayload = z.infer<typeof checkPayloadSchema>;
export type TracePayload = z.infer<typeof tracePayloadSchema>;
export type NotifyPayload = z.infer<typeof notifyPayloadSchema>;

export const PAYLOAD_SCHEMAS = {
  check: checkPayloadSchema,
  trace: tracePayloadSchema,
  notify: notifyPayloadSchema,
} as const satisfies Record<QueueName, z.ZodType>;

export interface PayloadMap {
  check: CheckPayload;
  trace: TracePayload;
  notify: NotifyPayload;
}

export type PayloadOf<Q extends QueueName> = PayloadMap[Q];

/** Separator of the parts of a job id: not `:` (BullMQ's key separator, refused in custom ids). */
export const JOB_ID_SEPARATOR = '.';

/**
 * The deterministic job id of a (valid) payload. `undefined` only for a trace without a check
 * (an operator's ad-hoc re-trace): there is no event to key it on, so BullMQ assigns an id and
 * such requests are not deduplicated.
 */
export function jobIdFor<Q extends QueueName>(queue: Q, payload: PayloadOf<Q>): string | undefined {
  const sep = JOB_ID_SEPARATOR;
  switch (queue) {
    case 'check': {
      const p = payload as CheckPayload;
      return ['check', p.reportId, String(Date.parse(p.dueAt))].join(sep);
    }
    case 'trace': {
      const p = payload as TracePayload;
      return p.checkId === undefined ? undefined : ['trace', p.reportId, p.checkId].join(sep);
    }
    case 'notify':
      return ['notify', (payload as NotifyPayload).noticeId].join(sep);
    default:
      throw new TypeError(`unknown queue ${String(queue)}`);
  }
}

/**
 * Validate `data` as a payload of `queue`.
 * @throws VigilError JOB_PAYLOAD_INVALID, naming the fields that are wrong (never their values)
 */
export function parsePayload<Q extends QueueName>(queue: Q, data: unknown): PayloadOf<Q> {
  const result = PAYLOAD_SCHEMAS[queue].safeParse(data);
  if (!result.success) {
    const fields = result.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new VigilError('JOB_PAYLOAD_INVALID', `${queue} job payload is invalid: ${fields}`, { cause: result.error });
  }
  return result.data as PayloadOf<Q>;
}

export interface JobSpec<Q extends QueueName> {
  name: Q;
  data: PayloadOf<Q>;
  opts: { jobId?: string };
}

/**
 * A validated job ready for `queue.add(spec.name, spec.data, spec.opts)` or `queue.addBulk`.
 * @throws VigilError JOB_PAYLOAD_INVALID
 */
export function buildJob<Q extends QueueName>(queue: Q, payload: unknown): JobSpec<Q> {
  const data = parsePayload(queue, payload);
  const jobId = jobIdFor(queue, data);
  return { name: queue, data, opts: jobId === undefined ? {} : { jobId } };
}
