/**
 * Two-connection lock tests of the store conformance suite (PostgreSQL only: embedded
 * PostgreSQL is one connection). Waits on what PostgreSQL reports — a backend waiting for a
 * lock in `pg_stat_activity` — never on time.
 */
import { SqlStore } from '../../store/sql-store.js';

/**
 * Runs `contend` on `store` while a transaction on `other` holds the locks `hold` took, and
 * commits that transaction once `contend` waits for one of them (`waits`) — or, when it must not
 * wait (SKIP LOCKED), once it has finished. Returns what `contend` returns.
 */
export async function whileHeld<T>(
  stores: { store: SqlStore; other: SqlStore },
  hold: (tx: SqlStore) => Promise<unknown>,
  contend: () => Promise<T>,
  waits = true,
): Promise<T> {
  const { store, other } = stores;
  let held!: () => void;
  let release!: () => void;
  const isHeld = new Promise<void>((resolve) => { held = resolve; });
  const released = new Promise<void>((resolve) => { release = resolve; });
  const holder = other.sql.transaction(async (tx) => {
    await hold(new SqlStore(tx, other.kind));
    held();
    await released;
  });
  await Promise.race([isHeld, holder]);
  const contender = contend();
  contender.catch(() => undefined); // awaited below; an early failure must not go unhandled meanwhile
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!waits) {
      const waited = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('the contender waited for a held lock')), 10_000); });
      await Promise.race([contender, waited]);
    } else {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await store.sql.query<{ n: number }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (Number(rows[0]?.n) > 0) break;
        if (Date.now() > deadline) throw new Error('the contender never waited for the held lock');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  } finally {
    clearTimeout(timer);
    release();
    await holder;
  }
  return contender;
}
