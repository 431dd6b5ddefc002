/**
 * The store conformance suite against embedded PostgreSQL (PGlite) in a temporary directory,
 * plus what only the embedded store has: its directory and its single-process lock.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/open-store.js';
import { PgliteClient } from '../../store/pglite-client.js';
import type { SqlClient } from '../../store/sql-client.js';
import { runStoreConformance, type StoreHarness } from './store-conformance.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-store-embedded-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('Store conformance: embedded PostgreSQL', () => {
  runStoreConformance('embedded', async (): Promise<StoreHarness> => {
    const client = await PgliteClient.open({ directory: path.join(tempDir(), 'db') });
    // PGlite is one connection: every "client" is that connection, closed once at the end.
    const shared: SqlClient = {
      query: (text, params) => client.query(text, params),
      exec: (script) => client.exec(script),
      transaction: (fn) => client.transaction(fn),
      close: async () => undefined,
    };
    return { kind: 'embedded', connect: async () => shared, destroy: () => client.close() };
  });
});

describe('embedded store specifics', () => {
  it('openStore without a URL creates <dataDir>/db, migrates, and keeps data across restarts', async () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const store = await openStore({ databaseUrl: null, dataDir });
    expect(store.kind).toBe('embedded');
    expect(fs.existsSync(path.join(dataDir, 'db', 'PG_VERSION'))).toBe(true);
    await store.createForce({ id: 'kent', name: 'Kent Police' });
    await store.close();

    const reopened = await openStore({ databaseUrl: null, dataDir });
    try {
      expect((await reopened.getForce('kent'))?.name).toBe('Kent Police');
    } finally {
      await reopened.close();
    }
  });

  it('refuses a second opener of the same directory with DB_IN_USE', async () => {
    const dataDir = tempDir();
    const store = await openStore({ databaseUrl: null, dataDir });
    try {
      await expect(openStore({ databaseUrl: null, dataDir })).rejects.toMatchObject({ code: 'DB_IN_USE' });
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
    await expect(store.ping()).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
    expect(fs.existsSync(path.join(dataDir, 'db.lock'))).toBe(false);
  });

  it('replaces a lock left by a process that is gone', async () => {
    const dataDir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(dead).toBeGreaterThan(0);
    fs.writeFileSync(path.join(dataDir, 'db.lock'), `${dead}\n`);
    const store = await openStore({ databaseUrl: null, dataDir });
    await store.close();
  });
});
