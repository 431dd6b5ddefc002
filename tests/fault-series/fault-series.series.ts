/**
 * Randomized fault series (issue 9 item 2): `npm run test:faults` (FAULT_RUNS, default 100;
 * FAULT_SEED to replay a series). Not part of `npm test`: it lives under tests/fault-series/ with
 * its own vitest config (vitest.faults.config.ts) and does not match `*.test.ts`.
 *
 * One pool of processes is reused across runs: 2 × `vigil start --role worker` and 1 × `--role
 * scheduler`, on a database of their own, a private redis-server, and a world of 2 hosts (NL, DE)
 * whose hotlines take webhooks through a gate that can be taken down. Each run:
 *   - submits 1–3 reports (verdict illegal) on routes that answer a live page; about half of them
 *     are later taken down (404) once their hotline has been notified, so removal gets confirmed;
 *   - usually kills a random worker with SIGKILL at a random point of the run and starts a
 *     replacement; sometimes also kills the scheduler, SIGKILLs the private Redis and starts it
 *     again empty, terminates every backend of the test database, or takes the webhook sink down
 *     for a while;
 *   - checks the invariants that must hold at every moment: every accepted URL is monitored (a
 *     report row with a next check, or a terminal status) and no report is stuck (no due check
 *     overdue by more than lease + interval).
 * After the last run the faults stop, the remaining takedowns happen, and once everything settled
 * the end invariants are checked: every report reached its expected state; every confirmed
 * removal produced exactly one notice per recipient (one outbox row per event); and no two webhook
 * deliveries of one event (type, reports, recipient, sequence) carry different webhook-ids.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, submitReports, switchableRoute, until, type SwitchableRoute, type TestStore } from '../lifecycle/support.js';
import { newPrefix } from '../queue/support.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, startDaemon, type Daemon, type DaemonSetup, type Role } from '../faults/support.js';
import { seededRandom, sleep, startGate, startRestartableRedis, type Gate, type RestartableRedis } from './support.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 100);
const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * How long the end may take to settle. Webhook retries back off on purpose (full jitter from 30 s,
 * doubling: core/delivery-policy.ts), so a notice that met a sink outage twice may wait minutes.
 */
const SETTLE_MS = Number(process.env.FAULT_SETTLE_SECONDS ?? 480) * 1000;
const LEASE_MS = 30_000;
const INTERVAL_MS = 4_000; // the longest recheck among the statuses a run goes through
const STUCK_MS = LEASE_MS + INTERVAL_MS;
const TERMINAL = ['rejected', 'refused', 'expired'];

const random = seededRandom(SEED);
const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const chance = (p: number): boolean => random() < p;

interface Tracked {
  url: string;
  id: string;
  route: SwitchableRoute;
  recipient: string;
  takeDown: boolean;
  takenDown: boolean;
}

let world: World;
let db: TestStore;
let redis: RestartableRedis;
let gate: Gate;
let admin: pg.Client;
let setup: DaemonSetup;
const prefix = newPrefix();
/** slots 0, 1: workers; slot 2: scheduler. null while (re)starting. */
const pool: (Daemon | null)[] = [null, null, null];
const roles: Role[] = ['worker', 'worker', 'scheduler'];
const starting = new Set<Promise<void>>();
const everStarted: Daemon[] = [];
const tracked: Tracked[] = [];
const faults = { workerKills: 0, schedulerKills: 0, redisRestarts: 0, dbTerminations: 0, sinkOutages: 0 };

async function startSlot(slot: number): Promise<void> {
  const d = await startDaemon(roles[slot]!, setup, prefix);
  everStarted.push(d);
  pool[slot] = d;
}

/** SIGKILL the process in `slot` and start a replacement in the background. */
function killSlot(slot: number): void {
  const d = pool[slot];
  if (!d) return;
  pool[slot] = null;
  const p = d.kill9().then(() => startSlot(slot)).finally(() => { starting.delete(p); });
  starting.add(p);
}

