/**
 * The store conformance suite against the machine's PostgreSQL (a fresh database for this
 * file), plus what only a server has: pools, application_name, connection failures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/errors.js';
import { openStore } from '../../store/open-store.js';
import { PgClient } from '../../store/pg-client.js';
import { SqlStore } from '../../store/sql-store.js';
import { createTestDatabase } from '../support/test-env.js';
import { runStoreConformance, type StoreHarness } from './store-conformance.js';

describe('Store conformance: PostgreSQL', () => {
  runStoreConformance('postgres', async (): Promise<StoreHarness> => {
    const db = await createTestDatabase();
    const clients: PgClient[] = [];
    return {
      kind: 'postgres',
      connect: async () => {
        const client = new PgClient({ connectionString: db.url, maxConnections: 4 });
        clients.push(client);
        return client;
      },
      destroy: async () => {
        await Promise.all(clients.map((c) => c.close()));
        await db.drop();
      },
    };
  });
});

describe('PostgreSQL store specifics', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-store-pg-'));

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('openStore uses DATABASE_URL, migrates, and writes nothing to dataDir', async () => {
    const store = await openStore({ databaseUrl: db.url, dataDir });
    try {
      expect(store.kind).toBe('postgres');
      const { rows } = await store.sql.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
      expect(rows[0]?.n).toBeGreaterThan(0);
      const name = await store.sql.query<{ name: string }>(`SELECT current_setting('application_name') AS name`);
      expect(name.rows[0]?.name).toBe('vigil');
      expect(fs.readdirSync(dataDir)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('runs a statement with parameters as one prepared statement per connection; one without, unprepared', async () => {
    const client = new PgClient({ connectionString: db.url, maxConnections: 1 });
    try {
      const text = 'SELECT $1::int + 1 AS n';
      for (const v of [1, 2, 3]) expect((await client.query<{ n: number }>(text, [v])).rows).toEqual([{ n: v + 1 }]);
      await client.query('SELECT 42 AS plain');
      // the one connection of the pool: what it has prepared, and how often each ran
      const { rows } = await client.query<{ name: string; statement: string; calls: number }>(
        'SELECT name, statement, generic_plans + custom_plans AS calls FROM pg_prepared_statements WHERE $1::boolean', [true]);
      const mine = rows.filter((r) => r.statement === text);
      expect(mine).toHaveLength(1);
      expect(mine[0]?.name).toMatch(/^vigil_[0-9a-f]{24}$/);
      expect(Number(mine[0]?.calls)).toBe(3);
      expect(rows.some((r) => r.statement.includes('42 AS plain'))).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('maps an unreachable server to DB_UNAVAILABLE without leaking the password', async () => {
    const url = 'postgres://vigil:sekrit@127.0.0.1:1/nowhere';
    const store = new SqlStore(new PgClient({ connectionString: url, connectTimeoutMs: 2000 }), 'postgres');
    const err = await store.ping().then(() => null, (e: unknown) => e);
    expect(isVigilError(err, 'DB_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).not.toContain('sekrit');
    expect((err as Error & { transient: boolean }).transient).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(Error);
    await expect(store.createForce({ id: 'x', name: 'x' })).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
    await store.close();

    await expect(openStore({ databaseUrl: url, dataDir })).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
  });

  it('maps a missing database to DB_UNAVAILABLE', async () => {
    const url = new URL(db.url);
    url.pathname = `/${db.name}_missing`;
    await expect(openStore({ databaseUrl: url.toString(), dataDir })).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
  });

  it('reports a dropped idle connection through onError and keeps working', async () => {
    let reported: (err: Error) => void = () => undefined;
    const errorSeen = new Promise<Error>((resolve) => { reported = resolve; });
    const client = new PgClient({ connectionString: db.url, maxConnections: 1, onError: (err) => reported(err) });
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      } finally {
        await admin.end();
      }
      expect(await errorSeen).toBeInstanceOf(Error);
      const again = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0]?.pid).not.toBe(rows[0]?.pid);
    } finally {
      await client.close();
    }
  });
});
