/**
 * {@link SqlClient} over a `pg` pool, for a PostgreSQL server (`DATABASE_URL`).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { INT8_OID, parseInt8, type SqlClient, type SqlResult } from './sql-client.js';
import { wrapDbError } from './db-errors.js';

export interface PgClientOptions {
  /** postgres:// URL of the server */
  connectionString: string;
  /** @default 10 */
  maxConnections?: number;
  /** how long to wait for a connection before failing with DB_UNAVAILABLE @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Errors of idle pooled connections (server restart, network loss). They are reported here
   * and never crash the process; the pool replaces the connection on next use.
   */
  onError?: (err: Error) => void;
}

/** Type parsers of this pool only: int8 as number (pg's default is string); the rest as pg does. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** `host:port/database` of a URL, never its password */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres ${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Statements with parameters run as named prepared statements: each connection parses and plans
 * one the first time and executes the cached plan after that. The hot statements (a check's
 * write, a notice decision, a send) are CTEs and function calls whose planning cost the server
 * more CPU than running them (e2e bench, docs/BENCHMARKS.md). Every statement text is a constant
 * of store/ or built from a bounded set of filters; the bound below keeps a text that were not
 * (it would be a bug) from growing every connection's statement cache: past it, statements run
 * unnamed, as pg does by default.
 */
const MAX_NAMED_STATEMENTS = 1_000;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `vigil_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

async function run<T>(on: Queryable, where: string, text: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
  try {
    const name = params === undefined ? undefined : statementName(text);
    const result = name === undefined
      ? await on.query(text, params as unknown[] | undefined)
      : await on.query({ name, text, values: params as unknown[] });
    return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
  } catch (err) {
    throw wrapDbError(err, where);
  }
}

/** several statements: pg's simple protocol, which returns one result per statement */
async function runScript(on: Queryable, where: string, script: string): Promise<void> {
  try {
    await on.query(script);
  } catch (err) {
    throw wrapDbError(err, where);
  }
}

function txClient(client: pg.PoolClient, where: string): SqlClient {
  const self: SqlClient = {
    query: (text, params) => run(client, where, text, params),
    exec: (script) => runScript(client, where, script),
    transaction: (fn) => fn(self),
    close: () => Promise.reject(new Error('close() inside a transaction')),
  };
  return self;
}

export class PgClient implements SqlClient {
  readonly #pool: pg.Pool;
  readonly #where: string;
  #closed = false;

  constructor(options: PgClientOptions) {
    this.#where = describeDatabaseUrl(options.connectionString);
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      application_name: 'vigil',
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types,
    });
    // Without a listener, an idle client's error would be an uncaught 'error' event.
    this.#pool.on('error', (err) => options.onError?.(err));
  }

  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
    return run<T>(this.#pool, this.#where, text, params);
  }

  exec(script: string): Promise<void> {
    return runScript(this.#pool, this.#where, script);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw wrapDbError(err, this.#where);
    }
    let broken: Error | undefined;
    try {
      await run(client, this.#where, 'BEGIN');
      const result = await fn(txClient(client, this.#where));
      await run(client, this.#where, 'COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // the connection is unusable: destroy it rather than return it to the pool
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