/** A query that survives this suite's own backend terminations (one retry on a fresh connection). */
async function q<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  for (let i = 0; ; i++) {
    const c = new pg.Client({ connectionString: db.url });
    try {
      await c.connect();
      return (await c.query<T>(text, values)).rows;
    } catch (err) {
      if (i >= 5) throw err;
      await sleep(200);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

async function terminateBackends(): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
}

/** Invariants that hold at every moment: accepted → monitored, nothing stuck. */
async function checkRunInvariants(run: number): Promise<void> {
  const urls = tracked.map((t) => t.url);
  const rows = await q<{ url: string; status: string; next_check_at: Date | null }>(
    'SELECT url, status, next_check_at FROM reports WHERE url = ANY($1::text[])', [urls]);
  expect(rows.length, `run ${run}: every accepted URL has a report row`).toBe(urls.length);
  const now = Date.now();
  const unmonitored = rows.filter((r) => r.next_check_at === null && !TERMINAL.includes(r.status));
  expect(unmonitored, `run ${run}: every accepted URL is monitored (seed ${SEED})`).toEqual([]);
  const stuck = rows.filter((r) => r.next_check_at !== null && !TERMINAL.includes(r.status) && now - r.next_check_at.getTime() > STUCK_MS);
  expect(stuck, `run ${run}: no report overdue by more than lease + interval (seed ${SEED})`).toEqual([]);
}

/** Takes down the routes planned to go, once their report has been notified. */
async function takeDownNotified(): Promise<void> {
  const waiting = tracked.filter((t) => t.takeDown && !t.takenDown);
  if (waiting.length === 0) return;
  const rows = await q<{ id: string; status: string }>('SELECT id, status FROM reports WHERE id = ANY($1::uuid[])', [waiting.map((t) => t.id)]);
  const notified = new Set(rows.filter((r) => r.status === 'notified').map((r) => r.id));
  for (const t of waiting) {
    if (notified.has(t.id)) { t.route.mode = 'gone'; t.takenDown = true; }
  }
}

beforeAll(async () => {
  console.log(`fault series: ${RUNS} runs, seed ${SEED} (replay with FAULT_SEED=${SEED})`);
  [world, db, redis] = await Promise.all([
    startWorld({ fleetSize: 2, countries: { '127.0.0.2': 'NL', '127.0.0.3': 'DE' } }),
    createTestStore(),
    startRestartableRedis(),
  ]);
  gate = await startGate(world.webhooks.port);
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  const secret = `whsec_${Buffer.from('synthetic-fault-series-secret').toString('base64')}`;
  setup = {
    databaseUrl: db.url, redisUrl: redis.url, world,
    config: {
      queue: { checkLease: `${LEASE_MS / 1000}s` },
      schedule: { recheck: { live: '1s', notified: `${INTERVAL_MS / 1000}s`, unreachable: '2s' }, removal: { confirmations: 2, window: '1s' } },
      directory: {
        homeCountry: 'GB',
        recipients: ['NL', 'DE'].map((c) => ({
          id: `hotline-${c.toLowerCase()}`, kind: 'hotline', name: `Hotline ${c}`, countries: [c],
          channel: { webhook: { url: `http://127.0.0.1:${gate.port}/${c.toLowerCase()}`, secret } },
        })),
      },
    },
  };
  await Promise.all([0, 1, 2].map((s) => startSlot(s)));
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...starting]);
  await Promise.allSettled(everStarted.map((d) => d.kill9()));
  await gate?.close();
  await admin?.end().catch(() => undefined);
  await redis?.stop();
  await db?.close();
  await world?.close();
  cleanupDirs();
});

