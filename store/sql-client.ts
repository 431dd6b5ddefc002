/**
 * The one seam between the store's queries and a database driver. Two implementations:
 * {@link PgClient} (a `pg` pool, for PostgreSQL) and {@link PgliteClient} (embedded PostgreSQL).
 * Queries are written once, in SQL both accept.
 *
 * Both implementations parse the same way: `timestamptz` as `Date`, `bigint` (counts,
 * `bigserial`, ASNs) as `number`, `jsonb` as parsed JSON, `uuid` as string.
 */
export interface SqlResult<T> {
  rows: T[];
  /** rows returned by a SELECT, or affected by INSERT/UPDATE/DELETE */
  rowCount: number;
}

export interface SqlClient {
  /** One statement, with `$1…` parameters (arrays bind as PostgreSQL arrays). */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<T>>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs `fn` in one transaction: committed when `fn` resolves, rolled back when it throws.
   * Calling `transaction` on the `tx` client joins the outer transaction (no nesting).
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Releases the connection(s). A client inside a transaction cannot be closed. */
  close(): Promise<void>;
}

/** int8 → number: counts and ids stay far below 2^53. */
export const parseInt8 = (value: string): number => Number(value);

export const INT8_OID = 20;
