/**
 * The audit trail: append-only (a trigger rejects UPDATE, DELETE and TRUNCATE) and hash-chained.
 * Each row's `hash` is the sha256 hex of its `prev_hash` followed by {@link canonicalJson} of
 * the row's content, so any later edit or deletion breaks the chain ({@link verifyAuditChain}).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { AuditEntry } from '../core/store.js';
import type { SqlClient } from './sql-client.js';

/** pg_advisory_xact_lock key that serialises appends ("vigil" + 2) */
export const AUDIT_LOCK_KEY = 7_669_676_902;
/** prev_hash of the first row */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

const LOCK = `SELECT pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`;
const SELECT_CHAIN_TAIL = 'SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1';
const INSERT_AUDIT = `INSERT INTO audit_log (at, actor, action, subject_type, subject_id, detail, prev_hash, hash)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`;
const SELECT_AUDIT_PAGE = `SELECT seq, at, actor, action, subject_type, subject_id, detail, prev_hash, hash
  FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`;

/** JSON with object keys sorted at every level, no whitespace: one text per value. */
export { canonicalJson };

export interface AuditContent {
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string | null;
  detail: Record<string, unknown>;
}

/** sha256 hex of `prevHash` + the canonical JSON of the row's content */
export function auditHash(prevHash: string, row: AuditContent): string {
  const content = canonicalJson({
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    detail: row.detail,
  });
  return createHash('sha256').update(prevHash).update(content).digest('hex');
}

/** Appends one row to the chain, serialised with every other append by an advisory lock. */
export async function appendAudit(db: SqlClient, entry: AuditEntry): Promise<void> {
  // What jsonb will give back: the hash must be recomputable from the stored row.
  const detail = JSON.parse(JSON.stringify(entry.detail ?? {})) as Record<string, unknown>;
  const content: AuditContent = {
    at: new Date(entry.at.getTime()),
    actor: entry.actor,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    detail,
  };
  await db.transaction(async (tx) => {
    await tx.query(LOCK);
    const { rows } = await tx.query<{ hash: string }>(SELECT_CHAIN_TAIL);
    const prevHash = rows[0]?.hash ?? AUDIT_GENESIS_HASH;
    await tx.query(INSERT_AUDIT, [content.at, content.actor, content.action, content.subjectType, content.subjectId,
      JSON.stringify(detail), prevHash, auditHash(prevHash, content)]);
  });
}

export type AuditChainCheck =
  | { ok: true; rows: number }
  | { ok: false; rows: number; seq: number; problem: string };

interface AuditRow {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string | null;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** The last row of the chain (null when empty): operators may record its hash elsewhere to detect a cut tail. */
export async function auditChainTail(db: SqlClient): Promise<{ seq: number; hash: string; at: Date } | null> {
  const { rows } = await db.query<{ seq: number; hash: string; at: Date }>('SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1');
  return rows[0] ?? null;
}

/** Walks the whole chain in order and recomputes every hash; reports the first broken row. */
export async function verifyAuditChain(db: SqlClient, pageSize = 1000): Promise<AuditChainCheck> {
  let prevHash = AUDIT_GENESIS_HASH;
  let lastSeq = 0;
  let count = 0;
  for (;;) {
    const { rows } = await db.query<AuditRow>(SELECT_AUDIT_PAGE, [lastSeq, pageSize]);
    for (const row of rows) {
      count++;
      if (row.prev_hash !== prevHash) return { ok: false, rows: count, seq: row.seq, problem: 'prev_hash does not match the previous row' };
      const expected = auditHash(prevHash, {
        at: row.at, actor: row.actor, action: row.action, subjectType: row.subject_type, subjectId: row.subject_id, detail: row.detail,
      });
      if (row.hash !== expected) return { ok: false, rows: count, seq: row.seq, problem: 'hash does not match the row' };
      prevHash = row.hash;
      lastSeq = row.seq;
    }
    if (rows.length < pageSize) return { ok: true, rows: count };
  }
}
