/**
 * `Idempotency-Key` on submissions: the same key from the same force within
 * {@link IDEMPOTENCY_TTL_MS} answers with the first submission's 202, rebuilt from the store;
 * the same key with a different request is refused (422), never silently applied. A replay is
 * audited like any other read of the submission.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api-deps.js';
import { sendProblem } from '../problem.js';

/** @default 24 h */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** 1–255 visible ASCII characters (a UUID is the usual choice) */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'expected 1 to 255 visible ASCII characters');

/**
 * Answers a request that repeats an idempotency key: the stored answer (same request), or a 422
 * (different request).
 * @returns true when it answered; false when the key is new
 */
export async function replayOrRefuse(
  deps: ApiDeps, reply: FastifyReply, actor: string, forceId: string, key: string, requestHash: string, now: Date,
): Promise<boolean> {
  // Not the reply itself: a FastifyReply is a thenable, and an async function returning it would
  // resolve to undefined once the response is sent.
  const record = await deps.store.findIdempotencyKey(forceId, key, now);
  if (!record) return false;
  if (record.requestHash !== requestHash) {
    sendProblem(reply, 'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${JSON.stringify(key)} was used for a different submission at ${record.createdAt.toISOString()}; use a new key for a new submission.`,
      { submission: record.submissionId });
    return true;
  }
  const receipt = await deps.store.getSubmissionReceipt(record.submissionId, { forceId });
  if (!receipt) return false;
  await deps.store.appendAudit({
    actor, action: 'submission.replay', subjectType: 'submission', subjectId: receipt.id, at: now, detail: { force: forceId, idempotencyKey: key },
  });
  reply.code(202).header('idempotent-replayed', 'true').send(receipt);
  return true;
}
