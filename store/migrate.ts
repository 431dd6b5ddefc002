/**
 * Numbered SQL migrations (`store/migrations/NNNN_name.sql`), applied in order, each in its own
 * transaction, recorded in `schema_migrations`.
 *
 * Several processes may start at once against one PostgreSQL: every migration transaction first
 * takes a transaction-level advisory lock, then re-reads what is applied, so each migration runs
 * exactly once and a process returns from `migrate()` only when all are applied. A transaction
 * lock (rather than a session lock) is released by commit, rollback or a dropped connection,
 * so a crashed process cannot leave the lock held.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { VigilError, isVigilError } from '../core/errors.js';
import type { SqlClient } from './sql-client.js';

/** pg_advisory_xact_lock key of migrations ("vigil" + 1); keys are shared by the whole database */
export const MIGRATION_LOCK_KEY = 7_669_676_901;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** sha256 hex of `sql`: an applied migration must never change */
  checksum: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads the migration files, ordered by version. @throws VigilError DB_MIGRATION_FAILED */
export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    throw new VigilError('DB_MIGRATION_FAILED', `cannot read migrations in ${dir.pathname}`, { cause: err });
  }
  const migrations = names.map((file) => {
    const match = FILE_NAME.exec(file);
    if (!match) throw new VigilError('DB_MIGRATION_FAILED', `migration file ${file} is not named NNNN_name.sql`);
    const sql = fs.readFileSync(new URL(file, dir), 'utf8');
    return { version: Number(match[1]), name: match[2] ?? '', sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  // Areas of the code own ranges of numbers (0003… intake, 0020… lifecycle, …), so there may be
  // gaps between ranges; a number used twice is still a mistake.
  migrations.forEach((m, i) => {
    const previous = migrations[i - 1];
    if (m.version < 1 || (previous !== undefined && m.version <= previous.version)) {
      throw new VigilError('DB_MIGRATION_FAILED', `migration numbers must be unique and start at 0001; found ${m.version} after ${previous?.version ?? 'none'}`);
    }
  });
  return migrations;
}

const LOCK = `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;
const SELECT_APPLIED = 'SELECT version, checksum FROM schema_migrations ORDER BY version';
const INSERT_APPLIED = 'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)';

/**
 * Applies every migration not yet applied.
 * @returns the versions this call applied (empty when the schema was up to date)
 * @throws VigilError DB_MIGRATION_FAILED (a migration failed, or an applied one was changed),
 *   DB_UNAVAILABLE
 */
export async function migrate(client: SqlClient, migrations: Migration[] = loadMigrations()): Promise<number[]> {
  // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can fail on pg_type's unique index.
  await client.transaction(async (tx) => {
    await tx.query(LOCK);
    await tx.query(CREATE_TABLE);
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const ran = await client.transaction(async (tx) => {
      await tx.query(LOCK);
      const { rows } = await tx.query<{ version: number; checksum: string }>(SELECT_APPLIED);
      const done = rows.find((r) => r.version === migration.version);
      if (done) {
        if (done.checksum !== migration.checksum) {
          throw new VigilError('DB_MIGRATION_FAILED',
            `migration ${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`);
        }
        return false;
      }
      try {
        await tx.exec(migration.sql);
      } catch (err) {
        if (isVigilError(err)) throw err;
        throw new VigilError('DB_MIGRATION_FAILED', `migration ${migration.version}_${migration.name}: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(INSERT_APPLIED, [migration.version, migration.name, migration.checksum]);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return applied;
}