describe(`randomized fault series (${RUNS} runs)`, () => {
  it('keeps its invariants through kill -9, Redis and PostgreSQL restarts and sink outages', async () => {
    const started = Date.now();
    for (let run = 0; run < RUNS; run++) {
      const runMs = between(1200, 2800);
      const n = between(1, 3);
      const fresh: Tracked[] = [];
      for (let k = 0; k < n; k++) {
        const host = world.hosts[between(0, 1)]!;
        const path = `/fs/${run}/${k}`;
        fresh.push({
          url: world.url(host.address, path), id: '', route: switchableRoute(host.http, path, 'live'),
          recipient: `hotline-${host.country!.toLowerCase()}`, takeDown: chance(0.5), takenDown: false,
        });
      }
      const ids = await submitReports(db.store, fresh.map((t) => t.url), new Date(), 'illegal');
      fresh.forEach((t, i) => { t.id = ids[i]!; });
      tracked.push(...fresh);

      const timers: Promise<void>[] = [];
      const at = (ms: number, f: () => Promise<void> | void) => timers.push(sleep(ms).then(f));
      if (chance(0.85)) {
        at(between(0, runMs), () => {
          const up = [0, 1].filter((s) => pool[s] !== null);
          if (up.length === 0) return;
          faults.workerKills++;
          killSlot(up[between(0, up.length - 1)]!);
        });
      }
      if (chance(0.05) && pool[2]) at(between(0, runMs), () => { if (pool[2]) { faults.schedulerKills++; killSlot(2); } });
      if (chance(0.06)) at(between(0, runMs), async () => { faults.redisRestarts++; await redis.restart(between(200, 1200)); });
      if (chance(0.06)) at(between(0, runMs), async () => { faults.dbTerminations++; await terminateBackends(); });
      if (chance(0.08)) {
        at(between(0, runMs), async () => {
          faults.sinkOutages++;
          await gate.down();
          await sleep(between(500, 2500));
          await gate.bringUp();
        });
      }
      await sleep(runMs);
      await Promise.all(timers);
      await takeDownNotified();
      await checkRunInvariants(run);
      if ((run + 1) % 10 === 0) {
        console.log(`run ${run + 1}/${RUNS}: ${tracked.length} reports, ${((Date.now() - started) / 1000).toFixed(0)} s, faults ${JSON.stringify(faults)}`);
      }
    }
    const runsSeconds = (Date.now() - started) / 1000;

    // settle: faults stop, the pool is whole again, the remaining takedowns happen
    await Promise.all([...starting]);
    const settleStarted = Date.now();
    const expected = (t: Tracked) => (t.takeDown ? 'removed' : 'notified');
    let unsettled: string[] = [];
    await until(async () => {
      await takeDownNotified();
      const rows = await q<{ id: string; status: string }>('SELECT id, status FROM reports');
      const status = new Map(rows.map((r) => [r.id, r.status]));
      const sent = await q<{ report_id: string; kind: string }>("SELECT report_id, kind FROM notices WHERE status = 'sent'");
      const sentKey = new Set(sent.map((s) => `${s.report_id}/${s.kind}`));
      unsettled = tracked.filter((t) => !(status.get(t.id) === expected(t)
        && sentKey.has(`${t.id}/initial`) && (!t.takeDown || sentKey.has(`${t.id}/removal_confirmed`))))
        .map((t) => `${t.url} (${status.get(t.id)}, expected ${expected(t)})`);
      return unsettled.length === 0;
    }, SETTLE_MS, 'every report to settle (notified, or removed with its removal notice sent)', 1000)
      .catch((err: Error) => { throw new Error(`${err.message} (seed ${SEED}); unsettled: ${unsettled.join('; ')}`); });
    const settleSeconds = (Date.now() - settleStarted) / 1000;
    await checkRunInvariants(RUNS);

    // one outbox row per event (the UNIQUE event_key), and exactly one removal notice per removal
    const notices = await q<{ id: string; report_id: string; recipient_id: string; kind: string; sequence: number; status: string }>(
      'SELECT id, report_id, recipient_id, kind, sequence, status FROM notices');
    const perEvent = new Map<string, number>();
    for (const n of notices) {
      const key = `${n.report_id}/${n.recipient_id}/${n.kind}/${n.sequence}`;
      perEvent.set(key, (perEvent.get(key) ?? 0) + 1);
    }
    expect([...perEvent].filter(([, c]) => c > 1), 'no event with two notices').toEqual([]);
    for (const t of tracked) {
      const removal = notices.filter((n) => n.report_id === t.id && n.kind === 'removal_confirmed');
      if (t.takeDown) {
        expect(removal.map((n) => [n.recipient_id, n.status]), `removal of ${t.url} notified once`).toEqual([[t.recipient, 'sent']]);
      } else {
        expect(removal, `${t.url} was never removed`).toEqual([]);
      }
    }

    // the sink's view: every delivery of one event carries one webhook-id
    const byEvent = new Map<string, Set<string>>();
    let deliveries = 0;
    for (const d of world.webhooks.deliveries) {
      const body = d.json as { type?: string; recipient?: string; sequence?: number; reports?: { id: string }[] } | undefined;
      if (!body?.type) continue;
      deliveries++;
      const key = `${body.type}/${(body.reports ?? []).map((r) => r.id).sort().join(',')}/${body.recipient}/${body.sequence}`;
      const ids = byEvent.get(key) ?? new Set<string>();
      ids.add(String(d.headers['webhook-id']));
      byEvent.set(key, ids);
    }
    expect([...byEvent].filter(([, ids]) => ids.size > 1).map(([k, ids]) => `${k}: ${[...ids].join(' ')}`), 'no event delivered under two webhook-ids').toEqual([]);
    const removalsDelivered = [...byEvent.keys()].filter((k) => k.startsWith('notice.removal_confirmed/')).length;

    const summary = {
      seed: SEED, runs: RUNS, reports: tracked.length, removals: tracked.filter((t) => t.takeDown).length,
      runsSeconds: Math.round(runsSeconds), settleSeconds: Math.round(settleSeconds), faults,
      notices: notices.length, webhookDeliveries: deliveries, distinctWebhookEvents: byEvent.size, removalEventsDelivered: removalsDelivered,
      processesStarted: everStarted.length,
    };
    console.log(`fault series summary: ${JSON.stringify(summary)}`);
  }, 1_800_000);
});
