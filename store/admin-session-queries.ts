/**
 * Admin sessions (`/admin` sign-in): one row per session, keyed by the sha256 of the id the
 * cookie carries. A session is valid while not ended, not expired, and while the API key it was
 * opened with is neither revoked nor expired — checked on every request, so revoking a key
 * signs its sessions out at once.
 */
import type { AdminSession } from '../core/admin-reads.js';
import type { SqlClient } from './sql-client.js';

/** expired sessions are deleted this long after they expire (when the next one is created) */
const KEEP_EXPIRED_MS = 7 * 86_400_000;

const INSERT_SESSION = `INSERT INTO admin_sessions (id_hash, role, actor, key_id, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6)`;
const DELETE_OLD_SESSIONS = 'DELETE FROM admin_sessions WHERE expires_at < $1';
const SELECT_SESSION = `SELECT s.id_hash, s.role, s.actor, s.key_id, s.created_at, s.expires_at
  FROM admin_sessions s LEFT JOIN api_keys k ON k.id = s.key_id
  WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2
    AND (s.key_id IS NULL OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)))`;
const END_SESSION = 'UPDATE admin_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL';

interface SessionRow {
  id_hash: string;
  role: 'admin' | 'analyst';
  actor: string;
  key_id: string | null;
  created_at: Date;
  expires_at: Date;
}

export async function createAdminSession(db: SqlClient, session: AdminSession): Promise<void> {
  await db.query(DELETE_OLD_SESSIONS, [new Date(session.createdAt.getTime() - KEEP_EXPIRED_MS)]);
  await db.query(INSERT_SESSION, [session.idHash, session.role, session.actor, session.keyId, session.createdAt, session.expiresAt]);
}

export async function findAdminSession(db: SqlClient, idHash: string, now: Date): Promise<AdminSession | null> {
  if (!/^[0-9a-f]{64}$/.test(idHash)) return null;
  const { rows } = await db.query<SessionRow>(SELECT_SESSION, [idHash, now]);
  const r = rows[0];
  return r ? { idHash: r.id_hash, role: r.role, actor: r.actor, keyId: r.key_id, createdAt: r.created_at, expiresAt: r.expires_at } : null;
}

export async function endAdminSession(db: SqlClient, idHash: string, now: Date): Promise<void> {
  await db.query(END_SESSION, [idHash, now]);
}
