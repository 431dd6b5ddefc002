/**
 * {@link SqlClient} over PGlite, the embedded PostgreSQL used when no `DATABASE_URL` is set.
 *
 * PGlite is one connection in this process: its `transaction()` holds a mutex, so transactions
 * (and queries issued while one is open) run one after another. Nothing stops two PGlite
 * instances from opening one data directory and corrupting it, so this client holds a lock file
 * beside it for as long as it is open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { VigilError } from '../core/errors.js';
import { INT8_OID, parseInt8, type SqlClient, type SqlResult } from './sql-client.js';
import { wrapDbError } from './db-errors.js';

export interface PgliteClientOptions {
  /** the PostgreSQL data directory; created if missing */
  directory: string;
}

type Runner = Pick<Transaction, 'query' | 'exec'>;

async function run<T>(on: Runner, where: string, text: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
  try {
    const result = await on.query<T>(text, params as unknown[] | undefined);
    // affectedRows is 0 for a SELECT; pg's rowCount counts returned rows there
    const rowCount = result.command === 'SELECT' || result.affectedRows === undefined ? result.rows.length : result.affectedRows;
    return { rows: result.rows, rowCount };
  } catch (err) {
    throw wrapDbError(err, where);
  }
}

function txClient(tx: Transaction, where: string): SqlClient {
  const self: SqlClient = {
    query: (text, params) => run(tx, where, text, params),
    exec: async (script) => {
      try { await tx.exec(script); } catch (err) { throw wrapDbError(err, where); }
    },
    transaction: (fn) => fn(self),
    close: () => Promise.reject(new Error('close() inside a transaction')),
  };
  return self;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<directory>.lock` (O_EXCL, holding our pid); a lock left by a dead process is replaced.
 * @throws VigilError DB_IN_USE when a live process (this one included) holds it
 */
function acquireLock(lockPath: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new VigilError('DB_IN_USE',
          `the embedded database ${path.dirname(lockPath)} is open in process ${pid}; stop it, or set DATABASE_URL ` +
          'to a PostgreSQL server to run several vigil processes');
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new VigilError('DB_IN_USE', `could not take the lock ${lockPath}`);
}

export class PgliteClient implements SqlClient {
  readonly #db: PGlite;
  readonly #where: string;
  readonly #lockPath: string;
  #closed = false;

  private constructor(db: PGlite, where: string, lockPath: string) {
    this.#db = db;
    this.#where = where;
    this.#lockPath = lockPath;
  }

  /**
   * Opens (and on first use initialises) the database in `options.directory`.
   * @throws VigilError DB_IN_USE, DB_UNAVAILABLE
   */
  static async open(options: PgliteClientOptions): Promise<PgliteClient> {
    const directory = path.resolve(options.directory);
    fs.mkdirSync(directory, { recursive: true });
    const lockPath = `${directory}.lock`;
    acquireLock(lockPath);
    try {
      const db = await PGlite.create(directory, { parsers: { [INT8_OID]: parseInt8 } });
      return new PgliteClient(db, `embedded PostgreSQL in ${directory}`, lockPath);
    } catch (err) {
      fs.rmSync(lockPath, { force: true });
      throw new VigilError('DB_UNAVAILABLE', `cannot open the embedded database in ${directory}: ${String(err)}`, { cause: err });
    }
  }

  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
    return run<T>(this.#db, this.#where, text, params);
  }

  async exec(script: string): Promise<void> {
    try {
      await this.#db.exec(script);
    } catch (err) {
      throw wrapDbError(err, this.#where);
    }
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.#db.transaction((tx) => fn(txClient(tx, this.#where)));
    } catch (err) {
      throw wrapDbError(err, this.#where);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#db.close();
    } finally {
      fs.rmSync(this.#lockPath, { force: true });
    }
  }
}
