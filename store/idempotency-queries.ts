/**
 * `Idempotency-Key` of submissions: one submission per (force, key) while the key is unexpired.
 *
 * The key is claimed inside the submission's transaction (submission-queries.ts), so the key
 * and the submission are written together or not at all. A retry racing the original blocks on
 * the primary key until the original commits, then finds the key taken.
 */
import { VigilError } from '../core/errors.js';
import type { IdempotencyClaim, IdempotencyRecord } from '../core/store.js';
import type { SqlClient } from './sql-client.js';

// An expired key is taken over in place: the row keeps at most one submission per (force, key).
const CLAIM_KEY = `INSERT INTO idempotency_keys (force_id, key, request_hash, submission_id, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (force_id, key) DO UPDATE SET
    request_hash = EXCLUDED.request_hash, submission_id = EXCLUDED.submission_id,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
  WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
  RETURNING submission_id`;

const SELECT_KEY = `SELECT request_hash, submission_id, created_at FROM idempotency_keys
  WHERE force_id = $1 AND key = $2 AND expires_at > $3`;

/** @throws VigilError IDEMPOTENCY_CONFLICT when an unexpired claim of the key exists */
export async function claimIdempotencyKey(tx: SqlClient, forceId: string, submissionId: string, claim: IdempotencyClaim, now: Date): Promise<void> {
  const { rowCount } = await tx.query(CLAIM_KEY, [forceId, claim.key, claim.requestHash, submissionId, now, claim.expiresAt]);
  if (rowCount === 0) {
    throw new VigilError('IDEMPOTENCY_CONFLICT', `Idempotency-Key ${JSON.stringify(claim.key)} already names a submission of force ${forceId}`);
  }
}

export async function findIdempotencyKey(db: SqlClient, forceId: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
  const { rows } = await db.query<{ request_hash: string; submission_id: string; created_at: Date }>(SELECT_KEY, [forceId, key, now]);
  const row = rows[0];
  return row ? { requestHash: row.request_hash, submissionId: row.submission_id, createdAt: row.created_at } : null;
}
