/**
 * The fault series' store of record: by default a database on a private PostgreSQL server the
 * series starts itself (private-postgres.ts), so that the server can really be restarted; with
 * `FAULT_PG=shared`, a database of its own on the machine's shared server, which is never
 * restarted (only the database's own backends are terminated) — the fallback for a machine where
 * a private server cannot run, stated in the series' output, never silent.
 */
import pg from 'pg';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestStore } from '../lifecycle/support.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

export interface SeriesDatabase {
  kind: 'private' | 'shared';
  store: SqlStore;
  /** the database's URL, for the daemons */
  url: string;
  name: string;
  /** the private server, which can be restarted; null on the shared server */
  server: PrivatePostgres | null;
  /** Terminates every backend of the database (from a connection to another database). */
  terminateBackends(): Promise<number>;
  /** Closes the store, then drops the database (shared) or stops the server and removes its files (private). */
  close(): Promise<void>;
}

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await f(c); } finally { await c.end().catch(() => undefined); }
}

const terminate = (adminUrl: string, name: string) => withClient(adminUrl, async (c) => Number((await c.query<{ n: string }>(
  'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])).rows[0]?.n ?? 0));

/**
 * @throws Error when the private server cannot be started (the message says why, and how to run
 *   on the shared server instead); the server is stopped and its files removed first.
 */
export async function openSeriesDatabase(kind: 'private' | 'shared'): Promise<SeriesDatabase> {
  if (kind === 'shared') {
    const db = await createTestStore();
    return { kind, store: db.store, url: db.url, name: db.name, server: null, terminateBackends: () => terminate(TEST_DATABASE_URL, db.name), close: () => db.close() };
  }
  let server: PrivatePostgres;
  try {
    server = await startPrivatePostgres();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n(FAULT_PG=shared runs the series on the shared server, without PostgreSQL restarts.)`, { cause: err });
  }
  const name = 'vigil_fault_series';
  try {
    await withClient(server.url(), (c) => c.query(`CREATE DATABASE ${name}`));
    const url = server.url(name);
    const store = await openStore({ databaseUrl: url, dataDir: '/nonexistent-unused', maxConnections: 10 });
    return {
      kind, store, url, name, server,
      terminateBackends: () => terminate(server.url(), name),
      async close() {
        await store.close().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
