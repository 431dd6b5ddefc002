/**
 * Scale benchmark (issue 5): a million monitored URLs on one machine.
 *
 *   npx tsx bench/scale-bench.ts        (npm run bench:scale)
 *
 * What it does, against a fresh PostgreSQL database (VIGIL_TEST_DATABASE_URL's server) and a
 * private redis-server on a free loopback port (both removed at the end):
 * 1. 10,000 synthetic `notified` reports, inserted with generate_series, their due times spread
 *    evenly over one `notified` cadence (30 min) — the steady state of 10k monitored URLs.
 *    The real dispatcher and reconciler (the scheduler role) and a no-op check worker (no fetch;
 *    it moves the due time on, as recording a check does) run for a while: schedule lag (job
 *    start − due time) and Redis `used_memory` are sampled.
 * 2. 990,000 more (1,000,000 monitored), spread the same way: 555 checks due per second. Same
 *    measurements. Redis memory must not grow with the number monitored (target: within 64 MB of
 *    the 10k figure); p99 lag target ≤ 5 s.
 * 3. Throughput: 200,000 rows made due at once; time until all are in Redis (rows/s).
 * Process RSS (this process: dispatcher + reconciler + worker) is sampled throughout.
 * Results are printed and written to bench/results/scale.json.
 *
 * Environment: BENCH_STEADY_SECONDS (default 60), BENCH_REPORTS (default 1000000),
 * BENCH_BACKLOG (default 200000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createCheckDispatcher } from '../queue/check-dispatcher.js';
import { createCheckReconciler } from '../queue/check-reconciler.js';
import { createWorker } from '../queue/create-worker.js';
import { createQueues } from '../queue/queues.js';
import { connectRedis } from '../queue/redis-connection.js';
import { openStore } from '../store/open-store.js';
import { startTestRedis } from '../tests/queue/support.js';
import { createTestDatabase } from '../tests/support/test-env.js';

const STEADY_S = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const TOTAL = Number(process.env.BENCH_REPORTS ?? 1_000_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 200_000);
const FIRST = 10_000;
const CADENCE_MS = 30 * 60_000; // schedule.recheck.notified default
const BATCH = 500; // queue.dispatchBatch default
const INTERVAL_MS = 1000; // queue.dispatchInterval default
const LEASE_MS = 600_000; // queue.checkLease default
const WORKER_CONCURRENCY = 100;

const log = pino({ level: 'warn' });
const clock = { now: () => new Date() };
const out = (line: string) => process.stdout.write(`${line}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const started = Date.now();
  const db = await createTestDatabase();
  const redisServer = await startTestRedis();
  const store = await openStore({ databaseUrl: db.url, dataDir: os.tmpdir(), maxConnections: 8 });
  const redis = await connectRedis({ url: redisServer.url, dataDir: os.tmpdir(), log, startPrivate: false });
  const info = new Redis(redisServer.url);
  const queues = createQueues({ createConnection: redis.createConnection, prefix: 'bench' });
  let rssMax = 0;
  const rssTimer = setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage().rss); }, 250);

  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await info.info('memory'))?.[1]);

  async function insert(from: number, to: number, spreadFrom: Date): Promise<number> {
    const t = Date.now();
    const CHUNK = 100_000;
    for (let a = from; a <= to; a += CHUNK) {
      const b = Math.min(to, a + CHUNK - 1);
      // due = spreadFrom + a scattered position in the cadence (row order ≠ due order), whole ms
      await store.sql.query(`INSERT INTO reports (url, status, verdict, verdict_source, created_at, next_check_at, dispatch_at, first_seen_live_at, last_seen_live_at)
        SELECT 'https://h' || (i % 50000) || '.bench.invalid/item/' || i, 'notified', 'illegal', 'submission', $1::timestamptz,
               d, d, $1::timestamptz, $1::timestamptz
        FROM generate_series($2::int, $3::int) AS i,
             LATERAL (SELECT $1::timestamptz + (((i::bigint * 7919) % $4::bigint) * $5::bigint / $4::bigint) * interval '1 millisecond' AS d) due`,
      [spreadFrom, a, b, to - from + 1, CADENCE_MS]);
    }
    await store.sql.query('ANALYZE reports');
    return (to - from + 1) / ((Date.now() - t) / 1000);
  }

  // The scheduler role and a no-op worker, as a daemon runs them. The no-op check fetches nothing
  // and records no check row, but moves the report's due time on by one cadence, as recording a
  // check does — so the row leaves "in flight" and the reconciler has nothing to hand out again.
  let lags: { at: number; lagMs: number }[] = [];
  let processed = 0;
  const worker = createWorker('check', async (payload) => {
    processed++;
    lags.push({ at: Date.now(), lagMs: Date.now() - Date.parse(payload.dueAt) });
    await store.sql.query(`UPDATE reports SET next_check_at = next_check_at + $3 * interval '1 millisecond', dispatch_at = next_check_at + $3 * interval '1 millisecond'
      WHERE id = $1 AND next_check_at = $2`, [payload.reportId, new Date(payload.dueAt), CADENCE_MS]);
  }, { connection: redis.createConnection('worker'), prefix: 'bench', concurrency: WORKER_CONCURRENCY, log });
  let dispatched = 0;
  const dispatcher = createCheckDispatcher({
    store, queue: queues.check, clock, log, batchSize: BATCH, intervalMs: INTERVAL_MS, leaseMs: LEASE_MS,
    onDispatched: (n) => { dispatched += n; },
  });
  const reconciler = createCheckReconciler({ store, queue: queues.check, clock, log, leaseMs: LEASE_MS, intervalMs: 30_000 });

  async function steady(label: string, monitored: number) {
    lags = [];
    const memory: number[] = [];
    const t0 = Date.now();
    const d0 = dispatched;
    for (let s = 0; s < STEADY_S; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      memory.push(await usedMemory());
    }
    // the first 10 s warm up (first batches, JIT): measured from then on
    const window = lags.filter((l) => l.at >= t0 + 10_000).map((l) => l.lagMs).sort((a, b) => a - b);
    const counts = await queues.check.getJobCounts('waiting', 'active', 'completed', 'delayed', 'failed');
    const result = {
      monitored,
      seconds: STEADY_S,
      dispatched: dispatched - d0,
      dispatchedPerSecond: Math.round(((dispatched - d0) / ((Date.now() - t0) / 1000)) * 10) / 10,
      expectedPerSecond: Math.round((monitored / (CADENCE_MS / 1000)) * 10) / 10,
      lagP50Ms: percentile(window, 50),
      lagP99Ms: percentile(window, 99),
      lagMaxMs: window.at(-1) ?? NaN,
      lagSamples: window.length,
      redisUsedMemoryMaxMB: mb(Math.max(...memory)),
      redisUsedMemoryEndMB: mb(memory.at(-1) ?? NaN),
      queue: counts,
      rssMB: mb(process.memoryUsage().rss),
    };
    out(`${label}: ${JSON.stringify(result)}`);
    return result;
  }

  out(`scale bench: ${TOTAL.toLocaleString()} reports, ${STEADY_S} s steady phases, PostgreSQL ${new URL(db.url).host}, private Redis :${redisServer.port}`);
  const baselineMemory = await usedMemory();

  const insertA = await insert(1, FIRST, new Date());
  out(`inserted ${FIRST.toLocaleString()} rows (${Math.round(insertA)} rows/s)`);
  dispatcher.start();
  reconciler.start();
  const at10k = await steady('steady at 10k', FIRST);

  // Due from when the insert should be done (estimated from the first one, with room to spare),
  // so the steady phase starts in a steady state, not with a backlog built up while inserting.
  const spreadFrom = new Date(Date.now() + Math.ceil(((TOTAL - FIRST) / insertA) * 2 * 1000) + 10_000);
  const insertB = await insert(FIRST + 1, TOTAL, spreadFrom);
  out(`inserted ${(TOTAL - FIRST).toLocaleString()} more rows (${Math.round(insertB)} rows/s); due from ${spreadFrom.toISOString()}`);
  const wait = spreadFrom.getTime() - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  else out(`warning: the insert took longer than planned; the phase starts ${-wait} ms into its schedule`);
  const at1m = await steady(`steady at ${TOTAL.toLocaleString()}`, TOTAL);

  // Throughput: a backlog of BACKLOG rows due at once (as after an outage).
  await dispatcher.stop();
  const due = new Date(Date.now() - 60_000);
  await store.sql.query(`UPDATE reports SET next_check_at = $1, dispatch_at = $1
    WHERE id IN (SELECT id FROM reports WHERE dispatch_at > $2 ORDER BY id LIMIT $3)`, [due, new Date(), BACKLOG]);
  const before = dispatched;
  const memory: number[] = [];
  const tb = Date.now();
  dispatcher.start();
  while (dispatched - before < BACKLOG && Date.now() - tb < 180_000) {
    await new Promise((r) => setTimeout(r, 250));
    memory.push(await usedMemory());
  }
  const seconds = (Date.now() - tb) / 1000;
  const throughput = {
    rows: dispatched - before,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round((dispatched - before) / seconds),
    batch: BATCH,
    redisUsedMemoryMaxMB: mb(Math.max(...memory)),
  };
  out(`dispatch throughput: ${JSON.stringify(throughput)}`);

  await dispatcher.stop();
  await reconciler.stop();
  await worker.close(5000);
  clearInterval(rssTimer);

  const results = {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage: os.loadavg() },
    settings: { cadenceMs: CADENCE_MS, dispatchBatch: BATCH, dispatchIntervalMs: INTERVAL_MS, checkLeaseMs: LEASE_MS, workerConcurrency: WORKER_CONCURRENCY, steadySeconds: STEADY_S },
    insertRowsPerSecond: Math.round(insertB),
    redisBaselineMB: mb(baselineMemory),
    steady10k: at10k,
    steady1m: at1m,
    redisGrowth10kTo1mMB: Math.round((at1m.redisUsedMemoryMaxMB - at10k.redisUsedMemoryMaxMB) * 10) / 10,
    targets: {
      redisWithin64MB: at1m.redisUsedMemoryMaxMB - at10k.redisUsedMemoryMaxMB <= 64,
      p99LagAtMost5s: at1m.lagP99Ms <= 5000,
    },
    throughput,
    processRssMaxMB: mb(rssMax),
    workerProcessed: processed,
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'scale.json'), `${JSON.stringify(results, null, 2)}\n`);
  out(JSON.stringify(results, null, 2));

  await queues.close();
  info.disconnect();
  await redis.close();
  await store.close();
  await redisServer.stop();
  await db.drop();
}

main().catch((err: unknown) => {
  process.stderr.write(`scale bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
