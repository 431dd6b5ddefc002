/**
 * Forces and API keys. Forces are not force-scoped themselves: only operators create them, and
 * a force's key reads nothing here but its own key record (by token hash).
 */
import { VigilError } from '../core/errors.js';
import type { ApiKeyRecord, ForceRecord, ForceUpdate, NewApiKey, NewForce, Role } from '../core/store.js';
import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, sqlState } from './db-errors.js';
import type { SqlClient } from './sql-client.js';

interface ForceRow {
  id: string;
  name: string;
  webhook_url: string | null;
  webhook_secret: string | null;
  created_at: Date;
}

interface ApiKeyRow {
  id: string;
  role: Role;
  force_id: string | null;
  recipient_id: string | null;
  label: string | null;
  token_hash: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const FORCE_COLUMNS = 'id, name, webhook_url, webhook_secret, created_at';
const KEY_COLUMNS = 'id, role, force_id, recipient_id, label, token_hash, created_at, expires_at, revoked_at';

const INSERT_FORCE = `INSERT INTO forces (id, name, webhook_url, webhook_secret) VALUES ($1, $2, $3, $4) RETURNING ${FORCE_COLUMNS}`;
const SELECT_FORCE = `SELECT ${FORCE_COLUMNS} FROM forces WHERE id = $1`;
// $3: whether the webhook changes ($4/$5 the new one, both null to remove it)
const UPDATE_FORCE = `UPDATE forces SET name = COALESCE($2, name),
    webhook_url = CASE WHEN $3::boolean THEN $4 ELSE webhook_url END,
    webhook_secret = CASE WHEN $3::boolean THEN $5 ELSE webhook_secret END
  WHERE id = $1 RETURNING ${FORCE_COLUMNS}`;
const ENABLE_FORCE_ENDPOINT = `UPDATE endpoint_state SET disabled_at = NULL, disabled_url = NULL, updated_at = $2
  WHERE target = 'force' AND id = $1 AND disabled_at IS NOT NULL`;
const INSERT_API_KEY = `INSERT INTO api_keys (id, role, force_id, recipient_id, label, token_hash, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`;
const SELECT_API_KEY_BY_HASH = `SELECT ${KEY_COLUMNS} FROM api_keys WHERE token_hash = $1`;
// COALESCE keeps the first revocation time when a key is revoked twice
const REVOKE_API_KEY = 'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1';

function toForce(row: ForceRow): ForceRecord {
  return { id: row.id, name: row.name, webhookUrl: row.webhook_url, webhookSecret: row.webhook_secret, createdAt: row.created_at };
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    role: row.role,
    forceId: row.force_id,
    recipientId: row.recipient_id,
    label: row.label,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** @throws VigilError FORCE_EXISTS */
export async function createForce(db: SqlClient, force: NewForce): Promise<ForceRecord> {
  try {
    const { rows } = await db.query<ForceRow>(INSERT_FORCE, [force.id, force.name, force.webhookUrl ?? null, force.webhookSecret ?? null]);
    return toForce(rows[0] as ForceRow);
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) throw new VigilError('FORCE_EXISTS', `force ${force.id} already exists`, { cause: err });
    throw err;
  }
}

export async function getForce(db: SqlClient, id: string): Promise<ForceRecord | null> {
  const { rows } = await db.query<ForceRow>(SELECT_FORCE, [id]);
  return rows[0] ? toForce(rows[0]) : null;
}

/** One transaction: the force's row, and its endpoint re-enabled when the webhook is given. */
export async function updateForce(db: SqlClient, update: ForceUpdate): Promise<ForceRecord | null> {
  return db.transaction(async (tx) => {
    const webhook = update.webhook;
    const { rows } = await tx.query<ForceRow>(UPDATE_FORCE, [update.id, update.name ?? null, webhook !== undefined, webhook?.url ?? null, webhook?.secret ?? null]);
    const row = rows[0];
    if (!row) return null;
    if (webhook) await tx.query(ENABLE_FORCE_ENDPOINT, [update.id, update.now]);
    return toForce(row);
  });
}

/** @throws VigilError FORCE_UNKNOWN when `key.forceId` names no force */
export async function createApiKey(db: SqlClient, key: NewApiKey): Promise<ApiKeyRecord> {
  try {
    const { rows } = await db.query<ApiKeyRow>(INSERT_API_KEY,
      [key.id, key.role, key.forceId, key.recipientId, key.label, key.tokenHash.toLowerCase(), key.expiresAt]);
    return toApiKey(rows[0] as ApiKeyRow);
  } catch (err) {
    if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new VigilError('FORCE_UNKNOWN', `force ${key.forceId ?? ''} does not exist`, { cause: err });
    throw err;
  }
}

/** The key whatever its state: the caller checks `revokedAt` and `expiresAt`. */
export async function findApiKeyByHash(db: SqlClient, tokenHash: string): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query<ApiKeyRow>(SELECT_API_KEY_BY_HASH, [tokenHash.toLowerCase()]);
  return rows[0] ? toApiKey(rows[0]) : null;
}

export async function revokeApiKey(db: SqlClient, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await db.query(REVOKE_API_KEY, [id, at]);
  return rowCount > 0;
}
