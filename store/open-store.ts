/**
 * Opens the store of record the configuration asks for (CONTRACT.md §1): the PostgreSQL server
 * at `databaseUrl`, else embedded PostgreSQL in `<dataDir>/db`. Migrations are applied before
 * the store is returned.
 */
import path from 'node:path';
import { PgClient } from './pg-client.js';
import { PgliteClient } from './pglite-client.js';
import type { SqlClient } from './sql-client.js';
import { SqlStore } from './sql-store.js';

export interface OpenStoreOptions {
  /** postgres:// URL; null = embedded PostgreSQL in `<dataDir>/db` */
  databaseUrl: string | null;
  /** vigil's data directory */
  dataDir: string;
  /** errors of idle database connections: reported, never thrown */
  onError?: (err: Error) => void;
  /** pool size for PostgreSQL @default 10 */
  maxConnections?: number;
}

/**
 * @throws VigilError DB_UNAVAILABLE (cannot connect), DB_IN_USE (embedded database open in
 *   another process), DB_MIGRATION_FAILED
 */
export async function openStore(options: OpenStoreOptions): Promise<SqlStore> {
  let client: SqlClient;
  let kind: SqlStore['kind'];
  if (options.databaseUrl) {
    client = new PgClient({
      connectionString: options.databaseUrl,
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
    });
    kind = 'postgres';
  } else {
    client = await PgliteClient.open({ directory: path.join(options.dataDir, 'db') });
    kind = 'embedded';
  }
  const store = new SqlStore(client, kind);
  try {
    await store.migrate();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return store;
}
