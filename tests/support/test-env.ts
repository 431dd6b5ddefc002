/**
 * Where the tests find the real parts they talk to. Defaults match this project's machines:
 * PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379. `npm test`
 * (tests/run-tests.js) makes sure both answer before vitest starts.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A short random id for names that must not clash between test files running at once. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * A fresh, empty PostgreSQL database for one test file, dropped by the returned `drop()`.
 * Test files never share a database, so they may run in parallel.
 */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueId('vigil_test');
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Delete one test's queue keys from the shared Redis (`<{prefix}>:*`) — never a flush: other
 * test files use the same Redis at the same time.
 */
export async function removeQueueKeys(bullPrefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${bullPrefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  } finally {
    await redis.quit();
  }
}

/** A pino destination that keeps every line in memory, for "never logged" assertions. */
export function logCapture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  return { lines, sink: new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }) };
}
